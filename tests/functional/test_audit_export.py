"""`incoop audit export` against a real federation: a statement that matches the chain.

Scenario (four validators and the devnet's demo keys; every step through the
`incoop` command line):
1. The federation creates a season class valid for SEASON_S seconds and
   issues marco some of it. It creates a food class with no end, accredits a
   shop and issues to anna. anna pays the shop and passes some to marco; a
   payment in a wrong category fails; marco sends anna demo-eur. The shop
   redeems. Once the season is over, the federation reclaims it.
2. The food class's statement is exported twice up to the same height: from
   node 0's API and from node 1's data directory while it runs. The two
   files are the same bytes, and hold exactly the expected rows.
3. The federation's statement (every class it issues, to standard output)
   matches the chain: genesis balances plus its rows give every holder's
   balance as `/v1/accounts` shows it, and the issue, redeem and reclaim rows
   sum to each class's books; the reclaim took what marco held.
4. Mistakes are one line and leave no file behind.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger.address import to_address
from node.devnet_layout import DEMO_CLASS
from tests.functional.framework import Devnet, incoop, running_devnet, wait_until

pytestmark = pytest.mark.timeout(150)

CLASS = "mercato-2026"
SEASON = "stagione-2026"
SEASON_S = 15  # one command runs inside the season; the food class's steps outlast it
COLUMNS = ["height", "time", "tx_hash", "type", "from", "to", "class", "amount", "amount_minor", "reference"]


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    yield from running_devnet(tmp_path_factory.mktemp("export") / "devnet", validators=4)


def read_csv(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == COLUMNS
    return list(reader)


def iso(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{time_ms % 1000:03d}Z"


def play(devnet: Devnet) -> None:
    # block times are the proposers' clocks (this machine's); the head's may be older (an idle chain)
    season_end = max(devnet.api.status()["block_time_ms"], int(time.time() * 1000)) + SEASON_S * 1000
    incoop(devnet, "credits", "create-class", SEASON, "--as", "federation", "--valid-until", str(season_end))
    incoop(devnet, "credits", "issue", "--class", SEASON, "--to", "marco", "--amount", "5", "--as", "federation")
    incoop(devnet, "wallet", "new", "shop")
    incoop(devnet, "credits", "create-class", CLASS, "--as", "federation", "--category", "food")
    incoop(devnet, "credits", "accredit", "shop", "--category", "food", "--as", "federation")
    incoop(devnet, "credits", "issue", "--class", CLASS, "--to", "anna", "--amount", "20", "--reason", "june",
           "--as", "federation")
    incoop(devnet, "wallet", "pay", "--from", "anna", "--to", "shop", "--class", CLASS, "--amount", "12.50",
           "--category", "food", "--ref", "receipt 42")
    address = {who: to_address(devnet.pubkey(who)) for who in ("anna", "marco")}
    incoop(devnet, "wallet", "send", "--from", "anna", "--to", address["marco"], "--class", CLASS, "--amount", "2")
    wrong = incoop(devnet, "wallet", "pay", "--from", "anna", "--to", "shop", "--class", CLASS, "--amount", "1",
                   "--category", "transport", check=False)
    assert "WRONG_CATEGORY" in wrong.stderr
    incoop(devnet, "wallet", "send", "--from", "marco", "--to", address["anna"], "--class", DEMO_CLASS, "--amount", "3")
    incoop(devnet, "credits", "redeem", "--class", CLASS, "--amount", "12.50", "--settlement-ref", "SEPA 0001",
           "--as", "shop")
    wait_until(lambda: devnet.api.status()["block_time_ms"] >= season_end, timeout=SEASON_S + 10, interval=0.2,
               what="the head block's time to pass the end of the season")
    incoop(devnet, "credits", "reclaim", SEASON, "--as", "federation")


def test_statements_from_the_api_and_from_a_data_directory_match_the_chain(devnet: Devnet, tmp_path: Path) -> None:
    play(devnet)
    height = devnet.api.status()["height"]
    genesis = str(devnet.layout.home / "genesis.json")
    name = {to_address(key.pubkey): label for label, key in devnet.keys.items()}
    name[json.loads(incoop(devnet, "wallet", "address", "shop", "--json").stdout)["address"]] = "shop"

    # 2. one class, from two sources
    by_api, by_data = tmp_path / "api.csv", tmp_path / "data.csv"
    summary = json.loads(incoop(devnet, "audit", "export", "--genesis", genesis, "--node", devnet.nodes[0].url,
                                "--class", CLASS, "--to-height", str(height), "--out", str(by_api),
                                "--json").stdout)
    incoop(devnet, "audit", "export", "--genesis", genesis, "--data", str(devnet.layout.node_homes[1]),
           "--class", CLASS, "--to-height", str(height), "--out", str(by_data))
    assert by_api.read_bytes() == by_data.read_bytes()
    rows = read_csv(by_api.read_text())
    assert [(r["type"], name.get(r["from"], r["from"]), name.get(r["to"], r["to"]), r["class"], r["amount"],
             r["amount_minor"], r["reference"]) for r in rows] == [
        ("credits.issue", "", "anna", CLASS, "20.00", "2000", "june"),
        ("credits.pay", "anna", "shop", CLASS, "12.50", "1250", "food: receipt 42"),
        ("credits.transfer", "anna", "marco", CLASS, "2.00", "200", ""),
        ("credits.redeem", "shop", "", CLASS, "12.50", "1250", "SEPA 0001"),
    ]
    pay = rows[1]
    committed = devnet.api.tx(bytes.fromhex(pay["tx_hash"]))
    assert int(pay["height"]) == committed["height"]
    assert pay["time"] == iso(devnet.api.block(committed["height"])["header"]["time_ms"])
    assert (summary["rows"], summary["replayed_to_height"]) == (4, height)
    assert summary["classes"] == {CLASS: {"rows": 4, "amount_by_type": {
        "credits.issue": 2000, "credits.pay": 1250, "credits.transfer": 200, "credits.redeem": 1250}}}

    # 3. the issuer's statement is the chain's balances and books
    federation = to_address(devnet.keys["federation"].pubkey)
    statement = read_csv(incoop(devnet, "audit", "export", "--genesis", genesis, "--node", devnet.nodes[2].url,
                                "--issuer", federation, "--to-height", str(height)).stdout)
    assert {r["class"] for r in statement} == {CLASS, SEASON, DEMO_CLASS}
    assert [r for r in statement if r["class"] == CLASS] == rows
    assert [(r["type"], name.get(r["from"], r["from"]), r["amount_minor"]) for r in statement if r["class"] == SEASON] == [
        ("credits.issue", "", "500"), ("credits.reclaim", "marco", "500")]
    balances = {(b.account, b.class_): b.amount for b in devnet.layout.genesis.section("credits").balances}
    for r in statement:
        if r["from"]:
            balances[(r["from"], r["class"])] = balances.get((r["from"], r["class"]), 0) - int(r["amount_minor"])
        if r["to"]:
            balances[(r["to"], r["class"])] = balances.get((r["to"], r["class"]), 0) + int(r["amount_minor"])
    for (address, class_id), amount in balances.items():
        shown = devnet.api.get(f"/v1/accounts/{address}")["balances"]
        assert next((b["amount"] for b in shown if b["class"] == class_id), 0) == amount, (name.get(address), class_id)
    for class_id in (CLASS, SEASON, DEMO_CLASS):
        books = devnet.api.get(f"/v1/classes/{class_id}")
        at_genesis = sum(b.amount for b in devnet.layout.genesis.section("credits").balances if b.class_ == class_id)
        of = [r for r in statement if r["class"] == class_id]
        assert books["issued"] == at_genesis + sum(int(r["amount_minor"]) for r in of if r["type"] == "credits.issue")
        assert books["redeemed"] == sum(int(r["amount_minor"]) for r in of if r["type"] == "credits.redeem")
        assert books["reclaimed"] == sum(int(r["amount_minor"]) for r in of if r["type"] == "credits.reclaim")


def test_export_mistakes_are_one_line(devnet: Devnet, tmp_path: Path) -> None:
    genesis = str(devnet.layout.home / "genesis.json")
    url = devnet.nodes[0].url
    cases = [
        (["--node", url], "give what to export"),
        (["--node", url, "--account", "icnotanaddress"], "--account"),
        (["--node", url, "--class", "Mercato"], "not a class id"),
        (["--node", url, "--class", CLASS, "--since", "31/12/2026"], "YYYY-MM-DD"),
        (["--node", url, "--class", CLASS, "--json"], "--out"),
    ]
    for extra, message in cases:
        proc = incoop(devnet, "audit", "export", "--genesis", genesis, *extra, check=False)
        assert message in proc.stderr, (extra, proc.stderr)
    other = tmp_path / "genesis.json"
    other.write_text(Path(genesis).read_text().replace('"chain_id": "', '"chain_id": "x', 1))
    out = tmp_path / "never.csv"
    proc = incoop(devnet, "audit", "export", "--genesis", str(other), "--node", url, "--class", CLASS,
                  "--out", str(out), check=False)
    assert "another genesis" in proc.stderr
    assert not out.exists() and not (tmp_path / "never.csv.partial").exists()
