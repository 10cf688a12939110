"""Paying a provider from a payment request, as a shop and a resident do it.

Scenario (one validator; the federation issues a spend-only meal class for
food, accredits marco's shop for food and gives anna 50.00):
1. marco prints a request for 12.50 (`incoop wallet request`): an incoop: URI
   and a QR code drawn in the terminal.
2. anna pays it (`incoop wallet pay --request URI`): balances move exactly; her
   history, filtered to the class, exports the payment and the issuance as CSV.
3. A request for another chain, a tampered address and a payment without a
   category are refused with one line, and nothing moves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ledger.tx import sign_tx
from tests.functional.framework import FAR_EXPIRY, Devnet, incoop, running_devnet

CLASS = "meal-2026"


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    yield from running_devnet(tmp_path_factory.mktemp("pay") / "devnet")


@pytest.fixture(scope="module")
def meal_class(devnet: Devnet) -> str:
    federation = devnet.keys["federation"]
    nonce = devnet.next_nonce("federation")
    txs = [
        sign_tx(federation, devnet.chain_id, "credits.create_class", nonce, FAR_EXPIRY,
                (CLASS, "Meal vouchers 2026", 2, "welfare", (), "spend_only", ("food",), 0, 0, 0, 0, None, 0, 0)),
        sign_tx(federation, devnet.chain_id, "credits.accredit", nonce + 1, FAR_EXPIRY,
                (devnet.pubkey("marco"), ("food",))),
        sign_tx(federation, devnet.chain_id, "credits.issue", nonce + 2, FAR_EXPIRY,
                (CLASS, devnet.pubkey("anna"), 5000, "welfare plan 2026")),
    ]
    devnet.api.submit_batch(txs)
    for tx in txs:
        assert devnet.api.wait_committed(tx.hash)["result"]["code"] == "OK"
    return CLASS


def test_a_shop_prints_a_request_and_a_resident_pays_it(devnet: Devnet, meal_class: str) -> None:
    shown = incoop(devnet, "wallet", "request", "--to", "marco", "--class", meal_class, "--amount", "12.50",
                   "--ref", "order 7", "--category", "food")
    uri, qr = shown.stdout.split("\n", 1)
    assert uri.startswith("incoop:") and "amount=1250" in uri and "ref=order%207" in uri
    assert "▀" in qr or "▄" in qr or "█" in qr, "a QR code drawn with half blocks"
    before = devnet.api.balance(devnet.pubkey("anna"), meal_class)
    paid = json.loads(incoop(devnet, "wallet", "pay", "--from", "anna", "--request", uri, "--json").stdout)
    assert paid["status"] == "committed"
    assert devnet.api.balance(devnet.pubkey("anna"), meal_class) == before - 1250
    assert devnet.api.balance(devnet.pubkey("marco"), meal_class) == 1250
    tx = devnet.api.tx(bytes.fromhex(paid["hash"]))
    assert tx["result"]["code"] == "OK"
    # the resident's history, filtered to the class and exported as CSV
    exported = incoop(devnet, "wallet", "history", "anna", "--class", meal_class, "--csv", "-").stdout.splitlines()
    assert exported[0] == "height,index,hash,type,result,direction,class,amount,amount_minor,counterparty,reference"
    rows = [line.split(",") for line in exported[1:]]
    assert [(r[3], r[5], r[7], r[8], r[10]) for r in rows] == [
        ("credits.pay", "paid", "12.50", "1250", "food: order 7"),
        ("credits.issue", "issued", "50.00", "5000", "welfare plan 2026"),
    ]
    assert rows[0][9] == incoop(devnet, "wallet", "address", "marco").stdout.strip()


def test_requests_for_another_chain_tampered_or_incomplete_are_refused(devnet: Devnet, meal_class: str) -> None:
    uri = json.loads(incoop(devnet, "wallet", "request", "--to", "marco", "--class", meal_class, "--amount", "1",
                            "--json").stdout)["uri"]
    before = devnet.api.balance(devnet.pubkey("anna"), meal_class)
    other_chain = uri.replace(f"chain={devnet.chain_id}", "chain=another-chain")
    assert "another-chain" in incoop(devnet, "wallet", "pay", "--from", "anna", "--request", other_chain,
                                     check=False).stderr
    address = uri[len("incoop:"):uri.index("?")]
    tampered = uri.replace(address, address[:-1] + ("a" if address[-1] != "a" else "b"))
    assert "not a valid payment request" in incoop(devnet, "wallet", "pay", "--from", "anna", "--request", tampered,
                                                   check=False).stderr
    assert "category is missing" in incoop(devnet, "wallet", "pay", "--from", "anna", "--request", uri,
                                           check=False).stderr
    refused = incoop(devnet, "wallet", "pay", "--from", "anna", "--request", uri, "--category", "fuel", check=False)
    assert "WRONG_CATEGORY" in refused.stderr
    assert devnet.api.balance(devnet.pubkey("anna"), meal_class) == before
