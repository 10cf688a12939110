"""A stranger's tools against a node's p2p port, on plain blocking sockets (no aiohttp in the way).

Used by the unit tests (tests/test_p2p.py) and the attacks on real node
processes (tests/functional/test_p2p_attacks.py); the crowd of silent
connections, which the benchmark's attacker uses too, is in node/bench/attack.py.
Everything goes to 127.0.0.1 only, and every loop is bounded by a count or a deadline.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
import time

from node.bench.attack import UPGRADE


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    """A TCP connection to 127.0.0.1:port that has sent nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def upgrade(port: int, timeout: float = 5.0) -> socket.socket:
    """A websocket on /p2p, upgraded: the listener's hello is on its way and the handshake waits for us."""
    return upgrade_and_rest(port, timeout)[0]


def upgrade_and_rest(port: int, timeout: float = 5.0) -> tuple[socket.socket, bytes]:
    """`upgrade`, and whatever bytes came after the 101 response in the same reads."""
    sock = connect(port, timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(UPGRADE.format(port=port, key=key).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the upgrade")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"no upgrade: {head[:40]!r}")
    return sock, head.split(b"\r\n\r\n", 1)[1]


def read_server_frame(sock: socket.socket, rest: bytes = b"") -> bytes:
    """The payload of one short unmasked frame from the node (under 126 bytes, like the hello)."""
    data = rest
    while len(data) < 2 or len(data) < 2 + (data[1] & 0x7F):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data[2: 2 + (data[1] & 0x7F)]


def frame_header(length: int, opcode: int = 2) -> bytes:
    """The header of one final client frame (masked, as RFC 6455 requires of a client) of `length` bytes."""
    first = bytes([0x80 | opcode])
    if length < 126:
        size = bytes([0x80 | length])
    elif length < 1 << 16:
        size = bytes([0x80 | 126]) + struct.pack("!H", length)
    else:
        size = bytes([0x80 | 127]) + struct.pack("!Q", length)
    return first + size + b"\x00\x00\x00\x00"  # a zero mask: the payload goes as is


def closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    """Read and discard until the other side closes (True) or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            return False
        except OSError:  # reset: closed
            return True


def send_oversized_frame(port: int, declared: int, limit_s: float = 10.0) -> tuple[int, bool]:
    """Open a websocket and send one binary frame of `declared` bytes, as fast as the node takes it.

    Returns (payload bytes the node accepted before closing, whether it closed):
    a node that checks the declared length closes after the header.
    """
    sock = upgrade(port)
    sent = 0
    chunk = b"\x00" * (1 << 20)
    deadline = time.monotonic() + limit_s
    try:
        sock.sendall(frame_header(declared))
        while sent < declared and time.monotonic() < deadline:
            n = min(len(chunk), declared - sent)
            sock.sendall(chunk[:n])
            sent += n
        closed = closed_by_peer(sock, max(0.5, deadline - time.monotonic()))
    except OSError:
        closed = True
    finally:
        sock.close()
    return sent, closed


JUNK = {
    "binary": b"\x00\xff" * 65536,
    "long target": b"GET /" + b"A" * 131072 + b" HTTP/1.1\r\n\r\n",
    "long header": b"GET /p2p HTTP/1.1\r\nX-Junk: " + b"B" * 131072 + b"\r\n\r\n",
    "many headers": b"GET /p2p HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(5000)) + b"\r\n",
}
"""128 KiB or so of what is not a websocket upgrade, four ways (issue 12, finding 5)."""


def send_junk(port: int, junk: bytes, timeout: float = 5.0) -> bytes:
    """Send `junk` on a new connection and return everything the node answers before it closes."""
    sock = connect(port, timeout)
    try:
        try:
            sock.sendall(junk)
        except OSError:
            pass
        answer = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
        return answer
    finally:
        sock.close()
