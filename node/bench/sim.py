"""`sim`: every validator's consensus machine in one process, on a simulated network (issue 7).

Why: to plan a federation of 20-60 members we need finality and message load at sizes we cannot
start as real processes on one machine. The answer must come from the protocol we run, so each
validator here is a real `node.consensus.machine.Machine` (with its real `VoteKeeper`), driven the
way `node.consensus.driver.Driver` drives it; only the world around it is simulated:

- Propose: the proposal is broadcast at once, and the proposer steps it into its own machine.
  Every proposal is valid; the block is an opaque 32-byte hash.
- CastVote: the vote is broadcast, and counted by its own validator at once.
- ScheduleTimeout: a timer with the chain's default round timeouts (linear growth, capped, as
  `ChainParams.timeout_ms`, ledger/chain.py); a timer of a finished height is ignored.
- Decide: the decision time is recorded and the validator starts the next height at once, as a
  loaded validator does (there is always a transaction waiting).
- Messages for the next height are buffered and replayed when it starts; older ones are dropped;
  ones further ahead are dropped and forgotten, so that a later copy gets through (`Driver.future`,
  `Driver._too_far`).
- Gossip (`gossip="known"`, the node since issue 15): each node runs the node's own
  `node.consensus.gossip.Gossip`, as `Heights` does: the signer sends its message to every peer; a
  node passes a message on only to peers with an open request that lack it; it asks (a HAS) when a
  vote names a proposal it lacks, when a peer's status shows that peer further on (the first such
  peer at once, the others once it has not moved for `BEHIND_GRACE_MS`), and at a status interval
  that finds it where the last one did;
  a peer answers with only what the request lacks. Statuses are delivered (each copy lossy), since
  they drive the second kind of request. Every node sends its status whenever (height, round, step)
  changes and every status interval.
- `gossip="flood"`: the node before issue 15, to compare: the first time a node sees a proposal or
  vote of its current height it relays it to every peer but the one it came from (every later copy
  is a duplicate the seen-set drops), and every status interval each node re-sends its own last
  messages of the height to every peer.
- Block sync: a node that a peer's status shows one height behind, and still behind after the
  driver's grace, or two or more behind at once, asks a peer for the blocks (one request, one
  reply, each lossy; a lost one is asked again after the driver's retry interval).

Left out on purpose: signatures and block execution (this measures the protocol, not the crypto
or the CPU: votes carry an empty signature); processing time (a node handles a message in zero
simulated time); `block_interval_ms` (the real proposer waits for it so that a block gathers
transactions; add it to get the real block time); status frames are counted but not delivered
in flood mode (the sync below reads the peers' heads directly, `latency_ms` after the fact, in both
modes).

The network is a full mesh of the live validators. Every copy of a message to every peer arrives
`latency_ms` later (plus a uniform jitter below `jitter_ms`, which must stay below the latency), or
is lost with probability `loss`, independently. A silent (crashed) validator has no connections:
nobody sends to it and it sends nothing.

Finality of a height: the moment 2f+1 validators have decided it, minus the moment the first
validator started it. At that moment a quorum holds the block with its certificate, so any client
asking a quorum sees it. Without faults or jitter every validator, the proposer included, starts a
height at the moment it decides the one before, so this is the time from the proposer's start;
otherwise it also counts any wait for a late proposer, which a client waits for too. The first
decision alone is reported beside it.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass

from ledger.chain import ChainParams, quorum
from ledger.crypto import sha256
from ledger.votes import PREVOTE as PREVOTE_TYPE
from ledger.votes import Vote
from node.config import ConsensusConfig
from node.consensus.driver import OWN_RESEND, SYNC_LAG_GRACE_S, SYNC_RETRY_S
from node.consensus.gossip import PRECOMMIT, PREVOTE, PROPOSAL, Gossip, Has, Key
from node.consensus.machine import (
    CastVote,
    Decide,
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

# The target of issue 7: finality within three network round trips per step of the protocol.
ROUND_TRIPS_PER_STEP = 3
PROTOCOL_STEPS = 3  # propose, prevote, precommit
SYNC_GRACE_MS = SYNC_LAG_GRACE_S * 1000
SYNC_RETRY_MS = SYNC_RETRY_S * 1000
SIM_TIME_LIMIT_MS_PER_HEIGHT = 120_000  # far beyond any round change; reaching it means a stall

# event kinds in the heap: (time, sequence, kind, validator index, payload)
_DELIVER, _TIMEOUT, _TICK, _STATUS_SEEN, _SYNC_CHECK, _SYNC_REPLY, _HAS, _STATUS = range(8)
GOSSIP_MODES = ("known", "flood")


@dataclass
class SimResult:
    """One simulated run; times in simulated milliseconds unless named `wall_s`."""

    validators: int
    silent: int
    gossip: str  # "known": by what each peer is known to have (the node); "flood": every message relayed
    # to every peer (the node before issue 15)
    heights: int
    latency_ms: float
    jitter_ms: float
    loss: float
    seed: int
    finality_mean_ms: float  # 2f+1 validators decided, from the height's start
    finality_p50_ms: float
    finality_p99_ms: float
    finality_max_ms: float
    first_decision_mean_ms: float
    first_decision_p99_ms: float
    block_interval_ms: float  # simulated time per height: 2f+1 decided the last height, over heights
    rounds_mean: float  # rounds per height (1: decided in round 0)
    rounds_max: int
    heights_past_round0: int
    messages_per_block: float  # every frame sent, all kinds below together
    messages_per_n2: float  # messages_per_block / n^2: flat when the load grows as n^2
    originals_per_block: float  # proposals and votes, from their signer to each peer
    relays_per_block: float  # others' proposals and votes sent on: flood's relays; known's answers and passes
    resends_per_block: float  # flood: each node's own messages again, every status interval
    has_per_block: float  # known: requests (HAS) for what a node lacks
    status_per_block: float
    sync_per_block: float
    lost_per_block: float  # copies the network dropped (already counted above)
    recovered: int  # deliveries that came by a relay, a re-send or block sync after a loss
    synced_commits: int  # heights a validator got by block sync instead of deciding
    bound_ms: float  # ROUND_TRIPS_PER_STEP x round trip x PROTOCOL_STEPS
    bound_met: bool  # finality p99 within the bound
    events: int  # simulation events handled: the cost of the run, not of the protocol
    wall_s: float


def finality_bound_ms(latency_ms: float) -> float:
    """Issue 7's target: 3 x one round trip x steps (20 ms one way: 3 x 40 x 3 = 360 ms)."""
    return ROUND_TRIPS_PER_STEP * 2 * latency_ms * PROTOCOL_STEPS


