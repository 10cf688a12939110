"""A chain with purchase groups: tests/credit_chain.py's chain, an organisation, a supplier and its listings.

Built on CreditChain (blocks through build_block and apply_block, a follower
re-executing each) with the chain's module list plus one test module,
`listing-fixture`, whose one type writes a listing record as it is on main
(market/listings_record.py). It stands in for the marketplace's `market.list`,
which is not on this branch, and claims no state prefix, so that it still
composes when the marketplace module is in the list.

Cast (tests/credit_chain.py, tests/identity_chain.py):
- ORGANISER (KEYS[8]): the key of a cooperative's identity;
- PERSON_ORGANISER (KEYS[3]): the key of a person (refused as organiser);
- PROVIDER: the supplier, accredited for `food` by ISSUER;
- members KEYS[0..7]: 0-3 hold 1000 `eur` from genesis, 4-7 get 1000 here;
- LISTING: 100 units of food, 100 `eur` or 90 `virtue` or 80 `welfare` a unit
  (welfare may not pay for food); SERVICE: a service, 50 `eur`.
The four validators of tests/test_audit_verify.py sign the certificates, so
the raw blocks can be handed to the auditor (`verify_chain`).
"""

from __future__ import annotations

import json
from typing import Any

from genesis.document import modules_json, parse_genesis
from genesis.rules import MODULES
from ledger.address import to_address
from ledger.block import encode_raw_block
from ledger.errors import Code, TxError
from ledger.fields import expect_fields
from ledger.handlers import ExecContext, TxType
from ledger.invariants import StateScan
from ledger.rules import ChainRules, Module
from ledger.state import DictState
from market import groups_record as rec
from market.groups_terms import sign_terms
from market.listings_record import ACTIVE, Listing, get_listing, listing_key
from node.audit.verify import AuditReport, verify_chain
from tests.chain_source import ListSource, certificate
from tests.credit_chain import PROVIDER, CreditChain, credit_genesis_document
from tests.identity_chain import CHAIN_ID, ISSUER, KEYS, REGISTRAR, VALIDATORS


def _put_listing(ctx: ExecContext, body: tuple) -> None:
    listing_id, listing = body
    ctx.state.put(listing_key(listing_id), Listing(*listing).encode())


def _parse_put_listing(body: tuple) -> tuple:
    listing_id, listing = expect_fields(body, ("listing_id", "listing"))
    if type(listing_id) is not bytes or len(listing_id) != 16 or type(listing) is not tuple or len(listing) != 14:
        raise TxError(Code.MALFORMED)
    return body


LISTING_FIXTURE = Module("listing-fixture", 1, tx_types=(TxType("fixture.put_listing", _parse_put_listing,
                                                                _put_listing),))
RULES = ChainRules((*MODULES, LISTING_FIXTURE))

ORGANISER = KEYS[8]
PERSON_ORGANISER = KEYS[3]
ORG_ID = bytes([0xC0]) * 16
LISTING = bytes([0x1A]) * 16
SERVICE = bytes([0x1B]) * 16
STOCK = 100
EUR_PRICE = 100
CATEGORY = "food"


def listing(quantity: int | None = STOCK, status: str = ACTIVE, prices=(("eur", EUR_PRICE), ("virtue", 90),
                                                                         ("welfare", 80)),
            valid_from_ms: int = 0, valid_until_ms: int = 0) -> tuple:
    return (PROVIDER.pubkey, "Organic apples, 1 kg", "", None, CATEGORY, tuple(tuple(p) for p in prices), quantity,
            "pickup", valid_from_ms, valid_until_ms, 7 * 86_400_000, VALIDATORS[1].pubkey, status, 1)


def gas_genesis_document(max_due_per_block: int = 1000) -> dict:
    doc = credit_genesis_document()
    doc["modules"] = modules_json(RULES)
    doc["params"] = {**doc.get("params", {}), "max_due_per_block": max_due_per_block}
    doc["validators"] = [{"name": f"v{i}", "pubkey": to_address(k.pubkey)} for i, k in enumerate(VALIDATORS)]
    return doc


