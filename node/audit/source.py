"""Where an auditor reads a chain from: a node's API (untrusted) or a data directory (read-only).

Both give the same thing: the committed head height and, height by height, the
raw block as stored (canonical [block, certificate], FORMAT.md "Store layout"
and `/v1/blocks/{h}/raw`). Nothing here checks anything: the source is never
trusted, the verifier is.

A running node holds LevelDB's lock on its data directory, and an auditor must
never write to it. `DataDirSource` therefore reads a private copy
(node/store_copy.py: table files hard-linked, the rest copied, retried until
consistent), deleted on close.

A damaged data directory (a block whose checksum fails, a disk that cannot be
read) is `SourceDamaged`: the audit could not run on it, which is not a
verdict on the chain (docs/audit.md, "A damaged data directory").
"""

from __future__ import annotations

import shutil
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from ledger.store import Store, StoreError, StoreFailure
from ledger.transition import ChainHead
from node.store_copy import StoreCopyError, snapshot_leveldb
from wallet.client import NodeClient, NodeError

API_PREFETCH = 8


class SourceError(RuntimeError):
    """The chain cannot be read at all (unreachable node, missing directory); not a verification failure."""


class SourceDamaged(SourceError):
    """The data directory is damaged: LevelDB found a block whose checksum fails, or the disk would not read."""


class ChainSource(Protocol):
    description: str

    def head_height(self) -> int: ...

    def head(self) -> ChainHead:
        """What the source claims as its last committed block (the verifier checks the claim)."""
        ...

    def genesis_hash(self) -> bytes:
        """The genesis hash the source claims to follow (a wrong one fails the audit before block 1)."""
        ...

    def raw_blocks(self, start: int, stop: int) -> Iterator[tuple[int, bytes | None]]:
        """(height, raw block or None if missing) for start <= height <= stop, in order."""
        ...

    def close(self) -> None: ...


class DataDirSource:
    """A node's data directory, read through a private copy (the node may keep running)."""

    def __init__(self, data_dir: str | Path):
        data_dir = Path(data_dir)
        if not (data_dir / "CURRENT").exists() and (data_dir / "data" / "CURRENT").exists():
            data_dir = data_dir / "data"  # a node's HOME was given
        if not data_dir.is_dir():
            raise SourceError(f"no data directory at {data_dir}")
        self.data_dir = data_dir
        self.description = f"data directory {data_dir}"
        self._tmp = Path(tempfile.mkdtemp(prefix="incoop-audit-"))
        self.store = None
        try:
            snapshot_leveldb(data_dir, self._tmp / "db")
            with self.reading():
                self.store = Store(self._tmp / "db", create=False)
                self.store.head()
                self._upgrade_tree_layout()
        except StoreCopyError as exc:
            self.close()
            raise SourceError(str(exc)) from None
        except StoreError as exc:
            self.close()
            raise SourceError(f"{data_dir}: {str(exc).replace(str(self._tmp / 'db'), str(data_dir))}") from None
        except SourceError:
            self.close()
            raise

    def _upgrade_tree_layout(self) -> None:
        """A store of an earlier version: convert the private copy (ledger/tree_layout.py), so that its tree is
        compared with the replay's like any other (node/audit/stored.py). Records that do not form the tree
        they name stop the conversion and are left for that comparison to name (a `stored_tree` failure, not
        an audit that could not run); LevelDB damage is damage."""
        try:
            self.store.upgrade_tree_layout()
        except StoreFailure as failure:
            if failure.leveldb is not None:
                raise

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Turn a failure of the private copy's store into SourceDamaged, named by the data directory."""
        try:
            yield
        except StoreFailure as failure:
            if failure.path != str(self._tmp / "db"):
                raise  # another store (the replay's): not this source's damage
            raise SourceDamaged(f"the data directory {self.data_dir} is damaged: {failure.detail} "
                                f"({failure.reading})") from None

    def head_height(self) -> int:
        return self.head().height

    def head(self) -> ChainHead:
        with self.reading():
            return self.store.head()

    def genesis_hash(self) -> bytes:
        with self.reading():
            return self.store.genesis()[0]

    def raw_blocks(self, start: int, stop: int) -> Iterator[tuple[int, bytes | None]]:
        for height in range(start, stop + 1):
            with self.reading():
                raw = self.store.raw_block(height)
            yield height, raw

    def close(self) -> None:
        store = getattr(self, "store", None)
        if store is not None:
            store.close()
            self.store = None
        shutil.rmtree(self._tmp, ignore_errors=True)


class ApiSource:
    """Any node's API, trusted for nothing; blocks are fetched a few at a time ahead of the verifier."""

    def __init__(self, url: str, timeout: float = 30.0, prefetch: int = API_PREFETCH, ca_file: str | None = None):
        self.client = NodeClient(url, timeout=timeout, ca_file=ca_file)
        self.description = f"node {self.client.base_url}"
        self._prefetch = max(1, prefetch)
        self._pool = ThreadPoolExecutor(self._prefetch, thread_name_prefix="audit-fetch")

    def status(self) -> dict:
        try:
            return self.client.status()
        except NodeError as exc:
            raise SourceError(str(exc)) from None

    def head_height(self) -> int:
        return self.head().height

    def head(self) -> ChainHead:
        status = self.status()
        height = status.get("height")
        if type(height) is not int or height < 0:
            raise SourceError(f"{self.description} reports no valid height")
        try:
            return ChainHead(height, bytes.fromhex(status["block_hash"]), bytes.fromhex(status["state_root"]),
                             int(status["block_time_ms"]))
        except (KeyError, TypeError, ValueError):
            raise SourceError(f"{self.description} reports no valid head block") from None

    def genesis_hash(self) -> bytes:
        try:
            return bytes.fromhex(self.status()["genesis_hash"])
        except (KeyError, TypeError, ValueError):
            raise SourceError(f"{self.description} reports no valid genesis hash") from None

    def _fetch(self, height: int) -> bytes | None:
        try:
            return self.client.block_raw(height)
        except NodeError as exc:
            if exc.status == 404:
                return None
            raise SourceError(f"block {height}: {exc}") from None

    def raw_blocks(self, start: int, stop: int) -> Iterator[tuple[int, bytes | None]]:
        pending: deque[tuple[int, Future]] = deque()
        next_height = start
        while next_height <= stop or pending:
            while next_height <= stop and len(pending) < self._prefetch:
                pending.append((next_height, self._pool.submit(self._fetch, next_height)))
                next_height += 1
            height, future = pending.popleft()
            yield height, future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def open_source(node: str | None, data_dir: str | None, ca_file: str | None = None) -> ChainSource:
    """Exactly one of a node URL (an https:// one checked against `ca_file`, docs/tls.md) or a data directory."""
    if (node is None) == (data_dir is None):
        raise SourceError("give exactly one of --node URL or --data DIR")
    if data_dir is not None:
        return DataDirSource(data_dir)
    return ApiSource(node, ca_file=ca_file)  # type: ignore[arg-type]
