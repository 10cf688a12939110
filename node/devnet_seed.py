"""The demo federation's first day, played through the API once the devnet's nodes are up.

Genesis can hold classes and balances but not identities, attestations or
accreditations: those only come by signed transactions, as on a real chain.
So on its first run `incoop devnet` registers twelve residents at the
federation (records in node 0's vault), has the comune attest their
residence, ACME its employees and the federation the purchase group's
members, accredits four providers for their categories, and issues welfare,
virtue and purchase-group credits. Everything goes through the same
transactions and vault calls a registrar or issuer would use.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from identity.taxcode import codice_fiscale_check_char, uniqueness_tag
from keys.keystore import Keystore
from ledger.address import to_address
from ledger.crypto import SigningKey
from ledger.tx import Tx, sign_tx
from node.devnet_layout import (
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
    labels = ("federation", "comune", "acme", "gas", *DEMO_RESIDENTS, *DEMO_PEOPLE, *DEMO_PROVIDERS)
    keys = {label: wallet.unlock(label, DEVNET_PASSWORD) for label in labels}
    chain_id = layout.genesis.chain_id
    api = NodeClient(layout.api_urls[0], timeout=30)
    secret = Path(layout.home / UNIQUENESS_SECRET).read_bytes().strip()
    signer = _Signers(api, keys, chain_id)

    progress("registering twelve residents at the federation (records in node 0's vault)")
    vault = NodeClient(layout.api_urls[0], timeout=30, signer=keys["federation"], chain_id=chain_id)
    residents = (*DEMO_RESIDENTS, *DEMO_PEOPLE)
    ids = {}
    for index, name in enumerate(residents):
        tax_code = demo_tax_code(index, name)
        record = {"kind": "person", "name": f"{name.capitalize()} Demo", "tax_code": tax_code,
                  "address": "Piazza Duomo 1, 38122 Trento"}
        identity_id = os.urandom(16)
        commitment = bytes.fromhex(vault.vault_store(identity_id, record)["commitment"])
        ids[name] = identity_id
        signer.add("federation", "identity.register",
                   (identity_id, "person", uniqueness_tag(secret, tax_code), commitment, (keys[name].pubkey,)))
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
    (layout.home / SEEDED_MARKER).write_text("".join(f"{n} {i.hex()}\n" for n, i in ids.items()), encoding="utf-8")
    return {name: identity_id.hex() for name, identity_id in ids.items()}


class _Signers:
    """Collects transactions per signer with consecutive nonces, submits them in one batch, waits for all."""

    def __init__(self, api: NodeClient, keys: dict[str, SigningKey], chain_id: str):
        self.api = api
        self.keys = keys
        self.chain_id = chain_id
        self.nonces: dict[str, int] = {}
        self.pending: list[Tx] = []
        self.expiry = int(api.status()["height"]) + EXPIRY_WINDOW

    def add(self, label: str, type_: str, body: tuple) -> None:
        key = self.keys[label]
        if label not in self.nonces:
            self.nonces[label] = int(self.api.account(to_address(key.pubkey))["pending_nonce"])
        self.pending.append(sign_tx(key, self.chain_id, type_, self.nonces[label], self.expiry, body))
        self.nonces[label] += 1

    def commit(self) -> None:
        txs, self.pending = self.pending, []
        for item, tx in zip(self.api.submit_batch([tx.raw for tx in txs]), txs, strict=True):
            if "error" in item:
                raise SeedError(f"{tx.type} refused: {item['error']['code']}: {item['error']['message']}")
        for tx in txs:
            record = self.api.wait_for_tx(tx.hash, timeout=60)
            code = (record.get("result") or record.get("error") or {}).get("code")
            if code != "OK":
                raise SeedError(f"{tx.type} failed: {code}")
