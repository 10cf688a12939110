"""The encrypted keystore: what a resident's keys rest in, and every way it must refuse to open.

Also the rules of docs/keys.md that hold for every key: the Argon2id settings
(node keys costlier than wallet keys), the bounds a key file's KDF limits are
held to before any work is spent, password files that others can read or that
hold a short password, and the wallet folder's privacy.
"""

from __future__ import annotations

import json
import os
import resource
import stat
import threading
import time

import pytest

from keys.keystore import (
    MAX_PASSWORD_FILE_BYTES,
    MEMLIMIT_MAX,
    MIN_NODE_PASSWORD,
    NODE_KDF,
    OPSLIMIT_MAX,
    WALLET_KDF,
    KdfCost,
    Keystore,
    KeystoreError,
    decrypt_key,
    encrypt_key,
    generate_password,
    kdf_of,
    open_secret,
    read_key_file,
    read_password,
    read_password_file,
    seal_secret,
    write_key_file,
    write_password_file,
)
from ledger.address import to_address
from ledger.crypto import SigningKey
from tests.weak_kdf import TEST_KDF

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
    write_key_file(path, SigningKey.generate(), PASSWORD, TEST_KDF)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.with_name(path.name + ".tmp").exists()


def test_node_key_functions_roundtrip(tmp_path):
    key = SigningKey.generate()
    path = tmp_path / "k.json"
    write_key_file(path, key, PASSWORD, TEST_KDF)
    assert read_key_file(path, PASSWORD).seed == key.seed
    assert decrypt_key(encrypt_key(key, PASSWORD, TEST_KDF), PASSWORD).pubkey == key.pubkey


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
    path.chmod(0o600)
    assert read_password(path) == "from-file"
    monkeypatch.setenv("INCOOP_PASSWORD", "from-env")
    assert read_password(path) == "from-file"  # an explicit file wins
    assert read_password(None) == "from-env"
    monkeypatch.delenv("INCOOP_PASSWORD")
    with pytest.raises(KeystoreError, match="cannot read password file"):
        read_password(tmp_path / "missing")


# --- the Argon2id settings ----------------------------------------------------------------------


def test_node_keys_and_sealed_secrets_default_to_the_node_setting_and_wallets_to_the_interactive(keystore, tmp_path):
    """A node key written without naming a setting gets the costly one: there is no weak default to fall into."""
    assert (NODE_KDF.opslimit, NODE_KDF.memlimit) == (3, 256 * 1024 * 1024)
    assert (WALLET_KDF.opslimit, WALLET_KDF.memlimit) == (2, 64 * 1024 * 1024)
    write_key_file(tmp_path / "node_key.json", SigningKey.generate(), PASSWORD)
    assert kdf_of(json.loads((tmp_path / "node_key.json").read_text())) == NODE_KDF
    seal_secret(tmp_path / "vault_key.json", os.urandom(32), PASSWORD, "vault-key")
    assert kdf_of(json.loads((tmp_path / "vault_key.json").read_text())) == NODE_KDF
    assert kdf_of(encrypt_key(SigningKey.generate(), PASSWORD)) == NODE_KDF
    info = keystore.create("anna", PASSWORD)
    assert kdf_of(json.loads(info.path.read_text())) == WALLET_KDF


@pytest.mark.parametrize(("opslimit", "memlimit"), [(0, 8192), (OPSLIMIT_MAX + 1, 8192), (1, 8191), (1, MEMLIMIT_MAX + 1)])
def test_a_setting_outside_the_bounds_is_never_written(opslimit, memlimit):
    with pytest.raises(KeystoreError, match="outside"):
        KdfCost(opslimit, memlimit)


