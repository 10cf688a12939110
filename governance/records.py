"""The agora's records, keys and due items (FORMAT.md §6.7, §9).

    agora/admin/   ‖ account(32)                 = [name]                      who may create spaces (genesis)
    agora/space/   ‖ space_id(16)                = [creator(32), name, eligibility, [moderator(32), …],
                                                    support_threshold, support_window_ms, quorum_permille,
                                                    pass_permille, created_height]
    agora/post/    ‖ post_id(16)                 = [space_id(16), kind, parent(16)|nil, author(16), signer(32),
                                                    text_hash(32), status, reason, supports, support_until_ms,
                                                    ballot_id(16)|nil, created_height]
    agora/support/ ‖ post_id(16) ‖ identity(16)  = [signer(32), height]
    agora/ballot/  ‖ ballot_id(16)               = [space_id(16), proposal_id(16), opener(32), [option, …],
                                                    opens_ms, closes_ms, reveal_until_ms, quorum_permille,
                                                    pass_permille, eligible, status, [count, …], cast,
                                                    outcome|nil, created_height]
    agora/vote/    ‖ ballot_id(16) ‖ identity(16) = [option|nil, commitment(32)|nil, signer(32), height]

A vote and a support are keyed by the voter's identity, never by the key
that signed: an identity with three keys has one record, and a second vote
replaces the first. The text of a post is not on the chain, only its
SHA-256 (the author signs the transaction that carries it): erasing or
hiding marks the record and keeps the hash, so what was decided stays
verifiable while the text can go.
"""

from __future__ import annotations

from typing import NamedTuple

from ledger.crypto import sha256
from ledger.encoding import decode, encode
from ledger.state import StateReader

MODULE_NAME = "agora"
PREFIX_AGORA = b"agora/"  # the module's one prefix; its records:
PREFIX_ADMIN = b"agora/admin/"
PREFIX_SPACE = b"agora/space/"
PREFIX_POST = b"agora/post/"
PREFIX_SUPPORT = b"agora/support/"
PREFIX_BALLOT = b"agora/ballot/"
PREFIX_VOTE = b"agora/vote/"
ID_LEN = 16
HASH_LEN = 32
SALT_LEN = 32

MAX_NAME = 64
MAX_REASON = 200
MAX_MODERATORS = 16
MIN_OPTIONS, MAX_OPTIONS = 2, 16
MAX_OPTION = 32
PERMILLE = 1000
ABSTAIN = "abstain"
"""An option of this label counts for the quorum but not in the share an option needs to pass."""

PROPOSAL, COMMENT = "proposal", "comment"
VISIBLE, ERASED, HIDDEN = "visible", "erased", "hidden"
POST_STATUSES = (VISIBLE, ERASED, HIDDEN)

SCHEDULED, OPEN, REVEALING, DECIDED, FAILED = "scheduled", "open", "revealing", "decided", "failed"
BALLOT_STATUSES = (SCHEDULED, OPEN, REVEALING, DECIDED, FAILED)
FINAL = (DECIDED, FAILED)

VOTE_TAG = "incoop/agora/vote"
# Due items (ledger/deadlines.py), by time: a ballot opens, closes, and (commit-reveal) ends its reveal window.
OPEN_ITEM, CLOSE_ITEM, REVEAL_END_ITEM = b"o", b"c", b"r"


class Space(NamedTuple):
    creator: bytes
    name: str
    eligibility: str  # "" = every active identity of the federation; else one exact attribute
    moderators: tuple[bytes, ...]  # ascending
    support_threshold: int
    support_window_ms: int
    quorum_permille: int
    pass_permille: int
    created_height: int

    def encode(self) -> bytes:
        return encode(tuple(self))


class Post(NamedTuple):
    space_id: bytes
    kind: str  # proposal | comment
    parent: bytes | None  # a comment's: the post it replies to; a proposal has none
    author: bytes  # the author's identity id
    signer: bytes  # the key that posted it
    text_hash: bytes  # SHA-256 of the text, kept off chain (FORMAT.md §6.7)
    status: str  # visible | erased | hidden
    reason: str  # a moderator's reason for hiding ("" otherwise)
    supports: int
    support_until_ms: int  # a proposal takes supports while the block time is below this
    ballot_id: bytes | None
    created_height: int

    def encode(self) -> bytes:
        return encode(tuple(self))


