"""The piazza in a real browser: Debian's chromium driven by Playwright, no browser download.

A test opens pages on a real node as a person would, and every page it opens
is watched: a console error or an uncaught exception fails the test, and
every request the page makes is kept so that a test can show that no key or
passphrase ever leaves the browser. axe-core (from node/piazza/web's
node_modules, which scripts/test installs) checks accessibility, and
screenshots go to docs/screenshots/, which the README links.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Request,
    expect,
    sync_playwright,
)

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node" / "piazza" / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("INCOOP_SCREENSHOTS") or ROOT / "build" / "screenshots")
"""Where a run keeps its pictures: build/screenshots/ (ignored by git), or the folder INCOOP_SCREENSHOTS names:
`INCOOP_SCREENSHOTS=docs/screenshots scripts/test tests/browser` renews the ones the README shows."""
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 860}

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # No connection anywhere but the node under test: this machine's network is closed, and a page
    # must not need anything outside its node anyway.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions",
]


def chromium_path() -> str:
    """Debian's chromium (scripts/test installs it); INCOOP_CHROMIUM names another build."""
    path = os.environ.get("INCOOP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise RuntimeError(f"no chromium at {path}: scripts/test installs Debian's chromium package")
    return path


def launch() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    """A browser context (its own storage: one person's browser) and what its pages did."""

    context: BrowserContext
    requests: list[Request] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def page(self) -> Page:
        page = self.context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("request", lambda request: self.requests.append(request))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def sent(self) -> list[bytes]:
        """Everything the pages sent: each request's URL and body, as bytes."""
        return [r.url.encode() + b"\n" + (r.post_data_buffer or b"") for r in self.requests]


def person(browser: Browser, *, language: str = "it-IT", viewport: dict | None = None) -> Watched:
    context = browser.new_context(locale=language, viewport=viewport or PHONE,
                                  extra_http_headers={"Accept-Language": language})
    context.set_default_timeout(15_000)
    return Watched(context)


def watching(browser: Browser, **options: object) -> Iterator[Watched]:
    """Fixture body: a person's browser, closed afterwards; the test fails on any error its pages logged."""
    watched = person(browser, **options)  # type: ignore[arg-type]
    try:
        yield watched
    finally:
        watched.context.close()
    assert not watched.errors, "the page logged errors:\n" + "\n".join(watched.errors)


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's violations on the page as it is now, of the given impacts, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                           ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))")
    return [f"{v['impact']} {v['id']}: {v['help']} at {v['nodes']}" for v in result if v["impact"] in impacts]


def assert_accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert not violations, "axe-core found:\n" + "\n".join(violations)


def screenshot(page: Page, name: str) -> Path:
    """Keep a picture of the page as it is (SCREENSHOTS/NAME.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def at_both_widths(page: Page, name: str) -> None:
    """Pictures of the page as it is at a phone's width and at a desktop's (NAME-phone.png, NAME-desktop.png);
    the page is left at the width it had."""
    width = page.viewport_size
    for size, suffix in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page.set_viewport_size(size)
        screenshot(page, f"{name}-{suffix}")
    if width is not None:
        page.set_viewport_size(width)


def seen_in_explorer(page: Page, link: Locator) -> None:
    """Follow a page's link to a transaction in the explorer, as a person would check what they did, in a
    new tab of the same browser: the explorer must say it is committed with result OK, without an error."""
    href = link.get_attribute("href") or ""
    assert href.startswith("/explorer#/tx/"), href
    errors: list[str] = []
    tab = page.context.new_page()
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    try:
        tab.goto(_origin(page) + href)
        expect(tab.locator("#tx-status")).to_have_text(EXPLORER_COMMITTED)
        expect(tab.locator("#tx-facts .badge.good").first).to_be_visible()
    finally:
        tab.close()
    assert not errors, f"the explorer logged errors: {errors}"


EXPLORER_COMMITTED = re.compile("^(confermata|committed)$")


def _origin(page: Page) -> str:
    scheme, rest = page.url.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}"
