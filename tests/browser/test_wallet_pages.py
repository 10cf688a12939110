"""The wallet's pages in a real browser against the seeded four-validator federation (tests/browser/demo.py).

A resident on a phone, in Italian:

1. opens the piazza on a device without a wallet and creates one (a label and a passphrase typed
   twice; two different entries are refused first);
2. is funded from Python: a demo resident sends 150.00 demo-eur, and the federation creates a class
   that expires in 20 days and issues 25.00 of it; the home page lists that class first with a warning,
   and the demo credits as "150,00" (the decimal comma);
   each balance is shown "verificato" once the page has proven it against the genesis validators;
3. pastes a payment request SAIT made (formatted by wallet/payment_request.py), sees who is paid, how
   much and for what, confirms, types a wrong passphrase (refused), then the right one: the node
   commits the payment and SAIT's balance on the node grows by exactly the amount; a request the ledger
   refuses (SAIT is not accredited for health) is shown refused in plain words; locked again, the
   wallet asks for the passphrase, and cancelling signs nothing;
4. sees the payment in the history with a date and SAIT's name (given when paying), not a height;
5. makes a payment request that Python parses back to its own address and amount;
6. exports the key file: Python's keystore opens it with the file password and finds the same address;
   the seed it holds, the passphrase and the file password never appear in anything the page sent.

In a second browser (desktop width) the key file is imported and gives the same address, and sends
10.00 to a person by address. In an English
browser, CLI key files of the devnet's wallet are imported (a wrong file password is refused) and the
person switches between the two keys.
In a browser without a camera, the pay page says so; with a fake camera that films the pharmacy's QR
code, it reads the request from the camera.
Every wallet page passes axe-core, and screenshots of each are kept in docs/screenshots/.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import segno
from playwright.sync_api import Browser, Page, expect

from keys.keystore import read_key_file
from ledger.address import from_address, to_address
from ledger.tx import sign_tx
from node.devnet_layout import DEMO_CLASS, DEVNET_PASSWORD
from tests.browser.demo import Demo, demo_federation
from tests.browser.harness import (
    CHROMIUM_ARGS,
    DESKTOP,
    Watched,
    assert_accessible,
    chromium_path,
    person,
    screenshot,
    seen_in_explorer,
)
from tests.functional.framework import FAR_EXPIRY
from wallet.payment_request import PaymentRequest, format_request, parse_request

PASSPHRASE = "mele della val di non"
FILE_PASSWORD = "una password per il file"
SOON_CLASS = "buono-estate"
DAY_MS = 86_400_000
KDF_TIMEOUT = 60_000  # a key file's Argon2id runs in the page's JavaScript: seconds on a busy machine


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from demo_federation(Path(tmp_path_factory.mktemp("wallet")))


# --- what Python does beside the page -------------------------------------------------------------------


def commit(demo: Demo, signer: str, type_: str, body: tuple) -> dict:
    """Sign with a demo key, submit to node 0, wait for the block; the result must be OK."""
    devnet = demo.devnet
    key = devnet.keys[signer]
    nonce = devnet.api.account(key.pubkey)["pending_nonce"]
    tx = sign_tx(key, devnet.chain_id, type_, nonce, FAR_EXPIRY, body)
    devnet.api.submit(tx)
    status = devnet.api.wait_committed(tx.hash, timeout=30)
    assert status["result"]["code"] == "OK", status
    return status


def fund(demo: Demo, address: str) -> None:
    """150.00 demo-eur from a demo resident; 25.00 of a class the federation creates, valid for 20 days."""
    devnet = demo.devnet
    to = from_address(address)
    commit(demo, "marco", "credits.transfer", (DEMO_CLASS, to, 15_000, "benvenuto"))
    until = devnet.api.status()["block_time_ms"] + 20 * DAY_MS
    commit(demo, "federation", "credits.create_class",
           (SOON_CLASS, "Buono estate (demo)", 2, "community", (), "p2p", ("culture", "food"), 0, until, 0, 0, None, 0, 0))
    commit(demo, "federation", "credits.issue", (SOON_CLASS, to, 2_500, "estate"))


def address_of(demo: Demo, label: str) -> str:
    return to_address(demo.devnet.keys[label].pubkey)


def never_sent(watched: Watched, *secrets: bytes) -> None:
    """None of `secrets` is in any URL or body the pages sent."""
    sent = watched.sent()
    assert sent, "the page sent nothing at all: the check would be empty"
    for secret in secrets:
        assert not any(secret in item for item in sent), f"the page sent a secret ({secret[:4]!r}…)"


def seed_forms(seed: bytes) -> list[bytes]:
    """The seed as raw bytes, hex (both cases) and base64 (standard and URL-safe), as a leak would carry it."""
    return [seed, seed.hex().encode(), seed.hex().upper().encode(), base64.b64encode(seed),
            base64.urlsafe_b64encode(seed), base64.b64encode(seed).rstrip(b"=")]


# --- what a person does in the page -------------------------------------------------------------------------


def create_wallet(page: Page, label: str, shot: bool = False) -> str:
    page.get_by_role("link", name="Crea un borsellino").click()
    expect(page.locator("h1")).to_have_text("Crea un borsellino")
    assert_accessible(page)
    page.get_by_label("Nome del borsellino").fill(label)
    page.locator("#wallet-passphrase-1").fill(PASSPHRASE)
    page.locator("#wallet-passphrase-2").fill(PASSPHRASE + " ma diversa")
    page.get_by_role("button", name="Crea il borsellino").click()
    expect(page.get_by_role("alert")).to_contain_text("I due campi «Frase segreta» non coincidono")
    page.locator("#wallet-passphrase-2").fill(PASSPHRASE)
    if shot:
        screenshot(page, "wallet-create-phone")
    page.get_by_role("button", name="Crea il borsellino").click()
    expect(page.locator("#wallet-address")).to_have_text(re.compile(r"^ic[a-z2-7]{58}$"), timeout=KDF_TIMEOUT)
    return page.locator("#wallet-address").inner_text()


def unlock_dialog(page: Page, passphrase: str) -> None:
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Frase segreta").fill(passphrase)
    dialog.get_by_role("button", name="Sblocca").click()


def balance_card(page: Page, class_id: str):
    return page.locator(f'li.balance[data-class="{class_id}"]')


def test_a_resident_creates_a_wallet_is_paid_and_pays_a_provider(demo: Demo, resident: Watched, browser: Browser) -> None:
    api = demo.devnet.api
    page = resident.page()
    page.goto(demo.url + "/")
    expect(page.locator("h1")).to_have_text("Il tuo borsellino")
    expect(page.locator("main")).to_contain_text("non c'è ancora un borsellino")
    assert_accessible(page)
    screenshot(page, "wallet-welcome-phone")

    address = create_wallet(page, "personale", shot=True)
    assert api.get(f"/v1/accounts/{address}")["balances"] == []
    expect(page.locator("main")).to_contain_text("Non hai ancora crediti")

    # funded from Python; the page shows the soon-expiring class first, with its warning
    fund(demo, address)
    page.reload()
    expect(balance_card(page, DEMO_CLASS).locator(".amount")).to_have_text("150,00")
    soon = balance_card(page, SOON_CLASS)
    expect(soon.locator(".amount")).to_have_text("25,00")
    expect(soon.locator(".notice.warn")).to_contain_text(re.compile(r"Scade tra (19|20) giorni"))
    expect(soon).to_contain_text("Si spende presso i fornitori accreditati e si può anche trasferire ad altre persone per cultura e alimentari.")
    expect(balance_card(page, DEMO_CLASS)).to_contain_text("Non scade")
    classes = page.locator("li.balance").evaluate_all("items => items.map(i => i.dataset.class)")
    assert classes == [SOON_CLASS, DEMO_CLASS], "soonest expiry first"
    expect(page.get_by_role("img", name="Codice QR del tuo indirizzo")).to_be_visible()
    for class_id in (SOON_CLASS, DEMO_CLASS):  # proven in the page against the genesis validators (FORMAT.md §21)
        expect(balance_card(page, class_id).locator(".verified")).to_contain_text("verificato", timeout=20_000)
    assert_accessible(page)
    screenshot(page, "wallet-home-phone")

    # SAIT's payment request, made in Python, pasted into the pay page
    sait = address_of(demo, "sait")
    sait_before = api.balance(from_address(sait))
    uri = format_request(PaymentRequest(sait, demo.devnet.chain_id, DEMO_CLASS, 1_250, "ordine 42 / pane", "food"))
    page.get_by_role("link", name="Paga", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("Paga")
    page.get_by_role("button", name="Inquadra il codice QR").click()  # this browser has no camera: it says so
    expect(page.get_by_role("alert")).to_contain_text(re.compile("fotocamera"))
    page.get_by_label("Richiesta di pagamento").fill("incoop:not-an-address?chain=x&class=y")
    page.get_by_role("button", name="Continua").click()
    expect(page.get_by_role("alert")).to_contain_text("Indirizzo non valido")
    page.get_by_label("Richiesta di pagamento").fill(uri)
    page.get_by_role("button", name="Continua").click()
    check = page.locator("form.confirm")
    expect(check).to_contain_text("12,50")
    expect(check).to_contain_text("alimentari")
    expect(check).to_contain_text("ordine 42 / pane")
    expect(check).to_contain_text("Demo euro credits")
    expect(check).to_contain_text(sait)
    expect(check).to_contain_text("Ne hai 150,00")
    page.get_by_label("Chiama questo destinatario (facoltativo)").fill("SAIT cooperativa")
    assert_accessible(page)
    screenshot(page, "wallet-pay-phone")

    check.get_by_role("button", name="Conferma e paga").click()
    unlock_dialog(page, "non è la mia frase")
    expect(page.get_by_role("dialog").get_by_role("alert")).to_have_text("Frase segreta sbagliata.", timeout=KDF_TIMEOUT)
    assert api.balance(from_address(sait)) == sait_before, "nothing is paid on a wrong passphrase"
    page.get_by_role("dialog").get_by_label("Frase segreta").fill(PASSPHRASE)
    page.keyboard.press("Enter")  # the keyboard alone is enough
    done = page.locator(".outcome")
    expect(done).to_contain_text("Pagato: 12,50 Demo euro credits a SAIT cooperativa.", timeout=40_000)
    link = done.get_by_role("link", name="Vedi l'operazione nell'esploratore")
    tx_hash = link.get_attribute("href").removeprefix("/explorer#/tx/")
    assert re.fullmatch(r"[0-9a-f]{64}", tx_hash)
    status = api.tx(bytes.fromhex(tx_hash))
    assert status["status"] == "committed" and status["result"]["code"] == "OK"
    assert api.balance(from_address(sait)) == sait_before + 1_250
    assert api.balance(from_address(address)) == 15_000 - 1_250
    screenshot(page, "wallet-paid-phone")
    seen_in_explorer(page, link)

    # a request the ledger refuses (SAIT is not accredited for health): the node's refusal in plain words
    refused = format_request(PaymentRequest(sait, demo.devnet.chain_id, DEMO_CLASS, None, None, "health"))
    page.get_by_role("link", name="Un altro pagamento").click()
    page.get_by_label("Richiesta di pagamento").fill(refused)
    page.get_by_role("button", name="Continua").click()
    expect(page.locator("form.confirm")).to_contain_text("SAIT cooperativa")  # the name given when paying
    page.get_by_label("Importo da pagare").fill("5")  # the request leaves the amount to the payer
    page.locator("form.confirm").get_by_role("button", name="Conferma e paga").click()  # still unlocked: no dialog
    expect(page.locator(".outcome")).to_contain_text(
        "Non è andato a buon fine. Il fornitore non è accreditato per questa categoria con questi crediti.", timeout=20_000)
    assert api.balance(from_address(sait)) == sait_before + 1_250
    # the browser's own console line for the node's 422 is the one expected; nothing else was logged
    assert len(resident.errors) == 1 and "status of 422" in resident.errors[0], resident.errors
    resident.errors.clear()

    # locked again, the wallet asks for the passphrase before signing; cancelling signs nothing
    page.locator(".wallet-head").get_by_role("button", name="Blocca").click()
    expect(page.locator(".wallet-head")).not_to_contain_text("sbloccato")
    page.locator("form.confirm").get_by_role("button", name="Conferma e paga").click()
    page.get_by_role("dialog").get_by_role("button", name="Annulla").click()
    expect(page.locator("form.confirm")).to_contain_text("Pagamento annullato: niente è stato firmato.")

    # the history: names and dates, not addresses and heights
    page.get_by_role("link", name="Movimenti").first.click()
    first = page.locator("li.movement").first
    expect(first).to_contain_text("Hai pagato SAIT cooperativa")
    expect(first).to_contain_text("−12,50")
    expect(first).to_contain_text("alimentari · ordine 42 / pane")
    expect(first).to_contain_text(re.compile(r"\d{1,2} [a-z]{3} \d{4}"))  # "6 dic 2026, 12:05"
    history = page.locator("ul.history").inner_text()
    assert sait not in history and str(status["height"]) not in history.split()
    expect(page.locator("li.movement")).to_have_count(3)  # the refused payment never reached a block
    expect(page.locator("li.movement").nth(1)).to_contain_text("Crediti dall'emittente")
    expect(page.locator("li.movement").nth(2)).to_contain_text("Hai ricevuto da " + address_of(demo, "marco")[:8])
    assert_accessible(page)
    screenshot(page, "wallet-history-phone")

    # a payment request to this wallet: Python reads the same address and amount back
    page.get_by_role("link", name="Ricevi").click()
    page.get_by_label("Crediti").select_option(DEMO_CLASS)
    page.get_by_label("Importo (facoltativo)").fill("3,20")
    page.get_by_label("Riferimento (facoltativo)").fill("caffè & cornetto")
    page.get_by_role("button", name="Crea la richiesta").click()
    request = parse_request(page.get_by_label("Testo della richiesta").input_value())
    assert request == PaymentRequest(address, demo.devnet.chain_id, DEMO_CLASS, 320, "caffè & cornetto", None)
    expect(page.get_by_role("img", name="Codice QR della richiesta di pagamento")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "wallet-receive-phone")

    # the key file, exported: Python's keystore opens it; nothing secret ever left the page
    key_file = export_key_file(page)
    seed = key_file_seed(key_file, address)
    never_sent(resident, *seed_forms(seed), PASSPHRASE.encode(), FILE_PASSWORD.encode())

    # the same person's computer: the key file imported in another browser gives the same wallet
    computer = person(browser, viewport=DESKTOP)
    try:
        desk = computer.page()
        desk.goto(demo.url + "/")
        import_key_file(desk, key_file, FILE_PASSWORD, "dal telefono")
        expect(desk.locator("#wallet-address")).to_have_text(address, timeout=KDF_TIMEOUT)
        expect(balance_card(desk, DEMO_CLASS).locator(".amount")).to_have_text("137,50")
        assert_accessible(desk)
        screenshot(desk, "wallet-home-desktop")
        desk.get_by_role("link", name="Paga", exact=True).first.click()
        desk.get_by_label("Richiesta di pagamento").fill(uri)
        desk.get_by_role("button", name="Continua").click()
        expect(desk.locator("form.confirm")).to_contain_text("12,50")
        screenshot(desk, "wallet-pay-desktop")

        # a transfer to a person by address: marco gets exactly 10.00 on the node
        marco = from_address(address_of(demo, "marco"))
        marco_before = api.balance(marco)
        desk.get_by_role("link", name="Invia").click()
        expect(desk.get_by_label("Crediti")).to_contain_text("Demo euro credits: ne hai 137,50")
        expect(desk.locator("main")).to_contain_text("Buono estate (demo)")  # p2p: it may be sent too
        desk.get_by_label("Indirizzo di chi riceve").fill(address_of(demo, "marco"))
        desk.get_by_label("Crediti").select_option(DEMO_CLASS)
        desk.get_by_label("Importo").fill("10")
        desk.get_by_label("Causale (facoltativa)").fill("grazie")
        desk.get_by_label("Chiama questo destinatario (facoltativo)").fill("Marco")
        desk.get_by_role("button", name="Continua").click()
        expect(desk.locator("form.confirm")).to_contain_text("10,00 Demo euro credits")
        assert_accessible(desk)
        screenshot(desk, "wallet-send-desktop")
        desk.get_by_role("button", name="Conferma e invia").click()
        unlock_dialog(desk, PASSPHRASE)
        expect(desk.locator(".outcome")).to_contain_text("Inviato: 10,00 Demo euro credits a Marco.", timeout=40_000)
        assert api.balance(marco) == marco_before + 1_000
        never_sent(computer, *seed_forms(seed), PASSPHRASE.encode(), FILE_PASSWORD.encode())
    finally:
        computer.context.close()
    assert not computer.errors, "the page logged errors:\n" + "\n".join(computer.errors)


def export_key_file(page: Page) -> Path:
    page.get_by_role("link", name="Chiavi").click()
    expect(page.locator("h1")).to_have_text("Le tue chiavi")
    page.get_by_text("Esporta il file di chiave").first.click()
    page.locator("#export-passphrase-0").fill("sbagliata del tutto")
    page.locator("#export-file-password-0-1").fill(FILE_PASSWORD)
    page.locator("#export-file-password-0-2").fill(FILE_PASSWORD)
    page.get_by_role("button", name="Prepara il file").click()
    expect(page.get_by_role("alert")).to_have_text("Frase segreta sbagliata.", timeout=KDF_TIMEOUT)
    page.locator("#export-passphrase-0").fill(PASSPHRASE)
    page.locator("#export-file-password-0-1").fill(FILE_PASSWORD)
    page.locator("#export-file-password-0-2").fill(FILE_PASSWORD)
    page.get_by_role("button", name="Prepara il file").click()
    link = page.get_by_role("link", name=re.compile(r"^Scarica "))
    expect(link).to_be_visible(timeout=KDF_TIMEOUT)
    assert_accessible(page)
    screenshot(page, "wallet-keys-phone")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "personale.json"
    saved = Path(download.value.path())
    copy = saved.with_name("personale.json")  # the CLI's wallet names a key file after its label
    copy.write_bytes(saved.read_bytes())
    copy.chmod(0o600)
    return copy


def key_file_seed(path: Path, address: str) -> bytes:
    """Open an exported key file as the CLI does (FORMAT.md §22.1): it must hold the page's key."""
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == "incoop-keystore-1" and document["address"] == address
    key = read_key_file(path, FILE_PASSWORD)
    assert to_address(key.pubkey) == address
    return key.seed