def _with_kdf(path, **changes):
    document = json.loads(path.read_text())
    document["kdf"].update(changes)
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"memlimit": 2**40}, "memlimit: Input should be less than or equal to 1073741824"),
        ({"opslimit": 2**32 - 1}, "opslimit: Input should be less than or equal to 10"),
        ({"opslimit": 10**30}, "opslimit"),
        ({"memlimit": 1024}, "memlimit: Input should be greater than or equal to 8192"),
        ({"opslimit": 0}, "opslimit"),
        ({"opslimit": True}, "opslimit"),
        ({"memlimit": 67108864.0}, "memlimit"),
        ({"memlimit": "67108864"}, "memlimit"),
        ({"salt": "00" * 8}, "salt"),
        ({"name": "scrypt"}, "name"),
    ],
)
def test_kdf_limits_are_bounded_before_any_work_is_spent(tmp_path, changes, words):
    """The attack: a key file whose limits ask for a terabyte of memory or four billion passes.

    Both are refused in one line before Argon2id runs: quickly, and without the
    process's peak memory growing by the asked-for amount.
    """
    node_key, vault_key = tmp_path / "node_key.json", tmp_path / "vault_key.json"
    write_key_file(node_key, SigningKey.generate(), PASSWORD, TEST_KDF)
    seal_secret(vault_key, os.urandom(32), PASSWORD, "vault-key", TEST_KDF)
    _with_kdf(node_key, **changes)
    _with_kdf(vault_key, **changes)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(KeystoreError) as caught:
        read_key_file(node_key, PASSWORD)
    assert f"kdf.{words}" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(KeystoreError) as caught:
        open_secret(vault_key, PASSWORD, "vault-key")
    assert f"kdf.{words}" in str(caught.value) and str(vault_key) in str(caught.value)
    assert time.perf_counter() - started < 0.5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 64 * 1024  # KiB: nothing like 2^40


def test_the_largest_allowed_setting_still_opens(tmp_path):
    """The bounds are inclusive: a file at the upper memory bound (1 GiB, 'sensitive') is read."""
    path = tmp_path / "k.json"
    key = SigningKey.generate()
    write_key_file(path, key, PASSWORD, KdfCost(1, MEMLIMIT_MAX))
    assert read_key_file(path, PASSWORD).seed == key.seed


# --- password files -------------------------------------------------------------------------------


def _password_file(tmp_path, text: str, mode: int = 0o600, name: str = "pw"):
    path = tmp_path / name
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o660, 0o666, 0o610])
def test_a_password_file_others_can_read_or_write_is_refused(tmp_path, mode):
    """The attack of the finding: a world-readable file holding `hunter2` (and every looser mode)."""
    path = _password_file(tmp_path, "hunter2-but-long-enough\n", mode)
    with pytest.raises(KeystoreError) as caught:
        read_password_file(path)
    message = str(caught.value)
    assert f"mode {mode:04o}" in message and f"chmod 600 {path}" in message and "\n" not in message
    with pytest.raises(KeystoreError, match="open to other users"):
        read_password(path, min_length=MIN_NODE_PASSWORD)


