"""Every link from the README and docs/ to a file of the repository leads to a file that exists
(the screenshots the README shows, the docs pages that point at each other)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "FORMAT.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_to_files(page: Path) -> None:
    targets = [t for t in LINK.findall(page.read_text(encoding="utf-8")) if "://" not in t and not t.startswith("mailto:")]
    missing = sorted({t for t in targets if not (page.parent / t).exists()})
    assert not missing, f"{page.relative_to(ROOT)} links to files that do not exist: {missing}"
