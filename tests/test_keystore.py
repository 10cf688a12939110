"""The encrypted keystore: what a resident's keys rest in, and every way it must refuse to open."""

from __future__ import annotations

import json
import stat

import pytest

from ledger.address import to_address
from ledger.crypto import SigningKey
from wallet.keystore import (
    Keystore,
    KeystoreError,
    decrypt_key,
    encrypt_key,
    read_key_file,
    read_password,
    write_key_file,
)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def keystore(tmp_path):
    return Keystore(tmp_path / "wallet")


def test_roundtrip_gives_back_the_same_key(keystore):
    key = SigningKey.generate()
    info = keystore.create("anna", PASSWORD, key)
    assert info.address == to_address(key.pubkey)
    assert info.path == keystore.directory / "anna.json"
    unlocked = keystore.unlock("anna", PASSWORD)
    assert unlocked.seed == key.seed and unlocked.pubkey == key.pubkey
    assert keystore.info("anna").address == info.address
    assert [(k.label, k.address) for k in keystore.list()] == [("anna", info.address)]


def test_the_seed_is_not_stored_in_clear(keystore):
    key = SigningKey.generate()
    info = keystore.create("anna", PASSWORD, key)
    text = info.path.read_text()
    assert key.seed.hex() not in text
    assert PASSWORD not in text


def test_generated_keys_differ(keystore):
    a = keystore.create("a", PASSWORD)
    b = keystore.create("b", PASSWORD)
    assert a.address != b.address
    assert [k.label for k in keystore.list()] == ["a", "b"]


def test_wrong_password_is_refused(keystore):
    keystore.create("anna", PASSWORD)
    with pytest.raises(KeystoreError, match="wrong password"):
        keystore.unlock("anna", PASSWORD + "!")


def test_empty_password_is_refused(keystore):
    with pytest.raises(KeystoreError, match="empty password"):
        keystore.create("anna", "")
    assert not (keystore.directory / "anna.json").exists()


def _tamper(path, edit):
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


def test_tampered_ciphertext_is_refused(keystore):
    info = keystore.create("anna", PASSWORD)

    def flip(document):
        ct = bytearray.fromhex(document["cipher"]["ciphertext"])
        ct[-1] ^= 0x01
        document["cipher"]["ciphertext"] = ct.hex()

    _tamper(info.path, flip)
    with pytest.raises(KeystoreError, match="wrong password, or the key file was altered"):
        keystore.unlock("anna", PASSWORD)


def test_tampered_nonce_or_salt_is_refused(keystore):
    info = keystore.create("anna", PASSWORD)
    original = info.path.read_text()
    for section, field in (("cipher", "nonce"), ("kdf", "salt")):
        info.path.write_text(original)

        def flip(document, section=section, field=field):
            raw = bytearray.fromhex(document[section][field])
            raw[0] ^= 0x80
            document[section][field] = raw.hex()

        _tamper(info.path, flip)
        with pytest.raises(KeystoreError):
            keystore.unlock("anna", PASSWORD)


def test_tampered_address_is_refused(keystore):
    """Someone swaps the clear address for theirs: the wallet would show it, so unlocking must fail."""
    info = keystore.create("anna", PASSWORD)
    other = to_address(SigningKey.generate().pubkey)
    _tamper(info.path, lambda d: d.__setitem__("address", other))
    assert keystore.info("anna").address == other  # listing needs no password and cannot know
    with pytest.raises(KeystoreError, match="address does not match"):
        keystore.unlock("anna", PASSWORD)


def test_corrupt_and_foreign_files_are_refused(keystore, tmp_path):
    info = keystore.create("anna", PASSWORD)
    _tamper(info.path, lambda d: d.pop("cipher"))
    with pytest.raises(KeystoreError, match="corrupt key file"):
        keystore.unlock("anna", PASSWORD)

    _tamper(info.path, lambda d: d.__setitem__("format", "something-else"))
    with pytest.raises(KeystoreError, match="not an incoop key file"):
        keystore.unlock("anna", PASSWORD)

    info.path.write_text("{not json")
    with pytest.raises(KeystoreError, match="cannot read key file"):
        keystore.unlock("anna", PASSWORD)

    with pytest.raises(KeystoreError, match="no key file"):
        keystore.unlock("nobody", PASSWORD)


def test_key_file_mode_is_0600(keystore, tmp_path):
    info = keystore.create("anna", PASSWORD)
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    path = tmp_path / "node_key.json"
    write_key_file(path, SigningKey.generate(), PASSWORD)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.with_name(path.name + ".tmp").exists()


def test_node_key_functions_roundtrip(tmp_path):
    key = SigningKey.generate()
    path = tmp_path / "k.json"
    write_key_file(path, key, PASSWORD)
    assert read_key_file(path, PASSWORD).seed == key.seed
    assert decrypt_key(encrypt_key(key, PASSWORD), PASSWORD).pubkey == key.pubkey


@pytest.mark.parametrize(
    "label",
    ["", ".hidden", "-dash", "_under", "a/b", "../escape", "a b", "anna.json/x", "x" * 65, "é", "a\n"],
)
def test_bad_labels_are_refused(keystore, label):
    with pytest.raises(KeystoreError, match="invalid key name"):
        keystore.create(label, PASSWORD)
    with pytest.raises(KeystoreError, match="invalid key name"):
        keystore.unlock(label, PASSWORD)
    assert keystore.list() == []


@pytest.mark.parametrize("label", ["a", "anna", "Anna-2", "co.op_1", "x" * 64])
def test_good_labels_are_accepted(keystore, label):
    assert keystore.create(label, PASSWORD).label == label


def test_an_existing_key_is_never_overwritten(keystore):
    first = keystore.create("anna", PASSWORD)
    with pytest.raises(KeystoreError, match="already exists"):
        keystore.create("anna", PASSWORD)
    assert keystore.info("anna").address == first.address


def test_list_skips_files_that_are_not_keys(keystore):
    keystore.create("anna", PASSWORD)
    (keystore.directory / "notes.json").write_text('{"hello": 1}')
    (keystore.directory / "broken.json").write_text("{")
    (keystore.directory / "readme.txt").write_text("hi")
    assert [k.label for k in keystore.list()] == ["anna"]
    assert Keystore(keystore.directory / "missing").list() == []


def test_read_password_sources(tmp_path, monkeypatch):
    monkeypatch.delenv("INCOOP_PASSWORD", raising=False)
    path = tmp_path / "pw"
    path.write_text("from-file\n")
    assert read_password(path) == "from-file"
    monkeypatch.setenv("INCOOP_PASSWORD", "from-env")
    assert read_password(path) == "from-file"  # an explicit file wins
    assert read_password(None) == "from-env"
    monkeypatch.delenv("INCOOP_PASSWORD")
    with pytest.raises(KeystoreError, match="cannot read password file"):
        read_password(tmp_path / "missing")
