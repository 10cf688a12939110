"""The sign-state file: never sign twice, survive a torn write, refuse a damaged record.

docs/consensus.md, "Never signing twice" and "Lessons from other engines" (tendermint#3295, #573):
the record is written atomically with a checksum; a stray temporary file is
ignored and the last complete record stands; a damaged record stops the node
with a message instead of guessing. Real files in tmp_path.
"""

from __future__ import annotations

import os

import pytest

from ledger.crypto import sha256
from ledger.encoding import encode
from node.consensus.signstate import PRECOMMIT, PREVOTE, PROPOSAL, Signed, SignState, SignStateError

V = sha256(b"block v")
W = sha256(b"block w")
BLOCK = b"canonical bytes of the locked block"


@pytest.fixture
def path(tmp_path):
    return tmp_path / "node" / "sign_state"


def test_a_fresh_state_may_sign_anything(path):
    """No record yet: nothing has been signed, so nothing is refused; no lock."""
    s = SignState(path)
    assert s.last is None
    assert s.may_sign(0, 0, PROPOSAL, V) and s.may_sign(9, 3, PRECOMMIT, None)
    assert s.lock_at(0) is None


@pytest.mark.parametrize(
    "height, round_, kind, value, allowed",
    [
        (5, 2, PREVOTE, V, True),  # the very same message again (a resend after restart)
        (5, 2, PREVOTE, W, False),  # same position, another value: double signing
        (5, 2, PREVOTE, None, False),  # nil is another value too
        (5, 2, PRECOMMIT, W, True),  # later kind in the same round
        (5, 3, PROPOSAL, W, True),  # later round, earlier kind
        (6, 0, PROPOSAL, W, True),  # later height
        (5, 2, PROPOSAL, V, False),  # earlier kind in the same round, even with the same value
        (5, 1, PRECOMMIT, V, False),  # earlier round, later kind: positions compare as (height, round, kind)
        (4, 9, PRECOMMIT, V, False),  # earlier height
    ],
    ids=["same", "same-pos-other", "same-pos-nil", "later-kind", "later-round", "later-height", "earlier-kind",
         "earlier-round", "earlier-height"],
)
def test_may_sign_only_after_the_last_signature_or_the_same_message(path, height, round_, kind, value, allowed):
    """may_sign: strictly later (height, round, kind) is allowed; the same position only for the same value."""
    s = SignState(path)
    s.record(Signed(5, 2, PREVOTE, V))
    assert s.may_sign(height, round_, kind, value) is allowed
    assert SignState(path).may_sign(height, round_, kind, value) is allowed  # and the same after a restart


def test_a_recorded_nil_vote_refuses_a_value_at_the_same_position(path):
    """A nil prevote recorded: the same nil again is fine, a value for the same step is not."""
    s = SignState(path)
    s.record(Signed(3, 0, PREVOTE, None))
    assert s.may_sign(3, 0, PREVOTE, None)
    assert not s.may_sign(3, 0, PREVOTE, V)


def test_record_then_reopen_gives_the_same_record_and_lock(path):
    """What record() wrote is what a restarted node reads: the record, and the lock for that height only,
    with the prevotes that justified it."""
    votes = ((1, 12, 3, V, b"\x01" * 32, b"\x02" * 64), (1, 12, 3, V, b"\x03" * 32, b"\x04" * 64))
    signed = Signed(12, 3, PRECOMMIT, V, locked_round=3, locked_value=V, locked_block=BLOCK, locked_votes=votes)
    SignState(path).record(signed)
    again = SignState(path)
    assert again.last == signed
    assert again.lock_at(12) == (3, V, BLOCK, votes)
    assert again.lock_at(13) is None and again.lock_at(11) is None


def test_an_unlocked_record_has_no_lock(path):
    """A record without a lock (nil prevote, nothing locked) restores no lock."""
    SignState(path).record(Signed(12, 0, PREVOTE, None))
    again = SignState(path)
    assert again.last == Signed(12, 0, PREVOTE, None, -1, None, None)
    assert again.lock_at(12) is None


