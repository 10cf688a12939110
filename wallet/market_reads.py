"""How `incoop market` and `incoop gas` read through the NodeClient: one record, or every page of a list.

The reads themselves are NodeClient methods (wallet/client.py: market_listing,
market_listings, market_orders, gas_group, gas_commitments, …), one GET of
the node's `/v1/market/…` and `/v1/gas/…` routes each (docs/api-contract.md).
Two things the commands need on top of them live here: `found` turns the
node's NOT_FOUND into a one-line CliError naming what is missing (any other
failure stays a NodeError for the command's guard, wallet/cli.py `_guard`),
and `pages` follows a list's `next` cursor, since a page may be short, even
empty, and still have one (docs/api-contract.md, "Pages").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from cli.common import CliError, emit
from wallet.client import NodeClient, NodeError

T = TypeVar("T")

MAX_PAGES = 1000
"""A bound on the pages one command follows: a node that keeps answering `next` cannot keep it forever."""


def found(client: NodeClient, missing: str, read: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`read(*args, **kwargs)`, one of the client's methods; the node's NOT_FOUND is the CliError
    "<missing> on the node at <url>"."""
    try:
        return read(*args, **kwargs)
    except NodeError as exc:
        if exc.code == "NOT_FOUND":
            raise CliError(f"{missing} on the node at {client.base_url}") from None
        raise


def pages(fetch: Callable[[str | None], dict], field: str, want: int | None = None, after: str | None = None,
          cursor_of: str = "id") -> tuple[list[dict], str | None]:
    """Up to `want` rows (all of them with None) of a paged list, following `next` from `after`; returns
    them and the cursor to continue from (None: nothing more). A row's `cursor_of` field is what the
    list's `after` takes (rows come in that order), so a page cut short resumes right after its last row."""
    rows: list[dict] = []
    cursor = after
    for _ in range(MAX_PAGES):
        page = fetch(cursor)
        rows += page[field]
        cursor = page.get("next")
        if want is not None and len(rows) >= want:
            more = len(rows) > want or cursor is not None
            return rows[:want], (rows[want - 1][cursor_of] if more else None)
        if cursor is None:
            return rows, None
    raise CliError(f"the node kept answering more pages of {field} after {MAX_PAGES}; narrow the search")


def show_page(json_out: bool, field: str, rows: list[dict], following: str | None,
              render: Callable[[dict], list[str]], empty: str) -> int:
    """A page of a list as the commands print it: `{field: rows, "next": …}` with --json, else each row's
    lines, then the `--after` that continues it (or `empty` when there are none)."""
    if json_out:
        emit(True, {field: rows, "next": following})
        return 0
    lines = [line for row in rows for line in render(row)]
    if following:
        lines.append(f"more: --after {following}")
    print("\n".join(lines) or empty)
    return 0
