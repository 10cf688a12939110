"""Transaction gossip: admitting the peers' transactions and relaying this node's new ones, in batches.

docs/consensus.md, "Gossip and relaying", and docs/admission.md. A transaction
admitted to the mempool (from a client or a peer) is relayed to every peer in a
batch of up to 1000, flushed every 10 ms: at hundreds of transactions a second,
a frame per transaction per peer costs more than everything else. Batches from
peers wait in a bounded queue and are admitted one at a time, their signatures
verified off the event loop.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from ledger.crypto import sha256
from ledger.tx import Tx
from node.consensus import wire
from node.consensus.context import Context
from node.mempool import GOSSIP

GOSSIP_BACKLOG = 256  # batches of gossiped transactions waiting for admission
RESEND_PENDING_TXS = 2000  # pending transactions offered to a peer that connects
TX_FLUSH_S = 0.01


class TxGossip:
    def __init__(self, ctx: Context, on_admitted: Callable[[], None] = lambda: None):
        """`on_admitted` is called after each admission (a height waiting for work may start)."""
        self.ctx = ctx
        self.on_admitted = on_admitted
        self.dropped = 0  # gossiped batches dropped because admission was behind
        self._outbox: list[bytes] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._incoming: asyncio.Queue[tuple[bytes, ...]] | None = None

    def start(self) -> asyncio.Task:
        """Listen to the mempool and start admitting gossiped batches; returns the admission task."""
        self._incoming = asyncio.Queue(GOSSIP_BACKLOG)
        self.ctx.mempool.on_admit.append(self._admitted)
        return asyncio.get_running_loop().create_task(self._admit_loop(), name="gossip-admission")

    def stop(self) -> None:
        """Stop listening, and send what was admitted but not yet relayed: the peer layer sends what is
        queued before it closes, so a clean stop does not strand a transaction a client was told is
        pending."""
        if self._admitted in self.ctx.mempool.on_admit:
            self.ctx.mempool.on_admit.remove(self._admitted)
        self.flush()
        if self._flush_handle is not None:
            self._flush_handle.cancel()

    # --- out -----------------------------------------------------------------------------------

    def _admitted(self, tx: Tx) -> None:
        self._outbox.append(tx.raw)
        if len(self._outbox) >= wire.MAX_TXS_PER_FRAME:
            self.flush()
        elif len(self._outbox) == 1:
            self._flush_handle = asyncio.get_running_loop().call_later(TX_FLUSH_S, self.flush)
        self.on_admitted()

    def flush(self) -> None:
        if self._outbox:
            batch, self._outbox = tuple(self._outbox), []
            self.ctx.net.broadcast(wire.TXS, batch)

    def offer(self, peer: Any) -> None:
        """A new peer gets the pending transactions: after a partition heals, a transaction admitted on
        the other side must still reach everyone."""
        pending = [tx.raw for tx in itertools.islice(self.ctx.mempool.candidates(), RESEND_PENDING_TXS)]
        for start in range(0, len(pending), wire.MAX_TXS_PER_FRAME):
            peer.send(wire.TXS, tuple(pending[start:start + wire.MAX_TXS_PER_FRAME]))

    # --- in ------------------------------------------------------------------------------------

    def on_txs(self, raws: tuple[bytes, ...]) -> None:
        """Queue a gossiped batch for admission, in arrival order; a full backlog drops it (its senders
        re-offer pending transactions to new peers, and clients re-submit)."""
        if self._incoming is None:
            return
        try:
            self._incoming.put_nowait(raws)
        except asyncio.QueueFull:
            self.dropped += 1

    async def _admit_loop(self) -> None:
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
        assert self._incoming is not None
        ctx = self.ctx
        loop = asyncio.get_running_loop()
        while True:
            raws = await self._incoming.get()
            fresh = [raw for raw in raws if sha256(raw) not in ctx.mempool]
            if not fresh:
                continue
            try:
                prepared = await loop.run_in_executor(None, ctx.mempool.prepare_batch, fresh, ctx.verify_pool,
                                                      ctx.next_height, ctx.tx_workers)
            except RuntimeError:  # the pool was shut down: the node is stopping
                return
            ctx.mempool.admit_prepared(prepared, ctx.next_height, source=GOSSIP)
