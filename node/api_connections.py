"""The API's connections: a cap, a deadline for every request head, a bound on idle keep-alive.

aiohttp's server reads a connection for as long as the peer keeps it open:
a client that connects and says nothing, or sends its headers a byte at a
time, holds a socket (and a file descriptor shared with LevelDB and p2p)
for as long as it likes. This module is the node's own HTTP protocol, a
subclass of aiohttp's RequestHandler served through `ApiSite`, that
bounds each connection by the clock and all of them by a count
(docs/api-limits.md):

- `max_connections` open at once. At the cap a new connection takes the
  place of the one that has waited longest without a request in progress
  (an idle keep-alive, or a head still arriving); if every connection is busy
  with a request, the new one gets a 503 TOO_MANY_CONNECTIONS and is closed.
- `header_timeout_s`: a new connection must complete its first request line
  and headers within this; a later request on a kept-alive connection within
  this of its first byte.
- `idle_timeout_s`: after an answer, the next request must begin (and the
  answer must have been read) within this.

The request handler's part (between a complete head and the answer) is
bounded by the app: `request_timeout_s` and `body_timeout_s` in node/api.py.
`connection_state` is the middleware through which the app tells each
connection when a request is in progress.

A malformed request (junk on the port, an oversized line) is answered with
the contract's JSON error carrying at most a short escaped prefix of what was
wrong, and logged in one line under a budget (node/untrusted.py), instead of
aiohttp's text echo and traceback of the whole input.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_request import BaseRequest

from node.config import ApiConfig
from node.untrusted import LogBudget, shown, suppressed_note

log = logging.getLogger("incoop.api")

# aiohttp's parser limits, stated here so that they do not depend on the aiohttp version
MAX_LINE_BYTES = 8190
MAX_FIELD_BYTES = 8190
MAX_HEADERS = 100
LINGERING_S = 5.0  # how long an unread request body is drained before the connection closes
LISTEN_BACKLOG = 512


def _refusal() -> bytes:
    body = json.dumps({"error": {"code": "TOO_MANY_CONNECTIONS",
                                 "message": "the node serves its maximum of API connections; retry shortly"}}).encode()
    head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n")
    return head.encode("ascii") + body


REFUSAL = _refusal()


class ApiConnections:
    """Every open API connection of one node, the cap over them, and the counters /metrics shows."""

    def __init__(self, config: ApiConfig):
        self.max_connections = config.max_connections
        self.header_timeout_s = config.header_timeout_s
        self.idle_timeout_s = config.idle_timeout_s
        self._open: set[GuardedRequestHandler] = set()
        # connections with no request in progress, the longest waiting first
        self._waiting: OrderedDict[GuardedRequestHandler, None] = OrderedDict()
        self.accepted = 0
        self.refused = 0
        self.evicted = 0
        self.header_timeouts = 0
        self.idle_timeouts = 0
        self.malformed = 0
        self.refusal_log = LogBudget()
        self.malformed_log = LogBudget()

    def __len__(self) -> int:
        return len(self._open)

    def handler_kwargs(self) -> dict[str, Any]:
        """aiohttp's own settings for every connection; AppRunner gets the same, for its bookkeeping."""
        return {
            "access_log": None,
            # aiohttp's own idle timer is only a backstop: ours (idle_timeout_s) always fires first
            "keepalive_timeout": 2 * self.idle_timeout_s,
            "max_line_size": MAX_LINE_BYTES,
            "max_field_size": MAX_FIELD_BYTES,
            "max_headers": MAX_HEADERS,
            "lingering_time": LINGERING_S,
        }

    def protocol_factory(self, runner: web.BaseRunner) -> Callable[[], GuardedRequestHandler]:
        """What `loop.create_server` calls for each accepted socket."""
        server = runner.server
        if server is None:
            raise RuntimeError("set up the runner before serving")
        kwargs = self.handler_kwargs()

        def make() -> GuardedRequestHandler:
            return GuardedRequestHandler(self, server, loop=asyncio.get_running_loop(), **kwargs)

        return make

    # --- the connections' own calls -------------------------------------------------------

    def admit(self, conn: GuardedRequestHandler) -> bool:
        """Count a new connection in, making room at the cap; False: refuse it."""
        if len(self._open) >= self.max_connections:
            if not self._waiting:
                self.refused += 1
                allowed, suppressed = self.refusal_log.take()
                if allowed:
                    log.warning("API connection cap of %d reached with every connection busy: refused one%s",
                                self.max_connections, suppressed_note(suppressed))
                return False
            victim, _ = self._waiting.popitem(last=False)
            self._open.discard(victim)
            self.evicted += 1
            victim.force_close()
        self._open.add(conn)
        self._waiting[conn] = None
        self.accepted += 1
        return True

    def forget(self, conn: GuardedRequestHandler) -> None:
        self._open.discard(conn)
        self._waiting.pop(conn, None)

    def busy(self, conn: GuardedRequestHandler) -> None:
        self._waiting.pop(conn, None)

    def waiting(self, conn: GuardedRequestHandler) -> None:
        if conn in self._open:
            self._waiting[conn] = None
            self._waiting.move_to_end(conn)

    def log_malformed(self, remote: str | None, what: str) -> None:
        self.malformed += 1
        allowed, suppressed = self.malformed_log.take()
        if allowed:
            log.info("malformed HTTP request from %s: %s%s", remote, what, suppressed_note(suppressed))

    def metric_lines(self) -> list[str]:
        """Prometheus text for node/metrics.py."""
        rows = [
            ("incoop_api_connections", "gauge", "Open API connections.", len(self._open)),
            ("incoop_api_connections_max", "gauge", "The API connection cap (api.max_connections).", self.max_connections),
            ("incoop_api_connections_accepted_total", "counter", "API connections accepted.", self.accepted),
            ("incoop_api_connections_refused_total", "counter",
             "API connections refused at the cap (every open one busy with a request).", self.refused),
            ("incoop_api_connections_evicted_total", "counter",
             "Waiting API connections closed at the cap to make room for a new one.", self.evicted),
            ("incoop_api_malformed_requests_total", "counter", "Malformed HTTP requests answered 400.", self.malformed),
        ]
        out: list[str] = []
        for name, kind, help_text, value in rows:
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
        out += [
            "# HELP incoop_api_connections_timed_out_total API connections closed for a request head not "
            "complete in time (header) or no next request in time (idle).",
            "# TYPE incoop_api_connections_timed_out_total counter",
            f'incoop_api_connections_timed_out_total{{phase="header"}} {self.header_timeouts}',
            f'incoop_api_connections_timed_out_total{{phase="idle"}} {self.idle_timeouts}',
        ]
        return out


