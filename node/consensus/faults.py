"""Deliberate misbehaviour for fault tests (config `testing_faults`). Never set these on a real node.

The production driver knows nothing of these: node/server.py asks this module for
the clock and the signer a node runs with, and gets the real ones unless a fault
is configured. docs/consensus.md, "Lessons from other engines", lists the tests
that use them.

- `clock_offset_ms`: this node's clock, as block times see it, runs that far
  ahead (or behind): its blocks carry that time and it bounds the others' by it.
- `double_sign`: with every prevote, also sign and send a conflicting one (to
  peers only; this node never counts it) — a validator sharing its key with a twin.
- `withhold_precommits`: sign no precommit at all, as a validator killed after
  its prevote and before its precommit would; its sign-state then holds the prevote.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.crypto import SigningKey
from ledger.votes import PRECOMMIT, PREVOTE, Vote, sign_vote
from node.config import TestingFaults
from node.consensus import wire
from node.consensus.context import now_ms
from node.consensus.machine import Machine
from node.consensus.signer import Signer
from node.consensus.signstate import SignState


def clock(faults: TestingFaults) -> Callable[[], int]:
    offset = faults.clock_offset_ms
    if offset == 0:
        return now_ms
    return lambda: now_ms() + offset


def signer(faults: TestingFaults, key: SigningKey, chain_id: str, sign_state: SignState) -> Signer:
    if faults.withhold_precommits:
        return PrecommitWithholder(key, chain_id, sign_state)
    if faults.double_sign:
        return DoubleSigner(key, chain_id, sign_state)
    return Signer(key, chain_id, sign_state)


class DoubleSigner(Signer):
    def vote(self, machine: Machine, vote_type: int, round_: int, value: bytes | None,
             locked_block: bytes | None) -> Vote | None:
        vote = super().vote(machine, vote_type, round_, value, locked_block)
        if vote is not None and vote_type == PREVOTE:
            other = b"\xee" * 32 if value is None else None
            evil = sign_vote(self.key, self.chain_id, PREVOTE, machine.height, round_, other)
            self.net.broadcast(wire.VOTE, evil.as_tuple())
        return vote


class PrecommitWithholder(Signer):
    def vote(self, machine: Machine, vote_type: int, round_: int, value: bytes | None,
             locked_block: bytes | None) -> Vote | None:
        if vote_type == PRECOMMIT:
            return None
        return super().vote(machine, vote_type, round_, value, locked_block)
