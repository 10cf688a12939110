"""The node's LevelDB store: blocks, certificates, state, indexes, all of a block in one batch.

Key layout (one-byte prefixes; FORMAT.md, "Store layout", for readers of a
data directory):

    b + height(8)                 raw block, canonical [block, certificate]
    h + block hash                height(8)
    t + tx hash                   canonical [height, index]
    x + account(32) + height(8) + index(4)   per-account history: a transaction's hash, or past the
                                             block's transactions an end-of-block effect's movements
    s + state key                 state value
    n + tree position             state tree node: a leaf's 0x00 kh vh, an inner node's 0x01 left right
    m + "head"                    canonical [height, block hash, state root, time_ms]
    m + "genesis"                 canonical [genesis hash, genesis state root, genesis time_ms]

`commit_block` writes all of it with one `write_batch(sync=True)`: a SIGKILL
leaves either the whole block or none of it.

Damage (docs/operations.md, "A damaged store"): every read verifies LevelDB's
block checksums and the store is opened with `paranoid_checks`, so a flipped
bit on disk is an error, never a silently different value (an unverified read
of a snappy-compressed block can decode damaged bytes without complaint). Any
LevelDB error while reading or writing becomes a `StoreFailure` naming what
was being read, and is reported once to `on_failure`: the node stops on it
rather than serve a state it could only half read.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat
from pathlib import Path
from typing import Any

import plyvel

from ledger.block import Block, BlockFormatError, Certificate, decode_raw_block, encode_raw_block
from ledger.chain import KEY_VALIDATORS
from ledger.credit_ops import Movement
from ledger.encoding import EncodingError, decode, encode
from ledger.merkle import StateTree, node_key
from ledger.transition import BlockOutcome, ChainHead
from ledger.tree_layout import TreeLayoutError, old_root, outdated, upgrade
from ledger.tree_top import TOP_DEPTH, TreeTop

P_BLOCK = b"b"
P_HASH = b"h"
P_TX = b"t"
P_HISTORY = b"x"
P_STATE = b"s"
P_TREE = b"n"
P_META = b"m"
P_VSET = b"v"  # BE8(height): the validator set block `height` wrote, with its proof (FORMAT.md §15, §21)
K_HEAD = P_META + b"head"
K_GENESIS = P_META + b"genesis"


def _h8(height: int) -> bytes:
    return height.to_bytes(8, "big")


def history_entries(height: int, outcome: BlockOutcome) -> list[tuple[bytes, bytes]]:
    """The per-account history index records of a block (FORMAT.md §15), keys ascending per entry.

    A transaction at index i gives `x ‖ account ‖ BE8(height) ‖ BE4(i)` = its hash to its signer
    and to each account its type names (`TxType.parties`). The block's end-of-block effect j, at
    index `len(txs) + j`, gives every account its credit movements debit or credit (a release: the
    payee; a refund: the payer) the movements that name it, so that a provider paid by a deadline
    finds the payment in its history although nobody signed anything. A failed effect moved nothing
    and has no entry.
    """
    h8 = _h8(height)
    out: list[tuple[bytes, bytes]] = []
    for index, tx in enumerate(outcome.txs):
        suffix = h8 + index.to_bytes(4, "big")
        out.extend((P_HISTORY + account + suffix, tx.hash) for account in sorted({tx.signer, *outcome.parties[index]}))
    first = len(outcome.txs)
    effect_moves = outcome.moves[first:]
    if len(effect_moves) != len(outcome.effects):
        raise ValueError("the outcome's movements are not one entry per transaction and per effect")
    for j, moves in enumerate(effect_moves):
        suffix = h8 + (first + j).to_bytes(4, "big")
        for account in sorted({a for m in moves for a in (m.sender, m.receiver) if a is not None}):
            out.append((P_HISTORY + account + suffix, encode_effect_entry(
                [m for m in moves if account in (m.sender, m.receiver)])))
    return out


def encode_effect_entry(moves: list[Movement]) -> bytes:
    """canonical([[kind, class_id, sender | nil, receiver | nil, amount, reference, lot | nil], …])."""
    return encode(tuple(tuple(m) for m in moves))


def decode_effect_entry(value: bytes) -> list[Movement]:
    """The movements of an end-of-block effect's history entry (what `encode_effect_entry` wrote)."""
    return [Movement(*fields) for fields in decode(value)]


