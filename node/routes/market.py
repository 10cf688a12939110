"""The marketplace (FORMAT.md §6.5): listings with search, orders with their escrow and deadline,
providers' reviews and ratings, the authorised arbiters.

Read from the state's `market/` records (market/records.py) by prefix scans
in id order: this is no consensus code, and every answer is one bounded page
(node/routes/pages.py). Nothing here is a float: a rating is its count and
sum (the exact mean is sum / count), with a display figure in integer tenths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from ledger import credit_ops, credit_rules
from ledger.address import to_address
from ledger.crypto import PUBKEY_LEN
from market import records
from node.routes.context import NODE, NodeContext
from node.routes.pages import DEFAULT_LIMIT, NEXT, Limit, scan_page
from node.routes.render import Strict, hex_or_none
from node.routes.table import ApiError, Refuse, RouteTable, json_reply
from node.routes.types import (
    AddressParam,
    AddressText,
    Amount,
    ClassIdParam,
    ClassIdText,
    Count,
    HashText,
    Height,
    hex_param,
    hex_pattern,
)

routes = RouteTable("market", "The marketplace: listings, orders in escrow, reviews, arbiters")

MAX_WORDS_CHARS = 80  # a title is at most 80 bytes: longer words cannot all be in one
# at least one character that is not white space, the same in the node's pattern engine, JSON Schema's and
# Python's (whose str.split also splits on \x1c-\x1f, \x85; JSON Schema's \s also holds \ufeff): `words`
# of white space alone would be no filter at all
WORDS_PATTERN = r"[^\s\x1c-\x1f\x85\ufeff]"
CATEGORY_PATTERN = f"^{credit_rules.CATEGORY.pattern}$"

ListingIdParam = hex_param(records.ID_LEN, "a listing id (16 bytes)")
OrderIdParam = hex_param(records.ID_LEN, "an order id (16 bytes)")
IdText = Annotated[str, Field(pattern=hex_pattern(records.ID_LEN))]
CategoryText = Annotated[str, Field(pattern=CATEGORY_PATTERN)]
NO_LISTING = Refuse(404, ["NOT_FOUND"], "no such listing")
NO_ORDER = Refuse(404, ["NOT_FOUND"], "no such order")

LISTING_STATUSES = (records.ACTIVE, records.PAUSED, records.WITHDRAWN)
ORDER_STATUSES = (*records.OPEN, *records.CLOSED)


# --- what the routes answer ------------------------------------------------------------------------


class Price(Strict):
    class_: Annotated[ClassIdText, Field(alias="class")]
    unit_price: Amount


class ListingJson(Strict):
    """A listing (FORMAT.md §6.5.1); the terms an order is bought under are `return_window_ms` and `arbiter`."""

    id: IdText
    provider: AddressText
    title: str
    description: str
    content_hash: Annotated[HashText | None, Field(description="a longer text or an image kept off chain")]
    category: CategoryText
    prices: Annotated[list[Price], Field(description="the price of a unit in each class it accepts")]
    quantity: Annotated[Count | None, Field(description="units left; null for a service (no stock)")]
    delivery: Literal[records.DELIVERY]  # type: ignore[valid-type]
    valid_from_ms: Annotated[Count, Field(description="block time from which it may be ordered; 0: open")]
    valid_until_ms: Annotated[Count | None, Field(description="block time from which it may not; null: never")]
    return_window_ms: Annotated[Count, Field(description="once accepted, how long the buyer has to confirm or "
                                                         "dispute")]
    arbiter: AddressText
    status: Literal[LISTING_STATUSES]  # type: ignore[valid-type]
    created_height: Height
    orderable: Annotated[bool, Field(description="active and within its validity window at the head block")]


class Listings(Strict):
    listings: list[ListingJson]
    next: Annotated[IdText | None, Field(description=NEXT)]


class Decision(Strict):
    to_provider: Amount
    to_buyer: Amount
    reason: str


class Escrow(Strict):
    """The order's escrow lot (FORMAT.md §6.5.1): it holds the total while the order is open, nothing after."""

    lot: Annotated[HashText, Field(description="SHA256(\"incoop/market/order\" ‖ order id)")]
    amount: Annotated[Amount, Field(description="what the lot holds now")]


class ReviewJson(Strict):
    rating: Annotated[int, Field(ge=1, le=5)]
    text: Annotated[str | None, Field(description="null once its author erased it (the rating stays counted)")]


