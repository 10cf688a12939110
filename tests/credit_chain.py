"""A one-validator chain with identities, attesters, issuers, providers and ruled credit classes.

Built on tests/identity_chain.py (blocks through build_block and apply_block,
a follower re-executing each), with block times a test may move on, so that
the validity windows can be crossed.

Classes (all of ISSUER):
- `eur`: the open community credit of identity_chain (p2p, no rules), with
  genesis balances of 1000 for KEYS[0..3];
- `welfare`: welfare, eligibility `member:coop-a`, spend_only, categories
  health and sport, valid from T0 + 10 s until T0 + 100 s, holder cap 500,
  budget 1200;
- `virtue`: virtue, eligibility `resident:trento`, p2p, any category, no window, no caps.
OTHER_ISSUER's `other`: open, no rules.
"""

from __future__ import annotations

from genesis.rules import RULES
from ledger import credit_rules as rules
from ledger import credits
from ledger.address import to_address
from ledger.block import Block
from ledger.crypto import SigningKey
from ledger.encoding import decode
from ledger.rules import ChainRules
from tests.identity_chain import (
    ATTESTER,
    ISSUER,
    KEYS,
    REGISTRAR,
    T0,
    Chain,
    genesis_document,
)

OTHER_ISSUER = SigningKey(bytes([0x66]) * 32)
OPERATOR = SigningKey(bytes([0x67]) * 32)
PROVIDER = SigningKey(bytes([0x68]) * 32)
PROVIDER_2 = SigningKey(bytes([0x69]) * 32)

VALID_FROM = T0 + 10_000
VALID_UNTIL = T0 + 100_000
HOLDER_CAP = 500
BUDGET = 1200
CLASSES = ("eur", "welfare", "virtue", "other")

IDS = [bytes([0xA0 + i]) * 16 for i in range(4)]
"""Identities of KEYS[0..3]: 0 and 1 members of coop-a, 0 and 2 residents of trento, 3 neither."""
ATTRIBUTES = {0: ("member:coop-a", "resident:trento"), 1: ("member:coop-a",), 2: ("resident:trento",), 3: ()}


def credit_genesis_document() -> dict:
    doc = genesis_document()
    issuer = to_address(ISSUER.pubkey)
    section = doc["credits"]
    section["issuers"] = [*section["issuers"], {"name": "other issuer", "account": to_address(OTHER_ISSUER.pubkey)}]
    section["classes"] = [
        *section["classes"],
        {"id": "welfare", "name": "Welfare plan", "issuer": issuer, "decimals": 2, "kind": "welfare",
         "eligibility": ["member:coop-a"], "transferability": "spend_only", "categories": ["sport", "health"],
         "valid_from_ms": VALID_FROM, "valid_until_ms": VALID_UNTIL, "holder_cap": HOLDER_CAP, "budget": BUDGET},
        {"id": "virtue", "name": "Virtue credits", "issuer": issuer, "decimals": 0, "kind": "virtue",
         "eligibility": ["resident:trento"]},
        {"id": "other", "name": "Other", "issuer": to_address(OTHER_ISSUER.pubkey), "decimals": 0},
    ]
    return doc


class CreditChain(Chain):
    def __init__(self, doc: dict | None = None, identities: bool = True, rules: ChainRules = RULES):
        super().__init__(doc or credit_genesis_document(), rules)
        self.setup_blocks: list[Block] = []
        if identities:
            self.setup_blocks.append(self.block([
                self.tx(REGISTRAR, "identity.register",
                        (IDS[i], "person", bytes([0xB0 + i]) * 32, bytes(32), (KEYS[i].pubkey,)), nonce=i)
                for i in range(4)
            ]))
            self.setup_blocks.append(self.block([
                self.tx(ATTESTER, "attest.issue", (IDS[i], attribute, 0), nonce=n)
                for n, (i, attribute) in enumerate((i, a) for i in range(4) for a in ATTRIBUTES[i])
            ]))

    def at(self, time_ms: int) -> None:
        """An empty block at `time_ms`: the next block's time is after it."""
        self.block([], time_ms)

    def send_at(self, time_ms: int, key: SigningKey, type_: str, body: tuple) -> int:
        return self.block([self.tx(key, type_, body)], time_ms).results[0]

    def balance(self, key: SigningKey, class_id: str) -> int:
        return credits.get_balance(self.state, key.pubkey, class_id)

    def cls(self, class_id: str) -> credits.CreditClass:
        found = credits.get_class(self.state, class_id)
        assert found is not None
        return found


def held(state_items: dict[bytes, bytes], class_id: str) -> int:
    """The sum of a class's balances, read from the raw `bal/` entries (FORMAT.md §9)."""
    total = 0
    for key, raw in state_items.items():
        if key.startswith(credits.PREFIX_BALANCE) and key[len(credits.PREFIX_BALANCE) + 32:] == class_id.encode():
            amount = decode(raw)
            assert 0 < amount, "a stored balance is positive (zero balances are deleted)"
            total += amount
    return total


def prefixed_total(state_items: dict[bytes, bytes], prefix: bytes, class_id: str) -> int:
    scope = rules.class_scope(prefix, class_id)
    return sum(decode(raw) for key, raw in state_items.items() if key.startswith(scope))


def check_books(c: Chain, classes=CLASSES) -> None:
    """issued = held + escrowed + redeemed + reclaimed for every class; the per-holder and per-provider
    totals agree with the books; the follower agrees and the root is the definition's."""
    items = c.state.items
    for class_id in classes:
        k = credits.get_class(c.state, class_id)
        assert k.issued == held(items, class_id) + k.escrowed + k.redeemed + k.reclaimed, class_id
        assert k.supply == held(items, class_id)
        assert prefixed_total(items, rules.PREFIX_REDEEMED, class_id) == k.redeemed
        if k.holder_cap:
            assert prefixed_total(items, rules.PREFIX_ISSUED, class_id) == k.issued
        if k.budget:
            assert k.issued <= k.budget
    c.check_root()