def test_record_leaves_no_temporary_file_and_is_private(path):
    """The atomic write renames its temporary file away; the record is readable by its owner only."""
    SignState(path).record(Signed(1, 0, PROPOSAL, V))
    assert sorted(p.name for p in path.parent.iterdir()) == ["sign_state"]
    assert path.stat().st_mode & 0o077 == 0


def test_a_torn_temporary_file_is_ignored_and_the_old_record_stands(path):
    """SIGKILL between writing the temporary file and the rename: the partial file is dropped, the last record stands."""
    s = SignState(path)
    s.record(Signed(7, 1, PREVOTE, V))
    tmp = path.with_name(path.name + ".tmp")
    good = path.read_bytes()
    tmp.write_bytes(good[: len(good) // 2])  # a torn write of some newer record
    again = SignState(path)
    assert again.last == Signed(7, 1, PREVOTE, V)
    assert not tmp.exists()
    assert not again.may_sign(7, 1, PREVOTE, W)


def test_a_complete_but_unrenamed_temporary_file_is_not_taken_as_signed(path):
    """A temporary file that never reached its rename never left the process as a signature: the old record stands."""
    s = SignState(path)
    s.record(Signed(7, 1, PREVOTE, V))
    newer = encode((1, 7, 1, PRECOMMIT, V, 1, V, BLOCK))
    path.with_name(path.name + ".tmp").write_bytes(sha256(newer) + newer)
    assert SignState(path).last == Signed(7, 1, PREVOTE, V)


def test_a_torn_temporary_file_without_any_record(path):
    """First signature interrupted: no record and the temporary file is ignored."""
    path.parent.mkdir(parents=True)
    path.with_name(path.name + ".tmp").write_bytes(b"\x00\x01")
    assert SignState(path).last is None


@pytest.mark.parametrize("where", [0, 31, 32, -1])
def test_a_damaged_record_refuses_to_start_with_a_clear_message(path, where):
    """A flipped byte in the checksum or the body raises SignStateError naming the file and the damage."""
    SignState(path).record(Signed(7, 1, PREVOTE, V, 1, V, BLOCK))
    data = bytearray(path.read_bytes())
    data[where] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(SignStateError, match="damaged") as info:
        SignState(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("content", [b"", b"\x00" * 10, b"\x00" * 31])
def test_a_truncated_record_refuses_to_start(path, content):
    """A record shorter than its checksum is damaged, never read as 'nothing signed'."""
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(SignStateError, match="damaged"):
        SignState(path)


def test_a_record_of_an_unknown_version_refuses_to_start(path):
    """A well-checksummed record of another format version is not guessed at."""
    path.parent.mkdir(parents=True)
    body = encode((2, 7, 1, PREVOTE, V, -1, None, None))
    path.write_bytes(sha256(body) + body)
    with pytest.raises(SignStateError, match="unknown version 2"):
        SignState(path)


def test_a_record_that_does_not_decode_refuses_to_start(path):
    """Checksum fine but not the canonical record shape: SignStateError, not a stray exception."""
    path.parent.mkdir(parents=True)
    body = b"\xff\xfe not canonical"
    path.write_bytes(sha256(body) + body)
    with pytest.raises(SignStateError):
        SignState(path)


def test_an_unreadable_record_refuses_to_start(path):
    """A record path that cannot be read (here a directory) is an error with a message, not an empty state."""
    path.mkdir(parents=True)
    with pytest.raises(SignStateError, match="cannot read"):
        SignState(path)


def test_reopen_after_many_records_keeps_the_last(path):
    """Each record replaces the previous one atomically; after 60 of them a restart sees the 60th."""
    s = SignState(path)
    last = None
    for i in range(60):
        height, round_, kind = 1 + i // 6, (i // 3) % 2, i % 3
        last = Signed(height, round_, kind, V if i % 2 else None, round_, V, BLOCK)
        assert s.may_sign(height, round_, kind, last.value)
        s.record(last)
    again = SignState(path)
    assert again.last == last
    assert not again.may_sign(last.height, last.round, last.kind, W)
    assert os.listdir(path.parent) == ["sign_state"]
