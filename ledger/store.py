"""The node's LevelDB store: blocks, certificates, state, indexes, all of a block in one batch.

Key layout (one-byte prefixes; FORMAT.md, "Store layout", for readers of a
data directory):

    b + height(8)                 raw block, canonical [block, certificate]
    h + block hash                height(8)
    t + tx hash                   canonical [height, index]
    x + account(32) + height(8) + index(4)   tx hash  (per-account history)
    s + state key                 state value
    n + tree position             state tree node
    m + "head"                    canonical [height, block hash, state root, time_ms]
    m + "genesis"                 canonical [genesis hash, genesis state root, genesis time_ms]

`commit_block` writes all of it with one `write_batch(sync=True)`: a SIGKILL
leaves either the whole block or none of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import plyvel

from ledger.block import Block, Certificate, encode_raw_block
from ledger.encoding import decode, encode
from ledger.merkle import StateTree
from ledger.transition import BlockOutcome, ChainHead

P_BLOCK = b"b"
P_HASH = b"h"
P_TX = b"t"
P_HISTORY = b"x"
P_STATE = b"s"
P_TREE = b"n"
P_META = b"m"
K_HEAD = P_META + b"head"
K_GENESIS = P_META + b"genesis"


def _h8(height: int) -> bytes:
    return height.to_bytes(8, "big")


class StoreError(RuntimeError):
    pass


LEVELDB_BLOCK_CACHE = 64 * 1024 * 1024
"""LevelDB's own cache of uncompressed blocks (its default is 8 MB): tree paths of a large state stay in memory.
The bloom filter spares a disk read for an absent key (an empty tree position, a new account)."""
_MISSING = object()
READ_CACHE_ENTRIES = 250_000
"""Bound on the read cache (about 50 MB at this size); it is emptied whole when full."""


class _ReadCache:
    """The latest committed value of recently read or written keys (state and tree positions).

    Why: plyvel releases the GIL inside every `get`, and taking it back waits
    for whichever thread holds it, up to the interpreter's switch interval.
    With signature threads and the event loop busy, a block's thousands of
    reads cost milliseconds each. Cached reads never leave Python.

    Consistency: a value is cached only if no commit began between the read
    and the insertion (a generation counter checked under the lock), and the
    committing thread writes its new values into the cache after its batch,
    so the cache never holds a value older than LevelDB's.
    """

    __slots__ = ("_db_get", "_values", "_lock", "_generation", "_limit")

    def __init__(self, db: plyvel.DB):
        self._db_get = db.get
        self._values: dict[bytes, bytes | None] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._limit = READ_CACHE_ENTRIES

    def get(self, key: bytes) -> bytes | None:
        value = self._values.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[return-value]
        generation = self._generation
        value = self._db_get(key)
        with self._lock:
            if generation == self._generation:
                if len(self._values) >= self._limit:
                    self._values.clear()
                self._values[key] = value
        return value

    def begin_commit(self) -> None:
        with self._lock:
            self._generation += 1

    def end_commit(self, written: dict[bytes, bytes | None]) -> None:
        with self._lock:
            if len(self._values) + len(written) > self._limit:
                self._values.clear()
            self._values.update(written)
            self._generation += 1


class _PrefixedReader:
    __slots__ = ("_get", "_prefix")

    def __init__(self, get: Callable[[bytes], bytes | None], prefix: bytes):
        self._get = get
        self._prefix = prefix

    def get(self, key: bytes) -> bytes | None:
        return self._get(self._prefix + key)


class Store:
    def __init__(self, path: str | Path, create: bool = True, sync: bool = True):
        """`sync=False` is for scratch stores (the auditor's replay), where a crash loses nothing of value."""
        self._sync = sync
        if create:
            Path(path).mkdir(parents=True, exist_ok=True)
        try:
            self.db = plyvel.DB(str(path), create_if_missing=create, lru_cache_size=LEVELDB_BLOCK_CACHE,
                                bloom_filter_bits=10)
        except plyvel.Error as exc:  # IOError (locked, unreadable) and "does not exist"
            raise StoreError(f"cannot open the store at {path}: {exc}") from exc
        self._cache = _ReadCache(self.db)
        self.state = _PrefixedReader(self._cache.get, P_STATE)
        self.tree = StateTree(_PrefixedReader(self._cache.get, P_TREE).get)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- genesis and head -----------------------------------------------------

    def is_initialised(self) -> bool:
        return self.db.get(K_GENESIS) is not None

    def init_genesis(self, genesis_hash: bytes, state: dict[bytes, bytes], time_ms: int) -> ChainHead:
        if self.is_initialised():
            raise StoreError("the store already holds a chain")
        root, tree_writes = StateTree(lambda k: None).update(sorted(state.items()))
        written = {P_STATE + key: value for key, value in state.items()}
        written.update((P_TREE + key, value) for key, value in tree_writes.items() if value is not None)
        self._cache.begin_commit()
        with self.db.write_batch(transaction=True, sync=self._sync) as batch:
            for key, value in written.items():
                batch.put(key, value)
            batch.put(K_GENESIS, encode((genesis_hash, root, time_ms)))
            batch.put(K_HEAD, encode((0, genesis_hash, root, time_ms)))
        self._cache.end_commit(written)
        return ChainHead(0, genesis_hash, root, time_ms)

    def genesis(self) -> tuple[bytes, bytes, int]:
        raw = self.db.get(K_GENESIS)
        if raw is None:
            raise StoreError("the store holds no chain")
        return decode(raw)

    def head(self) -> ChainHead:
        raw = self.db.get(K_HEAD)
        if raw is None:
            raise StoreError("the store holds no chain")
        return ChainHead(*decode(raw))

    # --- commit ---------------------------------------------------------------

    def commit_block(self, block: Block, certificate: Certificate, outcome: BlockOutcome) -> ChainHead:
        """Write the block, its certificate, its state changes and indexes in one atomic batch."""
        header = block.header
        height = header.height
        block_hash = header.hash()
        h8 = _h8(height)
        written: dict[bytes, bytes | None] = {}
        for key, value in outcome.state_changes.items():
            written[P_STATE + key] = value
        for key, value in outcome.tree_writes.items():
            written[P_TREE + key] = value
        self._cache.begin_commit()
        with self.db.write_batch(transaction=True, sync=self._sync) as batch:
            batch.put(P_BLOCK + h8, encode_raw_block(block, certificate))
            batch.put(P_HASH + block_hash, h8)
            for index, tx in enumerate(outcome.txs):
                batch.put(P_TX + tx.hash, encode((height, index)))
                suffix = h8 + index.to_bytes(4, "big")
                for account in sorted({tx.signer, *outcome.parties[index]}):
                    batch.put(P_HISTORY + account + suffix, tx.hash)
            for key, value in written.items():
                if value is None:
                    batch.delete(key)
                else:
                    batch.put(key, value)
            head = ChainHead(height, block_hash, header.state_root, header.time_ms)
            batch.put(K_HEAD, encode(tuple(head)))
        self._cache.end_commit(written)
        return head

    # --- reads ------------------------------------------------------------------

    def raw_block(self, height: int) -> bytes | None:
        return self.db.get(P_BLOCK + _h8(height))

    def height_of(self, block_hash: bytes) -> int | None:
        raw = self.db.get(P_HASH + block_hash)
        return None if raw is None else int.from_bytes(raw, "big")

    def tx_location(self, tx_hash: bytes) -> tuple[int, int] | None:
        raw = self.db.get(P_TX + tx_hash)
        return None if raw is None else tuple(decode(raw))

    def history(self, account: bytes, before: tuple[int, int] | None = None, limit: int = 50) -> list[tuple[int, int, bytes]]:
        """Newest first: (height, index, tx hash) of the account's transactions before a cursor."""
        prefix = P_HISTORY + account
        stop = prefix + (_h8(before[0]) + before[1].to_bytes(4, "big") if before else b"\xff" * 12)
        out = []
        with self.db.iterator(start=prefix, stop=stop, reverse=True) as it:
            for key, tx_hash in it:
                suffix = key[len(prefix):]
                out.append((int.from_bytes(suffix[:8], "big"), int.from_bytes(suffix[8:], "big"), tx_hash))
                if len(out) >= limit:
                    break
        return out

    def state_items(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """State entries under a key prefix, in key order (for listings, never for the transition)."""
        full = P_STATE + prefix
        for key, value in self.db.iterator(prefix=full):
            yield key[len(P_STATE):], value
