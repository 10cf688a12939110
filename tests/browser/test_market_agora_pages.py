"""The marketplace, the purchase groups and the agora in a real browser, on the seeded four-validator demo.

One federation for the module (tests/browser/demo.py: node/devnet_seed.py's first day), real
chromium pages (Italian, a phone's width unless said), demo people's keys imported into each page's
keyring from the demo wallet's key files (js/keyring.js importKeyFile), every effect checked on the
node through the API, axe-core on every page, and the screenshots docs/piazza.md shows:

1. Marketplace. Elena filters the market by a class she holds (only listings priced in it remain),
   opens the bread, orders two loaves in gas-trento: the order is `placed` on the node with 8.00 in
   escrow. SAIT, on a desktop, sees it among its sales and accepts it (`accepted`); Elena confirms
   delivery (`confirmed`, SAIT's gas-trento balance up by exactly 8.00, Elena's down by it) and
   reviews it (the provider's rating counts it). SAIT publishes a listing from the Sell page (on the
   node with its prices and stock) and pauses it. Neither page ever sent a passphrase or a seed.
2. Purchase groups. Davide, a member, sees the demo group at 5 of 100, joins with 3 (escrow shown
   at the top price before he commits): the node's group holds 8 and his commitment of 3; the page
   shows his commitment and the bar at 8; the groups page lists it among his commitments.
3. Agora. Elena replies to Luca's comment on the bicycle rack (the node's thread holds her text at
   depth 2 under Luca's), writes a comment and erases it (the node marks it erased and the page
   says so), supports the fountain (its supports grow to 1; the button gives way to "you support"),
   votes yes and then changes to no in the rack's ballot (GET /v1/agora/ballots/{id}/votes/{identity}
   shows each, the counts move), and selects the fountain beside her gardens in the participatory
   budget (the node's selection holds both, within the budget bar). A comment a moderator hid is
   shown with the moderator's reason, not its text, and her reply to it, sent from a page that still
   showed it, is refused in words. In a secret ballot the assembly's moderator opens, she commits a
   vote (the node holds a commitment and no count), reveals it after the closing from what her browser
   kept (the node then holds her option), and once the reveal window is over the page shows the
   results the end-of-block step tallied.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from ledger.tx import sign_tx
from node.devnet_layout import GROUP_CLASS
from tests.browser.demo import Demo, demo_federation
from tests.browser.harness import (
    DESKTOP,
    Watched,
    assert_accessible,
    at_both_widths,
    person,
    screenshot,
    seen_in_explorer,
)
from tests.functional.framework import FAR_EXPIRY, Api, wait_until

PASSPHRASE = "una frase segreta della piazza"
"""What each person types to unlock the key in the page (never sent: checked on every request)."""
KEY_FILE_PASSWORD = "devnet"  # node/devnet_layout.py DEVNET_PASSWORD: the demo wallet's, public by design


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from demo_federation(Path(tmp_path_factory.mktemp("market-agora")))


# --- helpers -----------------------------------------------------------------------------------------


def api(demo: Demo) -> Api:
    return demo.devnet.api


def hold_key(page: Page, demo: Demo, label: str) -> str:
    """Import the demo wallet's key file of `label` into the page's keyring and make it the active key."""
    text = (demo.devnet.layout.wallet_dir / f"{label}.json").read_text(encoding="utf-8")
    page.goto(demo.url + "/")
    return page.evaluate(
        """async ([text, password, label, passphrase]) => {
            const ring = await import("/piazza/js/keyring.js");
            const session = await import("/piazza/js/session.js");
            const address = await ring.importKeyFile(text, password, label, passphrase);
            session.setActive(address);
            return address;
        }""", [text, KEY_FILE_PASSWORD, label, PASSPHRASE])


def before_signing(page: Page) -> None:
    """Mark the notices on the page now, so that `signed` waits for a new one."""
    page.evaluate("document.querySelectorAll('.notice').forEach((n) => { n.dataset.seen = '1'; })")


def signed(page: Page, says: str) -> None:
    """After a person asked to sign: type the passphrase if the page asks for it (the first signature of a
    page does, js/session.js; later ones do not), then wait for the page to say it went through."""
    done = page.locator(".notice.good:not([data-seen])", has_text=says).first
    dialog = page.locator("#unlock-passphrase")
    expect(done.or_(dialog)).to_be_visible(timeout=30_000)
    if dialog.is_visible():
        dialog.fill(PASSPHRASE)
        dialog.press("Enter")
    expect(done).to_be_visible(timeout=30_000)
    link = done.locator("a[href^='/explorer#/tx/']")
    if link.count():  # what the person did, seen in the explorer (a text sent after its post has none)
        seen_in_explorer(page, link.first)


def act(page: Page, button: Any, says: str) -> None:
    """Press a button that signs and wait for the page to say it went through."""
    before_signing(page)
    button.click()
    signed(page, says)


def open_page(page: Page, demo: Demo, route: str, heading: str | re.Pattern) -> None:
    """Open a route of the piazza afresh (a route already open is loaded again, as a person would)."""
    url = f"{demo.url}/{route}"
    if page.url == url:
        page.reload()
    else:
        page.goto(url)
    expect(page.locator("h1")).to_have_text(heading)
    page.wait_for_load_state("networkidle")


def listing_id(demo: Demo, title_start: str) -> str:
    listings = api(demo).get("/v1/market/listings?limit=200")["listings"]
    return next(item["id"] for item in listings if item["title"].startswith(title_start))


def balance(demo: Demo, label: str, class_id: str) -> int:
    return api(demo).balance(demo.devnet.keys[label].pubkey, class_id)


def never_sent_secrets(watched: Watched, demo: Demo, label: str) -> None:
    """No request of the pages carried the passphrase or the key's seed (raw or in hex)."""
    sent = watched.sent()
    assert sent, "the pages made no request at all"
    seed = demo.devnet.keys[label].seed
    for secret in (PASSPHRASE.encode(), seed, seed.hex().encode()):
        assert not any(secret in item for item in sent), "a request carried the passphrase or the seed"


