"""Devnet layouts: a whole local federation on one machine, with demo data.

    HOME/genesis.json           the chain's genesis
    HOME/devnet.json            what was generated (validators, ports), for `incoop devnet`
    HOME/nodes/nodeI/           one node home per validator (node.config layout)
    HOME/nodes/observerJ/       one node home per observer (non-voting, registered in genesis)
    HOME/wallet/                demo wallet keys: federation (issuer, registrar, attester of member:*),
                                comune (registrar, attester of resident:* and age:*), acme (attester of
                                employee:acme), arbitro (the marketplace's arbiter), anna, marco
    HOME/registrars/uniqueness.secret   the registrars' shared secret for uniqueness tags (demo only)

Node 0 keeps the federation's vault of personal records, node 1 (if any) the comune's.

Every key is encrypted at rest. The demo wallet's password is public by
design (DEVNET_PASSWORD): a devnet holds nothing of value. The nodes' are not:
each node home gets its own generated passwords in node_key.pass (and, on a
vault node, vault_key.pass for its vault key, made here too), mode 0600, as
`incoop node init --generate-passwords` makes them, because a node refuses
short or exposed password files (docs/keys.md). Node and vault keys use the
wallet's Argon2id setting (WALLET_KDF, 64 MiB), not a real node's (NODE_KDF,
256 MiB): each password sits next to its key in the same home, so the costlier
setting would protect nothing and only slow every start of a local federation
(a caller may pass another `node_kdf`; the functional tests pass a weaker one
still, to start dozens of nodes quickly). The demo wallet's keys use the
wallet setting too, under a password that is public anyway; a caller may pass
another `wallet_kdf` (the functional tests do: each devnet they write would
otherwise spend two seconds deriving keys for five wallet entries, and every
`incoop` call of theirs that signs would spend a fifth of a second more).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from genesis.document import Genesis, load_genesis, modules_json, parse_genesis
from identity.vault import create_vault_key
from keys.keystore import (
    MIN_NODE_PASSWORD,
    WALLET_KDF,
    KdfCost,
    Keystore,
    KeystoreError,
    generate_password,
    read_password_file,
    write_key_file,
    write_password_file,
)
from ledger.address import to_address
from ledger.crypto import SigningKey
from node.config import ApiConfig, NodeConfig, VaultConfig, write_config

DEVNET_PASSWORD = "devnet"
DEVNET_CHAIN_ID = "incoop-devnet"
DEMO_CLASS = "demo-eur"
DEMO_RESIDENTS = ("anna", "marco")
ARBITER = "arbitro"
"""The demo's arbiter of marketplace disputes (genesis section `market.arbiters`)."""
UNIQUENESS_SECRET = Path("registrars") / "uniqueness.secret"
NODE_KEY_PASS = "node_key.pass"
VAULT_KEY_PASS = "vault_key.pass"
DEMO_BALANCE = 100_000  # 1000.00 demo-eur each
MAX_VALIDATORS = 64
MAX_OBSERVERS = 16


class DevnetError(ValueError):
    pass


@dataclass(frozen=True)
class DevnetLayout:
    home: Path
    node_homes: list[Path]  # validators first, then observers
    wallet_dir: Path
    genesis: Genesis
    api_urls: list[str]
    validators: int = 1

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.node_homes]


def api_port(base_port: int, index: int) -> int:
    return base_port + 2 * index


def p2p_port(base_port: int, index: int) -> int:
    return base_port + 2 * index + 1


