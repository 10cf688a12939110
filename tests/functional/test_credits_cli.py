"""`incoop credits …` against one real node: the issuer's commands the welfare year does not use.

Scenario (one validator; the federation is the issuer):
1. A payroll of 300 rows goes through `issue-batch` in chunks of 100, past
   the mempool's nonce gap (256 pending per account) with progress on
   stderr; the row that breaks the holder cap is reported by its line, the
   other 299 are issued, and the exit status is non-zero.
2. delegate/undelegate: an operator issues while delegated, not after.
3. freeze/unfreeze: a frozen holder cannot pass credits on, unfrozen it can.
4. accredit --revoke, and a second revoke fails with its code.
5. Mistakes are one line: a bad category, an unknown signing key, a bad date,
   a report of a class that is not there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.address import to_address
from ledger.crypto import SigningKey
from node.config import MempoolConfig
from tests.functional.framework import Devnet, incoop, running_devnet

pytestmark = pytest.mark.timeout(180)

CLASS = "club-2026"


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    yield from running_devnet(tmp_path_factory.mktemp("credits") / "devnet")


def held(devnet: Devnet, who: bytes | str) -> int:
    address = who if isinstance(who, str) else to_address(who)
    return next((b["amount"] for b in devnet.api.get(f"/v1/accounts/{address}")["balances"] if b["class"] == CLASS), 0)


@pytest.fixture(scope="module")
def club(devnet: Devnet) -> str:
    incoop(devnet, "credits", "create-class", CLASS, "--as", "federation", "--name", "Club points",
           "--kind", "virtue", "--decimals", "0", "--holder-cap", "5", "--valid-from", "2020-01-01")
    shown = devnet.api.get(f"/v1/classes/{CLASS}")
    assert (shown["kind"], shown["decimals"], shown["holder_cap"], shown["transferability"]) == ("virtue", 0, 5, "p2p")
    assert shown["valid_from_ms"] == 1577836800000 and shown["valid_until_ms"] is None
    return CLASS


def test_issue_batch_past_the_nonce_gap_reports_the_failing_row(devnet: Devnet, club: str, tmp_path: Path) -> None:
    repeated = to_address(SigningKey.generate().pubkey)
    others = [to_address(SigningKey.generate().pubkey) for _ in range(294)]
    rows = [f"{a},1,points" for a in others[:150]] + [f"{repeated},1,again"] * 6 + [f"{a},1,points" for a in others[150:]]
    payroll = tmp_path / "payroll.csv"
    payroll.write_text("\n".join(rows) + "\n")  # no header row
    proc = incoop(devnet, "credits", "issue-batch", str(payroll), "--class", club, "--as", "federation",
                  "--chunk", "100", "--json", "--timeout", "60", check=False, error_lines=3)
    # the sixth issue to one holder breaks the cap: the node refuses it at admission (check-tx), and the
    # rows after it in its chunk with it (their nonces would follow a gap); the wallet stops there
    assert proc.stderr.splitlines() == ["issued 100/300", "issued 155/300", "incoop: 145 of 300 issues failed"]
    summary = json.loads(proc.stdout)
    assert (summary["rows"], summary["ok"], summary["failed"]) == (300, 155, 145)
    first, *rest = summary["failures"]
    assert (first["line"], first["address"], first["code"]) == (156, repeated, "HOLDER_CAP_EXCEEDED")
    assert [(f["line"], f["code"]) for f in rest] == [(line, "NONCE_TOO_FAR") for line in range(157, 201)] + [
        (line, "NOT_SUBMITTED") for line in range(201, 301)]
    assert devnet.api.status()["mempool_size"] == 0, "nothing is left waiting behind the refused nonce"
    # the issuer runs the rows after the refused one again: each is issued once, none twice
    rest_file = tmp_path / "rest.csv"
    rest_file.write_text("\n".join(rows[156:]) + "\n")
    again = json.loads(incoop(devnet, "credits", "issue-batch", str(rest_file), "--class", club, "--as", "federation",
                              "--chunk", "100", "--json", "--timeout", "60").stdout)
    assert (again["rows"], again["ok"], again["failed"]) == (144, 144, 0)
    assert held(devnet, repeated) == 5 and held(devnet, others[-1]) == 1 and held(devnet, others[150]) == 1
    assert devnet.api.get(f"/v1/classes/{club}")["issued"] == 299


def test_delegate_freeze_and_revoke(devnet: Devnet, club: str) -> None:
    anna, marco = devnet.pubkey("anna"), devnet.pubkey("marco")
    incoop(devnet, "credits", "delegate", "anna", "--class", club, "--as", "federation")
    incoop(devnet, "credits", "issue", "--class", club, "--to", "marco", "--amount", "3", "--as", "anna")
    incoop(devnet, "credits", "issue", "--class", club, "--to", "anna", "--amount", "2", "--as", "federation")
    assert (held(devnet, marco), held(devnet, anna)) == (3, 2)
    incoop(devnet, "credits", "undelegate", "anna", "--class", club, "--as", "federation")
    refused = incoop(devnet, "credits", "issue", "--class", club, "--to", "marco", "--amount", "1", "--as", "anna",
                     check=False)
    assert "NOT_ISSUER" in refused.stderr

    frozen = incoop(devnet, "credits", "freeze", club, "marco", "--as", "federation").stdout
    assert "marco frozen" in frozen
    sent = incoop(devnet, "wallet", "send", "--from", "marco", "--to", to_address(anna), "--class", club,
                  "--amount", "1", check=False)
    assert "HOLDER_FROZEN" in sent.stderr
    incoop(devnet, "credits", "unfreeze", club, "marco", "--as", "federation")
    assert "NOT_FROZEN" in incoop(devnet, "credits", "unfreeze", club, "marco", "--as", "federation", check=False).stderr
    incoop(devnet, "wallet", "send", "--from", "marco", "--to", to_address(anna), "--class", club, "--amount", "1")
    assert (held(devnet, marco), held(devnet, anna)) == (2, 3)

    incoop(devnet, "credits", "accredit", "marco", "--category", "sport", "--category", "culture", "--as", "federation")
    incoop(devnet, "credits", "accredit", "marco", "--category", "sport", "--revoke", "--as", "federation")
    again = incoop(devnet, "credits", "accredit", "marco", "--category", "sport", "--revoke", "--as", "federation",
                   check=False)
    assert "NOT_ACCREDITED" in again.stderr
    holders = devnet.api.get(f"/v1/classes/{club}/holders?limit=1000")["holders"]
    assert {h["address"]: h["provider"] for h in holders}[to_address(marco)] is True

    report = json.loads(incoop(devnet, "credits", "report", club, "--json").stdout)
    assert report["balanced"] and report["issued"] == report["held"] == 304 and report["spent"] == []


def test_mistakes_are_one_line(devnet: Devnet, club: str, tmp_path: Path) -> None:
    assert "--category" in incoop(devnet, "credits", "create-class", "x-1", "--category", "Bad Cat",
                                  "--as", "federation", check=False).stderr
    assert "no key named 'zed'" in incoop(devnet, "credits", "create-class", "x-2", "--as", "zed", check=False).stderr
    assert "ISO date" in incoop(devnet, "credits", "create-class", "x-3", "--valid-until", "next year",
                                "--as", "federation", check=False).stderr
    assert "no credit class" in incoop(devnet, "credits", "report", "no-such-class", check=False).stderr
    assert "never" in incoop(devnet, "credits", "reclaim", club, "--as", "federation", check=False).stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("address,amount,reason\n")
    assert "no rows" in incoop(devnet, "credits", "issue-batch", str(empty), "--class", club, "--as", "federation",
                               check=False).stderr
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{to_address(devnet.pubkey('anna'))},1.5,too precise\n")
    assert "line 1" in incoop(devnet, "credits", "issue-batch", str(bad), "--class", club, "--as", "federation",
                              check=False).stderr


def test_issue_batch_rides_out_a_full_mempool(tmp_path: Path) -> None:
    """A node whose mempool holds 40 transactions refuses most of a 100-row chunk for now; the
    refused rows are submitted again as blocks make room, and every row is issued once."""
    # the client's share of the pool (docs/admission.md) would refuse first; this test is about a full pool
    for devnet in running_devnet(tmp_path / "devnet", mempool=MempoolConfig(max_txs=40, max_client_share=1.0)):
        incoop(devnet, "credits", "create-class", "small-pool", "--as", "federation", "--decimals", "0")
        holders = [to_address(SigningKey.generate().pubkey) for _ in range(100)]
        payroll = tmp_path / "payroll.csv"
        payroll.write_text("".join(f"{a},{i + 1},row {i + 1}\n" for i, a in enumerate(holders)))
        proc = incoop(devnet, "credits", "issue-batch", str(payroll), "--class", "small-pool", "--as", "federation",
                      "--chunk", "100", "--json")
        summary = json.loads(proc.stdout)
        assert (summary["ok"], summary["failed"], summary["issued"]) == (100, 0, 5050), summary
        assert devnet.api.get("/v1/classes/small-pool")["issued"] == 5050
        held_now = {h["address"]: h["amount"] for h in devnet.api.get("/v1/classes/small-pool/holders?limit=1000")["holders"]}
        assert held_now == {a: i + 1 for i, a in enumerate(holders)}
