"""The consensus driver: the I/O around the pure machine, as one event loop over parts with one job each.

It owns everything the machine must not touch: peers, timers, the sign-state
file, the store and the mempool. One asyncio task (`_run`) handles every
consensus input in arrival order, so the machine, the blocks of the height and
the head are only ever changed from one place; CPU-heavy work (building,
validating, committing a block) runs in a one-thread executor and is awaited by
that task, which keeps the order.

The parts (docs/consensus.md, "Where it lives"):

- height.py   `Heights`: the height being decided — whether this node votes at
  it, its machine, when it starts, carrying out the machine's actions, the
  proposals and votes from peers; the next height's messages (inbox.py).
- blocks.py   `BlockMaker`: building this node's proposal, and valid(v).
- signer.py   `Signer`: the never-sign-twice gate, signing, sending (and again to a peer that connects),
  and where a restarted validator resumes.
- sync.py     `BlockSync`: fetching and following certified blocks.
- txgossip.py `TxGossip`: admitting and relaying transactions in batches.
- gossip.py   `Gossip`: what each peer is known to have; which proposals and votes go to whom, when to ask.
- status.py   the status message and the metrics.
- faults.py   test-only misbehaviour; never part of a real node's driver.

The driver wires them together, dispatches the peers' messages, runs the status
tick and commits decided or synced blocks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, ClassVar

from ledger.block import Block, Certificate
from ledger.crypto import SigningKey
from ledger.store import Store
from ledger.transition import BlockOutcome, ChainHead
from node.config import NodeConfig
from node.consensus import wire
from node.consensus.blocks import BlockMaker, Candidate
from node.consensus.context import Broadcaster, Context, now_ms
from node.consensus.height import Heights
from node.consensus.signer import OWN_RESEND, Signer
from node.consensus.status import Metrics
from node.consensus.sync import SYNC_LAG_GRACE_S, SYNC_RETRY_S, BlockSync
from node.consensus.txgossip import TxGossip
from node.mempool import Mempool
from node.metrics import Histogram, TxRate
from node.txworkers import TxWorkers

# node/bench/sim.py mirrors the driver's timings; they are defined by the parts and named here too
__all__ = ["OWN_RESEND", "SYNC_LAG_GRACE_S", "SYNC_RETRY_S", "Broadcaster", "Candidate", "Driver", "now_ms"]

log = logging.getLogger("incoop.consensus")


class Driver:
    # the class that builds and validates blocks; a test may put a subclass here to play a chain rule
    block_maker: ClassVar[type[BlockMaker]] = BlockMaker

    def __init__(
        self,
        store: Store,
        mempool: Mempool,
        key: SigningKey,
        chain_id: str,
        config: NodeConfig,
        signer: Signer | None,
        verify_pool: Executor | None = None,
        *,
        clock: Callable[[], int] = now_ms,
        tx_workers: TxWorkers | None = None,
    ):
        """`signer`: None for a node that never votes (an observer); with one, the node votes at every height
        whose validator set holds `signer.pubkey`. `verify_pool` verifies gossiped transactions' signatures
        off the event loop (the API's pool), or `tx_workers` in worker processes. `clock` stamps and bounds block times (faults.py skews it)."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="consensus")
        self.ctx = Context(store, mempool, key, chain_id, config, self._executor, verify_pool, tx_workers, clock)
        self.signer = signer
        self.metrics = Metrics()
        self.blocks = self.block_maker(self.ctx)
        self.sync = BlockSync(self.ctx, self.blocks, self._commit, waits_for_votes=lambda: self.heights.machine is not None,
                              caught_up=lambda: self.heights.maybe_start())
        self.heights = Heights(self.ctx, self.blocks, signer, self.metrics, self._commit,
                               catching_up=lambda: self.sync.catching_up)
        self.gossip = TxGossip(self.ctx, on_admitted=self._work_arrived)
        self._queue: asyncio.Queue | None = None
        self._tasks: list[asyncio.Task] = []
        self.texts: Any = None  # node/agora_texts.py: answers GET_TEXTS and takes TEXTS, once the node sets it

    # --- what the node reads -------------------------------------------------------------------

    @property
    def head(self) -> ChainHead:
        return self.ctx.head

    @property
    def catching_up(self) -> bool:
        return self.sync.catching_up

    def status(self) -> dict[str, Any]:
        """The `consensus` object of GET /v1/status."""
        return self.heights.describe()

    @property
    def stats(self) -> dict[str, Any]:
        """The counters /metrics reports (docs/operations.md)."""
        m = self.metrics
        return {"commits": m.commits, "txs_committed": m.txs_committed, "rounds_last_height": m.rounds_last_height,
                "commit_latency_ms": m.commit_latency_ms, "synced_blocks": self.sync.synced,
                "refused_signatures": self.signer.refused if self.signer is not None else 0,
                "timeouts": m.timeouts, "gossip_batches_dropped": self.gossip.dropped,
                **{f"consensus_gossip_{k}": v for k, v in self.heights.gossip.stats.items()}}

    @property
    def tx_rate(self) -> TxRate:
        return self.metrics.tx_rate

    @property
    def commit_latency(self) -> Histogram:
        return self.metrics.commit_latency

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self, net: Broadcaster) -> None:
        self.ctx.net = net
        if self.signer is not None:
            self.signer.net = net
        self._queue = asyncio.Queue()
        self.ctx.enqueue = self._enqueue
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._run(), name="consensus"),
            loop.create_task(self._tick(), name="consensus-tick"),
            self.gossip.start(),
        ]
        self._enqueue(self.heights.enter)

    async def stop(self) -> None:
        """Stop taking inputs; a commit under way finishes before this returns.

        Transactions admitted but not yet gossiped go out first (TxGossip.stop).
        """
        self.gossip.stop()
        self.heights.cancel_timers()
        self.sync.stop()
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
        interval = self.ctx.config.consensus.status_interval_ms / 1000
        while True:
            await asyncio.sleep(interval)
            self._enqueue(self._on_tick)

    async def _on_tick(self) -> None:
        """Every status interval: the status to every peer; if this node has not moved since the last interval,
        a request to every validator peer for what it lacks (gossip.py); a sync check; a start if the
        heartbeat is due."""
        self.heights.publish_status(force=True)
        self.heights.gossip_tick()
        await self.sync.check()
        await self.heights.maybe_start()

    def _work_arrived(self) -> None:
        """A transaction was admitted: a height waiting for something to do may start."""
        if self.heights.waiting_to_start():
            self._enqueue(self.heights.maybe_start)

    # --- committing ----------------------------------------------------------------------------

    async def _commit(self, block: Block, certificate: Certificate, outcome: BlockOutcome) -> None:
        """Commit a decided or synced block with its certificate (one atomic batch), then the next height."""
        ctx = self.ctx
        started = time.perf_counter()
        head = await asyncio.get_running_loop().run_in_executor(
            ctx.executor, ctx.store.commit_block, block, certificate, outcome
        )
        ctx.head = head
        ctx.mempool.remove_committed(outcome.txs, outcome.parties)
        ctx.mempool.evict_stale(head.height + 1)
        self.metrics.committed(head, certificate.round, len(outcome.txs), time.monotonic() - self.heights.started_at,
                               self.blocks.execute_ms, (time.perf_counter() - started) * 1000)
        await self.heights.enter()

    # --- messages from peers -------------------------------------------------------------------

    async def on_message(self, peer: Any, kind: int, payload: Any) -> None:
        """Called by the peer layer for every frame, in order per peer; never raises on bad input."""
        try:
            if kind == wire.TXS:
                self.gossip.on_txs(wire.parse_txs(payload))
            elif kind == wire.VOTE:
                self._enqueue(self.heights.on_vote, peer, wire.parse_vote(payload))
            elif kind == wire.PROPOSAL:
                self._enqueue(self.heights.on_proposal, peer, *wire.parse_proposal(payload))
            elif kind == wire.STATUS:
                status = wire.parse_status(payload)
                self.sync.on_status(peer, status)
                self.heights.on_status(peer, status)
            elif kind == wire.HAS:
                self._enqueue(self.heights.on_has, peer, wire.parse_has(payload))
            elif kind == wire.GET_BLOCKS:
                self.sync.serve(peer, *wire.parse_get_blocks(payload))
            elif kind == wire.BLOCKS:
                self._enqueue(self.sync.on_blocks, peer, wire.parse_blocks(payload))
            elif kind == wire.GET_TEXTS and self.texts is not None:
                found = self.texts.answer(wire.parse_get_texts(payload))
                if found:
                    peer.send(wire.TEXTS, found)
            elif kind == wire.TEXTS and self.texts is not None:
                self.texts.receive(wire.parse_texts(payload))
        except wire.WireError as exc:
            log.warning("dropped a malformed message (kind %d) from %s: %s", kind, getattr(peer, "address", "?"), exc)

    def on_connect(self, peer: Any) -> None:
        """A new peer gets our status, our messages of this height, and the pending transactions; nothing is
        known yet of what it has."""
        self.heights.connected(peer)
        peer.send(wire.STATUS, self.heights.position())
        if self.signer is not None:
            self.signer.resend(peer)
        self.gossip.offer(peer)
