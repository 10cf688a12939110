"""The two pages open on a real node, in Italian by default and in English when the browser asks.

A one-validator devnet (real process, real LevelDB); each page is opened at
a phone's width, must show its heading without a console error, and passes
axe-core with no serious or critical violation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.harness import Watched, assert_accessible, person
from tests.functional.framework import Devnet, running_devnet


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    yield from running_devnet(Path(tmp_path_factory.mktemp("piazza")))


def test_the_piazza_opens_in_italian_on_a_phone(devnet: Devnet, resident: Watched) -> None:
    page = resident.page()
    page.goto(devnet.node.url + "/")
    expect(page.locator("h1")).to_have_text("Il tuo borsellino")
    expect(page.locator("html")).to_have_attribute("lang", "it")
    expect(page.locator("#node-status")).to_contain_text("Nodo collegato")
    assert_accessible(page)


def test_the_explorer_opens_in_english_when_the_browser_prefers_it(devnet: Devnet, browser: Browser) -> None:
    english = person(browser, language="en-GB")
    try:
        page = english.page()
        page.goto(devnet.node.url + "/explorer")
        expect(page.locator("h1")).to_have_text("Chain status")
        expect(page.locator("main")).to_contain_text(devnet.chain_id)
        assert_accessible(page)
    finally:
        english.context.close()
    assert not english.errors
