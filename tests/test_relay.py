"""The fault-injecting relay (tests/functional/relay.py) over real loopback sockets.

Partition tests of the node trust the relay to do exactly what it says: forward
bytes untouched, drop a cut link at once and keep it down, leave every other
link alone, delay by what it is told, and leave nothing running after stop.
Each of those is checked here against a plain echo server in a thread of its
own (not the relay's loop, so a stuck relay cannot also stall the server that
judges it).
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import socketserver
import threading
import time
import warnings
from collections.abc import Iterator

import pytest

from tests.functional.framework import wait_until
from tests.functional.relay import Relay

IO_TIMEOUT_S = 5.0


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        try:
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except OSError:
            pass  # the relay aborted the connection: exactly what cut tests do


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


@pytest.fixture
def echo_port() -> Iterator[int]:
    """An echo server on a free loopback port, served from its own thread."""
    server = _EchoServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(IO_TIMEOUT_S)


@pytest.fixture
def relay() -> Iterator[Relay]:
    with Relay() as r:
        yield r


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < n:
        chunk = sock.recv(min(65536, n - got))
        if not chunk:
            raise AssertionError(f"connection closed after {got} of {n} bytes")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def round_trip(sock: socket.socket, data: bytes = b"ping") -> float:
    """Send `data`, check it comes back unchanged; return the seconds it took."""
    start = time.monotonic()
    sock.sendall(data)
    assert recv_exactly(sock, len(data)) == data
    return time.monotonic() - start


def works(port: int) -> bool:
    """Whether a fresh connection through `port` echoes a message."""
    with connect(port) as sock:
        try:
            round_trip(sock)
        except (AssertionError, OSError):
            return False
        return True


def assert_closed(sock: socket.socket, within: float = 2.0) -> None:
    """The peer closed `sock` (EOF or reset) within `within` seconds; a timeout means it is still up."""
    sock.settimeout(within)
    try:
        data = sock.recv(65536)
    except ConnectionResetError:
        return
    except TimeoutError:
        raise AssertionError("connection still open") from None
    assert data == b"", f"connection still forwarding: got {data!r}"


def assert_refused(port: int) -> None:
    """A new connection to `port` is accepted and then closed at once, with nothing forwarded."""
    with connect(port) as sock:
        try:
            sock.sendall(b"ping")
        except OSError:
            return  # already reset: refused just as well
        assert_closed(sock)


def test_bytes_round_trip_intact(relay: Relay, echo_port: int) -> None:
    """A link forwards bytes unchanged both ways: 1 MiB of random bytes comes back whole, and stats count it."""
    port = relay.link(0, 1, echo_port)
    payload = os.urandom(1024 * 1024)
    with connect(port) as sock:
        # Send from a second thread: echo replies fill the buffers while we are still sending.
        sender = threading.Thread(target=sock.sendall, args=(payload,), daemon=True)
        sender.start()
        assert recv_exactly(sock, len(payload)) == payload
        sender.join(IO_TIMEOUT_S)
        assert round_trip(sock, b"small after large") < IO_TIMEOUT_S
    total = 2 * (len(payload) + len(b"small after large"))
    wait_until(lambda: relay.stats()[(0, 1)]["open"] == 0, timeout=3, what="connection closed")
    stats = relay.stats()[(0, 1)]
    assert stats["connections"] == 1
    assert stats["refused"] == 0
    assert stats["bytes_forwarded"] == total
    assert stats["bytes_to_dst"] == stats["bytes_to_src"] == total // 2


def test_link_is_one_listener_per_pair(relay: Relay, echo_port: int) -> None:
    """Asking for the same link again gives the same port; a different destination for it is an error."""
    port = relay.link(0, 1, echo_port)
    assert relay.link(0, 1, echo_port) == port
    assert relay.port(0, 1) == port
    assert relay.url(0, 1) == f"ws://127.0.0.1:{port}"
    assert relay.link(1, 0, echo_port) != port
    with pytest.raises(ValueError):
        relay.link(0, 1, echo_port + 1)


def test_destination_down_closes_the_dialer(relay: Relay) -> None:
    """When the dialed node is down the dialer's connection is closed at once and counted as failed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]  # nothing listens once the probe closes
    port = relay.link(0, 1, dead_port)
    assert_refused(port)
    wait_until(lambda: relay.stats()[(0, 1)]["failed"] == 1, timeout=3, what="failure counted")
    assert relay.stats()[(0, 1)]["connections"] == 0


def test_cut_drops_live_connection_refuses_new_and_heal_restores(
    relay: Relay, echo_port: int
) -> None:
    """`cut` aborts the live connection and refuses new ones on that link only; `heal` restores it."""
    cut_port = relay.link(0, 1, echo_port)
    other_port = relay.link(1, 0, echo_port)
    live = connect(cut_port)
    other = connect(other_port)
    try:
        round_trip(live)
        round_trip(other)

        relay.cut(0, 1)
        assert relay.is_cut(0, 1)
        assert not relay.is_cut(1, 0)
        assert_closed(live)
        assert_refused(cut_port)
        round_trip(other)  # the reverse link's live connection is untouched
        assert works(other_port)
        assert relay.stats()[(0, 1)]["refused"] >= 1

        relay.heal()
        assert not relay.is_cut(0, 1)
        assert works(cut_port)
        round_trip(other)
    finally:
        live.close()
        other.close()


