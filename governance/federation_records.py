"""The federation's own rules: records, keys, limits (FORMAT.md §6.8, §9).

    fed/proposal/ ‖ proposal_id(16) = [proposer(32), change, effective_height, [approver(32), …],
                                       status, outcome, created_height]
    fed/open/     ‖ validator(32)   = [count]        proposals it made that are not final yet
    fed/peer/     ‖ validator(32)   = [address]      the peer address of a validator added by vote

A change is one array whose first element names its kind (FORMAT.md §6.8):

    ["add-validator", pubkey(32), address]
    ["remove-validator", pubkey(32)]
    ["replace-validator", old(32), new(32), address]
    ["set-param", name, value]
    ["authorise", role, account(32), name, [pattern, …]]     role: registrar | issuer | attester | arbiter
    ["revoke", role, account(32)]

The change takes effect at the end-of-block step of block `effective_height − 1`,
so block `effective_height` is the first whose header names the new validator
set and whose certificate that set signs (FORMAT.md §6.8, "When a change takes
effect").
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from ledger import chain
from ledger.encoding import decode, encode
from ledger.state import StateReader, prefix_end

MODULE_NAME = "federation"
PREFIX_FED = b"fed/"
PREFIX_PROPOSAL = b"fed/proposal/"
PREFIX_OPEN = b"fed/open/"
PREFIX_PEER = b"fed/peer/"
ID_LEN = 16

MIN_LEAD_BLOCKS = 3
"""effective_height ≥ the proposing block's height + this: at least one block for approvals."""
MAX_LEAD_BLOCKS = 1_000_000
MAX_OPEN_PER_VALIDATOR = 8
"""With at most 100 validators, at most 800 proposals fall due at one height (under the default
end-of-block budget of 1000 per module: each is taken at the block it is due)."""
MIN_VALIDATORS = 1
MAX_VALIDATORS = 100
MAX_ADDRESS = 200
MAX_NAME = 64

ADD, REMOVE, REPLACE, SET_PARAM, AUTHORISE, REVOKE = (
    "add-validator", "remove-validator", "replace-validator", "set-param", "authorise", "revoke")
KINDS = (ADD, REMOVE, REPLACE, SET_PARAM, AUTHORISE, REVOKE)
ROLES = ("registrar", "issuer", "attester", "arbiter")

PENDING, APPROVED, APPLIED, FAILED, EXPIRED = "pending", "approved", "applied", "failed", "expired"
STATUSES = (PENDING, APPROVED, APPLIED, FAILED, EXPIRED)
FINAL = (APPLIED, FAILED, EXPIRED)

PARAM_BOUNDS = chain.PARAM_BOUNDS
"""The parameters a `set-param` names, with their ranges: the genesis document's (FORMAT.md §6.8, §14.2)."""

ADDRESS = re.compile(r"wss?://[A-Za-z0-9.\-]{1,100}:[0-9]{1,5}(/[A-Za-z0-9._~/\-]{0,80})?")
"""A peer address: ws:// or wss://, a host name or IPv4 address, a port (FORMAT.md §6.8)."""


class Proposal(NamedTuple):
    proposer: bytes
    change: tuple[Any, ...]
    effective_height: int
    approvals: tuple[bytes, ...]  # ascending, each a validator at the time it approved
    status: str
    outcome: int  # the result code of the application (0 until final; 0 when applied)
    created_height: int

    def encode(self) -> bytes:
        return encode((self.proposer, tuple(self.change), self.effective_height, tuple(self.approvals),
                       self.status, self.outcome, self.created_height))

    @property
    def due_height(self) -> int:
        """The block whose end-of-block step applies or expires it."""
        return self.effective_height - 1


def proposal_key(proposal_id: bytes) -> bytes:
    return PREFIX_PROPOSAL + proposal_id


def open_key(validator: bytes) -> bytes:
    return PREFIX_OPEN + validator


def peer_key(validator: bytes) -> bytes:
    return PREFIX_PEER + validator


def decode_proposal(raw: bytes) -> Proposal:
    f = decode(raw)
    return Proposal(f[0], tuple(f[1]), f[2], tuple(f[3]), f[4], f[5], f[6])


def get_proposal(state: StateReader, proposal_id: bytes) -> Proposal | None:
    raw = state.get(proposal_key(proposal_id))
    return None if raw is None else decode_proposal(raw)


def open_count(state: StateReader, validator: bytes) -> int:
    raw = state.get(open_key(validator))
    return 0 if raw is None else decode(raw)[0]


def get_peer(state: StateReader, validator: bytes) -> str | None:
    raw = state.get(peer_key(validator))
    return None if raw is None else decode(raw)[0]


def proposals(state: Any) -> list[tuple[bytes, Proposal]]:
    """Every proposal, in id order (a reader of the whole state: API and CLI, not the rules)."""
    return [(k[len(PREFIX_PROPOSAL):], decode_proposal(v))
            for k, v in state.range(PREFIX_PROPOSAL, prefix_end(PREFIX_PROPOSAL))]


def due_at(state: StateReader, height: int) -> list[bytes]:
    """The ids of the proposals whose item falls due at `height` (ledger/deadlines.py keys), in key order."""
    queue = b"due/h/" + MODULE_NAME.encode("ascii") + b"/" + height.to_bytes(8, "big")
    return [key[len(queue):] for key, _ in state.range(queue, prefix_end(queue))]


def incoming_validators(state: StateReader, height: int) -> frozenset[bytes]:
    """Keys that approved changes due at `height` add to the set (so they validate from `height + 1`).

    Read by the consensus for the messages of the next height it keeps before it gets there
    (node/consensus/inbox.py); at most MAX_VALIDATORS × MAX_OPEN_PER_VALIDATOR proposals fall due at one height.
    """
    keys: set[bytes] = set()
    for proposal_id in due_at(state, height):
        proposal = get_proposal(state, proposal_id)
        if proposal is not None and proposal.status == APPROVED and proposal.change[0] in (ADD, REPLACE):
            keys.add(proposal.change[1] if proposal.change[0] == ADD else proposal.change[2])
    return frozenset(keys)


def peers(state: StateReader) -> list[tuple[bytes, str]]:
    """(validator, address) of every peer address the federation voted into the state, in key order."""
    return [(key[len(PREFIX_PEER):], decode(raw)[0]) for key, raw in state.range(PREFIX_PEER, prefix_end(PREFIX_PEER))]
