"""Encrypted key files: Argon2id from a password, then XSalsa20-Poly1305 (libsodium secretbox).

One key per JSON file, named after its label. The file holds the address in
clear (to list keys without a password) and the Ed25519 seed encrypted; a
wrong password or a tampered file fails authentication and says so. Files are
written atomically (temp file, fsync, rename) with mode 0600. The format, the
KDF settings and the bounds a reader enforces are FORMAT.md §22; what an
operator needs (password files, minimum lengths) is docs/keys.md.

Node keys and the vault key use the same format, so that no key of incoop
rests unencrypted, but a costlier Argon2id setting (NODE_KDF): they are
unlocked once per start, guard a validator's vote or every personal record,
and their files sit on servers. A resident's wallet keys keep the interactive
setting (WALLET_KDF): they are unlocked for every payment.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ledger.address import to_address
from ledger.crypto import SigningKey

FORMAT = "incoop-keystore-1"
SECRET_FORMAT = "incoop-secret-1"
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
PASSWORD_ENV = "INCOOP_PASSWORD"

# The bounds every Argon2id setting is held to, on writing and, before any work is spent, on
# reading (FORMAT.md §22.1): a key file is data, and 2^40 bytes of "memlimit" in one must not
# make a node try to allocate a terabyte.
OPSLIMIT_MIN, OPSLIMIT_MAX = 1, 10
MEMLIMIT_MIN, MEMLIMIT_MAX = 8 * 1024, 1 << 30  # 8 KiB (libsodium's minimum) .. 1 GiB ("sensitive")

# Node and vault passwords (files, environment, prompts) are refused below this length (docs/keys.md).
MIN_NODE_PASSWORD = 12
MAX_PASSWORD_FILE_BYTES = 1024
GENERATED_PASSWORD_BYTES = 24  # 192 random bits, 32 characters of URL-safe base64


class KeystoreError(Exception):
    """A key file is missing, unreadable, corrupt, or the password is wrong."""


@dataclass(frozen=True)
class KdfCost:
    """An Argon2id setting: `opslimit` passes over `memlimit` bytes, within the bounds above."""

    opslimit: int
    memlimit: int

    def __post_init__(self) -> None:
        if not OPSLIMIT_MIN <= self.opslimit <= OPSLIMIT_MAX or not MEMLIMIT_MIN <= self.memlimit <= MEMLIMIT_MAX:
            raise KeystoreError(f"Argon2id setting ({self.opslimit} passes, {self.memlimit} bytes) outside "
                                f"{OPSLIMIT_MIN}..{OPSLIMIT_MAX} passes, {MEMLIMIT_MIN}..{MEMLIMIT_MAX} bytes")


WALLET_KDF = KdfCost(nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE, nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE)  # 2, 64 MiB
NODE_KDF = KdfCost(nacl.pwhash.argon2id.OPSLIMIT_MODERATE, nacl.pwhash.argon2id.MEMLIMIT_MODERATE)  # 3, 256 MiB


@dataclass(frozen=True)
class KeyInfo:
    label: str
    address: str
    path: Path


# --- the documents, as read: every field's form and the KDF bounds checked before any work -----


def _hex(min_bytes: int, max_bytes: int) -> str:
    return f"^(?:[0-9a-f]{{2}}){{{min_bytes},{max_bytes}}}$"


class _Kdf(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    name: Literal["argon2id"]
    opslimit: int = Field(ge=OPSLIMIT_MIN, le=OPSLIMIT_MAX)
    memlimit: int = Field(ge=MEMLIMIT_MIN, le=MEMLIMIT_MAX)
    salt: str = Field(pattern=_hex(nacl.pwhash.argon2id.SALTBYTES, nacl.pwhash.argon2id.SALTBYTES))


class _Cipher(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    name: Literal["xsalsa20poly1305"]
    nonce: str = Field(pattern=_hex(nacl.secret.SecretBox.NONCE_SIZE, nacl.secret.SecretBox.NONCE_SIZE))
    ciphertext: str = Field(pattern=_hex(nacl.secret.SecretBox.MACBYTES + 1, nacl.secret.SecretBox.MACBYTES + 1024))


class _KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    format: Literal["incoop-keystore-1"]
    address: str = Field(max_length=128)
    kdf: _Kdf
    cipher: _Cipher


class _SecretFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    format: Literal["incoop-secret-1"]
    purpose: str = Field(max_length=64)
    kdf: _Kdf
    cipher: _Cipher


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "document"
    return f"{where}: {first['msg']}"


def _derive(password: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, password.encode("utf-8"), salt, opslimit=opslimit, memlimit=memlimit
    )


def _seal(plaintext: bytes, password: str, kdf: KdfCost) -> dict:
    """The "kdf" and "cipher" members of a key file or sealed secret holding `plaintext`."""
    if not password:
        raise KeystoreError("an empty password protects nothing")
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    box = nacl.secret.SecretBox(_derive(password, salt, kdf.opslimit, kdf.memlimit))
    nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    return {
        "kdf": {"name": "argon2id", "opslimit": kdf.opslimit, "memlimit": kdf.memlimit, "salt": salt.hex()},
        "cipher": {"name": "xsalsa20poly1305", "nonce": nonce.hex(), "ciphertext": box.encrypt(plaintext, nonce).ciphertext.hex()},
    }


def _unseal(kdf: _Kdf, cipher: _Cipher, password: str) -> bytes:
    """The plaintext; nacl.exceptions.CryptoError for a wrong password or an altered file."""
    box = nacl.secret.SecretBox(_derive(password, bytes.fromhex(kdf.salt), kdf.opslimit, kdf.memlimit))
    return box.decrypt(bytes.fromhex(cipher.ciphertext), bytes.fromhex(cipher.nonce))


def kdf_of(document: dict) -> KdfCost:
    """The Argon2id setting a key file or sealed secret was written with (KeystoreError if out of bounds)."""
    try:
        kdf = _Kdf.model_validate(document.get("kdf") if isinstance(document, dict) else None)
    except ValidationError as exc:
        raise KeystoreError(f"corrupt key file: kdf.{_first_error(exc)}") from None
    return KdfCost(kdf.opslimit, kdf.memlimit)


# --- key files ---------------------------------------------------------------------------------


def encrypt_key(key: SigningKey, password: str, kdf: KdfCost = NODE_KDF) -> dict:
    # the address is authenticated data in effect: it is checked against the decrypted key
    return {"format": FORMAT, "address": to_address(key.pubkey), **_seal(key.seed, password, kdf)}


def decrypt_key(document: dict, password: str) -> SigningKey:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else None
        raise KeystoreError(f"not an incoop key file (format {found!r})")
    try:
        parsed = _KeyFile.model_validate(document)
    except ValidationError as exc:
        raise KeystoreError(f"corrupt key file: {_first_error(exc)}") from None
    try:
        seed = _unseal(parsed.kdf, parsed.cipher, password)
    except nacl.exceptions.CryptoError as exc:
        raise KeystoreError("wrong password, or the key file was altered") from exc
    if len(seed) != 32:
        raise KeystoreError("corrupt key file: the encrypted seed is not 32 bytes")
    key = SigningKey(seed)
    if to_address(key.pubkey) != parsed.address:
        raise KeystoreError("the key file's address does not match its key")
    return key


def write_key_file(path: Path, key: SigningKey, password: str, kdf: KdfCost = NODE_KDF) -> None:
    """A key file at `path` (0600, atomically); the default setting is the node's, a wallet passes WALLET_KDF."""
    _write_private_json(path, encrypt_key(key, password, kdf))


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
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_key_file(path: Path, password: str) -> SigningKey:
    return decrypt_key(_read_json(path), password)


