"""Purchase groups (gruppi di acquisto): `gas.open`, `gas.join`, `gas.leave` (FORMAT.md §6.6).

An organiser (the account of an organisation's identity) opens a pooled
purchase on a supplier's listing, on terms the supplier signed
(market/groups_terms.py): a minimum and a maximum total quantity, a deadline
and price tiers by the total reached. The units of the maximum are set aside
from the listing's stock at once, as an order takes its units when placed.

Members commit quantities before the deadline. A commitment is paid at the
moment it is made, with every rule of the class (ledger/credit_ops.lock: the
spend guard, window, category, accreditation, freeze, balance) plus the
class's eligibility of the member, into an escrow lot for the supplier; it
is locked at the highest tier price, the price if only the minimum is
reached. Joining again adds to the commitment (its lot is refunded and a new
one locked for the sum); leaving refunds it. Nobody acts at the deadline:
the end-of-block step settles the group (market/groups_settle.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from identity.records import ACTIVE, get_identity, identity_of
from ledger import credit_ops as ops
from ledger import credit_rules as rules
from ledger import deadlines, fields
from ledger.credits import CLASS_ID, load_class
from ledger.crypto import SIGNATURE_LEN
from ledger.errors import Code, TxError
from ledger.fields import MAX_AMOUNT
from ledger.handlers import ExecContext, TxType
from ledger.state import Overlay
from market import groups_record as rec
from market.groups_record import OPEN, Commitment, Group, Tier
from market.groups_terms import terms_ok, terms_payload
from market.listings_record import ACTIVE as LISTING_ACTIVE
from market.listings_record import Listing, get_listing, listing_key


def _id(value: Any, field: str) -> bytes:
    if type(value) is not bytes or len(value) != rec.ID_LEN:
        raise TxError(Code.MALFORMED, f"{field} must be {rec.ID_LEN} bytes")
    return value


def _tiers(value: Any, min_qty: int, max_qty: int) -> tuple[Tier, ...]:
    """1 … 8 tiers [min_total, unit_price]: min_total ascending from min_qty up to max_qty at most,
    unit_price descending (more units, a lower price), each strictly."""
    if type(value) is not tuple or not 1 <= len(value) <= rec.MAX_TIERS:
        raise TxError(Code.MALFORMED, f"tiers must be an array of 1 to {rec.MAX_TIERS} [min_total, unit_price]")
    tiers = []
    for i, tier in enumerate(value):
        if type(tier) is not tuple or len(tier) != 2:
            raise TxError(Code.MALFORMED, f"tiers[{i}] must be [min_total, unit_price]")
        tiers.append(Tier(fields.amount(tier[0], f"tiers[{i}].min_total"), fields.amount(tier[1], f"tiers[{i}].unit_price")))
    if tiers[0].min_total != min_qty:
        raise TxError(Code.MALFORMED, "the first tier starts at min_qty")
    for lower, higher in zip(tiers, tiers[1:], strict=False):
        if not (higher.min_total > lower.min_total and higher.unit_price < lower.unit_price):
            raise TxError(Code.MALFORMED, "tiers must ascend in min_total and descend in unit_price")
    if tiers[-1].min_total > max_qty:
        raise TxError(Code.MALFORMED, "a tier starts above max_qty")
    return tuple(tiers)


# --- gas.open -------------------------------------------------------------------------------


class OpenBody(NamedTuple):
    group_id: bytes
    listing_id: bytes
    class_id: str
    min_qty: int
    max_qty: int
    deadline_ms: int
    tiers: tuple[Tier, ...]
    terms_signature: bytes  # the listing's provider's, over the terms (market/groups_terms.py)


def parse_open(body: tuple) -> OpenBody:
    group_id, listing_id, class_id, min_qty, max_qty, deadline_ms, tiers, signature = fields.expect_fields(
        body, OpenBody._fields)
    min_qty, max_qty = fields.amount(min_qty, "min_qty"), fields.amount(max_qty, "max_qty")
    if min_qty > max_qty:
        raise TxError(Code.MALFORMED, "min_qty must not exceed max_qty")
    parsed_tiers = _tiers(tiers, min_qty, max_qty)
    if max_qty * parsed_tiers[0].unit_price > MAX_AMOUNT:
        raise TxError(Code.MALFORMED, f"max_qty × the first tier's price must be at most {MAX_AMOUNT}")
    if type(signature) is not bytes or len(signature) != SIGNATURE_LEN:
        raise TxError(Code.MALFORMED, f"terms_signature must be {SIGNATURE_LEN} bytes")
    return OpenBody(_id(group_id, "group_id"), _id(listing_id, "listing_id"),
                    fields.identifier(class_id, "class_id", CLASS_ID), min_qty, max_qty,
                    fields.uint(deadline_ms, "deadline_ms"), parsed_tiers, signature)


def _check_organiser(ctx: ExecContext) -> None:
    identity_id = identity_of(ctx.state, ctx.signer)
    identity = None if identity_id is None else get_identity(ctx.state, identity_id)
    if identity is None or identity.kind not in rec.ORGANISATION_KINDS:
        raise TxError(Code.NOT_ORGANISATION, "the organiser must be a key of a cooperative, company, association, "
                                             "union or institution")
    if identity.status != ACTIVE:
        raise TxError(Code.IDENTITY_NOT_ACTIVE, f"the organisation's identity is {identity.status}")


def _available(ctx: ExecContext, listing: Listing | None) -> Listing:
    """The listing exists, is active and within its validity window at the block's time."""
    if listing is None:
        raise TxError(Code.LISTING_UNAVAILABLE, "no such listing")
    if listing.status != LISTING_ACTIVE:
        raise TxError(Code.LISTING_UNAVAILABLE, f"the listing is {listing.status}")
    if listing.valid_from_ms and ctx.time_ms < listing.valid_from_ms:
        raise TxError(Code.LISTING_UNAVAILABLE, f"the listing is valid from {listing.valid_from_ms}")
    if listing.valid_until_ms and ctx.time_ms >= listing.valid_until_ms:
        raise TxError(Code.LISTING_UNAVAILABLE, f"the listing ended at {listing.valid_until_ms}")
    return listing


