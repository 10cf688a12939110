"""Block production by the single validator: build, self-certify, commit.

With one validator a block is final as soon as its only validator signs the
precommit, so this loop stands where consensus will: it takes candidates from
the mempool, runs `ledger.transition.build_block`, signs a round-0 precommit,
and commits block and certificate in one atomic store batch. The consensus
issue replaces this module; the mempool and store interfaces stay.

Build and commit run in a one-thread executor so that the API stays
responsive. The mempool is only touched on the event loop: candidates are
copied out before the build, and results applied after the commit.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from ledger import chain
from ledger.block import Block, Certificate, sign_precommit
from ledger.crypto import SigningKey
from ledger.errors import Code, TxError
from ledger.store import Store
from ledger.transition import BlockOutcome, ChainHead, build_block
from ledger.tx import Tx
from node.mempool import Mempool

log = logging.getLogger("incoop.producer")

# A block refused for this reason may fit later, once the gap before it is filled.
_KEEP_PENDING = frozenset({Code.NONCE_TOO_FAR})


class Committed(NamedTuple):
    head: ChainHead
    block: Block
    outcome: BlockOutcome
    rejected: list[tuple[Tx, TxError]]
    elapsed_ms: float


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def produce_block(store: Store, key: SigningKey, chain_id: str, head: ChainHead, candidates: list[Tx], verified: frozenset[bytes]) -> Committed:
    """Build the next block on `head` and commit it with a one-signature certificate."""
    started = time.perf_counter()
    time_ms = max(now_ms(), head.time_ms + 1)
    block, outcome, rejected = build_block(
        store.state, store.tree, head, chain_id, key.pubkey, time_ms, candidates, verified
    )
    block_hash = block.hash()
    signature = sign_precommit(key, chain_id, block.header.height, 0, block_hash)
    certificate = Certificate(block.header.height, 0, block_hash, ((key.pubkey, signature),))
    new_head = store.commit_block(block, certificate, outcome)
    return Committed(new_head, block, outcome, rejected, (time.perf_counter() - started) * 1000)


class Producer:
    """The block loop: a block when transactions wait, an empty one every heartbeat."""

    def __init__(self, store: Store, mempool: Mempool, key: SigningKey, chain_id: str, block_interval_ms: int, heartbeat_ms: int):
        self.store = store
        self.mempool = mempool
        self.key = key
        self.chain_id = chain_id
        self.block_interval_s = block_interval_ms / 1000
        self.heartbeat_ms = heartbeat_ms
        self.head = store.head()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="commit")
        self._task: asyncio.Task | None = None
        self._stop = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="producer")

    async def stop(self) -> None:
        """Stop producing; a commit under way finishes (and is applied) before this returns."""
        self._stop.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), self.block_interval_s)
                return
            except TimeoutError:
                pass
            try:
                await self.step()
            except Exception:  # a bug must not silently stop the chain; log it and try again
                log.exception("block production failed")

    async def step(self) -> Committed | None:
        """Produce one block if there is something to commit or the heartbeat is due."""
        params = chain.get_params(self.store.state)
        candidates = list(itertools.islice(self.mempool.candidates(), params.max_block_txs))
        if not candidates and now_ms() - self.head.time_ms < self.heartbeat_ms:
            return None
        verified = frozenset(tx.hash for tx in candidates)
        future = asyncio.get_running_loop().run_in_executor(
            self._executor, produce_block, self.store, self.key, self.chain_id, self.head, candidates, verified
        )
        committed = await future
        self._apply(committed)
        return committed

    def _apply(self, committed: Committed) -> None:
        self.head = committed.head
        self.mempool.remove_committed(committed.outcome.txs)
        for tx, error in committed.rejected:
            if error.code not in _KEEP_PENDING:
                self.mempool.drop(tx, error)
        self.mempool.evict_expired(committed.head.height + 1)
        txs = len(committed.outcome.txs)
        level = logging.INFO if txs else logging.DEBUG
        log.log(level, "committed block %d with %d txs in %.0f ms", committed.head.height, txs, committed.elapsed_ms)
