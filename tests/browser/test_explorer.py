"""The explorer in a real browser, on the seeded four-validator demo federation (tests/browser/demo.py).

Scenario:
1. The status page, opened once, follows the chain: its height grows with no reload, the four
   validators are shown up with their recent signatures, the recent blocks' rounds are there, and no
   live region announces each block; the page passes axe-core.
2. Keyboard only: Tab reaches the header's search box, Enter submits it. The box then finds, each
   leading to its page (each checked by axe-core): a block by height (its certificate's round and
   signers, its transactions), a transaction by hash (its result, its block, its body as named
   fields), an account by address (balances with the decimal comma in Italian, its identity, its
   history), an identity (its keys and attestations, no personal data), a class (its rules and books,
   which balance), a listing (its prices), a ballot (its proposal and tally). A query that names
   nothing, and one that cannot name anything, say "not found".
3. Every list page too (blocks, classes, listings, validators, evidence) fits a phone's width and a
   desktop's and passes axe-core; the status, a block, an account and a class are kept as screenshots at
   both widths, in Italian (docs/screenshots/explorer-*.png).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.demo import Demo, demo_federation
from tests.browser.harness import DESKTOP, Watched, assert_accessible, person, screenshot

WELFARE = "welfare-acme-2026"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from demo_federation(Path(tmp_path_factory.mktemp("explorer")))


@pytest.fixture(scope="module")
def anna(demo: Demo) -> dict[str, Any]:
    """anna as the chain knows her: her address, her account and her reviewed purchase."""
    api = demo.devnet.api
    address = api.get(f"/v1/identities/{demo.identities['anna']}")["keys"][0]
    history = api.get(f"/v1/accounts/{address}/txs?limit=50")["txs"]
    review = next(item for item in history if item.get("type") == "market.review")
    return {"address": address, "account": api.get(f"/v1/accounts/{address}"), "review": review}


def italian(minor: int, decimals: int) -> str:
    """An amount as the page must write it in Italian: dots group thousands, a comma before the decimals."""
    whole, fraction = divmod(minor, 10**decimals)
    return f"{whole:,}".replace(",", ".") + ("," + str(fraction).zfill(decimals) if decimals else "")


def search(page: Page, query: str) -> None:
    field = page.locator("#search-q")
    field.fill(query)
    field.press("Enter")


def test_the_status_page_follows_the_chain_without_reload(demo: Demo, resident: Watched) -> None:
    page = resident.page()
    page.goto(demo.url + "/explorer")
    expect(page.locator("h1")).to_have_text("Stato della catena")
    expect(page.locator("#status-validators tbody tr")).to_have_count(4)
    first = int(page.locator("#status-height").inner_text())
    page.evaluate("window.sameDocument = true")

    deadline = time.monotonic() + 15
    while int(page.locator("#status-height").inner_text()) < first + 2:
        assert time.monotonic() < deadline, "the height did not grow on the open page"
        page.wait_for_timeout(200)
    assert page.evaluate("window.sameDocument === true"), "the page reloaded"
    expect(page.locator("#status-up")).to_contain_text("4 di 4")
    expect(page.locator("#status-validators .validator-state")).to_have_text(["attivo"] * 4)
    expect(page.locator("#status-validators .validator-signed").first).to_contain_text(" su ")
    expect(page.locator("#status-rounds")).to_contain_text("ultimi 12 blocchi")
    top = int(page.locator("#status-blocks tbody tr").first.get_attribute("data-height") or 0)
    assert top > first, "the recent blocks did not follow the height"
    expect(page.locator("#status-blocks tbody tr")).to_have_count(12)
    # Nothing noisy for screen readers: no live region in the page's content, and the page's one live
    # region still says only the heading it announced when the page opened.
    assert page.locator("main [aria-live], main [role=status], main [role=alert]").count() == 0
    expect(page.locator("#announcer")).to_have_text("Stato della catena")
    assert_accessible(page)


def test_the_search_box_leads_to_every_kind_of_page_by_keyboard(demo: Demo, resident: Watched, anna: dict) -> None:
    api = demo.devnet.api
    page = resident.page()
    page.goto(demo.url + "/explorer")
    expect(page.locator("h1")).to_have_text("Stato della catena")
    for _ in range(10):  # the skip link, the brand, the sections, then the search box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "search-q":
            break
    assert page.evaluate("document.activeElement.id") == "search-q", "Tab does not reach the search box"
    review = anna["review"]
    page.keyboard.type(str(review["height"]))
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text(f"Blocco {review['height']}")
    block = api.get(f"/v1/blocks/{review['height']}")
    expect(page.locator("#block-round")).to_have_text(str(block["certificate"]["round"]))
    expect(page.locator("#block-signers li")).to_have_count(len(block["certificate"]["signatures"]))
    expect(page.locator("#block-txs")).to_contain_text("market.review")
    assert_accessible(page)

    search(page, review["hash"].upper())
    expect(page.locator("h1")).to_have_text("Transazione")
    expect(page.locator("#tx-status")).to_have_text("confermata")
    expect(page.locator("#tx-facts")).to_contain_text("riuscita")
    expect(page.locator("#tx-block")).to_have_attribute("href", f"#/block/{review['height']}")
    body = page.locator("#tx-body")
    order, rating, text = review["body"]
    expect(body.locator("div", has_text="Ordine")).to_contain_text(order)
    expect(body.locator("div", has_text="Voto")).to_contain_text(str(rating))
    expect(body.locator("div", has_text="Testo")).to_contain_text(text)
    assert_accessible(page)

    search(page, anna["address"])
    expect(page.locator("h1")).to_have_text("Conto")
    classes = {c["id"]: c for c in api.get("/v1/classes")["classes"]}
    balances = page.locator("#account-balances")
    for balance in anna["account"]["balances"]:
        row = balances.locator("tr", has_text=classes[balance["class"]]["name"])
        expect(row).to_contain_text(italian(balance["amount"], classes[balance["class"]]["decimals"]))
    assert any(b["amount"] % 100 for b in anna["account"]["balances"]), "a balance with cents shows the comma"
    expect(page.locator("#account-facts a")).to_have_attribute("href", f"#/identity/{demo.identities['anna']}")
    expect(page.locator("#account-history")).to_contain_text("market.review")
    assert_accessible(page)

    search(page, demo.identities["anna"])
    expect(page.locator("h1")).to_have_text("Identità")
    expect(page.locator("#identity-keys")).to_contain_text(anna["address"])
    expect(page.locator("#identity-attestations")).to_contain_text("resident:trento")
    assert_accessible(page)

    search(page, WELFARE)
    expect(page.locator("h1")).to_have_text(classes[WELFARE]["name"])
    expect(page.locator("#class-rules")).to_contain_text("employee:acme")
    expect(page.locator("#class-books")).to_contain_text(italian(classes[WELFARE]["issued"], 2))
    expect(page.locator("#class-balance")).to_have_text("I conti tornano: emessi = nei conti + in deposito + rimborsati + ritirati.")
    expect(page.locator("#class-spent")).to_contain_text("food")
    assert_accessible(page)

    listing = api.get("/v1/market/listings?limit=1")["listings"][0]
    search(page, listing["id"])
    expect(page.locator("h1")).to_have_text(listing["title"])
    price = listing["prices"][0]
    expect(page.locator("#listing-prices")).to_contain_text(italian(price["unit_price"], classes[price["class"]]["decimals"]))
    assert_accessible(page)

    ballot = next(p["ballot"] for s in api.get("/v1/agora/spaces")["spaces"]
                  for p in api.get(f"/v1/agora/spaces/{s['id']}/proposals")["proposals"] if p["ballot"])
    tally = api.get(f"/v1/agora/ballots/{ballot}")
    search(page, ballot)
    expect(page.locator("h1")).to_have_text("Votazione")
    expect(page.locator("#ballot-tally li")).to_have_count(len(tally["options"]))
    expect(page.locator("#ballot-tally li").first).to_contain_text(tally["options"][0])
    expect(page.locator("#ballot-facts")).to_contain_text(f"{tally['cast']} su {tally['eligible']}")
    assert_accessible(page)

    for nothing in ("nessuna-cosa-qui", "00" * 16, "non è un nome"):
        search(page, nothing)
        expect(page.locator("h1")).to_have_text("Ricerca")
        expect(page.locator("#not-found")).to_have_text(f"Nessun risultato per «{nothing}».")
    assert_accessible(page)


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_the_pages_in_italian_at_each_width(demo: Demo, browser: Browser, anna: dict, width: str) -> None:
    watched = person(browser, viewport=DESKTOP if width == "desktop" else None)
    try:
        page = watched.page()
        pages = {
            "status": ("#/", "Stato della catena"),
            "block": (f"#/block/{anna['review']['height']}", f"Blocco {anna['review']['height']}"),
            "account": (f"#/account/{anna['address']}", "Conto"),
            "class": (f"#/class/{WELFARE}", "ACME welfare plan 2026"),
            "blocks": ("#/blocks", "Blocchi"),
            "classes": ("#/classes", "Classi di crediti"),
            "listings": ("#/listings", "Annunci"),
            "validators": ("#/validators", "Validatori"),
            "evidence": ("#/evidence", "Prove di doppia firma"),
        }
        pictured = {"status", "block", "account", "class"}
        for name, (route, heading) in pages.items():
            page.goto(f"{demo.url}/explorer{route}")
            expect(page.locator("h1")).to_have_text(heading)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} is wider than the screen by {overflow}px"
            assert_accessible(page)
            if name in pictured:
                screenshot(page, f"explorer-{name}-{width}")
    finally:
        watched.context.close()
    assert not watched.errors, "the page logged errors:\n" + "\n".join(watched.errors)
