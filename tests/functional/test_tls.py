"""A federation over TLS, and a vault that will not be served in clear (docs/tls.md), on real node processes.

Scenario A (four validators, each with a certificate from the devnet's own CA
for 127.0.0.1 and localhost; the genesis gives https:// and wss:// URLs):
1. Every node prints its API as https://, every validator is connected to the
   three others over wss:// (the Ed25519 handshake inside TLS), and blocks
   are committed; a transfer posted over https:// is committed on all four,
   with the same blocks and valid certificates everywhere.
2. `incoop wallet balance anna` over https:// with INCOOP_CA_FILE works, and
   `incoop audit verify --node https://… --ca-file` verifies the chain.
3. Without the CA file, the same command fails with one line saying the
   certificate is refused; an http:// URL to the TLS port fails with one
   line asking whether the node serves https:// only.
4. The attack: a plain ws:// client (aiohttp, and a raw socket sending a
   websocket upgrade) to a TLS peer port gets nothing — no websocket, no
   HTTP answer, no listener hello — and the node's log holds none of the
   request's bytes; the federation keeps committing.

Scenario B (one validator whose vault is enabled, as the devnet's node0 is):
1. With api.host 0.0.0.0 and no TLS files, `incoop node start` exits 1 with
   one line refusing to serve the vault's records in plain HTTP, before it
   listens on anything.
2. On 127.0.0.1 but with an https:// URL among its peers, it exits 1 with one
   line: a peer URL is ws:// or wss://.
3. Back to the devnet's defaults, it starts, plain, on loopback.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from ledger.address import to_address
from node.config import load_config, write_config
from node.devnet_layout import DEMO_BALANCE
from tests.functional.framework import (
    REPO,
    Devnet,
    assert_all_agree,
    assert_committed_everywhere,
    incoop,
    make_devnet,
    wait_until,
)

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    devnet = make_devnet(tmp_path_factory.mktemp("tls-federation"), validators=4, tls=True)
    try:
        devnet.start_all()
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


def test_four_validators_commit_over_tls(federation: Devnet) -> None:
    devnet = federation
    for node in devnet.nodes:
        assert node.url.startswith("https://127.0.0.1:")
        assert f"serving {node.url} at height" in node.log_text()
        assert "WARNING" not in node.log_text(), "a TLS devnet on loopback has nothing to warn about"
    everyone = {to_address(k) for k in devnet.validator_keys()}
    for node in devnet.nodes:
        wait_until(lambda n=node: {p["address"] for p in n.api.status()["peers"]} | {n.api.status()["node_address"]}
                   == everyone, 20, what=f"{node.home.name} connected to the three others over wss://")
    assert all(v.p2p.startswith("wss://") for v in devnet.layout.genesis.validators)
    tx = devnet.transfer("anna", "marco", 125, devnet.next_nonce("anna"))
    devnet.api.submit(tx)
    devnet.api.wait_committed(tx.hash, 20)
    devnet.wait_height(devnet.api.status()["height"])
    assert_committed_everywhere(devnet, [tx.hash])
    assert assert_all_agree(devnet) >= 2


def test_the_wallet_and_the_auditor_use_https_with_the_federation_ca(federation: Devnet) -> None:
    devnet = federation
    shown = incoop(devnet, "wallet", "balance", "anna", "--json", node=1)
    assert '"demo-eur"' in shown.stdout
    anna = devnet.api.account(devnet.keys["anna"].pubkey)
    assert anna["balances"][0]["amount"] <= DEMO_BALANCE
    audit = incoop(devnet, "audit", "verify", "--genesis", str(devnet.layout.home / "genesis.json"),
                   "--node", devnet.nodes[2].url, "--ca-file", str(devnet.ca_file), "--quiet",
                   extra_env={"INCOOP_CA_FILE": ""})
    assert audit.stdout.startswith("verified ")


def test_without_the_ca_or_over_plain_http_the_wallet_fails_in_one_line(federation: Devnet) -> None:
    devnet = federation
    refused = incoop(devnet, "wallet", "balance", "anna", check=False, extra_env={"INCOOP_CA_FILE": ""})
    assert "its TLS certificate is refused: unable to get local issuer certificate" in refused.stderr
    assert "--ca-file or INCOOP_CA_FILE" in refused.stderr
    plain_url = devnet.node.url.replace("https://", "http://")
    plain = incoop(devnet, "wallet", "balance", "anna", "--node", plain_url, check=False)
    assert f"cannot reach node at {plain_url}" in plain.stderr and "(does it serve https:// only?)" in plain.stderr


def test_a_plain_ws_client_gets_nothing_from_a_tls_peer_port(federation: Devnet) -> None:
    devnet = federation
    node = devnet.nodes[3]
    port = load_config(node.home).p2p_port
    log_before = len(node.log_text())

    async def plain_websocket() -> None:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientError):
                await session.ws_connect(f"ws://127.0.0.1:{port}/p2p",
                                         timeout=aiohttp.ClientWSTimeout(ws_close=3))

    asyncio.run(asyncio.wait_for(plain_websocket(), 15))
    marker = "plain-upgrade-probe-7f3a"
    with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
        raw.sendall(f"GET /p2p HTTP/1.1\r\nHost: {marker}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert not answer.startswith(b"HTTP/"), answer[:80]
    assert answer == b"" or answer[0] == 0x15, f"at most a TLS alert record, got {answer[:16]!r}"
    assert marker not in node.log_text()[log_before:]
    height = node.api.status()["height"]
    node.api.wait_height(height + 2, 20)


def test_a_vault_node_refuses_a_network_address_without_tls_and_stays_plain_on_loopback(tmp_path: Path) -> None:
    devnet = make_devnet(tmp_path, validators=1)
    home = devnet.node.home
    config = load_config(home)
    assert config.vault.enabled and not config.tls.enabled and config.api.host == "127.0.0.1"
    config.api.host = "0.0.0.0"
    write_config(home, config)
    proc = subprocess.run([sys.executable, "-m", "node.cli", "node", "start", "--home", str(home)],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "incoop: refusing to serve the vault's personal records in plain HTTP on every interface "
        "(api.host '0.0.0.0'); set tls.cert_file and tls.key_file (docs/tls.md) or bind api.host to 127.0.0.1"
    ]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", config.api.port), timeout=2).close()
    config.api.host = "127.0.0.1"
    config.peers = ["https://127.0.0.1:1"]  # a peer URL is ws:// or wss://
    write_config(home, config)
    proc = subprocess.run([sys.executable, "-m", "node.cli", "node", "start", "--home", str(home)],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "incoop: bad peer URL 'https://127.0.0.1:1': expected ws://host:port or wss://host:port")
    config.peers = None
    write_config(home, config)
    try:
        devnet.node.start()
        assert devnet.node.url.startswith("http://127.0.0.1:")
        assert devnet.api.status()["height"] >= 0
        assert "WARNING" not in devnet.node.log_text()
    finally:
        devnet.cleanup()