# --- sealed secrets: other 32-byte secrets a node keeps (the vault key) ------------------------


def seal_secret(path: Path, secret: bytes, password: str, purpose: str, kdf: KdfCost = NODE_KDF) -> None:
    """Write `secret` encrypted under `password` (Argon2id + secretbox, as key files), mode 0600, atomically.

    `purpose` (e.g. "vault-key") is stored in clear and checked on opening, so
    that one sealed file is never taken for another.
    """
    _write_private_json(path, {"format": SECRET_FORMAT, "purpose": purpose, **_seal(bytes(secret), password, kdf)})


def open_secret(path: Path, password: str, purpose: str) -> bytes:
    """The secret sealed at `path`; KeystoreError if missing, altered, of another purpose, or the password is wrong."""
    document = _read_json(path)
    if not isinstance(document, dict) or document.get("format") != SECRET_FORMAT:
        found = document.get("format") if isinstance(document, dict) else None
        raise KeystoreError(f"{path} is not an incoop sealed secret (format {found!r})")
    if document.get("purpose") != purpose:
        raise KeystoreError(f"{path} holds a {document.get('purpose')!r} secret, not a {purpose!r} one")
    try:
        parsed = _SecretFile.model_validate(document)
    except ValidationError as exc:
        raise KeystoreError(f"corrupt sealed secret {path}: {_first_error(exc)}") from None
    try:
        return _unseal(parsed.kdf, parsed.cipher, password)
    except nacl.exceptions.CryptoError as exc:
        raise KeystoreError(f"wrong password, or {path} was altered") from exc


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KeystoreError(f"no key file at {path}") from exc
    except (OSError, ValueError) as exc:
        raise KeystoreError(f"cannot read key file {path}: {exc}") from exc


# --- passwords ---------------------------------------------------------------------------------


def check_password_length(password: str, min_length: int, source: str) -> str:
    """`password` if it has at least `min_length` characters, else a KeystoreError naming `source`."""
    if not password:
        raise KeystoreError(f"{source} is empty")
    if len(password) < min_length:
        raise KeystoreError(f"{source} has {len(password)} characters; at least {min_length} are required")
    return password


