"""Purchase groups from the command line on a four-validator federation: one reaches a tier, one fails.

Scenario (one federation for the module; every step through `incoop`, each with --json; a
supplier, fornitore, funded at genesis, and an organiser's key, coop, added to the demo wallet):
1. The federation registers coop as a cooperative (`registrar register --key coop`) and accredits
   fornitore for food; fornitore publishes apples at 12.50 demo-eur, 100 crates.
2. fornitore signs the terms of two groups for coop (`gas sign-terms`), both with a deadline
   DEADLINE_S seconds of block time ahead: group A, 5 to 40 crates, 12.00 from 5, 10.00 from 10,
   9.00 from 20; group B, 20 to 30 crates at 11.00. A terms file changed after signing and a file
   for another organiser are refused before anything is signed. coop opens both (`gas open`):
   the listing sets 70 crates aside.
3. Group A: anna commits 6 (72.00 held at the top price); marco commits 3 and leaves (refunded),
   then commits 5 (60.00): 11 crates, the 10.00 tier reached so far (`gas status`). Group B: anna
   commits 2 (22.00). A commitment above a group's room is refused (GROUP_FULL). The issuer's
   report counts the 154.00 in escrow and balances.
4. The deadline passes: the first block whose time reaches it settles both (audit export: every
   movement of each group's end-of-block step is in that block). A is settled at 10.00: anna paid
   60.00 and got 12.00 back, marco paid 50.00 and got 10.00 back, fornitore received 110.00, and
   the 29 crates not bought went back to the listing; B failed: anna got her 22.00 back and its 30
   crates went back. After the deadline nobody joins (DEADLINE_PASSED).
5. Every class's books balance (issued = held + escrowed + redeemed + reclaimed, nothing left in
   escrow), on every node, and `incoop audit verify` replays the chain from genesis.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from identity.taxcode import partita_iva_check_digit
from keys.keystore import Keystore
from ledger.crypto import SigningKey
from node.devnet_layout import DEMO_CLASS, DEVNET_PASSWORD
from tests.functional.framework import Devnet, assert_all_agree, incoop, make_devnet, wait_until
from tests.weak_kdf import TEST_KDF

pytestmark = pytest.mark.timeout(120)

SUPPLIER = "fornitore"
ORGANISER = "coop"
DEADLINE_S = 12  # block time from the terms to the deadline: the opens and the five commitments take 2-4 s
GROUP_A = "aa" * 16
GROUP_B = "bb" * 16


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    supplier = SigningKey.generate()  # known to the chain from genesis (a key signs once the chain knows it)
    devnet = make_devnet(tmp_path_factory.mktemp("gas") / "devnet", validators=4, funded=[supplier.pubkey])
    wallet = Keystore(devnet.layout.wallet_dir)  # as `incoop wallet new` would, with the suite's weak KDF
    wallet.create(SUPPLIER, DEVNET_PASSWORD, key=supplier, kdf=TEST_KDF)
    wallet.create(ORGANISER, DEVNET_PASSWORD, kdf=TEST_KDF)
    try:
        devnet.start_all(devnet.validators)
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


def run(devnet: Devnet, *argv: str) -> dict[str, Any]:
    """A command with --json that must succeed: its one JSON document."""
    return json.loads(incoop(devnet, *argv, "--json").stdout)


def fails(devnet: Devnet, *argv: str, says: str) -> None:
    proc = incoop(devnet, *argv, "--json", check=False)
    assert proc.stdout == "" and says in proc.stderr, proc.stderr


def address(devnet: Devnet, label: str) -> str:
    return run(devnet, "wallet", "address", label)["address"]


def balance(devnet: Devnet, label: str, node: int = 0) -> int:
    account = devnet.nodes[node].api.get(f"/v1/accounts/{address(devnet, label)}")
    return next((b["amount"] for b in account["balances"] if b["class"] == DEMO_CLASS), 0)


def group(devnet: Devnet, group_id: str) -> dict:
    return run(devnet, "gas", "status", group_id)


def stock(devnet: Devnet, listing_id: str) -> int:
    return run(devnet, "market", "show", listing_id)["listing"]["quantity"]


def test_two_groups_one_settled_one_refunded(devnet: Devnet, tmp_path: Path) -> None:
    # 1. the organiser's cooperative, the accredited supplier, its listing
    digits = "0050005022"
    record = tmp_path / "coop.json"
    record.write_text(json.dumps({"kind": "cooperative", "name": "Cooperativa di consumo (test)",
                                  "tax_code": digits + partita_iva_check_digit(digits),
                                  "address": "Via Brennero 1, 38121 Trento"}))
    run(devnet, "registrar", "register", "--as", "federation", "--record", str(record), "--key", ORGANISER)
    run(devnet, "credits", "accredit", SUPPLIER, "--category", "food", "--as", "federation")
    apples = run(devnet, "market", "publish", "--as", SUPPLIER, "--title", "Mele, cassa da 5 kg", "--category",
                 "food", "--price", f"{DEMO_CLASS}=12.50", "--quantity", "100", "--delivery", "delivery",
                 "--return-window", "1d")["listing"]
    people = ("anna", "marco", SUPPLIER)
    before = {who: balance(devnet, who) for who in people}

    # 2. the supplier signs two groups' terms; the organiser opens them
    deadline = devnet.api.status()["block_time_ms"] + DEADLINE_S * 1000
    terms_a, terms_b = tmp_path / "a.json", tmp_path / "b.json"
    signed = run(devnet, "gas", "sign-terms", "--as", SUPPLIER, "--listing", apples, "--organiser", ORGANISER,
                 "--class", DEMO_CLASS, "--tier", "5=12", "--tier", "10=10", "--tier", "20=9", "--max", "40",
                 "--deadline", str(deadline), "--group", GROUP_A, "--out", str(terms_a))
    assert (signed["min_qty"], signed["tiers"], signed["deadline_ms"]) == (5, [[5, 1200], [10, 1000], [20, 900]],
                                                                          deadline)
    run(devnet, "gas", "sign-terms", "--as", SUPPLIER, "--listing", apples, "--organiser", ORGANISER,
        "--class", DEMO_CLASS, "--tier", "20=11", "--max", "30", "--deadline", str(deadline), "--group", GROUP_B,
        "--out", str(terms_b))
    changed = tmp_path / "changed.json"
    changed.write_text(terms_a.read_text().replace('"max_qty": 40', '"max_qty": 60'))
    coop_nonce = devnet.api.get(f"/v1/accounts/{address(devnet, ORGANISER)}")["nonce"]
    fails(devnet, "gas", "open", "--as", ORGANISER, "--terms", str(changed), says="does not match these terms")
    fails(devnet, "gas", "open", "--as", "anna", "--terms", str(terms_a), says="signed for organiser")
    assert devnet.api.get(f"/v1/accounts/{address(devnet, ORGANISER)}")["nonce"] == coop_nonce
    for terms in (terms_a, terms_b):
        assert run(devnet, "gas", "open", "--as", ORGANISER, "--terms", str(terms))["status"] == "committed"
    assert stock(devnet, apples) == 100 - 40 - 30

    # 3. members commit, one leaves and comes back
    run(devnet, "gas", "join", GROUP_A, "--quantity", "6", "--as", "anna")
    run(devnet, "gas", "join", GROUP_A, "--quantity", "3", "--as", "marco")
    run(devnet, "gas", "leave", GROUP_A, "--as", "marco")
    assert balance(devnet, "marco") == before["marco"]
    run(devnet, "gas", "join", GROUP_A, "--quantity", "5", "--as", "marco")
    run(devnet, "gas", "join", GROUP_B, "--quantity", "2", "--as", "anna")
    fails(devnet, "gas", "join", GROUP_B, "--quantity", "29", "--as", "marco", says="GROUP_FULL")
    assert balance(devnet, "anna") == before["anna"] - 72_00 - 22_00
    assert balance(devnet, "marco") == before["marco"] - 60_00
    open_a = group(devnet, GROUP_A)
    assert (open_a["status"], open_a["committed_qty"], open_a["members"], open_a["reached"]) == (
        "open", 11, 2, {"min_total": 10, "unit_price": 1000})
    assert sorted((c["quantity"], c["escrowed"]) for c in open_a["commitments"]) == [(5, 60_00), (6, 72_00)]
    text = incoop(devnet, "gas", "status", GROUP_A).stdout
    assert "from 10 units: 10.00 demo-eur a unit  <- reached" in text and "9 more units to reach the next tier" in text
    held = run(devnet, "credits", "report", DEMO_CLASS)  # the issuer's books count what is in escrow
    assert (held["escrowed"], held["balanced"]) == (72_00 + 60_00 + 22_00, True)
    assert "escrowed" in incoop(devnet, "credits", "report", DEMO_CLASS).stdout
    listed = run(devnet, "gas", "status", "--status", "open", "--organiser", ORGANISER)
    assert sorted(g["id"] for g in listed["groups"]) == [GROUP_A, GROUP_B]
    assert devnet.api.status()["block_time_ms"] < deadline, f"the steps before the deadline took over {DEADLINE_S} s"

    # 4. the deadline passes: the next block settles A and refunds B
    wait_until(lambda: all(group(devnet, g)["status"] in ("settled", "failed") for g in (GROUP_A, GROUP_B)),
               timeout=DEADLINE_S + 20, interval=0.2, what="both groups to be decided past the deadline")
    settled, failed = group(devnet, GROUP_A), group(devnet, GROUP_B)
    assert (settled["status"], settled["unit_price"], settled["commitments"]) == ("settled", 1000, [])
    assert (failed["status"], failed["unit_price"], failed["commitments"]) == ("failed", 0, [])
    assert balance(devnet, "anna") == before["anna"] - 6 * 10_00
    assert balance(devnet, "marco") == before["marco"] - 5 * 10_00
    assert balance(devnet, SUPPLIER) == before[SUPPLIER] + 11 * 10_00
    assert stock(devnet, apples) == 100 - 11
    fails(devnet, "gas", "join", GROUP_A, "--quantity", "1", "--as", "marco", says="DEADLINE_PASSED")
    first_past = _first_block_at(devnet, deadline)
    rows = _export(devnet, tmp_path)
    for group_id, expected in ((GROUP_A, {("anna", "release", 60_00), ("anna", "refund", 12_00),
                                          ("marco", "release", 50_00), ("marco", "refund", 10_00)}),
                               (GROUP_B, {("anna", "refund", 22_00)})):
        steps = [r for r in rows if r["reference"] == f"purchase group {group_id}" and r["type"] == "gas.end_block"]
        assert {int(r["height"]) for r in steps} == {first_past}, (group_id, first_past, steps)
        names = {address(devnet, who): who for who in ("anna", "marco")}
        moved = set()
        for r in steps:
            if r["to"] == address(devnet, SUPPLIER):
                moved.add((_member_of(rows, r["from"], names), "release", int(r["amount_minor"])))
            else:
                moved.add((names[r["to"]], "refund", int(r["amount_minor"])))
        assert moved == expected, group_id

    # 5. the books, on every node, and the audit
    assert_all_agree(devnet)
    classes = devnet.api.get("/v1/classes")["classes"]
    assert classes
    for node in devnet.validators:
        for item in classes:
            statement = node.api.get(f"/v1/classes/{item['id']}/statement")
            books = statement["class"]
            assert statement["escrowed"] == 0, item["id"]
            assert books["issued"] == statement["held"] + statement["escrowed"] + books["redeemed"] + \
                statement["reclaimed"], (node.home.name, item["id"])
        assert [balance(devnet, who, devnet.nodes.index(node)) for who in people] == [
            balance(devnet, who) for who in people]
    report = run(devnet, "credits", "report", DEMO_CLASS)
    assert report["balanced"] is True
    audit = run(devnet, "audit", "verify", "--genesis", str(devnet.layout.home / "genesis.json"),
                "--node", devnet.node.url, "--quiet")
    assert audit["ok"] is True and audit["height"] >= first_past


def _first_block_at(devnet: Devnet, time_ms: int) -> int:
    """The height of the first block whose time reaches `time_ms`."""
    height = devnet.api.status()["height"]
    while height > 1 and devnet.api.block(height - 1)["header"]["time_ms"] >= time_ms:
        height -= 1
    assert devnet.api.block(height)["header"]["time_ms"] >= time_ms
    return height


def _export(devnet: Devnet, tmp_path: Path) -> list[dict[str, str]]:
    """Every demo-eur movement, replayed from genesis (`incoop audit export`)."""
    out = tmp_path / "statement.csv"
    summary = run(devnet, "audit", "export", "--genesis", str(devnet.layout.home / "genesis.json"), "--node",
                  devnet.node.url, "--class", DEMO_CLASS, "--out", str(out))
    assert summary["ok"] is True
    return list(csv.DictReader(io.StringIO(out.read_text())))


def _member_of(rows: list[dict[str, str]], lot: str, names: dict[str, str]) -> str:
    """Whose commitment an escrow lot holds: the account that locked into it."""
    return next(names[r["from"]] for r in rows if r["to"] == lot and r["from"] in names)

