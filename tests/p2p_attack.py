"""A stranger's tools against a node's p2p port, on plain blocking sockets (no aiohttp in the way).

Used by the unit tests (tests/test_p2p.py) and the attacks on real node
processes (tests/functional/test_p2p_attacks.py). Everything goes to
127.0.0.1 only, and every loop is bounded by a count or a deadline.
"""

from __future__ import annotations

import base64
import errno
import os
import selectors
import socket
import struct
import threading
import time

UPGRADE = (
    "GET /p2p HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    """A TCP connection to 127.0.0.1:port that has sent nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def upgrade(port: int, timeout: float = 5.0) -> socket.socket:
    """A websocket on /p2p, upgraded and past the listener's hello: the point where the handshake waits for us."""
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
    return sock


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


class SilentCrowd(threading.Thread):
    """`count` connections to a p2p port that never say a word, each re-opened as soon as it is closed.

    With `upgrade`, each one opens the websocket (so that it sits in the
    handshake) and then reads and ignores whatever comes; otherwise it is a
    bare TCP connection that sends nothing. One thread and non-blocking
    sockets, so that a thousand cost the attacker little; it runs until
    `stop()` or for `limit_s` at the most, and counts what it opened and what
    the node closed.
    """

    def __init__(self, port: int, count: int, upgrade: bool = True, limit_s: float = 120.0):
        super().__init__(daemon=True)
        self.port = port
        self.count = count
        self.upgrade = upgrade
        self.deadline = time.monotonic() + limit_s
        self.opened = 0
        self.closed = 0
        self.failed = 0
        self._halt = threading.Event()
        self._request = UPGRADE.format(port=port, key=base64.b64encode(os.urandom(16)).decode()).encode()

    def stop(self) -> None:
        self._halt.set()
        self.join(10)

    def run(self) -> None:
        sel = selectors.DefaultSelector()
        try:
            for _ in range(self.count):
                self._open(sel)
            while not self._halt.is_set() and time.monotonic() < self.deadline:
                for key, events in sel.select(0.1):
                    self._on_ready(sel, key.fileobj, key.data, events)
        finally:
            for key in list(sel.get_map().values()):
                key.fileobj.close()
            sel.close()

    def _open(self, sel: selectors.BaseSelector) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        err = sock.connect_ex(("127.0.0.1", self.port))
        if err not in (0, errno.EINPROGRESS):
            self.failed += 1
            sock.close()
            self._halt.wait(0.01)
            return self._open(sel) if not self._halt.is_set() else None
        sel.register(sock, selectors.EVENT_WRITE, "connecting")

    def _on_ready(self, sel: selectors.BaseSelector, sock: socket.socket, state: str, events: int) -> None:
        if state == "connecting":
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self.failed += 1
                return self._reopen(sel, sock)
            self.opened += 1
            if self.upgrade:
                sock.send(self._request)
            sel.modify(sock, selectors.EVENT_READ, "open")
            return None
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return None
        except OSError:
            data = b""
        if not data:
            self.closed += 1
            self._reopen(sel, sock)
        return None

    def _reopen(self, sel: selectors.BaseSelector, sock: socket.socket) -> None:
        sel.unregister(sock)
        sock.close()
        if not self._halt.is_set():
            self._open(sel)
