"""A marketplace on a devnet (FORMAT.md §6.5, §6.6): its cast in the genesis, and real signed transactions.

The cast: ARBITER, authorised in the genesis's `market` section; BOTTEGA (a
shop) and CICLO (a bike workshop), providers the chain knows from genesis
(a small demo-eur balance) and the federation accredits; ORGANISER, the key
of a cooperative the federation registers, which opens purchase groups.
Every transaction is built with the ledger's own `sign_tx` (bodies as
FORMAT.md gives them, the supplier's terms with `sign_terms`) and submitted
through the node's API, as a wallet would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from ledger.address import to_address
from ledger.crypto import SigningKey
from ledger.tx import Tx, sign_tx
from market.groups_terms import sign_terms
from node.devnet_layout import DEMO_CLASS
from tests.functional.framework import FAR_EXPIRY, Devnet

ARBITER = SigningKey(bytes([0x7A]) * 32)
BOTTEGA = SigningKey(bytes([0x7B]) * 32)
CICLO = SigningKey(bytes([0x7C]) * 32)
ORGANISER = SigningKey(bytes([0x7D]) * 32)
ORGANISER_ID = bytes([0x7D]) * 16
PROVIDER_FUNDS = 100
HOUR_MS = 3_600_000


def with_market(doc: dict) -> None:
    """A genesis edit (make_devnet's `genesis_edit`): the arbiter, and the providers known from genesis."""
    doc["market"] = {"arbiters": [{"name": "Camera arbitrale (test)", "account": to_address(ARBITER.pubkey)}]}
    doc["credits"]["balances"] += [{"account": to_address(k.pubkey), "class": DEMO_CLASS, "amount": PROVIDER_FUNDS}
                                   for k in (BOTTEGA, CICLO)]


def identifier(label: str) -> bytes:
    """A 16-byte id (listing, order, group) a test can name: the client chooses ids (FORMAT.md §6.5.1)."""
    return hashlib.sha256(label.encode()).digest()[:16]


def listing_body(listing_id: bytes, title: str, category: str, price: int, quantity: int | None = 100,
                 delivery: str = "pickup", return_window_ms: int = HOUR_MS, arbiter: SigningKey = ARBITER,
                 valid: tuple[int, int] = (0, 0)) -> tuple:
    """`market.list` (FORMAT.md §6.5.2), priced in the demo class."""
    return (listing_id, title, f"{title}: a test listing", None, category, ((DEMO_CLASS, price),), quantity,
            delivery, *valid, return_window_ms, arbiter.pubkey)


class Signer:
    """Signs transactions with the next free nonce of each key and submits them through the node's API."""

    def __init__(self, devnet: Devnet):
        self.devnet = devnet
        self._nonces: dict[bytes, int] = {}

    def key(self, who: str | SigningKey) -> SigningKey:
        return self.devnet.keys[who] if isinstance(who, str) else who

    def tx(self, who: str | SigningKey, type_: str, body: tuple) -> Tx:
        key = self.key(who)
        nonce = max(self._nonces.get(key.pubkey, 0), self.devnet.api.account(key.pubkey)["pending_nonce"])
        self._nonces[key.pubkey] = nonce + 1
        return sign_tx(key, self.devnet.chain_id, type_, nonce, FAR_EXPIRY, body)

    def send(self, who: str | SigningKey, type_: str, body: tuple) -> dict:
        """Submit one transaction, wait for its block; it must succeed. Returns its committed status."""
        return self.send_all([(who, type_, body)])[0]

    def send_all(self, specs: Sequence[tuple[str | SigningKey, str, tuple]]) -> list[dict]:
        """Submit several (who, type, body) at once, then wait for each; every one must succeed."""
        txs = [self.tx(*spec) for spec in specs]
        for tx in txs:
            self.devnet.api.submit(tx)
        done = [self.devnet.api.wait_committed(tx.hash, timeout=20) for tx in txs]
        for (_, type_, _), status in zip(specs, done, strict=True):
            assert status["result"]["code"] == "OK", (type_, status)
        return done

    def group_open_body(self, group_id: bytes, listing_id: bytes, min_qty: int, max_qty: int, deadline_ms: int,
                        tiers: tuple[tuple[int, int], ...], supplier: SigningKey = BOTTEGA) -> tuple:
        """`gas.open` (FORMAT.md §6.6) with the supplier's signature of the terms."""
        signature = sign_terms(supplier, self.devnet.chain_id, group_id, ORGANISER.pubkey, listing_id, DEMO_CLASS,
                               min_qty, max_qty, deadline_ms, tiers)
        return (group_id, listing_id, DEMO_CLASS, min_qty, max_qty, deadline_ms, tiers, signature)


def cast_bodies() -> list[tuple[str, str, tuple]]:
    """The federation accredits the providers and registers the organiser's cooperative (its registrar role)."""
    return [
        ("federation", "credits.accredit", (BOTTEGA.pubkey, ("food", "household"))),
        ("federation", "credits.accredit", (CICLO.pubkey, ("transport",))),
        ("federation", "identity.register", (ORGANISER_ID, "cooperative", hashlib.sha256(b"organiser tag").digest(),
                                             hashlib.sha256(b"organiser record").digest(), (ORGANISER.pubkey,))),
    ]


def seed_market(devnet: Devnet) -> dict[str, Any]:
    """A little of everything, for a test that needs real ids (the API contract's generator): a listing,
    a completed and reviewed order, an open order, an open purchase group with a member. Returns the ids."""
    signer = Signer(devnet)
    for spec in cast_bodies():
        signer.send(*spec)
    bread = identifier("seed bread")
    signer.send(BOTTEGA, "market.list", listing_body(bread, "Fresh bread, 1 kg", "food", 250))
    done, waiting = identifier("seed order done"), identifier("seed order waiting")
    signer.send_all([("anna", "market.order", (done, bread, DEMO_CLASS, 2)),
                     ("marco", "market.order", (waiting, bread, DEMO_CLASS, 1))])
    signer.send(BOTTEGA, "market.accept", (done,))
    signer.send("anna", "market.confirm", (done,))
    signer.send("anna", "market.review", (done, 5, "crusty and warm"))
    group = identifier("seed group")
    deadline = devnet.api.status()["block_time_ms"] + 24 * HOUR_MS
    signer.send(ORGANISER, "gas.open", signer.group_open_body(group, bread, 2, 20, deadline, ((2, 240), (10, 200))))
    signer.send("anna", "gas.join", (group, 3))
    return {"listing": bread.hex(), "orders": [done.hex(), waiting.hex()], "group": group.hex(),
            "provider": to_address(BOTTEGA.pubkey), "arbiter": to_address(ARBITER.pubkey)}