class OrderJson(Strict):
    """An order (FORMAT.md §6.5.1) with its escrow and what falls due at its deadline."""

    id: IdText
    listing: IdText
    buyer: AddressText
    provider: AddressText
    class_: Annotated[ClassIdText, Field(alias="class")]
    quantity: Count
    unit_price: Amount
    total: Amount
    status: Literal[ORDER_STATUSES]  # type: ignore[valid-type]
    open: Annotated[bool, Field(description="placed, accepted or disputed: its total is in escrow")]
    completed: Annotated[bool, Field(description="confirmed, released or decided: the buyer may review it")]
    placed_ms: Count
    deadline_ms: Annotated[Count | None, Field(description="when the end-of-block step acts on it (the first block "
                                                           "whose time reaches it); null when nothing is due")]
    at_deadline: Annotated[Literal["expire", "release"] | None, Field(
        description="expire: refunded to the buyer if the provider has not accepted; release: paid to the provider "
                    "if the buyer has neither confirmed nor disputed; null when nothing is due")]
    return_window_ms: Count
    arbiter: AddressText
    dispute: Annotated[str | None, Field(description="the buyer's reason; null if never disputed")]
    decision: Annotated[Decision | None, Field(description="the arbiter's split, once decided")]
    escrow: Escrow
    review: Annotated[ReviewJson | None, Field(description="the buyer's review of it, if any")]


class Orders(Strict):
    orders: list[OrderJson]
    next: Annotated[IdText | None, Field(description=NEXT)]


class Rating(Strict):
    """A provider's rating from reviews of completed orders: exactly `sum / count`."""

    count: Count
    sum: Count
    mean_tenths: Annotated[int | None, Field(ge=10, le=50, description=(
        "sum / count in tenths, rounded half up (a display figure: 43 reads 4.3); null with no review"))]


class ProviderReview(Strict):
    order: IdText
    rating: Annotated[int, Field(ge=1, le=5)]
    text: Annotated[str | None, Field(description="null once its author erased it")]


class Reviews(Strict):
    provider: AddressText
    rating: Rating
    reviews: Annotated[list[ProviderReview], Field(description="in order-id order")]
    next: Annotated[IdText | None, Field(description=NEXT)]


class Arbiter(Strict):
    address: AddressText
    name: str


class Arbiters(Strict):
    arbiters: list[Arbiter]
    next: Annotated[AddressText | None, Field(description=NEXT)]


# --- what the routes take ---------------------------------------------------------------------------



class ListingPath(BaseModel):
    id: ListingIdParam  # type: ignore[valid-type]


class OrderPath(BaseModel):
    id: OrderIdParam  # type: ignore[valid-type]


class ProviderPath(BaseModel):
    address: AddressParam


class ListingsQuery(BaseModel):
    category: Annotated[str | None, Field(pattern=CATEGORY_PATTERN, description="only listings of this category")] = None
    provider: Annotated[AddressParam | None, Field(description="only this provider's listings")] = None
    class_: Annotated[ClassIdParam | None, Field(alias="class", description="only listings with a price in this class")] = None
    words: Annotated[str | None, Field(min_length=1, max_length=MAX_WORDS_CHARS, pattern=WORDS_PATTERN, description=(
        "words, at least one, split on white space: only listings whose title holds every one (any case)"))] = None
    status: Annotated[Literal[LISTING_STATUSES] | None, Field(description="only listings of this status")] = None  # type: ignore[valid-type]
    limit: Limit = DEFAULT_LIMIT  # type: ignore[valid-type]
    after: Annotated[ListingIdParam | None, Field(description="the `next` of the previous page")] = None  # type: ignore[valid-type]


class OrdersQuery(BaseModel):
    account: Annotated[AddressParam | None, Field(description="only orders this account is the buyer or the "
                                                              "provider of")] = None
    buyer: Annotated[AddressParam | None, Field(description="only this buyer's orders")] = None
    provider: Annotated[AddressParam | None, Field(description="only orders to this provider")] = None
    listing: Annotated[ListingIdParam | None, Field(description="only orders of this listing")] = None  # type: ignore[valid-type]
    status: Annotated[Literal[ORDER_STATUSES] | None, Field(description="only orders of this status")] = None  # type: ignore[valid-type]
    limit: Limit = DEFAULT_LIMIT  # type: ignore[valid-type]
    after: Annotated[OrderIdParam | None, Field(description="the `next` of the previous page")] = None  # type: ignore[valid-type]