def execute_open(ctx: ExecContext, body: OpenBody) -> None:
    if ctx.state.get(rec.group_key(body.group_id)) is not None:
        raise TxError(Code.GROUP_EXISTS)
    if body.deadline_ms <= ctx.time_ms:
        raise TxError(Code.DEADLINE_PASSED, "the deadline must be after the block's time")
    _check_organiser(ctx)
    listing = _available(ctx, get_listing(ctx.state, body.listing_id))
    price = listing.price_in(body.class_id)
    if price is None:
        raise TxError(Code.CLASS_NOT_ACCEPTED, f"the listing is not priced in {body.class_id}")
    if body.tiers[0].unit_price > price:
        raise TxError(Code.TIER_ABOVE_PRICE, f"the listing's unit price in {body.class_id} is {price}")
    if listing.quantity is not None and body.max_qty > listing.quantity:
        raise TxError(Code.GROUP_FULL, f"the listing has {listing.quantity} units left, not {body.max_qty}")
    payload = terms_payload(body.group_id, ctx.signer, body.listing_id, body.class_id, body.min_qty, body.max_qty,
                            body.deadline_ms, body.tiers)
    if not terms_ok(listing.provider, ctx.chain_id, payload, body.terms_signature):
        raise TxError(Code.BAD_TERMS_SIGNATURE, "the listing's provider did not sign these terms")
    if listing.quantity is not None:
        put_listing_quantity(ctx.state, body.listing_id, listing, listing.quantity - body.max_qty)
    group = Group(ctx.signer, body.listing_id, listing.provider, listing.category, body.class_id, body.min_qty,
                  body.max_qty, body.deadline_ms, body.tiers, 0, 0, 0, OPEN, 0, 0, ctx.height)
    ctx.state.put(rec.group_key(body.group_id), group.encode())
    deadlines.schedule_at_time(ctx.state, rec.MODULE_NAME, body.deadline_ms, rec.group_item(body.group_id))


def put_listing_quantity(state: Overlay, listing_id: bytes, listing: Listing, quantity: int) -> None:
    """Units set aside for a group, or given back to the listing (never above 2^63 − 1)."""
    state.put(listing_key(listing_id), listing._replace(quantity=min(quantity, MAX_AMOUNT)).encode())