class StoreError(RuntimeError):
    pass


class StoreFailure(StoreError):
    """LevelDB failed under a working store: damaged bytes, a disk that cannot be read or written.

    `reading` says what was being read or written ("block 812", "state entry
    bal/8a88…"); `leveldb` is LevelDB's own words, or None when the store's
    records themselves disagree (a head that names a block the store does not
    hold). Nothing read from the store afterwards can be trusted.
    """

    def __init__(self, path: str | Path, reading: str, leveldb: str | None = None, detail: str | None = None):
        self.path = str(path)
        self.reading = reading
        self.leveldb = leveldb
        self.detail = detail or f"LevelDB says {leveldb!r}"
        super().__init__(self._describe())

    def _describe(self) -> str:
        return f"the store at {self.path} is damaged: {self.detail} ({self.reading})"


class StoreWriteFailed(StoreFailure):
    """A write was refused (a full or failing disk, or damage LevelDB found while compacting)."""

    def _describe(self) -> str:
        return f"cannot write the store at {self.path}: {self.detail} ({self.reading})"


def _leveldb_words(exc: plyvel.Error) -> str:
    """plyvel carries LevelDB's status text as bytes: b'Corruption: block checksum mismatch'."""
    text = exc.args[0] if exc.args else str(exc)
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


_KEY_NAMES = {
    b"b": "the blocks",
    b"s": "the state",
    b"h": "the block-hash index",
    b"t": "the transaction index",
    b"x": "the per-account history index",
    b"n": "the state tree",
    b"v": "the validator-set index",
    b"a": "the agora's texts (node-local, node/agora_texts.py)",
}


def _printable(raw: bytes) -> bool:
    return all(32 <= b < 127 for b in raw)


def describe_key(key: bytes | None) -> str:
    """A store key as an operator reads it (FORMAT.md §15): 'block 812', 'state entry bal/8a88…', 'the head record'."""
    if key is None:
        return "the first entry"
    prefix, rest = key[:1], key[1:]
    if len(key) == 1 and prefix in _KEY_NAMES:
        return _KEY_NAMES[prefix]
    if prefix == P_BLOCK and len(rest) == 8:
        return f"block {int.from_bytes(rest, 'big')}"
    if prefix == b"a":
        cut = next((i for i, b in enumerate(rest) if not 32 <= b < 127), len(rest))
        return f"the agora's record {rest[:cut].decode('ascii')}{rest[cut:cut + 16].hex()}"
    if prefix == P_STATE:
        cut = rest.find(b"/") + 1
        if cut and _printable(rest[:cut]):
            tail = rest[cut:]
            shown = tail.decode("ascii") if _printable(tail) else tail[:16].hex() + ("…" if len(tail) > 16 else "")
            return f"state entry {rest[:cut].decode('ascii')}{shown}"
        return f"state entry {rest[:16].hex()}…"
    if key == K_HEAD:
        return "the head record"
    if key == K_GENESIS:
        return "the genesis record"
    if prefix in _KEY_NAMES:
        return f"{_KEY_NAMES[prefix]} at {rest[:16].hex()}"
    return f"key {key[:17].hex()}"


_ROOT_POSITION = node_key(0, 0)
LEVELDB_BLOCK_CACHE = 8 * 1024 * 1024
"""LevelDB's own cache of uncompressed blocks (its default size). The top of the state tree is in memory
(ledger/tree_top.py) and the tables are memory-mapped, so a larger cache bought nothing measurable (64 MB:
the same commit time with a million accounts, 66 MB more resident). The bloom filter spares a disk read for an
absent key (an empty tree position, a new account)."""
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

    def __init__(self, db_get: Callable[[bytes], bytes | None]):
        self._db_get = db_get
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

    def clear(self) -> None:
        """Forget everything (the store was rewritten other than by a commit)."""
        with self._lock:
            self._values.clear()
            self._generation += 1

    def end_commit(self, written: dict[bytes, bytes | None], forget: Iterable[bytes] = ()) -> None:
        """After a batch: `written` is cached with its new values, `forget`'s keys are dropped from the cache."""
        with self._lock:
            values = self._values
            if len(values) + len(written) > self._limit:
                values.clear()
            else:
                deque(map(values.pop, forget, repeat(None)), 0)
            values.update(written)
            self._generation += 1