# --- 1. the marketplace ------------------------------------------------------------------------------


def test_a_resident_orders_from_a_listing_and_confirms_it_and_the_provider_sells(demo: Demo, browser: Browser,
                                                                                  resident: Watched) -> None:
    bread = listing_id(demo, "Pane di montagna")
    sait_before = balance(demo, "sait", GROUP_CLASS)
    elena_before = balance(demo, "elena", GROUP_CLASS)
    page = resident.page()
    elena = hold_key(page, demo, "elena")

    # The market, filtered by a class she holds: only listings priced in gas-trento remain.
    open_page(page, demo, "#/market", "Mercato")
    expect(page.locator("ul.listings > li")).to_have_count(8)
    assert_accessible(page)
    screenshot(page, "market-phone")
    page.select_option("#market-class", GROUP_CLASS)
    page.get_by_role("button", name="Cerca").click()
    expect(page).to_have_url(re.compile(r"#/market\?class=gas-trento$"))
    expect(page.locator("ul.listings > li")).to_have_count(2)
    expect(page.locator("ul.listings")).to_contain_text("Pane di montagna, 1 kg")
    expect(page.locator("ul.listings")).to_contain_text("hai 50,00")

    # The listing: its prices per class, an order of two loaves in gas-trento, the total before signing.
    page.get_by_role("link", name="Pane di montagna, 1 kg").click()
    expect(page.locator("h1")).to_have_text("Pane di montagna, 1 kg")
    page.wait_for_load_state("networkidle")
    assert_accessible(page)
    at_both_widths(page, "listing")
    expect(page.get_by_role("link", name="Vedi nell'esploratore")).to_have_attribute("href", f"/explorer#/listing/{bread}")
    page.fill("#order-quantity", "2")
    page.check("#order-class-welfare-acme-2026")  # she holds none: refused before anything is signed or sent
    page.get_by_role("button", name="Ordina e paga").click()
    expect(page.locator(".notice.bad")).to_have_text(
        "Non hai abbastanza ACME welfare plan 2026: ne hai 0,00, ne servono 8,40.")
    assert not [r for r in resident.requests if r.method == "POST"], "a refused order reached the node"
    page.check(f"#order-class-{GROUP_CLASS}")
    expect(page.locator("#order-total")).to_have_text(re.compile(r"^8,00 GAS Trento"))
    act(page, page.get_by_role("button", name="Ordina e paga"), "Ordine fatto: 8,00 GAS Trento purchase credits in deposito")
    order_id = page.get_by_role("link", name="Vedi l'ordine").get_attribute("href").rsplit("/", 1)[1]
    order = api(demo).get(f"/v1/market/orders/{order_id}")
    assert (order["status"], order["buyer"], order["listing"], order["class"], order["quantity"], order["total"]) == \
        ("placed", elena, bread, GROUP_CLASS, 2, 800)
    assert order["escrow"]["amount"] == 800
    expect(page.locator(".notice.good a[href^='/explorer#/tx/']")).to_have_count(1)

    # SAIT, on a desktop, accepts it from its sales.
    sait_view = person(browser, viewport=DESKTOP)
    try:
        provider = sait_view.page()
        sait = hold_key(provider, demo, "sait")
        open_page(provider, demo, "#/market/orders", "I miei ordini")
        card = provider.locator(f"article.order[data-order='{order_id}']")
        expect(card).to_contain_text("In attesa del fornitore")
        expect(card).to_contain_text("Accetta entro il")
        assert_accessible(provider)
        act(provider, card.get_by_role("button", name="Accetta l'ordine"), "Ordine accettato")
        assert api(demo).get(f"/v1/market/orders/{order_id}")["status"] == "accepted"
        expect(provider.locator(f"article.order[data-order='{order_id}']")).to_contain_text("Accettato: da confermare")
        screenshot(provider, "orders-desktop")

        # Elena confirms delivery: the escrow goes to SAIT, exactly the total.
        open_page(page, demo, f"#/market/order/{order_id}", "Ordine: Pane di montagna, 1 kg")
        expect(page.locator("article.order")).to_contain_text("Conferma o contesta entro il")
        assert_accessible(page)
        act(page, page.get_by_role("button", name="Confermo la consegna"), "Consegna confermata")
        order = api(demo).get(f"/v1/market/orders/{order_id}")
        assert order["status"] == "confirmed" and order["escrow"]["amount"] == 0
        assert balance(demo, "sait", GROUP_CLASS) == sait_before + 800
        assert balance(demo, "elena", GROUP_CLASS) == elena_before - 800

        # A completed order may be reviewed, once.
        page.check(f"#rating-{order_id}-4")
        page.fill(f"#review-text-{order_id}", "Buono, ma la crosta era un po' dura.")
        act(page, page.get_by_role("button", name="Pubblica la recensione"), "Recensione pubblicata")
        order = api(demo).get(f"/v1/market/orders/{order_id}")
        assert order["review"] == {"rating": 4, "text": "Buono, ma la crosta era un po' dura."}
        reviews = api(demo).get(f"/v1/market/providers/{sait}/reviews")
        assert reviews["rating"]["count"] == 2 and reviews["rating"]["sum"] == 9
        expect(page.locator("article.order")).to_contain_text("Consegna confermata")
        assert_accessible(page)
        at_both_widths(page, "order")

        # SAIT publishes a listing from the Sell page, then pauses it from the listing's page.
        open_page(provider, demo, "#/market/sell", "Vendi")
        assert_accessible(provider)
        provider.fill("#sell-title", "Formaggio Puzzone di Moena, 500 g")
        provider.fill("#sell-description", "Stagionato sei mesi in malga.")
        provider.fill("#sell-category", "food")
        provider.fill("#sell-stock", "30")
        provider.select_option("#sell-delivery", "pickup")
        provider.fill("#sell-window", "7")
        provider.fill(f"#sell-price-{GROUP_CLASS}", "9,50")
        provider.fill("#sell-price-demo-eur", "10")
        screenshot(provider, "sell-desktop")
        act(provider, provider.get_by_role("button", name="Pubblica", exact=True), "Annuncio pubblicato")
        new_id = provider.get_by_role("link", name="Vedi l'annuncio").get_attribute("href").rsplit("/", 1)[1]
        listing = api(demo).get(f"/v1/market/listings/{new_id}")
        assert (listing["provider"], listing["title"], listing["category"], listing["quantity"], listing["status"]) == \
            (sait, "Formaggio Puzzone di Moena, 500 g", "food", 30, "active")
        assert listing["prices"] == [{"class": "demo-eur", "unit_price": 1000}, {"class": GROUP_CLASS, "unit_price": 950}]
        assert listing["return_window_ms"] == 7 * 86_400_000
        provider.get_by_role("link", name="Vedi l'annuncio").click()
        expect(provider.locator("h1")).to_have_text("Formaggio Puzzone di Moena, 500 g")
        act(provider, provider.get_by_role("button", name="Sospendi"), "Annuncio sospeso")
        assert api(demo).get(f"/v1/market/listings/{new_id}")["status"] == "paused"
        assert_accessible(provider)

        # The market at a desktop's width, now with SAIT's new listing paused (not among the active).
        open_page(provider, demo, "#/market", "Mercato")
        expect(provider.locator("ul.listings > li")).to_have_count(8)
        screenshot(provider, "market-desktop")
        never_sent_secrets(sait_view, demo, "sait")
        assert not sait_view.errors, "the provider's page logged errors:\n" + "\n".join(sait_view.errors)
    finally:
        sait_view.context.close()
    never_sent_secrets(resident, demo, "elena")


