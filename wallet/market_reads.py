"""What `incoop market` and `incoop gas` read from a node: listings, orders, reviews, purchase groups.

Each function is one GET of the node's marketplace routes (docs/api-contract.md,
`/v1/market/…` and `/v1/gas/…`), named as the `NodeClient` method that serves
it; the commands call only these, so that the one place that knows the paths
is here. A missing record is a CliError naming it; any other failure stays a
NodeError for the command's guard (wallet/cli.py `_guard`).
"""

from __future__ import annotations

from typing import Any

from cli.common import CliError
from wallet.client import NodeClient, NodeError, _quote


def _get(client: NodeClient, path: str, missing: str, query: dict[str, Any] | None = None) -> Any:
    try:
        return client._json("GET", path, query=query)
    except NodeError as exc:
        if exc.code == "NOT_FOUND":
            raise CliError(f"{missing} on the node at {client.base_url}") from None
        raise


def market_listings(client: NodeClient, **query: Any) -> dict:
    """One page {"listings": [...], "next"}; filters: category, provider, class, words, status, limit, after."""
    return _get(client, "/v1/market/listings", "no listings", query)


def market_listing(client: NodeClient, listing_id: str) -> dict:
    return _get(client, f"/v1/market/listings/{_quote(listing_id)}", f"no listing {listing_id}")


def market_orders(client: NodeClient, **query: Any) -> dict:
    """One page {"orders": [...], "next"}; filters: buyer, provider, listing, status, limit, after."""
    return _get(client, "/v1/market/orders", "no orders", query)


def market_order(client: NodeClient, order_id: str) -> dict:
    return _get(client, f"/v1/market/orders/{_quote(order_id)}", f"no order {order_id}")


def market_reviews(client: NodeClient, provider: str, **query: Any) -> dict:
    """A provider's {"provider", "rating": {"count", "sum"}, "reviews": [...], "next"}."""
    return _get(client, f"/v1/market/providers/{_quote(provider)}/reviews", f"no reviews of {provider}", query)


def gas_groups(client: NodeClient, **query: Any) -> dict:
    """One page {"groups": [...], "next"}; filters: organiser, listing, status, limit, after."""
    return _get(client, "/v1/gas/groups", "no purchase groups", query)


def gas_group(client: NodeClient, group_id: str) -> dict:
    return _get(client, f"/v1/gas/groups/{_quote(group_id)}", f"no purchase group {group_id}")