def import_key_file(page: Page, path: Path, password: str, label: str) -> None:
    """From the welcome page (Italian): the file, its password, a name and a new passphrase twice."""
    page.get_by_role("link", name="Importa un file di chiave").click()
    expect(page.locator("h1")).to_have_text("Importa un file di chiave")
    page.get_by_label("File di chiave").set_input_files(str(path))
    page.get_by_label("Password del file").fill(password)
    page.get_by_label("Nome del borsellino").fill(label)
    page.locator("#import-passphrase-1").fill(PASSPHRASE)
    page.locator("#import-passphrase-2").fill(PASSPHRASE)
    assert_accessible(page)
    page.get_by_role("button", name="Importa").click()


def test_a_cli_key_file_opens_the_same_wallet_in_english(demo: Demo, browser: Browser) -> None:
    """anna's key file from the devnet's wallet (made by the CLI): a wrong password is refused; the right
    one opens her wallet, whose welfare credits show their rules and amounts the English way. luca's
    key is imported beside it, and the person switches back to anna's."""
    english = person(browser, language="en-GB")
    try:
        page = english.page()
        page.goto(demo.url + "/")
        expect(page.locator("h1")).to_have_text("Your wallet")
        page.get_by_role("link", name="Import a key file").click()
        page.get_by_label("Key file").set_input_files(str(demo.devnet.layout.wallet_dir / "anna.json"))
        page.get_by_label("The file's password").fill("not the password")
        page.get_by_label("Wallet name").fill("anna")
        page.locator("#import-passphrase-1").fill(PASSPHRASE)
        page.locator("#import-passphrase-2").fill(PASSPHRASE)
        page.get_by_role("button", name="Import").click()
        expect(page.get_by_role("alert")).to_contain_text("Wrong password for the file", timeout=KDF_TIMEOUT)
        page.get_by_label("The file's password").fill(DEVNET_PASSWORD)
        page.get_by_role("button", name="Import").click()
        expect(page.locator("#wallet-address")).to_have_text(address_of(demo, "anna"), timeout=KDF_TIMEOUT)
        expect(balance_card(page, DEMO_CLASS).locator(".amount")).to_have_text("1,000.00")
        welfare = balance_card(page, "welfare-acme-2026")
        expect(welfare.locator(".amount")).to_have_text("491.60")  # 500.00 less the demo's two loaves of bread
        expect(welfare).to_contain_text("Spent only at accredited providers for education, food and health.")
        expect(welfare).to_contain_text("Only for those who are: employee of acme.")
        expect(welfare).to_contain_text("Valid until")
        expect(welfare.locator(".verified")).to_contain_text("verified", timeout=20_000)
        assert_accessible(page)
        page.get_by_role("link", name="History").click()
        expect(page.locator("ul.history")).to_contain_text("Order confirmed")
        assert_accessible(page)

        # a second key beside the first; switching between them
        page.get_by_role("link", name="Keys").click()
        page.get_by_role("link", name="Import a key file").click()
        page.get_by_label("Key file").set_input_files(str(demo.devnet.layout.wallet_dir / "luca.json"))
        page.get_by_label("The file's password").fill(DEVNET_PASSWORD)
        page.get_by_label("Wallet name").fill("luca")
        page.locator("#import-passphrase-1").fill(PASSPHRASE)
        page.locator("#import-passphrase-2").fill(PASSPHRASE)
        page.get_by_role("button", name="Import").click()
        expect(page.locator("#wallet-address")).to_have_text(address_of(demo, "luca"), timeout=KDF_TIMEOUT)
        page.get_by_role("link", name="Keys").click()
        expect(page.locator(".key-item")).to_have_count(2)
        expect(page.locator(".key-item", has_text="luca")).to_contain_text("in use")
        page.locator(".key-item", has_text="anna").get_by_role("button", name="Use this wallet").click()
        expect(page.locator("#wallet-address")).to_have_text(address_of(demo, "anna"))
        expect(page.locator(".wallet-who")).to_contain_text("Wallet “anna”")
        never_sent(english, *seed_forms(demo.devnet.keys["anna"].seed), *seed_forms(demo.devnet.keys["luca"].seed),
                   PASSPHRASE.encode(), DEVNET_PASSWORD.encode())
    finally:
        english.context.close()
    assert not english.errors, "the page logged errors:\n" + "\n".join(english.errors)


