"""Orders with escrow: market.order, accept, decline, cancel, confirm, dispute, decide, and the
end-of-block step that expires an unaccepted order or releases an accepted one (FORMAT.md §6.5.3,
§6.5.4).

Neither side trusts the other with credits: the buyer's payment goes into
an escrow lot the ledger holds (`credit_ops.lock`, every rule of the class
checked at that moment, the moment of payment) and leaves it only to the
provider (`release`) or back to the buyer (`refund`):

    placed ──accept──▶ accepted ──confirm──────────────▶ confirmed   (release all)
      │                  │ └──(window passes, by itself)─▶ released    (release all)
      │                  └──dispute──▶ disputed ──decide─▶ decided    (release a share, refund the rest)
      ├──decline──▶ declined     (refund all)
      ├──cancel───▶ cancelled    (refund all)
      └──(72 h pass, by itself)──▶ expired   (refund all)

An open order has exactly one due item (ledger/deadlines.py), the order id
at `deadline_ms`: while placed, the accept deadline; once accepted, the end
of the buyer's window. A transaction that moves the order on deletes it, so
the step meets only orders nobody acted on in time.
"""

from __future__ import annotations

from typing import NamedTuple

from ledger import credit_ops as ops
from ledger import deadlines, fields
from ledger.credits import CLASS_ID
from ledger.errors import Code, TxError
from ledger.fields import MAX_AMOUNT
from ledger.handlers import ExecContext, TxType
from market.listings import MAX_QUANTITY, record_id
from market.listings_record import ACTIVE, get_listing, listing_key
from market.records import (
    ACCEPTED,
    CANCELLED,
    CONFIRMED,
    DECIDED,
    DECLINED,
    DISPUTED,
    EXPIRED,
    PLACED,
    RELEASED,
    Order,
    get_order,
    order_key,
    order_lot,
)

MODULE = "market"  # the module's name: its due items are under due/t/market/
ACCEPT_WINDOW_MS = 72 * 3_600_000
"""How long a provider has to accept an order before it expires and the buyer is refunded."""
MAX_REASON = 280
"""A dispute's or a decision's reason, in bytes."""
LAST_TIME = 2**63 - 1


def reference(order_id: bytes) -> str:
    """The reference of an order's movements in statements (node/audit/export.py)."""
    return f"order {order_id.hex()}"


# --- shared steps ---------------------------------------------------------------------------------


def load_order(ctx: ExecContext, order_id: bytes) -> Order:
    order = get_order(ctx.state, order_id)
    if order is None:
        raise TxError(Code.UNKNOWN_ORDER)
    return order


def _party(ctx: ExecContext, order: Order, account: bytes, role: str) -> None:
    if ctx.signer != account:
        raise TxError(Code.NOT_ORDER_PARTY, f"only the order's {role} may do this")


def _status(order: Order, wanted: str, action: str) -> None:
    if order.status != wanted:
        raise TxError(Code.WRONG_ORDER_STATUS, f"the order is {order.status}; {action} needs it {wanted}")


def _put(ctx: ExecContext, order_id: bytes, order: Order) -> None:
    ctx.state.put(order_key(order_id), order.encode())


def _due_at(time_ms: int, window_ms: int) -> int:
    """A deadline in block time; capped at the last time a due key can hold (never reached in practice)."""
    return min(time_ms + window_ms, LAST_TIME)


def _unschedule(ctx: ExecContext, order_id: bytes, order: Order) -> None:
    deadlines.cancel_at_time(ctx.state, MODULE, order.deadline_ms, order_id)


def _restock(ctx: ExecContext, order: Order) -> None:
    """An order that never reached the provider gives its units back to the listing (goods only)."""
    listing = get_listing(ctx.state, order.listing_id)
    if listing is not None and not listing.is_service:
        ctx.state.put(listing_key(order.listing_id), listing._replace(quantity=listing.quantity + order.quantity).encode())


def _refund_all(ctx: ExecContext, order_id: bytes, order: Order, status: str) -> None:
    """Declined, cancelled or expired: the whole total back to the buyer, the units back to the listing."""
    ops.refund(ctx, order_lot(order_id), order.total, reference(order_id))
    _restock(ctx, order)
    _put(ctx, order_id, order._replace(status=status))


def _release_all(ctx: ExecContext, order_id: bytes, order: Order, status: str) -> None:
    ops.release(ctx, order_lot(order_id), order.total, reference(order_id))
    _put(ctx, order_id, order._replace(status=status))


