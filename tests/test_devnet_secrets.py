"""The devnet's node secrets (node/devnet_layout.py, docs/keys.md): what `incoop devnet` leaves in each node home.

Every node gets its own generated password in node_key.pass, 0600, long
enough for the node's rule; the vault nodes also a vault key under a second,
different password; the keys use the node Argon2id setting unless a caller
names another; a devnet from before these rules is refused with --reset.
"""

from __future__ import annotations

import json
import stat

import pytest

from identity.vault import KEY_FILE
from keys.keystore import (
    MIN_NODE_PASSWORD,
    NODE_KDF,
    WALLET_KDF,
    KeystoreError,
    kdf_of,
    open_secret,
    read_key_file,
    read_password_file,
)
from node.config import load_config
from node.devnet_layout import (
    DEMO_RESIDENTS,
    NODE_KEY_PASS,
    VAULT_KEY_PASS,
    DevnetError,
    create_devnet,
    load_devnet,
)
from tests.weak_kdf import TEST_KDF


def test_each_node_has_its_own_private_passwords_and_vault_nodes_a_second_one(tmp_path):
    layout = create_devnet(tmp_path / "d", validators=3, observers=1, base_port=20000, node_kdf=TEST_KDF)
    passwords = []
    for i, home in enumerate(layout.node_homes):
        config = load_config(home)
        assert config.key_password_file == NODE_KEY_PASS
        assert stat.S_IMODE((home / NODE_KEY_PASS).stat().st_mode) == 0o600
        password = read_password_file(home / NODE_KEY_PASS, MIN_NODE_PASSWORD)
        passwords.append(password)
        read_key_file(home / "node_key.json", password)
        assert kdf_of(json.loads((home / "node_key.json").read_text())) == TEST_KDF
        assert config.vault.enabled == (i in (0, 1))
        if config.vault.enabled:
            assert config.vault.key_password_file == VAULT_KEY_PASS
            vault_password = read_password_file(home / VAULT_KEY_PASS, MIN_NODE_PASSWORD)
            assert vault_password != password
            key_file = home / config.vault.dir / KEY_FILE
            assert len(open_secret(key_file, vault_password, "vault-key")) == 32
            with pytest.raises(KeystoreError, match="wrong password"):
                open_secret(key_file, password, "vault-key")
            with pytest.raises(KeystoreError, match="wrong password"):
                read_key_file(home / "node_key.json", vault_password)
            passwords.append(vault_password)
        else:
            assert not (home / VAULT_KEY_PASS).exists()
    assert len(set(passwords)) == len(passwords), "no two secrets share a password"
    assert stat.S_IMODE(layout.wallet_dir.stat().st_mode) == 0o700


def test_the_devnet_uses_the_wallet_setting_unless_told_otherwise(tmp_path):
    """A devnet's passwords sit next to its keys: the node setting would only slow each start down."""
    layout = create_devnet(tmp_path / "d", validators=1, base_port=20000)
    home = layout.node_homes[0]
    assert kdf_of(json.loads((home / "node_key.json").read_text())) == WALLET_KDF != NODE_KDF
    assert kdf_of(json.loads((home / "vault" / KEY_FILE).read_text())) == WALLET_KDF
    wallet_keys = sorted(layout.wallet_dir.glob("*.json"))
    # federation, comune, acme, arbitro and the residents
    assert len(wallet_keys) == 4 + len(DEMO_RESIDENTS) and all(kdf_of(json.loads(p.read_text())) == WALLET_KDF for p in wallet_keys)
    told = create_devnet(tmp_path / "t", validators=1, base_port=20000, node_kdf=TEST_KDF, wallet_kdf=TEST_KDF)
    assert {kdf_of(json.loads(p.read_text())) for p in told.wallet_dir.glob("*.json")} == {TEST_KDF}


def test_a_devnet_with_the_old_public_node_password_is_refused_with_reset(tmp_path):
    layout = create_devnet(tmp_path / "d", validators=2, base_port=20000, node_kdf=TEST_KDF)
    assert load_devnet(layout.home).names == ["node0", "node1"]
    (layout.node_homes[1] / NODE_KEY_PASS).write_text("devnet\n")  # what an older incoop wrote
    with pytest.raises(DevnetError, match="older incoop.*6 characters.*--reset"):
        load_devnet(layout.home)
