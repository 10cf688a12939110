"""A listing: what a provider offers, at what price in which credit classes (FORMAT.md §6.5).

The record is shared by the marketplace's orders and by purchase groups,
which both buy from a listing; its transactions are in market/listings.py,
the other records of the marketplace and the reads of all of them in
market/records.py.

    market/listing/ ‖ id(16) = [provider(32), title, description, content_hash(32) or nil, category,
                                [[class_id, unit_price], …], quantity or nil, delivery, valid_from_ms,
                                valid_until_ms, return_window_ms, arbiter(32), status, created_height]
"""

from __future__ import annotations

from typing import NamedTuple

from ledger.encoding import decode, encode
from ledger.state import StateReader

PREFIX_LISTING = b"market/listing/"
ID_LEN = 16
ACTIVE, PAUSED, WITHDRAWN = "active", "paused", "withdrawn"
DELIVERY = ("pickup", "delivery", "appointment")


class Listing(NamedTuple):
    provider: bytes
    title: str  # 1-80 bytes
    description: str  # 0-500 bytes; a longer text or an image is kept off chain under content_hash
    content_hash: bytes | None
    category: str
    prices: tuple[tuple[str, int], ...]  # (class_id, price per unit), 1-8, ascending class id
    quantity: int | None  # units left (0: sold out); None (nil) for a service, which has no stock
    delivery: str  # one of DELIVERY
    valid_from_ms: int  # block time from which it may be ordered; 0 = open
    valid_until_ms: int  # block time from which it may not; 0 = never
    return_window_ms: int  # after acceptance, how long the buyer has to confirm or dispute
    arbiter: bytes  # an authorised arbiter who decides this listing's disputes
    status: str  # ACTIVE, PAUSED or WITHDRAWN
    created_height: int

    def encode(self) -> bytes:
        return encode(tuple(self))

    def price_in(self, class_id: str) -> int | None:
        return next((price for cls, price in self.prices if cls == class_id), None)

    @property
    def is_service(self) -> bool:
        return self.quantity is None


def listing_key(listing_id: bytes) -> bytes:
    return PREFIX_LISTING + listing_id


def decode_listing(raw: bytes) -> Listing:
    fields = decode(raw)
    return Listing(*fields[:5], tuple(tuple(p) for p in fields[5]), *fields[6:])


def get_listing(state: StateReader, listing_id: bytes) -> Listing | None:
    raw = state.get(listing_key(listing_id))
    return None if raw is None else decode_listing(raw)