def read_private_file(path: str | Path, what: str, max_bytes: int = MAX_PASSWORD_FILE_BYTES) -> bytes:
    """The bytes of a secret file (a password, the registrars' uniqueness secret).

    Refused, with one line: a file that others may read or write (mode &
    0o077: a secret anyone on the machine can read protects nothing), one
    that is not a regular file or pipe, or longer than `max_bytes`. The mode
    is taken from the open file itself, so a swap between the check and the
    read changes nothing.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY)
    except OSError as exc:
        raise KeystoreError(f"cannot read {what} {path}: {exc.strerror}") from exc
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
            raise KeystoreError(f"{what} {path} is not a regular file")
        if mode & 0o077:
            raise KeystoreError(f"{what} {path} is open to other users (mode {stat.S_IMODE(mode):04o}); "
                                f"make it the owner's only: chmod 600 {path}")
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise KeystoreError(f"cannot read {what} {path}: {exc.strerror}") from exc
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise KeystoreError(f"{what} {path} is longer than {max_bytes} bytes")
    return data


def read_password_file(path: str | Path, min_length: int = 0) -> str:
    """The password in `path` (one line; a trailing newline is not part of it), by the rules of
    `read_private_file`; also refused: not UTF-8, empty, or shorter than `min_length` characters."""
    data = read_private_file(path, "password file")
    try:
        password = data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise KeystoreError(f"password file {path} is not UTF-8 text") from None
    return check_password_length(password, min_length, f"the password in {path}")


def read_password(
    password_file: str | Path | None = None,
    env: str = PASSWORD_ENV,
    prompt: str | None = "Password: ",
    confirm: bool = False,
    min_length: int = 0,
) -> str:
    """The password from a file (read_password_file's rules), else the environment, else a prompt on the terminal.

    `min_length` holds whatever the source: node and vault passwords pass MIN_NODE_PASSWORD.
    """
    if password_file:
        return read_password_file(password_file, min_length)
    if os.environ.get(env):
        return check_password_length(os.environ[env], min_length, f"${env}")
    if prompt is None or not os.isatty(0):
        raise KeystoreError(f"no password: give --password-file or set {env}")
    import getpass

    password = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat password: ") != password:
        raise KeystoreError("the passwords differ")
    return check_password_length(password, min_length, "the password")


def generate_password() -> str:
    """A fresh random password for a machine to keep (node init, the devnet): 32 URL-safe characters."""
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


def write_password_file(path: Path, password: str) -> None:
    """Create `path` (never replacing a file) holding `password` and a newline, mode 0600, synced."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeystoreError(f"{path} exists; not replacing a password file") from None
    except OSError as exc:
        raise KeystoreError(f"cannot create password file {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(password + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_directory(path.parent)


# --- the wallet: a private directory of key files ----------------------------------------------


class Keystore:
    """A directory of key files, one per label, made 0700: the labels are often people's names."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def path_of(self, label: str) -> Path:
        if not LABEL.fullmatch(label):
            raise KeystoreError(f"invalid key name {label!r} (letters, digits, '_', '.', '-'; up to 64)")
        return self.directory / f"{label}.json"

    def exposure(self) -> str | None:
        """A one-line warning if the directory exists and other users may list or enter it, else None.

        An existing folder is not changed behind its owner's back (it may be
        one the owner named for other uses too, even a home directory); the
        warning says the one command that makes it private.
        """
        try:
            mode = self.directory.stat().st_mode
        except OSError:
            return None
        if not stat.S_ISDIR(mode) or not mode & 0o077:
            return None
        return (f"the wallet folder {self.directory} is open to other users (mode {stat.S_IMODE(mode):04o}), "
                f"who can see whose keys it holds; make it private: chmod 700 {self.directory}")

    def _make_directory(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True)
        except FileExistsError:
            return
        os.chmod(self.directory, 0o700)  # whatever the umask

    def create(self, label: str, password: str, key: SigningKey | None = None, kdf: KdfCost = WALLET_KDF) -> KeyInfo:
        path = self.path_of(label)
        if path.exists():
            raise KeystoreError(f"a key named {label!r} already exists")
        key = key or SigningKey.generate()
        self._make_directory()
        write_key_file(path, key, password, kdf)
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
            if isinstance(document, dict) and document.get("format") == FORMAT:
                out.append(KeyInfo(path.stem, document.get("address", "?"), path))
        return out

    def info(self, label: str) -> KeyInfo:
        path = self.path_of(label)
        document = _read_json(path)
        return KeyInfo(label, document.get("address", "?") if isinstance(document, dict) else "?", path)

    def unlock(self, label: str, password: str) -> SigningKey:
        return read_key_file(self.path_of(label), password)