def test_the_registrars_uniqueness_secret_is_refused_when_others_can_read_it(tmp_path, capsys):
    """Whoever reads the secret can test any tax code against the chain's tags: the registrar CLI refuses it."""
    from node.cli import main

    secret = _password_file(tmp_path, os.urandom(32).hex() + "\n", 0o644, name="uniqueness.secret")
    record = tmp_path / "anna.json"
    record.write_text(json.dumps({"kind": "person", "name": "Anna Rossi", "tax_code": "RSSNNA80A41L378J",
                                  "birth_date": "1980-01-01"}))
    anna = to_address(SigningKey.generate().pubkey)
    status = main(["registrar", "register", "--as", "federation", "--record", str(record), "--key", anna,
                   "--secret-file", str(secret), "--wallet-dir", str(tmp_path / "w"), "--node", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert status == 1 and "the uniqueness secret" in err and "open to other users" in err, err


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_an_owner_only_password_file_is_read(tmp_path, mode):
    assert read_password_file(_password_file(tmp_path, "twelve-chars\r\n", mode), MIN_NODE_PASSWORD) == "twelve-chars"


def test_a_short_node_password_is_refused_from_every_source(tmp_path, monkeypatch):
    """`hunter2` in a 0600 file, in the environment, or just under the minimum: refused, naming the source."""
    assert MIN_NODE_PASSWORD == 12
    path = _password_file(tmp_path, "hunter2\n")
    with pytest.raises(KeystoreError, match=rf"the password in {path} has 7 characters; at least 12 are required"):
        read_password_file(path, MIN_NODE_PASSWORD)
    assert read_password_file(path) == "hunter2", "a wallet's password file has no minimum length"
    eleven = _password_file(tmp_path, "x" * 11 + "\n", name="eleven")
    with pytest.raises(KeystoreError, match="11 characters"):
        read_password(eleven, min_length=MIN_NODE_PASSWORD)
    monkeypatch.setenv("INCOOP_KEY_PASSWORD", "hunter2")
    with pytest.raises(KeystoreError, match=r"\$INCOOP_KEY_PASSWORD has 7 characters"):
        read_password(None, env="INCOOP_KEY_PASSWORD", prompt=None, min_length=MIN_NODE_PASSWORD)
    monkeypatch.setenv("INCOOP_KEY_PASSWORD", "é" * 12)  # characters, not bytes
    assert read_password(None, env="INCOOP_KEY_PASSWORD", prompt=None, min_length=MIN_NODE_PASSWORD) == "é" * 12
    empty = _password_file(tmp_path, "\n", name="empty")
    with pytest.raises(KeystoreError, match="is empty"):
        read_password_file(empty)


def test_password_files_that_are_not_one_small_text_are_refused(tmp_path):
    big = _password_file(tmp_path, "x" * (MAX_PASSWORD_FILE_BYTES + 1), name="big")
    with pytest.raises(KeystoreError, match="longer than 1024 bytes"):
        read_password_file(big)
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe" * 8)
    binary.chmod(0o600)
    with pytest.raises(KeystoreError, match="not UTF-8"):
        read_password_file(binary)
    folder = tmp_path / "folder"
    folder.mkdir(mode=0o700)
    with pytest.raises(KeystoreError, match="not a regular file"):
        read_password_file(folder)
    with pytest.raises(KeystoreError, match="not a regular file"):
        read_password_file("/dev/zero")
    with pytest.raises(KeystoreError, match="cannot read password file .*No such file"):
        read_password_file(tmp_path / "missing")


def test_a_password_from_a_pipe_is_read(tmp_path):
    """`--password-file <(pass show node)` hands over a pipe, the owner's only: accepted like a 0600 file."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    writer = threading.Thread(target=lambda: fifo.write_text("from a password manager\n"))
    writer.start()
    assert read_password_file(fifo, MIN_NODE_PASSWORD) == "from a password manager"
    writer.join(5)


def test_generated_password_files_are_private_long_and_never_replaced(tmp_path):
    password = generate_password()
    assert len(password) == 32 and len(password) >= MIN_NODE_PASSWORD and password != generate_password()
    path = tmp_path / "node_key.pass"
    write_password_file(path, password)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_password_file(path, MIN_NODE_PASSWORD) == password
    with pytest.raises(KeystoreError, match="not replacing"):
        write_password_file(path, generate_password())
    assert read_password_file(path) == password


# --- the wallet folder ----------------------------------------------------------------------------


def test_a_new_wallet_folder_is_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        keystore = Keystore(tmp_path / "home" / ".incoop" / "wallet")
        info = keystore.create("anna", PASSWORD, kdf=TEST_KDF)
    finally:
        os.umask(old)
    assert stat.S_IMODE(keystore.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    assert keystore.exposure() is None


def test_an_existing_open_wallet_folder_is_warned_about_not_changed(tmp_path):
    """Key names are people's names: a folder others can list says whose keys these are."""
    folder = tmp_path / "wallet"
    folder.mkdir()
    folder.chmod(0o755)
    keystore = Keystore(folder)
    keystore.create("anna", PASSWORD, kdf=TEST_KDF)
    warning = keystore.exposure()
    assert warning is not None and "mode 0755" in warning and f"chmod 700 {folder}" in warning
    assert "\n" not in warning
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755, "a folder the owner made is not changed behind their back"
    folder.chmod(0o700)
    assert keystore.exposure() is None
    assert Keystore(tmp_path / "missing").exposure() is None


def test_format_md_section_22_example_opens_with_this_code():
    """FORMAT.md §22.1 quotes a key file's derived key and ciphertext: the code must open exactly that file."""
    import re
    from pathlib import Path

    import nacl.pwhash

    text = (Path(__file__).resolve().parents[1] / "FORMAT.md").read_text(encoding="utf-8")
    section = text[text.index("### 22.1 Key files"):text.index("### 22.2")]
    derived = re.search(r"k {10}= ([0-9a-f]{64})", section).group(1)
    ciphertext = "".join(re.search(r"ciphertext = ([0-9a-f]{64})\n\s+([0-9a-f]{32})", section).groups())
    password, seed = "correct horse battery staple", bytes(range(32))
    assert nacl.pwhash.argon2id.kdf(32, password.encode(), bytes(range(16)), opslimit=1, memlimit=8192).hex() == derived
    document = {
        "format": "incoop-keystore-1",
        "address": to_address(SigningKey(seed).pubkey),
        "kdf": {"name": "argon2id", "opslimit": 1, "memlimit": 8192, "salt": bytes(range(16)).hex()},
        "cipher": {"name": "xsalsa20poly1305", "nonce": bytes(range(24)).hex(), "ciphertext": ciphertext},
    }
    assert document["address"] in section
    assert decrypt_key(document, password).seed == seed
    document["unexpected"] = 1
    with pytest.raises(KeystoreError, match="unexpected"):
        decrypt_key(document, password)
