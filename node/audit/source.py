"""Where an auditor reads a chain from: a node's API (untrusted) or a data directory (read-only).

Both give the same thing: the committed head height and, height by height, the
raw block as stored (canonical [block, certificate], FORMAT.md "Store layout"
and `/v1/blocks/{h}/raw`). Nothing here checks anything: the source is never
trusted, the verifier is.

A running node holds LevelDB's lock on its data directory, and an auditor must
never write to it. `DataDirSource` therefore reads a private copy: table files
(immutable once written) are hard-linked, the manifest, CURRENT and the logs are
copied, and the copy is retried if the node changed its file set meanwhile, so
the copy is always a state LevelDB itself could have recovered after a crash.
The copy is deleted on close.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from ledger.store import Store, StoreError
from ledger.transition import ChainHead
from wallet.client import NodeClient, NodeError

_TABLE_SUFFIXES = (".ldb", ".sst")
_COPY_ATTEMPTS = 5
API_PREFETCH = 8


class SourceError(RuntimeError):
    """The chain cannot be read at all (unreachable node, missing directory); not a verification failure."""


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


def _file_set(path: Path) -> dict[str, int]:
    out = {}
    for entry in os.scandir(path):
        if entry.is_file():
            out[entry.name] = entry.stat().st_size
    return out


def snapshot_leveldb(src: Path, dest: Path) -> None:
    """Copy a LevelDB directory that another process may be writing to, consistently.

    The copy is taken again if the set of files or the manifest's size changed
    while it was made (a compaction or a new log), since a manifest and logs
    from two moments could disagree on which writes tables hold.
    """
    for _ in range(_COPY_ATTEMPTS):
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        before = _file_set(src)
        if "CURRENT" not in before:
            raise SourceError(f"{src} is not a LevelDB store (no CURRENT file)")
        try:
            for name in sorted(before):
                if name == "LOCK":
                    continue
                if name.endswith(_TABLE_SUFFIXES):
                    try:
                        os.link(src / name, dest / name)
                    except OSError:
                        shutil.copy2(src / name, dest / name)
                else:
                    shutil.copy2(src / name, dest / name)
        except FileNotFoundError:
            continue  # removed by a compaction while we copied: take it again
        manifest_names = {n for n in before if n.startswith("MANIFEST-")}
        after = _file_set(src)
        unchanged_files = {n for n in after if n.endswith(_TABLE_SUFFIXES)} == {
            n for n in before if n.endswith(_TABLE_SUFFIXES)}
        unchanged_manifest = all(after.get(n) == before[n] for n in manifest_names)
        if unchanged_files and unchanged_manifest and (src / "CURRENT").read_bytes() == (dest / "CURRENT").read_bytes():
            return
    raise SourceError(f"the store at {src} kept changing while it was copied; try again")


class DataDirSource:
    """A node's data directory, read through a private copy (the node may keep running)."""

    def __init__(self, data_dir: str | Path):
        data_dir = Path(data_dir)
        if not (data_dir / "CURRENT").exists() and (data_dir / "data" / "CURRENT").exists():
            data_dir = data_dir / "data"  # a node's HOME was given
        if not data_dir.is_dir():
            raise SourceError(f"no data directory at {data_dir}")
        self.description = f"data directory {data_dir}"
        self._tmp = Path(tempfile.mkdtemp(prefix="incoop-audit-"))
        try:
            snapshot_leveldb(data_dir, self._tmp / "db")
            self.store = Store(self._tmp / "db", create=False)
        except (SourceError, StoreError) as exc:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise SourceError(str(exc)) from None
        try:
            self.store.head()
        except StoreError as exc:
            self.close()
            raise SourceError(f"{data_dir}: {exc}") from None

    def head_height(self) -> int:
        return self.store.head().height

    def head(self) -> ChainHead:
        return self.store.head()

    def genesis_hash(self) -> bytes:
        return self.store.genesis()[0]

    def raw_blocks(self, start: int, stop: int) -> Iterator[tuple[int, bytes | None]]:
        for height in range(start, stop + 1):
            yield height, self.store.raw_block(height)

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
