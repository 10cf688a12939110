"""The marketplace's invariants (FORMAT.md §9, "Marketplace invariants"), checked by the auditor.

- every listing decodes, with a status, ascending prices and a quantity that
  is nil (a service) or 0 … 2^63 − 1;
- every order's state agrees with its escrow lot: an open order (placed,
  accepted, disputed) has its lot, of its class, from its buyer to its
  provider for the listing's category, holding exactly its total; a closed one
  has none (no credits stay in escrow past an order's final state);
- every placed or accepted order has exactly its one due item, at its
  deadline, and every due item of the module is such an order's (an open
  order is never forgotten by the end-of-block step);
- every review is of a completed order of the provider it is filed under,
  and each provider's rating `[count, sum]` is exactly the sum of its reviews.

The credits module's invariants check that the lots add up to each class's
`escrowed`; these check that the marketplace's lots are the ones its orders
say they hold.
"""

from __future__ import annotations

from ledger.address import to_address
from ledger.credit_ops import get_lot
from ledger.deadlines import BY_HEIGHT, BY_TIME
from ledger.encoding import EncodingError
from ledger.fields import MAX_AMOUNT
from ledger.invariants import InvariantBroken, StateScan, value_of
from ledger.state import StateReader
from market import records
from market.listings_record import ACTIVE, PAUSED, WITHDRAWN, decode_listing
from market.orders import MODULE
from market.reviews import MAX_TEXT, RATINGS

CHECK = "market"
_DUE_BY_TIME = BY_TIME + MODULE.encode("ascii") + b"/"
_DUE_BY_HEIGHT = BY_HEIGHT + MODULE.encode("ascii") + b"/"


def _broken(message: str, account: bytes | None = None) -> InvariantBroken:
    return InvariantBroken(CHECK, message, account)


def _check_listings(scan: StateScan) -> int:
    count = 0
    for key, raw in scan(records.PREFIX_LISTING):
        name = f"listing {key[len(records.PREFIX_LISTING):].hex()}"
        try:
            listing = decode_listing(raw)
        except (EncodingError, TypeError, ValueError) as exc:
            raise _broken(f"{name}: the record does not decode: {exc}") from None
        if listing.status not in (ACTIVE, PAUSED, WITHDRAWN):
            raise _broken(f"{name}: status {listing.status!r}")
        if listing.quantity is not None and (type(listing.quantity) is not int
                                             or not 0 <= listing.quantity <= MAX_AMOUNT):
            raise _broken(f"{name}: {listing.quantity!r} units left")
        classes = [class_id for class_id, _ in listing.prices]
        if not classes or classes != sorted(set(classes)):
            raise _broken(f"{name}: its prices are not in strictly ascending class order")
        count += 1
    return count


def _check_order(state: StateReader, order_id: bytes, order: records.Order) -> None:
    name = f"order {order_id.hex()}"
    if order.status not in records.STATUSES:
        raise _broken(f"{name}: status {order.status!r}")
    if order.total != order.quantity * order.unit_price or not 0 < order.total <= MAX_AMOUNT:
        raise _broken(f"{name}: total {order.total} is not {order.quantity} × {order.unit_price}")
    listing = records.get_listing(state, order.listing_id)
    if listing is None:
        raise _broken(f"{name}: its listing {order.listing_id.hex()} does not exist")
    lot = get_lot(state, records.order_lot(order_id))
    if not order.is_open:
        if lot is not None:
            raise _broken(f"{name} is {order.status} but its escrow lot still holds {lot.amount}", order.buyer)
        return
    if lot is None:
        raise _broken(f"{name} is {order.status} but its escrow lot does not exist", order.buyer)
    if (lot.class_id, lot.payer, lot.payee, lot.category) != (order.class_id, order.buyer, order.provider,
                                                              listing.category):
        raise _broken(f"{name}: its escrow lot is of {lot.class_id} from {to_address(lot.payer)} to "
                      f"{to_address(lot.payee)} for {lot.category!r}, not the order's", order.buyer)
    if lot.amount != order.total:
        raise _broken(f"{name} is {order.status}: its escrow lot holds {lot.amount}, its total is {order.total}",
                      order.buyer)
    due = state.get(_DUE_BY_TIME + order.deadline_ms.to_bytes(8, "big") + order_id)
    if (order.status in (records.PLACED, records.ACCEPTED)) != (due is not None):
        said = "has no due item at its deadline" if due is None else "still has a due item"
        raise _broken(f"{name} is {order.status} but {said} ({order.deadline_ms})", order.buyer)


