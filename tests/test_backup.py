"""`incoop node backup` and `incoop node restore` on a stopped node home: what they copy, keep and refuse.

The home is a chain of 30 blocks written through the node's Store (the
benchmark builder) with a config.json, an encrypted node key, a sign-state
and a registrar's vault. Each test backs it up through the command line
(in-process, as `incoop` runs) and restores into another home:
- a backup holds the store, genesis, config, encrypted key and vault, never
  the key's password file and no sign-state unless asked; the restored home
  opens at the backup's head and its vault still opens with the password;
- an existing OUT, a home without a store, a restore from a directory that is
  not a backup are refused in one line, leaving nothing half written;
- a backup whose file was changed (one byte) is refused before the home is
  touched, so is one of another chain and a manifest naming a path outside
  the backup;
- an existing store is moved aside, never deleted; an existing vault stays;
- the sign-state: restored where the home has none, the home's kept where it
  is newer, the backup's taken where it is newer.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from identity.commitment import PersonalRecord
from identity.vault import Vault
from keys.keystore import write_key_file
from ledger.crypto import SigningKey
from ledger.store import Store
from node.backup import MANIFEST
from node.bench.chain import build_transfer_chain
from node.cli import main
from node.config import NodeConfig, VaultConfig, write_config
from node.consensus.signstate import PREVOTE, Signed, SignState

PASSWORD = "correct horse battery staple"
REGISTRAR = SigningKey(bytes([0x42]) * 32)
RECORD_ID = bytes(range(16))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ledger.address import to_address

    home = tmp_path_factory.mktemp("backup") / "home"
    build_transfer_chain(home, accounts=20, txs=600, block_txs=20)
    write_config(home, NodeConfig(key_password_file="node_key.pass",
                                  vault=VaultConfig(enabled=True, registrar=to_address(REGISTRAR.pubkey))))
    (home / "node_key.pass").write_text(PASSWORD + "\n")
    write_key_file(home / "node_key.json", SigningKey.generate(), PASSWORD)
    SignState(home / "sign_state.bin").record(Signed(30, 0, PREVOTE, bytes(32)))
    with Vault(home / "vault", PASSWORD) as vault:
        vault.put(RECORD_ID, PersonalRecord(kind="person", name="Anna Rossi", tax_code="RSSNNA80A41L378J",
                                            birth_date="1980-01-01"), bytes(32))
    return home


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def take(capsys: pytest.CaptureFixture, home: Path, out: Path, *extra: str) -> dict:
    status, stdout, err = run(capsys, "node", "backup", "--home", str(home), "--out", str(out), "--json", *extra)
    assert status == 0, err
    return json.loads(stdout)


def restore(capsys: pytest.CaptureFixture, source: Path, target: Path) -> dict:
    status, stdout, err = run(capsys, "node", "restore", "--from", str(source), "--home", str(target), "--json")
    assert status == 0, err
    return json.loads(stdout)


def refused(capsys: pytest.CaptureFixture, *argv: str) -> str:
    status, stdout, err = run(capsys, *argv)
    assert status == 1 and stdout == "" and len(err.strip().splitlines()) == 1, (status, stdout, err)
    return err


def head_of(data: Path) -> tuple[int, str]:
    with Store(data, create=False) as store:
        head = store.head()
    return head.height, head.block_hash.hex()


def test_a_backup_restores_into_a_new_home_with_its_vault(home: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    taken = take(capsys, home, tmp_path / "b")
    assert (taken["height"], taken["block_hash"]) == head_of(home / "data")
    assert taken["vault"] is True and taken["sign_state"] is False
    names = set(json.loads((tmp_path / "b" / MANIFEST).read_text())["files"])
    assert {"genesis.json", "config.json", "node_key.json", "vault/vault_key.json"} <= names
    assert any(n.startswith("data/") for n in names) and any(n.startswith("vault/db/") for n in names)
    assert "sign_state.bin" not in names and not any("pass" in n for n in names)
    assert not (tmp_path / "b.partial").exists()

    target = tmp_path / "new"
    report = restore(capsys, tmp_path / "b", target)
    assert sorted(report["copied"]) == ["config.json", "genesis.json", "node_key.json"]
    assert report["vault"] == "restored" and report["sign_state"] == "none"
    assert any("sign-state" in w for w in report["warnings"])
    assert any(f"no key password file at {target / 'node_key.pass'}" in w for w in report["warnings"])
    assert head_of(target / "data") == (taken["height"], taken["block_hash"])
    with Vault(target / "vault", PASSWORD) as vault:
        assert vault.get(RECORD_ID)[0].name == "Anna Rossi"


def test_what_cannot_be_backed_up_is_one_line_and_leaves_nothing(home: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "exists").mkdir()
    assert "exists" in refused(capsys, "node", "backup", "--home", str(home), "--out", str(tmp_path / "exists"))
    empty = tmp_path / "empty-home"
    empty.mkdir()
    assert "no store at" in refused(capsys, "node", "backup", "--home", str(empty), "--out", str(tmp_path / "x"))
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.partial").exists()
    assert "not a backup" in refused(capsys, "node", "restore", "--from", str(tmp_path / "exists"),
                                     "--home", str(tmp_path / "h"))
    assert not (tmp_path / "h").exists()


def test_a_changed_backup_file_is_refused_before_the_home_is_touched(home: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    take(capsys, home, tmp_path / "b")
    target = tmp_path / "target"
    restore(capsys, tmp_path / "b", target)
    before = head_of(target / "data")
    table = max((tmp_path / "b" / "data").glob("*.ldb"), key=lambda p: p.stat().st_size)
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0x01
    table.write_bytes(bytes(data))
    err = refused(capsys, "node", "restore", "--from", str(tmp_path / "b"), "--home", str(target))
    assert f"the backup is damaged: data/{table.name}" in err
    assert not list(target.glob("data.replaced-*")) and head_of(target / "data") == before


def test_a_backup_of_another_chain_or_with_a_path_outside_it_is_refused(home: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    take(capsys, home, tmp_path / "b")
    other = tmp_path / "other"
    other.mkdir()
    genesis = json.loads((home / "genesis.json").read_text())
    genesis["chain_id"] = "another-chain"
    (other / "genesis.json").write_text(json.dumps(genesis))
    assert "another chain" in refused(capsys, "node", "restore", "--from", str(tmp_path / "b"), "--home", str(other))
    assert not (other / "data").exists()

    manifest = json.loads((tmp_path / "b" / MANIFEST).read_text())
    manifest["files"]["../../escaped"] = next(iter(manifest["files"].values()))
    (tmp_path / "b" / MANIFEST).write_text(json.dumps(manifest))
    assert "is not a backup manifest" in refused(capsys, "node", "restore", "--from", str(tmp_path / "b"),
                                                  "--home", str(tmp_path / "fresh"))


def test_an_existing_store_is_moved_aside_never_deleted(home: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    take(capsys, home, tmp_path / "b")
    target = tmp_path / "target"
    shutil.copytree(home, target)
    (target / "data" / "marker").write_text("the old store")
    report = restore(capsys, tmp_path / "b", target)
    aside = list(target.glob("data.replaced-*"))
    assert len(aside) == 1 and (aside[0] / "marker").read_text() == "the old store"
    assert report["replaced"] == [f"{target / 'data'} -> {aside[0]}"] and report["copied"] == []
    assert not (target / "data" / "marker").exists()
    # the home's own vault stays: it exists nowhere else, and is newer than any backup
    assert report["vault"] == "kept (the home has one)" and not list(target.glob("vault.replaced-*"))


@pytest.mark.parametrize("home_signed, expected, kept_height", [
    (None, "restored", 30),  # the home lost it: the backup's is better than none
    (Signed(31, 2, PREVOTE, bytes(32)), "kept", 31),  # the home's is newer: restoring the old one could double-sign
    (Signed(29, 0, PREVOTE, bytes(32)), "restored", 30),  # the backup's is newer
])
def test_the_restore_keeps_the_newer_sign_state(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                home_signed: Signed | None, expected: str, kept_height: int) -> None:
    take(capsys, home, tmp_path / "b", "--with-sign-state")
    target = tmp_path / "target"
    target.mkdir()
    shutil.copy(home / "genesis.json", target / "genesis.json")
    if home_signed is not None:
        SignState(target / "sign_state.bin").record(home_signed)
    report = restore(capsys, tmp_path / "b", target)
    assert report["sign_state"] == expected
    assert SignState(target / "sign_state.bin").last.height == kept_height
