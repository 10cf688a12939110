"""The node's listening sites, plain or TLS (node/tls.py, docs/tls.md).

A TLS site is aiohttp's TCPSite with the TLS handshake and shutdown bounded
in time: asyncio holds a connection that never finishes its handshake for 60
seconds by default, before aiohttp (and any connection cap of the API or the
p2p layer) even sees it, so a stranger could hold sockets that way at no cost.
"""

from __future__ import annotations

import asyncio
import ssl

from aiohttp import web

from node.tls import TLS_HANDSHAKE_TIMEOUT_S, TLS_SHUTDOWN_TIMEOUT_S


class _BoundedTlsSite(web.TCPSite):
    """TCPSite.start, with asyncio's ssl_handshake_timeout and ssl_shutdown_timeout set.

    It reads TCPSite's own attributes (aiohttp 3.x); tests/test_tls.py checks
    that a silent connection is closed after the handshake timeout, so a change
    in aiohttp that breaks this shows up there.
    """

    __slots__ = ("_handshake_timeout",)

    def __init__(self, runner: web.BaseRunner, host: str, port: int, ssl_context: ssl.SSLContext,
                 handshake_timeout: float):
        super().__init__(runner, host, port, ssl_context=ssl_context)
        self._handshake_timeout = handshake_timeout

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner, as TCPSite.start does
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            server,
            self._host,
            self._port,
            ssl=self._ssl_context,
            ssl_handshake_timeout=self._handshake_timeout,
            ssl_shutdown_timeout=TLS_SHUTDOWN_TIMEOUT_S,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port


def tcp_site(runner: web.BaseRunner, host: str, port: int, ssl_context: ssl.SSLContext | None,
             handshake_timeout: float = TLS_HANDSHAKE_TIMEOUT_S) -> web.TCPSite:
    """A plain TCPSite without a context; with one, a TLS site whose handshakes are bounded in time."""
    if ssl_context is None:
        return web.TCPSite(runner, host, port)
    return _BoundedTlsSite(runner, host, port, ssl_context, handshake_timeout)