def write_y4m(path: Path, text: str, width: int = 640, height: int = 480) -> Path:
    """A video file of `text`'s QR code (FORMAT.md §20.4, drawn by segno) for chromium's fake camera."""
    rows = list(segno.make(text, error="m", micro=False).matrix_iter(scale=1, border=4))
    scale = min(width, height) * 9 // 10 // len(rows)
    luma = bytearray(b"\xeb" * (width * height))
    left, top = (width - len(rows) * scale) // 2, (height - len(rows) * scale) // 2
    for r, row in enumerate(rows):
        for c, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    start = (top + r * scale + dy) * width + left + c * scale
                    luma[start:start + scale] = b"\x10" * scale
    frame = b"FRAME\n" + bytes(luma) + b"\x80" * (width * height // 2)
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * 2)
    return path


def test_the_pay_page_reads_a_request_with_the_camera(demo: Demo, browser: Browser, tmp_path: Path) -> None:
    """A phone whose camera films the pharmacy's QR code: the pay page reads the request from it."""
    farmacia = address_of(demo, "farmacia")
    uri = format_request(PaymentRequest(farmacia, demo.devnet.chain_id, DEMO_CLASS, 500, "pressione", "health"))
    video = write_y4m(tmp_path / "request.y4m", uri)
    camera = browser.browser_type.launch(executable_path=chromium_path(), args=[
        *CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    try:
        phone = person(camera)
        scanning = phone.page()
        scanning.goto(demo.url + "/")
        create_wallet(scanning, "con fotocamera")
        scanning.goto(demo.url + "/#/wallet/pay")
        scanning.get_by_role("button", name="Inquadra il codice QR").click()
        check = scanning.locator("form.confirm")
        expect(check).to_contain_text("5,00", timeout=20_000)
        expect(check).to_contain_text("salute")
        expect(check).to_contain_text("pressione")
        expect(check).to_contain_text(farmacia)
        expect(scanning.get_by_label("Richiesta di pagamento")).to_have_value(uri)
        expect(scanning.locator("video")).to_be_hidden()  # the camera is released once the code is read
        assert not phone.errors, "the page logged errors:\n" + "\n".join(phone.errors)
    finally:
        camera.close()