# --- 2. purchase groups ------------------------------------------------------------------------------


def test_a_member_joins_the_purchase_group_and_watches_it_fill(demo: Demo, resident: Watched) -> None:
    group = api(demo).get("/v1/gas/groups?status=open")["groups"][0]
    before = group["committed_qty"]
    page = resident.page()
    davide = hold_key(page, demo, "davide")

    open_page(page, demo, "#/groups", "Gruppi d'acquisto")
    card = page.locator("ul.groups > li").first
    expect(card).to_contain_text("Mele della Val di Non")
    expect(card.get_by_role("progressbar")).to_have_attribute("aria-valuenow", str(before))
    expect(page.locator("main")).to_contain_text("Non hai impegni nei gruppi aperti.")
    assert_accessible(page)

    card.get_by_role("link", name=re.compile("Mele della Val di Non")).click()
    expect(page.locator("h1")).to_have_text(re.compile("Gruppo su «Mele della Val di Non"))
    page.wait_for_load_state("networkidle")
    expect(page.locator("ol.tiers > li")).to_have_count(3)
    assert_accessible(page)
    quantity = page.locator("#join-quantity")  # with the keyboard alone: type, then Enter sends the form
    quantity.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    expect(page.locator("output[for='join-quantity']")).to_have_text(re.compile(r"^33,00 GAS Trento"))  # 3 × the top price
    before_signing(page)
    page.keyboard.press("Enter")
    signed(page, "Impegno registrato: 3 in più")

    fill = api(demo).get(f"/v1/gas/groups/{group['id']}")
    assert fill["committed_qty"] == before + 3 and fill["members"] == group["members"] + 1
    commitments = api(demo).get(f"/v1/gas/groups/{group['id']}/commitments")["commitments"]
    assert [(c["quantity"], c["escrowed"]) for c in commitments if c["member"] == davide] == [(3, 3 * 1_100)]
    expect(page.locator("#my-commitment")).to_contain_text("Il tuo impegno: 3")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", str(before + 3))
    expect(page.locator(".fill-bar")).to_contain_text(f"{before + 3} impegnati su 100 · minimo 20")
    assert_accessible(page)
    at_both_widths(page, "group")

    open_page(page, demo, "#/groups", "Gruppi d'acquisto")
    expect(page.locator("main")).to_contain_text("Il tuo impegno: 3")
    never_sent_secrets(resident, demo, "davide")


