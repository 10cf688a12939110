"""Serving the piazza's files: read once from the package, answered from memory.

The file set is fixed when the node starts (a listing of static/, nothing
outside it): a request names a file of that set or gets the API's JSON 404,
so no path a caller sends ever reaches the file system. Every answer carries
a Content-Security-Policy that lets a page load only this node's own scripts
and talk only to this node (docs/piazza.md, "Security").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath

from aiohttp import web

STATIC = "static"
ASSET_PREFIX = "/piazza/"
PAGES = {"/": "index.html", "/explorer": "explorer.html"}
"""The pages a person opens; every other file is an asset under ASSET_PREFIX."""

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
}

CSP = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",  # the camera preview when scanning a payment request
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
"""No inline script, no third-party origin: a page runs only the files below and reaches only this node."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def load_assets() -> dict[str, Asset]:
    """Every file under static/, by its path relative to it (`js/app.js`); only known file types."""
    root = resources.files(__package__).joinpath(STATIC)
    assets: dict[str, Asset] = {}
    pending = [(root, PurePosixPath())]
    while pending:
        folder, relative = pending.pop()
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            path = relative / entry.name
            if entry.is_dir():
                pending.append((entry, path))
                continue
            content_type = CONTENT_TYPES.get(PurePosixPath(entry.name).suffix)
            if content_type is None:
                continue
            body = entry.read_bytes()
            assets[str(path)] = Asset(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    return assets


def _answer(request: web.Request, asset: Asset) -> web.Response:
    """The file, or 304 when the browser holds this version; `no-cache` makes it ask each time, so a
    node upgraded to new pages never serves a page its old scripts beside it."""
    headers = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": "no-cache"}
    if asset.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=asset.body, headers={**headers, "Content-Type": asset.content_type})


def add_routes(app: web.Application, assets: dict[str, Asset] | None = None) -> None:
    """Serve the pages at their paths and the other files under /piazza/ (before the app starts)."""
    assets = load_assets() if assets is None else assets
    for path, name in PAGES.items():
        app.router.add_get(path, _page(assets[name]))

    async def file(request: web.Request) -> web.Response:
        asset = assets.get(request.match_info["name"])
        if asset is None or asset.content_type.startswith("text/html"):
            raise web.HTTPNotFound()
        return _answer(request, asset)

    app.router.add_get(ASSET_PREFIX + "{name:.+}", file)


def _page(asset: Asset):
    async def page(request: web.Request) -> web.Response:
        return _answer(request, asset)
    return page
