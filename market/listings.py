"""The listing transactions: market.list, update, pause, resume, withdraw (FORMAT.md §6.5.2).

A provider offers goods (a number of units left) or a service (no stock) at
a price per unit in each credit class it accepts. Whether it may accept a
class is the class's rule, checked when the listing is published and when
its prices change: the class pays for the listing's category, and the
provider is accredited for that category by the class's issuer or by the
federation. The buyer's side of the class's rules (window, eligibility,
vouchers, freeze) is checked when an order pays (market/orders.py).

The terms a buyer orders under — category, delivery, the buyer's window
after acceptance (`return_window_ms`) and the arbiter of disputes — are fixed
when the listing is published; an update changes only the offer (prices,
quantity, description, validity window). A listing is never deleted:
withdrawn is final, and its orders carry on.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ledger import credit_rules, fields
from ledger.credits import CLASS_ID, load_class, optional_hash
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext, TxType
from market.listings_record import (
    ACTIVE,
    DELIVERY,
    ID_LEN,
    PAUSED,
    WITHDRAWN,
    Listing,
    get_listing,
    listing_key,
)
from market.records import is_arbiter

MAX_TITLE = 80
MAX_DESCRIPTION = 500
MAX_PRICES = 8
MAX_QUANTITY = 10**9
"""Most units a listing offers or an order takes at once."""
MIN_RETURN_WINDOW_MS = 3_600_000  # one hour
MAX_RETURN_WINDOW_MS = 90 * 86_400_000  # ninety days


# --- field rules (MALFORMED at admission), shared with orders ------------------------------------


def record_id(value: Any, field: str) -> bytes:
    """A listing's or an order's id: 16 bytes chosen by the client (a retry reuses it)."""
    if type(value) is not bytes or len(value) != ID_LEN:
        raise TxError(Code.MALFORMED, f"{field} must be {ID_LEN} bytes")
    return value


def _prices(value: Any) -> tuple[tuple[str, int], ...]:
    if type(value) is not tuple or not 1 <= len(value) <= MAX_PRICES:
        raise TxError(Code.MALFORMED, f"prices must be an array of 1 to {MAX_PRICES} [class_id, unit_price]")
    prices = []
    for i, pair in enumerate(value):
        if type(pair) is not tuple or len(pair) != 2:
            raise TxError(Code.MALFORMED, f"prices[{i}] must be [class_id, unit_price]")
        prices.append((fields.identifier(pair[0], f"prices[{i}].class_id", CLASS_ID),
                       fields.amount(pair[1], f"prices[{i}].unit_price")))
    if any(a[0] >= b[0] for a, b in zip(prices, prices[1:], strict=False)):
        raise TxError(Code.MALFORMED, "prices must be in strictly ascending class id order")
    return tuple(prices)


def _quantity(value: Any) -> int | None:
    return None if value is None else fields.uint(value, "quantity", MAX_QUANTITY)


def _window(valid_from_ms: Any, valid_until_ms: Any) -> tuple[int, int]:
    start, end = fields.uint(valid_from_ms, "valid_from_ms"), fields.uint(valid_until_ms, "valid_until_ms")
    if start and end and end <= start:
        raise TxError(Code.MALFORMED, "valid_until_ms must be after valid_from_ms")
    return start, end


# --- the class's rules for a listing -------------------------------------------------------------


def check_prices(ctx: ExecContext, provider: bytes, category: str, prices: tuple[tuple[str, int], ...]) -> None:
    """Each class priced, in ascending id: it exists, pays for `category`, and `provider` is accredited
    for `category` by its issuer or by the federation."""
    for class_id, _ in prices:
        credit_class = load_class(ctx.state, class_id)
        if credit_class.categories and category not in credit_class.categories:
            raise TxError(Code.WRONG_CATEGORY, f"class {class_id} pays for {', '.join(credit_class.categories)}")
        if not credit_rules.is_provider_for(ctx.state, provider, credit_class.issuer, category):
            raise TxError(Code.NOT_ACCREDITED, f"the provider is not accredited for {category} in class {class_id}")


def _own(ctx: ExecContext, listing_id: bytes) -> Listing:
    """The signer's listing, not withdrawn."""
    listing = get_listing(ctx.state, listing_id)
    if listing is None:
        raise TxError(Code.UNKNOWN_LISTING)
    if listing.provider != ctx.signer:
        raise TxError(Code.NOT_LISTING_OWNER)
    if listing.status == WITHDRAWN:
        raise TxError(Code.LISTING_WITHDRAWN)
    return listing


def _put(ctx: ExecContext, listing_id: bytes, listing: Listing) -> None:
    ctx.state.put(listing_key(listing_id), listing.encode())


# --- market.list ----------------------------------------------------------------------------------


class ListBody(NamedTuple):
    listing_id: bytes
    title: str
    description: str
    content_hash: bytes | None
    category: str
    prices: tuple[tuple[str, int], ...]
    quantity: int | None
    delivery: str
    valid_from_ms: int
    valid_until_ms: int
    return_window_ms: int
    arbiter: bytes


