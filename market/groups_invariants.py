"""The purchase groups' invariants (FORMAT.md §9, "Purchase-group invariants"), checked by the auditor.

Re-execution shows every block followed the rules; these say what must hold
of a whole replayed state, so that a settlement bug shows as a named broken
invariant rather than as credits left in escrow that nobody will ever move:

- an open group's commitments add up to its committed quantity and number
  its members, every one with its escrow lot holding quantity × the top
  price for the supplier, in the group's class and category, and a due item
  at the deadline (so the end-of-block step will reach it); the group's own
  item is due too;
- a closing group (decided, settling) has exactly `pending` commitments
  left, each still with its whole lot and its due item;
- a settled or failed group has no commitment left (so no credit of it is in
  escrow), and its price is the tier its committed quantity reached (none
  for a failed one);
- every commitment belongs to a group.
"""

from __future__ import annotations

from ledger import credit_ops as ops
from ledger.address import to_address
from ledger.deadlines import BY_TIME
from ledger.encoding import EncodingError, decode
from ledger.invariants import InvariantBroken, StateScan
from ledger.state import StateReader
from market import groups_record as rec
from market.groups_record import CLOSING, FAILED, OPEN, SETTLED, STATUSES, Commitment, Group

CHECK = "purchase group"


def _due(state: StateReader, group: Group, item: bytes) -> bool:
    return state.get(BY_TIME + rec.MODULE_NAME.encode() + b"/" + group.deadline_ms.to_bytes(8, "big") + item) is not None


def _group(group_id: bytes, raw: bytes) -> Group:
    try:
        group = rec.decode_group(raw)
    except (EncodingError, TypeError, ValueError) as exc:
        raise InvariantBroken(CHECK, f"group {group_id.hex()}: the record does not decode: {exc}") from None
    if group.status not in STATUSES:
        raise InvariantBroken(CHECK, f"group {group_id.hex()}: unknown status {group.status!r}")
    return group


def _commitments(state: StateReader, scan: StateScan, group_id: bytes, group: Group) -> tuple[int, int]:
    """(how many, total quantity) of the group's commitments, each checked against its lot and due item."""
    count = total = 0
    prefix = rec.commit_key(group_id, b"")
    for key, raw in scan(prefix):
        member = key[len(prefix):]
        try:
            commitment = Commitment(*decode(raw))
        except (EncodingError, TypeError) as exc:
            raise InvariantBroken(CHECK, f"group {group_id.hex()}: a commitment does not decode: {exc}") from None
        lot = ops.get_lot(state, commitment.lot)
        expected = ops.Lot(group.class_id, member, group.provider, group.category,
                           commitment.quantity * group.top_price, lot.locked_height if lot else 0)
        if lot != expected:
            raise InvariantBroken(CHECK, f"group {group_id.hex()}: the commitment of {to_address(member)} "
                                         f"({commitment.quantity} units) has escrow lot {lot}, not {expected}", member)
        if not _due(state, group, rec.commit_item(group_id, member)):
            raise InvariantBroken(CHECK, f"group {group_id.hex()}: the commitment of {to_address(member)} is not due "
                                         "at the deadline: nothing would ever settle it", member)
        count, total = count + 1, total + commitment.quantity
    return count, total


def _check_group(state: StateReader, scan: StateScan, group_id: bytes, group: Group) -> None:
    count, total = _commitments(state, scan, group_id, group)
    name = f"group {group_id.hex()} ({group.status})"
    if count != group.pending:
        raise InvariantBroken(CHECK, f"{name}: {count} commitments, the record says {group.pending} pending")
    if group.status == OPEN:
        if (count, total) != (group.members, group.committed_qty):
            raise InvariantBroken(CHECK, f"{name}: {count} commitments of {total} units, the record says "
                                         f"{group.members} members and {group.committed_qty} units")
        if group.unit_price != 0 or not _due(state, group, rec.group_item(group_id)):
            raise InvariantBroken(CHECK, f"{name}: decided before its deadline, or not due at it")
    else:
        if group.pending > group.members or total > group.committed_qty:
            raise InvariantBroken(CHECK, f"{name}: {count} commitments of {total} units left of {group.members} "
                                         f"members and {group.committed_qty} units")
        if group.unit_price != group.price_reached(group.committed_qty):
            raise InvariantBroken(CHECK, f"{name}: settles at {group.unit_price} a unit, its {group.committed_qty} "
                                         f"units reached {group.price_reached(group.committed_qty)}")
    if group.status in (SETTLED, FAILED) and count:
        raise InvariantBroken(CHECK, f"{name}: {count} commitments are still in escrow")
    if group.status == CLOSING and not count:
        raise InvariantBroken(CHECK, f"{name}: no commitment is left to settle")
    if (group.status == SETTLED) != bool(group.unit_price) and group.status in (SETTLED, FAILED):
        raise InvariantBroken(CHECK, f"{name}: its price {group.unit_price} does not match its status")
    if group.committed_qty > group.max_qty:
        raise InvariantBroken(CHECK, f"{name}: {group.committed_qty} units committed, above its maximum {group.max_qty}")


def check_groups(state: StateReader, scan: StateScan, chain_id: str = "", height: int = 0) -> int:
    """Every group and its commitments, lots and due items; returns the number of groups."""
    count = 0
    for key, raw in scan(rec.PREFIX_GROUP):
        group_id = key[len(rec.PREFIX_GROUP):]
        _check_group(state, scan, group_id, _group(group_id, raw))
        count += 1
    for key, _ in scan(rec.PREFIX_COMMIT):
        group_id = key[len(rec.PREFIX_COMMIT):len(rec.PREFIX_COMMIT) + rec.ID_LEN]
        if state.get(rec.group_key(group_id)) is None:
            raise InvariantBroken(CHECK, f"a commitment {key[len(rec.PREFIX_COMMIT):].hex()} has no group")
    return count
