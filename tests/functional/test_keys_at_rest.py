"""Keys at rest (issue 12, finding 9), on real node processes, written as the attacks.

Scenario A — a member makes a vault node with `incoop node init --vault --generate-passwords`
(the real Argon2id setting, no test shortcut):
1. two password files appear, 0600, 32 random characters each, different; the node key and
   the vault key are sealed with the node setting (3 passes, 256 MiB) and neither opens with
   the other's password;
2. the node starts from that home and its vault serves the registrar (a record stored and read);
3. every weakening of the secrets stops the next start with one line and exit 1, before any
   key is derived: the node's password file made world-readable; `hunter2` as the vault's
   password; the vault's password file removed from the config (no vault password at all);
   the vault pointed at the node key's password file, or given it through the environment;
   a node key file asking Argon2id for 2^40 bytes of memory;
4. with everything restored the node starts again and the record is still there.

Scenario B — a registrar erases a record, and an attacker later reads a copy of the disk:
1. a devnet vault node stores 30 records over the API and erases one;
2. the node is stopped and started again (LevelDB rotates LOG, writes a new MANIFEST) and
   another record is erased;
3. no file of the vault directory names the erased id in any form (raw, hex, LevelDB's
   escaped LOG form), nor does any name a surviving one; the survivors are still served.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from identity.vault import KEY_FILE
from keys.keystore import (
    NODE_KDF,
    KeystoreError,
    kdf_of,
    open_secret,
    read_key_file,
    read_password_file,
)
from ledger.address import to_address
from ledger.crypto import SigningKey
from node.config import load_config, write_config
from tests.functional.framework import REPO, NodeProcess, free_port_block, make_devnet, run_cli
from tests.vault_files import files_naming
from wallet.client import NodeClient, NodeError

pytestmark = pytest.mark.timeout(300)

RECORD = {"kind": "person", "name": "Giulia Neri", "tax_code": "RSSMRA80A01H501U"}
SECRET_ENVS = ("INCOOP_KEY_PASSWORD", "INCOOP_VAULT_PASSWORD", "INCOOP_PASSWORD")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENVS}
    return dict(env, PYTHONPATH=str(REPO), **extra)


def _incoop(*argv: str, **env: str) -> subprocess.CompletedProcess:
    return run_cli(*argv, env=_env(**env))


def _refused(home: Path, words: str, **env: str) -> str:
    """`node start` must stop with exit 1 and one line naming `words`; the line is returned."""
    started = time.monotonic()
    result = _incoop("node", "start", "--home", str(home), **env)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert words in result.stderr, result.stderr
    assert time.monotonic() - started < 30
    return result.stderr.strip()


def test_node_init_seals_two_keys_under_two_secrets_and_the_node_holds_to_them(tmp_path: Path) -> None:
    port = free_port_block(2)
    home = tmp_path / "coop1"
    registrar = SigningKey.generate()
    made = _incoop("node", "init", "--home", str(home), "--api-port", str(port), "--p2p-port", str(port + 1),
                   "--vault", to_address(registrar.pubkey), "--generate-passwords", "--json")
    assert made.returncode == 0, made.stderr
    result = json.loads(made.stdout)
    assert result["key_password_file"] == "node_key.pass"
    assert result["vault"] == {"registrar": to_address(registrar.pubkey), "key_password_file": "vault_key.pass"}

    # 1. two private, long, different passwords; two keys with the node setting, each under its own
    node_pass, vault_pass = home / "node_key.pass", home / "vault_key.pass"
    for path in (node_pass, vault_pass):
        assert path.stat().st_mode & 0o777 == 0o600
    node_password, vault_password = read_password_file(node_pass, 32), read_password_file(vault_pass, 32)
    assert node_password != vault_password
    vault_key_file = home / "vault" / KEY_FILE
    assert kdf_of(json.loads((home / "node_key.json").read_text())) == NODE_KDF
    assert kdf_of(json.loads(vault_key_file.read_text())) == NODE_KDF
    assert (home / "vault").stat().st_mode & 0o777 == 0o700
    with pytest.raises(KeystoreError, match="wrong password"):
        read_key_file(home / "node_key.json", vault_password)
    with pytest.raises(KeystoreError, match="wrong password"):
        open_secret(vault_key_file, node_password, "vault-key")
    node_key = read_key_file(home / "node_key.json", node_password)
    assert to_address(node_key.pubkey) == result["address"]
    again = _incoop("node", "init", "--home", str(home), "--generate-passwords")
    assert again.returncode == 1 and "not replacing a node key" in again.stderr

    genesis = _incoop("genesis", "new", "--chain-id", "keys-test", "--out", str(home / "genesis.json"),
                      "--validator", f"coop1={result['address']},,ws://127.0.0.1:{port + 1}",
                      "--registrar", f"coop1={to_address(registrar.pubkey)}")
    assert genesis.returncode == 0, genesis.stderr

    # 2. the node starts and its vault serves the registrar
    node = NodeProcess(home, f"http://127.0.0.1:{port}", env=_env())
    ident = os.urandom(16)
    try:
        node.start(wait=False).wait_serving(60)
        vault = NodeClient(node.url, signer=registrar, chain_id="keys-test")
        stored = vault.vault_store(ident, RECORD)
        assert vault.vault_record(ident)["commitment"] == stored["commitment"]
    finally:
        assert node.stop(30) == 0

    # 3. every weakening is refused at the next start, in one line
    node_pass.chmod(0o644)
    line = _refused(home, f"password file {node_pass} is open to other users (mode 0644)")
    assert line.startswith("incoop: the node key: ")
    node_pass.chmod(0o600)

    saved_vault_pass = vault_pass.read_bytes()
    vault_pass.write_text("hunter2\n")
    _refused(home, f"the vault key: the password in {vault_pass} has 7 characters; at least 12 are required")
    vault_pass.write_bytes(saved_vault_pass)

    config = load_config(home)
    config.vault.key_password_file = None
    write_config(home, config)
    _refused(home, "no password for the vault key: set vault.key_password_file")
    _refused(home, "the vault key's password is the node key's", INCOOP_VAULT_PASSWORD=node_password)
    config.vault.key_password_file = "node_key.pass"
    write_config(home, config)
    _refused(home, "the vault key's password is the node key's")
    config.vault.key_password_file = "vault_key.pass"
    write_config(home, config)

    saved_key = (home / "node_key.json").read_bytes()
    document = json.loads(saved_key)
    document["kdf"]["memlimit"] = 2**40
    (home / "node_key.json").write_text(json.dumps(document))
    _refused(home, "kdf.memlimit: Input should be less than or equal to 1073741824")
    (home / "node_key.json").write_bytes(saved_key)

    # 4. restored: the node starts and the record is still there
    try:
        node.start(wait=False).wait_serving(60)
        assert NodeClient(node.url, signer=registrar, chain_id="keys-test").vault_record(ident)["commitment"] \
            == stored["commitment"]
    finally:
        assert node.stop(30) == 0


def test_an_erased_record_leaves_no_id_in_any_vault_file_after_a_restart(tmp_path: Path) -> None:
    devnet = make_devnet(tmp_path / "devnet")
    vault_dir = devnet.node.home / load_config(devnet.node.home).vault.dir
    ids = [os.urandom(16) for _ in range(30)]
    erased, erased_after_restart = ids[0], ids[1]
    try:
        devnet.node.start()
        registrar = NodeClient(devnet.node.url, signer=devnet.keys["federation"], chain_id=devnet.chain_id)
        for ident in ids:
            registrar.vault_store(ident, RECORD)
        registrar.vault_erase(erased)
        devnet.node.stop()
        devnet.node.start()
        registrar.vault_erase(erased_after_restart)
        for ident in ids[2:]:
            assert registrar.vault_record(ident)["id"] == ident.hex()
        for ident in (erased, erased_after_restart):
            with pytest.raises(NodeError) as caught:
                registrar.vault_record(ident)
            assert caught.value.status == 404
        devnet.node.stop()
        assert (vault_dir / "db" / "LOG.old").exists() and list((vault_dir / "db").glob("MANIFEST-*"))
        for ident in ids:
            assert files_naming(vault_dir, ident) == [], f"{ident.hex()} is named in the vault's files"
    finally:
        devnet.cleanup()
        devnet.print_logs()
