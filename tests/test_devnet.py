"""`incoop devnet`, as a person runs it: start, Ctrl-C, run again to resume, --reset to start over.

1. start a devnet (four validators and one observer) on free ports; it reports its layout once every
   node answers and the demo federation's first day (identities, attestations, credits) is played
2. the chain grows (heartbeat blocks) on every node; Ctrl-C stops it with status 0
3. a second run resumes the same chain (same genesis, height not lower)
4. --reset starts a new chain; asking for a different shape without --reset, or for zero validators,
   is a one-line error
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.functional.framework import free_port_block

pytestmark = pytest.mark.timeout(180)


def _status(url: str) -> dict:
    with urllib.request.urlopen(url + "/v1/status", timeout=5) as response:
        return json.loads(response.read())


def _account(url: str, wallet_dir: str, label: str) -> dict:
    address = json.loads(Path(wallet_dir, f"{label}.json").read_text())["address"]
    with urllib.request.urlopen(f"{url}/v1/accounts/{address}", timeout=5) as response:
        return json.loads(response.read())


class Devnet:
    def __init__(self, home: Path, port: int, *extra: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "devnet", "--home", str(home), "--base-port", str(port), "--json", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def layout(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"devnet exited: {self.proc.wait()} {self.proc.stderr.read()}")
        return json.loads(line)

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=30)


def test_devnet_starts_stops_on_ctrl_c_and_resumes(tmp_path):
    home = tmp_path / "devnet"
    port = free_port_block(10)
    first = Devnet(home, port, "--observers", "1")
    try:
        layout = first.layout()
        nodes = layout["nodes"]
        assert [(n["name"], n["role"]) for n in nodes] == [
            ("node0", "validator"), ("node1", "validator"), ("node2", "validator"), ("node3", "validator"),
            ("observer0", "observer"),
        ]
        url = nodes[0]["api"]
        assert url == f"http://127.0.0.1:{port}"
        assert Path(layout["wallet_dir"], "anna.json").exists()
        genesis_hash = _status(url)["genesis_hash"]
        deadline = time.monotonic() + 30
        while min(_status(n["api"])["height"] for n in nodes) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        height = _status(url)["height"]
        assert min(_status(n["api"])["height"] for n in nodes) >= 1, "no heartbeat block on every node within 30 s"
        assert len(_status(url)["peers"]) == 4, "a validator peers with the three others and the observer"
        # the demo federation's first day was played: identities, attestations, credits with rules
        anna = _account(url, layout["wallet_dir"], "anna")
        assert anna["identity"] is not None
        assert {b["class"]: b["amount"] for b in anna["balances"]}["welfare-acme-2026"] == 50_000
        sara = _account(url, layout["wallet_dir"], "sara")
        assert {b["class"] for b in sara["balances"]} >= {"virtu-trento", "gas-trento"}
        with urllib.request.urlopen(f"{url}/v1/identities/{sara['identity']}", timeout=5) as response:
            attributes = {a["attribute"] for a in json.loads(response.read())["attestations"]}
        assert attributes == {"resident:trento", "member:gas-trento"}
    finally:
        assert first.interrupt() == 0

    refused = subprocess.run(
        [sys.executable, "-m", "node.cli", "devnet", "--home", str(home), "--validators", "7"],
        capture_output=True, text=True, timeout=60,
    )
    assert refused.returncode == 1 and "--reset" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1

    second = Devnet(home, port)
    try:
        second.layout()
        status = _status(url)
        assert status["genesis_hash"] == genesis_hash
        assert status["height"] >= height
    finally:
        assert second.interrupt() == 0

    third = Devnet(home, port, "--reset")
    try:
        third.layout()
        assert _status(url)["genesis_hash"] != genesis_hash
    finally:
        assert third.interrupt() == 0


def test_devnet_refuses_a_federation_without_validators(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "node.cli", "devnet", "--home", str(tmp_path / "d"), "--validators", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("incoop: --validators 0") and len(proc.stderr.strip().splitlines()) == 1
