"""A one-validator chain with a marketplace: providers, an arbiter, voucher classes and listings.

Built on tests/credit_chain.py (identities, attestations, issuers and ruled
classes; blocks through build_block and apply_block, a follower re-executing
each), with what the marketplace adds (FORMAT.md §6.5):

- ARBITER, authorised in the genesis section `market.arbiters`; OTHER_ARBITER too;
- classes of ISSUER besides credit_chain's: `plan`, welfare for members of
  coop-a (spend-only, food and health, no window); `meal`, a voucher of face
  value 5.00 (one per payment, food); `bonus`, vouchers of 50.00 used
  cumulatively up to 258.23 (any category);
- PROVIDER accredited by ISSUER for food and health; PROVIDER_2 accredited
  by nobody yet;
- holdings: `eur` 1000 to KEYS[0..3] (credit_chain's genesis) and 100 to
  each provider (so that the chain knows them and they may sign), `meal` 2000
  to KEYS[0..1] (genesis), `bonus` 50000 to KEYS[0] (genesis), `plan` 600 to
  KEYS[0] and KEYS[1] (members: issued in the setup).
"""

from __future__ import annotations

from ledger import credits
from ledger.address import to_address
from ledger.credit_ops import get_lot
from ledger.crypto import SigningKey
from ledger.errors import Code
from market import records
from market.invariants import check_market
from tests.credit_chain import (
    PROVIDER,
    PROVIDER_2,
    CreditChain,
    check_books,
    credit_genesis_document,
)
from tests.identity_chain import ISSUER, KEYS, T0

ARBITER = SigningKey(bytes([0x6A]) * 32)
OTHER_ARBITER = SigningKey(bytes([0x6B]) * 32)
A, B, C, D = KEYS[:4]  # A: member and resident, B: member, C: resident, D: neither

HOUR = 3_600_000
DAY = 24 * HOUR
RETURN_WINDOW = 2 * DAY
FACE = 500
BONUS_FACE, BONUS_CAP = 5000, 25823
CLASSES = ("eur", "welfare", "virtue", "other", "plan", "meal", "bonus")


def market_genesis_document() -> dict:
    doc = credit_genesis_document()
    issuer = to_address(ISSUER.pubkey)
    section = doc["credits"]
    section["classes"] = [
        *section["classes"],
        {"id": "plan", "name": "Welfare plan (members)", "issuer": issuer, "decimals": 2, "kind": "welfare",
         "eligibility": ["member:coop-a"], "transferability": "spend_only", "categories": ["food", "health"]},
        {"id": "meal", "name": "Meal vouchers", "issuer": issuer, "decimals": 2, "kind": "welfare",
         "transferability": "spend_only", "categories": ["food"], "face_value": FACE},
        {"id": "bonus", "name": "Fringe-benefit vouchers", "issuer": issuer, "decimals": 2, "kind": "welfare",
         "transferability": "spend_only", "face_value": BONUS_FACE, "voucher_cap": BONUS_CAP},
    ]
    section["balances"] = [
        *section["balances"],
        *({"account": to_address(k.pubkey), "class": "meal", "amount": 2000} for k in (A, B)),
        {"account": to_address(A.pubkey), "class": "bonus", "amount": 50000},
        # providers sign listings: a key the chain knows (FORMAT.md §8.1), here through credits it holds
        *({"account": to_address(k.pubkey), "class": "eur", "amount": 100} for k in (PROVIDER, PROVIDER_2)),
    ]
    doc["market"] = {"arbiters": [{"name": "Camera arbitrale", "account": to_address(ARBITER.pubkey)},
                                  {"name": "Other arbiter", "account": to_address(OTHER_ARBITER.pubkey)}]}
    return doc


def listing_id(n: int) -> bytes:
    return bytes([0xD0, n]) + bytes(14)


def order_id(n: int) -> bytes:
    return bytes([0xE0, n >> 8, n & 0xFF]) + bytes(13)


def listing_body(n: int, prices: tuple, quantity: int | None = 10, category: str = "food",
                 window: tuple[int, int] = (0, 0), return_window: int = RETURN_WINDOW,
                 arbiter: SigningKey = ARBITER, title: str = "Fresh bread, 1 kg") -> tuple:
    """A `market.list` body (FORMAT.md §6.5.2)."""
    return (listing_id(n), title, "Baked every morning", None, category, prices, quantity, "pickup", *window,
            return_window, arbiter.pubkey)


class MarketChain(CreditChain):
    """The credit chain with the marketplace's genesis and a setup block: accreditations, plan credits."""

    def __init__(self, doc: dict | None = None):
        super().__init__(doc or market_genesis_document())
        self.setup_blocks.append(self.block([
            self.tx(ISSUER, "credits.accredit", (PROVIDER.pubkey, ("food", "health"))),
            self.tx(ISSUER, "credits.issue", ("plan", A.pubkey, 600, "plan 2026"), nonce=1),
            self.tx(ISSUER, "credits.issue", ("plan", B.pubkey, 600, "plan 2026"), nonce=2),
        ]))
        assert all(r == Code.OK for r in self.setup_blocks[-1].results)

    @property
    def time(self) -> int:
        return self.head.time_ms

    def order(self, n: int) -> records.Order:
        found = records.get_order(self.state, order_id(n))
        assert found is not None
        return found

    def listing(self, n: int) -> records.Listing:
        found = records.get_listing(self.state, listing_id(n))
        assert found is not None
        return found

    def escrow(self, n: int) -> int | None:
        """What order n's escrow lot holds, None if there is no lot."""
        lot = get_lot(self.state, records.order_lot(order_id(n)))
        return None if lot is None else lot.amount

    def escrowed(self, class_id: str) -> int:
        return credits.get_class(self.state, class_id).escrowed

    def check(self) -> None:
        """The books of every class, the marketplace's invariants, and the follower's agreement."""
        check_books(self, CLASSES)
        items = self.state.items

        def scan(prefix: bytes):
            for key in sorted(k for k in items if k.startswith(prefix)):
                yield key, items[key]

        check_market(self.state, scan)


__all__ = ["A", "ARBITER", "B", "BONUS_CAP", "BONUS_FACE", "C", "CLASSES", "D", "DAY", "FACE", "HOUR",
           "OTHER_ARBITER", "PROVIDER", "PROVIDER_2", "RETURN_WINDOW", "T0", "MarketChain", "listing_body",
           "listing_id", "market_genesis_document", "order_id"]
