"""The marketplace from the command line, as a provider, buyers and the arbiter use it, on a real node.

Scenario (one validator; the devnet's demo keys: the federation issues demo-eur and accredits
providers, arbitro is the genesis's one arbiter, anna and marco hold 1000.00 demo-eur; a shop's
key, bottega, funded at genesis, is added to the wallet; every step goes through `incoop`, each with --json):
1. The federation accredits bottega for food; bottega publishes rye bread at 4.20 demo-eur, 10 in
   stock, a one-hour return window (the arbiter defaults to the chain's only one).
2. Search: by category, by words of the title (any case), by class, by provider; a search that
   matches nothing is empty; `market show` gives the listing and its provider's rating.
3. Buy, accept, confirm, review: anna orders 2 (8.40 leaves her balance for the order's escrow,
   the stock drops to 8), bottega accepts, anna confirms (bottega is paid 8.40, the escrow is
   empty), reviews it 4 of 5; the listing shows the rating; `market orders` lists the order for
   anna as buyer and for bottega as provider; anna erases the text and the rating stays. A second
   review and a second confirmation are refused with the ledger's codes.
4. Decline: marco orders 1, bottega declines: marco has his 4.20 back, the stock is back. Cancel:
   anna orders 1 and cancels before acceptance: refunded.
5. Dispute: marco orders 3 (12.60), bottega accepts, marco disputes; bottega cannot decide
   (NOT_ARBITER); arbitro decides 5.00 to the provider, 7.60 back to marco; every balance and the
   escrow after it.
6. Bad input: a one-line error and a non-zero exit, and nothing written (no nonce used, no listing,
   order or balance changed): bad prices, categories, return windows, quantities, ids, a class
   the listing does not take, a split above the total, an unknown listing or order.
7. update, pause, resume, withdraw: a paused listing takes no order (LISTING_NOT_ACTIVE), a
   withdrawn one never again.
8. An account's orders, as buyer and as provider, are one list paged with one cursor.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from keys.keystore import Keystore
from ledger.address import to_address
from ledger.crypto import SigningKey
from node.devnet_layout import ARBITER, DEMO_CLASS, DEVNET_PASSWORD
from tests.functional.framework import Devnet, incoop, make_devnet
from tests.weak_kdf import TEST_KDF

pytestmark = pytest.mark.timeout(120)

SHOP = "bottega"
BREAD = "Pane di segale, 1 kg"


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    shop = SigningKey.generate()  # known to the chain from genesis (a key signs once the chain knows it)
    devnet = make_devnet(tmp_path_factory.mktemp("market") / "devnet", validators=1, funded=[shop.pubkey])
    # in the wallet as `incoop wallet new` puts it, with the suite's weak KDF (tests/weak_kdf.py)
    Keystore(devnet.layout.wallet_dir).create(SHOP, DEVNET_PASSWORD, key=shop, kdf=TEST_KDF)
    try:
        devnet.start_all(devnet.validators)
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


def run(devnet: Devnet, *argv: str) -> dict[str, Any]:
    """A command with --json that must succeed: its one JSON document."""
    return json.loads(incoop(devnet, *argv, "--json").stdout)


def fails(devnet: Devnet, *argv: str, says: str) -> str:
    """A command that must fail in one line (with --json too: errors are never JSON on stdout)."""
    proc = incoop(devnet, *argv, "--json", check=False)
    assert proc.stdout == "", proc.stdout
    assert says in proc.stderr, proc.stderr
    return proc.stderr


def address(devnet: Devnet, label: str) -> str:
    return to_address(devnet.keys[label].pubkey) if label in devnet.keys else run(devnet, "wallet", "address", label)["address"]


def balance(devnet: Devnet, label: str) -> int:
    account = devnet.api.get(f"/v1/accounts/{address(devnet, label)}")
    return next((b["amount"] for b in account["balances"] if b["class"] == DEMO_CLASS), 0)


def nonce(devnet: Devnet, label: str) -> int:
    return devnet.api.get(f"/v1/accounts/{address(devnet, label)}")["nonce"]


def order(devnet: Devnet, order_id: str) -> dict:
    return run(devnet, "market", "show", order_id)["order"]


def listing(devnet: Devnet, listing_id: str) -> dict:
    return run(devnet, "market", "show", listing_id)["listing"]


def escrowed(devnet: Devnet) -> int:
    return devnet.api.get(f"/v1/classes/{DEMO_CLASS}")["escrowed"]


def buy(devnet: Devnet, who: str, listing_id: str, quantity: int) -> str:
    placed = run(devnet, "market", "order", listing_id, "--class", DEMO_CLASS, "--quantity", str(quantity), "--as", who)
    assert placed["status"] == "committed"
    return placed["order"]


@pytest.fixture(scope="module")
def bread(devnet: Devnet) -> str:
    """Step 1: the shop accredited and its listing published."""
    run(devnet, "credits", "accredit", SHOP, "--category", "food", "--as", "federation")
    published = run(devnet, "market", "publish", "--as", SHOP, "--title", BREAD, "--description", "Baked at six.",
                    "--category", "food", "--price", f"{DEMO_CLASS}=4.20", "--quantity", "10", "--delivery", "pickup",
                    "--return-window", "1h")
    assert published["status"] == "committed"
    shown = listing(devnet, published["listing"])
    assert (shown["title"], shown["provider"], shown["quantity"], shown["status"]) == (
        BREAD, address(devnet, SHOP), 10, "active")
    assert shown["prices"] == [{"class": DEMO_CLASS, "unit_price": 420}]
    assert (shown["arbiter"], shown["return_window_ms"], shown["delivery"]) == (
        address(devnet, ARBITER), 3_600_000, "pickup")
    return published["listing"]


def test_search_finds_the_listing_by_each_filter(devnet: Devnet, bread: str) -> None:
    for filters in (("--category", "food"), ("--words", "SEGALE pane"), ("--class", DEMO_CLASS),
                    ("--provider", SHOP), ("--provider", address(devnet, SHOP))):
        found = run(devnet, "market", "list", *filters)
        assert [item["id"] for item in found["listings"]] == [bread], filters
        assert found["next"] is None
    for filters in (("--category", "health"), ("--words", "segale integrale"), ("--provider", "anna")):
        assert run(devnet, "market", "list", *filters)["listings"] == [], filters
    text = incoop(devnet, "market", "list", "--words", "segale").stdout
    assert BREAD in text and f"4.20 {DEMO_CLASS}" in text and "10 left" in text and f"by {SHOP}" in text
    shown = run(devnet, "market", "show", bread)
    assert shown["rating"]["count"] == 0 and shown["reviews"] == []
    assert "no reviews yet" in incoop(devnet, "market", "show", bread).stdout


def test_order_accept_confirm_review(devnet: Devnet, bread: str) -> None:
    anna, shop, held = balance(devnet, "anna"), balance(devnet, SHOP), escrowed(devnet)
    order_id = buy(devnet, "anna", bread, 2)
    placed = order(devnet, order_id)
    assert (placed["status"], placed["total"], placed["escrow"]["amount"], placed["at_deadline"]) == (
        "placed", 840, 840, "expire")
    assert (balance(devnet, "anna"), escrowed(devnet), listing(devnet, bread)["quantity"]) == (anna - 840, held + 840, 8)

    assert run(devnet, "market", "accept", order_id, "--as", SHOP)["status"] == "committed"
    accepted = order(devnet, order_id)
    assert (accepted["status"], accepted["at_deadline"]) == ("accepted", "release")
    assert accepted["deadline_ms"] >= accepted["placed_ms"] + 3_600_000
    run(devnet, "market", "confirm", order_id, "--as", "anna")
    confirmed = order(devnet, order_id)
    assert (confirmed["status"], confirmed["escrow"]["amount"], confirmed["completed"]) == ("confirmed", 0, True)
    assert (balance(devnet, "anna"), balance(devnet, SHOP), escrowed(devnet)) == (anna - 840, shop + 840, held)
    fails(devnet, "market", "confirm", order_id, "--as", "anna", says="WRONG_ORDER_STATUS")

    run(devnet, "market", "review", order_id, "--rating", "4", "--text", "Good crust.", "--as", "anna")
    fails(devnet, "market", "review", order_id, "--rating", "5", "--as", "anna", says="REVIEW_EXISTS")
    shown = run(devnet, "market", "show", bread)
    assert shown["rating"] == {"count": 1, "sum": 4, "mean_tenths": 40}
    assert shown["reviews"] == [{"order": order_id, "rating": 4, "text": "Good crust."}]
    assert 'rated 4.0 of 5 by 1 buyers' in incoop(devnet, "market", "show", bread).stdout
    assert order(devnet, order_id)["review"] == {"rating": 4, "text": "Good crust."}

    mine = run(devnet, "market", "orders", "anna", "--role", "buyer")
    assert order_id in [o["id"] for o in mine["orders"]] and mine["next"] is None
    sold = run(devnet, "market", "orders", SHOP, "--role", "provider", "--status", "confirmed")
    assert [o["id"] for o in sold["orders"]] == [order_id]
    both = run(devnet, "market", "orders", "anna")
    assert order_id in [o["id"] for o in both["orders"]] and both["next"] is None
    text = incoop(devnet, "market", "orders", SHOP).stdout
    assert f"{order_id}  confirmed" in text and "sold to anna" in text

    run(devnet, "market", "erase-review", order_id, "--as", "anna")
    shown = run(devnet, "market", "show", bread)
    assert shown["rating"]["count"] == 1 and shown["reviews"][0]["text"] is None
    assert "(text erased)" in incoop(devnet, "market", "show", order_id).stdout


def test_decline_and_cancel_refund(devnet: Devnet, bread: str) -> None:
    marco, anna, held = balance(devnet, "marco"), balance(devnet, "anna"), escrowed(devnet)
    stock = listing(devnet, bread)["quantity"]
    declined = buy(devnet, "marco", bread, 1)
    assert balance(devnet, "marco") == marco - 420
    assert "declined" in incoop(devnet, "market", "decline", declined, "--as", SHOP).stdout
    assert (order(devnet, declined)["status"], order(devnet, declined)["escrow"]["amount"]) == ("declined", 0)
    assert (balance(devnet, "marco"), listing(devnet, bread)["quantity"], escrowed(devnet)) == (marco, stock, held)
    fails(devnet, "market", "accept", declined, "--as", SHOP, says="WRONG_ORDER_STATUS")

    cancelled = buy(devnet, "anna", bread, 3)
    fails(devnet, "market", "cancel", cancelled, "--as", "marco", says="NOT_ORDER_PARTY")
    run(devnet, "market", "cancel", cancelled, "--as", "anna")
    assert order(devnet, cancelled)["status"] == "cancelled"
    assert (balance(devnet, "anna"), listing(devnet, bread)["quantity"], escrowed(devnet)) == (anna, stock, held)


def test_dispute_decided_with_a_split(devnet: Devnet, bread: str) -> None:
    marco, shop, held = balance(devnet, "marco"), balance(devnet, SHOP), escrowed(devnet)
    order_id = buy(devnet, "marco", bread, 3)
    run(devnet, "market", "accept", order_id, "--as", SHOP)
    disputed = run(devnet, "market", "dispute", order_id, "--reason", "Two of three loaves were stale.", "--as", "marco")
    assert disputed["status"] == "committed"
    shown = order(devnet, order_id)
    assert (shown["status"], shown["dispute"], shown["escrow"]["amount"], shown["at_deadline"]) == (
        "disputed", "Two of three loaves were stale.", 1260, None)
    assert f"escrow     12.60 {DEMO_CLASS} held" in incoop(devnet, "market", "show", order_id).stdout
    fails(devnet, "market", "decide", order_id, "--to-provider", "12.60", "--reason", "mine", "--as", SHOP,
          says="NOT_ARBITER")
    decided = run(devnet, "market", "decide", order_id, "--to-provider", "5", "--reason", "one loaf was good",
                  "--as", ARBITER)
    assert (decided["to_provider"], decided["to_buyer"]) == (500, 760)
    shown = order(devnet, order_id)
    assert shown["status"] == "decided" and shown["escrow"]["amount"] == 0
    assert shown["decision"] == {"to_provider": 500, "to_buyer": 760, "reason": "one loaf was good"}
    assert (balance(devnet, "marco"), balance(devnet, SHOP), escrowed(devnet)) == (marco - 500, shop + 500, held)
    text = incoop(devnet, "market", "show", order_id).stdout
    assert f"5.00 {DEMO_CLASS} to the provider, 7.60 {DEMO_CLASS} back" in text and "escrow" not in text


def test_bad_input_is_one_line_and_writes_nothing(devnet: Devnet, bread: str) -> None:
    placed = buy(devnet, "anna", bread, 1)  # an order to aim the order commands at
    before = {who: (nonce(devnet, who), balance(devnet, who)) for who in ("anna", "marco", SHOP, ARBITER)}
    listings = run(devnet, "market", "list", "--status", "all")["listings"]
    stock = listing(devnet, bread)["quantity"]
    publish = ("market", "publish", "--as", SHOP, "--title", "Focaccia", "--category", "food", "--quantity", "5",
               "--delivery", "pickup", "--return-window", "1h")
    fails(devnet, *publish, "--price", "demo-eur=abc", says="--price")
    fails(devnet, *publish, "--price", "no-such-class=1", says="no-such-class")
    fails(devnet, *publish, "--price", "demo-eur", says="CLASS=AMOUNT")
    fails(devnet, *publish[:-2], "--return-window", "91d", "--price", "demo-eur=1", says="--return-window")
    fails(devnet, *publish[:-2], "--return-window", "soon", "--price", "demo-eur=1", says="--return-window")
    fails(devnet, *[("Food!" if a == "food" else a) for a in publish], "--price", "demo-eur=1", says="--category")
    fails(devnet, *[("x" * 81 if a == "Focaccia" else a) for a in publish], "--price", "demo-eur=1", says="--title")
    fails(devnet, *[("-1" if a == "5" else a) for a in publish], "--price", "demo-eur=1", says="--quantity")
    fails(devnet, *publish, "--price", "demo-eur=1", "--service", says="--service")
    fails(devnet, *publish, "--price", "demo-eur=1", "--arbiter", "anna", says="not an authorised arbiter")
    fails(devnet, *publish, "--price", "demo-eur=1", "--arbiter", "nobody", says="nobody")
    fails(devnet, "market", "order", "abc", "--class", DEMO_CLASS, "--as", "anna", says="not a listing id")
    fails(devnet, "market", "order", "00" * 16, "--class", DEMO_CLASS, "--as", "anna", says="no listing")
    fails(devnet, "market", "order", bread, "--class", "welfare-x", "--as", "anna", says="does not accept welfare-x")
    fails(devnet, "market", "order", bread, "--class", DEMO_CLASS, "--quantity", "0", "--as", "anna", says="--quantity")
    fails(devnet, "market", "order", bread, "--class", DEMO_CLASS, "--quantity", "1", "--as", "nobody",
          says="nobody")
    fails(devnet, "market", "decide", placed, "--to-provider", "4.21", "--reason", "x", "--as", ARBITER,
          says="more than the order's total")
    fails(devnet, "market", "decide", placed, "--to-provider", "-1", "--reason", "x", "--as", ARBITER,
          says="--to-provider")
    fails(devnet, "market", "review", placed, "--rating", "6", "--as", "anna", says="--rating")
    fails(devnet, "market", "review", placed, "--rating", "5", "--text", "x" * 281, "--as", "anna", says="--text")
    fails(devnet, "market", "dispute", placed, "--reason", "", "--as", "anna", says="--reason")
    fails(devnet, "market", "show", "11" * 16, says="no listing or order")
    fails(devnet, "market", "show", "not-an-id", says="not a listing or order id")
    fails(devnet, "market", "list", "--limit", "0", says="--limit")
    fails(devnet, "market", "orders", "--role", "buyer", says="--role needs the account")
    fails(devnet, "market", "update", bread, "--as", "anna", "--quantity", "3", says="not anna's")
    # nothing of the above reached the chain
    after = {who: (nonce(devnet, who), balance(devnet, who)) for who in before}
    assert after == before
    assert run(devnet, "market", "list", "--status", "all")["listings"] == listings
    assert listing(devnet, bread)["quantity"] == stock
    assert order(devnet, placed)["status"] == "placed"
    run(devnet, "market", "cancel", placed, "--as", "anna")


def test_update_pause_resume_withdraw(devnet: Devnet, bread: str) -> None:
    updated = run(devnet, "market", "update", bread, "--as", SHOP, "--price", f"{DEMO_CLASS}=3.90", "--quantity", "20",
                  "--description", "Baked at five.")
    assert updated["status"] == "committed"
    shown = listing(devnet, bread)
    assert (shown["prices"], shown["quantity"], shown["description"], shown["title"]) == (
        [{"class": DEMO_CLASS, "unit_price": 390}], 20, "Baked at five.", BREAD)
    run(devnet, "market", "pause", bread, "--as", SHOP)
    assert listing(devnet, bread)["status"] == "paused"
    assert run(devnet, "market", "list", "--provider", SHOP)["listings"] == []
    assert [item["id"] for item in run(devnet, "market", "list", "--status", "paused")["listings"]] == [bread]
    fails(devnet, "market", "order", bread, "--class", DEMO_CLASS, "--as", "marco", says="LISTING_NOT_ACTIVE")
    fails(devnet, "market", "pause", bread, "--as", "marco", says="NOT_LISTING_OWNER")
    run(devnet, "market", "resume", bread, "--as", SHOP)
    order_id = buy(devnet, "marco", bread, 1)
    assert order(devnet, order_id)["total"] == 390
    run(devnet, "market", "withdraw", bread, "--as", SHOP)
    assert listing(devnet, bread)["status"] == "withdrawn"
    fails(devnet, "market", "resume", bread, "--as", SHOP, says="LISTING_WITHDRAWN")
    # an order placed before the withdrawal carries on
    run(devnet, "market", "accept", order_id, "--as", SHOP)
    run(devnet, "market", "confirm", order_id, "--as", "marco")
    assert order(devnet, order_id)["status"] == "confirmed"


def test_an_accounts_orders_page_with_one_cursor(devnet: Devnet, bread: str) -> None:
    """Step 8: the shop's orders, all roles in one list, two at a time with the `--after` each page gives."""
    everything = run(devnet, "market", "orders", SHOP)
    assert len(everything["orders"]) >= 5 and everything["next"] is None
    pages, after = [], None
    while True:
        page = run(devnet, "market", "orders", SHOP, "--limit", "2", *(("--after", after) if after else ()))
        assert len(page["orders"]) <= 2
        pages += page["orders"]
        after = page["next"]
        if after is None:
            break
        assert after == pages[-1]["id"]
    assert [o["id"] for o in pages] == [o["id"] for o in everything["orders"]]
    text = incoop(devnet, "market", "orders", SHOP, "--limit", "2").stdout
    assert text.splitlines()[-1] == f"more: --after {pages[1]['id']}"
    assert [o["id"] for o in run(devnet, "market", "orders", "marco", "--role", "provider")["orders"]] == []
    assert {o["buyer"] for o in run(devnet, "market", "orders", "marco", "--role", "buyer")["orders"]} == {
        address(devnet, "marco")}
