"""The rules of credit classes (FORMAT.md §6.3): eligibility, window, freezes, caps, accreditation.

Each check raises one precise TxError and writes nothing; the checked
operations of `ledger.credit_ops` call them before any write.

Eligibility needs identity attributes and accreditation needs to know the
registrars, but `ledger` imports nothing of `identity`: the chain's rules
(ledger/rules.py) answer, from what the modules in the list offer. With no
module offering them nobody holds any attribute and nobody is a registrar
(the rules fail closed).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ledger.encoding import decode, encode
from ledger.errors import Code, TxError
from ledger.fields import MAX_AMOUNT
from ledger.state import Overlay, StateReader

if TYPE_CHECKING:
    from ledger.rules import ChainRules

KINDS = ("welfare", "purchase_group", "virtue", "community")
TRANSFERABILITY = ("p2p", "spend_only")
P2P = "p2p"
SPEND_ONLY = "spend_only"

CATEGORY = re.compile(r"[a-z0-9-]{1,32}")
ATTRIBUTE = re.compile(r"[a-z0-9-]+:[a-z0-9+._-]+")
"""The identity registry's attribute syntax (FORMAT.md §6.4.1), at most MAX_ATTRIBUTE bytes."""
MAX_ATTRIBUTE = 64
MAX_ELIGIBILITY = 8
MAX_CATEGORIES = 16
"""Categories a class may pay for, and categories one accredit/revoke transaction names."""
MAX_PROVIDER_CATEGORIES = 64
"""Categories one accreditation record may hold."""

FEDERATION = bytes(32)
"""The accreditor slot of a registrar's accreditation: valid for every class, revocable by any registrar."""
ANY_CLASS = "*"

# State keys (FORMAT.md §9). Class-first keys put "/" after the class id (which never holds one),
# so that a reader can scan one class's records by prefix.
PREFIX_CREDIT = b"credit/"  # every record below starts with it: the module's one prefix for them
PREFIX_OPERATOR = b"credit/operator/"
PREFIX_FROZEN = b"credit/frozen/"
PREFIX_ISSUED = b"credit/issued/"
PREFIX_PROVIDER = b"credit/provider/"
PREFIX_SPENT = b"credit/spent/"
PREFIX_REDEEMED = b"credit/redeemed/"


def class_scope(prefix: bytes, class_id: str) -> bytes:
    """The key prefix of one class's records under `prefix`: prefix ‖ class ‖ "/"."""
    return prefix + class_id.encode("ascii") + b"/"


def operator_key(issuer: bytes, operator: bytes, scope: str) -> bytes:
    return PREFIX_OPERATOR + issuer + operator + scope.encode("ascii")


def frozen_key(class_id: str, holder: bytes) -> bytes:
    return class_scope(PREFIX_FROZEN, class_id) + holder


def issued_key(class_id: str, holder: bytes) -> bytes:
    return class_scope(PREFIX_ISSUED, class_id) + holder


def provider_key(provider: bytes, accreditor: bytes) -> bytes:
    return PREFIX_PROVIDER + provider + accreditor


def spent_key(class_id: str, category: str) -> bytes:
    return class_scope(PREFIX_SPENT, class_id) + category.encode("ascii")


def redeemed_key(class_id: str, provider: bytes) -> bytes:
    return class_scope(PREFIX_REDEEMED, class_id) + provider


# --- checks -------------------------------------------------------------------------------


def check_eligible(chain_rules: ChainRules, state: StateReader, eligibility: tuple[str, ...], account: bytes,
                   height: int) -> None:
    for attribute in eligibility:
        if not chain_rules.holds_attribute(state, account, attribute, height):
            raise TxError(Code.NOT_ELIGIBLE, f"the holder lacks the attribute {attribute}")


def check_window(valid_from_ms: int, valid_until_ms: int, time_ms: int) -> None:
    """Open from `valid_from_ms` (inclusive) until `valid_until_ms` (exclusive); 0 leaves a side open."""
    if valid_from_ms and time_ms < valid_from_ms:
        raise TxError(Code.CLASS_NOT_YET_VALID, f"the class is valid from {valid_from_ms}")
    if valid_until_ms and time_ms >= valid_until_ms:
        raise TxError(Code.CLASS_EXPIRED, f"the class expired at {valid_until_ms}")


def check_vouchers(face_value: int, voucher_cap: int, amount: int) -> None:
    """A voucher class (face_value ≠ 0) pays only in whole vouchers, never part of one nor topped up
    (FORMAT.md §6.3, "Voucher rules"): one voucher per payment, or with cumulative use (voucher_cap ≠ 0)
    several, up to the cap. A class without a face value passes."""
    if not face_value:
        return
    if amount % face_value or (not voucher_cap and amount != face_value):
        one = "one voucher" if not voucher_cap else "whole vouchers"
        raise TxError(Code.FACE_VALUE_NOT_COVERED, f"{amount} is not {one} of face value {face_value}")
    if voucher_cap and amount > voucher_cap:
        raise TxError(Code.VOUCHER_CAP_EXCEEDED, f"{amount} is more than the cumulative cap {voucher_cap}")


def is_frozen(state: StateReader, class_id: str, holder: bytes) -> bool:
    return state.get(frozen_key(class_id, holder)) is not None


def check_not_frozen(state: StateReader, class_id: str, holder: bytes) -> None:
    if is_frozen(state, class_id, holder):
        raise TxError(Code.HOLDER_FROZEN)


def is_operator(state: StateReader, issuer: bytes, operator: bytes, class_id: str) -> bool:
    return (state.get(operator_key(issuer, operator, class_id)) is not None
            or state.get(operator_key(issuer, operator, ANY_CLASS)) is not None)


def accredited_categories(state: StateReader, provider: bytes, accreditor: bytes) -> tuple[str, ...]:
    raw = state.get(provider_key(provider, accreditor))
    return () if raw is None else tuple(decode(raw))


def set_accredited_categories(state: Overlay, provider: bytes, accreditor: bytes, categories: tuple[str, ...]) -> None:
    if categories:
        state.put(provider_key(provider, accreditor), encode(tuple(sorted(categories))))
    else:
        state.delete(provider_key(provider, accreditor))


def is_provider_for(state: StateReader, provider: bytes, issuer: bytes, category: str | None = None) -> bool:
    """Accredited by the class's issuer or by the federation (a registrar), for `category`
    (for any category when `category` is None)."""
    for accreditor in (issuer, FEDERATION):
        categories = accredited_categories(state, provider, accreditor)
        if categories and (category is None or category in categories):
            return True
    return False


def get_total(state: StateReader, key: bytes) -> int:
    raw = state.get(key)
    return 0 if raw is None else decode(raw)


def add_total(state: Overlay, key: bytes, amount: int) -> None:
    """Add to a running total; past 2^63 − 1 (only a total of payments could get there, as
    credits circulate) it is AMOUNT_OVERFLOW, never an unencodable value."""
    total = get_total(state, key) + amount
    if total > MAX_AMOUNT:
        raise TxError(Code.AMOUNT_OVERFLOW, "the running total would overflow")
    state.put(key, encode(total))