# --- market.order ---------------------------------------------------------------------------------


class OrderBody(NamedTuple):
    order_id: bytes
    listing_id: bytes
    class_id: str
    quantity: int


def _parse_order(body: tuple) -> OrderBody:
    order_id, listing_id, class_id, quantity = fields.expect_fields(body, OrderBody._fields)
    quantity = fields.uint(quantity, "quantity", MAX_QUANTITY)
    if quantity == 0:
        raise TxError(Code.MALFORMED, f"quantity must be an integer from 1 to {MAX_QUANTITY}")
    return OrderBody(record_id(order_id, "order_id"), record_id(listing_id, "listing_id"),
                     fields.identifier(class_id, "class_id", CLASS_ID), quantity)


def _execute_order(ctx: ExecContext, body: OrderBody) -> None:
    if ctx.state.get(order_key(body.order_id)) is not None:
        raise TxError(Code.ORDER_EXISTS)
    listing = get_listing(ctx.state, body.listing_id)
    if listing is None:
        raise TxError(Code.UNKNOWN_LISTING)
    if listing.status != ACTIVE:
        raise TxError(Code.LISTING_NOT_ACTIVE, f"the listing is {listing.status}")
    if (listing.valid_from_ms and ctx.time_ms < listing.valid_from_ms) or (
            listing.valid_until_ms and ctx.time_ms >= listing.valid_until_ms):
        raise TxError(Code.LISTING_NOT_OPEN)
    if ctx.signer == listing.arbiter:
        raise TxError(Code.NOT_ORDER_PARTY, "the listing's arbiter may not buy from it: it would decide its own dispute")
    unit_price = listing.price_in(body.class_id)
    if unit_price is None:
        raise TxError(Code.CLASS_NOT_ACCEPTED, f"the listing accepts {', '.join(c for c, _ in listing.prices)}")
    if not listing.is_service and body.quantity > listing.quantity:
        raise TxError(Code.QUANTITY_UNAVAILABLE, f"{listing.quantity} left")
    total = body.quantity * unit_price
    if total > MAX_AMOUNT:
        raise TxError(Code.AMOUNT_OVERFLOW, "quantity × unit price is more than 2^63 − 1")
    ops.lock(ctx, order_lot(body.order_id), body.class_id, ctx.signer, listing.provider, total, listing.category,
             reference(body.order_id))
    if not listing.is_service:
        ctx.state.put(listing_key(body.listing_id), listing._replace(quantity=listing.quantity - body.quantity).encode())
    order = Order(body.listing_id, ctx.signer, listing.provider, body.class_id, body.quantity, unit_price, total,
                  PLACED, ctx.time_ms, _due_at(ctx.time_ms, ACCEPT_WINDOW_MS), listing.return_window_ms,
                  listing.arbiter, "", None)
    _put(ctx, body.order_id, order)
    deadlines.schedule_at_time(ctx.state, MODULE, order.deadline_ms, body.order_id)


# --- the provider: accept, decline --------------------------------------------------------------


class OrderIdBody(NamedTuple):
    order_id: bytes


def _parse_order_id(body: tuple) -> OrderIdBody:
    (order_id,) = fields.expect_fields(body, OrderIdBody._fields)
    return OrderIdBody(record_id(order_id, "order_id"))


def _execute_accept(ctx: ExecContext, body: OrderIdBody) -> None:
    order = load_order(ctx, body.order_id)
    _party(ctx, order, order.provider, "provider")
    _status(order, PLACED, "accept")
    if ctx.time_ms >= order.deadline_ms:
        raise TxError(Code.ACCEPT_WINDOW_CLOSED, f"it expired at {order.deadline_ms}")
    _unschedule(ctx, body.order_id, order)
    accepted = order._replace(status=ACCEPTED, deadline_ms=_due_at(ctx.time_ms, order.return_window_ms))
    _put(ctx, body.order_id, accepted)
    deadlines.schedule_at_time(ctx.state, MODULE, accepted.deadline_ms, body.order_id)


def _execute_decline(ctx: ExecContext, body: OrderIdBody) -> None:
    order = load_order(ctx, body.order_id)
    _party(ctx, order, order.provider, "provider")
    _status(order, PLACED, "decline")
    _unschedule(ctx, body.order_id, order)
    _refund_all(ctx, body.order_id, order, DECLINED)


