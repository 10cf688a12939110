"""The texts of the agora's posts, kept by the nodes off chain (FORMAT.md §6.7 "Where the text lives", docs/agora.md).

The chain holds only a post's `text_hash` (SHA-256 of the text's UTF-8
bytes). Each node keeps the texts in its own LevelDB under a node-local
prefix (`a`: not state, not blocks, never hashed into anything), and:

- takes a text from the API (POST /v1/agora/texts) only if its hash is the
  one of a post on the chain that is not erased, or of a post transaction
  still pending in this node's mempool; a pending text waits in memory (not
  on disk) within a bounded budget, and is written when its post commits or
  dropped when its transaction leaves the mempool: a stranger cannot fill
  the budget, since every pending text needs its own admitted transaction
  of an identity eligible in the space;
- walks each committed block once (a cursor in the same prefix): a committed
  post whose text it lacks is asked of its peers (GET_TEXTS / TEXTS,
  FORMAT.md §18.3), bounded per frame; an `agora.erase` deletes the text and
  compacts the key's range twice, as the registrar's vault does
  (identity/vault.py `delete`), so that no table or log file keeps it.

Hidden posts keep their text here; the API withholds it (node/routes/agora.py).
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections import OrderedDict
from typing import Any, NamedTuple

from governance import records as rec
from ledger.block import decode_raw_block
from ledger.crypto import sha256
from ledger.errors import Code, TxError
from ledger.store import Store
from ledger.tx import decode_tx
from node.consensus import wire

log = logging.getLogger(__name__)

P_AGORA = b"a"  # node-local (ledger/store.py lists the chain's prefixes; FORMAT.md §10)
K_TEXT = P_AGORA + b"text/"  # ‖ post_id(16) → the text's UTF-8 bytes
K_CURSOR = P_AGORA + b"cursor"  # the last height whose posts and erasures were applied, u64 big-endian
K_MISSING = P_AGORA + b"miss/"  # ‖ post_id → text_hash: a committed post whose text this node lacks
K_PROPOSALS = P_AGORA + b"sp/"  # ‖ space_id ‖ post_id → b"": the proposals of a space (an index for the API)
K_REPLIES = P_AGORA + b"re/"  # ‖ parent_id ‖ post_id → b"": the direct replies to a post

MAX_TEXT_BYTES = wire.MAX_TEXT_BYTES
"""A post's text, in UTF-8 bytes (docs/agora.md)."""
MAX_PENDING_BYTES = 2 * 1024 * 1024
"""Texts of posts not committed yet, kept in memory only, all together."""
MAX_PENDING_PER_SIGNER = 8
MAX_ASK = wire.MAX_TEXTS_PER_FRAME
"""Post ids in one GET_TEXTS frame (FORMAT.md §18.3): a TEXTS answer stays under 32 × 16 KiB."""
ASK_EVERY_S = 2.0
TICK_S = 0.25
POST_TYPES = ("agora.propose", "agora.comment")


