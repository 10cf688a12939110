"""A participatory budget through `incoop agora …` on one real node (FORMAT.md §6.7.1, docs/agora.md).

Scenario (one validator; its genesis makes the federation's key the agora admin; the demo wallet also holds
MODERATOR and two keys of MULTI, one identity):
1. The federation registers anna, marco and MULTI; the comune attests anna
   and MULTI as residents of trento; the admin opens the Consulta
   (resident:trento, MODERATOR moderates, holding 1000.00 demo-eur from
   the genesis); anna and MULTI put proposals in the space.
2. `budget open` by the moderator: 900.00 demo-eur move from its account
   into the fund (escrowed), and 100.00 into a second budget's that nobody
   takes part in; a second opening with the same id is refused after
   signing (BUDGET_EXISTS), the closing before the submissions before
   signing (one line). `budget list` reads both back (and the API pages
   them one at a time with `limit`/`after`).
3. `project`: anna submits A (600.00, to marco) and C (300.00, to marco),
   MULTI submits B (500.00, to its first key). A project asking more than
   the budget (900.01) is refused before signing (OVER_BUDGET, one line, no nonce
   spent); a selection before the submissions close is refused the same way
   (BUDGET_WINDOW).
4. Once the submissions close, `select`: anna selects A and C; MULTI selects
   B with its first key, then B and C with its second (the last counts: one
   identity, one selection); MULTI's attempt at A and B (1100.00) is refused
   in one line naming OVER_BUDGET and spends no nonce. The selection route
   shows MULTI's one selection (key two); the budget shows 2 selectors,
   selections A 1, B 1, C 2, and the bar's projection: C and A (900.00).
5. The closing at closes_ms funds exactly what the rule says (greedy with
   skip: C, 2 selections, then A fits in the 600.00 left, B does not fit in
   the nothing then left): marco is paid 900.00, MULTI's key nothing; the
   second budget refunds its 100.00 to the moderator; no fund holds anything.
6. The books: `credits report` balanced with nothing escrowed, and `incoop
   audit verify` replays the chain from genesis.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from keys.keystore import Keystore
from node.devnet_layout import DEMO_CLASS, DEVNET_PASSWORD
from tests.functional.agora_setup import (
    ANNA_ID,
    MARCO_ID,
    MODERATOR,
    MULTI_ID,
    TOWN,
    TRIO,
    ident,
    propose,
    register_body,
    space_body,
    with_agora,
)
from tests.functional.framework import Devnet, assert_api_error, incoop, make_devnet, wait_until
from tests.functional.market_setup import Signer
from tests.weak_kdf import TEST_KDF

KEY_ONE, KEY_TWO = "tre-uno", "tre-due"
PA, PB, PC = ident("budget a"), ident("budget b"), ident("budget c")
BUDGET, SMALL = ident("the budget").hex(), ident("a small budget").hex()
SUBMIT_S, SELECT_S = 12, 12
"""The two windows: long enough for the CLI calls of each phase on a loaded machine, short for the test."""


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    devnet = make_devnet(tmp_path_factory.mktemp("budget-flow") / "devnet", genesis_edit=with_agora,
                         funded=(MODERATOR.pubkey,))
    wallet = Keystore(devnet.layout.wallet_dir)
    for name, key in ((KEY_ONE, TRIO[0]), (KEY_TWO, TRIO[1]), ("moderatore", MODERATOR)):
        wallet.create(name, DEVNET_PASSWORD, key=key, kdf=TEST_KDF)
    try:
        devnet.start_all(devnet.validators)
        signer = Signer(devnet)
        signer.send_all([
            ("federation", "identity.register", register_body(ANNA_ID, (devnet.keys["anna"].pubkey,))),
            ("federation", "identity.register", register_body(MARCO_ID, (devnet.keys["marco"].pubkey,))),
            ("federation", "identity.register", register_body(MULTI_ID, tuple(k.pubkey for k in TRIO))),
        ])
        signer.send_all([
            *[("comune", "attest.issue", (i, "resident:trento", 0)) for i in (ANNA_ID, MULTI_ID)],
            ("federation", "agora.space", space_body(TOWN, "Consulta di Trento", "resident:trento")),
        ])
        propose(devnet, signer, "anna", PA, TOWN, "Un parco giochi nuovo al parco Santa Chiara")
        propose(devnet, signer, TRIO[0], PB, TOWN, "Una ciclofficina di quartiere")
        propose(devnet, signer, "anna", PC, TOWN, "Alberi lungo via Roma")
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


def agora(devnet: Devnet, *argv: str) -> dict[str, Any]:
    return json.loads(incoop(devnet, "agora", *argv, "--json").stdout)


def refused(devnet: Devnet, *argv: str) -> str:
    """A command that must fail in one line, printing nothing on stdout: its message."""
    proc = incoop(devnet, "agora", *argv, "--json", check=False)
    assert proc.returncode != 0 and proc.stdout == "", proc
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def address(devnet: Devnet, label: str) -> str:
    return json.loads(incoop(devnet, "wallet", "address", label, "--json").stdout)["address"]


def balance(devnet: Devnet, who: str) -> int:
    account = devnet.api.get(f"/v1/accounts/{who}")
    return next((b["amount"] for b in account["balances"] if b["class"] == DEMO_CLASS), 0)


def nonce(devnet: Devnet, who: str) -> int:
    return devnet.api.get(f"/v1/accounts/{who}")["pending_nonce"]


def test_a_budget_from_opening_to_funding(devnet: Devnet) -> None:
    moderator, marco, key_one = (address(devnet, n) for n in ("moderatore", "marco", KEY_ONE))
    before = {who: balance(devnet, who) for who in (moderator, marco, key_one)}

    # 2. the opening: the fund takes the whole amount
    now_ms = devnet.api.status()["block_time_ms"]
    submit_until, closes = now_ms + SUBMIT_S * 1000, now_ms + (SUBMIT_S + SELECT_S) * 1000
    assert "--closes must be after --submit-until" in refused(
        devnet, "budget", "open", TOWN.hex(), "--as", "moderatore", "--class", DEMO_CLASS, "--amount", "900.00",
        "--submit-until", str(closes), "--closes", str(submit_until))
    for budget_id, amount in ((BUDGET, "900.00"), (SMALL, "100.00")):
        opened = agora(devnet, "budget", "open", TOWN.hex(), "--as", "moderatore", "--class", DEMO_CLASS,
                       "--amount", amount, "--submit-until", str(submit_until), "--closes", str(closes),
                       "--id", budget_id)
        assert (opened["budget"], opened["status"]) == (budget_id, "committed")
    assert balance(devnet, moderator) == before[moderator] - 1000_00
    assert "BUDGET_EXISTS" in refused(devnet, "budget", "open", TOWN.hex(), "--as", "moderatore", "--class",
                                      DEMO_CLASS, "--amount", "1.00", "--submit-until", str(submit_until),
                                      "--closes", str(closes), "--id", BUDGET)
    listed = agora(devnet, "budget", "list", TOWN.hex(), "--status", "open")["budgets"]
    assert sorted((b["id"], b["phase"], b["amount"], b["funder"]) for b in listed) == sorted([
        (BUDGET, "submitting", 900_00, moderator), (SMALL, "submitting", 100_00, moderator)])
    first = devnet.api.get(f"/v1/agora/spaces/{TOWN.hex()}/budgets?limit=1")
    second = devnet.api.get(f"/v1/agora/spaces/{TOWN.hex()}/budgets?limit=1&after={first['next']}")
    assert [b["id"] for b in first["budgets"] + second["budgets"]] == sorted([BUDGET, SMALL])
    assert devnet.api.get(f"/v1/agora/spaces/{TOWN.hex()}/budgets?status=closed")["budgets"] == []

    # 3. projects; what the wallet refuses before signing
    anna_nonce = nonce(devnet, address(devnet, "anna"))
    assert "OVER_BUDGET" in refused(devnet, "project", BUDGET, PA.hex(), "--as", "anna", "--owner", "marco",
                                    "--amount", "900.01")
    assert nonce(devnet, address(devnet, "anna")) == anna_nonce
    agora(devnet, "project", BUDGET, PA.hex(), "--as", "anna", "--owner", "marco", "--amount", "600.00")
    agora(devnet, "project", BUDGET, PB.hex(), "--as", KEY_ONE, "--owner", KEY_ONE, "--amount", "500.00")
    agora(devnet, "project", BUDGET, PC.hex(), "--as", "anna", "--owner", marco, "--amount", "300.00")
    assert "BUDGET_WINDOW" in refused(devnet, "select", BUDGET, PA.hex(), "--as", "anna")
    assert devnet.api.status()["block_time_ms"] < submit_until, f"the submissions took over {SUBMIT_S} s"

    # 4. selections, once the submissions close
    wait_until(lambda: devnet.api.status()["block_time_ms"] >= submit_until, timeout=SUBMIT_S + 10, interval=0.2,
               what="the submissions to close")
    assert "BUDGET_WINDOW" in refused(devnet, "project", BUDGET, PB.hex(), "--as", KEY_TWO, "--owner", KEY_TWO,
                                      "--amount", "1.00")
    agora(devnet, "select", BUDGET, PC.hex(), PA.hex(), "--as", "anna")
    agora(devnet, "select", BUDGET, PB.hex(), "--as", KEY_ONE)
    last = agora(devnet, "select", BUDGET, PB.hex(), PC.hex(), "--as", KEY_TWO)
    assert last["total"] == 800_00
    key_two = address(devnet, KEY_TWO)
    multi_nonce = nonce(devnet, key_two)
    line = refused(devnet, "select", BUDGET, PA.hex(), PB.hex(), "--as", KEY_TWO)
    assert "OVER_BUDGET" in line and "1100.00" in line and "900.00" in line, line
    assert nonce(devnet, key_two) == multi_nonce
    selection = devnet.api.get(f"/v1/agora/budgets/{BUDGET}/selections/{MULTI_ID.hex()}")
    assert (selection["projects"], selection["signer"], selection["total"]) == (
        sorted([PB.hex(), PC.hex()]), key_two, 800_00)
    shown = agora(devnet, "budget", "show", BUDGET)
    assert (shown["phase"], shown["selectors"]) == ("selecting", 2)
    assert [(p["post"], p["selections"], p["projected"]) for p in shown["projects"]] == [
        (PA.hex(), 1, "funded"), (PB.hex(), 1, "unfunded"), (PC.hex(), 2, "funded")]
    assert shown["bar"] == {"amount": 900_00, "allocated": 900_00, "left": 0}
    text = incoop(devnet, "agora", "budget", "show", BUDGET).stdout
    assert "900.00 demo-eur projected" in text and "Alberi lungo via Roma" in text
    assert devnet.api.status()["block_time_ms"] < closes, f"the selections took over {SELECT_S} s"

    # 5. the closing funds what the rule says
    wait_until(lambda: all(devnet.api.get(f"/v1/agora/budgets/{b}")["status"] == "closed" for b in (BUDGET, SMALL)),
               timeout=SELECT_S + 20, interval=0.2, what="the closing")
    closed = agora(devnet, "budget", "show", BUDGET)
    assert (closed["phase"], closed["funded"], closed["bar"]) == (
        "closed", 900_00, {"amount": 900_00, "allocated": 900_00, "left": 0})
    assert [(p["post"], p["status"], p["projected"]) for p in closed["projects"]] == [
        (PA.hex(), "funded", None), (PB.hex(), "unfunded", None), (PC.hex(), "funded", None)]
    assert balance(devnet, marco) == before[marco] + 900_00
    assert balance(devnet, key_one) == before[key_one]
    assert balance(devnet, moderator) == before[moderator] - 900_00  # the small budget's 100.00 came back
    small = devnet.api.get(f"/v1/agora/budgets/{SMALL}")
    assert (small["funded"], small["bar"], small["projects"]) == (0, {"amount": 100_00, "allocated": 0, "left": 100_00},
                                                                  [])
    assert "BUDGET_WINDOW" in refused(devnet, "select", BUDGET, "--as", "anna")

    # 6. the books
    report = json.loads(incoop(devnet, "credits", "report", DEMO_CLASS, "--json").stdout)
    assert (report["balanced"], report["escrowed"]) == (True, 0)
    audit = json.loads(incoop(devnet, "audit", "verify", "--genesis", str(devnet.layout.home / "genesis.json"),
                              "--node", devnet.node.url, "--quiet", "--json").stdout)
    assert audit["ok"] is True


def test_bad_input_is_one_line(devnet: Devnet) -> None:
    assert "is not a budget id" in refused(devnet, "budget", "show", "nothex")
    assert "NOT_FOUND" in refused(devnet, "budget", "show", "00" * 16)
    assert "is not a project id" in refused(devnet, "select", BUDGET, "zz", "--as", "anna")
    assert "is not a space id" in refused(devnet, "budget", "list", "abc")
    assert_api_error(404, "NOT_FOUND", lambda: devnet.api.get(f"/v1/agora/budgets/{'00' * 16}"))
    assert_api_error(400, "BAD_REQUEST", lambda: devnet.api.get("/v1/agora/budgets/xyz"))
    assert_api_error(404, "NOT_FOUND", lambda: devnet.api.get(f"/v1/agora/spaces/{'00' * 16}/budgets"))
    assert_api_error(400, "BAD_REQUEST", lambda: devnet.api.get(f"/v1/agora/spaces/{TOWN.hex()}/budgets?status=x"))
    assert_api_error(404, "NOT_FOUND", lambda: devnet.api.get(
        f"/v1/agora/budgets/{BUDGET}/selections/{MARCO_ID.hex()}"))
