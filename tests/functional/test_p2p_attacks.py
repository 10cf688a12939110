"""Strangers on the p2p port of real validators (issue 12, finding 3; docs/p2p.md), on loopback.

Scenarios, on validators started as real processes (the first two on one federation of four: the
oversized frames leave it whole, then a validator of it restarts):
- oversized frames before the handshake: eight connections each send a
  30 MiB frame to validator 0's p2p port at once, as the attack that took a
  node from 70 MB to 556 MB RSS did. Its RSS (/proc/PID/status VmRSS),
  sampled every 20 ms during the attack and after it, stays within 50 MB of
  its level before; each connection is closed having delivered far less
  than its frame; /metrics counts eight oversized frames; the node keeps
  committing with all its peers.
- silent connections while a validator restarts: 64 websockets that never
  answer the handshake and 64 bare TCP connections that never send a byte
  are held against every validator's p2p port, each re-opened as soon as the
  node closes it. Validator 3 is stopped and started again in the middle of
  it: it reconnects to its three peers, catches up, and its signature is in
  the certificates of new blocks again (once with validator 0 stopped, so
  that no block can commit without it). Then agreement, certificates and
  conservation as in every multi-node test.
- junk on the p2p port (finding 5, p2p half): 128 KiB of junk four ways
  (binary, a long target, a long header, 5,000 headers), ten times each, to a
  validator: every answer is a short 400 quoting none of it, the node's log
  grows by less than 1 KB and holds none of the junk.
- slow handshakes: with a 2 s handshake timeout, a websocket that never
  answers the hello, an HTTP upgrade request sent a byte every 0.3 s, a
  connection that sends nothing, and a dialer with a real key that answers
  the hello after 3 s are each closed about 2 s after they connected, and
  counted in /metrics; the log holds a bounded number of lines about them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ledger.crypto import SigningKey
from node.bench.attack import SilentCrowd
from node.config import load_config
from node.p2p.handshake import dialer_reply, new_challenge, read_listener_hello
from tests.functional.framework import Devnet, NodeProcess, make_devnet, wait_until
from tests.functional.test_consensus import check_invariants, progress
from tests.p2p_attack import (
    JUNK,
    closed_by_peer,
    connect,
    read_server_frame,
    send_junk,
    send_oversized_frame,
    upgrade,
    upgrade_and_rest,
)

pytestmark = pytest.mark.timeout(300)

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    """Four validators for the module's last two tests: the oversized frames leave them whole (the test
    shows they keep committing with all their peers), then the silent-connection test restarts one."""
    devnet = make_devnet(tmp_path_factory.mktemp("p2p") / "devnet", validators=4)
    try:
        devnet.start_all(devnet.validators)
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


def p2p_port(node: NodeProcess) -> int:
    return load_config(node.home).p2p_port


def rss_mb(node: NodeProcess) -> float:
    """The node process's resident set size in MB, from /proc."""
    with open(f"/proc/{node.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def metric(node: NodeProcess, name: str) -> float:
    """One value from the node's /metrics."""
    text = node.api.request("GET", "/metrics")[1].decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def peer_count(node: NodeProcess) -> int:
    return len(node.api.status()["peers"])


class RssSampler(threading.Thread):
    """The highest RSS of a node seen every 20 ms until stopped."""

    def __init__(self, node: NodeProcess):
        super().__init__(daemon=True)
        self.node = node
        self.peak = 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, rss_mb(self.node))
            self._halt.wait(0.02)

    def stop(self) -> float:
        self._halt.set()
        self.join(5)
        return self.peak


def signers(node: NodeProcess, height: int) -> set[str]:
    return {s["validator"] for s in node.api.block(height)["certificate"]["signatures"]}


def test_junk_on_the_p2p_port_is_neither_echoed_nor_logged(tmp_path: Path) -> None:
    devnet = make_devnet(tmp_path / "devnet", validators=1)
    try:
        devnet.start_all(devnet.validators)
        node = devnet.node
        port = p2p_port(node)
        log_before = node.log_path.stat().st_size
        for _ in range(10):
            for name, junk in JUNK.items():
                answer = send_junk(port, junk)
                assert answer.split(b" ", 2)[1] == b"400" and len(answer) < 300, (name, answer[:300])
                assert b"AAAA" not in answer and b"BBBB" not in answer
        grown = node.log_path.stat().st_size - log_before
        added = node.log_text()[-grown:] if grown else ""
        print(f"the log grew by {grown} bytes for 40 junk requests of about 128 KiB")
        assert grown < 1024, added
        assert "AAAA" not in added and "BBBB" not in added and "Traceback" not in added
        progress(node, 2)
    finally:
        devnet.cleanup()
        devnet.print_logs()


