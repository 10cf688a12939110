"""The supplier's consent to a purchase group's terms (FORMAT.md §4.1, §6.6).

An organiser chooses the quantities, the deadline and the price tiers of a
group on someone else's listing; the supplier is the one who must sell at
those prices and set the units aside. So the listing's provider signs the
terms (off chain, after agreeing them with the organiser) and the organiser
puts the signature in `gas.open`:

    terms_signature = Ed25519 by the listing's provider over
        signing_message("incoop/gas/terms/v1", chain_id,
                        canonical([group_id, organiser, listing_id, class_id, min_qty, max_qty, deadline_ms,
                                   [[min_total, unit_price], …]]))

The domain tag makes it useless as any other signature; the group id (used
once), the organiser and the chain id make it useless for another group, by
another organiser or on another chain. Without it anybody with an
organisation's identity could make a supplier sell its stock at one credit
a unit.
"""

from __future__ import annotations

from ledger.crypto import SigningKey, signing_message, verify
from ledger.encoding import encode

DOMAIN_GAS_TERMS = "incoop/gas/terms/v1"


def terms_payload(group_id: bytes, organiser: bytes, listing_id: bytes, class_id: str, min_qty: int, max_qty: int,
                  deadline_ms: int, tiers: tuple[tuple[int, int], ...]) -> bytes:
    return encode((group_id, organiser, listing_id, class_id, min_qty, max_qty, deadline_ms,
                   tuple((int(m), int(p)) for m, p in tiers)))


def sign_terms(supplier: SigningKey, chain_id: str, group_id: bytes, organiser: bytes, listing_id: bytes,
               class_id: str, min_qty: int, max_qty: int, deadline_ms: int,
               tiers: tuple[tuple[int, int], ...]) -> bytes:
    """What the supplier's wallet signs for the organiser's `gas.open`."""
    payload = terms_payload(group_id, organiser, listing_id, class_id, min_qty, max_qty, deadline_ms, tiers)
    return supplier.sign(signing_message(DOMAIN_GAS_TERMS, chain_id, payload))


def terms_ok(supplier: bytes, chain_id: str, payload: bytes, signature: bytes) -> bool:
    return verify(supplier, signing_message(DOMAIN_GAS_TERMS, chain_id, payload), signature)