def _percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(math.ceil(p * len(ordered)) - 1, 0)]


def _p99(values: list[float]) -> float:
    return _percentile(values, 0.99)


class _Message:
    """One proposal or vote, its gossip key, and which live nodes have no copy of it on the way yet."""

    __slots__ = ("serial", "height", "event", "key", "late")

    def __init__(self, serial: int, height: int, event: Event, key: Key):
        # the seen-sets hold serials, not id(): an id is reused once a message is freed, and a new
        # message taken for a freed one's copy made runs of one seed differ
        self.serial = serial
        self.height = height
        self.event = event  # what a receiver's machine steps: ProposalIn or VoteIn
        self.key = key
        self.late: set[int] = set()  # not seen and nothing in flight (lost, or forgotten as too far)


class _Validator:
    __slots__ = ("index", "key", "height", "machine", "own", "future", "status", "behind_since",
                 "sync_sent_at", "gossip", "seen", "moved_at", "tick_status", "decided_round")

    def __init__(self, index: int, key: bytes):
        self.index = index
        self.key = key
        self.height = 0
        self.machine: Machine | None = None
        self.own: deque[_Message] = deque(maxlen=OWN_RESEND)
        self.future: list[tuple[_Message, int]] = []  # with the peer it came from
        self.status: tuple = ()
        self.behind_since: float | None = None
        self.sync_sent_at = -math.inf
        self.gossip = Gossip()  # the node's own gossip logic (known mode)
        self.seen: set[int] = set()  # serials of the messages delivered: the p2p layer's seen-set (known mode)
        self.moved_at = 0.0  # when the status last changed
        self.tick_status: tuple = ()  # the status at the last status interval
        self.decided_round: int | None = None


