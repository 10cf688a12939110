"""What `incoop market` and `incoop gas` read from a node: listings, orders, reviews, arbiters, purchase groups.

Each function is one GET of the node's marketplace routes (docs/api-contract.md,
`/v1/market/…` and `/v1/gas/…`), with the name and parameters of the
`NodeClient` method that serves it (wallet/client.py), so that the commands
depend on nothing else of the API. A missing record is a CliError naming it;
any other failure stays a NodeError for the command's guard (wallet/cli.py
`_guard`). `pages` follows a list's `next` cursor: a page may be short, even
empty, and still have one (docs/api-contract.md, "Pages").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cli.common import CliError
from wallet.client import NodeClient, NodeError, _quote

MAX_PAGES = 1000
"""A bound on the pages one command follows: a node that keeps answering `next` cannot keep it forever."""


def _get(client: NodeClient, path: str, missing: str, query: dict[str, Any] | None = None) -> Any:
    try:
        return client._json("GET", path, query=query)
    except NodeError as exc:
        if exc.code == "NOT_FOUND":
            raise CliError(f"{missing} on the node at {client.base_url}") from None
        raise


def market_listings(client: NodeClient, category: str | None = None, provider: str | None = None,
                    class_id: str | None = None, words: str | None = None, status: str | None = None,
                    limit: int | None = None, after: str | None = None) -> dict:
    """One page {"listings": [...], "next"} of the listings matching every filter given."""
    return _get(client, "/v1/market/listings", "no listings", {
        "category": category, "provider": provider, "class": class_id, "words": words, "status": status,
        "limit": limit, "after": after})


def market_listing(client: NodeClient, listing_id: str) -> dict:
    return _get(client, f"/v1/market/listings/{_quote(listing_id)}", f"no listing {listing_id}")


def market_orders(client: NodeClient, buyer: str | None = None, provider: str | None = None,
                  listing: str | None = None, status: str | None = None, limit: int | None = None,
                  after: str | None = None) -> dict:
    """One page {"orders": [...], "next"} of the orders matching every filter given."""
    return _get(client, "/v1/market/orders", "no orders", {
        "buyer": buyer, "provider": provider, "listing": listing, "status": status, "limit": limit, "after": after})


def market_order(client: NodeClient, order_id: str) -> dict:
    return _get(client, f"/v1/market/orders/{_quote(order_id)}", f"no order {order_id}")


def market_reviews(client: NodeClient, provider: str, limit: int | None = None, after: str | None = None) -> dict:
    """{"provider", "rating": {"count", "sum", "mean_tenths"}, "reviews": [{"order", "rating", "text"}], "next"}."""
    return _get(client, f"/v1/market/providers/{_quote(provider)}/reviews", f"no reviews of {provider}",
                {"limit": limit, "after": after})


def market_arbiters(client: NodeClient, limit: int | None = None, after: str | None = None) -> dict:
    """One page {"arbiters": [{"address", "name"}], "next"}."""
    return _get(client, "/v1/market/arbiters", "no arbiters", {"limit": limit, "after": after})


def gas_groups(client: NodeClient, status: str | None = None, listing: str | None = None,
               organiser: str | None = None, limit: int | None = None, after: str | None = None) -> dict:
    """One page {"groups": [...], "next"} of the purchase groups matching every filter given."""
    return _get(client, "/v1/gas/groups", "no purchase groups", {
        "status": status, "listing": listing, "organiser": organiser, "limit": limit, "after": after})


def gas_group(client: NodeClient, group_id: str) -> dict:
    return _get(client, f"/v1/gas/groups/{_quote(group_id)}", f"no purchase group {group_id}")


def gas_commitments(client: NodeClient, group_id: str, limit: int | None = None, after: str | None = None) -> dict:
    """One page {"group", "commitments": [{"member", "quantity", "lot", "escrowed"}], "next"}."""
    return _get(client, f"/v1/gas/groups/{_quote(group_id)}/commitments", f"no purchase group {group_id}",
                {"limit": limit, "after": after})


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