def test_slow_handshakes_are_closed_at_the_timeout(tmp_path: Path) -> None:
    devnet = make_devnet(tmp_path / "devnet", validators=4, p2p_handshake_timeout_s=2.0)
    try:
        devnet.start_all(devnet.validators)
        target = devnet.validators[0]
        port = p2p_port(target)
        log_lines_before = len(target.log_text().splitlines())
        timeouts_before = metric(target, "incoop_p2p_handshake_timeouts")

        def silent_websocket() -> float:
            sock, opened = upgrade(port), time.monotonic()
            assert closed_by_peer(sock, 6.0)
            return time.monotonic() - opened

        def dribbled_request() -> float:
            sock, opened = connect(port), time.monotonic()
            request = b"GET /p2p HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            try:
                for byte in request:
                    sock.sendall(bytes([byte]))
                    if closed_by_peer(sock, 0.3):
                        return time.monotonic() - opened
            except OSError:
                return time.monotonic() - opened
            raise AssertionError("the dribbled request was never closed")

        def silent_tcp() -> float:
            sock, opened = connect(port), time.monotonic()
            assert closed_by_peer(sock, 6.0)
            return time.monotonic() - opened

        def slow_dialer() -> float:
            (sock, rest), opened = upgrade_and_rest(port), time.monotonic()
            challenge_l = read_listener_hello(read_server_frame(sock, rest))
            reply = dialer_reply(SigningKey.generate(), devnet.chain_id, challenge_l, new_challenge())
            if closed_by_peer(sock, 3.0):  # it would have answered after 3 s
                return time.monotonic() - opened
            sock.sendall(bytes([0x82, 0x80 | len(reply)]) + b"\x00" * 4 + reply)
            raise AssertionError("a handshake answered after 3 s was not closed at the 2 s timeout")

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(f) for f in (silent_websocket, dribbled_request, silent_tcp, slow_dialer)]
            durations = [f.result() for f in futures]
        print(f"closed after {[round(d, 2) for d in durations]} s (timeout 2 s)")
        for duration in durations:
            assert 1.5 <= duration <= 3.5, durations
        wait_until(lambda: metric(target, "incoop_p2p_handshake_timeouts") - timeouts_before == 4, 5,
                   what="four timeouts counted")
        assert metric(target, "incoop_p2p_pending_handshakes") == 0
        new_lines = target.log_text().splitlines()[log_lines_before:]
        about_them = [line for line in new_lines if "no handshake within" in line]
        assert 1 <= len(about_them) <= 2, about_them  # one line per 10 s for the kind, not one per connection
        progress(target, 2)
        assert peer_count(target) == 3
    finally:
        devnet.cleanup()
        devnet.print_logs()


def test_oversized_frames_before_the_handshake_do_not_grow_the_node(federation: Devnet) -> None:
    target = federation.validators[0]
    port = p2p_port(target)
    wait_until(lambda: peer_count(target) == 3, 20, what="validator 0 connected to its peers")
    progress(target, 2)
    time.sleep(1)
    before = rss_mb(target)
    sampler = RssSampler(target)
    sampler.start()
    declared = 30 * MIB
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: send_oversized_frame(port, declared, 20.0), range(8)))
    time.sleep(1)
    peak = sampler.stop()
    after = rss_mb(target)
    print(f"validator 0 RSS: {before:.1f} MB before, {peak:.1f} MB peak during, {after:.1f} MB after; "
          f"frames accepted before the close: {[round(sent / MIB, 1) for sent, _ in results]} MiB")
    assert all(closed for _, closed in results), results
    assert all(sent < declared // 4 for sent, _ in results), "the node read a large part of a frame"
    assert peak - before < 50 and after - before < 50, (before, peak, after)
    assert metric(target, "incoop_p2p_oversized_frames") == 8
    assert metric(target, "incoop_p2p_pending_handshakes") == 0
    progress(target, 3)
    assert peer_count(target) == 3
    tx = federation.transfer("anna", "marco", 3, federation.targets_nonce("anna", [target]))
    target.api.submit(tx)
    target.api.wait_committed(tx.hash, timeout=20)
    check_invariants(federation, [tx.hash])


def test_a_validator_restarts_and_signs_again_while_silent_connections_are_held(federation: Devnet) -> None:
    validators = federation.validators
    victim = validators[3]
    victim_address = federation.layout.genesis.validators[3].pubkey
    wait_until(lambda: all(peer_count(v) == 3 for v in validators), 20, what="a full mesh")
    crowds = []
    for node in validators:
        crowds += [SilentCrowd(p2p_port(node), 64, upgrade=True, limit_s=150),
                   SilentCrowd(p2p_port(node), 64, upgrade=False, limit_s=150)]
    for crowd in crowds:
        crowd.start()
    try:
        wait_until(lambda: all(metric(v, "incoop_p2p_pending_handshakes") >= 100 for v in validators), 20,
                   what="the silent connections held on every validator")
        victim.stop()
        progress(validators[0], 2)
        time.sleep(6)  # past one handshake timeout: the crowd has been closed once and is back
        live = crowds[:6]  # those against validators 0-2: closed at the timeout, opened again
        assert all(c.closed >= 32 and c.opened >= 96 for c in live), [(c.opened, c.closed) for c in crowds]
        restarted_at = time.monotonic()
        victim.start()
        wait_until(lambda: peer_count(victim) == 3, 30, what="the restarted validator to reconnect to all three")
        reconnected_s = time.monotonic() - restarted_at
        wait_until(lambda: victim.api.status()["height"] >= validators[0].api.status()["height"] - 1, 30,
                   what="the restarted validator to catch up")
        start = validators[0].api.status()["height"]
        wait_until(lambda: any(victim_address in signers(validators[0], h)
                               for h in range(start + 1, validators[0].api.status()["height"] + 1)),
                   30, 0.2, what="a certificate with the restarted validator's signature")
        # now no block can commit without it: validator 0 stops, three remain
        validators[0].stop()
        remaining = validators[1:]
        tx = federation.transfer("anna", "marco", 7, federation.targets_nonce("anna", remaining))
        remaining[0].api.submit(tx)
        committed = remaining[0].api.wait_committed(tx.hash, timeout=30)
        assert victim_address in signers(remaining[0], committed["height"])
        pending = [metric(v, "incoop_p2p_pending_handshakes") for v in remaining]
        timeouts = [metric(v, "incoop_p2p_handshake_timeouts") for v in remaining]
        print(f"restarted validator reconnected in {reconnected_s:.1f} s; pending on the others: {pending}; "
              f"handshake timeouts: {timeouts}; crowd opened {sum(c.opened for c in crowds)} connections")
        assert all(p >= 100 for p in pending), "the attack was still on"
    finally:
        for crowd in crowds:
            crowd.stop()
    check_invariants(federation, [tx.hash], validators[1:])
