"""The identity registry's state records and the cheap reads other packages use.

Keys and values (FORMAT.md §9), every value a canonical encoding:

    ident/     || id(16)               -> [kind, status, registrar, commitment|nil, tag|nil,
                                           [key, ...], created_height, [new_key, due_height]|nil]
    identtag/  || tag(32)              -> id      one registration per uniqueness tag, anywhere
    identacct/ || account(32)          -> id      an account belongs to at most one identity
    attest/    || id(16) || attribute  -> [attester, issued_height, expiry_height]
    attester/  || account(32)          -> [name, [pattern, ...]]   who may attest what
    registrar/ || account(32)          -> [name]                   authorised registrars (genesis)
    idcount/active                     -> n       identities whose status is active
    idcount/attr/ || attribute         -> n       attestation records of the attribute (held or expired)

The reverse indexes (`identtag/`, `identacct/`) and the one-record-per-attribute
layout exist so that every question a credit rule or a ballot asks ("is this
account's identity attested `member:coop-x` now?") costs one or two gets:
the state transition never scans. The counters (`idcount/`) answer "how many
identities may take part" for a ballot's quorum (governance/, FORMAT.md §6.7)
in one get; a counter of 0 is no record.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ledger.encoding import decode, encode
from ledger.state import Overlay, StateReader

ID_LEN = 16
TAG_LEN = 32
COMMITMENT_LEN = 32
MAX_KEYS = 8
MAX_ATTRIBUTE = 64
MAX_PATTERNS = 32
MAX_ATTESTER_NAME = 64

KINDS = ("person", "cooperative", "company", "association", "union", "institution")
STATUSES = ("active", "suspended", "revoked", "closed")
ACTIVE = "active"
SUSPENDED = "suspended"
REVOKED = "revoked"
CLOSED = "closed"
FINAL_STATUSES = (REVOKED, CLOSED)
"""No way back from these: an identity revoked or closed stays so."""

ATTRIBUTE = re.compile(r"[a-z0-9-]+:[a-z0-9+._-]+")
"""`<word>:<value>`, e.g. `member:coop-x`, `resident:trento`, `age:65+`."""
PATTERN_PREFIX = re.compile(r"[a-z0-9-]+:[a-z0-9+._-]*")
"""What may precede the `*` of a prefix pattern (`resident:*`, `member:coop-*`)."""

PREFIX_IDENTITY = b"ident/"
PREFIX_TAG = b"identtag/"
PREFIX_ACCOUNT = b"identacct/"
PREFIX_ATTESTATION = b"attest/"
PREFIX_ATTESTER = b"attester/"
PREFIX_REGISTRAR = b"registrar/"
PREFIX_COUNT = b"idcount/"
ACTIVE_COUNT_KEY = b"idcount/active"
PREFIX_ATTRIBUTE_COUNT = b"idcount/attr/"


def identity_key(identity_id: bytes) -> bytes:
    return PREFIX_IDENTITY + identity_id


def tag_key(tag: bytes) -> bytes:
    return PREFIX_TAG + tag


def account_key(account: bytes) -> bytes:
    return PREFIX_ACCOUNT + account


def attestation_key(identity_id: bytes, attribute: str) -> bytes:
    return PREFIX_ATTESTATION + identity_id + attribute.encode("ascii")


def attester_key(account: bytes) -> bytes:
    return PREFIX_ATTESTER + account


def registrar_key(account: bytes) -> bytes:
    return PREFIX_REGISTRAR + account


def attribute_count_key(attribute: str) -> bytes:
    return PREFIX_ATTRIBUTE_COUNT + attribute.encode("ascii")


def get_count(state: StateReader, key: bytes) -> int:
    raw = state.get(key)
    return 0 if raw is None else decode(raw)


def add_to_count(state: Overlay, key: bytes, delta: int) -> None:
    """Move a counter of `idcount/` by `delta`; a counter that reaches 0 is deleted."""
    n = get_count(state, key) + delta
    if n:
        state.put(key, encode(n))
    else:
        state.delete(key)


def active_identities(state: StateReader) -> int:
    """How many identities are active: one get (FORMAT.md §9, `idcount/active`)."""
    return get_count(state, ACTIVE_COUNT_KEY)


def attribute_holders(state: StateReader, attribute: str) -> int:
    """How many attestation records of `attribute` exist, held or expired: one get. An upper bound on
    the identities holding it now (FORMAT.md §6.7, "Counting the eligible")."""
    return get_count(state, attribute_count_key(attribute))


# --- identities --------------------------------------------------------------------------


class Identity(NamedTuple):
    kind: str
    status: str
    registrar: bytes
    commitment: bytes | None  # nil once erased
    tag: bytes | None  # nil once erased
    keys: tuple[bytes, ...]  # ascending byte order, 1..MAX_KEYS
    created_height: int
    recovery: tuple[bytes, int] | None  # (new key, height from which it may complete)

    def encode(self) -> bytes:
        return encode(tuple(self))


def decode_identity(raw: bytes) -> Identity:
    kind, status, registrar, commitment, tag, keys, created_height, recovery = decode(raw)
    return Identity(kind, status, registrar, commitment, tag, tuple(keys), created_height,
                    None if recovery is None else (recovery[0], recovery[1]))


def get_identity(state: StateReader, identity_id: bytes) -> Identity | None:
    raw = state.get(identity_key(identity_id))
    return None if raw is None else decode_identity(raw)


def identity_of(state: StateReader, account: bytes) -> bytes | None:
    """The id of the identity `account` is bound to, or None."""
    raw = state.get(account_key(account))
    return None if raw is None else decode(raw)


def identity_by_tag(state: StateReader, tag: bytes) -> bytes | None:
    raw = state.get(tag_key(tag))
    return None if raw is None else decode(raw)


def is_registrar(state: StateReader, account: bytes) -> bool:
    return state.get(registrar_key(account)) is not None


# --- attestations and attesters ----------------------------------------------------------


class Attestation(NamedTuple):
    attester: bytes
    issued_height: int
    expiry_height: int  # the last height at which it holds; 0 = no expiry

    def encode(self) -> bytes:
        return encode(tuple(self))

    def holds_at(self, height: int) -> bool:
        return self.expiry_height == 0 or height <= self.expiry_height


def get_attestation(state: StateReader, identity_id: bytes, attribute: str) -> Attestation | None:
    raw = state.get(attestation_key(identity_id, attribute))
    return None if raw is None else Attestation(*decode(raw))


def has_attribute(state: StateReader, account_or_id: bytes, attribute: str, height: int) -> bool:
    """Whether an identity (by its 16-byte id, or by one of its 32-byte accounts) holds
    an attestation of `attribute` that has not expired at `height`.

    One get for an id, two for an account. It looks at attestations only, not at
    the identity's status: a rule that also needs an active identity (a ballot)
    checks `is_active` as well.
    """
    if len(account_or_id) == ID_LEN:
        identity_id: bytes | None = account_or_id
    else:
        identity_id = identity_of(state, account_or_id)
    if identity_id is None or not ATTRIBUTE.fullmatch(attribute):
        return False
    attestation = get_attestation(state, identity_id, attribute)
    return attestation is not None and attestation.holds_at(height)


def is_active(state: StateReader, account: bytes) -> bool:
    """Whether `account` is bound to an identity whose status is active."""
    identity_id = identity_of(state, account)
    if identity_id is None:
        return False
    identity = get_identity(state, identity_id)
    return identity is not None and identity.status == ACTIVE


class Attester(NamedTuple):
    name: str
    patterns: tuple[str, ...]

    def encode(self) -> bytes:
        return encode((self.name, tuple(self.patterns)))


def get_attester(state: StateReader, account: bytes) -> Attester | None:
    raw = state.get(attester_key(account))
    if raw is None:
        return None
    name, patterns = decode(raw)
    return Attester(name, tuple(patterns))


def is_attribute(text: object) -> bool:
    return type(text) is str and len(text) <= MAX_ATTRIBUTE and ATTRIBUTE.fullmatch(text) is not None


def is_pattern(text: object) -> bool:
    """An exact attribute, or `<word>:<value prefix>*` (the prefix may be empty after the colon)."""
    if type(text) is not str or len(text) > MAX_ATTRIBUTE:
        return False
    if text.endswith("*"):
        return PATTERN_PREFIX.fullmatch(text[:-1]) is not None
    return ATTRIBUTE.fullmatch(text) is not None


def pattern_covers(pattern: str, attribute: str) -> bool:
    if pattern.endswith("*"):
        return attribute.startswith(pattern[:-1])
    return attribute == pattern


def may_attest(attester: Attester | None, attribute: str) -> bool:
    return attester is not None and any(pattern_covers(p, attribute) for p in attester.patterns)
