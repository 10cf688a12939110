"""The marketplace's state records, their keys, and the reads the API and the auditor use (FORMAT.md §6.5, §9).

    market/listing/ ‖ id(16)                      = a listing (market/listings_record.py)
    market/order/   ‖ id(16)                      = [listing_id, buyer, provider, class_id, quantity,
                                                     unit_price, total, status, placed_ms, deadline_ms,
                                                     return_window_ms, arbiter, dispute, decision | nil]
    market/review/  ‖ provider(32) ‖ order_id(16) = [rating, text | nil]
    market/rating/  ‖ provider(32)                = [count, sum]   the provider's reviews, kept on review
    market/arbiter/ ‖ account(32)                 = [name]         an authorised arbiter (genesis)

An open order's credits are in the escrow lot `order_lot(id)` (ledger/credit_ops.py): from the
order until it is confirmed, released, decided, declined, cancelled or expired. A review is keyed
by its provider first, so that a provider's reviews are one range of keys.

The transition never scans: it reads these records by key. The scans below (`listings`,
`orders`, `reviews_of`) are for readers that are not consensus — the API, the CLI, the auditor —
and read the state's keys in order under one prefix.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from ledger.crypto import sha256
from ledger.encoding import decode, encode
from ledger.state import RangeReader, StateReader, prefix_end
from market.listings_record import (  # the listing record is shared with purchase groups
    ACTIVE,
    DELIVERY,
    ID_LEN,
    PAUSED,
    PREFIX_LISTING,
    WITHDRAWN,
    Listing,
    decode_listing,
    get_listing,
    listing_key,
)

__all__ = [
    "ACTIVE", "ACCEPTED", "CANCELLED", "CLOSED", "COMPLETED", "CONFIRMED", "DECIDED", "DECLINED", "DELIVERY",
    "DISPUTED", "EXPIRED", "ID_LEN", "Listing", "OPEN", "Order", "PAUSED", "PLACED", "PREFIX_ARBITER",
    "PREFIX_LISTING", "PREFIX_MARKET", "PREFIX_ORDER", "PREFIX_RATING", "PREFIX_REVIEW", "RELEASED", "Rating",
    "Review", "WITHDRAWN", "arbiter_key", "arbiters", "decode_listing", "decode_order", "get_arbiter", "get_listing", "get_order", "get_rating", "get_review",
    "is_arbiter", "listing_key", "listings", "order_key", "order_lot", "orders", "rating_key", "review_key",
    "reviews_of", "under",
]

PREFIX_MARKET = b"market/"  # the module's one prefix: every record below starts with it
PREFIX_ORDER = b"market/order/"
PREFIX_REVIEW = b"market/review/"
PREFIX_RATING = b"market/rating/"
PREFIX_ARBITER = b"market/arbiter/"

LOT_DOMAIN = b"incoop/market/order"

# An order's status: open ones hold their total in escrow, closed ones hold nothing.
PLACED, ACCEPTED, DISPUTED = "placed", "accepted", "disputed"
CONFIRMED, RELEASED, DECIDED = "confirmed", "released", "decided"
DECLINED, CANCELLED, EXPIRED = "declined", "cancelled", "expired"
OPEN = (PLACED, ACCEPTED, DISPUTED)
COMPLETED = (CONFIRMED, RELEASED, DECIDED)
"""The sale reached its end, by delivery or by the arbiter's decision: the buyer may review."""
CLOSED = (*COMPLETED, DECLINED, CANCELLED, EXPIRED)
STATUSES = (*OPEN, *CLOSED)


def order_key(order_id: bytes) -> bytes:
    return PREFIX_ORDER + order_id


def review_key(provider: bytes, order_id: bytes) -> bytes:
    return PREFIX_REVIEW + provider + order_id


def rating_key(provider: bytes) -> bytes:
    return PREFIX_RATING + provider


def arbiter_key(account: bytes) -> bytes:
    return PREFIX_ARBITER + account


def order_lot(order_id: bytes) -> bytes:
    """The escrow lot of an order: SHA256("incoop/market/order" ‖ order_id) (FORMAT.md §6.5)."""
    return sha256(LOT_DOMAIN + order_id)


# --- orders ------------------------------------------------------------------------------------


class Order(NamedTuple):
    """The value of `market/order/ ‖ id`, field by field in encoding order (FORMAT.md §6.5)."""

    listing_id: bytes
    buyer: bytes
    provider: bytes
    class_id: str
    quantity: int
    unit_price: int
    total: int  # quantity × unit_price: what the escrow lot holds while the order is open
    status: str  # one of STATUSES
    placed_ms: int  # block time of the order
    deadline_ms: int  # placed: the accept deadline; accepted: the release (the buyer's window ends)
    return_window_ms: int  # the listing's, when ordered: the buyer's window once accepted
    arbiter: bytes  # the listing's, when ordered: who decides a dispute
    dispute: str  # the buyer's reason, "" if never disputed
    decision: tuple[int, str] | None  # (to_provider, reason) once decided

    def encode(self) -> bytes:
        return encode(tuple(self))

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