def test_partition_cuts_between_groups_only(relay: Relay, echo_port: int) -> None:
    """`partition([0, 1], [2, 3])` cuts every link across the groups, both ways, and no link inside one;
    node 4, named in no group, keeps all its links; `is_cut` agrees with what the sockets see."""
    nodes = range(5)
    ports = {(i, j): relay.link(i, j, echo_port) for i in nodes for j in nodes if i != j}
    inside = connect(ports[(0, 1)])
    across = connect(ports[(0, 2)])
    try:
        round_trip(inside)
        round_trip(across)

        relay.partition([0, 1], [2, 3])
        group = {0: "a", 1: "a", 2: "b", 3: "b"}
        for (i, j), port in ports.items():
            expect_cut = i in group and j in group and group[i] != group[j]
            assert relay.is_cut(i, j) == expect_cut, (i, j)
            assert works(port) == (not expect_cut), (i, j)
        round_trip(inside)  # a live connection inside a group survives
        assert_closed(across)  # a live one across groups does not
    finally:
        inside.close()
        across.close()

    relay.heal()
    assert all(works(port) for port in ports.values())


def test_new_partition_replaces_old_and_isolate_adds(relay: Relay, echo_port: int) -> None:
    """A second `partition` replaces the first; `isolate` cuts all of one node's links on top of it;
    a link made after a rule obeys it; rules in one call may not put a node in two groups."""
    relay.partition([0, 1], [2])
    assert relay.is_cut(1, 2) and not relay.is_cut(0, 1)
    relay.partition([0], [2])  # node 1 is named no more: its links come back
    assert not relay.is_cut(1, 2) and not relay.is_cut(0, 1)
    assert relay.is_cut(0, 2) and relay.is_cut(2, 0)

    relay.heal()
    relay.isolate(3)
    late = relay.link(3, 0, echo_port)  # made after the rule
    assert relay.is_cut(3, 0) and relay.is_cut(0, 3)
    assert not relay.is_cut(0, 1)
    assert_refused(late)
    relay.heal()
    assert works(late)

    with pytest.raises(ValueError):
        relay.partition([0, 1], [1, 2])


def test_delay_adds_latency_not_a_throughput_cap(relay: Relay, echo_port: int) -> None:
    """`delay_ms` adds its delay each way to a round trip on that link only, pipelined (many chunks in
    flight are each delayed once, not one after another); 0 removes it."""
    delay_s = 0.1
    slow_port = relay.link(0, 1, echo_port)
    fast_port = relay.link(1, 0, echo_port)
    with connect(slow_port) as slow, connect(fast_port) as fast:
        baseline = min(round_trip(slow) for _ in range(3))
        assert baseline < delay_s / 2

        relay.delay_ms(0, 1, delay_s * 1000)
        assert round_trip(slow) >= 2 * delay_s
        assert round_trip(fast) < delay_s

        # 1 MiB is at least 16 reads each way: pipelined it comes back about 2 × delay after it
        # was sent; delayed one read after another it would take 16 × delay or more.
        payload = os.urandom(1024 * 1024)
        start = time.monotonic()
        sender = threading.Thread(target=slow.sendall, args=(payload,), daemon=True)
        sender.start()
        assert recv_exactly(slow, len(payload)) == payload
        sender.join(IO_TIMEOUT_S)
        assert 2 * delay_s <= time.monotonic() - start < 8 * delay_s

        relay.delay_ms(0, 1, 0)
        assert min(round_trip(slow) for _ in range(3)) < delay_s / 2
        with pytest.raises(ValueError):
            relay.delay_ms(0, 1, -1)


def test_stop_is_idempotent_closes_everything_and_leaks_nothing(
    echo_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """`stop()` closes listeners and live connections (even with delayed data in flight), joins the loop
    thread, can be called twice, and leaves no pending task or unclosed socket behind."""
    caplog.set_level(logging.WARNING, logger="asyncio")
    relay = Relay()
    relay.start()
    port = relay.link(0, 1, echo_port)
    slow_port = relay.link(1, 0, echo_port)
    relay.delay_ms(1, 0, 2000)
    live = connect(port)
    in_flight = connect(slow_port)
    try:
        round_trip(live)
        in_flight.sendall(b"held back by the delay")
        wait_until(lambda: relay.stats()[(1, 0)]["open"] == 1, timeout=3, what="slow link open")

        relay.stop()
        relay.stop()
        assert relay._thread is not None and not relay._thread.is_alive()
        assert_closed(live)
        assert_closed(in_flight)
        for p in (port, slow_port):
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", p), timeout=IO_TIMEOUT_S).close()
        with pytest.raises(RuntimeError):
            relay.link(2, 3, echo_port)
    finally:
        live.close()
        in_flight.close()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], caught
    assert not [r for r in caplog.records if r.name == "asyncio"], caplog.text
