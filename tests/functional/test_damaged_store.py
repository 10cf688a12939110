"""A store with a damaged table block: the audit and the node each say so in one line (issue 12, finding 10).

Scenario:
1. One validator commits a steady load of transfers for a few seconds (well
   over a hundred blocks), then stops cleanly. Its HOME is kept as the
   pristine copy; each case below damages a copy of it the way a failing
   disk would: bytes inverted inside one LevelDB data block, every other
   block, the table's index and its footer intact (tests/leveldb_damage.py).
2. The auditor: `incoop audit verify --data COPY`, block 1 damaged, exits 2
   ("could not run") with one line naming the data directory, the block and
   LevelDB's words; with --json it prints one JSON object saying the data
   directory is damaged. No traceback either way.
3. The node on a copy whose head record is damaged refuses to start: exit
   status 3 and exactly one line of output, no log line before it. So does
   one whose validator set (a state entry the start-up reads after the
   check) is damaged.
4. The node on a copy with an old block damaged (the start-up check reads
   the head, the head block and the state root, not every block) starts and
   serves; a client reading block 50 gets 503 STORE_FAILED, and the node
   stops on its own with exit status 3: one CRITICAL log line and the same
   one-line message last, no traceback, and nothing served after it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.chain import KEY_VALIDATORS
from ledger.store import K_HEAD, P_BLOCK, P_STATE
from node.server import EXIT_STORE_FAILED
from tests.functional.framework import (
    ApiCallError,
    Devnet,
    NodeProcess,
    SteadyLoad,
    assert_api_error,
    incoop,
    make_devnet,
    wait_until,
)
from tests.leveldb_damage import damage_block_holding

pytestmark = pytest.mark.timeout(180)
MIN_HEIGHT = 100


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    """Step 1: a validator's chain of over MIN_HEIGHT blocks, the node stopped cleanly."""
    devnet = make_devnet(tmp_path_factory.mktemp("damaged") / "devnet")
    try:
        devnet.node.start()
        load = SteadyLoad(devnet, [devnet.node], rate=60)
        load.start()
        wait_until(lambda: devnet.api.status()["height"] >= MIN_HEIGHT, timeout=60, what=f"height {MIN_HEIGHT}")
        accepted = load.stop()
        devnet.api.wait_committed(accepted[-1])
        assert devnet.node.stop() == 0
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


def damaged_copy(devnet: Devnet, tmp_path: Path, key: bytes) -> NodeProcess:
    home = tmp_path / "home"
    shutil.copytree(devnet.node.home, home, ignore=shutil.ignore_patterns("node.log*", "node.out"))
    damage_block_holding(home / "data", key)
    return NodeProcess(home, devnet.node.url)


def block_key(height: int) -> bytes:
    return P_BLOCK + height.to_bytes(8, "big")


def test_the_audit_says_in_one_line_that_it_could_not_run(stopped: Devnet, tmp_path: Path) -> None:
    copy = damaged_copy(stopped, tmp_path, block_key(1))
    args = ("audit", "verify", "--genesis", str(stopped.layout.home / "genesis.json"), "--data", str(copy.home))
    proc = incoop(stopped, *args, "--quiet", check=False)  # one line, no traceback (the helper asserts both)
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert line.startswith(f"incoop: the data directory {copy.home / 'data'} is damaged: "), line
    assert "block checksum mismatch" in line and "(reading block 1)" in line
    proc = incoop(stopped, *args, "--quiet", "--json", check=False)
    assert proc.returncode == 2
    assert json.loads(proc.stdout) == {"ok": False, "could_not_run": True, "damaged": True,
                                       "message": line.removeprefix("incoop: ")}


@pytest.mark.parametrize("key, reading", [(K_HEAD, " record)"), (P_STATE + KEY_VALIDATORS, "(reading state entry ")])
def test_the_node_refuses_to_start_on_a_damaged_store(stopped: Devnet, tmp_path: Path, key: bytes,
                                                      reading: str) -> None:
    node = damaged_copy(stopped, tmp_path, key)
    node.start(wait=False)
    assert node.process.wait(30) == EXIT_STORE_FAILED
    output = node.out_text().strip().splitlines()
    assert len(output) == 1, output
    assert output[0].startswith(f"incoop: the store at {node.home / 'data'} is damaged: ")
    assert "block checksum mismatch" in output[0] and reading in output[0]
    assert "restore the data directory from a backup" in output[0]
    logged = node.log_text().strip().splitlines()  # the node's own log file says it once too
    assert len(logged) == 1 and logged[0].endswith(output[0].removeprefix("incoop: ")), logged


def test_the_node_stops_when_a_read_meets_damage_later(stopped: Devnet, tmp_path: Path) -> None:
    # block 50's records: far from the node-local records a start reads (the agora's, just before the
    # blocks in key order), which share a LevelDB data block with block 1's
    node = damaged_copy(stopped, tmp_path, block_key(50))
    try:
        node.start()
        assert node.api.status()["height"] >= MIN_HEIGHT
        assert node.api.block(MIN_HEIGHT)["height"] == MIN_HEIGHT  # blocks outside the damaged one still read
        assert_api_error(503, "STORE_FAILED", lambda: node.api.block(50))
        assert node.process.wait(30) == EXIT_STORE_FAILED
    finally:
        node.cleanup()
    log = node.log_text()
    assert "Traceback" not in log, log
    critical = [line for line in log.splitlines() if " CRITICAL " in line]
    assert len(critical) == 1 and "(reading block 50)" in critical[0], log
    last = node.out_text().strip().splitlines()[-1]
    assert last.startswith(f"incoop: the store at {node.home / 'data'} is damaged: ") and "(reading block 50)" in last
    with pytest.raises((OSError, ApiCallError)):
        node.api.status()


def test_damage_beside_the_node_local_records_is_caught_at_the_start_not_served(stopped: Devnet,
                                                                                 tmp_path: Path) -> None:
    """Block 1's records share a LevelDB data block with the agora's node-local ones (just before them in
    key order), which the node reads at its start. Read unverified, that block would sit in LevelDB's
    cache and be served as good to every later verified read: block 1 was once served from a damaged
    store this way. Every read verifies, so the start meets the damage and stops."""
    node = damaged_copy(stopped, tmp_path, block_key(1))
    try:
        node.start(wait=False)
        assert node.process.wait(30) == EXIT_STORE_FAILED
    finally:
        node.cleanup()
    critical = [line for line in node.log_text().splitlines() if " CRITICAL " in line]
    assert len(critical) == 1 and "is damaged" in critical[0] and "the agora's record cursor" in critical[0]
