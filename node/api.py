"""The HTTP API: its error edge and the app that serves the declared routes (docs/api-contract.md).

The routes themselves are declared once each, in route tables
(node/routes/table.py; the node's own in node/routes/, the vault's in
node/vault_api.py); `create_app` serves a list of tables, and the routing,
the validation of parameters and bodies and /v1/openapi.json all come from
those declarations.

Handlers raise (ApiError, TxError, aiohttp's HTTP errors) and one middleware
turns every failure into `{"error": {"code", "message"}}` with a 4xx status,
so that no input can produce a 500 or a half-built response. A 500 INTERNAL
is only ever a bug, and is logged. The same middleware bounds each request
in time (its body within `body_timeout_s`, the whole within
`request_timeout_s`), and an error message shows at most a short escaped
prefix of anything the caller sent (node/untrusted.py, docs/api-limits.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ledger.errors import TxError
from ledger.store import StoreFailure
from node import metrics
from node.config import ApiConfig
from node.routes.binding import serve
from node.routes.context import CONFIG, NODE, NodeContext
from node.routes.core import CORE
from node.routes.render import MAX_ERROR_MESSAGE_CHARS, clip_message, error_body
from node.routes.table import JSON, MSGPACK, ApiError, RouteTable
from node.routes.txs import TX_STATUS
from node.untrusted import shown

__all__ = [
    "CONFIG", "CORE", "JSON", "MAX_ERROR_MESSAGE_CHARS", "MSGPACK", "NODE", "TX_STATUS", "ApiError", "EdgeCounters",
    "NodeContext", "clip_message", "create_app", "error_body", "error_middleware_for",
]

log = logging.getLogger("incoop.api")

_HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "BODY_TIMEOUT",
    413: "BODY_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def _error_response(status: int, code: str, message: str, headers: Any = None) -> web.Response:
    return web.json_response(error_body(code, message), status=status, headers=headers)


# --- the error edge ------------------------------------------------------------------------


def _http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    status = exc.status
    code = _HTTP_CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL")
    if status == 404:
        message = f"no such resource: {shown(request.path)}"
    elif status == 405:
        message = f"method {shown(request.method)} is not allowed on {shown(request.path)}"
    elif status == 413:
        message = f"request body larger than {request.app[CONFIG].max_body_bytes} bytes"
    else:
        message = exc.reason
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    return _error_response(status, code, message, headers)


class BodyDeadline:
    """Ends the request (408 BODY_TIMEOUT) if its body has not all arrived `body_timeout_s` after its head.

    A timer on the loop: at the deadline, a body still arriving makes the
    request's own timeout fire at once, so the handler's read stops there.
    """

    def __init__(self, request: web.Request, scope: asyncio.Timeout, seconds: float):
        self.request = request
        self.scope = scope
        self.expired = False
        self._timer = asyncio.get_running_loop().call_later(seconds, self._check)

    def _check(self) -> None:
        if self.request.body_exists and not self.request.content.is_eof():
            self.expired = True
            self.scope.reschedule(asyncio.get_running_loop().time())

    def cancel(self) -> None:
        self._timer.cancel()


@dataclass
class EdgeCounters:
    """Requests the error middleware ended for their time; node/metrics.py shows them."""

    body_timeouts: int = 0
    request_timeouts: int = 0

    def metric_lines(self) -> list[str]:
        return [
            "# HELP incoop_api_body_timeouts_total Requests ended because their body did not arrive within api.body_timeout_s.",
            "# TYPE incoop_api_body_timeouts_total counter",
            f"incoop_api_body_timeouts_total {self.body_timeouts}",
            "# HELP incoop_api_request_timeouts_total Requests not answered within api.request_timeout_s.",
            "# TYPE incoop_api_request_timeouts_total counter",
            f"incoop_api_request_timeouts_total {self.request_timeouts}",
        ]


def error_middleware_for(timeout_s: float, body_timeout_s: float | None = None,
                         counters: EdgeCounters | None = None) -> Callable:
    counters = counters if counters is not None else EdgeCounters()

    @web.middleware
    async def error_middleware(request: web.Request, handler: Callable) -> web.StreamResponse:
        body_deadline: BodyDeadline | None = None
        try:
            async with asyncio.timeout(timeout_s) as scope:
                if body_timeout_s is not None and request.body_exists:
                    body_deadline = BodyDeadline(request, scope, body_timeout_s)
                try:
                    return await handler(request)
                finally:
                    if body_deadline is not None:
                        body_deadline.cancel()
        except ApiError as exc:
            return _error_response(exc.status, exc.code, exc.message)
        except TxError as exc:
            return _error_response(TX_STATUS.get(exc.code, 400), exc.code.name, exc.message)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _http_error(request, exc)
        except TimeoutError:
            if body_deadline is not None and body_deadline.expired:
                counters.body_timeouts += 1
                response = _error_response(408, "BODY_TIMEOUT",
                                           f"the request body did not arrive within {body_timeout_s:g} s of its headers")
                response.force_close()  # the rest of the body is not waited for
                return response
            counters.request_timeouts += 1
            return _error_response(503, "TIMEOUT", f"the request took longer than {timeout_s:g} s")
        except StoreFailure:  # the node stops on it (node/server.py); the caller asks another node
            return _error_response(503, "STORE_FAILED", "this node's store failed and the node is stopping")
        except Exception:
            log.exception("internal error on %s %s", shown(request.method), shown(request.path))
            return _error_response(500, "INTERNAL", "internal error (logged by the node)")

    return error_middleware


def create_app(config: ApiConfig, *contexts: Callable[[web.Application], AsyncIterator[None]],
               tables: Sequence[RouteTable] = CORE) -> web.Application:
    """The API application serving the routes of `tables` (the node's own by default; the vault and the
    chain modules add theirs); `contexts` open and close the node's resources (store, consensus)."""
    counters = EdgeCounters()
    edge = error_middleware_for(config.request_timeout_s, config.body_timeout_s, counters)
    app = web.Application(client_max_size=config.max_body_bytes, middlewares=[edge])
    app[CONFIG] = config
    app[metrics.SOURCES] = [counters]  # the node adds its connections' and the vault's counters
    serve(app, tables)
    app.cleanup_ctx.extend(contexts)
    return app

