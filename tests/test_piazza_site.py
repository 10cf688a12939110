"""How a node serves the piazza's files (node/piazza/site.py), on a real loopback server.

- `/` and `/explorer` are the two pages; every other file is under /piazza/
  and answered from the set read at start-up, never from a path a caller
  names: `..`, encoded or not, a page's own file name and an unknown name
  are the API's JSON 404;
- every answer forbids other origins' scripts and framing (the CSP) and
  makes the browser ask again (`no-cache` with an ETag; 304 when unchanged);
- every file a page or a script names exists in the set, so a page never
  breaks on a missing module.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from node.api import create_app
from node.config import ApiConfig
from node.piazza import site


@asynccontextmanager
async def serving() -> AsyncIterator[str]:
    app = create_app(ApiConfig(port=0), tables=())
    site.add_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def fetch(url: str, headers: dict | None = None) -> tuple[int, Any, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers or {}) as response:
        return response.status, response.headers.copy(), await response.read()


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


def test_the_pages_are_served_at_their_paths_with_a_policy_that_admits_only_this_node() -> None:
    async def scenario() -> None:
        async with serving() as base:
            for path, marker in (("/", b"/piazza/js/piazza.js"), ("/explorer", b"/piazza/js/explorer.js")):
                status, headers, body = await fetch(base + path)
                assert status == 200 and marker in body
                assert headers["Content-Type"] == "text/html; charset=utf-8"
                csp = headers["Content-Security-Policy"]
                assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
                assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
                assert headers["Cache-Control"] == "no-cache" and headers["X-Content-Type-Options"] == "nosniff"
                again, _, empty = await fetch(base + path, {"If-None-Match": headers["ETag"]})
                assert (again, empty) == (304, b"")
            status, headers, _ = await fetch(base + "/piazza/js/piazza.js")
            assert status == 200 and headers["Content-Type"] == "text/javascript; charset=utf-8"
    run(scenario())


@pytest.mark.parametrize("path", [
    "/piazza/nope.js", "/piazza/index.html", "/piazza/../pyproject.toml", "/piazza/%2e%2e/%2e%2e/pyproject.toml",
    "/piazza/js/..%2f..%2fsite.py", "/piazza/", "/piazza//etc/passwd", "/index.html",
])
def test_anything_else_is_the_apis_json_404(path: str) -> None:
    async def scenario() -> None:
        async with serving() as base:
            status, headers, body = await fetch(base + path)
            assert status == 404 and headers["Content-Type"].startswith("application/json")
            assert b'"NOT_FOUND"' in body
    run(scenario())


def test_every_file_a_page_or_a_script_names_is_served() -> None:
    assets = site.load_assets()
    named: set[tuple[str, str]] = set()
    for name, asset in assets.items():
        text = asset.body.decode("utf-8", errors="replace")
        if name.endswith(".html"):
            named |= {(name, ref[len(site.ASSET_PREFIX):]) for ref in re.findall(r'(?:src|href)="(/piazza/[^"]+)"', text)}
        elif name.endswith(".js") and name.startswith("js/"):
            # imports, and files a module fetches beside itself (new URL("./x.json", import.meta.url)),
            # resolved from the module's own folder (js/, js/explorer/, ...)
            refs = re.findall(r'(?:from|import|new URL)\s*\(?\s*"(\.{1,2}/[^"]+)"', text)
            for ref in refs:
                parts = [*name.split("/")[:-1], *ref.split("/")]
                resolved: list[str] = []
                for part in parts:
                    if part == "..":
                        resolved.pop()
                    elif part != ".":
                        resolved.append(part)
                named.add((name, "/".join(resolved)))
    missing = sorted((who, what) for who, what in named if what not in assets)
    assert not missing, f"named but not served: {missing}"
    assert {"index.html", "explorer.html", "js/piazza.js", "js/explorer.js"} <= set(assets)
