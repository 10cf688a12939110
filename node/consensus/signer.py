"""What this node signs: the never-sign-twice gate, the signature, the send, and its messages of the height.

docs/consensus.md, "Never signing twice". Every proposal and vote passes here:
the sign-state is asked whether the message may be signed, the message and the
lock are recorded with fsync, and only then is it signed and sent. The node's
own messages of the current height are kept and sent again to every peer that
connects; a connected peer that missed one asks for it (gossip.py), and this node
or any other that holds it answers.

After a restart in the middle of a height, `resume` says where the node stands:
the round and step after its last recorded signature, and that signature again
(the same bytes: Ed25519 signatures are deterministic, and the sign-state allows
exactly the recorded message again). The driver sends it at once, so that a
message recorded just before a crash but never sent still reaches the others.

A node without a signer (an observer) never signs anything. node/consensus/faults.py
holds the test-only signers that misbehave on purpose.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, NamedTuple

from ledger.block import Block
from ledger.crypto import SigningKey
from ledger.votes import PRECOMMIT, PREVOTE, Proposal, Vote, sign_proposal, sign_vote
from node.consensus import signstate, wire
from node.consensus.context import Broadcaster
from node.consensus.machine import Machine, Step
from node.consensus.signstate import Signed, SignState

log = logging.getLogger("incoop.consensus")

OWN_RESEND = 6  # own messages of the height kept for re-sends: two rounds of proposal, prevote, precommit
_KINDS = ("proposal", "prevote", "precommit")
_STEP_AFTER = {signstate.PROPOSAL: Step.PROPOSE, signstate.PREVOTE: Step.PREVOTE, signstate.PRECOMMIT: Step.PRECOMMIT}


class Resume(NamedTuple):
    """Where a restarted validator takes up the height it had signed in."""

    round: int  # the round of its last signature
    step: Step  # the step that signature belongs to: the machine starts there, its message already sent
    vote: Vote | None  # that signature again, if it was a vote
    proposed: bytes | None  # the block hash it proposed, if its last signature was a proposal
    lock: tuple[int, bytes] | None  # (round, value) of its lock
    locked_block: bytes | None  # the locked block's canonical bytes
    locked_votes: tuple  # the signed prevotes that justified the lock


class Signer:
    def __init__(self, key: SigningKey, chain_id: str, sign_state: SignState):
        self.key = key
        self.chain_id = chain_id
        self.sign_state = sign_state
        self.net: Broadcaster = Broadcaster()  # set by the driver when it starts
        self.own: deque[tuple[int, Any]] = deque(maxlen=OWN_RESEND)
        self.refused = 0  # signatures the sign-state refused (incoop_refused_signatures_total)

    @property
    def pubkey(self) -> bytes:
        return self.key.pubkey

    def begin_height(self) -> None:
        self.own.clear()

    # --- restart -------------------------------------------------------------------------------

    def resume(self, height: int) -> Resume | None:
        """Where to take up `height` if this node signed in it before a restart (None: it did not)."""
        last = self.sign_state.last
        if last is None or last.height != height:
            return None
        vote = None
        if last.kind != signstate.PROPOSAL:
            vote_type = PREVOTE if last.kind == signstate.PREVOTE else PRECOMMIT
            vote = sign_vote(self.key, self.chain_id, vote_type, height, last.round, last.value)
        lock = None if last.locked_value is None else (last.locked_round, last.locked_value)
        return Resume(last.round, _STEP_AFTER[last.kind], vote,
                      last.value if last.kind == signstate.PROPOSAL else None,
                      lock, last.locked_block if lock is not None else None,
                      tuple(last.locked_votes) if lock is not None else ())

    def proposed(self, height: int, round_: int) -> bytes | None:
        """The block hash this node proposed at (height, round), if that is its last signature."""
        last = self.sign_state.last
        if last is not None and last.position() == (height, round_, signstate.PROPOSAL):
            return last.value
        return None

    # --- signing -------------------------------------------------------------------------------

    def _record(self, machine: Machine, round_: int, kind: int, value: bytes | None,
                locked_block: bytes | None) -> bool:
        """The gate: check, then persist with fsync, before anything is signed."""
        height = machine.height
        if not self.sign_state.may_sign(height, round_, kind, value):
            self.refused += 1
            log.warning("not signing %s at height %d round %d: the sign-state holds a later or different signature",
                        _KINDS[kind], height, round_)
            return False
        s = machine.state
        locked_votes: tuple = ()
        if s.locked_value is not None:
            locked_votes = tuple(v.as_tuple() for v in machine.keeper.prevotes_for(s.locked_round, s.locked_value))
        self.sign_state.record(Signed(height, round_, kind, value, s.locked_round, s.locked_value,
                                      locked_block if s.locked_value is not None else None, locked_votes))
        return True

    def vote(self, machine: Machine, vote_type: int, round_: int, value: bytes | None,
             locked_block: bytes | None) -> Vote | None:
        """Record, sign and send a vote of the machine's height; None if the sign-state refuses it."""
        kind = signstate.PREVOTE if vote_type == PREVOTE else signstate.PRECOMMIT
        if not self._record(machine, round_, kind, value, locked_block):
            return None
        vote = sign_vote(self.key, self.chain_id, vote_type, machine.height, round_, value)
        self.send(wire.VOTE, vote.as_tuple())
        return vote

    def propose(self, machine: Machine, round_: int, pol_round: int, block: Block,
                locked_block: bytes | None) -> Proposal | None:
        """Record, sign and send a proposal with its block; None if the sign-state refuses it."""
        block_hash = block.hash()
        if not self._record(machine, round_, signstate.PROPOSAL, block_hash, locked_block):
            return None
        proposal = sign_proposal(self.key, self.chain_id, machine.height, round_, pol_round, block_hash)
        self.send(wire.PROPOSAL, (tuple(proposal), block.as_tuple()))
        return proposal

    # --- sending -------------------------------------------------------------------------------

    def send(self, kind: int, payload: Any) -> None:
        """To every peer now, and again to each peer that connects while the height lasts."""
        self.own.append((kind, payload))
        self.net.broadcast(kind, payload)

    def resend(self, peer: Any) -> None:
        """This height's own messages again, to a peer that connects (a connected one asks: gossip.py)."""
        for kind, payload in self.own:
            peer.send(kind, payload)