# --- 3. the agora ------------------------------------------------------------------------------------


def sign_as(demo: Demo, label: str, type_: str, body: tuple) -> None:
    """A demo key signs a transaction (as the CLI would) and it is committed OK."""
    key = demo.devnet.keys[label]
    tx = sign_tx(key, demo.devnet.chain_id, type_, demo.devnet.next_nonce(key), FAR_EXPIRY, body)
    api(demo).submit(tx)
    assert api(demo).wait_committed(tx.hash, timeout=30)["result"]["code"] == "OK"


def head_time(demo: Demo) -> int:
    return int(api(demo).status()["block_time_ms"])


SECRET_BALLOT = "5ec0e7ba11070000000000000000a907"
SECRET_CLOSES_S = 15
SECRET_REVEAL_S = 30
"""The secret ballot the agora test opens: committed within its first seconds, revealed after its closing.
The steps between take 10-30 s as the machine is loaded: the reveal window covers them, so that the reveal
is never late (the tally comes at the window's end, so a longer one only costs waiting)."""


def test_a_resident_comments_supports_votes_and_selects_in_the_agora(demo: Demo, browser: Browser) -> None:
    resident = person(browser)
    try:
        take_part_in_the_agora(demo, resident)
    finally:
        resident.context.close()
    # One refusal is expected: the reply to a comment hidden meanwhile, which the node refuses at admission
    # (a 422, which chromium logs as a failed load); nothing else may be logged.
    unexpected = [e for e in resident.errors if "status of 422" not in e]
    assert not unexpected, "the page logged errors:\n" + "\n".join(unexpected)
    assert len(resident.errors) == 1, resident.errors