class ReviewsQuery(BaseModel):
    limit: Limit = DEFAULT_LIMIT  # type: ignore[valid-type]
    after: Annotated[OrderIdParam | None, Field(description="the `next` of the previous page")] = None  # type: ignore[valid-type]


class ArbitersQuery(BaseModel):
    limit: Limit = DEFAULT_LIMIT  # type: ignore[valid-type]
    after: Annotated[AddressParam | None, Field(description="the `next` of the previous page")] = None


# --- rendering --------------------------------------------------------------------------------------


def is_orderable(listing: records.Listing, time_ms: int) -> bool:
    """What `market.order` checks of the listing itself (FORMAT.md §6.5.3): active, and open at `time_ms`."""
    return (listing.status == records.ACTIVE
            and (listing.valid_from_ms == 0 or time_ms >= listing.valid_from_ms)
            and (listing.valid_until_ms == 0 or time_ms < listing.valid_until_ms))


def render_listing(listing_id: bytes, listing: records.Listing, head_time_ms: int) -> dict:
    return {
        "id": listing_id.hex(),
        "provider": to_address(listing.provider),
        "title": listing.title,
        "description": listing.description,
        "content_hash": hex_or_none(listing.content_hash),
        "category": listing.category,
        "prices": [{"class": class_id, "unit_price": price} for class_id, price in listing.prices],
        "quantity": listing.quantity,
        "delivery": listing.delivery,
        "valid_from_ms": listing.valid_from_ms,
        "valid_until_ms": listing.valid_until_ms or None,
        "return_window_ms": listing.return_window_ms,
        "arbiter": to_address(listing.arbiter),
        "status": listing.status,
        "created_height": listing.created_height,
        "orderable": is_orderable(listing, head_time_ms),
    }


def render_order(ctx: NodeContext, order_id: bytes, order: records.Order) -> dict:
    state = ctx.store.state
    due = {records.PLACED: "expire", records.ACCEPTED: "release"}.get(order.status)
    lot = records.order_lot(order_id)
    held = credit_ops.get_lot(state, lot)
    review = records.get_review(state, order.provider, order_id)
    decision = None
    if order.decision is not None:
        to_provider, reason = order.decision
        decision = {"to_provider": to_provider, "to_buyer": order.total - to_provider, "reason": reason}
    return {
        "id": order_id.hex(),
        "listing": order.listing_id.hex(),
        "buyer": to_address(order.buyer),
        "provider": to_address(order.provider),
        "class": order.class_id,
        "quantity": order.quantity,
        "unit_price": order.unit_price,
        "total": order.total,
        "status": order.status,
        "open": order.is_open,
        "completed": order.status in records.COMPLETED,
        "placed_ms": order.placed_ms,
        "deadline_ms": order.deadline_ms if due is not None else None,
        "at_deadline": due,
        "return_window_ms": order.return_window_ms,
        "arbiter": to_address(order.arbiter),
        "dispute": order.dispute or None,
        "decision": decision,
        "escrow": {"lot": lot.hex(), "amount": 0 if held is None else held.amount},
        "review": None if review is None else {"rating": review.rating, "text": review.text},
    }


def mean_tenths(rating: records.Rating) -> int | None:
    """sum / count in tenths, rounded half up, in integers: round(10 · sum / count) = ⌊(20 · sum + count) / (2 · count)⌋."""
    if rating.count == 0:
        return None
    return (20 * rating.sum + rating.count) // (2 * rating.count)


def _id_after(prefix: bytes) -> Callable[[bytes], bytes]:
    """A state key's id: what follows `prefix`."""
    return lambda key: key[len(prefix):]


# --- the routes ---------------------------------------------------------------------------------------


@routes.get("/v1/market/listings", summary="Search listings: by category, provider, class accepted, title words, "
                                           "status; in id order",
            description="Every filter given must hold. A page reads at most a bounded number of records "
                        "(docs/api-contract.md, Pages): follow `next` until it is null.",
            query=ListingsQuery, replies=[json_reply(Listings, "one page")])