class TextRefused(Exception):
    """A text this node will not keep: status, code, one-line message (the API's 4xx)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Pending(NamedTuple):
    text_hash: bytes
    text: bytes
    tx_hash: bytes
    signer: bytes


_AGORA_TYPE = b"agora."
"""In the canonical bytes of every agora transaction (its type is a plain string, FORMAT.md §2): a block's
other transactions, nearly all of them on a busy chain, are not decoded again just to be skipped."""


def _post_of(tx: Any) -> tuple[bytes, bytes] | None:
    """(post_id, text_hash) of an agora.propose / agora.comment body, else None."""
    body = tx.body
    if tx.type not in POST_TYPES or type(body) is not tuple or len(body) != 3:
        return None
    post_id, _, text_hash = body
    if type(post_id) is not bytes or len(post_id) != rec.ID_LEN or type(text_hash) is not bytes:
        return None
    return post_id, text_hash


class AgoraTexts:
    """The node's texts (stored, pending, missing) and the indexes the API reads (proposals by space,
    replies by parent), all derived from the committed blocks by `catch_up`."""

    def __init__(self, store: Store, mempool: Any):
        self.store = store
        self.mempool = mempool
        self.pending: OrderedDict[bytes, Pending] = OrderedDict()
        self.pending_bytes = 0
        self.peers: Any = None
        self._asked_at = 0.0
        self._ask_after = b""  # missing texts are asked in id order, MAX_ASK at a time, wrapping around
        self.erased = 0
        self.fetched = 0

    # --- reading -------------------------------------------------------------------------------------

    def get(self, post_id: bytes) -> str | None:
        raw = self.store.local_get(K_TEXT + post_id)
        return None if raw is None else raw.decode("utf-8")

    def cursor(self) -> int:
        raw = self.store.local_get(K_CURSOR)
        return 0 if raw is None else struct.unpack(">Q", raw)[0]

    def ids(self, prefix: bytes, after: bytes = b"", limit: int | None = None) -> list[bytes]:
        """The ids under an index prefix (`K_PROPOSALS + space_id`, `K_REPLIES + parent_id`, `K_MISSING`)."""
        found: list[bytes] = []
        start = prefix + after + b"\x00" if after else prefix
        for key in self.store.local_scan(start, prefix + b"\xff" * 17, include_value=False):
            found.append(key[len(prefix):])
            if limit is not None and len(found) >= limit:
                break
        return found

    def range(self, start: bytes, end: bytes):
        """A RangeReader over the node-local keys (node/routes/pages.py pages it)."""
        yield from self.store.local_scan(P_AGORA + start, P_AGORA + end)

    # --- taking a text from a client ------------------------------------------------------------------

    def offer(self, post_id: bytes, text: str, raw_tx: bytes | None) -> str:
        """Keep `text` for `post_id`: "stored" (the post is on chain) or "pending"; TextRefused otherwise.
        The checks in order: the post (on chain, or its transaction pending here), the size, the hash."""
        self.catch_up()
        data = text.encode("utf-8")
        post = rec.get_post(self.store.state, post_id)
        if post is not None:
            if post.status == rec.ERASED:
                raise TextRefused(410, "POST_ERASED", "the post was erased by its author: its text is kept nowhere")
            expected = post.text_hash
        else:
            tx = self._pending_tx(post_id, raw_tx)
            expected = _post_of(tx)[1]  # type: ignore[index]
        if len(data) > MAX_TEXT_BYTES:
            raise TextRefused(413, "TEXT_TOO_LARGE", f"a text is at most {MAX_TEXT_BYTES} bytes, not {len(data)}")
        digest = sha256(data)
        if digest != expected:
            raise TextRefused(422, "HASH_MISMATCH", "the text's SHA-256 is not the post's text_hash")
        if post is None:
            return self._hold(post_id, Pending(digest, data, tx.hash, tx.signer))
        batch = self.store.db.write_batch(sync=True)
        batch.put(K_TEXT + post_id, data)
        batch.delete(K_MISSING + post_id)
        batch.write()
        return "stored"

    def _pending_tx(self, post_id: bytes, raw_tx: bytes | None) -> Any:
        """The post's transaction, given as `tx`, if it is pending in this node's mempool; else 404."""
        if raw_tx is None:
            raise TextRefused(404, "NOT_FOUND", f"no post {post_id.hex()} on the chain; send its pending "
                                                "transaction as `tx` with the text")
        try:
            tx = decode_tx(raw_tx)
        except TxError as exc:
            raise TextRefused(404, "NOT_FOUND", f"no pending transaction of post {post_id.hex()}: `tx` is none "
                                                f"({exc.message})") from None
        post = _post_of(tx)
        if post is None or post[0] != post_id:
            raise TextRefused(404, "NOT_FOUND", f"no pending transaction of post {post_id.hex()}: `tx` is not its "
                                                "agora.propose or agora.comment")
        if tx.hash not in self.mempool:
            raise TextRefused(404, "NOT_FOUND", "the transaction is not pending in this node's mempool (submit it "
                                                "first; once committed, send the text alone)")
        return tx

    def _hold(self, post_id: bytes, entry: Pending) -> str:
        if post_id in self.pending:
            return "pending"
        if sum(1 for p in self.pending.values() if p.signer == entry.signer) >= MAX_PENDING_PER_SIGNER:
            raise TextRefused(429, "TEXT_QUOTA", f"this key has {MAX_PENDING_PER_SIGNER} texts waiting for their "
                                                 "posts to commit: try again after the next block")
        if self.pending_bytes + len(entry.text) > MAX_PENDING_BYTES:
            raise TextRefused(503, "TEXTS_FULL", "the node holds its most texts of posts not committed yet: "
                                                 "try again after the next block")
        self.pending[post_id] = entry
        self.pending_bytes += len(entry.text)
        return "pending"

    def _drop_pending(self, post_id: bytes) -> Pending | None:
        entry = self.pending.pop(post_id, None)
        if entry is not None:
            self.pending_bytes -= len(entry.text)
        return entry

    # --- following the chain --------------------------------------------------------------------------

    def catch_up(self, most: int = 1000) -> None:
        """Apply the committed blocks after the cursor (at most `most` of them), each in one batch with the
        cursor: a post indexed and its pending text written (or marked missing), an erasure applied."""
        head = self.store.head().height
        at = self.cursor()
        while at < head and most > 0:
            at, most = at + 1, most - 1
            raw = self.store.raw_block(at)
            if raw is None:
                break
            block, _ = decode_raw_block(raw)
            erased: list[bytes] = []
            batch = self.store.db.write_batch(sync=True)
            for raw_tx, result in zip(block.txs, block.results, strict=False):
                if result == Code.OK and _AGORA_TYPE in raw_tx:  # a filter only: decoding tells the type
                    self._apply(batch, decode_tx(raw_tx), erased)
            batch.put(K_CURSOR, struct.pack(">Q", at))
            batch.write()
            for post_id in erased:
                self.erase(post_id)
        # a pending text whose transaction left the mempool without committing goes
        for post_id in [p for p, entry in self.pending.items() if entry.tx_hash not in self.mempool]:
            if self.store.tx_location(self.pending[post_id].tx_hash) is None:
                self._drop_pending(post_id)

    def _apply(self, batch: Any, tx: Any, erased: list[bytes]) -> None:
        post = _post_of(tx)
        if post is not None:
            post_id, text_hash = post
            kept = rec.get_post(self.store.state, post_id)
            if kept is not None and kept.kind == rec.COMMENT and kept.parent is not None:
                batch.put(K_REPLIES + kept.parent + post_id, b"")
            elif kept is not None:
                batch.put(K_PROPOSALS + kept.space_id + post_id, b"")
            entry = self._drop_pending(post_id)
            if self.store.local_get(K_TEXT + post_id) is not None:
                return
            if entry is not None and entry.text_hash == text_hash:
                batch.put(K_TEXT + post_id, entry.text)
            else:
                batch.put(K_MISSING + post_id, text_hash)
        elif tx.type == "agora.erase" and type(tx.body) is tuple and len(tx.body) == 1:
            erased.append(tx.body[0])

    def erase(self, post_id: bytes) -> None:
        """Delete a post's text so that no file of the store holds it: the two compactions around the
        deletion are identity/vault.py `delete`'s (the record out of the memtable and the write-ahead log
        into a table first; then the marker and the record merged and both dropped)."""
        self._drop_pending(post_id)
        self.store.db.delete(K_MISSING + post_id, sync=True)
        key = K_TEXT + post_id
        if self.store.local_get(key) is None:
            return
        self.store.db.compact_range(start=key, stop=key)
        self.store.db.delete(key, sync=True)
        self.store.db.compact_range(start=key, stop=key)
        self.erased += 1

    # --- peers (FORMAT.md §18.3) --------------------------------------------------------------------

    def ask(self) -> None:
        """Ask every peer for up to MAX_ASK missing texts, every ASK_EVERY_S, going round the missing ones."""
        if self.peers is None or time.monotonic() - self._asked_at < ASK_EVERY_S:
            return
        wanted = self.ids(K_MISSING, self._ask_after, MAX_ASK) or self.ids(K_MISSING, b"", MAX_ASK)
        if wanted:
            self.peers.broadcast(wire.GET_TEXTS, tuple(wanted))
            self._ask_after = wanted[-1]
            self._asked_at = time.monotonic()

    def answer(self, wanted: tuple[bytes, ...]) -> tuple[tuple[bytes, bytes], ...]:
        """The texts this node holds of the posts asked for (at most MAX_ASK; erased ones are never held)."""
        found = []
        for post_id in wanted[:MAX_ASK]:
            raw = self.store.local_get(K_TEXT + post_id)
            post = None if raw is None else rec.get_post(self.store.state, post_id)
            if post is not None and post.status != rec.ERASED:  # (an erasure not applied yet: a restored backup)
                found.append((post_id, raw))
        return tuple(found)

    def receive(self, texts: tuple[tuple[bytes, bytes], ...]) -> None:
        """Texts from a peer: kept only for a missing post whose chain record has this hash and is not erased."""
        for post_id, data in texts:
            text_hash = self.store.local_get(K_MISSING + post_id)
            if text_hash is None or sha256(data) != text_hash:
                continue
            post = rec.get_post(self.store.state, post_id)
            if post is None or post.status == rec.ERASED:
                continue  # its erasure is applied by catch_up, which drops the mark
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            batch = self.store.db.write_batch(sync=True)
            batch.put(K_TEXT + post_id, data)
            batch.delete(K_MISSING + post_id)
            batch.write()
            self.fetched += 1

    async def run(self) -> None:
        """Follow the chain every TICK_S on the event loop (the API's offers and the peers' texts are taken
        on it too, so a text is never written after its erasure was applied)."""
        while True:
            try:
                self.catch_up()
                self.ask()
            except Exception:  # a bug here must not stop the node; log it and go on
                log.exception("agora texts: catching up failed")
            await asyncio.sleep(TICK_S)
