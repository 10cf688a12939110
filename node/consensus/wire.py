"""The messages nodes exchange over the peer-to-peer layer (FORMAT.md §18, "Peer protocol").

Every frame is canonical [kind, payload]. Gossip kinds are deduplicated by the
layer and relayed by the receiver only after it has checked them, so nothing
invalid spreads.

    STATUS      [head_height, height, round, step]     height/round/step: where consensus is (-1 round: not voting)
    PROPOSAL    [signed proposal, block]
    VOTE        signed vote
    TXS         [transaction bytes, ...]                 gossip in batches: one frame per flush, not per tx
    GET_BLOCKS  [from_height, count]
    BLOCKS      [raw block, ...]                       each canonical [block, certificate], heights ascending
    HAS         [height, round, proposal, prevotes, precommits]  what the sender has of one round, asking for the
                                                       rest: proposal a bool, the votes bitsets (gossip.py)
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ledger.block import Block, BlockFormatError, block_from_tuple
from ledger.votes import MessageFormatError, Proposal, Vote, proposal_from_tuple, vote_from_tuple

STATUS = 1
PROPOSAL = 2
VOTE = 3
TXS = 4
GET_BLOCKS = 5
BLOCKS = 6
HAS = 7  # added by issue 15; a node that predates it ignores the kind (FORMAT.md §18.3)
GET_TEXTS = 8  # the agora's post texts (node/agora_texts.py); also ignored by a node that predates them
TEXTS = 9

GOSSIP_KINDS = frozenset({PROPOSAL, VOTE, TXS})
MAX_TXS_PER_FRAME = 1000
MAX_SYNC_BATCH = 1024
MAX_SYNC_BYTES = 16 * 1024 * 1024
MAX_TEXTS_PER_FRAME = 32
MAX_TEXT_BYTES = 16 * 1024
MAX_HAS_BITS_BYTES = 1024  # a HAS bitset covers at most 8192 validators: the frame stays under about 2 KiB


class WireError(ValueError):
    """A peer sent a message that does not parse; it is dropped (and logged)."""


class HasMessage(NamedTuple):
    height: int
    round: int
    proposal: bool
    prevotes: bytes
    precommits: bytes


class Status(NamedTuple):
    head_height: int
    height: int
    round: int
    step: int


def _int(value: Any, low: int, what: str) -> int:
    if type(value) is not int or not low <= value < 2**63:
        raise WireError(f"{what} must be an integer >= {low}")
    return value


def parse_status(payload: Any) -> Status:
    if type(payload) is not tuple or len(payload) != 4:
        raise WireError("status is [head_height, height, round, step]")
    head, height, round_, step = payload
    return Status(_int(head, 0, "head height"), _int(height, 0, "height"), _int(round_, -1, "round"), _int(step, 0, "step"))


def parse_proposal(payload: Any) -> tuple[Proposal, Block]:
    if type(payload) is not tuple or len(payload) != 2:
        raise WireError("proposal message is [signed proposal, block]")
    try:
        return proposal_from_tuple(payload[0]), block_from_tuple(payload[1])
    except (MessageFormatError, BlockFormatError) as exc:
        raise WireError(str(exc)) from exc


def parse_vote(payload: Any) -> Vote:
    try:
        return vote_from_tuple(payload)
    except MessageFormatError as exc:
        raise WireError(str(exc)) from exc


def parse_txs(payload: Any) -> tuple[bytes, ...]:
    if type(payload) is not tuple or len(payload) > MAX_TXS_PER_FRAME or any(type(raw) is not bytes for raw in payload):
        raise WireError(f"txs is an array of at most {MAX_TXS_PER_FRAME} transactions")
    return payload


def parse_get_blocks(payload: Any) -> tuple[int, int]:
    if type(payload) is not tuple or len(payload) != 2:
        raise WireError("get_blocks is [from_height, count]")
    return _int(payload[0], 1, "from height"), min(_int(payload[1], 1, "count"), MAX_SYNC_BATCH)


def parse_blocks(payload: Any) -> tuple[bytes, ...]:
    if type(payload) is not tuple or any(type(raw) is not bytes for raw in payload):
        raise WireError("blocks is an array of raw blocks")
    return payload


def parse_has(payload: Any) -> HasMessage:
    if type(payload) is not tuple or len(payload) != 5:
        raise WireError("has is [height, round, proposal, prevotes, precommits]")
    height, round_, proposal, prevotes, precommits = payload
    if type(proposal) is not bool:
        raise WireError("has: proposal must be a bool")
    for bits in (prevotes, precommits):
        if type(bits) is not bytes or len(bits) > MAX_HAS_BITS_BYTES:
            raise WireError(f"has: the vote bitsets are byte strings of at most {MAX_HAS_BITS_BYTES} bytes")
    return HasMessage(_int(height, 1, "height"), _int(round_, 0, "round"), proposal, prevotes, precommits)


def parse_get_texts(payload: Any) -> tuple[bytes, ...]:
    if (type(payload) is not tuple or len(payload) > MAX_TEXTS_PER_FRAME
            or any(type(p) is not bytes or len(p) != 16 for p in payload)):
        raise WireError(f"get_texts is an array of at most {MAX_TEXTS_PER_FRAME} post ids (16 bytes)")
    return payload


def parse_texts(payload: Any) -> tuple[tuple[bytes, bytes], ...]:
    if type(payload) is not tuple or len(payload) > MAX_TEXTS_PER_FRAME or any(
            type(e) is not tuple or len(e) != 2 or type(e[0]) is not bytes or len(e[0]) != 16
            or type(e[1]) is not bytes or len(e[1]) > MAX_TEXT_BYTES for e in payload):
        raise WireError(f"texts is an array of at most {MAX_TEXTS_PER_FRAME} [post id, text] pairs")
    return payload
