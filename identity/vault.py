"""The registrar's private vault: personal records and their salts, encrypted at rest, off chain.

Layout of a vault directory (node config `vault.dir`, default HOME/vault):

    vault_key.json   the 32-byte vault key, sealed under the node key's password
                     (wallet.keystore.seal_secret: Argon2id + XSalsa20-Poly1305), mode 0600
    db/              a LevelDB:
                       r || id(16)   SecretBox(vault_key).encrypt(canonical([id, canonical_record, salt]))
                       m || "check"  SecretBox(vault_key).encrypt(b"incoop-vault-check")

Nothing in the LevelDB is in clear but the 16-byte identity ids. The id is
inside the ciphertext as well, so a record moved to another id's key fails
to open instead of being served as someone else's. The check entry makes a
vault opened with another key (a lost and re-created key file) refuse at
once rather than on the first read.

Erasure (GDPR art. 17) deletes the entry and compacts the whole database, so
that neither the record nor its ciphertext survives in the LevelDB files (the
write-ahead log and older tables are rewritten and removed by the compaction).

The Argon2id cost is the node key's: the password is the same, so a
costlier derivation here would not slow an attacker, who would attack the
node key file instead.

This module never logs, and its errors never carry record contents.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import nacl.exceptions
import nacl.secret
import nacl.utils
import plyvel

from identity.commitment import (
    SALT_LEN,
    PersonalRecord,
    RecordError,
    canonical_record,
    record_from_canonical,
)
from identity.records import ID_LEN
from ledger.encoding import EncodingError, decode, encode
from wallet.keystore import KeystoreError, open_secret, seal_secret

KEY_FILE = "vault_key.json"
DB_DIR = "db"
KEY_PURPOSE = "vault-key"
P_RECORD = b"r"
K_CHECK = b"m" + b"check"
_CHECK_PLAINTEXT = b"incoop-vault-check"
_MAX_ENTRY = 64 * 1024


class VaultError(RuntimeError):
    """The vault cannot be opened or read (wrong password, missing key, corrupt entry)."""


class RecordExists(VaultError):
    """put() of an id the vault already holds."""


def _check_id(identity_id: bytes) -> bytes:
    if type(identity_id) is not bytes or len(identity_id) != ID_LEN:
        raise ValueError(f"an identity id is {ID_LEN} bytes")
    return identity_id


def unlock_vault_key(directory: Path, password: str) -> bytes:
    """The vault key of `directory`, created (random, sealed) on first use; VaultError if it cannot be opened."""
    directory = Path(directory)
    key_path = directory / KEY_FILE
    if not key_path.exists():
        db_path = directory / DB_DIR
        if db_path.exists() and any(db_path.iterdir()):
            raise VaultError(f"the vault at {directory} holds data but its key file {key_path} is missing; "
                             "restore the key file (a new key cannot open the old records)")
        key = nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE)
        try:
            seal_secret(key_path, key, password, KEY_PURPOSE)
        except KeystoreError as exc:
            raise VaultError(f"cannot create the vault key {key_path}: {exc}") from exc
        return key
    try:
        key = open_secret(key_path, password, KEY_PURPOSE)
    except KeystoreError as exc:
        raise VaultError(f"cannot unlock the vault key {key_path}: {exc}") from exc
    if len(key) != nacl.secret.SecretBox.KEY_SIZE:
        raise VaultError(f"the vault key in {key_path} is not {nacl.secret.SecretBox.KEY_SIZE} bytes")
    return key


class Vault:
    """Personal records and salts by identity id; thread-safe; a context manager."""

    def __init__(self, directory: str | Path, password: str):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        self._box = nacl.secret.SecretBox(unlock_vault_key(self.directory, password))
        try:
            self.db = plyvel.DB(str(self.directory / DB_DIR), create_if_missing=True)
        except plyvel.Error as exc:
            raise VaultError(f"cannot open the vault at {self.directory}: {exc}") from exc
        self._lock = threading.Lock()
        try:
            self._check_key()
        except BaseException:
            self.db.close()
            raise

    def _check_key(self) -> None:
        sealed = self.db.get(K_CHECK)
        if sealed is None:
            if next(self.db.iterator(prefix=P_RECORD, include_value=False), None) is not None:
                raise VaultError(f"the vault at {self.directory} has records but no key check entry")
            self.db.put(K_CHECK, self._box.encrypt(_CHECK_PLAINTEXT), sync=True)
            return
        try:
            ok = self._box.decrypt(sealed) == _CHECK_PLAINTEXT
        except nacl.exceptions.CryptoError:
            ok = False
        if not ok:
            raise VaultError(f"the vault key {self.directory / KEY_FILE} does not open the vault's records")

    # --- lifecycle -----------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if not self.db.closed:
                self.db.close()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- records ---------------------------------------------------------------------

    def put(self, identity_id: bytes, record: PersonalRecord, salt: bytes) -> None:
        """Store a record and its salt; RecordExists if the id is taken."""
        key = P_RECORD + _check_id(identity_id)
        if type(salt) is not bytes or len(salt) != SALT_LEN:
            raise ValueError(f"a salt is {SALT_LEN} bytes")
        sealed = self._box.encrypt(encode((identity_id, canonical_record(record), salt)))
        with self._lock:
            if self.db.get(key) is not None:
                raise RecordExists(f"the vault already holds identity {identity_id.hex()}")
            self.db.put(key, sealed, sync=True)

    def get(self, identity_id: bytes) -> tuple[PersonalRecord, bytes] | None:
        """(record, salt), or None if the vault holds nothing for the id."""
        sealed = self.db.get(P_RECORD + _check_id(identity_id))
        if sealed is None:
            return None
        try:
            value = decode(self._box.decrypt(sealed), _MAX_ENTRY)
            stored_id, raw_record, salt = value
            if stored_id != identity_id or type(salt) is not bytes or len(salt) != SALT_LEN:
                raise ValueError
            return record_from_canonical(raw_record), salt
        except (nacl.exceptions.CryptoError, EncodingError, RecordError, TypeError, ValueError):
            raise VaultError(f"the vault entry of identity {identity_id.hex()} is corrupt or was tampered with") from None

    def __contains__(self, identity_id: bytes) -> bool:
        return self.db.get(P_RECORD + _check_id(identity_id)) is not None

    def delete(self, identity_id: bytes) -> bool:
        """Erase a record and its salt, and compact so that no file keeps them; False if there was none."""
        key = P_RECORD + _check_id(identity_id)
        with self._lock:
            if self.db.get(key) is None:
                return False
            # First push everything, the record included, out of the memtable and the
            # write-ahead log into tables; then the deletion marker lands in a younger
            # table above the record's, and the second compaction merges the two and
            # drops both. (Flushed together in one table, record and marker would sit
            # at the bottom level, where a manual compaction never rewrites them.)
            self._compact(key)
            self.db.delete(key, sync=True)
            self._compact(key)
        return True

    def _compact(self, key: bytes) -> None:
        # Flushes the memtable and rewrites, level by level, every table whose range
        # holds `key`. Explicit bounds: plyvel passes an omitted bound as an empty
        # key, not as "unbounded", so a bare compact_range() compacts nothing.
        self.db.compact_range(start=key, stop=key)

    def ids(self) -> list[bytes]:
        """The ids the vault holds, in byte order."""
        return [key[len(P_RECORD):] for key in self.db.iterator(prefix=P_RECORD, include_value=False)]
