"""Issue 17's rows of `scripts/bench`: disk per transfer, restart to serving, the validator's peak RSS.

As in tests/test_bench.py, these check that each row's figure is computed from
what it claims, never how large or fast it is (the targets are printed by the
benchmark, not asserted by tests). Every store is a real LevelDB written by the
node's own code, every start a real `incoop node start` process.

1. Disk: a chain of 600 transfers among 20 accounts (node/bench/chain.py) is
   measured against a store of its genesis alone: every prefix's records grow by
   what FORMAT.md §15 writes per transfer and per block (one `t`, two `x`, one `b`
   and one `h` per block, no new state entries), the prefixes' bytes and "other"
   add up to the directory's growth exactly, and the store is left compacted into
   one level (a bare `compact_range()` merges nothing: the row must not count
   overwritten entries and a log).
2. The row's text: the figure, the target with its verdict (met and NOT met), the
   breakdown by prefix.
3. Restart: the store is built once into the cache, named by a hash of the code
   that writes it; a second call takes it from the cache; a node started on it
   twice (once with its files evicted from the page cache) serves /v1/status at
   the store's height, and the row's slowest start is what it prints, with the
   start's steps timed one by one (the key's unlock inside the setup).
4. The cache key changes when a byte of the code that writes the store changes.
5. Peak RSS: VmHWM of a live process, read from outside, rises by what it touched
   (64 MB) and freed, and the row prints it against its target.
6. Scale: a committing child (two sizes of a real store) reports its resident
   memory by kind (tables mapped, heap, the tree's top, adding up to no more than
   its peak) and the tree records each block rewrote; the rows print them with
   the ratio of writes between the sizes (more entries, deeper paths, more writes).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from ledger.store import Store
from node.bench import restart, scale
from node.bench.__main__ import TARGETS, disk_rows, restart_rows, rss_row, scale_rows
from node.bench.chain import build_transfer_chain
from node.bench.disk import DiskResult, PrefixGrowth, disk_per_transfer
from node.bench.federation import peak_rss_mb
from node.bench.restart_store import CODE, cached_chain, code_key
from node.bench.throughput import ThroughputResult

TRANSFERS, ACCOUNTS, BLOCK_TXS = 600, 20, 50


def test_disk_per_transfer_counts_what_each_transfer_writes_after_a_whole_compaction(tmp_path: Path) -> None:
    genesis, stats = build_transfer_chain(tmp_path, ACCOUNTS, TRANSFERS, BLOCK_TXS)
    blocks = stats.height
    result = disk_per_transfer(tmp_path / "data", genesis, TRANSFERS)
    by = {row.prefix: row for row in result.prefixes}
    assert by["t"].records == TRANSFERS  # one location per transaction
    assert by["x"].records == 2 * TRANSFERS  # the signer's and the receiver's history entries
    assert by["b"].records == by["h"].records == blocks == TRANSFERS // BLOCK_TXS
    assert by["s"].records == 0 and by["n"].records == 0  # the same accounts: values change, no new entries
    assert all(by[p].disk_bytes > 0 for p in "bxt")
    assert by["x"].raw_bytes == 2 * TRANSFERS * (1 + 32 + 8 + 4 + 32)  # key: x, account, height, index; value: hash
    assert result.growth_bytes == result.store_bytes - result.genesis_bytes > 0
    assert abs(result.other_bytes) < result.growth_bytes / 20  # the prefixes' ranges account for the growth
    assert result.bytes_per_transfer == round(result.growth_bytes / TRANSFERS, 1)
    assert result.prefixes == sorted(result.prefixes, key=lambda row: -row.disk_bytes)
    with Store(tmp_path / "data", create=False) as store:
        levels = [int(store.db.get_property(f"leveldb.num-files-at-level{n}".encode())) for n in range(7)]
    assert sum(1 for n in levels if n) == 1 and levels[0] == 0, levels  # merged into one level, nothing in a log


def _disk(per: float) -> DiskResult:
    rows = [PrefixGrowth("b", "blocks", 2, 2000, 110 * 100, 110.0, 0.02),
            PrefixGrowth("x", "history", 200, 15400, 94 * 100, 94.0, 2.0),
            PrefixGrowth("s", "state", 0, 0, -300, -3.0, 0.0)]
    return DiskResult(100, 1000, 1000 + int(per * 100), int(per * 100), per, rows, 0, 0.0)


def test_the_disk_row_prints_its_figure_target_verdict_and_breakdown() -> None:
    (head, value, note), (sub, split, records) = disk_rows(_disk(251.0))
    assert value == "251 B" and f"target <= {TARGETS['disk_bytes_per_transfer']} B: met" in note
    assert head.startswith("disk:") and "100 transfers" in head
    assert split == "b 110, x 94 B" and "x 2" in records and "s" not in split
    assert "NOT met" in disk_rows(_disk(401.0))[0][2]


def test_restart_builds_its_store_once_and_times_real_starts(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result = restart.restart(cache, txs=300, accounts=10, block_txs=100, starts=2)
    assert result.built_s is not None and result.txs == 300 and result.height == 3
    assert [s.cold for s in result.starts] == [True, False]
    assert all(s.height == 3 and s.seconds > 0 for s in result.starts)
    assert result.worst_s == max(s.seconds for s in result.starts)
    again, meta, built = cached_chain(cache, txs=300, accounts=10, block_txs=100)
    assert built is None and meta["height"] == 3 and again.name.endswith(code_key(300, 10, 100))
    assert [p.name for p in cache.iterdir() if p.name.startswith("restart-")] == [again.name]  # nothing else kept
    steps = result.phases
    assert set(steps) == {"python", "imports", "setup", "key_unlock", "genesis_parse", "genesis_hash", "store_open",
                          "store_check"} and all(seconds >= 0 for seconds in steps.values())
    assert steps["setup"] > 0 and steps["key_unlock"] > 0  # timed apart: on a loaded machine either may be longer
    (line, value, note), (_, split, _), (_, store, parts) = restart_rows(result)
    assert value == f"{result.worst_s:.2f} s" and "300 txs in the store (3 blocks" in line
    assert f"target <= {TARGETS['restart_s']:g} s: {'met' if result.worst_s <= 5 else 'NOT met'}" in note
    assert split == f"{result.cold_s:.2f} / {result.warm_s:.2f} s"
    assert store == f"{steps['store_open'] + steps['store_check']:.3f} s" and f"key unlock {steps['key_unlock']:.2f}" in parts


def test_the_cache_key_follows_every_byte_of_the_code_that_writes_the_store(tmp_path: Path) -> None:
    root = Path(restart.ROOT)
    for name in CODE:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, tmp_path / name)
    key = code_key(300, 10, 100, root=tmp_path)
    assert key == code_key(300, 10, 100, root=root)
    assert code_key(301, 10, 100, root=tmp_path) != key
    tree = tmp_path / "ledger" / "merkle.py"
    tree.write_text(tree.read_text() + "\n")
    assert code_key(300, 10, 100, root=tmp_path) != key


def _peak_of_a_process_that_touched(megabytes: int) -> float:
    """Read from outside, as the row reads the node's: a child touches `megabytes`, frees them, then waits."""
    code = ("import sys\n"
            f"b = bytearray({megabytes} * 1024 * 1024)\n"
            "for i in range(0, len(b), 4096): b[i] = 1\n"
            "del b\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        return peak_rss_mb(child.pid)
    finally:
        child.communicate("")


def test_peak_rss_is_the_node_processes_high_water_mark() -> None:
    idle, touched = _peak_of_a_process_that_touched(0), _peak_of_a_process_that_touched(64)
    assert idle > 0 and touched >= idle + 60  # freed before the reading: a high-water mark, not the current RSS
    single = ThroughputResult(1, 10, 100, 4, 2000, 100, 1.0, 100.0, 2, 0, node_peak_rss_mb=123.4)
    line, value, note = rss_row(single)
    assert value == "123 MB" and f"target <= {TARGETS['single_rss_mb']} MB: met" in note
    single.node_peak_rss_mb = 401
    assert "NOT met" in rss_row(single)[2]


def test_scale_rows_show_the_memory_make_up_and_the_tree_writes_per_block() -> None:
    small, large = scale.scale(2_000, block_txs=200, blocks=2), scale.scale(20_000, block_txs=200, blocks=2)
    for run in (small, large):
        parts = run.rss_file_mb + run.rss_anon_mb + run.rss_shmem_mb
        assert run.rss_anon_mb > 0 and run.rss_shmem_mb > 0 and 0 < parts <= run.rss_mb + 1
        assert run.state_changes_per_block >= 2 * 200  # each transfer changes two balances at least
        assert run.tree_writes_per_block > run.state_changes_per_block  # a path per change, several records deep
    assert large.tree_writes_per_block > small.tree_writes_per_block
    rows = scale_rows(small, large, large.commit_ms_median / small.commit_ms_median)
    texts = [" | ".join(row) for row in rows]
    assert any(f"{small.tree_writes_per_block:,} / {large.tree_writes_per_block:,}" in text for text in texts)
    assert sum("tables mapped / heap / tree top" in text for text in texts) == 2
    assert any("commit time 20,000 vs 2,000 accounts" in text and "target <= 1.3 x" in text for text in texts)
