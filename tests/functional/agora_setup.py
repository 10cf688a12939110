"""An agora on a devnet (FORMAT.md §6.7): its admin in the genesis, identities, spaces, and the texts.

The cast: `federation` (demo wallet key) is the agora admin (genesis
`agora.admins`) and registers identities; `comune` attests residence.
ANNA and MARCO are the demo wallet's residents, each an identity with one
key; TRIO are the three keys of one more identity, MULTI. MODERATOR
moderates both spaces: FED (the whole federation) and TOWN
(`resident:trento`: anna and MULTI).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from ledger.address import to_address
from ledger.crypto import SigningKey
from tests.functional.framework import Devnet
from tests.functional.market_setup import Signer

MODERATOR = SigningKey(bytes([0x6D]) * 32)
TRIO = tuple(SigningKey(bytes([0x30 + i]) * 32) for i in range(3))
PIA = SigningKey(bytes([0x35]) * 32)
ANNA_ID, MARCO_ID, MULTI_ID, PIA_ID = (bytes([b]) * 16 for b in (0xA1, 0xA2, 0xA3, 0xA4))
WINDOW_MS = 3_600_000


def ident(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()[:16]


FED, TOWN = ident("space fed"), ident("space town")


def with_agora(doc: dict) -> None:
    """A genesis edit: the federation's key is the agora admin."""
    federation = next(r["account"] for r in doc["identity"]["registrars"] if r["name"].startswith("Federazione"))
    doc["agora"] = {"admins": [{"name": "Agora della federazione (test)", "account": federation}]}


def text_hash(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def space_body(space_id: bytes, name: str, eligibility: str, threshold: int = 1) -> tuple:
    return (space_id, name, eligibility, (MODERATOR.pubkey,), threshold, WINDOW_MS, 500, 500)


def register_body(identity_id: bytes, keys: tuple[bytes, ...]) -> tuple:
    tag = hashlib.sha256(b"tag" + identity_id).digest()
    return (identity_id, "person", tag, hashlib.sha256(b"record" + identity_id).digest(), keys)


def seed_people(devnet: Devnet, signer: Signer, wallet_people: bool = True) -> None:
    """MULTI and PIA registered, residents of trento; with `wallet_people`, the demo wallet's anna (a resident)
    and marco (not one) too; the two spaces."""
    people = [(MULTI_ID, tuple(k.pubkey for k in TRIO)), (PIA_ID, (PIA.pubkey,))]
    if wallet_people:
        people += [(ANNA_ID, (devnet.keys["anna"].pubkey,)), (MARCO_ID, (devnet.keys["marco"].pubkey,))]
    signer.send_all([("federation", "identity.register", register_body(i, keys)) for i, keys in people])
    signer.send_all([
        *[("comune", "attest.issue", (i, "resident:trento", 0)) for i in (MULTI_ID, PIA_ID, ANNA_ID)[:3 if wallet_people else 2]],
        ("federation", "agora.space", space_body(FED, "Assemblea della federazione", "")),
        ("federation", "agora.space", space_body(TOWN, "Consulta di Trento", "resident:trento")),
    ])


def post_text(devnet: Devnet, post_id: bytes, text: str, tx_raw: bytes | None = None, node: int = 0) -> Any:
    body: dict[str, Any] = {"post": post_id.hex(), "text": text}
    if tx_raw is not None:
        body["tx"] = tx_raw.hex()
    return devnet.nodes[node].api.post("/v1/agora/texts", json.dumps(body).encode(), "application/json")


PROPOSAL_TEXT = "Una panchina all'ombra in piazza Duomo"
COMMENT_TEXT = "Sì, e una fontanella accanto"


def propose(devnet: Devnet, signer: Signer, who: Any, post_id: bytes, space_id: bytes, text: str,
            parent: bytes | None = None, node: int = 0) -> dict:
    """A post as a wallet makes it: the transaction submitted, its text given to the node while it is
    pending, then the block waited for."""
    if parent is None:
        tx = signer.tx(who, "agora.propose", (post_id, space_id, text_hash(text)))
    else:
        tx = signer.tx(who, "agora.comment", (post_id, parent, text_hash(text)))
    devnet.nodes[node].api.submit(tx)
    assert post_text(devnet, post_id, text, tx.raw, node=node)["status"] in ("pending", "stored")
    status = devnet.nodes[node].api.wait_committed(tx.hash, timeout=20)
    assert status["result"]["code"] == "OK", status
    return status


def seed_agora(devnet: Devnet) -> dict[str, Any]:
    """The people and spaces, a proposal with a comment and a support, a public ballot with a vote, a budget
    with the proposal as its project and a selection.
    Returns the ids (for a test that needs real ones: the API contract's generator)."""
    signer = Signer(devnet)
    seed_people(devnet, signer, wallet_people=False)
    proposal, comment, ballot = ident("seed proposal"), ident("seed comment"), ident("seed ballot")
    propose(devnet, signer, PIA, proposal, TOWN, PROPOSAL_TEXT)
    propose(devnet, signer, TRIO[0], comment, TOWN, COMMENT_TEXT, parent=proposal)
    signer.send(TRIO[1], "agora.support", (proposal,))
    now = devnet.api.status()["block_time_ms"]
    signer.send(MODERATOR, "agora.ballot", (ballot, proposal, ("sì", "no", "abstain"), now, now + 3_600_000, 0))
    signer.send(PIA, "agora.vote", (ballot, 0))
    budget = seed_budget(devnet, signer, proposal)
    return {"spaces": [FED.hex(), TOWN.hex()], "posts": [proposal.hex(), comment.hex()], "ballot": ballot.hex(),
            "voter": PIA_ID.hex(), "texts": {proposal.hex(): PROPOSAL_TEXT, comment.hex(): COMMENT_TEXT},
            "budget": budget.hex(), "selector": MULTI_ID.hex()}


BUDGET_SUBMIT_MS = 1_500
"""The seed budget's window for projects: a few blocks, then selections are taken (FORMAT.md §6.7.1)."""


def seed_budget(devnet: Devnet, signer: Signer, proposal: bytes) -> bytes:
    """A participatory budget of the town's space (FORMAT.md §6.7.1), open, with `proposal` (PIA's) as a
    project and MULTI's selection of it: the federation issues the moderator the demo-eur it locks."""
    budget = ident("seed budget")
    signer.send("federation", "credits.issue", ("demo-eur", MODERATOR.pubkey, 500_00, "the consulta's budget"))
    now = devnet.api.status()["block_time_ms"]
    signer.send(MODERATOR, "agora.budget", (budget, TOWN, "demo-eur", 500_00, now + BUDGET_SUBMIT_MS,
                                            now + 3_600_000))
    signer.send(PIA, "agora.project", (budget, proposal, TRIO[2].pubkey, 200_00))
    deadline = time.monotonic() + 30
    while devnet.api.status()["block_time_ms"] < now + BUDGET_SUBMIT_MS:
        assert time.monotonic() < deadline, "the seed budget's submissions never closed"
        time.sleep(0.05)
    signer.send(TRIO[1], "agora.select", (budget, (proposal,)))
    return budget


__all__ = ["PIA", "PIA_ID", "ANNA_ID", "FED", "MARCO_ID", "MODERATOR", "MULTI_ID", "TOWN", "TRIO", "ident", "post_text", "propose", "seed_agora", "seed_budget",
           "register_body", "seed_people", "space_body", "text_hash", "to_address", "with_agora"]
