"""The API's bounded edges on a real node process, each written as the attack (issue 12, findings 4 to 6).

Scenario (one devnet validator with the vault enabled for the `federation`
registrar, default API limits except where a step says otherwise):
1. Junk (128 KiB: random bytes, an endless request line, an endless header,
   a JSON body whose key is 128 KiB, an 8 KiB content type) is answered 400
   (or 415) in the contract's JSON, quoting at most 64 bytes of it; node.log
   grows by a few hundred bytes per junk request, and a flood of 300 junk
   requests by a few lines in all. The node serves on.
2. 500 idle and 500 slow-header connections (one byte a second) are opened
   against the default cap of 512; meanwhile `GET /v1/status` answers and a
   `wallet send` is admitted and committed, both quickly; every attack
   connection is closed by the header deadline (10 s) or earlier to make
   room, and /metrics counts them.
3. A fresh key with no business in the vault sends 100,000 signed vault
   requests, pipelined, within the 60 s replay window: every one is 403 and
   none is remembered; the registrar then stores and reads a record (no 429).
   A subject reading its own record past its share of the replay memory gets
   429; the registrar is still served.
4. (A node of its own, a block every 10 ms) with a 64 KiB log limit and two backups, a node
   logging at DEBUG under load keeps node.log and its backups within bounds.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import selectors
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from keys.request_auth import sign_request
from ledger.address import to_address
from ledger.crypto import SigningKey
from node.config import load_config
from node.devnet_layout import DEMO_CLASS
from tests.functional.framework import Devnet, incoop, make_devnet, wait_until
from tests.functional.test_vault_api import ANNA_RECORD, MARCO_RECORD, register_identity
from wallet.client import NodeClient, NodeError

PREFIX = 64
HEADER_TIMEOUT_S = 10.0  # the default api.header_timeout_s


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    devnet = make_devnet(tmp_path_factory.mktemp("limits") / "devnet")
    try:
        vault = load_config(devnet.node.home).vault  # the devnet's node 0 keeps the federation's vault
        assert vault.enabled and vault.registrar == to_address(devnet.keys["federation"].pubkey)
        devnet.start_all(devnet.validators)
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


def address_of(devnet: Devnet) -> tuple[str, int]:
    host, port = devnet.node.url.removeprefix("http://").split(":")
    return host, int(port)


def exchange(devnet: Devnet, data: bytes, timeout: float = 10.0) -> tuple[int, dict]:
    """Send raw bytes on a new connection and read one JSON answer: (status, body)."""
    with socket.create_connection(address_of(devnet), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the node answered and closed before reading it all
        reader = sock.makefile("rb")
        status_line = reader.readline()
        status = int(status_line.split(b" ", 2)[1])
        headers = {}
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        assert headers["content-type"].startswith("application/json"), headers
        return status, json.loads(reader.read(int(headers["content-length"])))


def log_size(devnet: Devnet) -> int:
    return sum(p.stat().st_size for p in devnet.node.log_files() if p.exists())


def metric(devnet: Devnet, name: str) -> float:
    text = devnet.api.request("GET", "/metrics")[1].decode()
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match[1])


# --- 1. junk ------------------------------------------------------------------------------------


def junk_requests() -> list[tuple[str, bytes, int]]:
    z = b"Z" * (128 * 1024)
    key = "K" * (128 * 1024)
    body = json.dumps({"tx": "00", key: 1}).encode()
    return [
        ("random bytes", os.urandom(128 * 1024), 400),
        ("printable junk", z, 400),
        ("an endless request line", b"GET /" + z + b" HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("an endless header", b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Junk: " + z + b"\r\n\r\n", 400),
        ("a 128 KiB JSON key", b"POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body, 400),
        ("an 8 KiB content type", b"POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: a/" + b"C" * 8000
         + b"\r\nContent-Length: 2\r\n\r\n{}", 415),
        ("an 8 KiB path", b"GET /v1/" + b"P" * 8000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    ]


def test_junk_is_answered_with_a_prefix_and_grows_the_log_by_a_bounded_amount(devnet: Devnet) -> None:
    for what, data, expected in junk_requests():
        before = log_size(devnet)
        status, body = exchange(devnet, data)
        assert status == expected, (what, body)
        message = body["error"]["message"]
        for filler in "ZKCP":
            assert filler * (PREFIX + 1) not in message, (what, message)
        assert len(message) <= 320, (what, message)
        time.sleep(0.05)
        grown = log_size(devnet) - before
        print(f"{what}: {len(data)} bytes sent, answer message {len(message)} chars, node.log +{grown} bytes")
        assert grown <= 512, f"{what}: node.log grew by {grown} bytes"
    # a flood: 300 junk requests write a few lines, each under the budget, not one per request
    before = log_size(devnet)
    for _ in range(300):
        assert exchange(devnet, b"\x16\x03\x01" + os.urandom(4096))[0] == 400
    time.sleep(0.2)
    grown = log_size(devnet) - before
    print(f"300 junk requests: node.log +{grown} bytes")
    assert grown <= 12 * 400, f"node.log grew by {grown} bytes"
    assert "Traceback" not in devnet.node.log_text()
    assert metric(devnet, "incoop_api_malformed_requests_total") >= 300
    devnet.api.status()


# --- 2. idle and slow-header connections ------------------------------------------------------------


class SlowHeads(threading.Thread):
    """Sends one more byte of a never-ending request head to each socket, once a second."""

    def __init__(self, socks: list[socket.socket]):
        super().__init__(daemon=True)
        self.socks = list(socks)
        self.halt = threading.Event()

    HEAD = b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 10_000

    def run(self) -> None:
        sent = 1  # the first byte went with the connection
        while not self.halt.wait(1.0):
            for sock in self.socks:
                try:
                    sock.send(self.HEAD[sent:sent + 1])
                except OSError:
                    pass  # closed by the node
            sent += 1


def wait_all_closed(socks: list[socket.socket], timeout: float) -> dict[int, float]:
    """Seconds until each socket was closed by the node (EOF or reset), by index."""
    start = time.monotonic()
    closed: dict[int, float] = {}
    selector = selectors.DefaultSelector()
    for i, sock in enumerate(socks):
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, i)
    while len(closed) < len(socks):
        remaining = timeout - (time.monotonic() - start)
        assert remaining > 0, f"{len(socks) - len(closed)} attack connections still open after {timeout} s"
        for key, _ in selector.select(min(remaining, 1.0)):
            try:
                data = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                closed[key.data] = time.monotonic() - start
                selector.unregister(key.fileobj)
    selector.close()
    return closed


def test_idle_and_slow_header_connections_do_not_stop_a_legitimate_request(devnet: Devnet) -> None:
    target = address_of(devnet)
    malformed = metric(devnet, "incoop_api_malformed_requests_total")
    marco = to_address(devnet.keys["marco"].pubkey)
    start = time.monotonic()
    incoop(devnet, "wallet", "send", "--from", "anna", "--to", marco, "--class", DEMO_CLASS, "--amount", "1")
    print(f"unloaded: wallet send (committed) {time.monotonic() - start:.2f} s")
    opened_at = time.monotonic()
    idle = [socket.create_connection(target, timeout=10) for _ in range(500)]
    slow = [socket.create_connection(target, timeout=10) for _ in range(500)]
    for sock in slow:
        sock.send(SlowHeads.HEAD[:1])
    dripping = SlowHeads(slow)
    dripping.start()
    try:
        print(f"1000 attack connections opened in {time.monotonic() - opened_at:.2f} s")
        start = time.monotonic()
        status = devnet.api.status()
        status_s = time.monotonic() - start
        start = time.monotonic()
        sent = incoop(devnet, "wallet", "send", "--from", "anna", "--to", marco, "--class", DEMO_CLASS, "--amount", "1",
                      "--json")
        send_s = time.monotonic() - start
        result = json.loads(sent.stdout)
        print(f"during the attack: GET /v1/status {status_s * 1000:.0f} ms, wallet send (committed) {send_s:.2f} s")
        assert status["height"] >= 0 and status_s < 2.0
        assert devnet.api.tx(bytes.fromhex(result["hash"]))["status"] == "committed"
        assert send_s < 15.0
        closed = wait_all_closed(idle + slow, HEADER_TIMEOUT_S + 10)
    finally:
        dripping.halt.set()
        for sock in idle + slow:
            sock.close()
    last = max(closed.values())
    print(f"all 1000 closed by the node; the last {last:.1f} s after the wait began "
          f"({time.monotonic() - opened_at:.1f} s after the first was opened)")
    assert last <= HEADER_TIMEOUT_S + 5
    evicted = metric(devnet, "incoop_api_connections_evicted_total")
    header = metric(devnet, 'incoop_api_connections_timed_out_total{phase="header"}')
    print(f"/metrics: evicted {evicted:.0f}, header timeouts {header:.0f}")
    assert evicted + header == 1000, "each attack connection was closed for its silence, none for anything else"
    assert metric(devnet, "incoop_api_malformed_requests_total") == malformed
    wait_until(lambda: metric(devnet, "incoop_api_connections") <= 2, 5, what="open connections back to the scraper's")


# --- 3. the vault's replay memory -----------------------------------------------------------------------


def signed_get(devnet: Devnet, key: SigningKey, target: str, time_ms: int) -> bytes:
    headers = sign_request(key, devnet.chain_id, "GET", target, b"", time_ms)
    lines = [f"GET {target} HTTP/1.1", "Host: node"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def pipelined(host: str, port: int, requests: list[bytes]) -> Counter[int]:
    """Send the requests back to back on one connection, read every answer: statuses counted."""
    reader, writer = await asyncio.open_connection(host, port)
    statuses: Counter[int] = Counter()

    async def answers() -> None:
        for _ in range(len(requests)):
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: (\d+)", head)[1])
            await reader.readexactly(length)
            statuses[int(head[9:12])] += 1

    reading = asyncio.create_task(answers())
    for i in range(0, len(requests), 500):
        writer.write(b"".join(requests[i:i + 500]))
        await writer.drain()
    await reading
    writer.close()
    return statuses


async def flood(host: str, port: int, requests: list[bytes], connections: int) -> Counter[int]:
    parts = await asyncio.gather(*(pipelined(host, port, requests[i::connections]) for i in range(connections)))
    return sum(parts, Counter())


def test_a_strangers_100000_signed_requests_do_not_lock_the_registrar_out(devnet: Devnet) -> None:
    """Dated 50 s ahead, each request is fresh for 110 s after signing and would be remembered as long:
    the strongest form of the flood against a memory filled before authorisation (the finding)."""
    stranger = SigningKey.generate()
    ahead = int(time.time() * 1000) + 50_000
    started = time.monotonic()
    requests = [signed_get(devnet, stranger, f"/v1/vault/records/{i:032x}", ahead + i % 1000) for i in range(100_000)]
    signed_s = time.monotonic() - started
    statuses = asyncio.run(flood(*address_of(devnet), requests, connections=4))
    elapsed = time.monotonic() - started
    print(f"100,000 signed vault requests from a fresh key: signed in {signed_s:.1f} s, all answered "
          f"{elapsed:.1f} s after the first signature ({100_000 / (elapsed - signed_s):.0f}/s): {dict(statuses)}")
    assert statuses == Counter({403: 100_000})
    assert elapsed < 100, "the flood must fit in the requests' freshness (110 s) to be the attack"
    # the registrar at once: stores, reads, exports its record
    registrar = NodeClient(devnet.node.url, signer=devnet.keys["federation"], chain_id=devnet.chain_id)
    record_id = os.urandom(16)
    stored = registrar.vault_store(record_id, MARCO_RECORD)
    assert registrar.vault_record(record_id)["commitment"] == stored["commitment"]
    assert registrar.vault_export(record_id)["id"] == record_id.hex()
    assert metric(devnet, 'incoop_vault_refused_total{code="FORBIDDEN"}') >= 100_000
    assert metric(devnet, 'incoop_vault_replay_entries{memory="subjects"}') == 0


def test_a_subject_past_its_share_is_refused_and_the_registrar_is_not(devnet: Devnet) -> None:
    registrar = NodeClient(devnet.node.url, signer=devnet.keys["federation"], chain_id=devnet.chain_id)
    subject = SigningKey.generate()
    record_id = os.urandom(16)
    stored = registrar.vault_store(record_id, ANNA_RECORD)
    register_identity(devnet, record_id, ANNA_RECORD, stored["commitment"], subject)
    share = load_config(devnet.node.home).vault.replay_entries_per_subject
    now = int(time.time() * 1000)
    requests = [signed_get(devnet, subject, f"/v1/vault/records/{record_id.hex()}", now + i) for i in range(share + 50)]
    statuses = asyncio.run(flood(*address_of(devnet), requests, connections=1))
    print(f"a subject's {share + 50} reads of its own record: {dict(statuses)}")
    assert statuses == Counter({200: share, 429: 50})
    with pytest.raises(NodeError) as refused:
        NodeClient(devnet.node.url, signer=subject, chain_id=devnet.chain_id).vault_export(record_id)
    assert (refused.value.status, refused.value.code) == (429, "TOO_MANY_REQUESTS")
    assert registrar.vault_record(record_id)["commitment"] == stored["commitment"]


# --- 4. the rotating log -------------------------------------------------------------------------------


def test_the_node_log_rotates_within_its_bounds(tmp_path: Path) -> None:
    """DEBUG writes two lines a block (proposing, committed) whatever the block holds, so what fills the log is
    blocks: about 580 fill two 64 KiB files. At the config's fastest block interval (10 ms), with a transfer
    always pending, they come in a few seconds (the earlier batches with pauses took half a minute)."""
    devnet = make_devnet(tmp_path / "devnet", log_level="DEBUG", log_max_bytes=64 * 1024, log_backups=2,
                         block_interval_ms=10)
    try:
        devnet.start_all(devnet.validators)
        senders = ["anna", "marco"]
        nonce = {name: devnet.next_nonce(name) for name in senders}
        deadline = time.monotonic() + 60
        turn = 0
        while not (devnet.node.home / "node.log.2").exists():
            assert time.monotonic() < deadline, "the log never rotated twice"
            sender = senders[turn % 2]
            devnet.api.submit(devnet.transfer(sender, senders[1 - turn % 2], 1, nonce[sender]))
            nonce[sender] += 1
            turn += 1
        files = devnet.node.log_files()
        sizes = {p.name: p.stat().st_size for p in files if p.exists()}
        print(f"log files under DEBUG load ({turn} transfers): {sizes}")
        assert set(sizes) == {"node.log", "node.log.1", "node.log.2"}
        assert all(size <= 64 * 1024 + 8192 for size in sizes.values()), sizes
        assert devnet.node.out_text().count("\n") <= 2, "the node writes its log itself, not to stdout/stderr"
    finally:
        devnet.cleanup()
        devnet.print_logs()
