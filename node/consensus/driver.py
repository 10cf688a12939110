"""The consensus driver: the I/O around the pure machine.

It owns everything the machine must not touch: peers, timers, the sign-state
file, the store and the mempool. One asyncio task (`_run`) handles every
consensus input in arrival order, so the machine, the candidate blocks and the
head are only ever changed from one place; CPU-heavy work (building,
validating, committing a block) runs in a one-thread executor and is awaited
by that task, which keeps the order.

What it adds to Algorithm 1 (docs/consensus.md, "What the driver adds to the
paper"):

- valid(v): the block extends the head and re-executes to its header
  (`ledger.transition.apply_block`), and its time is not further ahead of the
  local clock than `max_clock_drift_ms`. The answer is cached per block hash.
- Never sign twice: each signature is first checked against and recorded in
  the sign-state (fsync) and only then sent.
- A height starts when there is something to do: a pending transaction, a
  peer's message for the height, or the heartbeat (so idle validators do not
  churn through rounds, yet block time keeps moving).
- Liveness helpers: every status interval each node re-sends its own messages
  of the current height and its status; a node that learns of a peer with a
  higher head fetches the blocks with their certificates (block sync), and
  does not start rounds while two or more heights behind.
- Observers (and validators outside the set) run no machine: they follow by
  block sync only.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ledger import chain
from ledger.address import to_address
from ledger.block import (
    Block,
    BlockFormatError,
    Certificate,
    CertificateInvalid,
    block_from_tuple,
    decode_raw_block,
    verify_certificate,
)
from ledger.crypto import SigningKey, sha256
from ledger.encoding import EncodingError, decode
from ledger.errors import Code, TxError
from ledger.evidence import EVIDENCE, build_evidence_body
from ledger.store import Store
from ledger.transition import BlockInvalid, BlockOutcome, ChainHead, apply_block, build_block
from ledger.tx import Tx, sign_tx
from ledger.votes import (
    PREVOTE,
    MessageFormatError,
    Proposal,
    Vote,
    sign_proposal,
    sign_vote,
    vote_from_tuple,
)
from node.config import NodeConfig
from node.consensus import signstate, wire
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
from node.consensus.signstate import Signed, SignState
from node.mempool import GOSSIP, NODE, Mempool
from node.metrics import LATENCY_BUCKETS_S, Histogram, TxRate

log = logging.getLogger("incoop.consensus")

# A block refused for this reason may fit later, once the gap before it is filled.
_KEEP_PENDING = frozenset({Code.NONCE_TOO_FAR})
_FUTURE_BUFFER = 10_000
OWN_RESEND = 6
_RESEND_PENDING_TXS = 2000
_GOSSIP_BACKLOG = 256  # batches of gossiped transactions waiting for admission
_MIN_BLOCK_TXS = 100  # a block size limit never goes below this; costs are learnt only from blocks this large
_MIN_BUILD_BUDGET_MS = 50
_BUILD_SHARE = 0.6  # of the propose timeout after the block interval; the rest is the proposal's journey
_INITIAL_MS_PER_TX = 0.1  # a guess until the first large block: 100 µs per transaction
_COST_SMOOTHING = 0.3  # weight of the newest block in the learnt cost per transaction
_TX_FLUSH_S = 0.01
SYNC_RETRY_S = 5.0
SYNC_LAG_GRACE_S = 0.3
_STEP_NAMES = {Step.PROPOSE: "propose", Step.PREVOTE: "prevote", Step.PRECOMMIT: "precommit"}
_EVIDENCE_EXPIRY = 100


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Candidate:
    """A proposed block and what validating (or building) it gave."""

    block: Block
    outcome: BlockOutcome | None  # None: invalid
    rejected: list[tuple[Tx, TxError]]

    @property
    def valid(self) -> bool:
        return self.outcome is not None


class Broadcaster:
    """What the driver needs of the peer-to-peer layer (node.p2p.PeerManager provides it)."""

    def broadcast(self, kind: int, payload: Any, exclude: Any = None) -> int:
        return 0

    def peers(self) -> list[Any]:
        return []

    def forget(self, kind: int, payload: Any) -> None:
        """Let a later copy of this gossip message through again."""


class Driver:
    def __init__(
        self,
        store: Store,
        mempool: Mempool,
        key: SigningKey,
        chain_id: str,
        config: NodeConfig,
        voting: bool,
        sign_state: SignState | None,
        verify_pool: Executor | None = None,
    ):
        """`verify_pool` verifies gossiped transactions' signatures off the event loop (the API's pool)."""
        self.store = store
        self.verify_pool = verify_pool
        self.mempool = mempool
        self.key = key
        self.chain_id = chain_id
        self.config = config
        self.cc = config.consensus
        self.voting = voting
        self.sign_state = sign_state
        self.net: Broadcaster = Broadcaster()
        self.head: ChainHead = store.head()
        self.validators: tuple[bytes, ...] = chain.get_validators(store.state)
        self.machine: Machine | None = None
        self.started = False
        self.blocks: dict[bytes, Candidate] = {}
        self.own: deque[tuple[int, Any]] = deque(maxlen=OWN_RESEND)
        self.future: list[tuple[Callable[..., Awaitable[None]], tuple]] = []
        self.evidence: deque[tuple[Vote, Vote]] = deque(maxlen=100)
        self.catching_up = False
        self._timers: list[asyncio.TimerHandle] = []
        self._queue: asyncio.Queue | None = None
        self._tasks: list[asyncio.Task] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="consensus")
        self._sync_sent_at = 0.0
        self._behind_since: float | None = None
        self._height_started_at = time.monotonic()
        self._last_status: tuple | None = None
        self._resume_round = 0
        self._execute_ms = 0.0  # building or validating this height's block, for the commit log line
        self._ms_per_tx = _INITIAL_MS_PER_TX  # learnt execution cost, for the block size limit
        self._outbox: list[bytes] = []
        self._gossip_in: asyncio.Queue[tuple[bytes, ...]] | None = None
        self._flush_handle: asyncio.TimerHandle | None = None  # outlives heights, unlike self._timers
        self.stats = {"commits": 0, "txs_committed": 0, "rounds_last_height": 0, "commit_latency_ms": 0.0,
                      "synced_blocks": 0, "refused_signatures": 0, "timeouts": 0, "gossip_batches_dropped": 0}
        self.tx_rate = TxRate()
        self.commit_latency = Histogram(LATENCY_BUCKETS_S)

    # --- lifecycle --------------------------------------------------------------------

    async def start(self, net: Broadcaster) -> None:
        self.net = net
        self._queue = asyncio.Queue()
        self._gossip_in = asyncio.Queue(_GOSSIP_BACKLOG)
        self.mempool.on_admit.append(self._on_tx_admitted)
        self._tasks = [
            asyncio.get_running_loop().create_task(self._run(), name="consensus"),
            asyncio.get_running_loop().create_task(self._tick(), name="consensus-tick"),
            asyncio.get_running_loop().create_task(self._admit_gossip(), name="gossip-admission"),
        ]
        self._enqueue(self._enter_height)

    async def stop(self) -> None:
        """Stop taking inputs; a commit under way finishes before this returns.

        Transactions admitted but not yet gossiped go out first: the peer layer sends what is
        queued before it closes, so a clean stop does not strand a transaction a client was
        told is pending.
        """
        if self._on_tx_admitted in self.mempool.on_admit:
            self.mempool.on_admit.remove(self._on_tx_admitted)
        self._flush_txs()
        for timer in self._timers:
            timer.cancel()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        if self._queue is not None:
            self._queue.put_nowait(None)
        for task in self._tasks[1:]:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)

    def _enqueue(self, handler: Callable[..., Awaitable[None]], *args: Any) -> None:
        if self._queue is not None:
            self._queue.put_nowait((handler, args))

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            item = await self._queue.get()
            if item is None:
                return
            handler, args = item
            try:
                await handler(*args)
            except Exception:  # a bug must not silently stop consensus; log it and go on
                log.exception("consensus step failed in %s", getattr(handler, "__name__", handler))

    async def _tick(self) -> None:
        interval = self.cc.status_interval_ms / 1000
        while True:
            await asyncio.sleep(interval)
            self._enqueue(self._on_tick)

    async def _on_tick(self) -> None:
        self._publish_status(force=True)
        for kind, payload in self.own:
            self.net.broadcast(kind, payload)
        await self._sync_check()
        await self._maybe_start()

    # --- status -------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        m = self.machine
        return {
            "height": self.head.height + 1,
            "round": m.state.round if m is not None and self.started else -1,
            "step": _STEP_NAMES[m.state.step] if m is not None and self.started else "waiting",
            "voting": m is not None,
            "catching_up": self.catching_up,
        }

    def _status_payload(self) -> tuple:
        m = self.machine
        round_ = m.state.round if m is not None and self.started else -1
        step = int(m.state.step) if m is not None and self.started else 0
        return (self.head.height, self.head.height + 1, round_, step)

    def _publish_status(self, force: bool = False) -> None:
        payload = self._status_payload()
        if force or payload != self._last_status:
            self._last_status = payload
            self.net.broadcast(wire.STATUS, payload)

    def on_connect(self, peer: Any) -> None:
        """A new peer gets our status, our messages of this height, and the pending transactions
        (after a partition heals, a transaction admitted on the other side must still reach everyone)."""
        peer.send(wire.STATUS, self._status_payload())
        for kind, payload in self.own:
            peer.send(kind, payload)
        pending = [tx.raw for tx in itertools.islice(self.mempool.candidates(), _RESEND_PENDING_TXS)]
        for start in range(0, len(pending), wire.MAX_TXS_PER_FRAME):
            peer.send(wire.TXS, tuple(pending[start:start + wire.MAX_TXS_PER_FRAME]))

    # --- heights --------------------------------------------------------------------------

    async def _enter_height(self) -> None:
        """Begin height head+1: a fresh machine, resumed from the sign-state if it signed here before."""
        for timer in self._timers:
            timer.cancel()
        self._timers = []
        self.head = self.store.head()
        self.validators = chain.get_validators(self.store.state)
        height = self.head.height + 1
        self.blocks = {}
        self.own.clear()
        self.started = False
        self._height_started_at = time.monotonic()
        self._resume_round = 0
        self._execute_ms = 0.0
        self.machine = None
        if self.voting and self.key.pubkey in self.validators:
            lock = None
            if self.sign_state is not None:
                last = self.sign_state.last
                if last is not None and last.height == height:
                    # tendermint#6169: resume this height after the round of the last signature. What the
                    # others said in that round died with the process; staying there could only wait for
                    # messages that never come, since the sign-state refuses every new vote in it. A higher
                    # round is always allowed, and the restored lock keeps it safe.
                    self._resume_round = last.round + 1
                restored = self.sign_state.lock_at(height)
                if restored is not None:
                    round_, value, block_bytes, votes = restored
                    lock = (round_, value)
                    if block_bytes is not None:
                        self._restore_locked_block(value, block_bytes)
            self.machine = Machine(height, self.validators, self.key.pubkey, lock)
            if lock is not None:
                self._restore_lock_votes(votes)
        buffered, self.future = self.future, []
        for handler, args in buffered:
            message_height = args[1].height
            if message_height == height:
                self._enqueue(handler, *args)
            elif message_height > height:
                self.future.append((handler, args))
        self._publish_status()
        self._at(self.head.time_ms + self.config.heartbeat_ms - now_ms(), self._maybe_start)
        await self._maybe_start()

    def _restore_lock_votes(self, votes: tuple) -> None:
        """Count again the prevotes that justified the lock (checked like any received vote)."""
        assert self.machine is not None
        for item in votes:
            try:
                vote = vote_from_tuple(item)
            except MessageFormatError:
                continue
            if vote.height == self.machine.height and vote.verify(self.chain_id):
                self.machine.step(VoteIn(vote))  # before Start: counted, no rule runs yet

    def _restore_locked_block(self, value: bytes, block_bytes: bytes) -> None:
        try:
            block = block_from_tuple(decode(block_bytes, len(block_bytes)))
        except (BlockFormatError, EncodingError):
            log.warning("the locked block in the sign-state does not decode; it will not be re-proposed")
            return
        if block.hash() == value:
            self.blocks[value] = Candidate(block, None, [])  # validated again before it is proposed

    def _ready(self) -> bool:
        if self.machine is None or self.started or self.catching_up:
            return False
        # a transaction that could enter a block (not one waiting behind a nonce gap)
        if self._resume_round > 0 or next(self.mempool.candidates(), None) is not None:
            return True
        return now_ms() - self.head.time_ms >= self.config.heartbeat_ms

    async def _maybe_start(self, heard: bool = False) -> None:
        if self.machine is None or self.started or self.catching_up:
            return
        if heard or self._ready():
            self.started = True
            if self._resume_round:
                log.info("resuming height %d at round %d from the sign-state", self.machine.height, self._resume_round)
            await self._step(Start(self._resume_round))

    def _on_tx_admitted(self, tx: Tx) -> None:
        """Gossip in batches: at hundreds of tx/s, a frame per transaction per peer costs more than the rest."""
        self._outbox.append(tx.raw)
        if len(self._outbox) >= wire.MAX_TXS_PER_FRAME:
            self._flush_txs()
        elif len(self._outbox) == 1:
            self._flush_handle = asyncio.get_running_loop().call_later(_TX_FLUSH_S, self._flush_txs)
        if self.machine is not None and not self.started:
            self._enqueue(self._maybe_start)

    def _flush_txs(self) -> None:
        if self._outbox:
            batch, self._outbox = tuple(self._outbox), []
            self.net.broadcast(wire.TXS, batch)

    # --- the machine's actions ------------------------------------------------------------------

    async def _step(self, event: Event) -> None:
        machine = self.machine
        if machine is None:
            return
        pending: deque[Event] = deque([event])
        while pending and self.machine is machine:
            for action in machine.step(pending.popleft()):
                if isinstance(action, CastVote):
                    vote = self._cast(machine, action)
                    if vote is not None:
                        pending.append(VoteIn(vote))
                elif isinstance(action, ScheduleTimeout):
                    self._schedule_timeout(machine, action)
                elif isinstance(action, Propose):
                    self._plan_proposal(machine, action)
                elif isinstance(action, Equivocation):
                    self._report_equivocation(action.first, action.second)
                elif isinstance(action, Decide):
                    await self._decide(machine, action)
                    return
        self._publish_status()

    def _at(self, delay_ms: float, handler: Callable[..., Awaitable[None]], *args: Any) -> None:
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(max(delay_ms, 0) / 1000, self._enqueue, handler, *args))

    def _schedule_timeout(self, machine: Machine, action: ScheduleTimeout) -> None:
        self._at(self.cc.timeout_ms(action.step, action.round), self._on_timeout, machine, action.step, action.round)

    async def _on_timeout(self, machine: Machine, step: Step, round_: int) -> None:
        if self.machine is not machine:
            return
        s = machine.state
        if round_ == s.round and (step is Step.PRECOMMIT or step == s.step):
            self.stats["timeouts"] += 1
            why = {
                Step.PROPOSE: f"no valid proposal from {self._name(machine.proposer(round_))}",
                Step.PREVOTE: "prevotes split, no quorum for one value",
                Step.PRECOMMIT: "precommits split, no quorum for one value",
            }[step]
            log.info("height %d round %d: %s timeout (%s)", machine.height, round_, _STEP_NAMES[step], why)
        await self._step(Timeout(step, round_))

    def _name(self, pubkey: bytes) -> str:
        return to_address(pubkey)[:12] + "…"

    def _record(self, machine: Machine, round_: int, kind: int, value: bytes | None) -> bool:
        """The never-sign-twice gate: check, then persist with fsync, before anything is signed."""
        if self.sign_state is None:
            return True
        height = machine.height
        if not self.sign_state.may_sign(height, round_, kind, value):
            self.stats["refused_signatures"] += 1
            log.warning("not signing %s at height %d round %d: the sign-state holds a later or different signature",
                        ("proposal", "prevote", "precommit")[kind], height, round_)
            return False
        s = machine.state
        locked_block = None
        locked_votes: tuple = ()
        if s.locked_value is not None:
            if s.locked_value in self.blocks:
                locked_block = self.blocks[s.locked_value].block.encode()
            locked_votes = tuple(v.as_tuple() for v in machine.keeper.prevotes_for(s.locked_round, s.locked_value))
        self.sign_state.record(Signed(height, round_, kind, value, s.locked_round, s.locked_value, locked_block,
                                      locked_votes))
        return True

    def _cast(self, machine: Machine, action: CastVote) -> Vote | None:
        kind = signstate.PREVOTE if action.type == PREVOTE else signstate.PRECOMMIT
        if not self._record(machine, action.round, kind, action.value):
            return None
        vote = sign_vote(self.key, self.chain_id, action.type, machine.height, action.round, action.value)
        self._send_own(wire.VOTE, vote.as_tuple())
        if self.config.testing_faults.double_sign and action.type == PREVOTE:
            # test-only: a conflicting prevote, sent to peers but never counted here
            other = b"\xee" * 32 if action.value is None else None
            evil = sign_vote(self.key, self.chain_id, PREVOTE, machine.height, action.round, other)
            self.net.broadcast(wire.VOTE, evil.as_tuple())
        return vote

    def _send_own(self, kind: int, payload: Any) -> None:
        self.own.append((kind, payload))
        self.net.broadcast(kind, payload)

    def _plan_proposal(self, machine: Machine, action: Propose) -> None:
        """Propose after the block interval (so a block gathers transactions); off the current step."""
        wait = 0.0 if action.value is not None else self.head.time_ms + self.config.block_interval_ms - now_ms()
        self._at(wait, self._propose, machine, action)

    def _still_proposing(self, machine: Machine, round_: int) -> bool:
        return self.machine is machine and machine.state.round == round_ and machine.state.step is Step.PROPOSE

    async def _propose(self, machine: Machine, action: Propose) -> None:
        if not self._still_proposing(machine, action.round):
            return
        if action.value is not None:
            candidate = self.blocks.get(action.value)
            if candidate is not None and candidate.outcome is None:
                candidate = await self._validate(candidate.block)
            if candidate is None or not candidate.valid:
                log.warning("height %d round %d: cannot re-propose the valid value: its block is not at hand",
                            machine.height, action.round)
                return
        else:
            candidate = await self._build()
            if not self._still_proposing(machine, action.round):
                return  # a round skip (L55) overtook the build
        block_hash = candidate.block.hash()
        if not self._record(machine, action.round, signstate.PROPOSAL, block_hash):
            return
        proposal = sign_proposal(self.key, self.chain_id, machine.height, action.round, action.valid_round, block_hash)
        self._send_own(wire.PROPOSAL, (tuple(proposal), candidate.block.as_tuple()))
        txs = len(candidate.block.txs)
        log.debug("height %d round %d: proposing %s with %d txs", machine.height, action.round, block_hash.hex()[:12], txs)
        await self._step(ProposalIn(action.round, block_hash, action.valid_round, True, self.key.pubkey))

    async def _build(self) -> Candidate:
        params = chain.get_params(self.store.state)
        candidates = list(itertools.islice(self.mempool.candidates(), self._block_size_limit(params.max_block_txs)))
        verified = frozenset(tx.hash for tx in candidates)
        time_ms = max(now_ms() + self.config.testing_faults.clock_offset_ms, self.head.time_ms + 1)
        started = time.perf_counter()
        block, outcome, rejected = await asyncio.get_running_loop().run_in_executor(
            self._executor, build_block, self.mempool.rules, self.store.state, self.store.tree, self.head, self.chain_id,
            self.key.pubkey, time_ms, candidates, verified,
        )
        self._execute_ms = (time.perf_counter() - started) * 1000
        self._learn_execution_cost(len(candidates), self._execute_ms)
        for tx, error in rejected:
            if error.code not in _KEEP_PENDING:
                self.mempool.drop(tx, error)
        candidate = Candidate(block, outcome, rejected)
        self.blocks[block.hash()] = candidate
        return candidate

    def _block_size_limit(self, max_block_txs: int) -> int:
        """As many transactions as this node executes in most of the propose timeout left after the block
        interval: the other validators must receive the proposal before their propose timeout fires, and
        a proposer that builds for longer than that only buys round changes (it starts over with a new
        proposer, who builds a block just as large). The cost per transaction is learnt from this
        node's own recent builds and validations, so a loaded machine proposes smaller blocks. A lone
        validator waits for nobody: its blocks are as large as the chain allows."""
        if len(self.validators) == 1:
            return max_block_txs
        budget_ms = max(_MIN_BUILD_BUDGET_MS,
                        _BUILD_SHARE * (self.cc.timeout_propose_ms - self.config.block_interval_ms))
        return max(_MIN_BLOCK_TXS, min(max_block_txs, int(budget_ms / self._ms_per_tx)))

    def _learn_execution_cost(self, txs: int, elapsed_ms: float) -> None:
        if txs >= _MIN_BLOCK_TXS:
            self._ms_per_tx += _COST_SMOOTHING * (elapsed_ms / txs - self._ms_per_tx)

    async def _validate(self, block: Block) -> Candidate:
        """valid(v), once per block hash."""
        block_hash = block.hash()
        known = self.blocks.get(block_hash)
        if known is not None and known.outcome is not None:
            return known
        drift = block.header.time_ms - (now_ms() + self.config.testing_faults.clock_offset_ms)
        if drift > self.cc.max_clock_drift_ms:
            log.warning("block %d from %s is %d ms ahead of this node's clock: invalid",
                        block.header.height, self._name(block.header.proposer), drift)
            candidate = Candidate(block, None, [])
        else:
            try:
                started = time.perf_counter()
                outcome = await asyncio.get_running_loop().run_in_executor(
                    self._executor, apply_block, self.mempool.rules, self.store.state, self.store.tree, self.head, block,
                    self.chain_id, self.mempool.verified(), self.verify_pool,
                )
                candidate = Candidate(block, outcome, [])
                self._execute_ms = (time.perf_counter() - started) * 1000
                self._learn_execution_cost(len(block.txs), self._execute_ms)
            except BlockInvalid as exc:
                log.warning("invalid block proposed: %s", exc)
                candidate = Candidate(block, None, [])
        self.blocks[block_hash] = candidate
        return candidate

    async def _decide(self, machine: Machine, action: Decide) -> None:
        candidate = self.blocks[action.value]
        assert candidate.outcome is not None
        signatures = tuple((v.validator, v.signature) for v in action.precommits)
        certificate = Certificate(machine.height, action.round, action.value, signatures)
        self.stats["rounds_last_height"] = action.round + 1
        await self._commit(candidate.block, certificate, candidate.outcome)

    async def _commit(self, block: Block, certificate: Certificate, outcome: BlockOutcome) -> None:
        started = time.perf_counter()
        head = await asyncio.get_running_loop().run_in_executor(
            self._executor, self.store.commit_block, block, certificate, outcome
        )
        self.head = head
        self.mempool.remove_committed(outcome.txs, outcome.parties)
        self.mempool.evict_stale(head.height + 1)
        txs = len(outcome.txs)
        self.stats["commits"] += 1
        self.stats["txs_committed"] += txs
        latency_s = time.monotonic() - self._height_started_at
        self.stats["commit_latency_ms"] = latency_s * 1000
        self.commit_latency.observe(latency_s)
        self.tx_rate.record(txs)
        level = logging.INFO if txs else logging.DEBUG
        log.log(level, "committed block %d (round %d) with %d txs in %.0f ms: execute %.0f ms, write %.0f ms",
                head.height, certificate.round, txs, latency_s * 1000, self._execute_ms,
                (time.perf_counter() - started) * 1000)
        await self._enter_height()

    # --- equivocation ------------------------------------------------------------------

    def _report_equivocation(self, first: Vote, second: Vote) -> None:
        """Keep the pair and put it on chain, as a transaction signed by this node's key."""
        log.warning("validator %s signed two different %s votes at height %d round %d: reporting it on chain",
                    self._name(first.validator), "prevote" if first.type == PREVOTE else "precommit",
                    first.height, first.round)
        self.evidence.append((first, second))
        nonce = self.mempool.next_free_nonce(self.key.pubkey)
        body = build_evidence_body(first, second)
        tx = sign_tx(self.key, self.chain_id, EVIDENCE.name, nonce, self.head.height + _EVIDENCE_EXPIRY, body)
        try:
            self.mempool.admit(tx, self.head.height + 1, source=NODE)
        except TxError as exc:
            log.warning("the evidence transaction was not admitted: %s", exc.message)

    # --- messages from peers ----------------------------------------------------------------------

    async def on_message(self, peer: Any, kind: int, payload: Any) -> None:
        """Called by the peer layer for every frame, in order per peer; never raises on bad input."""
        try:
            if kind == wire.TXS:
                self._on_txs(wire.parse_txs(payload))
            elif kind == wire.VOTE:
                vote = wire.parse_vote(payload)
                self._enqueue(self._on_vote, peer, vote)
            elif kind == wire.PROPOSAL:
                proposal, block = wire.parse_proposal(payload)
                self._enqueue(self._on_proposal, peer, proposal, block)
            elif kind == wire.STATUS:
                self._on_status(peer, wire.parse_status(payload))
            elif kind == wire.GET_BLOCKS:
                self._serve_blocks(peer, *wire.parse_get_blocks(payload))
            elif kind == wire.BLOCKS:
                self._enqueue(self._on_blocks, peer, wire.parse_blocks(payload))
        except wire.WireError as exc:
            log.warning("dropped a malformed message (kind %d) from %s: %s", kind, getattr(peer, "address", "?"), exc)

    def _on_txs(self, raws: tuple[bytes, ...]) -> None:
        """Queue gossiped transactions for admission, in arrival order; a full backlog drops the batch
        (its senders re-offer pending transactions to new peers, and clients re-submit)."""
        if self._gossip_in is None:
            return
        try:
            self._gossip_in.put_nowait(raws)
        except asyncio.QueueFull:
            self.stats["gossip_batches_dropped"] += 1

    async def _admit_gossip(self) -> None:
        """Admit gossiped batches one at a time: signatures verified in the verify pool, off the loop,
        then admission on the loop; the admission listener relays the new ones (batched again).

        A peer's transactions pass every admission rule a client's do (docs/admission.md): a known
        signer (checked before the signature, so a stranger's cost no verification), the expiry
        horizon, the per-account nonce window, the pool's size, check-tx, parked eviction. Only the
        per-client quota is the API's: a peer relays every client of the federation.

        Copies already pending are skipped before any verification: with n validators each
        transaction arrives up to n - 1 times. One that is already committed fails admission on its
        nonce, so it is neither admitted nor relayed.
        """
        assert self._gossip_in is not None
        loop = asyncio.get_running_loop()
        while True:
            raws = await self._gossip_in.get()
            fresh = [raw for raw in raws if sha256(raw) not in self.mempool]
            if not fresh:
                continue
            try:
                prepared = await loop.run_in_executor(None, self.mempool.prepare_batch, fresh, self.verify_pool,
                                                      self.head.height + 1)
            except RuntimeError:  # the pool was shut down: the node is stopping
                return
            self.mempool.admit_prepared(prepared, self.head.height + 1, source=GOSSIP)

    def _buffer_future(self, handler: Callable[..., Awaitable[None]], args: tuple) -> None:
        if len(self.future) < _FUTURE_BUFFER:
            self.future.append((handler, args))

    def _too_far(self, kind: int, payload: Any) -> None:
        """A message for a height beyond the next: dropped, but let its repeats in once we get there."""
        self.net.forget(kind, payload)

    async def _on_proposal(self, peer: Any, proposal: Proposal, block: Block) -> None:
        height = self.head.height + 1
        if proposal.height == height + 1:
            self._buffer_future(self._on_proposal, (peer, proposal, block))
            return
        machine = self.machine
        if proposal.height > height + 1:
            self._too_far(wire.PROPOSAL, (tuple(proposal), block.as_tuple()))
        if proposal.height != height or machine is None:
            return
        if proposal.proposer != machine.proposer(proposal.round) or block.hash() != proposal.block_hash:
            return
        if not proposal.verify(self.chain_id):
            log.warning("dropped a proposal with a bad signature from %s", getattr(peer, "address", "?"))
            return
        self.net.broadcast(wire.PROPOSAL, (tuple(proposal), block.as_tuple()), exclude=peer)
        candidate = await self._validate(block)
        if self.machine is not machine:
            return
        await self._maybe_start(heard=True)
        await self._step(ProposalIn(proposal.round, proposal.block_hash, proposal.pol_round, candidate.valid, proposal.proposer))

    async def _on_vote(self, peer: Any, vote: Vote) -> None:
        height = self.head.height + 1
        if vote.height == height + 1:
            self._buffer_future(self._on_vote, (peer, vote))
            return
        machine = self.machine
        if vote.height > height + 1:
            self._too_far(wire.VOTE, vote.as_tuple())
        if vote.height != height or machine is None or vote.validator not in machine.keeper.validators:
            return
        if not vote.verify(self.chain_id):
            log.warning("dropped a vote with a bad signature from %s", getattr(peer, "address", "?"))
            return
        self.net.broadcast(wire.VOTE, vote.as_tuple(), exclude=peer)
        await self._maybe_start(heard=True)
        await self._step(VoteIn(vote))

    # --- block sync ---------------------------------------------------------------------------------

    def _on_status(self, peer: Any, status: wire.Status) -> None:
        peer.status = status
        if status.head_height > self.head.height:
            self._enqueue(self._sync_check)

    def _best_peer(self) -> tuple[Any, int] | None:
        best = None
        for peer in self.net.peers():
            status = getattr(peer, "status", None)
            if status is not None and status.head_height > self.head.height:
                if best is None or status.head_height > best[1]:
                    best = (peer, status.head_height)
        return best

    async def _sync_check(self) -> None:
        best = self._best_peer()
        was = self.catching_up
        self.catching_up = best is not None and best[1] >= self.head.height + 2
        if was and not self.catching_up:
            log.info("caught up at height %d", self.head.height)
            await self._maybe_start()
        if best is None:
            self._behind_since = None
            return
        now = time.monotonic()
        if best[1] == self.head.height + 1 and self.machine is not None:
            # one block behind: the votes for it are probably on their way; fetch if they do not come
            if self._behind_since is None:
                self._behind_since = now
                self._at(SYNC_LAG_GRACE_S * 1000, self._sync_check)
                return
            if now - self._behind_since < SYNC_LAG_GRACE_S:
                return
        if now - self._sync_sent_at < SYNC_RETRY_S:
            return
        peer, peer_head = best
        count = min(self.cc.sync_batch_blocks, peer_head - self.head.height)
        self._sync_sent_at = now
        peer.send(wire.GET_BLOCKS, (self.head.height + 1, count))

    def _serve_blocks(self, peer: Any, start: int, count: int) -> None:
        raws: list[bytes] = []
        size = 0
        for height in range(start, min(start + count, self.head.height + 1)):
            raw = self.store.raw_block(height)
            if raw is None or (raws and size + len(raw) > wire.MAX_SYNC_BYTES):
                break
            raws.append(raw)
            size += len(raw)
        peer.send(wire.BLOCKS, tuple(raws))

    async def _on_blocks(self, peer: Any, raws: tuple[bytes, ...]) -> None:
        """Blocks with certificates from a peer: check each certificate, re-execute, commit."""
        self._sync_sent_at = 0.0
        self._behind_since = None
        for raw in raws:
            try:
                block, certificate = decode_raw_block(raw)
            except BlockFormatError as exc:
                log.warning("peer %s sent a malformed block: %s", getattr(peer, "address", "?"), exc)
                return
            height = block.header.height
            if height <= self.head.height:
                continue
            if height != self.head.height + 1:
                return
            try:
                verify_certificate(certificate, self.chain_id, self.validators, height, block.hash())
            except CertificateInvalid as exc:
                log.warning("peer %s sent block %d with an invalid certificate: %s", getattr(peer, "address", "?"), height, exc)
                return
            candidate = await self._validate(block)
            if candidate.outcome is None:
                log.error("block %d carries a valid certificate but does not re-execute: more than a third of the "
                          "validators signed an invalid block; not following it", height)
                return
            self.stats["synced_blocks"] += 1
            await self._commit(block, certificate, candidate.outcome)
        await self._sync_check()
