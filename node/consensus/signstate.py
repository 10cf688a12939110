"""The sign-state: what this validator last signed, kept on disk so that it never signs twice.

docs/consensus.md, "Never signing twice": before a proposal or vote leaves the process,
the driver records (height, round, kind, value) and the lock here, durably. After
a crash the node resumes from this record and refuses to sign anything at or
below it except the very same message. A crash then equals a pause.

The file is `sha256(body) || body`, body = canonical
[1, height, round, kind, value, locked_round, locked_value, locked_block, locked_votes].
It is replaced atomically: write a temporary file, fsync it, rename it over
the old one, fsync the directory. A torn temporary file (SIGKILL mid-write) is
ignored and the last complete record stands; a damaged record file stops the
node with a message instead of guessing (tendermint#3295, #573).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from ledger.crypto import sha256
from ledger.encoding import EncodingError, decode, encode

PROPOSAL = 0  # kinds, in the order a validator signs them within one round
PREVOTE = 1
PRECOMMIT = 2
_VERSION = 1


class SignStateError(RuntimeError):
    """The sign-state file is unreadable or damaged; the node must not guess."""


class Signed(NamedTuple):
    height: int
    round: int
    kind: int
    value: bytes | None
    locked_round: int = -1
    locked_value: bytes | None = None
    locked_block: bytes | None = None  # the locked block's canonical bytes, to re-propose it after a restart
    # the prevote quorum that justified the lock (signed vote tuples): after a restart the keeper has
    # forgotten it, and without it nobody, not even this node alone, could accept the re-proposal (L28)
    locked_votes: tuple = ()

    def position(self) -> tuple[int, int, int]:
        return (self.height, self.round, self.kind)


class SignState:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.last: Signed | None = self._load()

    def _load(self) -> Signed | None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        if tmp.exists():
            tmp.unlink()  # a write that never reached its rename: the record before it stands
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SignStateError(f"cannot read the sign-state {self.path}: {exc.strerror}") from exc
        if len(data) < 32 or sha256(data[32:]) != data[:32]:
            raise SignStateError(
                f"the sign-state {self.path} is damaged (checksum mismatch); refusing to start rather than "
                "risk signing twice. Restore it from a backup, or remove it only if this key has not signed "
                "at the current height"
            )
        try:
            value = decode(data[32:])
            if value[0] != _VERSION:
                raise SignStateError(f"the sign-state {self.path} has unknown version {value[0]}")
            return Signed(*value[1:])
        except (EncodingError, TypeError, IndexError) as exc:
            raise SignStateError(f"the sign-state {self.path} does not decode: {exc}") from exc

    def may_sign(self, height: int, round_: int, kind: int, value: bytes | None) -> bool:
        """Strictly after the last signature, or exactly the same message again."""
        last = self.last
        if last is None:
            return True
        position = (height, round_, kind)
        if position > last.position():
            return True
        return position == last.position() and value == last.value

    def record(self, signed: Signed) -> None:
        """Persist before the signature leaves the process (fsync, atomic rename, fsync of the folder)."""
        body = encode((_VERSION, *signed))
        tmp = self.path.with_name(self.path.name + ".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            data = memoryview(sha256(body) + body)
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self.last = signed

    def lock_at(self, height: int) -> tuple[int, bytes, bytes | None, tuple] | None:
        """The lock recorded for `height` (round, value, block bytes, the prevotes behind it), if any."""
        last = self.last
        if last is None or last.height != height or last.locked_value is None:
            return None
        return last.locked_round, last.locked_value, last.locked_block, tuple(last.locked_votes)