class GuardedRequestHandler(web.RequestHandler):
    """aiohttp's HTTP/1 protocol with a cap, a head deadline and an idle deadline per connection.

    States: waiting for a request head (from the connection's start, or after
    an answer), or busy with a request (the app's `connection_state`
    middleware marks both ends). While waiting, one timer runs: the header
    deadline of a new connection, the idle deadline after an answer, brought
    forward to the header deadline when a later request's first byte arrives.
    """

    __slots__ = ("_guard", "_admitted", "_busy", "_head_started", "_deadline", "_deadline_phase")

    def __init__(self, guard: ApiConnections, manager: Any, **kwargs: Any):
        super().__init__(manager, **kwargs)
        self._guard = guard
        self._admitted = False
        self._busy = False
        self._head_started = False
        self._deadline: asyncio.TimerHandle | None = None
        self._deadline_phase = "header"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._guard.admit(self):
            transport.write(REFUSAL)  # type: ignore[attr-defined]
            transport.close()
            return
        self._admitted = True
        super().connection_made(transport)
        self._head_started = True  # the first request's head is due from the start
        self._set_deadline(self._guard.header_timeout_s, "header")

    def data_received(self, data: bytes) -> None:
        if not self._admitted:
            return
        if data and not self._busy and not self._head_started:
            self._head_started = True
            remaining = self._deadline.when() - self._loop.time() if self._deadline is not None else float("inf")
            if self._guard.header_timeout_s < remaining:
                self._set_deadline(self._guard.header_timeout_s, "header")
        super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self._admitted:
            return
        self._clear_deadline()
        self._guard.forget(self)
        super().connection_lost(exc)

    # --- called by the app's middleware (connection_state) -----------------------------------

    def request_started(self) -> None:
        self._busy = True
        self._clear_deadline()
        self._guard.busy(self)

    def request_finished(self) -> None:
        self._busy = False
        self._head_started = False
        if self.transport is not None:
            self._guard.waiting(self)
            self._set_deadline(self._guard.idle_timeout_s, "idle")

    # --- deadlines ---------------------------------------------------------------------------

    def _set_deadline(self, seconds: float, phase: str) -> None:
        self._clear_deadline()
        self._deadline_phase = phase
        self._deadline = self._loop.call_later(seconds, self._expired)

    def _clear_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self._busy or self.transport is None:
            return
        if self._deadline_phase == "header":
            self._guard.header_timeouts += 1
        else:
            self._guard.idle_timeouts += 1
        log.debug("closing an API connection: %s timeout", self._deadline_phase)
        self._guard.forget(self)
        self.force_close()

    # --- malformed requests ----------------------------------------------------------------------

    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        """The contract's JSON error, one short log line; never the input echoed or a traceback."""
        if request.writer.output_size > 0:
            raise ConnectionError("the answer has begun; no error answer can follow")
        if status == 400:
            reason = str(getattr(exc, "message", None) or message or "unreadable request")
            # aiohttp's message quotes the input from its second line on: its first line, shortened, is the reason
            what = f"{type(exc).__name__ if exc is not None else 'BadRequest'}: {shown((reason.strip().splitlines() or ['?'])[0])}"
            self._guard.log_malformed(request.remote, what)
            code, text = "BAD_REQUEST", f"malformed HTTP request ({what})"
        elif status == 504:
            code, text = "TIMEOUT", "the request took too long"
        else:
            log.error("internal error answering %s %s", shown(request.method), shown(request.path), exc_info=exc)
            code, text = "INTERNAL", "internal error (logged by the node)"
        response = web.json_response({"error": {"code": code, "message": text}}, status=status)
        response.force_close()
        return response


