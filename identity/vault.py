"""The registrar's private vault: personal records and their salts, encrypted at rest, off chain.

Layout of a vault directory (node config `vault.dir`, default HOME/vault; FORMAT.md §19.4):

    vault_key.json   the 32-byte vault key, sealed under the vault's own password (not the node
                     key's: docs/keys.md) with the node Argon2id setting (keys.keystore), mode 0600
    db/              a LevelDB:
                       r || HMAC-SHA256(index_key, id)   SecretBox(vault_key).encrypt(canonical([id, canonical_record, salt]))
                       m || "check"                      SecretBox(vault_key).encrypt(b"incoop-vault-check")
                     where index_key = HMAC-SHA256(vault_key, b"incoop/vault/index-key/v1")

Nothing in the LevelDB is in clear, not even the identity ids: an entry is
found by a keyed hash of its id, so that neither the tables nor LevelDB's own
LOG and MANIFEST (which name the keys at the edges of every table and of
every compaction) ever hold an id, before or after its erasure. The id is
inside the ciphertext, so a record moved to another entry fails to open
instead of being served as someone else's, and the vault can list its ids.
The check entry makes a vault opened with another key (a lost and re-created
key file) refuse at once rather than on the first read.

Erasure (GDPR art. 17) deletes the entry and compacts the database around
it, so that neither the record nor its ciphertext survives in the LevelDB
files (the write-ahead log and older tables are rewritten and removed by the
compaction).

This module never logs, and its errors never carry record contents.
"""

from __future__ import annotations

import hashlib
import hmac
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
from keys.keystore import NODE_KDF, KdfCost, KeystoreError, open_secret, seal_secret
from ledger.encoding import EncodingError, decode, encode

KEY_FILE = "vault_key.json"
DB_DIR = "db"
KEY_PURPOSE = "vault-key"
P_RECORD = b"r"
K_CHECK = b"m" + b"check"
INDEX_KEY_LABEL = b"incoop/vault/index-key/v1"
_ENTRY_KEY_LEN = len(P_RECORD) + hashlib.sha256().digest_size
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


def _private_directory(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)


def create_vault_key(directory: Path, password: str, kdf: KdfCost = NODE_KDF) -> bytes:
    """A new random vault key for `directory`, sealed under `password`; VaultError if the vault has one or holds data.

    `incoop node init --vault` and the devnet call this; a node whose vault
    has no key yet calls it on first start (unlock_vault_key).
    """
    directory = Path(directory)
    key_path = directory / KEY_FILE
    if key_path.exists():
        raise VaultError(f"{key_path} exists; not replacing a vault key")
    db_path = directory / DB_DIR
    if db_path.exists() and any(db_path.iterdir()):
        raise VaultError(f"the vault at {directory} holds data but its key file {key_path} is missing; "
                         "restore the key file (a new key cannot open the old records)")
    _private_directory(directory)
    key = nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE)
    try:
        seal_secret(key_path, key, password, KEY_PURPOSE, kdf)
    except KeystoreError as exc:
        raise VaultError(f"cannot create the vault key {key_path}: {exc}") from exc
    return key


def unlock_vault_key(directory: Path, password: str, kdf: KdfCost = NODE_KDF) -> bytes:
    """The vault key of `directory`, created (random, sealed with `kdf`) on first use; VaultError if it cannot be opened."""
    directory = Path(directory)
    key_path = directory / KEY_FILE
    if not key_path.exists():
        return create_vault_key(directory, password, kdf)
    try:
        key = open_secret(key_path, password, KEY_PURPOSE)
    except KeystoreError as exc:
        raise VaultError(f"cannot unlock the vault key {key_path}: {exc}") from exc
    if len(key) != nacl.secret.SecretBox.KEY_SIZE:
        raise VaultError(f"the vault key in {key_path} is not {nacl.secret.SecretBox.KEY_SIZE} bytes")
    return key


