"""A purchase group settled at its deadline by the end-of-block step, never by a person (FORMAT.md §6.6, §12.3).

`gas.open` schedules the group's item at its deadline and `gas.join` one item
per commitment at the same time (ledger/deadlines.py), so the work of a group
is spread over as many due items as it has members and each block takes at
most `params.max_due_per_block` of them:

- the group's item (sorted before every commitment's at one deadline)
  decides: the minimum reached, the tier price is the last tier's whose
  min_total ≤ the committed quantity, and the units above it go back to the
  listing; not reached, every unit goes back. The group is `closing` while
  commitments are left, else final at once;
- each commitment's item charges quantity × the tier price to the supplier
  (release) and refunds the rest of its lot, or refunds it all if the
  minimum was not reached; the last one makes the group `settled` or
  `failed`.

A commitment's item decides the group itself if it ever came first, so the
outcome never depends on the order the items are taken in.
"""

from __future__ import annotations

from ledger import credit_ops as ops
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext
from market import groups_record as rec
from market.groups import lot_amount, put_listing_quantity, reference
from market.groups_record import CLOSING, FAILED, OPEN, SETTLED, Group
from market.listings_record import get_listing


def _final(group: Group) -> str:
    return SETTLED if group.unit_price else FAILED


def _decided(ctx: ExecContext, group_id: bytes) -> Group:
    """The group, decided once: the tier price reached (0 if the minimum was not), the units not bought
    back to the listing."""
    group = rec.get_group(ctx.state, group_id)
    if group is None:
        raise TxError(Code.UNKNOWN_GROUP)
    if group.status != OPEN:
        return group
    price = group.price_reached(group.committed_qty)
    listing = get_listing(ctx.state, group.listing_id)
    if listing is not None and listing.quantity is not None:
        unsold = group.max_qty - (group.committed_qty if price else 0)
        put_listing_quantity(ctx.state, group.listing_id, listing, listing.quantity + unsold)
    group = group._replace(unit_price=price)
    group = group._replace(status=CLOSING if group.pending else _final(group))
    ctx.state.put(rec.group_key(group_id), group.encode())
    return group


def _settle_commitment(ctx: ExecContext, group_id: bytes, member: bytes) -> None:
    group = _decided(ctx, group_id)
    commitment = rec.get_commitment(ctx.state, group_id, member)
    if commitment is None:
        raise TxError(Code.NOT_COMMITTED)
    held, ref = lot_amount(ctx, commitment.lot), reference(group_id)
    charge = commitment.quantity * group.unit_price  # ≤ held: locked at the highest price of the tiers
    if charge:
        ops.release(ctx, commitment.lot, charge, ref)
    if held - charge:
        ops.refund(ctx, commitment.lot, held - charge, ref)
    ctx.state.delete(rec.commit_key(group_id, member))
    group = group._replace(pending=group.pending - 1)
    if group.pending == 0:
        group = group._replace(status=_final(group))
    ctx.state.put(rec.group_key(group_id), group.encode())


def end_block(ctx: ExecContext, item: bytes) -> None:
    """The module's end-of-block step on one due item (ledger/rules.py `Module.end_block`)."""
    kind, rest = item[:1], item[1:]
    if kind == rec.GROUP_ITEM and len(rest) == rec.ID_LEN:
        _decided(ctx, rest)
    elif kind == rec.COMMIT_ITEM and len(rest) == rec.ID_LEN + 32:
        _settle_commitment(ctx, rest[:rec.ID_LEN], rest[rec.ID_LEN:])
    else:  # only this module writes its due keys: never reached
        raise TxError(Code.UNKNOWN_GROUP, f"not a purchase group's due item: {item.hex()}")
