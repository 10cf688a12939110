"""Disk bytes per committed transfer, with every index: what a node keeps for each payment, and where.

After the single-validator run the node is stopped and its LevelDB directory
opened as the node opens it (`ledger.store.Store`: the same bloom filter and
compression) and compacted whole, so the figure is what LevelDB keeps in its
tables, not its write-ahead log or entries an overwrite left behind. The same
is done for a store holding only that run's genesis (`Store.init_genesis` of
the same genesis.json, as a node's first start writes it). The growth from
one to the other, divided by the transfers the run committed, is the row.

The breakdown is by record prefix (FORMAT.md §15): for each, the records and
their raw key and value bytes (a walk of the whole store), and the bytes its
key range takes in the compacted tables (LevelDB's `approximate_sizes`: data
blocks after Snappy and key-prefix compression; each table's index and
filter fall to the last range of the table, and the few bytes no range
accounts for are shown as "other").

    python -m node.bench.disk DATA_DIR GENESIS_JSON TRANSFERS    one store, as the runner measures it
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from genesis.document import load_genesis
from genesis.rules import RULES
from ledger.store import Store
from node.bench.compaction import compact_all

PREFIXES = {  # FORMAT.md §15
    "b": "blocks with certificates",
    "h": "block hash -> height",
    "t": "tx hash -> height, index",
    "x": "per-account history",
    "s": "state",
    "n": "state tree",
    "v": "validator sets",
    "m": "head and genesis",
    "a": "agora texts and cursor (node-local)",
}


@dataclass
class PrefixBytes:
    prefix: str
    records: int = 0
    raw_bytes: int = 0  # keys and values as written
    disk_bytes: int = 0  # the key range's share of the compacted tables


@dataclass
class StoreBytes:
    dir_bytes: int  # every file of the directory but LevelDB's info logs, after a full compaction
    prefixes: dict[str, PrefixBytes] = field(default_factory=dict)


@dataclass
class PrefixGrowth:
    prefix: str
    name: str
    records: int
    raw_bytes: int
    disk_bytes: int
    disk_per_transfer: float
    records_per_transfer: float


@dataclass
class DiskResult:
    transfers: int
    genesis_bytes: int
    store_bytes: int
    growth_bytes: int
    bytes_per_transfer: float
    prefixes: list[PrefixGrowth]
    other_bytes: int  # directory growth no prefix's range accounts for (manifest, write-ahead log, table metadata)
    other_per_transfer: float


INFO_LOGS = ("LOG", "LOG.old")
"""LevelDB's text log of its own work (opens, compactions), rewritten at every open: not the records."""


def _dir_bytes(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.iterdir() if entry.is_file() and entry.name not in INFO_LOGS)


def measure_store(data: Path) -> StoreBytes:
    """Compact the store at `data` whole (it must not be open elsewhere), then count it, prefix by prefix."""
    by_byte: dict[int, PrefixBytes] = {}
    with Store(data, create=False) as store:
        compact_all(store)
        for key, value in store.db.iterator(verify_checksums=True):
            entry = by_byte.get(key[0])
            if entry is None:
                entry = by_byte[key[0]] = PrefixBytes(chr(key[0]) if 32 < key[0] < 127 else f"0x{key[0]:02x}")
            entry.records += 1
            entry.raw_bytes += len(key) + len(value)
        firsts = sorted(by_byte)
        ranges = [(bytes([b]), bytes([b + 1]) if b < 255 else b"\xff" * 64) for b in firsts]
        sizes = store.db.approximate_sizes(*ranges) if ranges else []
        for first, size in zip(firsts, sizes, strict=True):
            by_byte[first].disk_bytes = size
    prefixes = {entry.prefix: entry for entry in by_byte.values()}
    return StoreBytes(_dir_bytes(data), prefixes)


def genesis_store(genesis_path: Path, data: Path) -> StoreBytes:
    """The store a node's first start writes for this genesis (node/server.py `open_store`), measured."""
    genesis = load_genesis(genesis_path, RULES)
    with Store(data) as store:
        store.init_genesis(genesis.hash(), genesis.initial_state(), genesis.genesis_time_ms)
    return measure_store(data)


def growth(before: StoreBytes, after: StoreBytes, transfers: int) -> DiskResult:
    grown = after.dir_bytes - before.dir_bytes
    rows = []
    for name in sorted(set(before.prefixes) | set(after.prefixes)):
        a, b = after.prefixes.get(name, PrefixBytes(name)), before.prefixes.get(name, PrefixBytes(name))
        disk = a.disk_bytes - b.disk_bytes
        records = a.records - b.records
        rows.append(PrefixGrowth(name, PREFIXES.get(name, "?"), records, a.raw_bytes - b.raw_bytes, disk,
                                 round(disk / max(transfers, 1), 1), round(records / max(transfers, 1), 3)))
    rows.sort(key=lambda row: -row.disk_bytes)
    other = grown - sum(row.disk_bytes for row in rows)
    return DiskResult(transfers, before.dir_bytes, after.dir_bytes, grown, round(grown / max(transfers, 1), 1), rows,
                      other, round(other / max(transfers, 1), 1))


def disk_per_transfer(data: Path, genesis_path: Path, transfers: int) -> DiskResult:
    """The row: the stopped node's store at `data` against a genesis-only store of `genesis_path`."""
    with tempfile.TemporaryDirectory(prefix="incoop-bench-disk-") as tmp:
        before = genesis_store(genesis_path, Path(tmp) / "data")
    return growth(before, measure_store(data), transfers)


def breakdown(result: DiskResult, shown: int = 5) -> str:
    """'b 190, x 120, t 45, … B': the prefixes that take the most, per transfer."""
    parts = [f"{row.prefix} {row.disk_per_transfer:,.0f}" for row in result.prefixes[:shown] if row.disk_bytes > 0]
    return ", ".join(parts) + " B"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node.bench.disk", description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a stopped node's data directory (it is compacted)")
    parser.add_argument("genesis", type=Path, help="its genesis.json")
    parser.add_argument("transfers", type=int, help="the transfers committed on top of the genesis")
    args = parser.parse_args(argv)
    print(json.dumps(asdict(disk_per_transfer(args.data, args.genesis, args.transfers)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