async def get_market_listings(request: web.Request, query: ListingsQuery) -> web.Response:
    ctx = request.app[NODE]
    head_time = ctx.store.head().time_ms
    page, following = scan_page(
        ctx.store.state,
        lambda state: records.listings(state, provider=query.provider, category=query.category, class_id=query.class_,
                                       status=query.status, words=query.words, after=query.after),
        query.limit, _id_after(records.PREFIX_LISTING))
    return web.json_response({"listings": [render_listing(i, listing, head_time) for i, listing in page],
                              "next": hex_or_none(following)})


@routes.get("/v1/market/listings/{id}", summary="One listing", path_params=ListingPath,
            replies=[json_reply(ListingJson, "the listing")], refusals=[NO_LISTING])
async def get_market_listing(request: web.Request, path: ListingPath) -> web.Response:
    ctx = request.app[NODE]
    listing = records.get_listing(ctx.store.state, path.id)
    if listing is None:
        raise ApiError(404, "NOT_FOUND", f"no listing {path.id.hex()}")
    return web.json_response(render_listing(path.id, listing, ctx.store.head().time_ms))


@routes.get("/v1/market/orders", summary="Orders: of an account (as buyer or provider), of a buyer, to a provider, "
                                         "of a listing, by status; in id order",
            description="Every filter given must hold (`account`: the orders it placed or received, in one list). "
                        "A page reads at most a bounded number of records (docs/api-contract.md, Pages): follow "
                        "`next` until it is null.",
            query=OrdersQuery, replies=[json_reply(Orders, "one page")])
async def get_market_orders(request: web.Request, query: OrdersQuery) -> web.Response:
    ctx = request.app[NODE]
    page, following = scan_page(
        ctx.store.state,
        lambda state: records.orders(state, account=query.account, buyer=query.buyer, provider=query.provider,
                                     listing_id=query.listing, status=query.status, after=query.after),
        query.limit, _id_after(records.PREFIX_ORDER))
    return web.json_response({"orders": [render_order(ctx, i, order) for i, order in page],
                              "next": hex_or_none(following)})


@routes.get("/v1/market/orders/{id}", summary="One order, with its escrow lot and what falls due at its deadline",
            path_params=OrderPath, replies=[json_reply(OrderJson, "the order")], refusals=[NO_ORDER])
async def get_market_order(request: web.Request, path: OrderPath) -> web.Response:
    ctx = request.app[NODE]
    order = records.get_order(ctx.store.state, path.id)
    if order is None:
        raise ApiError(404, "NOT_FOUND", f"no order {path.id.hex()}")
    return web.json_response(render_order(ctx, path.id, order))


@routes.get("/v1/market/providers/{address}/reviews",
            summary="A provider's rating and its reviews, in order-id order",
            description="Only completed orders are reviewed, one review each (FORMAT.md §6.5.5). A provider "
                        "without reviews has count 0 and no page.",
            path_params=ProviderPath, query=ReviewsQuery, replies=[json_reply(Reviews, "the rating and one page")])
async def get_market_reviews(request: web.Request, path: ProviderPath, query: ReviewsQuery) -> web.Response:
    ctx = request.app[NODE]
    provider = path.address
    rating = records.get_rating(ctx.store.state, provider)
    page, following = scan_page(ctx.store.state, lambda state: records.reviews_of(state, provider, after=query.after),
                                query.limit, _id_after(records.PREFIX_REVIEW + provider))
    return web.json_response({
        "provider": to_address(provider),
        "rating": {"count": rating.count, "sum": rating.sum, "mean_tenths": mean_tenths(rating)},
        "reviews": [{"order": order_id.hex(), "rating": review.rating, "text": review.text} for order_id, review in page],
        "next": hex_or_none(following),
    })


@routes.get("/v1/market/arbiters", summary="The arbiters the federation authorised, in address order",
            query=ArbitersQuery, replies=[json_reply(Arbiters, "one page")])
async def get_market_arbiters(request: web.Request, query: ArbitersQuery) -> web.Response:
    ctx = request.app[NODE]
    page, following = scan_page(ctx.store.state, lambda state: records.arbiters(state, after=query.after),
                                query.limit, _id_after(records.PREFIX_ARBITER))
    return web.json_response({
        "arbiters": [{"address": to_address(account), "name": name} for account, name in page],
        "next": None if following is None else to_address(following[:PUBKEY_LEN]),
    })

