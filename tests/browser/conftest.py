"""Fixtures of the browser tests (tests/browser/harness.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.browser.harness import Watched, launch, watching


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


@pytest.fixture
def resident(browser: Browser) -> Iterator[Watched]:
    """One person's browser (Italian, a phone's width); the test fails on any console error in it."""
    yield from watching(browser)