def create_devnet(
    home: Path,
    validators: int = 4,
    base_port: int = 8700,
    demo: bool = True,
    block_interval_ms: int = 200,
    heartbeat_ms: int = 5_000,
    observers: int = 0,
    params: dict | None = None,
    demo_federation: bool = False,
    funded: Sequence[bytes] = (),
    funded_amount: int = DEMO_BALANCE,
    node_kdf: KdfCost = WALLET_KDF,
    wallet_kdf: KdfCost = WALLET_KDF,
    arbiters: Sequence[bytes] = (),
) -> DevnetLayout:
    """Write a fresh devnet under `home` (which must not hold one already); `params` override
    genesis chain parameters (e.g. a short recovery delay for tests); `funded` accounts get
    `funded_amount` demo credits each at genesis (the benchmarks' senders); `node_kdf` is the
    Argon2id setting of the node and vault keys, `wallet_kdf` that of the demo wallet's keys;
    `arbiters` are authorised in the genesis's market section (FORMAT.md §14), so that listings
    may name them (the market benchmark's)."""
    home = Path(home)
    if not 1 <= validators <= MAX_VALIDATORS:
        raise DevnetError(f"--validators {validators}: a devnet has 1 to {MAX_VALIDATORS} validators")
    if not 0 <= observers <= MAX_OBSERVERS:
        raise DevnetError(f"--observers {observers}: a devnet has 0 to {MAX_OBSERVERS} observers")
    nodes = validators + observers
    if not 1024 <= base_port <= 65535 - 2 * nodes:
        raise DevnetError(f"base port {base_port} is outside 1024..{65535 - 2 * nodes}")
    if funded and not demo:
        raise DevnetError("funded accounts need the demo credit class (demo=True)")
    if (home / "devnet.json").exists():
        raise DevnetError(f"{home} already holds a devnet (use --reset to start over)")
    home.mkdir(parents=True, exist_ok=True)
    wallet = Keystore(home / "wallet")

    node_keys = [SigningKey.generate() for _ in range(nodes)]
    names = [f"node{i}" for i in range(validators)] + [f"observer{j}" for j in range(observers)]
    doc: dict = {
        "chain_id": DEVNET_CHAIN_ID,
        "genesis_time_ms": int(time.time() * 1000),
        "modules": modules_json(),
        "validators": [
            {
                "name": f"node{i}",
                "pubkey": to_address(key.pubkey),
                "api": f"http://127.0.0.1:{api_port(base_port, i)}",
                "p2p": f"ws://127.0.0.1:{p2p_port(base_port, i)}",
            }
            for i, key in enumerate(node_keys[:validators])
        ],
        "observers": [
            {"name": names[i], "pubkey": to_address(key.pubkey), "p2p": f"ws://127.0.0.1:{p2p_port(base_port, i)}"}
            for i, key in enumerate(node_keys) if i >= validators
        ],
    }
    if params:
        doc["params"] = dict(params)
    vault_of: dict[int, str] = {}
    if demo:
        federation = wallet.create("federation", DEVNET_PASSWORD, kdf=wallet_kdf)
        comune = wallet.create("comune", DEVNET_PASSWORD, kdf=wallet_kdf)
        acme = wallet.create("acme", DEVNET_PASSWORD, kdf=wallet_kdf)
        arbitro = wallet.create(ARBITER, DEVNET_PASSWORD, kdf=wallet_kdf)
        residents = [wallet.create(name, DEVNET_PASSWORD, kdf=wallet_kdf) for name in DEMO_RESIDENTS]
        credits: dict = {"issuers": [{"name": "Federazione (demo)", "account": federation.address}]}
        doc["credits"] = credits
        doc["identity"] = {"registrars": [
            {"name": "Federazione (demo)", "account": federation.address},
            {"name": "Comune di Esempio (demo)", "account": comune.address},
        ]}
        doc["identity"]["attesters"] = [
            {"name": "Federazione (demo)", "account": federation.address, "attributes": ["member:*"]},
            {"name": "Comune di Esempio (demo)", "account": comune.address, "attributes": ["resident:*", "age:*"]},
            {"name": "ACME cooperativa (demo)", "account": acme.address, "attributes": ["employee:acme"]},
        ]
        # the marketplace's disputes are decided by an arbiter of their own, not by a party to the
        # federation's other roles (it issues, registers and accredits the providers it would judge)
        doc["market"] = {"arbiters": [{"name": "Camera arbitrale della federazione (demo)", "account": arbitro.address}]}
        # the agora's spaces are opened by the federation (FORMAT.md §6.7: an admin has no other power there)
        doc["agora"] = {"admins": [{"name": "Agora della federazione (demo)", "account": federation.address}]}
        vault_of = {0: federation.address, 1: comune.address}
        secret_path = home / UNIQUENESS_SECRET
        secret_path.parent.mkdir(parents=True, exist_ok=True)
        secret_path.write_text(os.urandom(32).hex() + "\n", encoding="utf-8")
        secret_path.chmod(0o600)
        credits["classes"] = [
            {"id": DEMO_CLASS, "name": "Demo euro credits", "issuer": federation.address, "decimals": 2}
        ]
        credits["balances"] = [
            {"account": r.address, "class": DEMO_CLASS, "amount": DEMO_BALANCE} for r in residents
        ]
        credits["balances"] += [
            {"account": to_address(account), "class": DEMO_CLASS, "amount": funded_amount} for account in funded
        ]
        if demo_federation:
            _add_demo_federation(credits, wallet, int(doc["genesis_time_ms"]), wallet_kdf)
    if arbiters:  # beside the demo's own arbiter, if any
        doc.setdefault("market", {"arbiters": []})["arbiters"] += [
            {"name": f"Bench arbiter {i}", "account": to_address(account)} for i, account in enumerate(arbiters)]
    genesis = parse_genesis(json.dumps(doc))
    (home / "genesis.json").write_text(genesis.to_json(), encoding="utf-8")

    node_homes = []
    for i, key in enumerate(node_keys):
        node_home = home / "nodes" / names[i]
        node_home.mkdir(parents=True, exist_ok=True)
        (node_home / "genesis.json").write_text(genesis.to_json(), encoding="utf-8")
        key_password = generate_password()
        write_password_file(node_home / NODE_KEY_PASS, key_password)
        write_key_file(node_home / "node_key.json", key, key_password, node_kdf)
        vault = VaultConfig()
        if i in vault_of and i < validators:
            vault = VaultConfig(enabled=True, registrar=vault_of[i], key_password_file=VAULT_KEY_PASS)
            vault_password = generate_password()
            write_password_file(node_home / VAULT_KEY_PASS, vault_password)
            create_vault_key(node_home / vault.dir, vault_password, node_kdf)
        write_config(
            node_home,
            NodeConfig(
                role="validator" if i < validators else "observer",
                key_password_file=NODE_KEY_PASS,
                api=ApiConfig(port=api_port(base_port, i)),
                p2p_port=p2p_port(base_port, i),
                block_interval_ms=block_interval_ms,
                heartbeat_ms=heartbeat_ms,
                log_file="node.log",  # rotated by the node itself (node/logs.py); stdout/stderr go to node.out
                vault=vault,
            ),
        )
        node_homes.append(node_home)

    api_urls = [f"http://127.0.0.1:{api_port(base_port, i)}" for i in range(nodes)]
    meta = {
        "validators": validators,
        "observers": observers,
        "base_port": base_port,
        "api_urls": api_urls,
        "chain_id": DEVNET_CHAIN_ID,
    }
    (home / "devnet.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return DevnetLayout(home, node_homes, home / "wallet", genesis, api_urls, validators)


# --- the believable federation `incoop devnet` shows (node/devnet_seed.py adds its identities) ---------

DEMO_PEOPLE = ("giulia", "luca", "sara", "paolo", "elena", "davide", "chiara", "matteo", "francesca", "stefano")
DEMO_PROVIDERS = {  # wallet key: (name, categories it is accredited for by the federation)
    "sait": ("SAIT consumer cooperative (demo)", ["food", "household"]),
    "farmacia": ("Farmacia comunale (demo)", ["health"]),
    "libreria": ("Libreria cooperativa (demo)", ["culture", "education"]),
    "trasporti": ("Trentino trasporti (demo)", ["transport"]),
}
YEAR_MS = 365 * 24 * 3600 * 1000
WELFARE_CLASS = "welfare-acme-2026"
VIRTUE_CLASS = "virtu-trento"
GROUP_CLASS = "gas-trento"


def _add_demo_federation(credits: dict, wallet: Keystore, genesis_time_ms: int, kdf: KdfCost = WALLET_KDF) -> None:
    """Ten more residents, four providers, a purchase group, and three credit classes with rules
    (added to the genesis's credits section)."""
    people = [wallet.create(name, DEVNET_PASSWORD, kdf=kdf) for name in DEMO_PEOPLE]
    for label in DEMO_PROVIDERS:
        wallet.create(label, DEVNET_PASSWORD, kdf=kdf)
    gas = wallet.create("gas", DEVNET_PASSWORD, kdf=kdf)
    address = {info.label: info.address for info in wallet.list()}
    credits["issuers"] += [
        {"name": "ACME cooperativa (demo)", "account": address["acme"]},
        {"name": "Comune di Esempio (demo)", "account": address["comune"]},
        {"name": "Gruppo d'acquisto solidale Trento (demo)", "account": gas.address},
    ]
    credits["classes"] += [
        {"id": WELFARE_CLASS, "name": "ACME welfare plan 2026", "issuer": address["acme"], "decimals": 2,
         "kind": "welfare", "eligibility": ["employee:acme"], "transferability": "spend_only",
         "categories": ["education", "food", "health"], "valid_until_ms": genesis_time_ms + YEAR_MS,
         "holder_cap": 100_000, "budget": 1_000_000},
        {"id": VIRTUE_CLASS, "name": "Trento virtue credits", "issuer": address["comune"], "decimals": 2,
         "kind": "virtue", "eligibility": ["resident:trento"], "transferability": "spend_only",
         "categories": ["culture", "transport"]},
        {"id": GROUP_CLASS, "name": "GAS Trento purchase credits", "issuer": gas.address, "decimals": 2,
         "kind": "purchase_group", "transferability": "spend_only", "categories": ["food"],
         "valid_until_ms": genesis_time_ms + YEAR_MS},
    ]
    credits["balances"] += [{"account": p.address, "class": DEMO_CLASS, "amount": 10_000} for p in people]


def load_devnet(home: Path) -> DevnetLayout:
    """The layout of an existing devnet, to resume it."""
    home = Path(home)
    try:
        meta = json.loads((home / "devnet.json").read_text(encoding="utf-8"))
        genesis = load_genesis(home / "genesis.json")
    except (OSError, ValueError) as exc:
        raise DevnetError(f"{home} does not hold a readable devnet ({exc}); use --reset") from exc
    names = [f"node{i}" for i in range(meta["validators"])]
    names += [f"observer{j}" for j in range(meta.get("observers", 0))]
    node_homes = [home / "nodes" / name for name in names]
    try:
        for node_home in node_homes:
            read_password_file(node_home / NODE_KEY_PASS, MIN_NODE_PASSWORD)
    except KeystoreError as exc:
        raise DevnetError(f"{home} was made by an older incoop whose node passwords this one refuses ({exc}); "
                          "use --reset") from exc
    return DevnetLayout(home, node_homes, home / "wallet", genesis, list(meta["api_urls"]), meta["validators"])
