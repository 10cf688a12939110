"""Encrypted key files: Argon2id from a password, then XSalsa20-Poly1305 (libsodium secretbox).

One key per JSON file, named after its label. The file holds the address in
clear (to list keys without a password) and the Ed25519 seed encrypted; a
wrong password or a tampered file fails authentication and says so. Files are
written atomically (temp file, fsync, rename) with mode 0600.

Node keys use the same format, so that no key of incoop rests unencrypted.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from ledger.address import to_address
from ledger.crypto import SigningKey

FORMAT = "incoop-keystore-1"
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
PASSWORD_ENV = "INCOOP_PASSWORD"

# Argon2id cost: libsodium's "interactive" limits (64 MiB, 2 passes) by default;
# `strong=True` uses "moderate" (256 MiB, 3 passes) for keys that guard more.
_COST = {
    False: (nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE, nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE),
    True: (nacl.pwhash.argon2id.OPSLIMIT_MODERATE, nacl.pwhash.argon2id.MEMLIMIT_MODERATE),
}


class KeystoreError(Exception):
    """A key file is missing, unreadable, corrupt, or the password is wrong."""


@dataclass(frozen=True)
class KeyInfo:
    label: str
    address: str
    path: Path


def _derive(password: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, password.encode("utf-8"), salt, opslimit=opslimit, memlimit=memlimit
    )


def encrypt_key(key: SigningKey, password: str, strong: bool = False) -> dict:
    if not password:
        raise KeystoreError("an empty password protects nothing")
    opslimit, memlimit = _COST[strong]
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    box = nacl.secret.SecretBox(_derive(password, salt, opslimit, memlimit))
    nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    address = to_address(key.pubkey)
    # the address is authenticated data in effect: it is checked against the decrypted key
    ciphertext = box.encrypt(key.seed, nonce).ciphertext
    return {
        "format": FORMAT,
        "address": address,
        "kdf": {"name": "argon2id", "opslimit": opslimit, "memlimit": memlimit, "salt": salt.hex()},
        "cipher": {"name": "xsalsa20poly1305", "nonce": nonce.hex(), "ciphertext": ciphertext.hex()},
    }


def decrypt_key(document: dict, password: str) -> SigningKey:
    try:
        if document.get("format") != FORMAT:
            raise KeystoreError(f"not an incoop key file (format {document.get('format')!r})")
        kdf, cipher = document["kdf"], document["cipher"]
        if kdf["name"] != "argon2id" or cipher["name"] != "xsalsa20poly1305":
            raise KeystoreError("unsupported key file algorithms")
        secret = _derive(password, bytes.fromhex(kdf["salt"]), int(kdf["opslimit"]), int(kdf["memlimit"]))
        box = nacl.secret.SecretBox(secret)
        seed = box.decrypt(bytes.fromhex(cipher["ciphertext"]), bytes.fromhex(cipher["nonce"]))
    except nacl.exceptions.CryptoError as exc:
        raise KeystoreError("wrong password, or the key file was altered") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise KeystoreError(f"corrupt key file: {exc}") from exc
    key = SigningKey(seed)
    if to_address(key.pubkey) != document.get("address"):
        raise KeystoreError("the key file's address does not match its key")
    return key


def write_key_file(path: Path, key: SigningKey, password: str, strong: bool = False) -> None:
    _write_private_json(path, encrypt_key(key, password, strong))


def _write_private_json(path: Path, document: dict) -> None:
    """Atomically (temp file, fsync, rename, fsync of the directory), readable by the owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(document, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_key_file(path: Path, password: str) -> SigningKey:
    return decrypt_key(_read_json(path), password)


# --- sealed secrets: other 32-byte secrets a node keeps under its key's password -----------

SECRET_FORMAT = "incoop-secret-1"


def seal_secret(path: Path, secret: bytes, password: str, purpose: str) -> None:
    """Write `secret` encrypted under `password` (Argon2id + secretbox, as key files), mode 0600, atomically.

    `purpose` (e.g. "vault-key") is stored in clear and checked on opening, so
    that one sealed file is never taken for another.
    """
    if not password:
        raise KeystoreError("an empty password protects nothing")
    opslimit, memlimit = _COST[False]
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    box = nacl.secret.SecretBox(_derive(password, salt, opslimit, memlimit))
    nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    _write_private_json(path, {
        "format": SECRET_FORMAT,
        "purpose": purpose,
        "kdf": {"name": "argon2id", "opslimit": opslimit, "memlimit": memlimit, "salt": salt.hex()},
        "cipher": {"name": "xsalsa20poly1305", "nonce": nonce.hex(), "ciphertext": box.encrypt(bytes(secret), nonce).ciphertext.hex()},
    })


def open_secret(path: Path, password: str, purpose: str) -> bytes:
    """The secret sealed at `path`; KeystoreError if missing, altered, of another purpose, or the password is wrong."""
    document = _read_json(path)
    try:
        if document.get("format") != SECRET_FORMAT:
            raise KeystoreError(f"{path} is not an incoop sealed secret (format {document.get('format')!r})")
        if document.get("purpose") != purpose:
            raise KeystoreError(f"{path} holds a {document.get('purpose')!r} secret, not a {purpose!r} one")
        kdf, cipher = document["kdf"], document["cipher"]
        if kdf["name"] != "argon2id" or cipher["name"] != "xsalsa20poly1305":
            raise KeystoreError(f"unsupported algorithms in {path}")
        box = nacl.secret.SecretBox(_derive(password, bytes.fromhex(kdf["salt"]), int(kdf["opslimit"]), int(kdf["memlimit"])))
        return box.decrypt(bytes.fromhex(cipher["ciphertext"]), bytes.fromhex(cipher["nonce"]))
    except nacl.exceptions.CryptoError as exc:
        raise KeystoreError(f"wrong password, or {path} was altered") from exc
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise KeystoreError(f"corrupt sealed secret {path}: {exc}") from exc


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KeystoreError(f"no key file at {path}") from exc
    except (OSError, ValueError) as exc:
        raise KeystoreError(f"cannot read key file {path}: {exc}") from exc


def read_password(password_file: str | Path | None = None, env: str = PASSWORD_ENV, prompt: str | None = "Password: ", confirm: bool = False) -> str:
    """The password from a file, else the environment, else a prompt on the terminal."""
    if password_file:
        try:
            return Path(password_file).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise KeystoreError(f"cannot read password file {password_file}: {exc.strerror}") from exc
    if os.environ.get(env):
        return os.environ[env]
    if prompt is None or not os.isatty(0):
        raise KeystoreError(f"no password: give --password-file or set {env}")
    import getpass

    password = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat password: ") != password:
        raise KeystoreError("the passwords differ")
    return password


class Keystore:
    """A directory of key files, one per label."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def path_of(self, label: str) -> Path:
        if not LABEL.fullmatch(label):
            raise KeystoreError(f"invalid key name {label!r} (letters, digits, '_', '.', '-'; up to 64)")
        return self.directory / f"{label}.json"

    def create(self, label: str, password: str, key: SigningKey | None = None) -> KeyInfo:
        path = self.path_of(label)
        if path.exists():
            raise KeystoreError(f"a key named {label!r} already exists")
        key = key or SigningKey.generate()
        write_key_file(path, key, password)
        return KeyInfo(label, to_address(key.pubkey), path)

    def list(self) -> list[KeyInfo]:
        if not self.directory.is_dir():
            return []
        out = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                document = _read_json(path)
            except KeystoreError:
                continue
            if document.get("format") == FORMAT:
                out.append(KeyInfo(path.stem, document.get("address", "?"), path))
        return out

    def info(self, label: str) -> KeyInfo:
        path = self.path_of(label)
        document = _read_json(path)
        return KeyInfo(label, document.get("address", "?"), path)

    def unlock(self, label: str, password: str) -> SigningKey:
        return read_key_file(self.path_of(label), password)
