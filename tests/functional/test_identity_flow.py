"""The identity registry end to end, as registrars and residents use it, on four validators.

Scenario (one devnet: the federation's vault on node 0, the comune's on node 1;
anna and marco hold demo credits; recovery delay 20 blocks):
1. The federation registers anna through `incoop registrar register`; every
   node serves the identity (no personal data), and anna's account names it.
2. The comune tries to register the same tax code for marco: refused
   (IDENTITY_DUPLICATE), and nothing is left in the comune's vault.
3. A tax code with a wrong check character is refused before anything is
   written.
3a. One person, three spellings (issue 12, finding 7, as the attack): the
   federation registers Mario Rossi as RSSMRA80A01H501U; the comune, then
   the federation itself, try RSSMRA80A01H50MM and RSSMRAULALMHRLMD (the
   same code with omocodia letters) for two fresh keys: both refused
   IDENTITY_DUPLICATE, their vault records removed; one identity on every
   node, whose tag is that of the canonical code.
3b. Records no person can have are refused by `registrar register` in one
   line before anything is written: a partita IVA for a person, a codice
   fiscale for a cooperative, 31 February, a birth date the code disagrees
   with, an office code of no office.
4. anna binds a second device key (with its consent signature), and removes it.
5. Attestations: the federation attests member:coop-sait; the comune may not
   attest employee:acme, acme may.
6. Suspended, anna cannot spend but can receive; reactivated, she can spend.
7. Recovery: started by the registrar, not completable before the delay,
   completed after it (the new key replaces the old); a second recovery is
   cancelled by the identity's live key within the delay.
8. Erasure: the chain forgets tag and commitment, the vault forgets record and
   salt; the name and tax code appear nowhere in the vault files, the blocks,
   the node logs or the API.
9. Erasure cannot be undone, so it is confirmed (issue 13): without a terminal
   and without --yes it is refused in one line; at a terminal a wrong answer
   is refused; in both cases the identity keeps tag and commitment and the
   vault its record. Typing the id erases it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from identity.taxcode import uniqueness_tag
from node.devnet_layout import UNIQUENESS_SECRET
from tests.functional.framework import Devnet, incoop, make_devnet, wait_until
from tests.functional.terminal import typed_at_terminal

pytestmark = pytest.mark.timeout(300)

NAME = "Anna Rossi"
TAX_CODE = "RSSNNA80A41L378J"
RECOVERY_DELAY = 20  # blocks: heartbeats come every 0.3 s, so the early completion below is well inside it


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    devnet = make_devnet(tmp_path_factory.mktemp("identity") / "devnet", validators=4,
                         genesis_params={"recovery_delay_blocks": RECOVERY_DELAY})
    try:
        devnet.start_all(devnet.validators)
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


def record_file(tmp_path: Path, name: str = NAME, tax_code: str = TAX_CODE, **fields: str) -> str:
    path = tmp_path / "record.json"
    record = {"kind": "person", "name": name, "tax_code": tax_code, "birth_date": "1980-01-01",
              "address": "Via Roma 1, 38122 Trento"}
    path.write_text(json.dumps({**record, **fields}))
    return str(path)


def address(devnet: Devnet, label: str) -> str:
    return incoop(devnet, "wallet", "address", label).stdout.strip()


@pytest.fixture(scope="module")
def anna_id(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("anna")
    out = incoop(devnet, "registrar", "register", "--as", "federation", "--record", record_file(tmp),
                 "--key", "anna", "--json")
    return json.loads(out.stdout)["id"]


def test_a_registration_is_on_every_node_without_personal_data(devnet: Devnet, anna_id: str) -> None:
    for node in devnet.validators:
        identity = wait_until(lambda n=node: _identity(n, anna_id), 10, what="the identity on every node")
        assert identity["kind"] == "person" and identity["status"] == "active"
        assert identity["registrar"] == address(devnet, "federation")
        assert identity["keys"] == [address(devnet, "anna")]
        assert NAME not in json.dumps(identity) and TAX_CODE not in json.dumps(identity)
    assert devnet.nodes[2].api.get(f"/v1/accounts/{address(devnet, 'anna')}")["identity"] == anna_id
    shown = json.loads(incoop(devnet, "wallet", "identity", "show", "anna", "--json", node=3).stdout)
    assert shown["id"] == anna_id


def _identity(node, identity_id: str) -> dict | None:
    try:
        return node.api.get(f"/v1/identities/{identity_id}")
    except Exception:
        return None


def test_the_same_tax_code_is_refused_at_another_registrar_and_leaves_no_vault_record(
    devnet: Devnet, anna_id: str, tmp_path: Path
) -> None:
    refused = incoop(devnet, "registrar", "register", "--as", "comune", "--record", record_file(tmp_path, "Anna R."),
                     "--key", "marco", node=1, check=False)
    assert "IDENTITY_DUPLICATE" in refused.stderr and "vault record was removed" in refused.stderr
    vault_db = devnet.nodes[1].home / "vault" / "db"
    assert b"Anna R." not in _all_bytes(vault_db)
    assert devnet.node.api.get(f"/v1/accounts/{address(devnet, 'marco')}")["identity"] is None


def test_a_wrong_check_character_is_refused_before_anything_is_written(devnet: Devnet, tmp_path: Path) -> None:
    refused = incoop(devnet, "registrar", "register", "--as", "comune", "--record",
                     record_file(tmp_path, "Marco Bianchi", "RSSNNA80A41L378B"), "--key", "marco", node=1, check=False)
    assert "check character" in refused.stderr
    assert b"Marco Bianchi" not in _all_bytes(devnet.nodes[1].home / "vault" / "db")


SPELLINGS = ("RSSMRA80A01H501U", "RSSMRA80A01H50MM", "RSSMRAULALMHRLMD")  # one codice fiscale, three spellings


def test_three_omocodic_spellings_of_one_code_register_one_identity(devnet: Devnet, tmp_path: Path) -> None:
    keys = [f"mario-{i}" for i in range(len(SPELLINGS))]
    for key in keys:
        incoop(devnet, "wallet", "new", key)
    first = incoop(devnet, "registrar", "register", "--as", "federation", "--key", keys[0], "--json",
                   "--record", record_file(tmp_path, "Mario Rossi", SPELLINGS[0]))
    mario_id = json.loads(first.stdout)["id"]
    for spelling, key, registrar, node in ((SPELLINGS[1], keys[1], "comune", 1),
                                           (SPELLINGS[2], keys[2], "federation", 0)):
        refused = incoop(devnet, "registrar", "register", "--as", registrar, "--key", key,
                         "--record", record_file(tmp_path, "Mario Rossi", spelling), node=node, check=False)
        assert "IDENTITY_DUPLICATE" in refused.stderr, refused.stderr
        assert "the vault record was removed again" in refused.stderr
    secret = (devnet.layout.home / UNIQUENESS_SECRET).read_bytes().strip()
    for node in devnet.validators:
        wait_until(lambda n=node: _identity(n, mario_id), 10, what="mario's identity on every node")
        assert node.api.get(f"/v1/identities/{mario_id}")["tag"] == uniqueness_tag(secret, SPELLINGS[0]).hex()
        owners = [node.api.get(f"/v1/accounts/{address(devnet, key)}")["identity"] for key in keys]
        assert owners == [mario_id, None, None], f"{node.home.name}: one identity, bound to the first key only"


@pytest.mark.parametrize("fields, words", [
    ({"tax_code": "00743110157"}, "record.tax_code: a person's tax code is the 16-character codice fiscale"),
    ({"kind": "cooperative"}, "record.tax_code: the tax code of a cooperative is its 11-digit partita IVA"),
    ({"kind": "company", "tax_code": "12345678903"}, "digits 8-10 are the issuing office"),
    ({"tax_code": "RSSMRA80B31H501W"}, "31 February of a year ending in 80, and there is no such day"),
    ({"birth_date": "1980-01-02"}, "record.birth_date: 1980-01-02 does not agree with the codice fiscale"),
])
def test_a_record_no_one_can_have_is_refused_in_one_line_before_anything_is_written(
    devnet: Devnet, tmp_path: Path, fields: dict, words: str
) -> None:
    name = "Impossible Record " + "".join(str(v) for v in fields.values())
    refused = incoop(devnet, "registrar", "register", "--as", "comune", "--key", "marco",
                     "--record", record_file(tmp_path, name, **{"tax_code": "RSSMRA80A01H501U", **fields}), node=1, check=False)
    assert words in refused.stderr, refused.stderr
    assert "vault" not in refused.stderr, "refused before the vault was written"
    assert name.encode() not in _all_bytes(devnet.nodes[1].home / "vault" / "db")
    assert devnet.node.api.get(f"/v1/accounts/{address(devnet, 'marco')}")["identity"] is None


def test_a_device_key_is_bound_with_its_consent_and_removed(devnet: Devnet, anna_id: str) -> None:
    incoop(devnet, "wallet", "new", "anna-phone")
    incoop(devnet, "wallet", "identity", "add-key", "--from", "anna", "--new", "anna-phone")
    phone = address(devnet, "anna-phone")
    assert phone in devnet.node.api.get(f"/v1/identities/{anna_id}")["keys"]
    incoop(devnet, "wallet", "identity", "remove-key", "--from", "anna", "--key", "anna-phone")
    assert devnet.node.api.get(f"/v1/accounts/{phone}")["identity"] is None


def test_attesters_attest_only_what_their_rule_allows(devnet: Devnet, anna_id: str) -> None:
    incoop(devnet, "registrar", "attest", anna_id, "member:coop-sait", "--as", "federation")
    refused = incoop(devnet, "registrar", "attest", anna_id, "employee:acme", "--as", "comune", check=False)
    assert "ATTESTER_NOT_ALLOWED" in refused.stderr
    incoop(devnet, "registrar", "attest", anna_id, "employee:acme", "--as", "acme")
    attributes = {a["attribute"]: a for a in devnet.node.api.get(f"/v1/identities/{anna_id}")["attestations"]}
    assert set(attributes) == {"member:coop-sait", "employee:acme"}
    assert attributes["employee:acme"]["attester"] == address(devnet, "acme")


def test_a_suspended_identity_receives_but_cannot_spend(devnet: Devnet, anna_id: str) -> None:
    marco, anna = address(devnet, "marco"), address(devnet, "anna")
    incoop(devnet, "registrar", "suspend", anna_id, "--as", "federation")
    refused = incoop(devnet, "wallet", "send", "--from", "anna", "--to", marco, "--class", "demo-eur",
                     "--amount", "1", check=False)
    assert "IDENTITY_NOT_ACTIVE" in refused.stderr
    incoop(devnet, "wallet", "send", "--from", "marco", "--to", anna, "--class", "demo-eur", "--amount", "2")
    incoop(devnet, "registrar", "reactivate", anna_id, "--as", "federation")
    incoop(devnet, "wallet", "send", "--from", "anna", "--to", marco, "--class", "demo-eur", "--amount", "1")


def test_recovery_completes_after_the_delay_and_a_live_key_cancels_it(devnet: Devnet, anna_id: str) -> None:
    incoop(devnet, "wallet", "new", "anna-new")
    new = address(devnet, "anna-new")
    incoop(devnet, "registrar", "recover", anna_id, "--new-key", "anna-new", "--as", "federation")
    early = incoop(devnet, "registrar", "recover", anna_id, "--complete", "--as", "federation", check=False)
    assert "RECOVERY_NOT_DUE" in early.stderr
    due = devnet.node.api.get(f"/v1/identities/{anna_id}")["recovery"]["due_height"]
    devnet.node.api.wait_height(due, timeout=30)
    incoop(devnet, "registrar", "recover", anna_id, "--complete", "--as", "federation")
    assert devnet.node.api.get(f"/v1/identities/{anna_id}")["keys"] == [new]
    assert devnet.node.api.get(f"/v1/accounts/{address(devnet, 'anna')}")["identity"] is None

    incoop(devnet, "wallet", "new", "intruder")
    incoop(devnet, "registrar", "recover", anna_id, "--new-key", "intruder", "--as", "federation")
    incoop(devnet, "wallet", "identity", "cancel-recovery", "--from", "anna-new")
    assert devnet.node.api.get(f"/v1/identities/{anna_id}")["recovery"] is None
    devnet.node.api.wait_height(devnet.node.api.status()["height"] + RECOVERY_DELAY, timeout=30)
    late = incoop(devnet, "registrar", "recover", anna_id, "--complete", "--as", "federation", check=False)
    assert "NO_RECOVERY" in late.stderr
    assert devnet.node.api.get(f"/v1/identities/{anna_id}")["keys"] == [new]


def test_erasure_leaves_no_personal_field_anywhere(devnet: Devnet, anna_id: str, tmp_path: Path) -> None:
    exported = tmp_path / "export.json"
    incoop(devnet, "registrar", "export", anna_id, "--as", "federation", "--out", str(exported))
    assert json.loads(exported.read_text())["record"]["name"] == NAME
    incoop(devnet, "registrar", "erase", anna_id, "--as", "federation", "--yes")
    identity = devnet.node.api.get(f"/v1/identities/{anna_id}")
    assert identity["tag"] is None and identity["commitment"] is None and identity["status"] == "closed"
    gone = incoop(devnet, "registrar", "export", anna_id, "--as", "federation", check=False)
    assert "NOT_FOUND" in gone.stderr
    for needle in (NAME.encode(), TAX_CODE.encode()):
        assert needle not in _all_bytes(devnet.node.home / "vault"), "vault files"
        for node in devnet.validators:
            assert needle not in _all_bytes(node.home / "data"), f"{node.home.name}: store files (blocks, state)"
            assert needle not in node.log_path.read_bytes(), f"{node.home.name}: log"
            height = node.api.status()["height"]
            for h in range(1, height + 1):
                assert needle not in node.api.get_raw(f"/v1/blocks/{h}/raw"), f"block {h}"
        assert needle.decode() not in json.dumps(devnet.node.api.get(f"/v1/identities/{anna_id}"))


def _all_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


def test_erasure_is_confirmed_by_typing_the_id(devnet: Devnet, tmp_path: Path) -> None:
    incoop(devnet, "wallet", "new", "rosa")
    record = record_file(tmp_path, name="Rosa Bianchi", tax_code="BNCRSO85C52L378O", birth_date="1985-03-12")
    rosa_id = json.loads(incoop(devnet, "registrar", "register", "--as", "federation", "--record", record,
                                "--key", "rosa", "--json").stdout)["id"]
    erase = ("registrar", "erase", rosa_id, "--as", "federation")

    def unchanged() -> None:
        identity = devnet.node.api.get(f"/v1/identities/{rosa_id}")
        assert identity["tag"] is not None and identity["commitment"] is not None and identity["status"] == "active"
        exported = incoop(devnet, "registrar", "export", rosa_id, "--as", "federation")
        assert json.loads(exported.stdout)["record"]["name"] == "Rosa Bianchi"

    refused = incoop(devnet, *erase, check=False, stdin=subprocess.DEVNULL)
    assert f"erase identity {rosa_id[:12]}…: this cannot be undone; pass --yes" in refused.stderr
    unchanged()
    with typed_at_terminal(rosa_id[:-1]) as terminal:
        wrong = incoop(devnet, *erase, check=False, error_lines=None, stdin=terminal)
    assert f"Type {rosa_id} to erase identity" in wrong.stderr
    assert wrong.stderr.endswith(f"incoop: not confirmed; did not erase identity {rosa_id[:12]}…\n")
    unchanged()
    with typed_at_terminal(rosa_id) as terminal:
        done = incoop(devnet, *erase, stdin=terminal)
    assert f"identity {rosa_id} erased" in done.stdout
    identity = devnet.node.api.get(f"/v1/identities/{rosa_id}")
    assert identity["tag"] is None and identity["commitment"] is None
    assert "NOT_FOUND" in incoop(devnet, "registrar", "export", rosa_id, "--as", "federation", check=False).stderr
