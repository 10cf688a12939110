"""The personal record, its commitment, and the registrar's vault at rest (identity/commitment.py, identity/vault.py).

What must hold: one record has one byte form and one commitment per salt;
a bad record is refused naming its field; the vault gives back what it was
given, keeps nothing in clear on disk — not even an identity id, in any
LevelDB file — and after erasure keeps not even the ciphertext; its key rests
sealed (0600) under its own password with the node Argon2id setting, and a
wrong password or a swapped key file is refused with a clear message.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity import records
from identity.commitment import (
    COMMITMENT_TAG,
    FIELDS,
    PersonalRecord,
    RecordError,
    canonical_record,
    commitment,
    parse_record,
    record_from_canonical,
    record_json,
)
from identity.vault import DB_DIR, KEY_FILE, RecordExists, Vault, VaultError, create_vault_key
from keys.keystore import NODE_KDF, kdf_of, seal_secret
from ledger.crypto import sha256
from ledger.encoding import encode
from tests.vault_files import files_naming
from tests.weak_kdf import TEST_KDF

PASSWORD = "vault key password"
NAME = "Maria Bianchi-Esposito"
TAX_CODE = "RSSMRA80A01H501U"  # a codice fiscale with a valid check character


def mario(**changes) -> dict:
    record = {
        "kind": "person",
        "name": NAME,
        "tax_code": TAX_CODE,
        "birth_date": "1980-01-01",
        "address": "Via Roma 1, 38122 Trento",
        "contacts": ["maria@example.org", "+39 0461 000000"],
        "documents": ["CI AX1234567"],
    }
    record.update(changes)
    return record


def vault_bytes(directory: Path) -> bytes:
    """Every byte of every file under the vault directory."""
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


def personal_fields_in(data: bytes) -> list[str]:
    found = []
    for text in (NAME, TAX_CODE, "Bianchi", "AX1234567", "maria@example.org"):
        for encoding in ("utf-8", "utf-16-le"):
            if text.encode(encoding) in data:
                found.append(f"{text} ({encoding})")
    return found


# --- the record and its commitment -------------------------------------------------------------


def test_canonical_record_is_the_fixed_order_array():
    record = parse_record(mario())
    expected = encode((
        "person", NAME, TAX_CODE, "1980-01-01", "Via Roma 1, 38122 Trento",
        ("maria@example.org", "+39 0461 000000"), ("CI AX1234567",),
    ))
    assert canonical_record(record) == expected
    assert FIELDS == ("kind", "name", "tax_code", "birth_date", "address", "contacts", "documents")
    minimal = parse_record({"kind": "company", "name": "Coop Alfa", "tax_code": "01114601006"})
    assert canonical_record(minimal) == encode(("company", "Coop Alfa", "01114601006", None, None, (), ()))


def test_record_is_normalised_before_it_is_committed():
    """Whitespace, letter case of the tax code and Unicode composition do not change the commitment."""
    salt = os.urandom(32)
    plain = parse_record(mario(name="Niccolò Rossi"))
    sloppy = parse_record(mario(name="  Niccolo\u0300 Rossi ", tax_code=" rssmra80a01h501u"))
    assert sloppy == plain and sloppy.tax_code == TAX_CODE
    assert commitment(salt, sloppy) == commitment(salt, plain)


def test_commitment_formula_determinism_and_salt_dependence():
    record = mario()
    salt = bytes(range(32))
    value = commitment(salt, record)
    assert value == sha256(COMMITMENT_TAG + salt + canonical_record(record))
    assert value == commitment(salt, parse_record(record)) == commitment(bytes(salt), dict(record))
    assert len(value) == 32
    assert commitment(bytes(32), record) != value
    assert commitment(salt, mario(address="Via Roma 2, 38122 Trento")) != value
    with pytest.raises(ValueError, match="32 bytes"):
        commitment(b"short", record)


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
def test_distinct_salts_give_distinct_commitments(salt_a, salt_b):
    if salt_a != salt_b:
        assert commitment(salt_a, mario()) != commitment(salt_b, mario())


def test_kinds_are_the_registrys():
    assert set(PersonalRecord.model_fields["kind"].annotation.__args__) == set(records.KINDS)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"kind": "alien"}, "record.kind", "person"),
        ({"name": "   "}, "record.name", "empty"),
        ({"name": "x" * 201}, "record.name", "200"),
        ({"name": "Mario\nRossi"}, "record.name", "control"),
        ({"name": 7}, "record.name", "string"),
        ({"tax_code": "RSSMRA80A01H501X"}, "record.tax_code", "check character"),
        ({"tax_code": "12345"}, "record.tax_code", "16 characters"),
        ({"tax_code": "01114601006"}, "record.tax_code", "a person's tax code is the 16-character codice fiscale"),
        ({"kind": "cooperative"}, "record.tax_code", "the tax code of a cooperative is its 11-digit partita IVA"),
        ({"kind": "company", "tax_code": "12345678903"}, "record.tax_code", "issuing office"),
        ({"tax_code": "RSSMRA80B31H501W"}, "record.tax_code", "31 February"),
        ({"birth_date": "1980-01-02"}, "record.birth_date", "does not agree with the codice fiscale"),
        ({"birth_date": "1981-01-01"}, "record.birth_date", "a year ending in 80"),
        ({"birth_date": "1980-02-30"}, "record.birth_date", "calendar"),
        ({"birth_date": "01/01/1980"}, "record.birth_date", "YYYY-MM-DD"),
        ({"contacts": ["ok", ""]}, "record.contacts.1", "at least 1"),
        ({"contacts": ["a"] * 17}, "record.contacts", "16"),
        ({"documents": "CI AX1"}, "record.documents", "tuple"),
        ({"nickname": "Mimì"}, "record.nickname", "Extra"),
    ],
)
def test_an_invalid_record_is_refused_naming_the_field(change, field, words):
    with pytest.raises(RecordError) as caught:
        parse_record(mario(**change))
    assert caught.value.field == field
    assert words.lower() in caught.value.message.lower()
    assert str(caught.value).startswith(field + ": ")


def test_an_omocodic_spelling_is_kept_as_issued_and_agrees_with_the_birth_date():
    """The record holds the code as issued; only the uniqueness tag is taken over its canonical form."""
    record = parse_record(mario(tax_code="rssmraulalmhrlmd"))
    assert record.tax_code == "RSSMRAULALMHRLMD" and record.birth_date == "1980-01-01"
    assert parse_record({"kind": "union", "name": "Sindacato", "tax_code": "80012000826"}).tax_code == "80012000826"


def test_missing_required_fields_are_named():
    with pytest.raises(RecordError) as caught:
        parse_record({"kind": "person", "name": "Anna"})
    assert caught.value.field == "record.tax_code"
    with pytest.raises(RecordError, match="^record: a personal record is a JSON object"):
        parse_record(["person"])


def test_record_round_trips_through_its_canonical_bytes_and_json():
    record = parse_record(mario())
    assert record_from_canonical(canonical_record(record)) == record
    assert parse_record(record_json(record)) == record
    assert json.loads(json.dumps(record_json(record)))["contacts"] == list(record.contacts)
    with pytest.raises(RecordError):
        record_from_canonical(encode(("person", NAME)))
    with pytest.raises(RecordError):
        record_from_canonical(b"\xc1")


def test_record_repr_shows_no_personal_data():
    record = parse_record(mario())
    assert personal_fields_in(repr(record).encode()) == []
    assert personal_fields_in(str(record).encode()) == []


# --- the vault --------------------------------------------------------------------------------------


@pytest.fixture
def vault_dir(tmp_path: Path) -> Path:
    return tmp_path / "vault"


def test_put_get_delete_round_trip(vault_dir: Path):
    ident, other = os.urandom(16), os.urandom(16)
    salt = os.urandom(32)
    record = parse_record(mario())
    with Vault(vault_dir, PASSWORD, TEST_KDF) as vault:
        assert vault.get(ident) is None and vault.ids() == []
        vault.put(ident, record, salt)
        vault.put(other, parse_record(mario(name="Anna Verdi", tax_code="VRDNNA85M41L378B", birth_date="1985-08-01")), os.urandom(32))
        assert vault.get(ident) == (record, salt)
        assert sorted(vault.ids()) == sorted([ident, other]) and ident in vault
        with pytest.raises(RecordExists):
            vault.put(ident, record, os.urandom(32))
        assert vault.get(ident) == (record, salt), "a refused put changes nothing"
    with Vault(vault_dir, PASSWORD, TEST_KDF) as vault:  # reopened: the same key, the same records
        assert vault.get(ident) == (record, salt)
        assert vault.delete(ident) is True
        assert vault.get(ident) is None and ident not in vault
        assert vault.delete(ident) is False
        assert vault.ids() == [other]
    with Vault(vault_dir, PASSWORD, TEST_KDF) as vault:
        assert vault.get(ident) is None and vault.ids() == [other]


@pytest.mark.parametrize("legacy", [
    ("person", "Old Person", "01114601006", "1980-01-01", None, (), ()),  # an 11-digit code for a person
    ("person", "Old Person", "RSSMRA80A01H501U", "1975-06-30", None, (), ()),  # a birth date the code disagrees with
    ("company", "Old Coop", "12345678903", None, None, (), ()),  # an office code of no office
])
def test_a_record_admitted_under_older_rules_stays_readable_exportable_and_checkable(vault_dir: Path, legacy):
    """Admission rules may grow (FORMAT.md §6.4.4); a record in the vault from before must not turn "corrupt":
    it is read back, and its commitment recomputed from the export, under its normal form only."""
    raw = encode(legacy)
    record = record_from_canonical(raw)
    assert canonical_record(record) == raw
    with pytest.raises(RecordError, match="^record.(tax_code|birth_date): "):  # submitted anew, it is refused
        parse_record(record_json(record))
    ident, salt = os.urandom(16), os.urandom(32)
    with Vault(vault_dir, PASSWORD) as vault:
        vault.put(ident, record, salt)
        assert vault.get(ident) == (record, salt)
    exported = record_json(record)
    assert commitment(salt, exported) == sha256(COMMITMENT_TAG + salt + raw), "the subject can check the export"


def test_ids_and_salts_are_checked(vault_dir: Path):
    with Vault(vault_dir, PASSWORD, TEST_KDF) as vault:
        with pytest.raises(ValueError, match="16 bytes"):
            vault.put(b"short", parse_record(mario()), os.urandom(32))
        with pytest.raises(ValueError, match="32 bytes"):
            vault.put(os.urandom(16), parse_record(mario()), b"salt")
        with pytest.raises(ValueError):
            vault.get(b"x" * 32)


def test_nothing_personal_in_the_files_before_or_after_erasure(vault_dir: Path):
    """The LevelDB files (and the key file) never hold the name or the tax code; after erasure not even the ciphertext."""
    target = os.urandom(16)
    with Vault(vault_dir, PASSWORD, TEST_KDF) as vault:
        for _ in range(40):
            vault.put(os.urandom(16), parse_record(mario()), os.urandom(32))
        vault.put(target, parse_record(mario()), os.urandom(32))
        sealed = vault.db.get(vault._entry_key(target))
        assert sealed is not None and len(sealed) > 100
        data = vault_bytes(vault_dir)
        assert sealed in data, "the ciphertext is on disk (in the write-ahead log) before erasure"
        assert personal_fields_in(data) == []
        vault.delete(target)
        data = vault_bytes(vault_dir)
        assert sealed not in data, "erasure leaves the record's ciphertext in the LevelDB files"
        assert personal_fields_in(data) == []
        assert len(vault.ids()) == 40
    assert personal_fields_in(vault_bytes(vault_dir)) == []
    assert sealed not in vault_bytes(vault_dir)


def test_erasure_removes_every_erased_ciphertext_under_churn(vault_dir: Path):
    """Records written long before (compacted to deeper levels) and just before erasure are both gone."""
    live: dict[bytes, bytes] = {}
    erased: list[bytes] = []
    rng = __import__("random").Random(7)
    with Vault(vault_dir, PASSWORD, TEST_KDF) as vault:
        for step in range(600):
            if live and rng.random() < 0.3:
                ident = rng.choice(sorted(live))
                erased.append(live.pop(ident))
                vault.delete(ident)
            else:
                ident = os.urandom(16)
                vault.put(ident, parse_record(mario()), os.urandom(32))
                live[ident] = vault.db.get(vault._entry_key(ident))
            if step % 100 == 99:
                data = vault_bytes(vault_dir)
                assert not [c for c in erased if c in data]
                assert all(c in data for c in live.values())
        assert sorted(vault.ids()) == sorted(live)


def test_the_id_detector_finds_what_a_plain_leveldb_leaves_behind(tmp_path: Path):
    """The check below can fail: a LevelDB keyed by the id itself names it in LOG and MANIFEST after deletion."""
    import plyvel

    ident = bytes.fromhex("00112233445566778899aabbccddeeff")
    db = plyvel.DB(str(tmp_path / "db"), create_if_missing=True)
    for _ in range(40):
        db.put(b"r" + os.urandom(16), os.urandom(200))
    db.put(b"r" + ident, os.urandom(200), sync=True)
    db.compact_range(start=b"r" + ident, stop=b"r" + ident)
    db.delete(b"r" + ident, sync=True)
    db.compact_range(start=b"r" + ident, stop=b"r" + ident)
    db.close()
    found = files_naming(tmp_path, ident)
    assert "db/LOG: escaped" in found and any(f.startswith("db/MANIFEST-") for f in found), found


def test_no_vault_file_names_an_id_before_or_after_erasure_and_restart(vault_dir: Path):
    """The attack of the finding: read every file of the vault directory for the erased record's id.

    Entries are keyed by a keyed hash of the id (FORMAT.md §19.4), so no table,
    write-ahead log, LOG or MANIFEST ever holds it: not while the record is
    there, not after its erasure, not after the vault is closed and reopened
    (a node restart: LevelDB writes a new MANIFEST and moves LOG to LOG.old)
    and more erasures compacted other tables.
    """
    target, others = os.urandom(16), [os.urandom(16) for _ in range(40)]
    with Vault(vault_dir, PASSWORD, TEST_KDF) as vault:
        for ident in others:
            vault.put(ident, parse_record(mario()), os.urandom(32))
        vault.put(target, parse_record(mario()), os.urandom(32))
        vault._compact(vault._entry_key(target))  # into tables and the MANIFEST, as a long-running vault has it
        assert vault.get(target) is not None
        assert files_naming(vault_dir, target) == []
        sealed = vault.db.get(vault._entry_key(target))
        assert vault.delete(target)
        assert files_naming(vault_dir, target) == []
    with Vault(vault_dir, PASSWORD, TEST_KDF) as vault:  # restart
        assert vault.get(target) is None and target not in vault
        for ident in others[:5]:
            assert vault.delete(ident)
        assert vault.ids() == sorted(others[5:])
    assert (vault_dir / DB_DIR / "LOG.old").exists()
    for ident in [target, *others]:
        assert files_naming(vault_dir, ident) == [], ident.hex()
    assert sealed not in vault_bytes(vault_dir)
    assert personal_fields_in(vault_bytes(vault_dir)) == []


def test_a_vault_of_the_older_id_keyed_layout_is_refused(vault_dir: Path):
    """A vault whose entries sit under r || id would be served as empty and never erased: refused in one line."""
    with Vault(vault_dir, PASSWORD, TEST_KDF) as vault:
        vault.db.put(b"r" + os.urandom(16), b"an entry of the older layout")
    with pytest.raises(VaultError, match="older layout") as caught:
        Vault(vault_dir, PASSWORD, TEST_KDF)
    assert "\n" not in str(caught.value)


def test_the_vault_key_is_made_with_the_node_setting_and_never_replaced(vault_dir: Path):
    key = create_vault_key(vault_dir, PASSWORD)
    assert kdf_of(json.loads((vault_dir / KEY_FILE).read_text())) == NODE_KDF
    assert stat.S_IMODE(vault_dir.stat().st_mode) == 0o700
    with pytest.raises(VaultError, match="not replacing a vault key"):
        create_vault_key(vault_dir, PASSWORD, TEST_KDF)
    with Vault(vault_dir, PASSWORD) as vault:  # opened with the setting it was sealed with
        assert bytes(vault._box._key) == key


def test_key_file_is_sealed_and_private(vault_dir: Path):
    with Vault(vault_dir, PASSWORD, TEST_KDF) as vault:
        vault.put(os.urandom(16), parse_record(mario()), os.urandom(32))
        key = bytes(vault._box._key)
    key_file = vault_dir / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(vault_dir.stat().st_mode) == 0o700
    text = key_file.read_bytes()
    assert key not in text and key.hex().encode() not in text
    document = json.loads(text)
    assert document["format"] == "incoop-secret-1" and document["purpose"] == "vault-key"
    assert document["kdf"]["name"] == "argon2id"
    assert key not in vault_bytes(vault_dir)


def test_wrong_password_is_refused_clearly(vault_dir: Path):
    ident = os.urandom(16)
    with Vault(vault_dir, PASSWORD, TEST_KDF) as vault:
        vault.put(ident, parse_record(mario()), os.urandom(32))
    with pytest.raises(VaultError, match="wrong password"):
        Vault(vault_dir, "not the password")
    with Vault(vault_dir, PASSWORD, TEST_KDF) as vault:  # still opens with the right one, nothing lost
        assert vault.get(ident) is not None


def test_a_lost_or_replaced_key_file_is_refused_not_replaced(vault_dir: Path, tmp_path: Path):
    with Vault(vault_dir, PASSWORD, TEST_KDF) as vault:
        vault.put(os.urandom(16), parse_record(mario()), os.urandom(32))
    key_file = vault_dir / KEY_FILE
    saved = key_file.read_bytes()
    key_file.unlink()
    with pytest.raises(VaultError, match="key file .* is missing"):
        Vault(vault_dir, PASSWORD, TEST_KDF)
    assert not key_file.exists(), "a new key is never made for a vault that holds data"
    with Vault(tmp_path / "other", PASSWORD, TEST_KDF):
        pass
    key_file.write_bytes((tmp_path / "other" / KEY_FILE).read_bytes())  # another vault's key
    with pytest.raises(VaultError, match="does not open"):
        Vault(vault_dir, PASSWORD, TEST_KDF)
    key_file.write_bytes(saved)
    with Vault(vault_dir, PASSWORD, TEST_KDF) as vault:
        assert len(vault.ids()) == 1


def test_a_record_moved_to_another_id_does_not_open(vault_dir: Path):
    a, b = os.urandom(16), os.urandom(16)
    with Vault(vault_dir, PASSWORD, TEST_KDF) as vault:
        vault.put(a, parse_record(mario()), os.urandom(32))
        vault.db.put(vault._entry_key(b), vault.db.get(vault._entry_key(a)))
        with pytest.raises(VaultError, match="tampered") as caught:
            vault.get(b)
        assert personal_fields_in(str(caught.value).encode()) == []
    assert (vault_dir / DB_DIR).is_dir()


def test_format_md_section_19_examples_are_what_the_code_computes():
    """FORMAT.md §19.1-19.2 quote an encoded record and its commitment: recomputed here so they cannot drift."""
    text = (Path(__file__).resolve().parents[1] / "FORMAT.md").read_text(encoding="utf-8")
    section = text[text.index("## 19."):]
    record = {"kind": "person", "name": "Mario Rossi", "tax_code": "RSSMRA80A01H501U", "birth_date": "1980-01-01"}
    encoded = canonical_record(record).hex()
    assert encoded[:74] + "\n    " + encoded[74:] in section
    assert f"commitment = {commitment(bytes(range(32)), record).hex()}" in section


def test_format_md_section_19_4_entry_key_example(vault_dir: Path):
    """FORMAT.md §19.4 quotes the index key and an entry key: the vault must file the id exactly there."""
    import hashlib
    import hmac

    text = (Path(__file__).resolve().parents[1] / "FORMAT.md").read_text(encoding="utf-8")
    section = text[text.index("### 19.4"):text.index("## 20.")]
    vault_key, ident = bytes(range(32)), bytes(range(16))
    index_key = hmac.new(vault_key, b"incoop/vault/index-key/v1", hashlib.sha256).digest()
    assert f"index_key = {index_key.hex()}" in section
    vault_dir.mkdir(mode=0o700)
    seal_secret(vault_dir / KEY_FILE, vault_key, PASSWORD, "vault-key", TEST_KDF)  # a vault with the example's key
    with Vault(vault_dir, PASSWORD) as vault:
        assert f"entry key = {vault._entry_key(ident).hex()}" in section
