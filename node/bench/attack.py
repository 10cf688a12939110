"""The shapes of issue 12's attacks, as tools: flood transactions, posting as another machine, silent connections.

One place for what the benchmark's attacker (node/bench/attacker.py, the
"finality under attack" row) and the functional tests of the attacks
(tests/functional/test_admission_attacks.py, test_p2p_attacks.py,
tests/test_p2p.py) both send, so that the row measures the attacks the tests
prove are refused (docs/admission.md, docs/api-limits.md, docs/p2p.md).
Everything goes to loopback addresses only, and every loop is bounded by a
count or a deadline.

- Strangers: fresh keys the chain does not know, one transfer each (refused
  `UNKNOWN_SIGNER` before the signature is verified).
- Parking: keys the chain knows and funds, nonces after a gap (nonce 0 never
  sent), so that none can ever be included: held behind the gap under the
  parked budget, evicted after `mempool.parked_ttl_s`.
- Silent connections: TCP connections (or websocket upgrades on the p2p port)
  that never say a word, re-opened as soon as the node closes them.
"""

from __future__ import annotations

import base64
import errno
import http.client
import json
import os
import selectors
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from ledger.crypto import SigningKey
from ledger.encoding import encode
from ledger.tx import Tx
from node.bench.workload import in_parallel, transfer_tx

UPGRADE = (
    "GET /p2p HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
"""The websocket upgrade request of the p2p port (docs/p2p.md)."""


def stranger_txs(chain_id: str, count: int, to: bytes, expiry: int) -> list[Tx]:
    """`count` transfers of 1 credit to `to`, each from a fresh random key (nonce 0), signed on every core."""
    return in_parallel(lambda _: transfer_tx(chain_id, SigningKey.generate(), to, 0, expiry=expiry), count)


def parking_txs(chain_id: str, keys: Sequence[SigningKey], nonces: Iterable[int], to: bytes, expiry: int) -> list[Tx]:
    """Each key's transfers of 1 credit to `to` with the given nonces (key by key): with nonces from 1 on,
    each waits behind the missing nonce 0 for ever."""
    nonces = list(nonces)
    per_key = len(nonces)
    return in_parallel(lambda j: transfer_tx(chain_id, keys[j // per_key], to, nonces[j % per_key], expiry=expiry),
                       len(keys) * per_key)


def post_batch_from(url: str, source: str, raws: Sequence[bytes], timeout: float = 60.0) -> list[dict]:
    """POST /v1/txs/batch (canonical MessagePack) from the loopback address `source`, as another machine
    would: the node counts its share of the pool per client address (docs/admission.md). The results."""
    target = urlsplit(url)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request("POST", "/v1/txs/batch", encode(tuple(raws)), {"Content-Type": "application/msgpack"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise ConnectionError(f"POST /v1/txs/batch answered {response.status}: {body[:300]!r}")
        return json.loads(body)["results"]
    finally:
        conn.close()


class SilentCrowd(threading.Thread):
    """`count` connections to a port on 127.0.0.1 that never say a word, each re-opened as soon as it is closed.

    With `upgrade`, each one opens the p2p websocket (so that it sits in the
    handshake) and then reads and ignores whatever comes; otherwise it is a
    bare TCP connection that sends nothing (against the API port: an idle
    connection). One thread and non-blocking sockets, so that a thousand cost
    the attacker little; it runs until `stop()` or for `limit_s` at the most,
    and counts what it opened and what the node closed. With `source`, the
    connections come from that loopback address.
    """

    def __init__(self, port: int, count: int, upgrade: bool = True, limit_s: float = 120.0, source: str | None = None):
        super().__init__(daemon=True)
        self.port = port
        self.count = count
        self.upgrade = upgrade
        self.source = source
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
        self._retry_at: list[float] = []  # connections to try again (the port refused: node down)
        try:
            for _ in range(self.count):
                self._open(sel)
            while not self._halt.is_set() and time.monotonic() < self.deadline:
                for key, events in sel.select(0.05):
                    self._on_ready(sel, key.fileobj, key.data, events)
                now = time.monotonic()
                due = [t for t in self._retry_at if t <= now]
                self._retry_at = [t for t in self._retry_at if t > now]
                for _ in due:
                    self._open(sel)
        finally:
            for key in list(sel.get_map().values()):
                key.fileobj.close()
            sel.close()

    def _open(self, sel: selectors.BaseSelector) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            if self.source is not None:
                sock.bind((self.source, 0))
            code = sock.connect_ex(("127.0.0.1", self.port))
        except OSError:
            code = -1
        if code not in (0, errno.EINPROGRESS):
            self._failed(sock)
            return
        sel.register(sock, selectors.EVENT_WRITE, "connecting")

    def _failed(self, sock: socket.socket) -> None:
        self.failed += 1
        sock.close()
        self._retry_at.append(time.monotonic() + 0.1)

    def _on_ready(self, sel: selectors.BaseSelector, sock: socket.socket, state: str, events: int) -> None:
        if state == "connecting":
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                sel.unregister(sock)
                self._failed(sock)
                return None
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


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text from /metrics: each sample by its full name, labels included."""
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line and not line.startswith("#")}