class Vault:
    """Personal records and salts by identity id; thread-safe; a context manager.

    `kdf` is the Argon2id setting of a vault key made on first use; an existing
    key file is opened with the setting it was sealed with (within the bounds
    of FORMAT.md §22).
    """

    def __init__(self, directory: str | Path, password: str, kdf: KdfCost = NODE_KDF):
        self.directory = Path(directory)
        _private_directory(self.directory)
        vault_key = unlock_vault_key(self.directory, password, kdf)
        self._box = nacl.secret.SecretBox(vault_key)
        self._index_key = hmac.new(vault_key, INDEX_KEY_LABEL, hashlib.sha256).digest()
        try:
            self.db = plyvel.DB(str(self.directory / DB_DIR), create_if_missing=True)
        except plyvel.Error as exc:
            raise VaultError(f"cannot open the vault at {self.directory}: {exc}") from exc
        self._lock = threading.Lock()
        try:
            self._check_key()
            self._check_layout()
        except BaseException:
            self.db.close()
            raise

    def _entry_key(self, identity_id: bytes) -> bytes:
        """Where the record of `identity_id` rests: a keyed hash, so that no LevelDB file ever names the id."""
        return P_RECORD + hmac.new(self._index_key, _check_id(identity_id), hashlib.sha256).digest()

    def _check_layout(self) -> None:
        # Entries are written by this layout only, so the first one tells: an older vault kept them under
        # r || id (17 bytes), which this code would neither find nor erase.
        first = next(self.db.iterator(prefix=P_RECORD, include_value=False), None)
        if first is not None and len(first) != _ENTRY_KEY_LEN:
            raise VaultError(f"the vault at {self.directory} keeps its records under their ids (an older layout); "
                             "this version keys them by a keyed hash (FORMAT.md §19.4) and cannot serve it")

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
        key = self._entry_key(identity_id)
        if type(salt) is not bytes or len(salt) != SALT_LEN:
            raise ValueError(f"a salt is {SALT_LEN} bytes")
        sealed = self._box.encrypt(encode((identity_id, canonical_record(record), salt)))
        with self._lock:
            if self.db.get(key) is not None:
                raise RecordExists(f"the vault already holds identity {identity_id.hex()}")
            self.db.put(key, sealed, sync=True)

    def get(self, identity_id: bytes) -> tuple[PersonalRecord, bytes] | None:
        """(record, salt), or None if the vault holds nothing for the id."""
        sealed = self.db.get(self._entry_key(identity_id))
        if sealed is None:
            return None
        opened = self._open(sealed)
        if opened is None or opened[0] != identity_id:
            raise VaultError(f"the vault entry of identity {identity_id.hex()} is corrupt or was tampered with")
        return opened[1], opened[2]

    def _open(self, sealed: bytes) -> tuple[bytes, PersonalRecord, bytes] | None:
        """(id, record, salt) of a stored value, or None if it does not open or is malformed."""
        try:
            stored_id, raw_record, salt = decode(self._box.decrypt(sealed), _MAX_ENTRY)
            if type(stored_id) is not bytes or len(stored_id) != ID_LEN or type(salt) is not bytes or len(salt) != SALT_LEN:
                return None
            return stored_id, record_from_canonical(raw_record), salt
        except (nacl.exceptions.CryptoError, EncodingError, RecordError, TypeError, ValueError):
            return None

    def __contains__(self, identity_id: bytes) -> bool:
        return self.db.get(self._entry_key(identity_id)) is not None

    def delete(self, identity_id: bytes) -> bool:
        """Erase a record and its salt, and compact so that no file keeps them; False if there was none."""
        key = self._entry_key(identity_id)
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
        """The ids the vault holds, in byte order (read from inside the entries: their keys are hashes)."""
        ids = []
        for key, sealed in self.db.iterator(prefix=P_RECORD):
            opened = self._open(sealed)
            if opened is None or self._entry_key(opened[0]) != key:
                raise VaultError(f"the vault at {self.directory} holds an entry that is corrupt or was tampered with")
            ids.append(opened[0])
        return sorted(ids)
