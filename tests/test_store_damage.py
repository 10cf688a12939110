"""A damaged store is an error that names what was read, never a silently different value or a traceback.

A chain of 100 blocks is written through the node's Store (the benchmark
builder), copied, and one LevelDB data block of the copy is damaged on disk
(tests/leveldb_damage.py: bytes inverted inside the block, the table's index
and footer intact). Then:
1. the store still opens, reading the damaged block raises StoreFailure
   naming the block height and LevelDB's words, `on_failure` hears of it
   once, and the blocks around it still read;
2. the start-up check (Store.check) refuses a damaged head record, a head
   naming another block and a state tree whose root is not the head's state
   root (the last two written with valid checksums, as a bad restore or an
   edit would leave them);
3. a scan names the last good key before the damage;
4. `incoop audit verify --data` and `incoop audit export --data` on a
   damaged copy exit 2 with one line, and with --json print one JSON object
   that says the audit could not run because the data directory is damaged;
   damage the audit meets only in its final stored-state walk is reported
   the same way, and never as a verdict on the chain.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import plyvel
import pytest

from ledger.encoding import decode, encode
from ledger.merkle import node_key
from ledger.store import K_HEAD, P_BLOCK, P_STATE, P_TREE, Store, StoreFailure
from node.bench.chain import build_transfer_chain
from node.cli import main
from tests.leveldb_damage import damage_block_holding

HEIGHT = 100


def block_key(height: int) -> bytes:
    return P_BLOCK + height.to_bytes(8, "big")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("damage") / "home"
    stats = build_transfer_chain(home, accounts=50, txs=2000, block_txs=20)[1]
    assert stats.height == HEIGHT
    return home


def copy_of(home: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(home, copy)
    return copy


def middle_state_key(data: Path) -> bytes:
    db = plyvel.DB(str(data))
    try:
        keys = list(db.iterator(prefix=P_STATE + b"bal/", include_value=False))
    finally:
        db.close()
    return keys[len(keys) // 2]


# --- 1.-3. the store ----------------------------------------------------------------------------


def test_a_damaged_block_is_an_error_naming_it_and_reported_once(home: Path, tmp_path: Path) -> None:
    copy = copy_of(home, tmp_path)
    damage_block_holding(copy / "data", block_key(50))
    heard: list[StoreFailure] = []
    with Store(copy / "data", create=False) as store:
        store.on_failure = heard.append
        assert store.check().height == HEIGHT  # the head and the top of the state are intact
        with pytest.raises(StoreFailure) as caught:
            store.raw_block(50)
        message = str(caught.value)
        assert "block 50" in message and "checksum mismatch" in message and str(copy / "data") in message
        assert len(message.splitlines()) == 1
        with pytest.raises(StoreFailure):
            store.raw_block(50)
        assert heard == [caught.value]  # the first failure only
        assert store.failure is caught.value
        assert store.raw_block(1) is not None and store.raw_block(HEIGHT) is not None


def test_the_start_up_check_refuses_a_damaged_head_record(home: Path, tmp_path: Path) -> None:
    copy = copy_of(home, tmp_path)
    damage_block_holding(copy / "data", K_HEAD)
    with Store(copy / "data", create=False) as store:
        with pytest.raises(StoreFailure) as caught:
            store.check()
    # the genesis and head records share a data block: whichever is read first names it
    assert "checksum mismatch" in str(caught.value) and " record)" in str(caught.value)


def test_the_start_up_check_refuses_a_head_naming_another_block(home: Path, tmp_path: Path) -> None:
    copy = copy_of(home, tmp_path)
    db = plyvel.DB(str(copy / "data"))
    height, _, root, time_ms = decode(db.get(K_HEAD))
    other = decode(db.get(block_key(HEIGHT - 1)))  # a valid record, checksums and all: only its content lies
    assert other
    db.put(K_HEAD, encode((height, bytes(32), root, time_ms)))
    db.close()
    with Store(copy / "data", create=False) as store:
        with pytest.raises(StoreFailure) as caught:
            store.check()
    assert f"block {HEIGHT}" in str(caught.value) and "not the one the head record names" in str(caught.value)


def test_the_start_up_check_refuses_a_state_tree_that_is_not_the_heads(home: Path, tmp_path: Path) -> None:
    copy = copy_of(home, tmp_path)
    db = plyvel.DB(str(copy / "data"))
    root_key = P_TREE + node_key(0, 0)
    record = db.get(root_key)
    db.put(root_key, record[:1] + bytes(32) + record[33:])
    db.close()
    with Store(copy / "data", create=False) as store:
        with pytest.raises(StoreFailure) as caught:
            store.check()
    assert "the state tree" in str(caught.value) and "root" in str(caught.value)


def test_a_scan_names_the_last_good_entry_before_the_damage(home: Path, tmp_path: Path) -> None:
    copy = copy_of(home, tmp_path)
    damage_block_holding(copy / "data", middle_state_key(copy / "data"))
    with Store(copy / "data", create=False) as store:
        with pytest.raises(StoreFailure) as caught:
            list(store.state_items(b""))
    assert "reading the state after state entry " in str(caught.value)


# --- 4. the auditor's commands ----------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_could_not_run(capsys: pytest.CaptureFixture, argv: list[str], json_argv: list[str], *words: str) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2, err
    *progress, err = err.strip().splitlines()  # a slow run prints progress first, once a second
    assert all(line.startswith("replayed ") for line in progress) and "Traceback" not in err, err
    assert err.startswith("incoop: the data directory ") and "is damaged" in err
    for word in words:
        assert word in err
    status, out, err = run(capsys, *json_argv)
    assert status == 2
    verdict = json.loads(out)
    assert verdict["ok"] is False and verdict["could_not_run"] is True and verdict["damaged"] is True
    *progress, err = err.strip().splitlines()  # the JSON run's progress goes to stderr too
    assert all(line.startswith("replayed ") for line in progress)
    assert verdict["message"] == err.removeprefix("incoop: ")


@pytest.mark.parametrize("key, words", [
    (block_key(50), ("block 50", "checksum mismatch")),
    (K_HEAD, (" record)",)),
])
def test_audit_verify_on_a_damaged_copy_could_not_run(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                      key: bytes, words: tuple[str, ...]) -> None:
    copy = copy_of(home, tmp_path)
    damage_block_holding(copy / "data", key)
    argv = ["audit", "verify", "--genesis", str(home / "genesis.json"), "--data", str(copy), "--quiet"]
    assert_could_not_run(capsys, argv, [*argv, "--json"], str(copy / "data"), *words)


def test_damage_met_in_the_stored_state_walk_is_not_a_verdict_on_the_chain(
        home: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Every block verifies; only the final walk of the stored state reads the damaged block."""
    copy = copy_of(home, tmp_path)
    damage_block_holding(copy / "data", middle_state_key(copy / "data"))
    argv = ["audit", "verify", "--genesis", str(home / "genesis.json"), "--data", str(copy), "--quiet"]
    assert_could_not_run(capsys, argv, [*argv, "--json"], "after state entry bal/")


def test_audit_export_on_a_damaged_copy_could_not_run(home: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    copy = copy_of(home, tmp_path)
    damage_block_holding(copy / "data", block_key(50))
    out = tmp_path / "statement.csv"
    argv = ["audit", "export", "--genesis", str(home / "genesis.json"), "--data", str(copy), "--class",
            "bench-eur", "--out", str(out)]
    assert_could_not_run(capsys, argv, [*argv, "--json"], "block 50")
    assert not out.exists() and not out.with_name(out.name + ".partial").exists()