def take_part_in_the_agora(demo: Demo, resident: Watched) -> None:
    spaces = {s["name"]: s for s in api(demo).get("/v1/agora/spaces")["spaces"]}
    consulta = spaces["Consulta di Trento"]
    proposals = api(demo).get(f"/v1/agora/spaces/{consulta['id']}/proposals")["proposals"]
    rack = next(p for p in proposals if p["text"].startswith("Una rastrelliera"))
    fountain = next(p for p in proposals if p["text"].startswith("Una fontanella"))
    thread = api(demo).get(f"/v1/agora/posts/{rack['id']}")
    luca = next(c for c in thread["comments"] if c["depth"] == 1)
    identity = demo.identities["elena"]
    assembly = spaces["Assemblea della federazione"]
    hours = api(demo).get(f"/v1/agora/spaces/{assembly['id']}/proposals")["proposals"][0]
    # The assembly's moderator opens a secret ballot on SAIT's proposal, closing in a few seconds.
    now = head_time(demo)
    closes, reveal_until = now + SECRET_CLOSES_S * 1000, now + (SECRET_CLOSES_S + SECRET_REVEAL_S) * 1000
    sign_as(demo, "federation", "agora.ballot", (bytes.fromhex(SECRET_BALLOT), bytes.fromhex(hours["id"]),
                                                 ("sì", "no", "astensione"), now, closes, reveal_until))
    page = resident.page()
    hold_key(page, demo, "elena")

    # The secret ballot: a commitment, nothing readable on the chain until the reveal.
    open_page(page, demo, f"#/agora/ballot/{SECRET_BALLOT}", "Votazione: Assemblea della federazione")
    expect(page.locator("main")).to_contain_text("Votazione segreta")
    page.get_by_label("sì").check()
    act(page, page.get_by_role("button", name="Impegna il voto"), "Voto impegnato: «sì», segreto fino alla chiusura")
    committed = api(demo).get(f"/v1/agora/ballots/{SECRET_BALLOT}/votes/{identity}")
    assert (committed["committed"], committed["option"]) == (True, None)
    assert api(demo).get(f"/v1/agora/ballots/{SECRET_BALLOT}")["counts"] is None
    expect(page.locator("#my-vote")).to_contain_text("Hai impegnato il voto «sì»")
    assert_accessible(page)

    open_page(page, demo, "#/agora", "Agorà")
    expect(page.locator("ul.spaces > li")).to_have_count(2)
    assert_accessible(page)
    page.get_by_role("link", name="Consulta di Trento").click()
    expect(page.locator("h1")).to_have_text("Consulta di Trento")
    expect(page.locator("main")).to_contain_text("Chi risiede a Trento")
    expect(page.locator(".eligibility")).to_have_text("Puoi partecipare")
    page.wait_for_load_state("networkidle")
    assert_accessible(page)
    at_both_widths(page, "agora-space")

    # A reply to Luca's comment, threaded under it on the node.
    open_page(page, demo, f"#/agora/post/{rack['id']}", "Proposta")
    reply_text = "Sono d'accordo: sul lato di via Roma c'è anche più luce la sera."
    luca_item = page.locator(f"#post-{luca['id']}")
    luca_item.get_by_role("button", name="Rispondi").click()
    page.fill(f"#reply-{luca['id']}-text", reply_text)
    act(page, page.locator(f"#reply-{luca['id']}").get_by_role("button", name="Pubblica"), "Commento pubblicato")
    thread = api(demo).get(f"/v1/agora/posts/{rack['id']}")
    mine = next(c for c in thread["comments"] if c["text"] == reply_text)
    assert (mine["parent"], mine["depth"], mine["author"], mine["text_state"]) == (luca["id"], 2, identity, "shown")
    nested = page.locator(f"li:has(> #post-{luca['id']}) > ul.thread > li > #post-{mine['id']}")  # a reply under Luca's
    expect(nested).to_contain_text(reply_text)

    # A comment written, then erased by its author: the node keeps only the mark, and so does the page.
    page.fill("#comment-new-text", "Scrivo per errore qui.")
    act(page, page.locator("#comment-new").get_by_role("button", name="Pubblica"), "Commento pubblicato")
    slip = next(c for c in api(demo).get(f"/v1/agora/posts/{rack['id']}")["comments"] if c["text"] == "Scrivo per errore qui.")
    item = page.locator(f"#post-{slip['id']}")
    item.get_by_role("button", name="Cancella").click()
    act(page, item.get_by_role("button", name="Sì, cancella il testo"), "Testo cancellato")
    slip = next(c for c in api(demo).get(f"/v1/agora/posts/{rack['id']}")["comments"] if c["id"] == slip["id"])
    assert (slip["status"], slip["text"], slip["text_state"]) == ("erased", None, "erased")
    expect(page.locator(f"#post-{slip['id']}")).to_contain_text("Cancellato dall'autore.")

    # A moderator hides Luca's comment while her page still shows it: her reply to it is refused, in words.
    sign_as(demo, "comune", "agora.hide", (bytes.fromhex(luca["id"]), "Indicazioni stradali da verificare"))
    luca_item.get_by_role("button", name="Rispondi").click()
    page.fill(f"#reply-{luca['id']}-text", "Ancora una cosa.")
    page.locator(f"#reply-{luca['id']}").get_by_role("button", name="Pubblica").click()
    expect(page.locator(f"#reply-{luca['id']} .notice.bad")).to_contain_text("il messaggio non è più visibile")
    # Shown again, the comment carries the moderator's reason, never its text.
    page.reload()
    expect(page.locator(f"#post-{luca['id']} > .post-text").first).to_have_text(
        "Nascosto da un moderatore: Indicazioni stradali da verificare")
    expect(page.locator(f"#post-{luca['id']}")).not_to_contain_text("furgoni")
    assert_accessible(page)
    at_both_widths(page, "agora-proposal")

    # Supporting the fountain: once, and the page then says so.
    open_page(page, demo, f"#/agora/post/{fountain['id']}", "Proposta")
    act(page, page.get_by_role("button", name="Sostengo questa proposta"), "Hai sostenuto la proposta")
    assert api(demo).get(f"/v1/agora/posts/{fountain['id']}")["post"]["supports"] == 1
    expect(page.locator(".supports")).to_contain_text("Sostieni questa proposta.")
    expect(page.get_by_role("button", name="Sostengo questa proposta")).to_have_count(0)

    # The rack's ballot: a vote, then a changed vote; the node keeps one per identity.
    ballot_id = rack["ballot"]
    open_page(page, demo, f"#/agora/post/{rack['id']}", "Proposta")
    page.get_by_role("link", name="Vai alla votazione").click()
    expect(page.locator("h1")).to_have_text("Votazione: Consulta di Trento")
    expect(page.locator("#my-vote")).to_have_text("Non hai ancora votato.")
    before = api(demo).get(f"/v1/agora/ballots/{ballot_id}")["counts"]
    page.get_by_label("sì").check()
    act(page, page.get_by_role("button", name="Vota"), "Voto registrato: «sì»")
    vote = api(demo).get(f"/v1/agora/ballots/{ballot_id}/votes/{identity}")
    assert (vote["option"], vote["label"]) == (0, "sì")
    expect(page.locator("#my-vote")).to_contain_text("Il tuo voto: «sì».")
    expect(page.get_by_label("sì")).to_be_checked()
    expect(page.get_by_role("link", name="Vedi nell'esploratore")).to_have_attribute("href", f"/explorer#/ballot/{ballot_id}")
    page.get_by_label("sì").focus()  # changed with the keyboard alone: an arrow moves the choice, Tab, Enter
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("no", exact=True)).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Cambia il voto")).to_be_focused()
    before_signing(page)
    page.keyboard.press("Enter")
    signed(page, "Voto registrato: «no»")
    vote = api(demo).get(f"/v1/agora/ballots/{ballot_id}/votes/{identity}")
    assert (vote["option"], vote["label"]) == (1, "no")
    assert api(demo).get(f"/v1/agora/ballots/{ballot_id}")["counts"] == [before[0], before[1] + 1, before[2]]
    expect(page.locator("#my-vote")).to_contain_text("Il tuo voto: «no».")
    assert_accessible(page)
    at_both_widths(page, "ballot")

    # The participatory budget: the fountain added to her gardens, within the budget.
    budget = api(demo).get(f"/v1/agora/spaces/{consulta['id']}/budgets")["budgets"][0]
    open_page(page, demo, f"#/agora/budget/{budget['id']}", "Bilancio partecipativo: Consulta di Trento")
    expect(page.locator("#my-selection")).to_contain_text("Hai scelto un progetto")
    page.check(f"#select-{fountain['id']}")
    expect(page.locator("#selection-bar")).to_contain_text("3.700,00 su 5.000,00")
    page.check(f"#select-{rack['id']}")  # 5,500.00: over the budget, the page will not send it
    expect(page.locator(".notice.bad")).to_contain_text("Hai superato il bilancio di 500,00")
    expect(page.get_by_role("button", name="Conferma la scelta")).to_be_disabled()
    page.uncheck(f"#select-{rack['id']}")
    act(page, page.get_by_role("button", name="Conferma la scelta"), "Scelta registrata")
    selection = api(demo).get(f"/v1/agora/budgets/{budget['id']}/selections/{identity}")
    gardens = next(p["id"] for p in proposals if p["text"].startswith("Orti comuni"))
    assert sorted(selection["projects"]) == sorted([gardens, fountain["id"]]) and selection["total"] == 370_000
    expect(page.locator("#my-selection")).to_contain_text("Hai scelto 2 progetti, per 3.700,00")
    assert_accessible(page)
    at_both_widths(page, "budget")

    # After the secret ballot's closing, the vote is revealed from what this device kept; after the reveal
    # window the end-of-block step tallies it and the page shows the results.
    wait_until(lambda: head_time(demo) >= closes, timeout=SECRET_CLOSES_S + 10, what="the secret ballot's closing")
    open_page(page, demo, f"#/agora/ballot/{SECRET_BALLOT}", "Votazione: Assemblea della federazione")
    act(page, page.get_by_role("button", name="Rivela il tuo voto «sì»"), "Voto rivelato: «sì»")
    revealed = api(demo).get(f"/v1/agora/ballots/{SECRET_BALLOT}/votes/{identity}")
    assert (revealed["committed"], revealed["option"], revealed["label"]) == (True, 0, "sì")
    wait_until(lambda: api(demo).get(f"/v1/agora/ballots/{SECRET_BALLOT}")["status"] in ("decided", "failed"),
               timeout=SECRET_REVEAL_S + 10, what="the secret ballot's tally")
    tally = api(demo).get(f"/v1/agora/ballots/{SECRET_BALLOT}")
    assert (tally["counts"], tally["cast"], tally["status"]) == ([1, 0, 0], 1, "failed")  # one vote of 17: no quorum
    open_page(page, demo, f"#/agora/ballot/{SECRET_BALLOT}", "Votazione: Assemblea della federazione")
    expect(page.locator("ul.results > li")).to_have_count(3)
    expect(page.locator("ul.results > li").first).to_contain_text("1 voto")
    expect(page.locator("main")).to_contain_text("Esito: nessuna opzione è passata")
    expect(page.locator("#my-vote")).to_contain_text("Il tuo voto: «sì».")
    assert_accessible(page)
    at_both_widths(page, "ballot-results")
    never_sent_secrets(resident, demo, "elena")
