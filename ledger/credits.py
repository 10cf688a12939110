"""Credit classes and balances: the money of the ledger and the books of each class.

A class is created by an authorised issuer with rules (FORMAT.md §6.3): a
kind, who may hold it (attributes), whether holders may pass it on (`p2p`)
or only spend it with accredited providers (`spend_only`), the categories it
pays for, a validity window in block time, a per-holder cap and a budget, and
for a voucher class its face value and the cap of a payment of several
vouchers (FORMAT.md §6.3, "Voucher rules").
Its record keeps the books: `issued` (the only way in), `redeemed` and
`reclaimed` (the only ways out), so that at every height

    issued = held + escrowed + redeemed + reclaimed,   held = the sum of the class's bal/ entries,

and `escrowed` is what the ledger holds in escrow lots for payments not yet final.

This module has the records and the low-level writes; the rules of a class
are checked in `ledger.credit_rules`, credits move only through the checked
operations of `ledger.credit_ops`, and the transaction types are in
`ledger.credit_txs` (with the module's declaration, ledger/rules.py).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from ledger import accounts, fields
from ledger import credit_rules as rules
from ledger.encoding import decode, encode
from ledger.errors import Code, TxError
from ledger.fields import MAX_AMOUNT
from ledger.state import Overlay, StateReader

CLASS_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
MAX_NAME = 64
MAX_MEMO = 128
MAX_DECIMALS = 6
HASH_LEN = 32

# State keys (FORMAT.md §9); the rules' keys are in ledger.credit_rules
PREFIX_CLASS = b"class/"
PREFIX_BALANCE = b"bal/"
PREFIX_ISSUER = b"issuer/"


def class_key(class_id: str) -> bytes:
    return PREFIX_CLASS + class_id.encode("ascii")


def balance_key(holder: bytes, class_id: str) -> bytes:
    return PREFIX_BALANCE + holder + class_id.encode("ascii")


def issuer_key(account: bytes) -> bytes:
    return PREFIX_ISSUER + account


class CreditClass(NamedTuple):
    """The value of `class/ ‖ class_id`, field by field in encoding order (FORMAT.md §9)."""

    issuer: bytes
    name: str
    decimals: int
    kind: str = "community"
    eligibility: tuple[str, ...] = ()  # attributes a holder must all have; ascending
    transferability: str = rules.P2P
    categories: tuple[str, ...] = ()  # what it pays for; ascending; empty = any category
    valid_from_ms: int = 0  # block time from which it is valid; 0 = open
    valid_until_ms: int = 0  # block time from which it is expired; 0 = never
    holder_cap: int = 0  # most ever issued to one holder; 0 = no cap
    budget: int = 0  # most ever issued in the class; 0 = no cap
    description_hash: bytes | None = None
    face_value: int = 0  # a voucher class: every payment buys with whole vouchers of this value; 0 = not one
    voucher_cap: int = 0  # with a face value: most one payment may use (several vouchers); 0 = one voucher
    issued: int = 0
    redeemed: int = 0
    reclaimed: int = 0
    escrowed: int = 0  # held by the ledger in escrow lots (ledger/credit_ops.py)

    @property
    def supply(self) -> int:
        """What holders hold now: issued − escrowed − redeemed − reclaimed."""
        return self.issued - self.escrowed - self.redeemed - self.reclaimed

    def encode(self) -> bytes:
        return encode(tuple(self))


def decode_class(raw: bytes) -> CreditClass:
    return CreditClass(*decode(raw))


def get_class(state: StateReader, class_id: str) -> CreditClass | None:
    raw = state.get(class_key(class_id))
    return None if raw is None else decode_class(raw)


def load_class(state: StateReader, class_id: str) -> CreditClass:
    found = get_class(state, class_id)
    if found is None:
        raise TxError(Code.UNKNOWN_CLASS)
    return found


def put_class(state: Overlay, class_id: str, credit_class: CreditClass) -> None:
    state.put(class_key(class_id), credit_class.encode())


def get_balance(state: StateReader, holder: bytes, class_id: str) -> int:
    raw = state.get(balance_key(holder, class_id))
    return 0 if raw is None else decode(raw)


def set_balance(state: Overlay, holder: bytes, class_id: str, amount: int) -> None:
    if not 0 <= amount <= MAX_AMOUNT:
        raise TxError(Code.AMOUNT_OVERFLOW)
    key = balance_key(holder, class_id)
    if amount == 0:
        state.delete(key)
    else:
        state.put(key, encode(amount))


def is_issuer(state: StateReader, account: bytes) -> bool:
    return state.get(issuer_key(account)) is not None


def create_class(state: Overlay, class_id: str, credit_class: CreditClass) -> None:
    """Write a new class record with empty books (sorted rule lists)."""
    if state.get(class_key(class_id)) is not None:
        raise TxError(Code.CLASS_EXISTS)
    put_class(state, class_id, credit_class._replace(
        eligibility=tuple(sorted(credit_class.eligibility)),
        categories=tuple(sorted(credit_class.categories)),
        issued=0, redeemed=0, reclaimed=0, escrowed=0,
    ))


def check_issue(state: StateReader, class_id: str, credit_class: CreditClass, to: bytes, amount: int) -> None:
    """The caps and the overflow of an issue (the books' side); raises, writes nothing."""
    if credit_class.issued + amount > MAX_AMOUNT:
        raise TxError(Code.AMOUNT_OVERFLOW)
    if credit_class.holder_cap:
        already = rules.get_total(state, rules.issued_key(class_id, to))
        if already + amount > credit_class.holder_cap:
            raise TxError(Code.HOLDER_CAP_EXCEEDED, f"{already} of the cap {credit_class.holder_cap} already issued")
    if credit_class.budget and credit_class.issued + amount > credit_class.budget:
        raise TxError(Code.BUDGET_EXCEEDED, f"{credit_class.issued} of the budget {credit_class.budget} already issued")


def mint(state: Overlay, class_id: str, to: bytes, amount: int) -> None:
    """Issue `amount` new credits of a class to `to`: the only way credits come in.

    Checks the books (overflow, holder cap, budget), not who issues nor the
    holder's eligibility, window or freeze: those are the transaction's rules.
    """
    credit_class = load_class(state, class_id)
    check_issue(state, class_id, credit_class, to, amount)
    credit(state, class_id, to, amount)
    if credit_class.holder_cap:
        rules.add_total(state, rules.issued_key(class_id, to), amount)
    put_class(state, class_id, credit_class._replace(issued=credit_class.issued + amount))


def credit(state: Overlay, class_id: str, holder: bytes, amount: int) -> None:
    """Add credits to a holder's balance: the one place credits arrive at an account (issue,
    transfer, pay, and whatever later releases escrow), so it is also where the account
    becomes known to the chain and may sign (FORMAT.md §8.1, §9)."""
    set_balance(state, holder, class_id, get_balance(state, holder, class_id) + amount)
    accounts.ensure_known(state, holder)


def take(state: Overlay, class_id: str, holder: bytes, amount: int) -> None:
    have = get_balance(state, holder, class_id)
    if have < amount:
        raise TxError(Code.INSUFFICIENT_BALANCE, f"balance {have} is less than {amount}")
    set_balance(state, holder, class_id, have - amount)


# --- field rules (MALFORMED at admission) ----------------------------------------------------


def choice(value: Any, field: str, options: tuple[str, ...]) -> str:
    if type(value) is not str or value not in options:
        raise TxError(Code.MALFORMED, f"{field} must be one of {', '.join(options)}")
    return value


def id_list(value: Any, field: str, pattern: re.Pattern[str], most: int, least: int = 0) -> tuple[str, ...]:
    """An array of `least` to `most` distinct texts, each matching `pattern`, at most 64 bytes."""
    if type(value) is not tuple or not least <= len(value) <= most:
        raise TxError(Code.MALFORMED, f"{field} must be an array of {least} to {most} items")
    items = tuple(fields.identifier(v, f"{field}[{i}]", pattern) for i, v in enumerate(value))
    if any(len(item) > rules.MAX_ATTRIBUTE for item in items):
        raise TxError(Code.MALFORMED, f"{field} items are at most {rules.MAX_ATTRIBUTE} bytes")
    if len(set(items)) != len(items):
        raise TxError(Code.MALFORMED, f"{field} must not repeat an item")
    return items


def optional_hash(value: Any, field: str) -> bytes | None:
    if value is None:
        return None
    if type(value) is not bytes or len(value) != HASH_LEN:
        raise TxError(Code.MALFORMED, f"{field} must be nil or {HASH_LEN} bytes")
    return value


class ClassDefinition(NamedTuple):
    """A class as its creator defines it: the body of `credits.create_class` and a genesis class alike."""

    class_id: str
    name: str
    decimals: int
    kind: str
    eligibility: tuple[str, ...]
    transferability: str
    categories: tuple[str, ...]
    valid_from_ms: int
    valid_until_ms: int
    holder_cap: int
    budget: int
    description_hash: bytes | None
    face_value: int
    voucher_cap: int

    def record(self, issuer: bytes) -> CreditClass:
        """The class record with empty books (create_class sorts the rule lists)."""
        return CreditClass(issuer, *self[1:])


def parse_class_definition(body: tuple) -> ClassDefinition:
    """The one rule for a class definition (FORMAT.md §6.3, `credits.create_class`; genesis classes, §14):
    each field's rule, then the window (`valid_until_ms > valid_from_ms` when both are set), then the
    voucher fields (a cap needs a face value and is at least one voucher). Every failure
    is MALFORMED: a transaction breaking it is refused at admission, a genesis document is invalid."""
    (class_id, name, decimals, kind, eligibility, transferability, categories,
     valid_from_ms, valid_until_ms, holder_cap, budget, description_hash, face_value, voucher_cap) = fields.expect_fields(
        body, ClassDefinition._fields
    )
    parsed = ClassDefinition(
        fields.identifier(class_id, "class_id", CLASS_ID),
        fields.text(name, "name", MAX_NAME, least=1),
        fields.uint(decimals, "decimals", MAX_DECIMALS),
        choice(kind, "kind", rules.KINDS),
        id_list(eligibility, "eligibility", rules.ATTRIBUTE, rules.MAX_ELIGIBILITY),
        choice(transferability, "transferability", rules.TRANSFERABILITY),
        id_list(categories, "categories", rules.CATEGORY, rules.MAX_CATEGORIES),
        fields.uint(valid_from_ms, "valid_from_ms"),
        fields.uint(valid_until_ms, "valid_until_ms"),
        fields.uint(holder_cap, "holder_cap"),
        fields.uint(budget, "budget"),
        optional_hash(description_hash, "description_hash"),
        fields.uint(face_value, "face_value"),
        fields.uint(voucher_cap, "voucher_cap"),
    )
    if parsed.valid_from_ms and parsed.valid_until_ms and parsed.valid_until_ms <= parsed.valid_from_ms:
        raise TxError(Code.MALFORMED, "valid_until_ms must be after valid_from_ms")
    if parsed.voucher_cap and not parsed.face_value:
        raise TxError(Code.MALFORMED, "voucher_cap needs a face_value (it caps a payment of several vouchers)")
    if parsed.voucher_cap and parsed.voucher_cap < parsed.face_value:
        raise TxError(Code.MALFORMED, "voucher_cap must be at least face_value (or 0: one voucher per payment)")
    return parsed
