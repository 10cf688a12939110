"""The height being decided: whether this node votes at it, its machine, when it starts, and its messages.

docs/consensus.md, "The state of one height" and "What the driver adds to the
paper". One `Heights` lives as long as the driver; `enter` begins each height
after a commit (the paper's L52–L54):

- Who votes is decided here, at every height, from the validator set in the
  state before it: a node with a signer (configured as a validator) votes at the
  heights whose set holds its key, so a key voted into the set votes from the
  height the change takes effect, and a key voted out stops there, without a
  restart. A height at which this node does not vote has no machine; the node
  follows it by block sync. The round timeouts are read the same way: chain
  parameters of the state before the height (docs/consensus.md, "Timeouts").
- A validator that signed at this height before a restart resumes at the round
  and step of its last signature and sends that signature again (signer.py).
- The height starts (L10) only when it has something to do.
- The machine's actions are carried out in order: votes and proposals through
  the signer, timeouts as timers that die with the height, the decision as a
  commit. A proposer also guards its own propose step with the propose timeout:
  the paper schedules that timeout only for the others (L21), but here the
  proposal can fail to go out (no block at hand, a failed build, the sign-state).
- Proposals and votes from peers are checked (height, signer, signature, block)
  before they are passed on or reach the machine; those for the next height are
  kept in a bounded buffer (inbox.py).
- Gossip (gossip.py): a checked message goes on only to the peers that asked for
  what they lack; this node asks (a HAS) when a vote names a proposal it lacks,
  when a peer is further on while this node stands still, and at a status
  interval that found it where the last one did.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from governance.federation_records import incoming_validators
from ledger import chain
from ledger.address import to_address
from ledger.block import Block, Certificate
from ledger.transition import BlockOutcome
from ledger.votes import PREVOTE, MessageFormatError, Proposal, Vote, vote_from_tuple
from node.consensus import gossip, wire
from node.consensus.blocks import BlockMaker, Candidate
from node.consensus.context import Context, now_ms
from node.consensus.gossip import Gossip, Has, Key
from node.consensus.inbox import NextHeight
from node.consensus.machine import (
    CastVote,
    Decide,
    Equivocation,
    Event,
    Machine,
    ProposalIn,
    Propose,
    ScheduleTimeout,
    Start,
    Step,
    Timeout,
    VoteIn,
)
from node.consensus.report import report_equivocation
from node.consensus.signer import Resume, Signer
from node.consensus.status import STEP_NAMES, Metrics, StatusSender, describe, position, timeouts

log = logging.getLogger("incoop.consensus")

Commit = Callable[[Block, Certificate, BlockOutcome], Awaitable[None]]


def _name(pubkey: bytes) -> str:
    return to_address(pubkey)[:12] + "…"


def _slot(vote: Vote) -> int:
    return gossip.PREVOTE if vote.type == PREVOTE else gossip.PRECOMMIT


class Heights:
    def __init__(self, ctx: Context, blocks: BlockMaker, signer: Signer | None, metrics: Metrics,
                 commit: Commit, catching_up: Callable[[], bool]):
        """`signer` None: this node never votes (an observer). `catching_up`: block sync's verdict;
        no height starts while it holds."""
        self.ctx = ctx
        self.blocks = blocks
        self.signer = signer
        self.metrics = metrics
        self.commit = commit
        self.catching_up = catching_up
        self.validators: tuple[bytes, ...] = ()  # of the height being decided
        self.params = chain.get_params(ctx.store.state)  # of the height being decided: its round timeouts too
        self.next_signers: frozenset[bytes] = frozenset()  # whose messages for the next height are kept
        self.machine: Machine | None = None  # None: this node does not vote at this height
        self.started = False
        self.resume: Resume | None = None
        self.started_at = time.monotonic()
        self.next = NextHeight(ctx.chain_id)
        self.status = StatusSender()
        self._timers: list[asyncio.TimerHandle] = []
        self._voted_last: bool | None = None
        self.gossip = Gossip()
        self._decided: tuple[int, int] | None = None  # (height, round) of the last decision taken here
        self._position: tuple[int, int, int, int] | None = None
        self._moved_at = time.monotonic()  # when the position last changed
        self._tick_position: tuple[int, int, int, int] | None = None  # the position at the last status interval

    # --- the lifecycle -------------------------------------------------------------------------

    async def enter(self) -> None:
        """Begin height head+1: a machine if this node votes at it, resumed if it signed there before."""
        ctx = self.ctx
        self.cancel_timers()
        ctx.head = ctx.store.head()
        height = ctx.next_height
        self.validators = chain.get_validators(ctx.store.state)
        # the round timeouts too are those of the state before this height (FORMAT.md §6.8): a set-param voted
        # for height E is waited by every validator from E, without a restart
        params = chain.get_params(ctx.store.state)
        if params[chain.TIMEOUTS_AT:] != self.params[chain.TIMEOUTS_AT:]:
            log.info("the chain's round timeouts from height %d: %s", height,
                     ", ".join(f"{k} {v} ms" for k, v in timeouts(params).items()))
        self.params = params
        # who may sign messages of the next height: this set and the keys a change voted for height + 1 adds
        # (FORMAT.md §6.8, applied by this height's end-of-block step); an over-approximation, as the buffer
        # only keeps them: each is checked against the set of its height when that height begins
        self.next_signers = frozenset(self.validators) | incoming_validators(ctx.store.state, height)
        self.blocks.reset()
        self.started = False
        self.started_at = time.monotonic()
        self.resume = None
        self.machine = None
        decided = self._decided
        self.gossip.begin(height, self.validators, decided[1] if decided and decided[0] == height - 1 else None)
        if self.signer is not None:
            self.signer.begin_height()
            votes = self.signer.pubkey in self.validators
            self._say_whether_voting(height, votes)
            if votes:
                self.machine = self._new_machine(self.signer, height)
        for item in self.next.take(height):
            if isinstance(item.message, Vote):
                ctx.enqueue(self.on_vote, item.peer, item.message)
            else:
                ctx.enqueue(self.on_proposal, item.peer, item.message, item.block)
        self.publish_status()
        self._at(ctx.head.time_ms + ctx.config.heartbeat_ms - now_ms(), self.maybe_start)
        await self.maybe_start()

    def _say_whether_voting(self, height: int, votes: bool) -> None:
        if votes == self._voted_last:
            return
        if votes:
            log.info("this node's key is a validator of height %d: it votes", height)
        else:
            log.warning("this node's key is not a validator of height %d: it follows the chain without voting "
                        "until its key is in the set", height)
        self._voted_last = votes

    def _new_machine(self, signer: Signer, height: int) -> Machine:
        resume = signer.resume(height)
        if resume is None:
            return Machine(height, self.validators, signer.pubkey)
        # tendermint#6169: this node signed at this height before a restart. It takes the height up where its
        # last signature left it, with its lock, and says that signature again (docs/consensus.md, "Never
        # signing twice").
        self.resume = resume
        machine = Machine(height, self.validators, signer.pubkey, resume.lock)
        if resume.lock is not None and resume.locked_block is not None:
            self.blocks.restore(resume.lock[1], resume.locked_block)
        for item in resume.locked_votes:  # the prevotes behind the lock, checked like any received vote
            try:
                vote = vote_from_tuple(item)
            except MessageFormatError:
                continue
            if vote.height == height and vote.verify(self.ctx.chain_id):
                machine.step(VoteIn(vote))  # before Start: counted, no rule runs yet
        if resume.vote is not None:
            machine.step(VoteIn(resume.vote))
            signer.send(wire.VOTE, resume.vote.as_tuple())
            self._own(resume.vote.round, _slot(resume.vote), resume.vote.as_tuple())
        return machine

    def _ready(self) -> bool:
        """Whether the height has something to do: a round to resume, a transaction that could enter a
        block (not one waiting behind a nonce gap), or the heartbeat since the parent block."""
        if self.resume is not None or next(self.ctx.mempool.candidates(), None) is not None:
            return True
        return now_ms() - self.ctx.head.time_ms >= self.ctx.config.heartbeat_ms

    async def maybe_start(self, heard: bool = False) -> None:
        """L10 once the height has something to do (`heard`: a peer's valid message for it)."""
        machine = self.machine
        if machine is None or self.started or self.catching_up():
            return
        if heard or self._ready():
            self.started = True
            resume = self.resume
            if resume is None:
                await self.step(Start())
                return
            log.info("resuming height %d at round %d, step %s, from the sign-state", machine.height, resume.round,
                     STEP_NAMES[resume.step])
            await self.step(Start(resume.round, resume.step))

    def waiting_to_start(self) -> bool:
        return self.machine is not None and not self.started

    # --- timers --------------------------------------------------------------------------------

    def _at(self, delay_ms: float, handler: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Handle `handler(*args)` on the event queue after `delay_ms`, unless the height ends first."""
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(max(delay_ms, 0) / 1000, self.ctx.enqueue, handler, *args))

    def cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers = []

    def _schedule_timeout(self, machine: Machine, step: Step, round_: int) -> None:
        delay_ms = self.params.timeout_ms(step, round_)  # the chain's, of this height
        self._at(delay_ms, self._on_timeout, machine, step, round_, delay_ms)

    async def _on_timeout(self, machine: Machine, step: Step, round_: int, delay_ms: int) -> None:
        """A timer set `delay_ms` earlier for (machine, step, round_) fired: the log says what was waited."""
        if self.machine is not machine:
            return
        s = machine.state
        if round_ == s.round and (step is Step.PRECOMMIT or step == s.step):
            self.metrics.timeouts += 1
            why = {
                Step.PROPOSE: f"no valid proposal from {_name(machine.proposer(round_))}",
                Step.PREVOTE: "prevotes split, no quorum for one value",
                Step.PRECOMMIT: "precommits split, no quorum for one value",
            }[step]
            log.info("height %d round %d: %s timeout after %d ms (%s)", machine.height, round_, STEP_NAMES[step],
                     delay_ms, why)
        await self.step(Timeout(step, round_))

    # --- the machine's actions -----------------------------------------------------------------

    async def step(self, event: Event) -> None:
        """Feed one event and carry out the actions, in order; this node's own votes are fed back."""
        machine = self.machine
        if machine is None:
            return
        pending: deque[Event] = deque([event])
        while pending and self.machine is machine:
            for action in machine.step(pending.popleft()):
                if isinstance(action, CastVote):
                    vote = self._signer().vote(machine, action.type, action.round, action.value,
                                               self.blocks.encoded(machine.state.locked_value))
                    if vote is not None:
                        self._own(vote.round, _slot(vote), vote.as_tuple())
                        pending.append(VoteIn(vote))
                elif isinstance(action, ScheduleTimeout):
                    self._schedule_timeout(machine, action.step, action.round)
                elif isinstance(action, Propose):
                    self._plan_proposal(machine, action)
                elif isinstance(action, Equivocation):
                    report_equivocation(self.ctx, action.first, action.second)
                elif isinstance(action, Decide):
                    await self._decide(machine, action)
                    return
        self.publish_status()

    def _signer(self) -> Signer:
        assert self.signer is not None, "only a node with a signer has a machine"
        return self.signer

    def _plan_proposal(self, machine: Machine, action: Propose) -> None:
        """Propose after the block interval (so that a block gathers transactions; a valid value at once),
        and schedule the propose timeout for this node too: if the proposal never goes out, the timeout
        makes this node prevote nil (L57) instead of waiting in step propose for ever."""
        ctx = self.ctx
        wait = 0.0 if action.value is not None else ctx.head.time_ms + ctx.config.block_interval_ms - now_ms()
        self._at(wait, self._propose, machine, action)
        self._schedule_timeout(machine, Step.PROPOSE, action.round)

    def _still_proposing(self, machine: Machine, round_: int) -> bool:
        return self.machine is machine and machine.state.round == round_ and machine.state.step is Step.PROPOSE

    async def _propose(self, machine: Machine, action: Propose) -> None:
        if not self._still_proposing(machine, action.round):
            return
        signer = self._signer()
        candidate: Candidate | None
        if action.value is not None:  # L15-L16: the valid value again
            candidate = self.blocks.get(action.value)
            if candidate is not None and not candidate.valid:
                candidate = await self.blocks.validate(candidate.block, clock_bound=True)
            if candidate is None or not candidate.valid:
                log.warning("height %d round %d: cannot re-propose the valid value: its block is not at hand; "
                            "the propose timeout will end the round", machine.height, action.round)
                return
        elif signer.proposed(machine.height, action.round) is not None:
            log.info("height %d round %d: this node proposed another block before its restart; it proposes nothing "
                     "new, and the propose timeout will end the round", machine.height, action.round)
            return
        else:  # L18: getValue()
            candidate = await self.blocks.build()
        if not self._still_proposing(machine, action.round):
            return  # a round skip (L55) overtook the build or the validation
        proposal = signer.propose(machine, action.round, action.valid_round, candidate.block,
                                  self.blocks.encoded(machine.state.locked_value))
        if proposal is None:
            return
        self._own(action.round, gossip.PROPOSAL, (tuple(proposal), candidate.block.as_tuple()))
        log.debug("height %d round %d: proposing %s with %d txs", machine.height, action.round,
                  proposal.block_hash.hex()[:12], len(candidate.block.txs))
        await self.step(ProposalIn(action.round, proposal.block_hash, action.valid_round, True, signer.pubkey))

    async def _decide(self, machine: Machine, action: Decide) -> None:
        """L49: the certificate from the counted precommits, then the commit (which enters the next height)."""
        candidate = self.blocks.get(action.value)
        assert candidate is not None and candidate.outcome is not None, "the machine decides only valid blocks"
        signatures = tuple((v.validator, v.signature) for v in action.precommits)
        certificate = Certificate(machine.height, action.round, action.value, signatures)
        self.metrics.rounds_last_height = action.round + 1
        self._decided = (machine.height, action.round)
        await self.commit(candidate.block, certificate, candidate.outcome)

    # --- messages from peers -------------------------------------------------------------------

    async def on_proposal(self, peer: Any, proposal: Proposal, block: Block) -> None:
        ctx = self.ctx
        height = ctx.next_height
        if proposal.height == height + 1:
            if self.signer is not None:  # only a node that may vote there has a use for it
                self.next.add_proposal(peer, proposal, block, self.next_signers)
            return
        if proposal.height > height + 1:  # dropped, but its repeats may come in once this node gets there
            ctx.net.forget(wire.PROPOSAL, (tuple(proposal), block.as_tuple()))
            return
        machine = self.machine
        if proposal.height != height or machine is None:
            return
        if proposal.proposer != machine.proposer(proposal.round) or block.hash() != proposal.block_hash:
            return
        if not proposal.verify(ctx.chain_id):
            log.warning("dropped a proposal with a bad signature from %s", getattr(peer, "address", "?"))
            return
        self._pass_on(peer, wire.PROPOSAL, self.gossip.key(height, proposal.round, gossip.PROPOSAL, proposal.proposer),
                      (tuple(proposal), block.as_tuple()))
        candidate = await self.blocks.validate(block, clock_bound=True)
        if self.machine is not machine:
            return
        await self.maybe_start(heard=True)
        await self.step(ProposalIn(proposal.round, proposal.block_hash, proposal.pol_round, candidate.valid,
                                   proposal.proposer))

    async def on_vote(self, peer: Any, vote: Vote) -> None:
        ctx = self.ctx
        height = ctx.next_height
        if vote.height == height + 1:
            if self.signer is not None:
                self.next.add_vote(peer, vote, self.next_signers)
            return
        if vote.height > height + 1:
            ctx.net.forget(wire.VOTE, vote.as_tuple())
            return
        machine = self.machine
        if vote.height != height or machine is None or vote.validator not in machine.keeper.validators:
            return
        if not vote.verify(ctx.chain_id):
            log.warning("dropped a vote with a bad signature from %s", getattr(peer, "address", "?"))
            return
        self._pass_on(peer, wire.VOTE, self.gossip.key(height, vote.round, _slot(vote), vote.validator), vote.as_tuple())
        if vote.block_hash is not None:  # a vote for a block: this node should have its proposal
            proposal = self.gossip.key(height, vote.round, gossip.PROPOSAL, machine.proposer(vote.round))
            if proposal is not None and not self.gossip.holds(proposal):
                self._ask(peer, self.gossip.gap(height, vote.round))
        await self.maybe_start(heard=True)
        await self.step(VoteIn(vote))

    # --- status --------------------------------------------------------------------------------

    def position(self) -> tuple[int, int, int, int]:
        return position(self.ctx.head, self.machine, self.started)

    def describe(self) -> dict[str, Any]:
        return describe(self.ctx.head, self.machine, self.started, self.catching_up(), self.params)

    def publish_status(self, force: bool = False) -> None:
        position = self.position()
        if position != self._position:
            self._position, self._moved_at = position, time.monotonic()
        self.status.publish(self.ctx.net, position, force)

    # --- gossip (gossip.py) --------------------------------------------------------------------

    def _own(self, round_: int, slot: int, payload: Any) -> None:
        """This node signed a message and the signer sent it to every peer: held to answer requests."""
        if self.machine is None or self.signer is None:
            return
        key = self.gossip.key(self.machine.height, round_, slot, self.signer.pubkey)
        if key is not None:
            self.gossip.own(key, payload, [p.pubkey for p in self.ctx.net.peers()])

    def _pass_on(self, peer: Any, kind: int, key: Key | None, payload: Any) -> None:
        """A checked message from `peer`: to the peers that asked for it and lack it (none, mostly)."""
        if key is None:
            return
        targets = self.gossip.received(peer.pubkey, key, payload)
        if targets:
            wanted = set(targets)
            for other in self.ctx.net.peers():
                if other.pubkey in wanted:
                    other.send(kind, payload)

    def _has_payload(self, has: Has) -> tuple | None:
        n = self.gossip.size(has.height)
        if n is None:
            return None
        return (has.height, has.round, bool(has.masks[gossip.PROPOSAL]),
                gossip.bits_to_bytes(has.masks[gossip.PREVOTE], n), gossip.bits_to_bytes(has.masks[gossip.PRECOMMIT], n))

    def _ask(self, peer: Any, has: Has | None) -> None:
        payload = self._has_payload(has) if has is not None else None
        if payload is not None:
            peer.send(wire.HAS, payload)

    def connected(self, peer: Any) -> None:
        self.gossip.connected(peer.pubkey)

    async def on_has(self, peer: Any, message: wire.HasMessage) -> None:
        """A peer asks for what it lacks of one round: the answer goes to it alone."""
        g = self.gossip
        n = g.size(message.height)
        prevotes = gossip.bytes_to_bits(message.prevotes, n) if n is not None else None
        precommits = gossip.bytes_to_bits(message.precommits, n) if n is not None else None
        proposer = g.proposal_index(message.height, message.round)
        if prevotes is None or precommits is None or proposer is None:
            g.stats["ignored"] += 1
            return
        has = Has(message.height, message.round, (int(message.proposal) << proposer, prevotes, precommits))
        our_round = self.machine.state.round if self.machine is not None else -1
        for key, payload in g.answer(peer.pubkey, has, our_round):
            peer.send(wire.PROPOSAL if key.slot == gossip.PROPOSAL else wire.VOTE, payload)

    def on_status(self, peer: Any, status: wire.Status) -> None:
        """A validator peer's position; if it is further on, ask it for what this node lacks (not before this
        node's height has started: its round is then -1, and gossip.py never asks from there)."""
        if self.machine is None or not self.gossip.is_validator(self.machine.height, peer.pubkey):
            return
        still_ms = (time.monotonic() - self._moved_at) * 1000
        ours = self.position()
        self._ask(peer, self.gossip.on_status(peer.pubkey, (status.height, status.round, status.step),
                                              (ours[1], ours[2], ours[3]), still_ms))

    def gossip_tick(self) -> None:
        """At a status interval: if this node stands where the last one found it, ask every validator peer
        for what it lacks of its round (each answers with only that: the periodic re-send, pulled)."""
        position = self.position()
        stuck = self.machine is not None and self.started and position == self._tick_position
        self._tick_position = position
        if not stuck:
            return
        has = self.gossip.stuck((position[1], position[2], position[3]))
        payload = self._has_payload(has) if has is not None else None
        if payload is None:
            return
        for peer in self.ctx.net.peers():
            if self.gossip.is_validator(position[1], peer.pubkey):
                peer.send(wire.HAS, payload)