class _Simulation:
    def __init__(self, n: int, heights: int, latency_ms: float, jitter_ms: float, loss: float,
                 seed: int, silent: int, gossip: str, cc: ConsensusConfig, params: ChainParams):
        if gossip not in GOSSIP_MODES:
            raise ValueError(f"gossip is one of {GOSSIP_MODES}")
        if not 0 <= jitter_ms < latency_ms:
            raise ValueError("the jitter must stay below the latency (a relay never beats a direct copy)")
        if n - silent < quorum(n):
            raise ValueError("fewer live validators than a quorum: nothing would ever be decided")
        self.keys = tuple(i.to_bytes(32, "big") for i in range(n))
        self.nodes = [_Validator(i, key) for i, key in enumerate(self.keys)]
        # the silent ones propose at heights 1, 2, ...: the first heights already need a round change
        silent_set = {(1 + i) % n for i in range(silent)}
        self.live = [v for v in self.nodes if v.index not in silent_set]
        self.peers = {v.index: [w.index for w in self.live if w is not v] for v in self.live}
        self.peer_keys = {v.index: [self.keys[k] for k in self.peers[v.index]] for v in self.live}
        self.index_of = {key: i for i, key in enumerate(self.keys)}
        self.heights = heights
        self.latency = latency_ms
        self.jitter = jitter_ms
        self.loss = loss
        self.mode = gossip
        self.cc = cc
        self.params = params  # the chain's parameters: the round timeouts
        self.rng = random.Random(seed)
        self.heap: list[tuple] = []
        self.seq = 0
        self.now = 0.0
        self.count = {"original": 0, "relay": 0, "resend": 0, "has": 0, "status": 0, "sync": 0, "lost": 0}
        self.recovered = 0
        self.synced_commits = 0
        self.started_first: dict[int, float] = {}
        self.decided_at: dict[int, list[float]] = {}
        self.round_of: dict[int, int] = {}
        self.status_seen: set[int] = set()
        self.messages = 0  # serials of the proposals and votes made
        self.finished = 0
        self.events = 0

    # --- the clock -------------------------------------------------------------------------

    def _at(self, when: float, kind: int, node: int, payload: object = None) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (when, self.seq, kind, node, payload))

    def run(self) -> None:
        for v in self.live:
            self._at(self.rng.uniform(0, self.cc.status_interval_ms), _TICK, v.index)
        for v in self.live:
            self._enter_height(v, 1)
        limit = self.heights * SIM_TIME_LIMIT_MS_PER_HEIGHT
        heap, nodes = self.heap, self.nodes
        while self.finished < len(self.live):
            when, _, kind, index, payload = heapq.heappop(heap)
            if when > limit:
                raise RuntimeError(f"no progress after {limit} simulated ms: the simulation stalled")
            self.now = when
            self.events += 1
            v = nodes[index]
            if kind == _DELIVER:
                self._receive(v, *payload)
            elif kind == _HAS:
                self._on_has(v, *payload)
            elif kind == _STATUS:
                self._on_status(v, *payload)
            elif kind == _TIMEOUT:
                machine, step, round_ = payload
                if machine is v.machine:
                    self._step(v, Timeout(step, round_))
            elif kind == _TICK:
                self._tick(v)
            elif kind == _STATUS_SEEN:
                for w in self.live:
                    if w.height <= payload:
                        self._sync_check(w)
            elif kind == _SYNC_CHECK:
                self._sync_check(v)
            else:
                self._sync_reply(v)

    # --- the network -----------------------------------------------------------------------

    def _tally(self, kind: str, height: int, frames: int) -> None:
        """Count frames for the height they serve; those of heights past the last one run are not its cost."""
        if height <= self.heights:
            self.count[kind] += frames

    def _arrival(self) -> float:
        arrive = self.now + self.latency
        return arrive + self.rng.random() * self.jitter if self.jitter else arrive

    def _send(self, msg: _Message, targets: list[int], sender: int) -> None:
        """One copy to each target: it arrives after the latency, or is lost and the target is late."""
        rng, loss = self.rng, self.loss
        for k in targets:
            if rng.random() < loss:
                self._tally("lost", msg.height, 1)
                msg.late.add(k)
                continue
            if k in msg.late:
                msg.late.discard(k)
                self.recovered += 1
            self._at(self._arrival(), _DELIVER, k, (msg, sender))

    def _send_small(self, kind: int, counter: str, height: int, sender: int, target: int, payload: object) -> None:
        """A status or a request to one peer, lossy like every copy."""
        self._tally(counter, height, 1)
        if self.rng.random() < self.loss:
            self._tally("lost", height, 1)
            return
        self._at(self._arrival(), kind, target, (payload, sender))

    def _broadcast_own(self, v: _Validator, event: Event, key: Key) -> None:
        """The signer's `send`: sign (here: not), remember for re-sends, send to every peer."""
        self.messages += 1
        msg = _Message(self.messages, v.height, event, key)
        v.own.append(msg)
        if self.mode == "known":
            v.gossip.own(key, msg, self.peer_keys[v.index])
        self._tally("original", msg.height, len(self.live) - 1)
        self._send(msg, self.peers[v.index], v.index)

    def _relay(self, v: _Validator, msg: _Message, sender: int) -> None:
        """Flood: pass on to every peer but the sender; only the late ones still need the copy.
        Known: `Heights._pass_on`, to the peers with an open request that lack it."""
        if self.mode == "flood":
            self._tally("relay", msg.height, len(self.live) - 2)
            if msg.late:
                self._send(msg, [k for k in sorted(msg.late) if k != v.index], v.index)
            return
        targets = v.gossip.received(self.keys[sender], msg.key, msg)
        if targets:
            self._tally("relay", msg.height, len(targets))
            self._send(msg, [self.index_of[t] for t in targets], v.index)

    def _ask(self, v: _Validator, target: int, has: Has | None) -> None:
        if has is not None:
            self._send_small(_HAS, "has", v.height, v.index, target, has)

    def _on_has(self, v: _Validator, has: Has, sender: int) -> None:
        """`Heights.on_has`: answer a peer's request with what it lacks."""
        our_round = v.machine.state.round if v.machine is not None else -1
        answers = v.gossip.answer(self.keys[sender], has, our_round)
        for _, msg in answers:
            self._tally("relay", msg.height, 1)
            self._send(msg, [sender], v.index)

    def _publish_status(self, v: _Validator, status: tuple, force: bool = False) -> None:
        if status != v.status:
            v.moved_at = self.now
        if force or status != v.status:
            v.status = status
            if self.mode == "flood":
                self._tally("status", v.height, len(self.live) - 1)
                return
            for k in self.peers[v.index]:
                self._send_small(_STATUS, "status", v.height, v.index, k, status)

    def _on_status(self, v: _Validator, status: tuple, sender: int) -> None:
        """`Heights.on_status`: a peer further on while this node stands still: ask it."""
        if v.machine is None:
            return
        self._ask(v, sender, v.gossip.on_status(self.keys[sender], status, v.status, self.now - v.moved_at))

    def _tick(self, v: _Validator) -> None:
        """The driver's `_on_tick`: status; flood: own messages of this height again; known: a request to
        every peer if this node has not moved since the last interval; a sync check."""
        self._publish_status(v, v.status, force=True)
        if self.mode == "flood":
            for msg in v.own:
                self._tally("resend", msg.height, len(self.live) - 1)
                if msg.late:
                    self._send(msg, [k for k in sorted(msg.late) if k != v.index], v.index)
        else:
            stuck = v.machine is not None and v.status == v.tick_status
            v.tick_status = v.status
            has = v.gossip.stuck(v.status) if stuck else None
            for k in self.peers[v.index] if has is not None else ():
                self._ask(v, k, has)
        self._sync_check(v)
        self._at(self.now + self.cc.status_interval_ms, _TICK, v.index)

    # --- a validator: the driver's side ----------------------------------------------------

    def _receive(self, v: _Validator, msg: _Message, sender: int) -> None:
        if self.mode == "known":  # the p2p layer's seen-set: a copy already delivered is dropped
            if msg.serial in v.seen:
                return
            v.seen.add(msg.serial)
        if msg.height != v.height and msg.height != v.height + 1:
            if msg.height > v.height:
                msg.late.add(v.index)  # too far ahead: forgotten, so that a later copy gets through
                v.seen.discard(msg.serial)
            return  # an old height: dropped, not relayed
        if msg.height == v.height + 1:
            v.future.append((msg, sender))  # replayed (and passed on) when the height starts
            return
        self._handle(v, msg, sender)

    def _handle(self, v: _Validator, msg: _Message, sender: int) -> None:
        self._relay(v, msg, sender)
        event = msg.event
        if self.mode == "known" and type(event) is VoteIn and event.vote.block_hash is not None:
            # `Heights.on_vote`: a vote for a block whose proposal this node lacks: ask the peer it came from
            round_ = event.vote.round
            proposal = Key(v.height, round_, PROPOSAL, (v.height + round_) % len(self.keys))
            if not v.gossip.holds(proposal):
                self._ask(v, sender, v.gossip.gap(v.height, round_))
        self._step(v, event)

    def _enter_height(self, v: _Validator, height: int) -> None:
        """The driver's `_enter_height`: a fresh machine, Start at once, then the buffered messages.

        Past the last height the load stops: the validator waits, as an idle one does, so that the
        run ends with the last straggler instead of running heights nobody measures.
        """
        v.height = height
        v.own.clear()
        v.gossip.begin(height, self.keys, v.decided_round)
        v.seen.clear()  # the messages of older heights are dropped by height anyway
        if height > self.heights:
            v.machine, v.future = None, []
            self._publish_status(v, (height, -1, Step.PROPOSE))
            return
        v.machine = Machine(height, self.keys, v.key)
        self.started_first.setdefault(height, self.now)
        self._publish_status(v, (height, -1, Step.PROPOSE))
        buffered, v.future = v.future, []
        self._step(v, Start(0))
        for msg, sender in buffered:
            if msg.height == height and v.height == height:
                self._handle(v, msg, sender)

    def _step(self, v: _Validator, event: Event) -> None:
        """The driver's `_step`: feed the event, carry out the actions, own votes counted at once."""
        machine = v.machine
        assert machine is not None
        pending: deque[Event] = deque([event])
        while pending:
            for action in machine.step(pending.popleft()):
                kind = type(action)
                if kind is CastVote:
                    vote = VoteIn(Vote(action.type, v.height, action.round, action.value, v.key, b""))
                    slot = PREVOTE if action.type == PREVOTE_TYPE else PRECOMMIT
                    self._broadcast_own(v, vote, Key(v.height, action.round, slot, v.index))
                    pending.append(vote)
                elif kind is ScheduleTimeout:
                    delay = self.params.timeout_ms(action.step, action.round)
                    self._at(self.now + delay, _TIMEOUT, v.index, (machine, action.step, action.round))
                elif kind is Propose:
                    value = action.value
                    if value is None:  # a new block: any hash unique to (height, round, proposer)
                        value = sha256(b"%d/%d/" % (v.height, action.round) + v.key)
                    proposal = ProposalIn(action.round, value, action.valid_round, True, v.key)
                    self._broadcast_own(v, proposal, Key(v.height, action.round, PROPOSAL, v.index))
                    pending.append(proposal)
                elif kind is Decide:
                    self._decided(v, action.round)
                    return
        state = machine.state
        self._publish_status(v, (v.height, state.round, state.step))

    def _decided(self, v: _Validator, round_: int) -> None:
        height = v.height
        v.decided_round = round_
        self._record_decision(height, round_)
        self._enter_height(v, height + 1)

    def _record_decision(self, height: int, round_: int | None) -> None:
        times = self.decided_at.setdefault(height, [])
        times.append(self.now)
        if round_ is not None:
            self.round_of.setdefault(height, round_)
        if height == self.heights:
            self.finished += 1
        if height not in self.status_seen:  # the first commit: peers see its status a latency later
            self.status_seen.add(height)
            self._at(self.now + self.latency, _STATUS_SEEN, 0, height)

    # --- block sync ------------------------------------------------------------------------

    def _best_peer_head(self, v: _Validator) -> int:
        return max(w.height for w in self.live if w is not v) - 1

    def _sync_check(self, v: _Validator) -> None:
        """The driver's `_sync_check`: one behind waits out the grace, two behind fetches at once."""
        head = v.height - 1
        best = self._best_peer_head(v)
        if best <= head:
            v.behind_since = None
            return
        if best == head + 1:
            if v.behind_since is None:
                v.behind_since = self.now
                self._at(self.now + SYNC_GRACE_MS, _SYNC_CHECK, v.index)
                return
            if self.now - v.behind_since < SYNC_GRACE_MS:
                return
        if self.now - v.sync_sent_at < SYNC_RETRY_MS:
            return
        v.sync_sent_at = self.now
        self._tally("sync", v.height, 2)  # the request and the reply
        if self.rng.random() < self.loss or self.rng.random() < self.loss:
            self._tally("lost", v.height, 1)
            self._at(self.now + SYNC_RETRY_MS, _SYNC_CHECK, v.index)
            return
        self._at(self.now + 2 * self.latency, _SYNC_REPLY, v.index)

    def _sync_reply(self, v: _Validator) -> None:
        """The driver's `_on_blocks`: commit what the peer had, up to one batch, then go on."""
        v.sync_sent_at = -math.inf
        v.behind_since = None
        target = min(self._best_peer_head(v), v.height - 1 + self.cc.sync_batch_blocks)
        if target < v.height:
            return
        v.decided_round = None
        for height in range(v.height, target + 1):
            self.synced_commits += 1
            self.recovered += 1
            self._record_decision(height, None)
        self._enter_height(v, target + 1)
        self._sync_check(v)

    # --- the result --------------------------------------------------------------------------

    def result(self, n: int, silent: int, seed: int, wall_s: float) -> SimResult:
        heights = range(1, self.heights + 1)
        q = quorum(n)
        start = self.started_first
        final = [self.decided_at[h][q - 1] - start[h] for h in heights]
        first = [self.decided_at[h][0] - start[h] for h in heights]
        rounds = [self.round_of.get(h, 0) + 1 for h in heights]
        end = self.decided_at[self.heights][q - 1]
        per_block = {k: c / self.heights for k, c in self.count.items()}
        messages = sum(c for k, c in per_block.items() if k != "lost")
        bound = finality_bound_ms(self.latency)
        return SimResult(
            validators=n, silent=silent, gossip=self.mode, heights=self.heights, latency_ms=self.latency,
            jitter_ms=self.jitter, loss=self.loss, seed=seed,
            finality_mean_ms=round(sum(final) / len(final), 3), finality_p50_ms=round(_percentile(final, 0.5), 3),
            finality_p99_ms=round(_p99(final), 3),
            finality_max_ms=round(max(final), 3),
            first_decision_mean_ms=round(sum(first) / len(first), 3),
            first_decision_p99_ms=round(_p99(first), 3),
            block_interval_ms=round(end / self.heights, 3),
            rounds_mean=round(sum(rounds) / len(rounds), 3), rounds_max=max(rounds),
            heights_past_round0=sum(1 for r in rounds if r > 1),
            messages_per_block=round(messages, 1), messages_per_n2=round(messages / n**2, 2),
            originals_per_block=round(per_block["original"], 1), relays_per_block=round(per_block["relay"], 1),
            resends_per_block=round(per_block["resend"], 1), has_per_block=round(per_block["has"], 1),
            status_per_block=round(per_block["status"], 1),
            sync_per_block=round(per_block["sync"], 1), lost_per_block=round(per_block["lost"], 1),
            recovered=self.recovered, synced_commits=self.synced_commits,
            bound_ms=bound, bound_met=_p99(final) <= bound, events=self.events, wall_s=round(wall_s, 3),
        )