class Ballot(NamedTuple):
    space_id: bytes
    proposal_id: bytes
    opener: bytes
    options: tuple[str, ...]
    opens_ms: int
    closes_ms: int
    reveal_until_ms: int  # 0: a public ballot; else commit-then-reveal, revealed until this time
    quorum_permille: int
    pass_permille: int
    eligible: int  # the space's eligible identities counted at opening (0 while scheduled)
    status: str
    counts: tuple[int, ...]  # per option: the identities whose (revealed) vote is that option
    cast: int  # the identities counted: sum(counts)
    outcome: int | None  # the option decided (an index), once decided
    created_height: int

    def encode(self) -> bytes:
        return encode((*self[:3], tuple(self.options), *self[4:11], tuple(self.counts), *self[12:]))

    @property
    def secret(self) -> bool:
        return self.reveal_until_ms != 0


class Vote(NamedTuple):
    option: int | None  # nil: committed, not revealed
    commitment: bytes | None  # nil on a public ballot
    signer: bytes
    height: int

    def encode(self) -> bytes:
        return encode(tuple(self))


def admin_key(account: bytes) -> bytes:
    return PREFIX_ADMIN + account


def space_key(space_id: bytes) -> bytes:
    return PREFIX_SPACE + space_id


def post_key(post_id: bytes) -> bytes:
    return PREFIX_POST + post_id


def support_key(post_id: bytes, identity_id: bytes) -> bytes:
    return PREFIX_SUPPORT + post_id + identity_id


def ballot_key(ballot_id: bytes) -> bytes:
    return PREFIX_BALLOT + ballot_id


def vote_key(ballot_id: bytes, identity_id: bytes) -> bytes:
    return PREFIX_VOTE + ballot_id + identity_id


def is_admin(state: StateReader, account: bytes) -> bool:
    return state.get(admin_key(account)) is not None


def decode_space(raw: bytes) -> Space:
    fields = decode(raw)
    return Space(*fields[:3], tuple(fields[3]), *fields[4:])


def get_space(state: StateReader, space_id: bytes) -> Space | None:
    raw = state.get(space_key(space_id))
    return None if raw is None else decode_space(raw)


def decode_post(raw: bytes) -> Post:
    return Post(*decode(raw))


def get_post(state: StateReader, post_id: bytes) -> Post | None:
    raw = state.get(post_key(post_id))
    return None if raw is None else decode_post(raw)


def decode_ballot(raw: bytes) -> Ballot:
    fields = decode(raw)
    return Ballot(*fields[:3], tuple(fields[3]), *fields[4:11], tuple(fields[11]), *fields[12:])


def get_ballot(state: StateReader, ballot_id: bytes) -> Ballot | None:
    raw = state.get(ballot_key(ballot_id))
    return None if raw is None else decode_ballot(raw)


def decode_vote(raw: bytes) -> Vote:
    return Vote(*decode(raw))


def get_vote(state: StateReader, ballot_id: bytes, identity_id: bytes) -> Vote | None:
    raw = state.get(vote_key(ballot_id, identity_id))
    return None if raw is None else decode_vote(raw)


def vote_commitment(ballot_id: bytes, identity_id: bytes, option: int, salt: bytes) -> bytes:
    """SHA256(canonical(["incoop/agora/vote", ballot_id, identity_id, option, salt])) (FORMAT.md §6.7): the
    identity is in it so that nobody can copy another's commitment and reveal it with the other's salt."""
    return sha256(encode((VOTE_TAG, ballot_id, identity_id, option, salt)))


def outcome_of(ballot: Ballot) -> int | None:
    """The option decided by the counts, or None (FORMAT.md §6.7, "The tally"): the quorum is met when
    cast × 1000 ≥ quorum_permille × eligible; the leading option (most votes among those not labelled
    "abstain", no tie) passes when its votes × 1000 > pass_permille × the votes for those options."""
    if ballot.cast * PERMILLE < ballot.quorum_permille * ballot.eligible or ballot.cast == 0:
        return None
    decisive = [(count, i) for i, count in enumerate(ballot.counts) if ballot.options[i] != ABSTAIN]
    if not decisive:
        return None
    ranked = sorted(decisive, reverse=True)
    best, index = ranked[0]
    if len(ranked) > 1 and ranked[1][0] == best:
        return None
    total = sum(count for count, _ in decisive)
    return index if best * PERMILLE > ballot.pass_permille * total else None


def item(kind: bytes, ballot_id: bytes) -> bytes:
    return kind + ballot_id
