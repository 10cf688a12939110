"""The personal record a registrar keeps off chain, and the salted commitment to it that goes on chain.

A personal record (issue 4, "The vault") is validated once, at the boundary,
by `PersonalRecord`; after that it has exactly one byte form,
`canonical_record(record)`, the canonical MessagePack (FORMAT.md §2) of the
fixed-order array

    [kind, name, tax_code, birth_date | nil, address | nil, [contact, ...], [document, ...]]

(text strings, NFC-normalised and stripped; the tax code as `check_tax_code`
normalises it, omocodia letters kept; absent optional fields are nil, absent
lists empty arrays). When a registrar submits a record, the tax code must
suit the kind (a person's is a codice fiscale, an organisation's an 11-digit
code) and a person's must agree with the birth date when the record has one
(FORMAT.md §6.4.4, §19.1). A record read back (from the vault, or to
recompute a commitment from an export) is held to its normal form only, so
that the rules of admission can grow without making records admitted
earlier unreadable, or their commitments uncheckable.

The commitment is

    SHA-256(b"incoop/commitment/v1" || salt || canonical_record(record))

with a 32-byte random salt that only the registrar's vault holds. With the
salt, anyone holding the record can check it against the chain; once the
vault erases record and salt, nobody can test a guess of the record against
the on-chain commitment (FORMAT.md §19).

Nothing here does I/O and nothing here logs: the record is personal data.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo

from identity.taxcode import PERSON, check_birth_date, check_tax_code, check_tax_code_for, normalise
from ledger.encoding import EncodingError, decode, encode

COMMITMENT_TAG = b"incoop/commitment/v1"
SALT_LEN = 32
COMMITMENT_LEN = 32
FIELDS = ("kind", "name", "tax_code", "birth_date", "address", "contacts", "documents")
"""The order of the canonical array (FORMAT.md §19.1)."""

MAX_NAME = 200
MAX_TAX_CODE = 32
MAX_ADDRESS = 300
MAX_CONTACT = 200
MAX_DOCUMENT = 100
MAX_LIST = 16
MAX_RECORD_BYTES = 16 * 1024  # far above what the bounds above allow; the decoder's ceiling

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class RecordError(ValueError):
    """A personal record that does not validate; `field` names the offending field (dotted path)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _text(value: str) -> str:
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        raise ValueError("must not be empty")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("must not contain control characters")
    return value


def _stored(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("stored"))


def _tax_code(value: str, info: ValidationInfo) -> str:
    """Submitted: valid for the record's kind (in either form when the kind itself was refused).
    Stored: normalised."""
    if _stored(info):
        return normalise(_text(value))
    kind = info.data.get("kind")
    return check_tax_code(_text(value)) if kind is None else check_tax_code_for(kind, _text(value))


def _birth_date(value: str, info: ValidationInfo) -> str:
    """A calendar date; submitted for a person, one that agrees with the codice fiscale (when that was valid)."""
    if not _DATE.fullmatch(value):
        raise ValueError("must be a date YYYY-MM-DD")
    try:
        date = datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a calendar date") from None
    if not _stored(info) and info.data.get("kind") == PERSON and "tax_code" in info.data:
        check_birth_date(info.data["tax_code"], date)
    return value


def _bounded(limit: int) -> Any:
    return Annotated[str, Field(min_length=1, max_length=limit), AfterValidator(_text)]


class PersonalRecord(BaseModel):
    """The personal record, as a registrar submits it (JSON) and the vault returns it."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    kind: Literal["person", "cooperative", "company", "association", "union", "institution"]  # records.KINDS
    name: _bounded(MAX_NAME)  # type: ignore[valid-type]
    tax_code: Annotated[str, Field(min_length=1, max_length=MAX_TAX_CODE), AfterValidator(_tax_code)]
    birth_date: Annotated[str, AfterValidator(_birth_date)] | None = None
    address: _bounded(MAX_ADDRESS) | None = None  # type: ignore[valid-type]
    contacts: tuple[_bounded(MAX_CONTACT), ...] = Field(default=(), max_length=MAX_LIST)  # type: ignore[valid-type]
    documents: tuple[_bounded(MAX_DOCUMENT), ...] = Field(default=(), max_length=MAX_LIST)  # type: ignore[valid-type]

    def __repr__(self) -> str:  # personal data stays out of tracebacks and logs
        return f"PersonalRecord(kind={self.kind!r}, …)"

    __str__ = __repr__


def _record_error(exc: ValidationError, prefix: str) -> RecordError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    field = f"{prefix}.{where}" if where else prefix
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return RecordError(field, message)


def parse_record(data: Any, prefix: str = "record", *, stored: bool = False) -> PersonalRecord:
    """Validate a JSON-shaped record (a dict) into a PersonalRecord; RecordError names the field.

    By default the record is being submitted, and every rule of admission
    applies (FORMAT.md §6.4.4). With `stored`, it is one admitted earlier,
    read back: its fields are normalised and bounded, but its tax code is not
    judged again by rules that may be newer than the record.
    """
    if isinstance(data, PersonalRecord):
        return data
    if not isinstance(data, dict):
        raise RecordError(prefix, "a personal record is a JSON object")
    data = dict(data)
    for name in ("contacts", "documents"):  # JSON arrays arrive as lists; strict mode wants the tuple
        if isinstance(data.get(name), list):
            data[name] = tuple(data[name])
    try:
        return PersonalRecord.model_validate(data, context={"stored": stored})
    except ValidationError as exc:
        raise _record_error(exc, prefix) from None


def record_json(record: PersonalRecord) -> dict:
    """The record as JSON: every field present, nil as null, lists as arrays."""
    return {
        "kind": record.kind,
        "name": record.name,
        "tax_code": record.tax_code,
        "birth_date": record.birth_date,
        "address": record.address,
        "contacts": list(record.contacts),
        "documents": list(record.documents),
    }


def canonical_record(record: PersonalRecord | dict) -> bytes:
    """The one byte form of a record: canonical [kind, name, tax_code, birth_date, address, contacts, documents].

    A dict is read as a stored record (`parse_record(stored=True)`): computing
    the bytes of a record, or its commitment, is not admitting it.
    """
    r = parse_record(record, stored=True)
    return encode((r.kind, r.name, r.tax_code, r.birth_date, r.address, tuple(r.contacts), tuple(r.documents)))


def record_from_canonical(data: bytes) -> PersonalRecord:
    """The inverse of canonical_record; RecordError for bytes that are not a canonical record in normal form."""
    try:
        value = decode(data, MAX_RECORD_BYTES)
    except EncodingError as exc:
        raise RecordError("record", f"not a canonical record: {exc}") from None
    if type(value) is not tuple or len(value) != len(FIELDS):
        raise RecordError("record", f"a canonical record is an array of {len(FIELDS)} fields")
    record = parse_record(dict(zip(FIELDS, value, strict=True)), stored=True)
    if canonical_record(record) != bytes(data):
        raise RecordError("record", "not in normal form")
    return record


def commitment(salt: bytes, record: PersonalRecord | dict) -> bytes:
    """SHA-256(b"incoop/commitment/v1" || salt || canonical_record(record)); the salt is 32 bytes."""
    if type(salt) is not bytes or len(salt) != SALT_LEN:
        raise ValueError(f"a commitment salt is {SALT_LEN} bytes")
    return hashlib.sha256(COMMITMENT_TAG + salt + canonical_record(record)).digest()