def decode_order(raw: bytes) -> Order:
    fields = decode(raw)
    decision = fields[13]
    return Order(*fields[:13], None if decision is None else (decision[0], decision[1]))


def get_order(state: StateReader, order_id: bytes) -> Order | None:
    raw = state.get(order_key(order_id))
    return None if raw is None else decode_order(raw)


# --- reviews, ratings, arbiters -----------------------------------------------------------------


class Review(NamedTuple):
    rating: int  # 1 … 5
    text: str | None  # None once its author erased it; the rating stays counted

    def encode(self) -> bytes:
        return encode(tuple(self))


class Rating(NamedTuple):
    """A provider's reviews: how many, and the sum of their ratings (the mean is sum / count)."""

    count: int
    sum: int


def get_review(state: StateReader, provider: bytes, order_id: bytes) -> Review | None:
    raw = state.get(review_key(provider, order_id))
    return None if raw is None else Review(*decode(raw))


def get_rating(state: StateReader, provider: bytes) -> Rating:
    raw = state.get(rating_key(provider))
    return Rating(0, 0) if raw is None else Rating(*decode(raw))


def arbiters(state: RangeReader, after: bytes | None = None) -> Iterator[tuple[bytes, str]]:
    """(account, name) of the authorised arbiters, in account order (after `after`, if given)."""
    for key, raw in under(state, PREFIX_ARBITER, after):
        yield key[len(PREFIX_ARBITER):], decode(raw)[0]


def get_arbiter(state: StateReader, account: bytes) -> str | None:
    """The arbiter's name, or None if the account is not an authorised arbiter."""
    raw = state.get(arbiter_key(account))
    return None if raw is None else decode(raw)[0]


def is_arbiter(state: StateReader, account: bytes) -> bool:
    return state.get(arbiter_key(account)) is not None


# --- scans for readers that are not consensus (API, CLI, auditor) --------------------------------


def under(state: RangeReader, prefix: bytes, after: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
    """Every (key, value) whose key starts with `prefix`, in key order; with `after`, only the keys
    past `prefix ‖ after` (a page's cursor: the last id of the previous page)."""
    start = prefix if after is None else prefix + after + b"\x00"
    return state.range(start, prefix_end(prefix))


def listings(state: RangeReader, provider: bytes | None = None, category: str | None = None,
             class_id: str | None = None, status: str | None = None,
             words: str | None = None, after: bytes | None = None) -> Iterator[tuple[bytes, Listing]]:
    """(id, listing) of every listing matching all the filters given, in id order (after the id
    `after`, if given); `words`: every word of it (split on white space, compared
    case-insensitively) is in the title."""
    wanted = [] if words is None else words.casefold().split()
    for key, raw in under(state, PREFIX_LISTING, after):
        listing_id = key[len(PREFIX_LISTING):]
        listing = decode_listing(raw)
        if provider is not None and listing.provider != provider:
            continue
        if category is not None and listing.category != category:
            continue
        if class_id is not None and listing.price_in(class_id) is None:
            continue
        if status is not None and listing.status != status:
            continue
        if wanted and not all(word in listing.title.casefold() for word in wanted):
            continue
        yield listing_id, listing


def orders(state: RangeReader, buyer: bytes | None = None, provider: bytes | None = None,
           listing_id: bytes | None = None, status: str | None = None,
           after: bytes | None = None, account: bytes | None = None) -> Iterator[tuple[bytes, Order]]:
    """(id, order) of every order matching all the filters given, in id order, after the id `after`
    if given; `account`: the orders it is the buyer or the provider of (one list with one cursor)."""
    for key, raw in under(state, PREFIX_ORDER, after):
        order = decode_order(raw)
        if account is not None and account not in (order.buyer, order.provider):
            continue
        if buyer is not None and order.buyer != buyer:
            continue
        if provider is not None and order.provider != provider:
            continue
        if listing_id is not None and order.listing_id != listing_id:
            continue
        if status is not None and order.status != status:
            continue
        yield key[len(PREFIX_ORDER):], order


def reviews_of(state: RangeReader, provider: bytes, after: bytes | None = None) -> Iterator[tuple[bytes, Review]]:
    """(order id, review) of a provider's reviews, in order-id order (after the order id `after`, if
    given): one range of keys."""
    prefix = PREFIX_REVIEW + provider
    for key, raw in under(state, prefix, after):
        yield key[len(prefix):], Review(*decode(raw))