def simulate(n: int, heights: int, latency_ms: int = 20, loss: float = 0.01, seed: int = 1, *,
             jitter_ms: float = 0.0, silent: int = 0, gossip: str = "known",
             config: ConsensusConfig | None = None, params: ChainParams | None = None) -> SimResult:
    """Run `heights` heights of n validators; the proposers of heights 1..`silent` are crashed.

    `gossip`: "known", the node's gossip by what each peer is known to have (O(n^2) messages per
    block); "flood", the node before issue 15, which relayed every message to every peer (O(n^3)).
    """
    cc = config or ConsensusConfig()
    started = time.perf_counter()
    sim = _Simulation(n, heights, float(latency_ms), jitter_ms, loss, seed, silent, gossip, cc, params or ChainParams())
    sim.run()
    return sim.result(n, silent, seed, time.perf_counter() - started)


def sim_suite(quick: bool) -> list[SimResult]:
    """Issue 7's runs: n = 4, 16, 64 at 20 ms and 1 % loss, with the node's gossip and, to compare,
    with the flooding of before issue 15; one crashed validator of 4 and of 16. Quick: 10 heights,
    else 50 (25 for flooding at n = 64, to keep the full run within a minute or two on a busy
    two-core machine)."""
    heights = 10 if quick else 50
    results = []
    for n in (4, 16, 64):
        results += [simulate(n, heights), simulate(n, heights if n < 64 or quick else 25, gossip="flood")]
    # heights 1, 1 + n, ... have the crashed validator as round-0 proposer: a round change each
    results += [simulate(n, 2 * n + 1 if quick else 4 * n + 1, silent=1) for n in (4, 16)]
    return results