@web.middleware
async def connection_state(request: web.Request, handler: Callable) -> web.StreamResponse:
    """Tells the connection a request is in progress, then that it is answered (outermost middleware)."""
    protocol = request.protocol
    if not isinstance(protocol, GuardedRequestHandler):
        return await handler(request)
    protocol.request_started()
    try:
        return await handler(request)
    finally:
        protocol.request_finished()


class ApiSite(web.BaseSite):
    """A TCP site that serves the runner's app through GuardedRequestHandler connections."""

    __slots__ = ("_host", "_port", "_guard")

    def __init__(self, runner: web.BaseRunner, guard: ApiConnections, host: str, port: int,
                 ssl_context: ssl.SSLContext | None = None):
        super().__init__(runner, ssl_context=ssl_context, backlog=LISTEN_BACKLOG)
        self._host, self._port, self._guard = host, port, guard

    @property
    def name(self) -> str:
        return f"{'https' if self._ssl_context else 'http'}://{self._host}:{self.port}"

    @property
    def port(self) -> int:
        """The bound port once started (the configured one may be 0: any free port)."""
        if self._server is not None and self._server.sockets:
            return self._server.sockets[0].getsockname()[1]
        return self._port

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._guard.protocol_factory(self._runner), self._host, self._port,
            ssl=self._ssl_context, backlog=self._backlog,
            # a TLS handshake is part of the head: it gets the same bound
            ssl_handshake_timeout=self._guard.header_timeout_s if self._ssl_context else None,
        )
