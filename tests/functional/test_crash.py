"""Crash and restart of the node process: what is committed stays committed.

Scenario of the main test:
1. anna funds four fresh accounts; six accounts then send a few thousand
   transfers to each other in batches, from a background thread.
2. Mid-load, read every committed block (hash, state root, transactions) and
   the status of a sample of committed transactions.
3. SIGKILL the node while the load is still running.
4. Restart it: every block read before the kill is there unchanged, at the
   same height with the same state root; every transaction reported committed
   is committed at the same height and index with the same result.
5. The chain continues: new transfers commit on top; no credit was created or
   lost (the balances still add up to the class supply).

The other tests cover the clean stop (SIGTERM, exit 0), the refusal to serve a
store of another genesis or with a wrong key password.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.crypto import SigningKey
from ledger.tx import Tx
from node.config import MempoolConfig
from node.devnet_layout import DEMO_CLASS
from tests.functional.framework import (
    REPO,
    ApiCallError,
    Devnet,
    make_devnet,
    running_devnet,
    wait_until,
)

SENDERS = 6
TXS_PER_SENDER = 1000
ROUND = 50  # per sender per batch request: 300 transactions a request
GAP_MARGIN = 200  # stay below the chain's max_nonce_gap (256) of pending nonces


@pytest.fixture
def devnet(tmp_path: Path) -> Iterator[Devnet]:
    # up to GAP_MARGIN + ROUND pending nonces per sender: the chain's whole window, wider than a node's default
    yield from running_devnet(tmp_path / "devnet", mempool=MempoolConfig(max_pending_per_account=256))


class Load(threading.Thread):
    """Submits pre-signed transfers round by round until done or the node goes away."""

    def __init__(self, devnet: Devnet, queues: list[list[Tx]]):
        super().__init__(daemon=True)
        self.devnet = devnet
        self.queues = queues
        self.rounds_done = 0
        self.accepted: list[Tx] = []
        self.stopped_by: BaseException | None = None
        self.finished_all = False

    def run(self) -> None:
        api = self.devnet.api
        try:
            for start in range(0, TXS_PER_SENDER, ROUND):
                for queue in self.queues:
                    signer = queue[0].signer
                    last = queue[start].nonce
                    wait_until(lambda s=signer, n=last: api.account(s)["nonce"] > n - GAP_MARGIN, 30)
                batch = [tx for queue in self.queues for tx in queue[start:start + ROUND]]
                results = api.submit_batch(batch)
                for tx, result in zip(batch, results, strict=True):
                    assert result.get("status") == "pending", result
                    self.accepted.append(tx)
                self.rounds_done += 1
            self.finished_all = True
        except (OSError, ApiCallError, AssertionError) as exc:  # the kill ends the load
            self.stopped_by = exc


def fund_senders(devnet: Devnet) -> list[SigningKey]:
    fresh = [SigningKey.generate() for _ in range(SENDERS - 2)]
    nonce = devnet.next_nonce("anna")
    txs = [devnet.transfer("anna", key, 10_000, nonce + i) for i, key in enumerate(fresh)]
    devnet.api.submit_batch(txs)
    for tx in txs:
        assert devnet.api.wait_committed(tx.hash)["result"]["code"] == "OK"
    return [devnet.keys["anna"], devnet.keys["marco"], *fresh]


def committed_blocks(devnet: Devnet, up_to: int) -> dict[int, dict]:
    out = {}
    for height in range(1, up_to + 1):
        block = devnet.api.block(height)
        out[height] = {
            "hash": block["hash"],
            "state_root": block["header"]["state_root"],
            "txs": [(t["hash"], t["result"]["code"]) for t in block["txs"]],
        }
    return out


def total_balance(devnet: Devnet, keys: list[SigningKey]) -> int:
    holders = {key.pubkey for key in keys} | {devnet.keys["federation"].pubkey}
    return sum(devnet.api.balance(pubkey) for pubkey in holders)


def test_sigkill_under_load_loses_no_committed_transaction(devnet: Devnet) -> None:
    api = devnet.api
    senders = fund_senders(devnet)
    supply = api.get(f"/v1/classes/{DEMO_CLASS}")["supply"]
    rng = random.Random(7)
    queues = []
    for sender in senders:
        first = devnet.next_nonce(sender)
        receivers = [k for k in senders if k is not sender]
        queues.append([devnet.transfer(sender, rng.choice(receivers), rng.randint(1, 30), first + i) for i in range(TXS_PER_SENDER)])

    load = Load(devnet, queues)
    load.start()
    wait_until(
        lambda: all(api.account(q[0].signer)["nonce"] >= q[3 * ROUND].nonce for q in queues) or not load.is_alive(),
        60, what="three rounds of load to commit",
    )
    assert load.stopped_by is None, load.stopped_by

    # what the node reports as committed, read while the load goes on: every block so far
    height = api.status()["height"]
    before = committed_blocks(devnet, height)
    sample = [bytes.fromhex(tx_hash) for tx_hash, _ in before[height]["txs"][:20]]
    reported = {tx_hash: api.tx(tx_hash) for tx_hash in sample}
    mid_load = load.is_alive() and not load.finished_all
    devnet.node.kill()
    load.join(30)
    assert mid_load, "the kill should land while transfers are still being submitted"
    committed_txs = [(h, i, tx_hash, code) for h, b in before.items() for i, (tx_hash, code) in enumerate(b["txs"])]
    assert len(committed_txs) >= 3 * ROUND * SENDERS, "the load was committing before the kill"

    devnet.node.start()
    assert api.status()["height"] >= height
    after = committed_blocks(devnet, height)
    assert after == before, "a block committed before the kill changed"
    for tx_hash, status in reported.items():
        assert status["status"] == "committed" and api.tx(tx_hash) == status
    for h, i, tx_hash, code in committed_txs:
        status = api.tx(bytes.fromhex(tx_hash))
        assert (status["status"], status["height"], status["index"], status["result"]["code"]) == ("committed", h, i, code)

    # the chain goes on from where it stood, and no credit was made or lost
    resumed_at = api.status()["height"]
    fresh = [devnet.transfer(sender, senders[0] if sender is not senders[0] else senders[1], 1, devnet.next_nonce(sender)) for sender in senders]
    api.submit_batch(fresh)
    for tx in fresh:
        status = api.wait_committed(tx.hash)
        assert status["height"] > resumed_at
    assert total_balance(devnet, senders) == supply


def test_sigterm_stops_cleanly_and_restart_resumes(devnet: Devnet) -> None:
    tx = devnet.transfer("anna", "marco", 1, devnet.next_nonce("anna"))
    devnet.api.submit(tx)
    location = devnet.api.wait_committed(tx.hash)
    height = devnet.api.status()["height"]
    assert devnet.node.stop() == 0
    assert "stopped cleanly" in devnet.node.log_text()
    devnet.node.start()
    assert devnet.api.status()["height"] >= height
    assert devnet.api.tx(tx.hash) == location
    announced = re.findall(r"incoop node \S+ serving \S+ at height (\d+)", devnet.node.log_text())
    assert len(announced) == 2 and int(announced[-1]) >= height


def run_start(home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "node.cli", "node", "start", "--home", str(home)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )


def test_refuses_a_store_of_another_genesis_and_a_wrong_password(tmp_path: Path) -> None:
    first = make_devnet(tmp_path / "one")
    second = make_devnet(tmp_path / "two")
    first.node.start()
    first.node.stop()
    # node two's home with node one's data: another genesis
    shutil.copytree(first.node.home / "data", second.node.home / "data")
    result = run_start(second.node.home)
    assert result.returncode != 0
    assert "another genesis" in result.stderr and result.stderr.count("\n") == 1, result.stderr
    shutil.rmtree(second.node.home / "data")

    (second.node.home / "node_key.pass").write_text("not the password\n")
    result = run_start(second.node.home)
    assert result.returncode != 0
    assert "cannot unlock the node key" in result.stderr and result.stderr.count("\n") == 1, result.stderr
