"""The identity registry end to end, as registrars and residents use it, on four validators.

Scenario (one devnet: the federation's vault on node 0, the comune's on node 1;
anna and marco hold demo credits; recovery delay 20 blocks):
1. The federation registers anna through `incoop registrar register`; every
   node serves the identity (no personal data), and anna's account names it.
2. The comune tries to register the same tax code for marco: refused
   (IDENTITY_DUPLICATE), and nothing is left in the comune's vault.
3. A tax code with a wrong check character is refused before anything is
   written.
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
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.framework import Devnet, incoop, make_devnet, wait_until

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


def record_file(tmp_path: Path, name: str = NAME, tax_code: str = TAX_CODE) -> str:
    path = tmp_path / "record.json"
    path.write_text(json.dumps({"kind": "person", "name": name, "tax_code": tax_code, "birth_date": "1980-01-01",
                                "address": "Via Roma 1, 38122 Trento"}))
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
    incoop(devnet, "registrar", "erase", anna_id, "--as", "federation")
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
