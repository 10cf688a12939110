"""The blocks of the height being decided: this node's proposal, and valid(v) for everyone's.

docs/consensus.md, "Terms" (valid(v)) and "What the driver adds to the paper" (the
proposer's block, the clock bound). Building and re-executing a block run on the
one consensus thread (`Context.executor`), awaited by the driver's event loop task,
so that they never overlap a commit.

The clock bound is part of valid(v) for a proposal and nothing else: a block that
arrives by block sync carries a certificate of the validators of its height, and
is followed whatever this node's clock says (FORMAT.md §12.2 keeps the bound for
consensus). So `validate` takes the bound as an argument.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass

from ledger import chain
from ledger.address import to_address
from ledger.block import Block, BlockFormatError, block_from_tuple
from ledger.encoding import EncodingError, decode
from ledger.errors import Code, TxError
from ledger.transition import BlockInvalid, BlockOutcome, apply_block, build_block
from ledger.tx import Tx
from node.consensus.context import Context

log = logging.getLogger("incoop.consensus")

# A transaction refused for this reason may fit a later block, once the gap before it is filled.
_KEEP_PENDING = frozenset({Code.NONCE_TOO_FAR})
MIN_BLOCK_TXS = 100  # a block size limit never goes below this; costs are learnt only from blocks this large
_MIN_BUILD_BUDGET_MS = 50
_BUILD_SHARE = 0.6  # of the propose timeout after the block interval; the rest is the proposal's journey
INITIAL_MS_PER_TX = 0.1  # a guess until the first large block: 100 µs per transaction
_COST_SMOOTHING = 0.3  # weight of the newest block in the learnt cost per transaction


@dataclass
class Candidate:
    """A block of this height and what validating (or building) it gave."""

    block: Block
    outcome: BlockOutcome | None  # None: invalid, or not checked yet
    rejected: list[tuple[Tx, TxError]]

    @property
    def valid(self) -> bool:
        return self.outcome is not None


class BlockMaker:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.known: dict[bytes, Candidate] = {}  # by block hash, for this height only
        self.execute_ms = 0.0  # building or validating this height's block, for the commit log line
        self.ms_per_tx = INITIAL_MS_PER_TX  # learnt execution cost, for the block size limit

    def reset(self) -> None:
        """A new height: the blocks of the last one can never be proposed or decided again."""
        self.known = {}
        self.execute_ms = 0.0

    def get(self, block_hash: bytes) -> Candidate | None:
        return self.known.get(block_hash)

    def encoded(self, block_hash: bytes | None) -> bytes | None:
        """The canonical bytes of a known block (the sign-state keeps the locked one)."""
        candidate = self.known.get(block_hash) if block_hash is not None else None
        return candidate.block.encode() if candidate is not None else None

    def restore(self, block_hash: bytes, block_bytes: bytes) -> None:
        """The locked block from the sign-state after a restart: kept, and validated again before use."""
        try:
            block = block_from_tuple(decode(block_bytes, len(block_bytes)))
        except (BlockFormatError, EncodingError):
            log.warning("the locked block in the sign-state does not decode; it will not be re-proposed")
            return
        if block.hash() == block_hash:
            self.known[block_hash] = Candidate(block, None, [])

    # --- building ------------------------------------------------------------------------------

    async def build(self) -> Candidate:
        """getValue() (docs/consensus.md, L18): a new block from the mempool's candidates."""
        ctx = self.ctx
        head = ctx.head
        params = chain.get_params(ctx.store.state)
        validators = len(chain.get_validators(ctx.store.state))
        limit = self.size_limit(params.max_block_txs, validators, params.timeout_propose_ms)
        candidates = list(itertools.islice(ctx.mempool.candidates(), limit))
        verified = frozenset(tx.hash for tx in candidates)
        time_ms = max(ctx.clock(), head.time_ms + 1)
        started = time.perf_counter()
        block, outcome, rejected = await asyncio.get_running_loop().run_in_executor(
            ctx.executor, build_block, ctx.mempool.rules, ctx.store.state, ctx.store.tree, head, ctx.chain_id,
            ctx.key.pubkey, time_ms, candidates, verified,
        )
        self.execute_ms = (time.perf_counter() - started) * 1000
        self.learn(len(candidates), self.execute_ms)
        for tx, error in rejected:
            if error.code not in _KEEP_PENDING:
                ctx.mempool.drop(tx, error)
        candidate = Candidate(block, outcome, rejected)
        self.known[block.hash()] = candidate
        return candidate

    def size_limit(self, max_block_txs: int, validators: int, timeout_propose_ms: int) -> int:
        """As many transactions as this node executes in most of the propose timeout left after the block
        interval: the other validators must receive the proposal before their propose timeout fires, and
        a proposer that builds for longer than that only buys round changes (it starts over with a new
        proposer, who builds a block just as large). The cost per transaction is learnt from this
        node's own recent builds and validations, so a loaded machine proposes smaller blocks. A lone
        validator waits for nobody: its blocks are as large as the chain allows. The limits and the timeout
        are the chain's parameters of the height being built (the state before it)."""
        if validators == 1:
            return max_block_txs
        budget_ms = max(_MIN_BUILD_BUDGET_MS, _BUILD_SHARE * (timeout_propose_ms - self.ctx.config.block_interval_ms))
        return max(MIN_BLOCK_TXS, min(max_block_txs, int(budget_ms / self.ms_per_tx)))

    def learn(self, txs: int, elapsed_ms: float) -> None:
        """Fold one block's execution time into the cost per transaction (blocks of at least 100 only)."""
        if txs >= MIN_BLOCK_TXS:
            self.ms_per_tx += _COST_SMOOTHING * (elapsed_ms / txs - self.ms_per_tx)

    # --- valid(v) ------------------------------------------------------------------------------

    async def validate(self, block: Block, *, clock_bound: bool) -> Candidate:
        """Re-execute `block` on the head (once per block hash); with `clock_bound`, also refuse a block
        whose time is more than `consensus.max_clock_drift_ms` ahead of this node's clock."""
        ctx = self.ctx
        block_hash = block.hash()
        known = self.known.get(block_hash)
        if known is not None and known.outcome is not None:
            return known
        drift = block.header.time_ms - ctx.clock()
        if clock_bound and drift > ctx.config.consensus.max_clock_drift_ms:
            log.warning("block %d from %s is %d ms ahead of this node's clock: invalid here",
                        block.header.height, to_address(block.header.proposer)[:12] + "…", drift)
            candidate = Candidate(block, None, [])
        else:
            try:
                started = time.perf_counter()
                outcome = await asyncio.get_running_loop().run_in_executor(
                    ctx.executor, apply_block, ctx.mempool.rules, ctx.store.state, ctx.store.tree, ctx.head, block,
                    ctx.chain_id, ctx.mempool.verified(), ctx.verify_pool,
                )
                candidate = Candidate(block, outcome, [])
                self.execute_ms = (time.perf_counter() - started) * 1000
                self.learn(len(block.txs), self.execute_ms)
            except BlockInvalid as exc:
                log.warning("invalid block %d: %s", block.header.height, exc)
                candidate = Candidate(block, None, [])
        self.known[block_hash] = candidate
        return candidate
