"""A transaction worker killed while the node works: it is replaced and the node keeps admitting.

Scenario (node/txworkers.py, docs/operations.md "Transaction workers"):
1. One validator with two transaction workers; 20 funded senders pay anna in a batch of 100
   (a batch of at least node/txworkers.py MIN_BATCH goes to the workers): admitted and committed.
2. The attack: SIGKILL one worker process while a stream of batches is being submitted.
3. Every batch submitted after the kill is answered (never a hang, never a stall), every
   transfer is admitted and commits, and a forged signature is still refused (BAD_SIGNATURE):
   the new workers verify; the log says a worker died and a new pool started.
4. SIGKILL the node itself: its workers go with it (no orphans).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.crypto import SigningKey
from ledger.tx import Tx, decode_tx
from node.txworkers import MIN_BATCH
from tests.functional.framework import Devnet, running_devnet, wait_until

SENDERS = [SigningKey(bytes([i + 1]) * 32) for i in range(20)]
PER_SENDER = MIN_BATCH // len(SENDERS)  # a batch: every sender's next PER_SENDER nonces

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def devnet(tmp_path: Path) -> Iterator[Devnet]:
    yield from running_devnet(tmp_path / "devnet", tx_workers=2, funded=[k.pubkey for k in SENDERS])


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry))
    return out


def _workers(node_pid: int) -> list[int]:
    """The node's worker processes (spawned: its children running multiprocessing's spawn; not the
    resource tracker)."""
    return [pid for pid in _children(node_pid) if b"multiprocessing.spawn" in _cmdline(pid)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _forged(tx: Tx) -> bytes:
    raw = bytearray(tx.raw)
    raw[-1] ^= 1  # the signature's last byte: still a well-formed transaction
    return bytes(raw)


def _batch(devnet: Devnet, round_: int) -> list[Tx]:
    return [devnet.transfer(key, "anna", 1, round_ * PER_SENDER + i) for i in range(PER_SENDER) for key in SENDERS]


def test_a_killed_worker_is_replaced_and_admission_goes_on(devnet: Devnet) -> None:
    api, node = devnet.api, devnet.node
    first = _batch(devnet, 0)
    assert len(first) >= MIN_BATCH
    assert [r.get("status") for r in api.submit_batch(first)] == ["pending"] * len(first)
    api.wait_committed(first[-1].hash)
    workers = wait_until(lambda: len(_workers(node.process.pid)) == 2 and _workers(node.process.pid),
                         what="two transaction workers")

    # a stream of batches, and one worker killed in the middle of it
    answered: list[list[dict]] = []
    sent: list[Tx] = []
    killed = threading.Event()

    def stream() -> None:
        for round_ in range(1, 11):  # 50 nonces a sender: within the pending window (64) even if none commits
            batch = _batch(devnet, round_)
            sent.extend(batch)
            answered.append(api.submit_batch(batch))
            if round_ == 3:
                os.kill(workers[0], signal.SIGKILL)
                killed.set()

    thread = threading.Thread(target=stream)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "a batch was never answered after a worker was killed"
    assert killed.is_set()
    refused = [r for batch in answered for r in batch if "error" in r]
    assert refused == [], refused
    api.wait_committed(sent[-1].hash, timeout=30)
    assert all(api.tx(tx.hash)["status"] == "committed" for tx in sent[::17])

    # the replacement workers still verify: a forged signature is refused, a good one admitted
    replaced = wait_until(lambda: len(_workers(node.process.pid)) == 2 and _workers(node.process.pid),
                          what="two transaction workers again")
    assert workers[0] not in replaced
    last = _batch(devnet, 11)
    forged = decode_tx(_forged(last[0]))
    results = api.submit_batch([forged, *last[1:]])
    assert results[0]["error"]["code"] == "BAD_SIGNATURE"
    assert results[1]["status"] == "pending"
    assert api.submit_batch([last[0]])[0]["status"] == "pending"
    api.wait_committed(last[0].hash)
    assert "a worker process died; started a new pool of 2" in node.log_text()

    # the node killed: its workers (and every other child) exit with it
    family = _children(node.process.pid) + replaced
    node.kill()
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in family),
               timeout=10, what="the node's worker processes to exit after the node was killed")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
