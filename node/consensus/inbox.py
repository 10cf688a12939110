"""Proposals and votes for the height after the one being decided, kept until it begins.

docs/consensus.md, "Messages for other heights". A peer one height ahead sends
the messages of its height; they are kept so that this node can use them as
soon as it commits the block it is missing. Any peer the chain allows could send
such messages, so the buffer checks before it keeps: the signer must be a
validator (of the current height: today the set changes only with a block, and
a set that takes effect at a known future height would be added here), the
signature must be valid, and a proposal's block must match its signed hash. It
then keeps at most `VOTES_PER_SIGNER` votes and `PROPOSALS_PER_SIGNER` proposals
per signer, the newest: a validator that signs a flood of messages fills only its
own share, and no peer can forge messages into another validator's share.
Anything dropped here is asked for again once the node is at that height and lacks it
(gossip.py).
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple

from ledger.block import Block
from ledger.votes import Proposal, Vote

VOTES_PER_SIGNER = 16  # eight rounds of prevote and precommit
PROPOSALS_PER_SIGNER = 1  # a proposal carries a block of up to max_block_bytes


class Buffered(NamedTuple):
    peer: Any
    message: Vote | Proposal
    block: Block | None  # with a proposal


class NextHeight:
    def __init__(self, chain_id: str):
        self.chain_id = chain_id
        self._votes: dict[bytes, deque[Buffered]] = {}
        self._proposals: dict[bytes, deque[Buffered]] = {}
        self.height = -1  # the height the kept messages are for
        self.refused = 0  # messages not kept: not a validator's, or a bad signature

    def __len__(self) -> int:
        return sum(map(len, self._votes.values())) + sum(map(len, self._proposals.values()))

    def _for(self, height: int) -> None:
        if height != self.height:  # messages kept for another height are of no use any more
            self._votes, self._proposals, self.height = {}, {}, height

    def add_vote(self, peer: Any, vote: Vote, validators: frozenset[bytes] | tuple[bytes, ...]) -> bool:
        """Keep a vote for the next height if a validator signed it; False if it was refused."""
        if vote.validator not in validators or not vote.verify(self.chain_id):
            self.refused += 1
            return False
        self._for(vote.height)
        self._votes.setdefault(vote.validator, deque(maxlen=VOTES_PER_SIGNER)).append(Buffered(peer, vote, None))
        return True

    def add_proposal(self, peer: Any, proposal: Proposal, block: Block,
                     validators: frozenset[bytes] | tuple[bytes, ...]) -> bool:
        """Keep a proposal for the next height if a validator signed it for this block; False if refused."""
        if (proposal.proposer not in validators or block.hash() != proposal.block_hash
                or not proposal.verify(self.chain_id)):
            self.refused += 1
            return False
        self._for(proposal.height)
        self._proposals.setdefault(proposal.proposer, deque(maxlen=PROPOSALS_PER_SIGNER)).append(
            Buffered(peer, proposal, block))
        return True

    def take(self, height: int) -> list[Buffered]:
        """Everything kept for `height` (proposals first, by signer), and nothing kept any more."""
        out: list[Buffered] = []
        if height == self.height:
            for by_signer in (self._proposals, self._votes):
                for signer in sorted(by_signer):
                    out.extend(by_signer[signer])
        self._votes, self._proposals, self.height = {}, {}, -1
        return out