def _check_due(state: StateReader, scan: StateScan) -> None:
    for key, _ in scan(_DUE_BY_TIME):
        at, order_id = int.from_bytes(key[len(_DUE_BY_TIME):][:8], "big"), key[len(_DUE_BY_TIME) + 8:]
        order = records.get_order(state, order_id)
        if order is None or order.status not in (records.PLACED, records.ACCEPTED) or order.deadline_ms != at:
            raise _broken(f"a due item at {at} for order {order_id.hex()}, which is not placed or accepted with "
                          "that deadline")
    for key, _ in scan(_DUE_BY_HEIGHT):
        raise _broken(f"a due item by height ({key.hex()}): the marketplace schedules by time only")


def _check_reviews(state: StateReader, scan: StateScan) -> int:
    totals: dict[bytes, tuple[int, int]] = {}
    reviews = 0
    start = len(records.PREFIX_REVIEW)
    for key, raw in scan(records.PREFIX_REVIEW):
        provider, order_id = key[start:start + 32], key[start + 32:]
        value = value_of(raw, key, CHECK)
        if type(value) is not tuple or len(value) != 2:
            raise _broken(f"the review of order {order_id.hex()} is not [rating, text]")
        rating, text = value
        if type(rating) is not int or rating not in RATINGS:
            raise _broken(f"the review of order {order_id.hex()} rates {rating!r}")
        if text is not None and (type(text) is not str or len(text.encode("utf-8")) > MAX_TEXT):
            raise _broken(f"the review of order {order_id.hex()} has a text that is not one")
        order = records.get_order(state, order_id)
        if order is None or order.provider != provider or order.status not in records.COMPLETED:
            raise _broken(f"a review of order {order_id.hex()} under {to_address(provider)}, which is not a "
                          "completed order of that provider", provider)
        count, total = totals.get(provider, (0, 0))
        totals[provider] = (count + 1, total + rating)
        reviews += 1
    for key, raw in scan(records.PREFIX_RATING):
        provider = key[len(records.PREFIX_RATING):]
        value = value_of(raw, key, CHECK)
        expected = totals.pop(provider, (0, 0))
        if value != expected:
            raise _broken(f"the rating of {to_address(provider)} is {value!r}, its reviews add up to "
                          f"{list(expected)}", provider)
    for provider, expected in sorted(totals.items()):
        raise _broken(f"{to_address(provider)} has {expected[0]} reviews but no rating record", provider)
    return reviews


def check_market(state: StateReader, scan: StateScan, chain_id: str = "", height: int = 0) -> int:
    """Listings, orders with their escrow and due items, reviews with ratings, arbiters; returns the
    number of listings, orders and reviews checked."""
    count = _check_listings(scan)
    for key, raw in scan(records.PREFIX_ORDER):
        order_id = key[len(records.PREFIX_ORDER):]
        try:
            order = records.decode_order(raw)
        except (EncodingError, TypeError, ValueError) as exc:
            raise _broken(f"order {order_id.hex()}: the record does not decode: {exc}") from None
        _check_order(state, order_id, order)
        count += 1
    _check_due(state, scan)
    count += _check_reviews(state, scan)
    for key, raw in scan(records.PREFIX_ARBITER):
        value = value_of(raw, key, CHECK)
        if type(value) is not tuple or len(value) != 1 or type(value[0]) is not str:
            raise _broken(f"arbiter {to_address(key[len(records.PREFIX_ARBITER):])}: the record is not [name]")
    return count