# --- the buyer: cancel, confirm, dispute --------------------------------------------------------


def _execute_cancel(ctx: ExecContext, body: OrderIdBody) -> None:
    order = load_order(ctx, body.order_id)
    _party(ctx, order, order.buyer, "buyer")
    _status(order, PLACED, "cancel")
    _unschedule(ctx, body.order_id, order)
    _refund_all(ctx, body.order_id, order, CANCELLED)


def _execute_confirm(ctx: ExecContext, body: OrderIdBody) -> None:
    order = load_order(ctx, body.order_id)
    _party(ctx, order, order.buyer, "buyer")
    _status(order, ACCEPTED, "confirm")
    _unschedule(ctx, body.order_id, order)
    _release_all(ctx, body.order_id, order, CONFIRMED)


class DisputeBody(NamedTuple):
    order_id: bytes
    reason: str


def _parse_dispute(body: tuple) -> DisputeBody:
    order_id, reason = fields.expect_fields(body, DisputeBody._fields)
    return DisputeBody(record_id(order_id, "order_id"), fields.text(reason, "reason", MAX_REASON, least=1))


def _execute_dispute(ctx: ExecContext, body: DisputeBody) -> None:
    order = load_order(ctx, body.order_id)
    _party(ctx, order, order.buyer, "buyer")
    _status(order, ACCEPTED, "dispute")
    if ctx.time_ms >= order.deadline_ms:
        raise TxError(Code.DISPUTE_WINDOW_CLOSED, f"it closed at {order.deadline_ms}")
    _unschedule(ctx, body.order_id, order)
    _put(ctx, body.order_id, order._replace(status=DISPUTED, dispute=body.reason))


# --- the arbiter: decide ------------------------------------------------------------------------


class DecideBody(NamedTuple):
    order_id: bytes
    to_provider: int
    reason: str


def _parse_decide(body: tuple) -> DecideBody:
    order_id, to_provider, reason = fields.expect_fields(body, DecideBody._fields)
    return DecideBody(record_id(order_id, "order_id"), fields.uint(to_provider, "to_provider"),
                      fields.text(reason, "reason", MAX_REASON, least=1))


def _execute_decide(ctx: ExecContext, body: DecideBody) -> None:
    order = load_order(ctx, body.order_id)
    if ctx.signer != order.arbiter:
        raise TxError(Code.NOT_ARBITER, "only the order's arbiter decides its dispute")
    _status(order, DISPUTED, "decide")
    if body.to_provider > order.total:
        raise TxError(Code.DECISION_OVER_TOTAL, f"the order's total is {order.total}")
    lot, ref = order_lot(body.order_id), reference(body.order_id)
    if body.to_provider:
        ops.release(ctx, lot, body.to_provider, ref)
    if order.total - body.to_provider:
        ops.refund(ctx, lot, order.total - body.to_provider, ref)
    _put(ctx, body.order_id, order._replace(status=DECIDED, decision=(body.to_provider, body.reason)))


# --- the end-of-block step ----------------------------------------------------------------------


def end_block(ctx: ExecContext, order_id: bytes) -> None:
    """An order due now (FORMAT.md §12.3): still placed → expired, refunded; still accepted → released."""
    order = get_order(ctx.state, order_id)
    if order is None:
        raise TxError(Code.UNKNOWN_ORDER)
    if order.status == PLACED:
        _refund_all(ctx, order_id, order, EXPIRED)
    elif order.status == ACCEPTED:
        _release_all(ctx, order_id, order, RELEASED)
    else:
        raise TxError(Code.WRONG_ORDER_STATUS, f"the order is {order.status}: nothing falls due")


ORDER = TxType("market.order", _parse_order, _execute_order)
ACCEPT = TxType("market.accept", _parse_order_id, _execute_accept)
DECLINE = TxType("market.decline", _parse_order_id, _execute_decline)
CANCEL = TxType("market.cancel", _parse_order_id, _execute_cancel)
CONFIRM = TxType("market.confirm", _parse_order_id, _execute_confirm)
DISPUTE = TxType("market.dispute", _parse_dispute, _execute_dispute)
DECIDE = TxType("market.decide", _parse_decide, _execute_decide)
TYPES = (ORDER, ACCEPT, DECLINE, CANCEL, CONFIRM, DISPUTE, DECIDE)
