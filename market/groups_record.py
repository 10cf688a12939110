"""Purchase groups' records, keys, escrow lots and due items (FORMAT.md §6.6, §9).

    gas/group/  ‖ group_id(16)              = [organiser(32), listing_id(16), provider(32), category, class_id,
                                               min_qty, max_qty, deadline_ms, [[min_total, unit_price], …],
                                               committed_qty, members, pending, status, unit_price,
                                               commitments_made, created_height]
    gas/commit/ ‖ group_id(16) ‖ member(32)  = [quantity, lot(32)]

A group is open until its deadline; the end-of-block step then decides it
(the tier reached, or not) and settles its commitments one due item each,
so it is `closing` until the last one is done, then `settled` or `failed`.
`members` counts the commitments of an open group and is frozen when the
group is decided; `pending` counts the commitments still to settle (equal
to `members` while open). A commitment's credits are in its own escrow lot
(ledger/credit_ops.py), whose id is never used again: a member who leaves
and joins again, or adds to a commitment, gets a new lot, numbered by the
group's `commitments_made`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from ledger.crypto import sha256
from ledger.encoding import decode, encode
from ledger.state import RangeReader, StateReader, prefix_end

MODULE_NAME = "gas"
PREFIX_GAS = b"gas/"  # the module's one prefix; its records:
PREFIX_GROUP = b"gas/group/"
PREFIX_COMMIT = b"gas/commit/"
ID_LEN = 16
MAX_TIERS = 8

OPEN, CLOSING, SETTLED, FAILED = "open", "closing", "settled", "failed"
STATUSES = (OPEN, CLOSING, SETTLED, FAILED)

ORGANISATION_KINDS = ("cooperative", "company", "association", "union", "institution")
"""Identity kinds (FORMAT.md §6.4.1) that may organise a purchase group: every kind but `person`."""

LOT_TAG = b"incoop/gas/commit"
# Due items (ledger/deadlines.py): at one deadline, every group's item sorts before every commitment's
# ("g" < "m"), so a group is decided before its commitments settle (they would decide it too).
GROUP_ITEM = b"g"
COMMIT_ITEM = b"m"


class Tier(NamedTuple):
    min_total: int  # the tier applies once the group's committed quantity reaches this
    unit_price: int


class Group(NamedTuple):
    organiser: bytes
    listing_id: bytes
    provider: bytes  # the listing's, at opening: the payee of every commitment's lot
    category: str  # the listing's, at opening: what every commitment pays for
    class_id: str
    min_qty: int
    max_qty: int
    deadline_ms: int
    tiers: tuple[Tier, ...]  # ascending min_total, descending price; tiers[0].min_total = min_qty
    committed_qty: int
    members: int
    pending: int
    status: str
    unit_price: int  # the tier price reached, once decided; 0 while open and for a failed group
    commitments_made: int  # every commitment ever made (joins, including additions): numbers the lots
    created_height: int

    def encode(self) -> bytes:
        return encode((*self[:8], tuple(tuple(t) for t in self.tiers), *self[9:]))

    @property
    def top_price(self) -> int:
        """What a unit is locked at: the price if only the minimum is reached."""
        return self.tiers[0].unit_price

    def price_reached(self, quantity: int) -> int:
        """The unit price of the last tier whose min_total ≤ quantity; 0 below the minimum."""
        reached = [t.unit_price for t in self.tiers if t.min_total <= quantity]
        return reached[-1] if quantity >= self.min_qty and reached else 0


class Commitment(NamedTuple):
    quantity: int
    lot: bytes  # its escrow lot (FORMAT.md §6.3.2), holding quantity × the group's top price

    def encode(self) -> bytes:
        return encode(tuple(self))


def group_key(group_id: bytes) -> bytes:
    return PREFIX_GROUP + group_id


def commit_key(group_id: bytes, member: bytes) -> bytes:
    return PREFIX_COMMIT + group_id + member


def decode_group(raw: bytes) -> Group:
    fields = decode(raw)
    return Group(*fields[:8], tuple(Tier(*t) for t in fields[8]), *fields[9:])


def get_group(state: StateReader, group_id: bytes) -> Group | None:
    raw = state.get(group_key(group_id))
    return None if raw is None else decode_group(raw)


def get_commitment(state: StateReader, group_id: bytes, member: bytes) -> Commitment | None:
    raw = state.get(commit_key(group_id, member))
    return None if raw is None else Commitment(*decode(raw))


def commitment_lot(group_id: bytes, member: bytes, number: int) -> bytes:
    """SHA256("incoop/gas/commit" ‖ group_id ‖ member ‖ BE8(number)): `number` is the group's
    `commitments_made` before the commitment, so a lot id is never used twice."""
    return sha256(LOT_TAG + group_id + member + number.to_bytes(8, "big"))


def group_item(group_id: bytes) -> bytes:
    return GROUP_ITEM + group_id


def commit_item(group_id: bytes, member: bytes) -> bytes:
    return COMMIT_ITEM + group_id + member


# --- scans for readers that are not consensus (API, CLI): the transition reads by key only ---------


def _under(state: RangeReader, prefix: bytes, after: bytes | None) -> Iterator[tuple[bytes, bytes]]:
    start = prefix if after is None else prefix + after + b"\x00"
    return state.range(start, prefix_end(prefix))


def groups(state: RangeReader, listing_id: bytes | None = None, organiser: bytes | None = None,
           status: str | None = None, after: bytes | None = None) -> Iterator[tuple[bytes, Group]]:
    """(id, group) of every group matching all the filters given, in id order, after the id `after`
    if given."""
    for key, raw in _under(state, PREFIX_GROUP, after):
        group = decode_group(raw)
        if listing_id is not None and group.listing_id != listing_id:
            continue
        if organiser is not None and group.organiser != organiser:
            continue
        if status is not None and group.status != status:
            continue
        yield key[len(PREFIX_GROUP):], group


def commitments(state: RangeReader, group_id: bytes, after: bytes | None = None) -> Iterator[tuple[bytes, Commitment]]:
    """(member, commitment) of a group's commitments not yet settled, in member order (after the
    member `after`, if given): one range of keys."""
    prefix = PREFIX_COMMIT + group_id
    for key, raw in _under(state, prefix, after):
        yield key[len(prefix):], Commitment(*decode(raw))