def rows(results: list[SimResult]) -> list[tuple[str, str, str]]:
    """(name, value, note) lines for the benchmark table, one block per run."""
    out = []
    for r in results:
        crashed = f", {r.silent} crashed" if r.silent else ""
        relays = ", flooding (before issue 15)" if r.gossip == "flood" else ""
        target = f"target p99 <= 3 x RTT x 3 steps = {r.bound_ms:.0f} ms: {'met' if r.bound_met else 'NOT met'}"
        if r.silent:
            target += " (the target is for no faults; a crashed proposer's height waits out two timeouts)"
        out += [
            (f"sim n = {r.validators}{crashed}{relays}: {r.heights} heights, {r.latency_ms:g} ms one way, "
             f"{r.loss:.0%} loss", f"{r.wall_s:.1f} s wall", f"{r.events:,} events"),
            ("  finality (2f+1 decided) mean / p50 / p99 / max",
             f"{r.finality_mean_ms:.0f} / {r.finality_p50_ms:.0f} / {r.finality_p99_ms:.0f} / {r.finality_max_ms:.0f} ms",
             target),
            ("  first decision mean / p99", f"{r.first_decision_mean_ms:.0f} / {r.first_decision_p99_ms:.0f} ms",
             f"block every {r.block_interval_ms:.0f} ms (no block interval)"),
            ("  rounds per height mean / max", f"{r.rounds_mean:.2f} / {r.rounds_max}",
             f"{r.heights_past_round0} heights needed a round change"),
            ("  messages per block", f"{r.messages_per_block:,.0f}",
             f"{r.messages_per_n2:.2f} x n^2: {r.originals_per_block:,.0f} signed + {r.relays_per_block:,.0f} relayed + "
             f"{r.resends_per_block:,.0f} re-sent + {r.has_per_block:,.0f} asked + {r.status_per_block:,.0f} status + "
             f"{r.sync_per_block:,.0f} sync; {r.lost_per_block:,.1f} lost"),
            ("  heights taken by block sync", f"{r.synced_commits}", f"{r.recovered:,} losses recovered"),
        ]
    return out


def main(argv: list[str]) -> int:
    """`python -m node.bench.sim [--quick] [--json]`: the suite alone, until scripts/bench runs it."""
    results = sim_suite(quick="--quick" in argv)
    if "--json" in argv:
        print(json.dumps([asdict(r) for r in results], indent=2))
        return 0
    lines = rows(results)
    width = max(len(name) for name, _, _ in lines)
    for name, value, note in lines:
        print(f"{name:<{width}}  {value:>24}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