class GasChain(CreditChain):
    """A credit chain with a cooperative, an accredited supplier, its listings and funded members."""

    def __init__(self, max_due_per_block: int = 1000):
        self.doc = gas_genesis_document(max_due_per_block)
        super().__init__(self.doc, rules=RULES)
        self.blocks = list(self.setup_blocks)
        n = self.nonce(ISSUER)  # the issuer also signs the fixture's listings (any known key may)
        self.block([
            self.tx(REGISTRAR, "identity.register", (ORG_ID, "cooperative", bytes([0xC1]) * 32, bytes(32),
                                                     (ORGANISER.pubkey,))),
            self.tx(ISSUER, "credits.accredit", (PROVIDER.pubkey, (CATEGORY,)), nonce=n),
            *[self.tx(ISSUER, "credits.issue", ("eur", k.pubkey, 1000, "funds"), nonce=n + 1 + i)
              for i, k in enumerate(KEYS[4:8])],
            self.tx(ISSUER, "fixture.put_listing", (LISTING, listing()), nonce=n + 5),
            self.tx(ISSUER, "fixture.put_listing", (SERVICE, listing(None, prices=(("eur", 50),))), nonce=n + 6),
        ])
        assert all(code == Code.OK for b in self.blocks for code in b.results), [b.results for b in self.blocks]

    def block(self, txs, time_ms: int | None = None, strangers: bool = False):
        """Every block is kept (CreditChain keeps its setup blocks itself), for the auditor."""
        made = super().block(txs, time_ms, strangers)
        if hasattr(self, "blocks"):
            self.blocks.append(made)
        return made

    # --- the purchase group's transactions ---------------------------------------------------------

    def open_body(self, group_id: bytes, deadline_ms: int, min_qty: int = 10, max_qty: int = 60,
                  tiers=((10, 100), (30, 80), (50, 70)), listing_id: bytes = LISTING, class_id: str = "eur",
                  organiser=ORGANISER, supplier=PROVIDER) -> tuple:
        tiers = tuple(tuple(t) for t in tiers)
        signature = sign_terms(supplier, CHAIN_ID, group_id, organiser.pubkey, listing_id, class_id, min_qty, max_qty,
                               deadline_ms, tiers)
        return (group_id, listing_id, class_id, min_qty, max_qty, deadline_ms, tiers, signature)

    def open(self, group_id: bytes, deadline_ms: int, organiser=ORGANISER, **terms: Any) -> int:
        return self.send(organiser, "gas.open", self.open_body(group_id, deadline_ms, organiser=organiser, **terms))

    def join(self, key, group_id: bytes, quantity: int) -> int:
        return self.send(key, "gas.join", (group_id, quantity))

    def leave(self, key, group_id: bytes) -> int:
        return self.send(key, "gas.leave", (group_id,))

    def put_listing(self, listing_id: bytes, record: tuple) -> None:
        assert self.send(ISSUER, "fixture.put_listing", (listing_id, record)) == Code.OK

    # --- reads --------------------------------------------------------------------------------------

    def group(self, group_id: bytes) -> rec.Group:
        found = rec.get_group(self.state, group_id)
        assert found is not None
        return found

    def commitment(self, group_id: bytes, key) -> rec.Commitment | None:
        return rec.get_commitment(self.state, group_id, key.pubkey)

    def stock(self, listing_id: bytes = LISTING) -> int | None:
        found = get_listing(self.state, listing_id)
        assert found is not None
        return found.quantity

    def scan(self) -> StateScan:
        items = self.state.items
        return lambda prefix: iter(sorted((k, v) for k, v in items.items() if k.startswith(prefix)))

    def check_invariants(self) -> dict[str, int]:
        """Every module's invariants on the proposer's state (the follower's is the same: check_root)."""
        self.check_root()
        return {m.name: m.invariants(DictState(self.state.items), self.scan(), CHAIN_ID, self.height)
                for m in self.rules.modules if m.invariants is not None}

    def audit(self) -> AuditReport:
        """The auditor replays the raw blocks from genesis and checks every invariant (`incoop audit verify`)."""
        g = parse_genesis(json.dumps(self.doc), self.rules)
        raws = [encode_raw_block(block, certificate(block, CHAIN_ID, VALIDATORS[:3])) for block in self.blocks]
        return verify_chain(self.rules, g, ListSource(g.hash(), list(raws), self.head), workers=1)
