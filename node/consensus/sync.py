"""Block sync: fetching the committed blocks this node is missing, with their certificates.

docs/consensus.md, "Block sync and catching up"; FORMAT.md §18.4. A peer whose
status shows a higher head has blocks this node lacks. Two or more heights
behind, the node is catching up: it fetches at once and starts no height until
it is at most one behind. One height behind, a voting node first waits a short
grace, since the votes that decide that height are probably on their way.

A synced block is followed when its certificate is valid for the validators of
its height and it re-executes on this node's head. The clock bound of valid(v)
does not apply: it is for consensus only (FORMAT.md §12.2), and a certified
block is the federation's decision whatever this node's clock says.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ledger import chain
from ledger.block import (
    Block,
    BlockFormatError,
    Certificate,
    CertificateInvalid,
    decode_raw_block,
    verify_certificate,
)
from ledger.transition import BlockOutcome
from node.consensus import wire
from node.consensus.blocks import BlockMaker
from node.consensus.context import Context

log = logging.getLogger("incoop.consensus")

SYNC_RETRY_S = 5.0  # a request not answered within this may be sent again
SYNC_LAG_GRACE_S = 0.3  # one height behind: wait this long for its votes before fetching

Commit = Callable[[Block, Certificate, BlockOutcome], Awaitable[None]]


class BlockSync:
    def __init__(self, ctx: Context, blocks: BlockMaker, commit: Commit,
                 waits_for_votes: Callable[[], bool], caught_up: Callable[[], Awaitable[None]]):
        """`waits_for_votes`: whether this node votes at the current height (it then waits out the
        grace one height behind); `caught_up` runs when the node is no longer catching up."""
        self.ctx = ctx
        self.blocks = blocks
        self.commit = commit
        self.waits_for_votes = waits_for_votes
        self.caught_up = caught_up
        self.catching_up = False
        self.synced = 0  # blocks committed through sync (incoop_synced_blocks_total)
        self._sent_at = 0.0
        self._behind_since: float | None = None
        self._grace: asyncio.TimerHandle | None = None

    def stop(self) -> None:
        if self._grace is not None:
            self._grace.cancel()

    def on_status(self, peer: Any, status: wire.Status) -> None:
        peer.status = status
        if status.head_height > self.ctx.head.height:
            self.ctx.enqueue(self.check)

    def _best_peer(self) -> tuple[Any, int] | None:
        best = None
        for peer in self.ctx.net.peers():
            status = getattr(peer, "status", None)
            if status is not None and status.head_height > self.ctx.head.height:
                if best is None or status.head_height > best[1]:
                    best = (peer, status.head_height)
        return best

    async def check(self) -> None:
        """Ask the peer with the highest head for the missing blocks, if it is time to."""
        head = self.ctx.head
        best = self._best_peer()
        was = self.catching_up
        self.catching_up = best is not None and best[1] >= head.height + 2
        if was and not self.catching_up:
            log.info("caught up at height %d", head.height)
            await self.caught_up()
            head = self.ctx.head  # starting the height may have decided it already
        if best is None:
            self._behind_since = None
            return
        now = time.monotonic()
        if best[1] == head.height + 1 and self.waits_for_votes():
            # one block behind: the votes for it are probably on their way; fetch if they do not come
            if self._behind_since is None:
                self._behind_since = now
                self._grace = asyncio.get_running_loop().call_later(SYNC_LAG_GRACE_S, self.ctx.enqueue, self.check)
                return
            if now - self._behind_since < SYNC_LAG_GRACE_S:
                return
        if now - self._sent_at < SYNC_RETRY_S:
            return
        peer, peer_head = best
        count = min(self.ctx.config.consensus.sync_batch_blocks, peer_head - head.height)
        self._sent_at = now
        peer.send(wire.GET_BLOCKS, (head.height + 1, count))

    def serve(self, peer: Any, start: int, count: int) -> None:
        """Answer GET_BLOCKS with consecutive raw blocks (at least one, at most MAX_SYNC_BYTES)."""
        store = self.ctx.store
        raws: list[bytes] = []
        size = 0
        for height in range(start, min(start + count, self.ctx.head.height + 1)):
            raw = store.raw_block(height)
            if raw is None or (raws and size + len(raw) > wire.MAX_SYNC_BYTES):
                break
            raws.append(raw)
            size += len(raw)
        peer.send(wire.BLOCKS, tuple(raws))

    async def on_blocks(self, peer: Any, raws: tuple[bytes, ...]) -> None:
        """Blocks with certificates from a peer: check each certificate, re-execute, commit."""
        self._sent_at = 0.0
        self._behind_since = None
        ctx = self.ctx
        for raw in raws:
            try:
                block, certificate = decode_raw_block(raw)
            except BlockFormatError as exc:
                log.warning("peer %s sent a malformed block: %s", getattr(peer, "address", "?"), exc)
                return
            height = block.header.height
            if height <= ctx.head.height:
                continue
            if height != ctx.head.height + 1:
                return
            validators = chain.get_validators(ctx.store.state)  # the set of this height: the state before it
            try:
                verify_certificate(certificate, ctx.chain_id, validators, height, block.hash())
            except CertificateInvalid as exc:
                log.warning("peer %s sent block %d with an invalid certificate: %s",
                            getattr(peer, "address", "?"), height, exc)
                return
            candidate = await self.blocks.validate(block, clock_bound=False)
            if candidate.outcome is None:
                log.error("block %d carries a valid certificate but does not re-execute: more than a third of the "
                          "validators signed an invalid block; not following it", height)
                return
            self.synced += 1
            await self.commit(block, certificate, candidate.outcome)
        await self.check()
