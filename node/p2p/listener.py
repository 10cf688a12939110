"""The p2p port's HTTP server: every inbound connection is pending until its handshake proves a key.

aiohttp's low-level server, told of each connection as it is accepted, so
that the bounds of docs/p2p.md hold from the first byte, not only once a
websocket is open:

- a pending connection is closed when the handshake timeout (counted from
  the accept) passes, whether it is silent, still sending its HTTP request or
  stuck in the handshake;
- pending connections live in a `PendingPool`: a new one that does not fit
  evicts an old one (node.p2p.pending says which, and why never the new one);
- the HTTP request that opens the websocket is read with small header limits,
  and a malformed one is answered with its status alone: never with its own
  bytes echoed back or written to the log (issue 12, finding 5).

Closing here is `abort()`: nothing is owed to a connection that proved
nothing, and its buffers go at once. The handler (node.p2p.peers) calls
`authenticated` once a key is proven and allowed; from then on the connection
is bounded by the validator and observer set, not by this pool.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web

from node.p2p.lograte import LogLimiter
from node.p2p.pending import PendingPool, address_group

log = logging.getLogger("incoop.p2p")

MAX_REQUEST_LINE = 2048
MAX_HEADER_FIELD = 2048
MAX_HEADERS = 32
"""The upgrade request of a dialer is a request line and about eight short headers."""
DESCRIPTOR_RESERVE = 2048
"""Open files the rest of the node may need beside pending p2p connections: LevelDB keeps up to
1000 table files open per store (the chain's, and the vault's), plus peers and API clients."""


@dataclass
class _Pending:
    transport: Any
    address: str
    deadline: float
    timer: asyncio.TimerHandle


class GuardedServer(web.Server):
    """aiohttp's `web.Server` with the pending-connection pool and the handshake deadline.

    `stats` is the peer manager's counter dict; this server adds to its
    `evicted` and `handshake_timeouts` entries.
    """

    def __init__(
        self,
        handler: Any,
        *,
        handshake_timeout_s: float,
        max_pending: int,
        stats: dict[str, int],
        limiter: LogLimiter,
    ):
        super().__init__(
            handler, access_log=None, max_line_size=MAX_REQUEST_LINE, max_field_size=MAX_HEADER_FIELD,
            max_headers=MAX_HEADERS,
        )
        self._timeout_s = handshake_timeout_s
        self._pool: PendingPool[Any] = PendingPool(max_pending)
        self._pending: dict[Any, _Pending] = {}
        self._stats = stats
        self._limiter = limiter

    # -- aiohttp's hooks -------------------------------------------------------------------

    def __call__(self) -> _QuietRequestHandler:
        """A protocol for one new connection (aiohttp's own, with a quiet answer to malformed requests)."""
        return _QuietRequestHandler(self, loop=self._loop, limiter=self._limiter, **self._kwargs)

    def connection_made(self, handler: Any, transport: Any) -> None:
        super().connection_made(handler, transport)
        loop = asyncio.get_running_loop()
        peername = transport.get_extra_info("peername")
        host, address = (peername[0], format_address(peername[0], peername[1])) if peername else ("", "unknown")
        deadline = loop.time() + self._timeout_s
        self._pending[handler] = _Pending(transport, address, deadline, loop.call_at(deadline, self._expire, handler))
        for victim in self._pool.admit(handler, address_group(host)):
            entry = self._pending.get(victim)
            self._stats["evicted"] += 1
            self._limiter.log(
                "evicted", logging.WARNING,
                "closed an unauthenticated p2p connection from %s to admit a newer one (at most %d pending)",
                entry.address if entry else "?", self._pool.max_total,
            )
            self.drop(victim)

    def connection_lost(self, handler: Any, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self._forget(handler)

    # -- the handler's side ----------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Connections accepted and not yet authenticated."""
        return len(self._pool)

    def deadline(self, handler: Any) -> float | None:
        """The loop time by which this connection's handshake must be done; None if it is no longer pending."""
        entry = self._pending.get(handler)
        return entry.deadline if entry is not None else None

    def authenticated(self, handler: Any) -> bool:
        """The connection proved an allowed key: it leaves the pool. False if it had been closed meanwhile."""
        return self._forget(handler) is not None

    def drop(self, handler: Any) -> None:
        """Close a pending connection at once."""
        entry = self._forget(handler)
        if entry is not None:
            entry.transport.abort()

    def drop_all(self) -> None:
        """Close every pending connection (the node is stopping)."""
        for handler in list(self._pending):
            self.drop(handler)

    # -- internals -------------------------------------------------------------------------

    def _expire(self, handler: Any) -> None:
        entry = self._pending.get(handler)
        if entry is None:
            return
        self._stats["handshake_timeouts"] += 1
        self._limiter.log("timeout", logging.WARNING,
                          "closed a p2p connection from %s: no handshake within %.1f s", entry.address, self._timeout_s)
        self.drop(handler)

    def _forget(self, handler: Any) -> _Pending | None:
        entry = self._pending.pop(handler, None)
        if entry is not None:
            entry.timer.cancel()
            self._pool.remove(handler)
        return entry


class _QuietRequestHandler(web.RequestHandler):
    """aiohttp's handler of one connection, except for what it says about a malformed request.

    aiohttp answers a request it cannot parse with the parser's message as
    the body and logs the exception with a traceback, both quoting the bytes
    received: 128 KiB of junk made a 512 KB log line and a 512 KB answer.
    Here the answer is the status line's phrase, and the log one short line
    per 10 s naming the kind of error. Errors of our own handler (500) are
    still logged in full: those are bugs.
    """

    def __init__(self, manager: web.Server, *, limiter: LogLimiter, **kwargs: Any):
        super().__init__(manager, **kwargs)
        self._incoop_limiter = limiter

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status >= 500:
            return super().handle_error(request, status, exc, message)
        self._incoop_limiter.log("bad request", logging.INFO, "answered %d to a malformed HTTP request on the p2p "
                                 "port from %s (%s)", status, request.remote, type(exc).__name__ if exc else "?")
        if request.writer.output_size > 0:
            raise ConnectionError("the answer had started already")
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        response = web.Response(status=status, text=f"{status} {phrase}\n")
        response.force_close()
        return response


def reserve_descriptors(pending: int) -> None:
    """Raise the soft open-file limit so that `pending` stranger connections cannot starve the store.

    Many systems start a process with a soft limit of 1024 and a far higher
    hard one; a process may raise its own soft limit up to the hard one. If
    even that is too low, say so: the pool would then hit the limit first.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = pending + DESCRIPTOR_RESERVE
    if soft == resource.RLIM_INFINITY or soft >= want:
        return
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        log.info("raised the open-file limit from %d to %d (p2p_max_pending %d + %d for the rest)",
                 soft, target, pending, DESCRIPTOR_RESERVE)
    if target < want:
        log.warning("the open-file limit (%d) is below p2p_max_pending (%d) + %d: lower p2p_max_pending or raise "
                    "the limit (systemd: LimitNOFILE)", target, pending, DESCRIPTOR_RESERVE)


def format_address(host: str, port: int) -> str:
    """`host:port`, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