def _return_window(value: Any) -> int:
    if type(value) is not int or not MIN_RETURN_WINDOW_MS <= value <= MAX_RETURN_WINDOW_MS:
        raise TxError(Code.MALFORMED, f"return_window_ms must be {MIN_RETURN_WINDOW_MS} (an hour) to "
                                      f"{MAX_RETURN_WINDOW_MS} (90 days)")
    return value


def _delivery(value: Any) -> str:
    if type(value) is not str or value not in DELIVERY:
        raise TxError(Code.MALFORMED, f"delivery must be one of {', '.join(DELIVERY)}")
    return value


def _parse_list(body: tuple) -> ListBody:
    (listing_id, title, description, content_hash, category, prices, quantity, delivery, valid_from_ms,
     valid_until_ms, return_window_ms, arbiter) = fields.expect_fields(body, ListBody._fields)
    return ListBody(
        record_id(listing_id, "listing_id"),
        fields.text(title, "title", MAX_TITLE, least=1),
        fields.text(description, "description", MAX_DESCRIPTION),
        optional_hash(content_hash, "content_hash"),
        fields.identifier(category, "category", credit_rules.CATEGORY),
        _prices(prices),
        _quantity(quantity),
        _delivery(delivery),
        *_window(valid_from_ms, valid_until_ms),
        _return_window(return_window_ms),
        fields.pubkey(arbiter, "arbiter"),
    )


def _execute_list(ctx: ExecContext, body: ListBody) -> None:
    if ctx.state.get(listing_key(body.listing_id)) is not None:
        raise TxError(Code.LISTING_EXISTS)
    check_prices(ctx, ctx.signer, body.category, body.prices)
    if not is_arbiter(ctx.state, body.arbiter):
        raise TxError(Code.NOT_ARBITER, "the arbiter is not an authorised arbiter")
    if body.arbiter == ctx.signer:
        raise TxError(Code.NOT_ARBITER, "a provider may not arbitrate its own listing")
    _put(ctx, body.listing_id, Listing(
        ctx.signer, body.title, body.description, body.content_hash, body.category, body.prices, body.quantity,
        body.delivery, body.valid_from_ms, body.valid_until_ms, body.return_window_ms, body.arbiter, ACTIVE,
        ctx.height,
    ))


# --- market.update --------------------------------------------------------------------------------


class UpdateBody(NamedTuple):
    listing_id: bytes
    prices: tuple[tuple[str, int], ...]
    quantity: int | None
    description: str
    content_hash: bytes | None
    valid_from_ms: int
    valid_until_ms: int


def _parse_update(body: tuple) -> UpdateBody:
    listing_id, prices, quantity, description, content_hash, valid_from_ms, valid_until_ms = fields.expect_fields(
        body, UpdateBody._fields
    )
    return UpdateBody(
        record_id(listing_id, "listing_id"),
        _prices(prices),
        _quantity(quantity),
        fields.text(description, "description", MAX_DESCRIPTION),
        optional_hash(content_hash, "content_hash"),
        *_window(valid_from_ms, valid_until_ms),
    )


def _execute_update(ctx: ExecContext, body: UpdateBody) -> None:
    listing = _own(ctx, body.listing_id)
    if (body.quantity is None) != listing.is_service:
        raise TxError(Code.LISTING_KIND_MISMATCH)
    check_prices(ctx, ctx.signer, listing.category, body.prices)
    _put(ctx, body.listing_id, listing._replace(
        prices=body.prices, quantity=body.quantity, description=body.description, content_hash=body.content_hash,
        valid_from_ms=body.valid_from_ms, valid_until_ms=body.valid_until_ms,
    ))


# --- market.pause / resume / withdraw -------------------------------------------------------------


class ListingBody(NamedTuple):
    listing_id: bytes


def _parse_listing_id(body: tuple) -> ListingBody:
    (listing_id,) = fields.expect_fields(body, ListingBody._fields)
    return ListingBody(record_id(listing_id, "listing_id"))


def _execute_pause(ctx: ExecContext, body: ListingBody) -> None:
    listing = _own(ctx, body.listing_id)
    if listing.status != ACTIVE:
        raise TxError(Code.LISTING_NOT_ACTIVE)
    _put(ctx, body.listing_id, listing._replace(status=PAUSED))


def _execute_resume(ctx: ExecContext, body: ListingBody) -> None:
    listing = _own(ctx, body.listing_id)
    if listing.status != PAUSED:
        raise TxError(Code.LISTING_NOT_PAUSED)
    _put(ctx, body.listing_id, listing._replace(status=ACTIVE))


def _execute_withdraw(ctx: ExecContext, body: ListingBody) -> None:
    listing = _own(ctx, body.listing_id)
    _put(ctx, body.listing_id, listing._replace(status=WITHDRAWN))


LIST = TxType("market.list", _parse_list, _execute_list)
UPDATE = TxType("market.update", _parse_update, _execute_update)
PAUSE = TxType("market.pause", _parse_listing_id, _execute_pause)
RESUME = TxType("market.resume", _parse_listing_id, _execute_resume)
WITHDRAW = TxType("market.withdraw", _parse_listing_id, _execute_withdraw)
TYPES = (LIST, UPDATE, PAUSE, RESUME, WITHDRAW)