# --- gas.join / gas.leave -------------------------------------------------------------------


class JoinBody(NamedTuple):
    group_id: bytes
    quantity: int


class LeaveBody(NamedTuple):
    group_id: bytes


def parse_join(body: tuple) -> JoinBody:
    group_id, quantity = fields.expect_fields(body, JoinBody._fields)
    return JoinBody(_id(group_id, "group_id"), fields.amount(quantity, "quantity"))


def parse_leave(body: tuple) -> LeaveBody:
    (group_id,) = fields.expect_fields(body, LeaveBody._fields)
    return LeaveBody(_id(group_id, "group_id"))


def reference(group_id: bytes) -> str:
    """The reference of a commitment's credit movements (statements, ledger/credit_ops.Movement)."""
    return f"purchase group {group_id.hex()}"


def _open_group(ctx: ExecContext, group_id: bytes) -> Group:
    group = rec.get_group(ctx.state, group_id)
    if group is None:
        raise TxError(Code.UNKNOWN_GROUP)
    if group.status != OPEN or ctx.time_ms >= group.deadline_ms:
        raise TxError(Code.DEADLINE_PASSED, f"the group closed at {group.deadline_ms}")
    return group


def lot_amount(ctx: ExecContext, lot: bytes) -> int:
    held = ops.get_lot(ctx.state, lot)
    if held is None:
        raise TxError(Code.UNKNOWN_ESCROW)
    return held.amount


def execute_join(ctx: ExecContext, body: JoinBody) -> None:
    group = _open_group(ctx, body.group_id)
    _available(ctx, get_listing(ctx.state, group.listing_id))
    if group.committed_qty + body.quantity > group.max_qty:
        raise TxError(Code.GROUP_FULL, f"{group.max_qty - group.committed_qty} units are left in the group")
    credit_class = load_class(ctx.state, group.class_id)
    rules.check_eligible(ctx.rules, ctx.state, credit_class.eligibility, ctx.signer, ctx.height)
    before = rec.get_commitment(ctx.state, body.group_id, ctx.signer)
    quantity = body.quantity + (before.quantity if before else 0)
    ref = reference(body.group_id)
    if before is not None:  # one lot per commitment, never reused: give the old one back, lock the sum anew
        ops.refund(ctx, before.lot, lot_amount(ctx, before.lot), ref)
    lot = rec.commitment_lot(body.group_id, ctx.signer, group.commitments_made)
    ops.lock(ctx, lot, group.class_id, ctx.signer, group.provider, quantity * group.top_price, group.category, ref)
    ctx.state.put(rec.commit_key(body.group_id, ctx.signer), Commitment(quantity, lot).encode())
    joined = 0 if before else 1
    if joined:
        deadlines.schedule_at_time(ctx.state, rec.MODULE_NAME, group.deadline_ms,
                                   rec.commit_item(body.group_id, ctx.signer))
    ctx.state.put(rec.group_key(body.group_id), group._replace(
        committed_qty=group.committed_qty + body.quantity, members=group.members + joined,
        pending=group.pending + joined, commitments_made=group.commitments_made + 1).encode())


def execute_leave(ctx: ExecContext, body: LeaveBody) -> None:
    group = _open_group(ctx, body.group_id)
    commitment = rec.get_commitment(ctx.state, body.group_id, ctx.signer)
    if commitment is None:
        raise TxError(Code.NOT_COMMITTED)
    ops.refund(ctx, commitment.lot, lot_amount(ctx, commitment.lot), reference(body.group_id))
    ctx.state.delete(rec.commit_key(body.group_id, ctx.signer))
    deadlines.cancel_at_time(ctx.state, rec.MODULE_NAME, group.deadline_ms, rec.commit_item(body.group_id, ctx.signer))
    ctx.state.put(rec.group_key(body.group_id), group._replace(
        committed_qty=group.committed_qty - commitment.quantity, members=group.members - 1,
        pending=group.pending - 1).encode())


OPEN_GROUP = TxType("gas.open", parse_open, execute_open)
JOIN = TxType("gas.join", parse_join, execute_join)
LEAVE = TxType("gas.leave", parse_leave, execute_leave)
