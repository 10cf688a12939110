"""A welfare plan's year end to end, as an employer, its employees and two providers live it, on four validators.

Scenario (the devnet's `federation` key is the employer, an authorised issuer;
every step goes through the `incoop` command line):
1. The employer creates a spend-only welfare class for health and education,
   with a holder cap of 500.00, a budget of 1250.00, valid until a block time
   a few seconds ahead; it accredits a clinic (health) and a school
   (education).
2. It issues 400.00 to each of three employees (fresh wallet keys) with
   `credits issue-batch` from a CSV; a CSV with a bad row is refused whole,
   naming the line. Issuing past the holder cap and past the budget fails
   with HOLDER_CAP_EXCEEDED and BUDGET_EXCEEDED.
3. The employees pay the providers (`incoop wallet pay`); a payment in a wrong
   category is WRONG_CATEGORY, one to a provider not accredited for the
   category NOT_ACCREDITED. `wallet balance` shows the class's rules, soonest
   expiry first. The clinic redeems what it was paid.
4. The year ends (the head block's time passes valid_until): a payment is
   CLASS_EXPIRED; `credits reclaim` takes back the employees' balances and
   leaves the school's (an accredited provider, still to redeem).
5. `credits report --json` matches the sums: issued = held + redeemed +
   reclaimed, spent per category, redeemed per provider; all four nodes hold
   the same blocks.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.devnet_layout import DEMO_CLASS
from tests.functional.framework import (
    Devnet,
    assert_all_agree,
    incoop,
    make_devnet,
    wait_until,
)

pytestmark = pytest.mark.timeout(180)

CLASS = "welfare-2026"
YEAR_S = 60  # the class's validity from its creation: every step before the year ends takes about 15 s, more on a busy machine
EMPLOYEES = ("emp1", "emp2", "emp3")


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    devnet = make_devnet(tmp_path_factory.mktemp("welfare") / "devnet", validators=4)
    try:
        devnet.start_all(devnet.validators)
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


def address(devnet: Devnet, name: str) -> str:
    return json.loads(incoop(devnet, "wallet", "address", name, "--json").stdout)["address"]


def held(devnet: Devnet, who: str) -> int:
    return next((b["amount"] for b in devnet.api.get(f"/v1/accounts/{who}")["balances"] if b["class"] == CLASS), 0)


def test_a_welfare_year(devnet: Devnet, tmp_path: Path) -> None:
    started = time.monotonic()
    people = {}
    for name in (*EMPLOYEES, "clinic", "school"):
        incoop(devnet, "wallet", "new", name)
        people[name] = address(devnet, name)

    # 1. the plan and its providers
    until = devnet.api.status()["block_time_ms"] + YEAR_S * 1000
    incoop(devnet, "credits", "create-class", CLASS, "--as", "federation", "--name", "Welfare plan 2026",
           "--kind", "welfare", "--spend-only", "--category", "health", "--category", "education",
           "--holder-cap", "500", "--budget", "1250", "--valid-until", str(until))
    incoop(devnet, "credits", "accredit", "clinic", "--category", "health", "--as", "federation")
    incoop(devnet, "credits", "accredit", people["school"], "--category", "education", "--as", "federation")
    shown = devnet.api.get(f"/v1/classes/{CLASS}")
    assert (shown["kind"], shown["transferability"], shown["categories"]) == ("welfare", "spend_only", ["education", "health"])
    assert (shown["holder_cap"], shown["budget"], shown["valid_until_ms"], shown["expired"]) == (50000, 125000, until, False)

    # 2. the payroll's allocation, from a CSV
    bad = tmp_path / "bad.csv"
    bad.write_text(f"address,amount,reason\n{people['emp1']},400,plan 2026\n{people['emp2'][:-1]}x,400,plan 2026\n")
    refused = incoop(devnet, "credits", "issue-batch", str(bad), "--class", CLASS, "--as", "federation", check=False,
                     error_lines=None)
    assert "line 3" in refused.stderr
    assert devnet.api.get(f"/v1/classes/{CLASS}")["issued"] == 0
    payroll = tmp_path / "payroll.csv"
    payroll.write_text("address,amount,reason\n" + "".join(f"{people[e]},400.00,welfare plan 2026\n" for e in EMPLOYEES))
    batch = incoop(devnet, "credits", "issue-batch", str(payroll), "--class", CLASS, "--as", "federation", "--json")
    summary = json.loads(batch.stdout)
    assert (summary["rows"], summary["ok"], summary["failed"]) == (3, 3, 0), summary
    assert "issued 3/3" in batch.stderr
    assert [held(devnet, people[e]) for e in EMPLOYEES] == [40000] * 3
    over_cap = incoop(devnet, "credits", "issue", "--class", CLASS, "--to", "emp1", "--amount", "150",
                      "--as", "federation", check=False)
    assert "HOLDER_CAP_EXCEEDED" in over_cap.stderr
    over_budget = incoop(devnet, "credits", "issue", "--class", CLASS, "--to", "emp2", "--amount", "60",
                         "--as", "federation", check=False)
    assert "BUDGET_EXCEEDED" in over_budget.stderr

    # 3. spending, and a provider redeeming
    def pay(who: str, provider: str, amount: str, category: str, check: bool = True) -> subprocess.CompletedProcess:
        return incoop(devnet, "wallet", "pay", "--from", who, "--to", provider, "--class", CLASS, "--amount", amount,
                      "--category", category, "--ref", f"{who}-{category}", check=check)

    pay("emp1", "clinic", "100", "health")
    pay("emp2", people["school"], "150", "education")
    pay("emp3", "clinic", "50", "health")
    pay("emp1", "school", "80", "education")
    assert "WRONG_CATEGORY" in pay("emp3", "clinic", "10", "food", check=False).stderr
    assert "NOT_ACCREDITED" in pay("emp3", "school", "10", "health", check=False).stderr
    incoop(devnet, "wallet", "send", "--from", "anna", "--to", people["emp1"], "--class", DEMO_CLASS, "--amount", "5")
    balance = json.loads(incoop(devnet, "wallet", "balance", "emp1", "--json").stdout)
    assert [b["class"] for b in balance["balances"]] == [CLASS, DEMO_CLASS], "soonest expiry first"
    welfare = balance["balances"][0]
    assert (welfare["amount"], welfare["formatted"], welfare["kind"], welfare["categories"]) == (
        22000, "220.00", "welfare", ["education", "health"])
    assert (welfare["issuer"], welfare["valid_until_ms"]) == (address(devnet, "federation"), until)
    text = incoop(devnet, "wallet", "balance", "emp1").stdout
    assert "welfare" in text and "education, health" in text
    incoop(devnet, "credits", "redeem", "--class", CLASS, "--amount", "150", "--settlement-ref", "SEPA 2026-0001",
           "--as", "clinic")
    assert held(devnet, people["clinic"]) == 0

    # 4. the year ends
    assert devnet.api.status()["block_time_ms"] < until, f"the steps before the year's end took over {YEAR_S} s"
    early = incoop(devnet, "credits", "reclaim", CLASS, "--as", "federation", check=False)
    assert "has not expired" in early.stderr
    wait_until(lambda: devnet.api.status()["block_time_ms"] >= until, timeout=YEAR_S + 10, interval=0.2,
               what="the head block's time to pass the end of the year")
    assert devnet.api.get(f"/v1/classes/{CLASS}")["expired"] is True
    assert "CLASS_EXPIRED" in pay("emp3", "clinic", "10", "health", check=False).stderr
    reclaimed = json.loads(incoop(devnet, "credits", "reclaim", CLASS, "--as", "federation", "--json").stdout)
    assert (reclaimed["holders"], reclaimed["reclaimed"]) == (3, 22000 + 25000 + 35000)
    assert [held(devnet, people[e]) for e in EMPLOYEES] == [0, 0, 0]
    assert held(devnet, people["school"]) == 23000, "a provider keeps what it was paid, to redeem"

    # 5. the issuer's report matches the sums, on every node
    for node in range(4):
        report = json.loads(incoop(devnet, "credits", "report", CLASS, "--json", node=node).stdout)
        assert report["issued"] == 120000
        assert (report["held"], report["redeemed"], report["reclaimed"]) == (23000, 15000, 82000)
        assert report["issued"] == report["held"] + report["redeemed"] + report["reclaimed"] and report["balanced"]
        assert {s["category"]: s["amount"] for s in report["spent"]} == {"health": 15000, "education": 23000}
        assert report["redeemed_by"] == [{"provider": people["clinic"], "amount": 15000}]
        assert report["class"]["expired"] is True
    table = incoop(devnet, "credits", "report", CLASS).stdout
    assert "spent per category" in table and "1200.00" in table
    rows = incoop(devnet, "credits", "report", CLASS, "--csv").stdout.splitlines()
    assert rows[0] == "section,name,amount,amount_minor" and "total,issued,1200.00,120000" in rows
    assert_all_agree(devnet)
    print(f"welfare year in {time.monotonic() - started:.1f} s")
