"""The demo federation's first day, played through the API once the devnet's nodes are up.

Genesis can hold classes and balances but not identities, attestations or
accreditations: those only come by signed transactions, as on a real chain.
So on its first run `incoop devnet` registers twelve residents, the
purchase group and the four providers at the federation (records in node 0's
vault), has the comune attest their residence, ACME its employees and the
federation the purchase group's members, accredits four providers for their
categories, and issues welfare, virtue and purchase-group credits. Then the
marketplace opens: the providers publish listings priced in the classes they
are accredited for, the purchase group opens a pooled order of apples on
terms SAIT signed and two members join it, anna buys bread with her welfare
credits, confirms and reviews it, and giulia disputes a language course the
arbiter has yet to decide. In the agora the federation opens its assembly
and the comune's consulta (residents of trento); giulia proposes a bicycle
rack, luca and she discuss it, three residents support it, and the comune
opens a ballot that stays open for two weeks (sara and paolo have voted);
SAIT proposes common pick-up hours in the federation's assembly. The
comune then opens a participatory budget of 5000.00 demo-eur in the
consulta (granted by the federation, which issues demo-eur): the rack,
luca's community gardens and sara's fountain are its projects, asking 5500.00
together, and sara, paolo and elena have selected projects; it stays open
two weeks. Every post's text goes to node 0 with its transaction and the
nodes share it.
Everything goes through the same transactions and vault calls a registrar,
issuer, provider or resident would use.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from identity.taxcode import codice_fiscale_check_char, partita_iva_check_digit, uniqueness_tag
from keys.keystore import Keystore
from ledger.address import to_address
from ledger.crypto import SigningKey
from ledger.tx import Tx, sign_tx
from market.groups_terms import sign_terms
from node.devnet_layout import (
    ARBITER,
    DEMO_CLASS,
    DEMO_PEOPLE,
    DEMO_PROVIDERS,
    DEMO_RESIDENTS,
    DEVNET_PASSWORD,
    GROUP_CLASS,
    UNIQUENESS_SECRET,
    VIRTUE_CLASS,
    WELFARE_CLASS,
    DevnetLayout,
)
from wallet.client import NodeClient

SEEDED_MARKER = "seeded"
EXPIRY_WINDOW = 1000  # blocks, as a wallet signs: within a node's expiry horizon (docs/admission.md)
EMPLOYEES = ("anna", "marco", "giulia", "luca")
GROUP_MEMBERS = ("sara", "paolo", "elena", "davide")
VIRTUOUS = ("sara", "paolo", "elena", "davide", "chiara")
DAY_MS = 86_400_000
ORGANISATIONS = {  # wallet key: (kind, the first ten digits of its partita IVA or numeric codice fiscale)
    "gas": ("association", "9600001022"),  # organises pooled purchases, which only an organisation may do
    "sait": ("cooperative", "0010001022"),
    "farmacia": ("institution", "0020002022"),
    "libreria": ("cooperative", "0030003022"),
    "trasporti": ("company", "0040004022"),
}
"""The organisations the federation registers: the purchase group and the providers (a key signs only
once the chain knows it; an organisation's identity is how the chain knows a provider)."""


def organisation_record(label: str, name: str) -> dict:
    kind, digits = ORGANISATIONS[label]
    return {"kind": kind, "name": name, "tax_code": digits + partita_iva_check_digit(digits),
            "address": "Via Brennero 1, 38121 Trento"}


class SeedError(RuntimeError):
    pass


def is_seeded(layout: DevnetLayout) -> bool:
    return (layout.home / SEEDED_MARKER).exists()


def demo_tax_code(index: int, name: str) -> str:
    """A well-formed, fictitious codice fiscale (surname DMO, born in Trento in January 198x)."""
    first15 = f"DMO{(name.upper() + 'XXX')[:3]}8{index % 10}A{10 + index:02d}L378"
    return first15 + codice_fiscale_check_char(first15)


def seed_demo(layout: DevnetLayout, progress: Callable[[str], None] = lambda _: None) -> dict[str, str]:
    """Play the demo's first day; returns each resident's identity id (hex)."""
    wallet = Keystore(layout.wallet_dir)
    labels = ("federation", "comune", "acme", "gas", ARBITER, *DEMO_RESIDENTS, *DEMO_PEOPLE, *DEMO_PROVIDERS)
    keys = {label: wallet.unlock(label, DEVNET_PASSWORD) for label in labels}
    chain_id = layout.genesis.chain_id
    api = NodeClient(layout.api_urls[0], timeout=30)
    secret = Path(layout.home / UNIQUENESS_SECRET).read_bytes().strip()
    signer = _Signers(api, keys, chain_id)

    progress("registering twelve residents, the purchase group and four providers at the federation (records in node 0's vault)")
    vault = NodeClient(layout.api_urls[0], timeout=30, signer=keys["federation"], chain_id=chain_id)
    residents = (*DEMO_RESIDENTS, *DEMO_PEOPLE)
    records = {name: {"kind": "person", "name": f"{name.capitalize()} Demo", "tax_code": demo_tax_code(index, name),
                      "address": "Piazza Duomo 1, 38122 Trento"} for index, name in enumerate(residents)}
    records["gas"] = organisation_record("gas", "Gruppo d'acquisto solidale Trento (demo)")
    records.update({label: organisation_record(label, name) for label, (name, _) in DEMO_PROVIDERS.items()})
    ids = {}
    for name, record in records.items():
        identity_id = os.urandom(16)
        commitment = bytes.fromhex(vault.vault_store(identity_id, record)["commitment"])
        ids[name] = identity_id
        signer.add("federation", "identity.register", (identity_id, record["kind"],
                   uniqueness_tag(secret, record["tax_code"]), commitment, (keys[name].pubkey,)))
    signer.commit()

    progress("attesting residence, employment and purchase-group membership; accrediting providers")
    for name in residents:
        signer.add("comune", "attest.issue", (ids[name], "resident:trento", 0))
    for name in EMPLOYEES:
        signer.add("acme", "attest.issue", (ids[name], "employee:acme", 0))
    for name in GROUP_MEMBERS:
        signer.add("federation", "attest.issue", (ids[name], "member:gas-trento", 0))
    for label, (_, categories) in DEMO_PROVIDERS.items():
        signer.add("federation", "credits.accredit", (keys[label].pubkey, tuple(categories)))
    signer.commit()

    progress("issuing welfare, virtue and purchase-group credits")
    for name in EMPLOYEES:
        signer.add("acme", "credits.issue", (WELFARE_CLASS, keys[name].pubkey, 50_000, "welfare plan 2026"))
    for name in VIRTUOUS:
        signer.add("comune", "credits.issue", (VIRTUE_CLASS, keys[name].pubkey, 2_000, "volunteering"))
    for name in GROUP_MEMBERS:
        signer.add("gas", "credits.issue", (GROUP_CLASS, keys[name].pubkey, 5_000, "monthly order"))
    signer.commit()
    seed_market(signer, progress)
    seed_agora(signer, progress)
    (layout.home / SEEDED_MARKER).write_text("".join(f"{n} {i.hex()}\n" for n, i in ids.items()), encoding="utf-8")
    return {name: identity_id.hex() for name, identity_id in ids.items()}


# --- the marketplace's first day -----------------------------------------------------------------------

# Each provider's listings, priced in the classes it is accredited for (the federation accredits every
# provider for its categories; a class pays only for its own categories): (key, title, description,
# category, {class: unit price}, units in stock or None for a service, delivery, return window in days).
LISTINGS = (
    ("sait", "Pane di montagna, 1 kg", "Baked this morning with flour from the Val di Non.", "food",
     {WELFARE_CLASS: 420, GROUP_CLASS: 400, DEMO_CLASS: 420}, 200, "pickup", 14),
    ("sait", "Mele della Val di Non, cassa da 5 kg", "Golden Delicious, this autumn's harvest.", "food",
     {GROUP_CLASS: 1_200, DEMO_CLASS: 1_250}, 500, "delivery", 14),
    ("sait", "Detersivo ecologico, 3 l", "Refillable; bring the can back.", "household",
     {DEMO_CLASS: 890}, 80, "pickup", 30),
    ("farmacia", "Misurazione della pressione", "Ten minutes, by appointment.", "health",
     {WELFARE_CLASS: 500, DEMO_CLASS: 500}, None, "appointment", 7),
    ("farmacia", "Crema solare SPF 50, 200 ml", "", "health",
     {WELFARE_CLASS: 1_490, DEMO_CLASS: 1_490}, 40, "pickup", 30),
    ("libreria", "Il sentiero dei nidi di ragno (Calvino)", "Paperback.", "culture",
     {VIRTUE_CLASS: 1_200, DEMO_CLASS: 1_200}, 12, "pickup", 30),
    ("libreria", "Corso di italiano, 10 lezioni", "Tuesday and Thursday evenings, in the library.", "education",
     {WELFARE_CLASS: 15_000, DEMO_CLASS: 15_000}, None, "appointment", 60),
    ("trasporti", "Abbonamento urbano Trento, un mese", "Every urban bus line, 30 days from first use.",
     "transport", {VIRTUE_CLASS: 2_000, DEMO_CLASS: 2_900}, None, "pickup", 7),
)
BREAD, APPLES, COURSE = 0, 1, 6  # the listings the demo's orders and purchase group use
GROUP_TIERS = ((20, 1_100), (50, 1_000), (80, 900))  # 11.00 from 20 crates, 10.00 from 50, 9.00 from 80
GROUP_DAYS = 14
GROUP_MAX = 100


def seed_market(signer: _Signers, progress: Callable[[str], None]) -> None:
    """Listings, an open purchase group with two members, a completed and reviewed order, an order in dispute."""
    keys = signer.keys
    arbiter = keys[ARBITER].pubkey
    progress("the providers publish their listings; the purchase group opens on SAIT's apples")
    listing_ids = []
    for provider, title, description, category, prices, quantity, delivery, days in LISTINGS:
        listing_id = os.urandom(16)
        listing_ids.append(listing_id)
        signer.add(provider, "market.list", (listing_id, title, description, None, category,
                                             tuple(sorted(prices.items())), quantity, delivery, 0, 0, days * DAY_MS,
                                             arbiter))
    signer.commit()
    bread, course, group = os.urandom(16), os.urandom(16), os.urandom(16)
    deadline = int(signer.api.status()["block_time_ms"]) + GROUP_DAYS * DAY_MS
    terms = (listing_ids[APPLES], GROUP_CLASS, GROUP_TIERS[0][0], GROUP_MAX, deadline, GROUP_TIERS)
    signature = sign_terms(keys["sait"], signer.chain_id, group, keys["gas"].pubkey, *terms)  # SAIT agreed them
    signer.add("gas", "gas.open", (group, *terms, signature))
    signer.add("anna", "market.order", (bread, listing_ids[BREAD], WELFARE_CLASS, 2))
    signer.add("giulia", "market.order", (course, listing_ids[COURSE], WELFARE_CLASS, 1))
    signer.commit()
    progress("orders: anna's bread is delivered and reviewed, giulia's course is disputed; two members join the group")
    signer.add("sait", "market.accept", (bread,))
    signer.add("libreria", "market.accept", (course,))
    signer.add("sara", "gas.join", (group, 3))
    signer.add("paolo", "gas.join", (group, 2))
    signer.commit()
    signer.add("anna", "market.confirm", (bread,))
    signer.add("giulia", "market.dispute", (course, "Only six of the ten lessons were held."))
    signer.commit()
    signer.add("anna", "market.review", (bread, 5, "Still warm at eight in the morning."))
    signer.commit()


# --- the agora's first day ------------------------------------------------------------------------------

TOWN_SPACE = "Consulta di Trento"
FEDERATION_SPACE = "Assemblea della federazione"
RACK = "Una rastrelliera per biciclette davanti alla biblioteca comunale, con dieci posti coperti."
RACK_COMMENTS = (
    ("luca", "Sì, ma meglio sul lato di via Roma: davanti all'ingresso passano i furgoni."),
    ("giulia", "Buona idea, ho chiesto alla biblioteca: il lato di via Roma va bene anche a loro."),
)
PICKUP_HOURS = "Orari comuni per i punti di ritiro dei gruppi d'acquisto: il sabato dalle 9 alle 12."
BALLOT_DAYS = 14
GARDENS = "Orti comuni al parco di Melta: venti parcelle per chi abita in città, con un punto acqua."
FOUNTAIN = "Una fontanella di acqua potabile in piazza Duomo."
BUDGET_AMOUNT = 500_000  # 5000.00 demo-eur
BUDGET_SUBMIT_MS = 8_000
"""The demo budget takes projects for a few blocks, then selections for two weeks (FORMAT.md §6.7.1)."""


def seed_agora(signer: _Signers, progress: Callable[[str], None]) -> None:
    """Two spaces, a proposal with a thread and supports under an open ballot, a proposal in the assembly."""
    keys = signer.keys
    progress("the agora: the federation's assembly and the comune's consulta; a proposal, its thread, an open ballot")
    federation_space, town_space = os.urandom(16), os.urandom(16)
    signer.add("federation", "agora.space", (federation_space, FEDERATION_SPACE, "", (keys["federation"].pubkey,),
                                             0, 30 * DAY_MS, 200, 500))
    signer.add("federation", "agora.space", (town_space, TOWN_SPACE, "resident:trento", (keys["comune"].pubkey,),
                                             3, 30 * DAY_MS, 200, 500))
    signer.commit()
    rack, hours = os.urandom(16), os.urandom(16)
    signer.post("giulia", "agora.propose", (rack, town_space), RACK)
    signer.post("sait", "agora.propose", (hours, federation_space), PICKUP_HOURS)
    signer.commit()
    parent = rack
    for who, text in RACK_COMMENTS:  # a reply, then a reply to the reply
        comment = os.urandom(16)
        signer.post(who, "agora.comment", (comment, parent), text)
        signer.commit()
        parent = comment
    for who in ("sara", "paolo", "elena"):
        signer.add(who, "agora.support", (rack,))
    signer.commit()
    now = int(signer.api.status()["block_time_ms"])
    signer.add("comune", "agora.ballot", (os.urandom(16), rack, ("sì", "no", "astensione"), now,
                                          now + BALLOT_DAYS * DAY_MS, 0))
    signer.commit()
    ballot = signer.api.agora_post(rack)["post"]["ballot"]
    signer.add("sara", "agora.vote", (bytes.fromhex(ballot), 0))
    signer.add("paolo", "agora.vote", (bytes.fromhex(ballot), 1))
    signer.commit()
    seed_budget(signer, progress, town_space, rack)


def seed_budget(signer: _Signers, progress: Callable[[str], None], town_space: bytes, rack: bytes) -> None:
    """The consulta's participatory budget: three projects asking more than it holds, three selections.

    demo-eur is the demo class that moves between people (the others are spend-only), so the budget is in
    it: the federation, its issuer, grants the comune the amount, and the comune (the consulta's moderator)
    locks it in the budget's fund."""
    keys = signer.keys
    progress("a participatory budget in the consulta: three projects, sara, paolo and elena select")
    gardens, fountain, budget = os.urandom(16), os.urandom(16), os.urandom(16)
    signer.add("federation", "credits.issue", (DEMO_CLASS, keys["comune"].pubkey, BUDGET_AMOUNT,
                                               "bilancio partecipativo della consulta"))
    signer.post("luca", "agora.propose", (gardens, town_space), GARDENS)
    signer.post("sara", "agora.propose", (fountain, town_space), FOUNTAIN)
    signer.commit()
    now = int(signer.api.status()["block_time_ms"])
    submit_until = now + BUDGET_SUBMIT_MS
    signer.add("comune", "agora.budget", (budget, town_space, DEMO_CLASS, BUDGET_AMOUNT, submit_until,
                                          now + BALLOT_DAYS * DAY_MS))
    signer.commit()
    signer.add("giulia", "agora.project", (budget, rack, keys["giulia"].pubkey, 180_000))
    signer.add("luca", "agora.project", (budget, gardens, keys["luca"].pubkey, 250_000))
    signer.add("sara", "agora.project", (budget, fountain, keys["sara"].pubkey, 120_000))
    signer.commit()
    deadline = time.monotonic() + 60
    while int(signer.api.status()["block_time_ms"]) < submit_until:  # selections start when submissions end
        if time.monotonic() > deadline:
            raise SeedError("the demo budget's submissions did not close within a minute")
        time.sleep(0.2)
    signer.add("sara", "agora.select", (budget, tuple(sorted((rack, fountain)))))
    signer.add("paolo", "agora.select", (budget, tuple(sorted((gardens, fountain)))))
    signer.add("elena", "agora.select", (budget, (gardens,)))
    signer.commit()


class _Signers:
    """Collects transactions per signer with consecutive nonces, submits them in one batch, waits for all."""

    def __init__(self, api: NodeClient, keys: dict[str, SigningKey], chain_id: str):
        self.api = api
        self.keys = keys
        self.chain_id = chain_id
        self.nonces: dict[str, int] = {}
        self.pending: list[Tx] = []
        self.texts: dict[bytes, tuple[bytes, str]] = {}  # tx hash -> (post id, text): the agora's posts
        self.expiry = int(api.status()["height"]) + EXPIRY_WINDOW

    def add(self, label: str, type_: str, body: tuple) -> None:
        key = self.keys[label]
        if label not in self.nonces:
            self.nonces[label] = int(self.api.account(to_address(key.pubkey))["pending_nonce"])
        self.pending.append(sign_tx(key, self.chain_id, type_, self.nonces[label], self.expiry, body))
        self.nonces[label] += 1

    def post(self, label: str, type_: str, head: tuple, text: str) -> None:
        """An agora post: `head` is the body without its text_hash; the text goes to the node with the tx."""
        self.add(label, type_, (*head, hashlib.sha256(text.encode("utf-8")).digest()))
        self.texts[self.pending[-1].hash] = (head[0], text)

    def commit(self) -> None:
        txs, self.pending = self.pending, []
        for item, tx in zip(self.api.submit_batch([tx.raw for tx in txs]), txs, strict=True):
            if "error" in item:
                raise SeedError(f"{tx.type} refused: {item['error']['code']}: {item['error']['message']}")
        for tx in txs:
            if tx.hash in self.texts:
                post_id, text = self.texts.pop(tx.hash)
                self.api.agora_text(post_id, text, tx.raw)
        for tx in txs:
            record = self.api.wait_for_tx(tx.hash, timeout=60)
            code = (record.get("result") or record.get("error") or {}).get("code")
            if code != "OK":
                raise SeedError(f"{tx.type} failed: {code}")
