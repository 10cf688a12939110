"""Credit classes and balances: the minimal money of the ledger.

A class has an issuer; only the issuer issues (its supply grows), holders
transfer (the supply is conserved), and no balance is ever negative or above
MAX_AMOUNT. The credits issue adds the classes' rules on top of these records.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ledger import fields
from ledger.encoding import decode, encode
from ledger.errors import Code, TxError
from ledger.fields import MAX_AMOUNT
from ledger.guards import check_can_spend
from ledger.handlers import ExecContext, TxType, register
from ledger.state import Overlay, StateReader

CLASS_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
MAX_NAME = 64
MAX_MEMO = 128
MAX_DECIMALS = 6

# State keys (FORMAT.md, "State")
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
    issuer: bytes
    name: str
    decimals: int
    supply: int

    def encode(self) -> bytes:
        return encode(tuple(self))


def get_class(state: StateReader, class_id: str) -> CreditClass | None:
    raw = state.get(class_key(class_id))
    return None if raw is None else CreditClass(*decode(raw))


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


def create_class(state: Overlay, class_id: str, issuer: bytes, name: str, decimals: int) -> None:
    if state.get(class_key(class_id)) is not None:
        raise TxError(Code.CLASS_EXISTS)
    state.put(class_key(class_id), CreditClass(issuer, name, decimals, 0).encode())


def mint(state: Overlay, class_id: str, to: bytes, amount: int) -> None:
    """Issue `amount` new credits of a class to `to`: the only way credits come in."""
    credit_class = get_class(state, class_id)
    if credit_class is None:
        raise TxError(Code.UNKNOWN_CLASS)
    supply = credit_class.supply + amount
    if supply > MAX_AMOUNT:
        raise TxError(Code.AMOUNT_OVERFLOW)
    set_balance(state, to, class_id, get_balance(state, to, class_id) + amount)
    state.put(class_key(class_id), credit_class._replace(supply=supply).encode())


def move(state: Overlay, class_id: str, sender: bytes, to: bytes, amount: int) -> None:
    """Move credits between holders; the class supply is unchanged."""
    if get_class(state, class_id) is None:
        raise TxError(Code.UNKNOWN_CLASS)
    if sender == to:
        raise TxError(Code.SELF_TRANSFER)
    have = get_balance(state, sender, class_id)
    if have < amount:
        raise TxError(Code.INSUFFICIENT_BALANCE, f"balance {have} is less than {amount}")
    set_balance(state, sender, class_id, have - amount)
    set_balance(state, to, class_id, get_balance(state, to, class_id) + amount)


# --- transaction types -------------------------------------------------------


class CreateClassBody(NamedTuple):
    class_id: str
    name: str
    decimals: int


def _parse_create_class(body: tuple) -> CreateClassBody:
    class_id, name, decimals = fields.expect_fields(body, CreateClassBody._fields)
    return CreateClassBody(
        fields.identifier(class_id, "class_id", CLASS_ID),
        fields.text(name, "name", MAX_NAME),
        fields.uint(decimals, "decimals", MAX_DECIMALS),
    )


def _execute_create_class(ctx: ExecContext, body: CreateClassBody) -> None:
    if not is_issuer(ctx.state, ctx.signer):
        raise TxError(Code.NOT_AUTHORISED_ISSUER)
    create_class(ctx.state, body.class_id, ctx.signer, body.name, body.decimals)


class IssueBody(NamedTuple):
    class_id: str
    to: bytes
    amount: int
    reference: str


def _parse_issue(body: tuple) -> IssueBody:
    class_id, to, amount, reference = fields.expect_fields(body, IssueBody._fields)
    return IssueBody(
        fields.identifier(class_id, "class_id", CLASS_ID),
        fields.pubkey(to, "to"),
        fields.amount(amount),
        fields.text(reference, "reference", MAX_MEMO),
    )


def _execute_issue(ctx: ExecContext, body: IssueBody) -> None:
    credit_class = get_class(ctx.state, body.class_id)
    if credit_class is None:
        raise TxError(Code.UNKNOWN_CLASS)
    if credit_class.issuer != ctx.signer:
        raise TxError(Code.NOT_ISSUER)
    mint(ctx.state, body.class_id, body.to, body.amount)


class TransferBody(NamedTuple):
    class_id: str
    to: bytes
    amount: int
    memo: str


def _parse_transfer(body: tuple) -> TransferBody:
    class_id, to, amount, memo = fields.expect_fields(body, TransferBody._fields)
    return TransferBody(
        fields.identifier(class_id, "class_id", CLASS_ID),
        fields.pubkey(to, "to"),
        fields.amount(amount),
        fields.text(memo, "memo", MAX_MEMO),
    )


def _execute_transfer(ctx: ExecContext, body: TransferBody) -> None:
    check_can_spend(ctx.state, ctx.signer)  # e.g. a suspended identity's account (identity/guard.py)
    move(ctx.state, body.class_id, ctx.signer, body.to, body.amount)


CREATE_CLASS = register(TxType("credits.create_class", _parse_create_class, _execute_create_class))
ISSUE = register(TxType("credits.issue", _parse_issue, _execute_issue, lambda b: (b.to,)))
TRANSFER = register(TxType("credits.transfer", _parse_transfer, _execute_transfer, lambda b: (b.to,)))