class _PrefixedReader:
    __slots__ = ("_get", "_prefix", "_scan")

    def __init__(self, get: Callable[[bytes], bytes | None], prefix: bytes,
                 scan: Callable[..., Iterator[tuple[bytes, bytes]]] | None = None):
        self._get = get
        self._prefix = prefix
        self._scan = scan

    def get(self, key: bytes) -> bytes | None:
        return self._get(self._prefix + key)

    def range(self, start: bytes, end: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Committed entries with start <= key < end, ascending (from LevelDB: the cache holds no order)."""
        assert self._scan is not None
        cut = len(self._prefix)
        for key, value in self._scan("the state", start=self._prefix + start, stop=self._prefix + end):
            yield key[cut:], value


class StoreView:
    """A consistent view of the store (Store.read_view); `get` maps damage like every store read."""

    def __init__(self, store: Store, snapshot: Any):
        self._store = store
        self._snapshot = snapshot

    def get(self, key: bytes) -> bytes | None:
        try:
            return self._snapshot.get(key, verify_checksums=True)
        except (plyvel.CorruptionError, plyvel.IOError) as exc:
            raise self._store._failed(StoreFailure(self._store.path, f"reading {describe_key(key)}",
                                                   _leveldb_words(exc))) from None

    def __enter__(self) -> StoreView:
        return self

    def __exit__(self, *exc: object) -> None:
        self._snapshot.close()


class Store:
    def __init__(self, path: str | Path, create: bool = True, sync: bool = True, tree_top_depth: int = TOP_DEPTH):
        """`sync=False` is for scratch stores (the auditor's replay), where a crash loses nothing of value;
        `tree_top_depth` is the deepest level of the state tree kept in memory (ledger/tree_top.py)."""
        self.path = Path(path)
        self._sync = sync
        self.on_failure: Callable[[StoreFailure], None] | None = None
        self.failure: StoreFailure | None = None
        if create:
            self.path.mkdir(parents=True, exist_ok=True)
        try:
            # paranoid_checks: a damaged log or manifest fails the open (a log cut short by a crash does not:
            # LevelDB reads a torn last record as the end of the log), and a compaction that meets a damaged
            # table stops every later write instead of dropping the entries it could not read
            self.db = plyvel.DB(str(path), create_if_missing=create, lru_cache_size=LEVELDB_BLOCK_CACHE,
                                bloom_filter_bits=10, paranoid_checks=True)
        except plyvel.CorruptionError as exc:
            raise StoreFailure(path, "opening it", _leveldb_words(exc)) from None
        except plyvel.Error as exc:  # IOError (locked, unreadable) and "does not exist"
            raise StoreError(f"cannot open the store at {path}: {_leveldb_words(exc)}") from None
        self._db_get = self.db.get
        self._cache = _ReadCache(self._get)
        self.state = _PrefixedReader(self._cache.get, P_STATE, self._scan)
        self._top = TreeTop(tree_top_depth, self._top_records, key_offset=len(P_TREE))
        self._tree = StateTree(_PrefixedReader(self._cache.get, P_TREE).get, self._top)
        self.tree_layout_outdated = outdated(self._get(P_TREE + _ROOT_POSITION))

    @property
    def tree(self) -> StateTree:
        """The state tree; refused while the store holds it in the first record layout (`upgrade_tree_layout`)."""
        if self.tree_layout_outdated:
            raise StoreError(f"the store at {self.path} holds the state tree in the record layout of an earlier "
                             "version (FORMAT.md §15): start the node once to convert it (docs/operations.md, "
                             "\"Upgrading\")")
        return self._tree

    def _top_records(self, depth: int) -> Iterator[tuple[bytes, bytes]]:
        """The tree records down to `depth`, in key order (so depth by depth): what the top in memory is filled from."""
        start, stop = P_TREE + node_key(0, 0), P_TREE + (depth + 1).to_bytes(2, "big")
        return self._scan("the state tree", start=start, stop=stop, fill_cache=False)

    def load_tree_top(self) -> None:
        """Fill the top levels of the tree in memory from the store now, instead of at the first update."""
        if not self.tree_layout_outdated:
            self._top.ensure_loaded()

    def upgrade_tree_layout(self, progress: Callable[[int], None] | None = None) -> int:
        """Convert a tree stored in the first record layout to the current one (ledger/tree_layout.py): the
        number of inner records rewritten. Resumable; a damaged tree is a StoreFailure and nothing more is written."""
        if not self.tree_layout_outdated:
            return 0

        def write(records: dict[bytes, bytes]) -> None:
            try:
                with self.db.write_batch(transaction=True, sync=self._sync) as batch:
                    for key, value in records.items():
                        batch.put(key, value)
            except plyvel.Error as exc:
                raise self._write_failed(exc, "converting the state tree's records") from None

        self._cache.begin_commit()
        try:
            converted = upgrade(lambda **options: self._scan("the state tree", **options), write, P_TREE, progress)
        except TreeLayoutError as exc:
            raise self._inconsistent(P_TREE, str(exc)) from None
        finally:
            self._cache.clear()
            self._top.invalidate()
        self.tree_layout_outdated = outdated(self._get(P_TREE + _ROOT_POSITION))
        return converted

    # --- reads that cannot return damaged bytes ---------------------------------

    def _failed(self, failure: StoreFailure) -> StoreFailure:
        """Remember the first failure and tell `on_failure` once; returns the failure to raise."""
        if self.failure is None:
            self.failure = failure
            if self.on_failure is not None:
                self.on_failure(failure)
        return failure

    def _get(self, key: bytes) -> bytes | None:
        try:
            return self._db_get(key, verify_checksums=True)
        except (plyvel.CorruptionError, plyvel.IOError) as exc:
            raise self._failed(StoreFailure(self.path, f"reading {describe_key(key)}", _leveldb_words(exc))) from None

    def _scan(self, what: str, **options: Any) -> Iterator[tuple[bytes, bytes]]:
        """Entries in key order, checksums verified; a failure names the last good key before it."""
        last = None
        iterator = self.db.iterator(verify_checksums=True, **options)
        try:
            for key, value in iterator:
                last = key
                yield key, value
        except (plyvel.CorruptionError, plyvel.IOError) as exc:
            where = f"reading {what} after {describe_key(last)}" if last is not None else f"reading {what}"
            raise self._failed(StoreFailure(self.path, where, _leveldb_words(exc))) from None
        finally:
            iterator.close()

    def local_get(self, key: bytes) -> bytes | None:
        """A node-local record (a prefix the chain does not use, e.g. the agora's texts), checksums verified.

        Every read of this LevelDB must verify: a block read once without verification sits in LevelDB's
        block cache, and later verified reads of any key in it (a neighbouring block record) are then
        served from there unchecked, so a damaged block would be served as good."""
        return self._get(key)

    def local_scan(self, start: bytes, stop: bytes, include_value: bool = True) -> Iterator[Any]:
        """Node-local records from `start` up to `stop`, in key order, checksums verified (see `local_get`)."""
        for key, value in self._scan(describe_key(start), start=start, stop=stop):
            yield (key, value) if include_value else key

    def entries(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every entry under a store prefix (P_STATE, P_TREE, …) without it, in key order (the audit's walk)."""
        for key, value in self._scan(describe_key(prefix), prefix=prefix):
            yield key[len(prefix):], value

    def read_view(self) -> StoreView:
        """Reads from one LevelDB snapshot (one committed state), checksums verified; use it as a context.

        For readers that must see a single version across several reads while
        blocks commit (a balance proof: tree nodes, value, head and block).
        """
        return StoreView(self, self.db.snapshot())

    def _write_failed(self, exc: plyvel.Error, what: str) -> StoreFailure:
        return self._failed(StoreWriteFailed(self.path, what, _leveldb_words(exc)))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- genesis and head -----------------------------------------------------

    def is_initialised(self) -> bool:
        return self._get(K_GENESIS) is not None

    def init_genesis(self, genesis_hash: bytes, state: dict[bytes, bytes], time_ms: int) -> ChainHead:
        if self.is_initialised():
            raise StoreError("the store already holds a chain")
        root, tree_writes = StateTree(lambda k: None).update(sorted(state.items()))
        written = {P_STATE + key: value for key, value in state.items()}
        written.update((P_TREE + key, value) for key, value in tree_writes.items() if value is not None)
        self._cache.begin_commit()
        try:
            with self.db.write_batch(transaction=True, sync=self._sync) as batch:
                for key, value in written.items():
                    batch.put(key, value)
                batch.put(K_GENESIS, encode((genesis_hash, root, time_ms)))
                batch.put(K_HEAD, encode((0, genesis_hash, root, time_ms)))
        except plyvel.Error as exc:
            raise self._write_failed(exc, "writing the genesis state") from None
        self._cache.end_commit(written)
        self._top.invalidate()
        return ChainHead(0, genesis_hash, root, time_ms)

    def genesis(self) -> tuple[bytes, bytes, int]:
        raw = self._get(K_GENESIS)
        if raw is None:
            raise StoreError("the store holds no chain")
        return self._record(raw, K_GENESIS)

    def head(self) -> ChainHead:
        raw = self._get(K_HEAD)
        if raw is None:
            raise StoreError("the store holds no chain")
        return ChainHead(*self._record(raw, K_HEAD))

    def _record(self, raw: bytes, key: bytes) -> tuple:
        """[hash, hash, int] or [int, hash, hash, int] (FORMAT.md §15); anything else is damage."""
        try:
            value = decode(raw)
            shape = (bytes, bytes, int) if key == K_GENESIS else (int, bytes, bytes, int)
            if len(value) != len(shape) or not all(type(v) is t for v, t in zip(value, shape, strict=True)):
                raise TypeError("wrong fields")
        except (EncodingError, TypeError) as exc:
            raise self._failed(StoreFailure(self.path, f"reading {describe_key(key)}",
                                            detail=f"the record does not decode ({exc})")) from None
        return tuple(value)

    def check(self) -> ChainHead:
        """What a node checks before it serves (cheap: a handful of reads), returning the head.

        The genesis and head records decode; the head block is stored, decodes,
        is the block the head names and carries its state root; the state
        tree's root record is that state root. Every read verifies checksums.
        This finds a damaged head, and damage anywhere near the top of the
        state; damage elsewhere is found when it is read (and stops the node
        then) or by `incoop audit verify --data`, which reads everything.
        """
        genesis_hash = self.genesis()[0]
        head = self.head()
        if head.height == 0:
            if head.block_hash != genesis_hash:
                raise self._inconsistent(K_HEAD, f"the head at height 0 names {head.block_hash.hex()[:16]}…, "
                                                 f"not the genesis {genesis_hash.hex()[:16]}…")
        else:
            raw = self.raw_block(head.height)
            if raw is None:
                raise self._inconsistent(P_BLOCK + _h8(head.height), "the head block is missing")
            try:
                block, _ = decode_raw_block(raw)
            except BlockFormatError as exc:
                raise self._inconsistent(P_BLOCK + _h8(head.height), f"the head block does not decode ({exc})") from None
            if block.hash() != head.block_hash or block.header.state_root != head.state_root:
                raise self._inconsistent(P_BLOCK + _h8(head.height), "the stored block is not the one the head "
                                                                     f"record names ({head.block_hash.hex()[:16]}…)")
        root = old_root(self._get(P_TREE + _ROOT_POSITION) or b"") if self.tree_layout_outdated else self.tree.root()
        if root != head.state_root:
            raise self._inconsistent(P_TREE, f"the state tree's root is {root.hex()[:16]}…, the head's state root "
                                             f"is {head.state_root.hex()[:16]}…")
        return head

    def _inconsistent(self, key: bytes, detail: str) -> StoreFailure:
        return self._failed(StoreFailure(self.path, f"reading {describe_key(key)}", detail=detail))

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
        # the tree records above the top's deepest level are held in memory and never read by an update:
        # written without passing through the read cache, where they would push out the state
        above_top: dict[bytes, bytes | None] = {}
        deep_from = self._top.depth.to_bytes(2, "big")
        for key, value in outcome.tree_writes.items():
            if key[:2] >= deep_from:
                written[P_TREE + key] = value
            else:
                above_top[P_TREE + key] = value
        if KEY_VALIDATORS in outcome.state_changes:
            written[P_VSET + h8] = self._validator_set_record(outcome)
        self._cache.begin_commit()
        try:
            with self.db.write_batch(transaction=True, sync=self._sync) as batch:
                batch.put(P_BLOCK + h8, encode_raw_block(block, certificate))
                batch.put(P_HASH + block_hash, h8)
                for index, tx in enumerate(outcome.txs):
                    batch.put(P_TX + tx.hash, encode((height, index)))
                for key, value in history_entries(height, outcome):
                    batch.put(key, value)
                for records in (written, above_top):
                    for key, value in records.items():
                        if value is None:
                            batch.delete(key)
                        else:
                            batch.put(key, value)
                head = ChainHead(height, block_hash, header.state_root, header.time_ms)
                batch.put(K_HEAD, encode(tuple(head)))
        except plyvel.Error as exc:
            raise self._write_failed(exc, f"committing block {height}") from None
        self._cache.end_commit(written, above_top)
        self._top.apply(outcome.tree_writes)
        return head

    def _validator_set_record(self, outcome: BlockOutcome) -> bytes:
        """`canonical([validators, [siblings, terminal]])`: the set a block wrote and its §10.2 proof under the
        block's state root, taken now because the store keeps only the latest tree (FORMAT.md §15). A light
        client that trusts the old set follows the change with it and the block's certificate (§21)."""
        writes = outcome.tree_writes
        tree = StateTree(lambda position: writes[position] if position in writes else self.tree.read(position))
        siblings, terminal = tree.prove(KEY_VALIDATORS)
        value = outcome.state_changes[KEY_VALIDATORS]
        assert value is not None  # the set is never deleted (FORMAT.md §6.8)
        return encode((decode(value), (tuple(siblings), None if terminal is None else tuple(terminal))))

    def validator_set_changes(self, upto: int) -> list[tuple[int, bytes]]:
        """(height, record) of every block up to `upto` that changed the validator set, in height order."""
        changes = ((int.from_bytes(k, "big"), v) for k, v in self.entries(P_VSET))
        return [(height, v) for height, v in changes if height <= upto]

    # --- reads ------------------------------------------------------------------

    def raw_block(self, height: int) -> bytes | None:
        return self._get(P_BLOCK + _h8(height))

    def height_of(self, block_hash: bytes) -> int | None:
        raw = self._get(P_HASH + block_hash)
        return None if raw is None else int.from_bytes(raw, "big")

    def tx_location(self, tx_hash: bytes) -> tuple[int, int] | None:
        raw = self._get(P_TX + tx_hash)
        return None if raw is None else tuple(decode(raw))

    def history(self, account: bytes, before: tuple[int, int] | None = None, limit: int = 50) -> list[tuple[int, int, bytes]]:
        """Newest first: (height, index, value) of the account's history entries before a cursor.

        The value is a transaction's hash, or, for an index past the block's transactions, an
        end-of-block effect's movements (`decode_effect_entry`; FORMAT.md §15).
        """
        prefix = P_HISTORY + account
        stop = prefix + (_h8(before[0]) + before[1].to_bytes(4, "big") if before else b"\xff" * 12)
        out = []
        entries = self._scan("the per-account history index", start=prefix, stop=stop, reverse=True)
        try:
            for key, value in entries:
                suffix = key[len(prefix):]
                out.append((int.from_bytes(suffix[:8], "big"), int.from_bytes(suffix[8:], "big"), value))
                if len(out) >= limit:
                    break
        finally:
            entries.close()
        return out

    def state_items(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """State entries under a key prefix, in key order (for listings, never for the transition)."""
        full = P_STATE + prefix
        for key, value in self._scan("the state", prefix=full):
            yield key[len(P_STATE):], value
