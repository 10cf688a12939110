"""The credit transaction types (FORMAT.md §6.3) and the credits module's declaration.

Each type is a parse (MALFORMED at admission) and an execute that checks who
may do it and then calls a checked operation (ledger/credit_ops.py), which
applies the class's rules in the documented order and moves the credits. Who
may do what:

- an authorised issuer creates classes; the class's issuer (or an operator it
  delegated to, for one class or all of its classes, `*`) issues; the issuer
  freezes and unfreezes a holder and reclaims after expiry;
- an authorised issuer accredits providers for categories, valid for its own
  classes; a registrar accredits for the whole federation (every class), and
  any registrar may revoke a federation accreditation;
- a holder transfers (p2p classes) or pays an accredited provider within the
  class's categories, while it holds the class's attributes, in whole
  vouchers for a voucher class;
- an accredited provider redeems what it was paid (after expiry too).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ledger import accounts, fields
from ledger import credit_ops as ops
from ledger import credit_rules as rules
from ledger.credit_genesis import CreditsGenesis
from ledger.credit_invariants import check_credits
from ledger.credits import (
    CLASS_ID,
    MAX_MEMO,
    PREFIX_BALANCE,
    PREFIX_CLASS,
    PREFIX_ISSUER,
    ClassDefinition,
    CreditClass,
    create_class,
    id_list,
    is_issuer,
    load_class,
    parse_class_definition,
)
from ledger.encoding import encode
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext, TxType
from ledger.rules import Module

MAX_RECLAIM = 256
"""Holders one reclaim names (a larger sweep is several transactions)."""


def _category(value: Any, field: str = "category") -> str:
    return fields.identifier(value, field, rules.CATEGORY)


def _as_issuer(ctx: ExecContext, class_id: str) -> CreditClass:
    credit_class = load_class(ctx.state, class_id)
    if credit_class.issuer != ctx.signer:
        raise TxError(Code.NOT_ISSUER)
    return credit_class


# --- credits.create_class --------------------------------------------------------------------


CreateClassBody = ClassDefinition  # its rules are shared with genesis classes (ledger/credits.py)


def _execute_create_class(ctx: ExecContext, body: CreateClassBody) -> None:
    if not is_issuer(ctx.state, ctx.signer):
        raise TxError(Code.NOT_AUTHORISED_ISSUER)
    create_class(ctx.state, body.class_id, body.record(ctx.signer))


# --- credits.issue ------------------------------------------------------------------------------


class IssueBody(NamedTuple):
    class_id: str
    to: bytes
    amount: int
    reason: str


def _parse_issue(body: tuple) -> IssueBody:
    class_id, to, amount, reason = fields.expect_fields(body, IssueBody._fields)
    return IssueBody(
        fields.identifier(class_id, "class_id", CLASS_ID),
        fields.pubkey(to, "to"),
        fields.amount(amount),
        fields.text(reason, "reason", MAX_MEMO),
    )


def _execute_issue(ctx: ExecContext, body: IssueBody) -> None:
    credit_class = load_class(ctx.state, body.class_id)
    if credit_class.issuer != ctx.signer and not rules.is_operator(
        ctx.state, credit_class.issuer, ctx.signer, body.class_id
    ):
        raise TxError(Code.NOT_ISSUER)
    ops.issue(ctx, body.class_id, body.to, body.amount, body.reason)


# --- credits.transfer ---------------------------------------------------------------------------


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
    ops.transfer(ctx, body.class_id, ctx.signer, body.to, body.amount, body.memo)


# --- credits.pay ----------------------------------------------------------------------------


class PayBody(NamedTuple):
    class_id: str
    provider: bytes
    amount: int
    category: str
    order_ref: str


def _parse_pay(body: tuple) -> PayBody:
    class_id, provider, amount, category, order_ref = fields.expect_fields(body, PayBody._fields)
    return PayBody(
        fields.identifier(class_id, "class_id", CLASS_ID),
        fields.pubkey(provider, "provider"),
        fields.amount(amount),
        _category(category),
        fields.text(order_ref, "order_ref", MAX_MEMO),
    )


def _execute_pay(ctx: ExecContext, body: PayBody) -> None:
    ops.pay(ctx, body.class_id, ctx.signer, body.provider, body.amount, body.category, body.order_ref)


# --- credits.redeem -------------------------------------------------------------------------


class RedeemBody(NamedTuple):
    class_id: str
    amount: int
    settlement_ref: str


def _parse_redeem(body: tuple) -> RedeemBody:
    class_id, amount, settlement_ref = fields.expect_fields(body, RedeemBody._fields)
    return RedeemBody(
        fields.identifier(class_id, "class_id", CLASS_ID),
        fields.amount(amount),
        fields.text(settlement_ref, "settlement_ref", MAX_MEMO),
    )


def _execute_redeem(ctx: ExecContext, body: RedeemBody) -> None:
    ops.redeem(ctx, body.class_id, ctx.signer, body.amount, body.settlement_ref)


# --- credits.reclaim ------------------------------------------------------------------------


class ReclaimBody(NamedTuple):
    class_id: str
    holders: tuple[bytes, ...]


def _parse_reclaim(body: tuple) -> ReclaimBody:
    class_id, holders = fields.expect_fields(body, ReclaimBody._fields)
    if type(holders) is not tuple or not 1 <= len(holders) <= MAX_RECLAIM:
        raise TxError(Code.MALFORMED, f"holders must be an array of 1 to {MAX_RECLAIM} accounts")
    keys = tuple(fields.pubkey(h, f"holders[{i}]") for i, h in enumerate(holders))
    if len(set(keys)) != len(keys):
        raise TxError(Code.MALFORMED, "holders must not repeat an account")
    return ReclaimBody(fields.identifier(class_id, "class_id", CLASS_ID), keys)


def _execute_reclaim(ctx: ExecContext, body: ReclaimBody) -> None:
    credit_class = _as_issuer(ctx, body.class_id)
    if credit_class.valid_until_ms == 0 or ctx.time_ms < credit_class.valid_until_ms:
        raise TxError(Code.RECLAIM_BEFORE_EXPIRY)
    ops.reclaim(ctx, body.class_id, body.holders)


# --- credits.freeze / credits.unfreeze ------------------------------------------------------


class HolderBody(NamedTuple):
    class_id: str
    holder: bytes


def _parse_holder(body: tuple) -> HolderBody:
    class_id, holder = fields.expect_fields(body, HolderBody._fields)
    return HolderBody(fields.identifier(class_id, "class_id", CLASS_ID), fields.pubkey(holder, "holder"))


def _execute_freeze(ctx: ExecContext, body: HolderBody) -> None:
    _as_issuer(ctx, body.class_id)
    rules.check_not_frozen(ctx.state, body.class_id, body.holder)
    ctx.state.put(rules.frozen_key(body.class_id, body.holder), encode((ctx.height,)))


def _execute_unfreeze(ctx: ExecContext, body: HolderBody) -> None:
    _as_issuer(ctx, body.class_id)
    if not rules.is_frozen(ctx.state, body.class_id, body.holder):
        raise TxError(Code.NOT_FROZEN)
    ctx.state.delete(rules.frozen_key(body.class_id, body.holder))


# --- credits.accredit / credits.revoke_accreditation ----------------------------------------


class AccreditBody(NamedTuple):
    provider: bytes
    categories: tuple[str, ...]


def _parse_accredit(body: tuple) -> AccreditBody:
    provider, categories = fields.expect_fields(body, AccreditBody._fields)
    return AccreditBody(
        fields.pubkey(provider, "provider"),
        id_list(categories, "categories", rules.CATEGORY, rules.MAX_CATEGORIES, least=1),
    )


def _accreditor(ctx: ExecContext) -> bytes:
    """A registrar accredits for the federation; else an authorised issuer for its own classes."""
    if ctx.rules.is_registrar(ctx.state, ctx.signer):
        return rules.FEDERATION
    if is_issuer(ctx.state, ctx.signer):
        return ctx.signer
    raise TxError(Code.NOT_ACCREDITOR)


def _execute_accredit(ctx: ExecContext, body: AccreditBody) -> None:
    accreditor = _accreditor(ctx)
    categories = set(rules.accredited_categories(ctx.state, body.provider, accreditor)) | set(body.categories)
    if len(categories) > rules.MAX_PROVIDER_CATEGORIES:
        raise TxError(Code.TOO_MANY_CATEGORIES, f"an accreditation holds at most {rules.MAX_PROVIDER_CATEGORIES}")
    rules.set_accredited_categories(ctx.state, body.provider, accreditor, tuple(categories))


def _execute_revoke_accreditation(ctx: ExecContext, body: AccreditBody) -> None:
    accreditor = _accreditor(ctx)
    held = rules.accredited_categories(ctx.state, body.provider, accreditor)
    for category in body.categories:
        if category not in held:
            raise TxError(Code.NOT_ACCREDITED, f"the provider is not accredited for {category} by this accreditor")
    rules.set_accredited_categories(
        ctx.state, body.provider, accreditor, tuple(c for c in held if c not in body.categories)
    )


# --- credits.delegate / credits.undelegate ----------------------------------------------------


class DelegateBody(NamedTuple):
    scope: str  # a class id, or "*" for every class of the issuer
    operator: bytes


def _parse_delegate(body: tuple) -> DelegateBody:
    scope, operator = fields.expect_fields(body, DelegateBody._fields)
    if scope != rules.ANY_CLASS:
        fields.identifier(scope, "class_id", CLASS_ID)
    return DelegateBody(scope, fields.pubkey(operator, "operator"))


def _check_delegator(ctx: ExecContext, body: DelegateBody) -> None:
    if not is_issuer(ctx.state, ctx.signer):
        raise TxError(Code.NOT_AUTHORISED_ISSUER)
    if body.scope != rules.ANY_CLASS:
        _as_issuer(ctx, body.scope)


def _execute_delegate(ctx: ExecContext, body: DelegateBody) -> None:
    _check_delegator(ctx, body)
    ctx.state.put(rules.operator_key(ctx.signer, body.operator, body.scope), encode((ctx.height,)))
    accounts.ensure_known(ctx.state, body.operator)  # so that it may sign the issues (FORMAT.md §8.1)


def _execute_undelegate(ctx: ExecContext, body: DelegateBody) -> None:
    _check_delegator(ctx, body)
    key = rules.operator_key(ctx.signer, body.operator, body.scope)
    if ctx.state.get(key) is None:
        raise TxError(Code.NOT_DELEGATED)
    ctx.state.delete(key)


CREATE_CLASS = TxType("credits.create_class", parse_class_definition, _execute_create_class)
ISSUE = TxType("credits.issue", _parse_issue, _execute_issue, lambda b: (b.to,))
TRANSFER = TxType("credits.transfer", _parse_transfer, _execute_transfer, lambda b: (b.to,))
PAY = TxType("credits.pay", _parse_pay, _execute_pay, lambda b: (b.provider,))
REDEEM = TxType("credits.redeem", _parse_redeem, _execute_redeem)
RECLAIM = TxType("credits.reclaim", _parse_reclaim, _execute_reclaim, lambda b: tuple(sorted(b.holders)))
FREEZE = TxType("credits.freeze", _parse_holder, _execute_freeze, lambda b: (b.holder,))
UNFREEZE = TxType("credits.unfreeze", _parse_holder, _execute_unfreeze, lambda b: (b.holder,))
ACCREDIT = TxType("credits.accredit", _parse_accredit, _execute_accredit, lambda b: (b.provider,))
REVOKE_ACCREDITATION = TxType(
    "credits.revoke_accreditation", _parse_accredit, _execute_revoke_accreditation, lambda b: (b.provider,)
)
DELEGATE = TxType("credits.delegate", _parse_delegate, _execute_delegate, lambda b: (b.operator,))
UNDELEGATE = TxType("credits.undelegate", _parse_delegate, _execute_undelegate, lambda b: (b.operator,))

MODULE = Module(
    name="credits",
    version=1,
    doc="credit classes with their rules, balances and their books, escrow",
    tx_types=(CREATE_CLASS, ISSUE, TRANSFER, PAY, REDEEM, RECLAIM, FREEZE, UNFREEZE, ACCREDIT,
              REVOKE_ACCREDITATION, DELEGATE, UNDELEGATE),
    codes=(
        Code.INSUFFICIENT_BALANCE, Code.UNKNOWN_CLASS, Code.NOT_ISSUER, Code.AMOUNT_OVERFLOW, Code.CLASS_EXISTS,
        Code.NOT_AUTHORISED_ISSUER, Code.SELF_TRANSFER, Code.NOT_TRANSFERABLE, Code.NOT_ELIGIBLE,
        Code.CLASS_NOT_YET_VALID, Code.CLASS_EXPIRED, Code.HOLDER_CAP_EXCEEDED, Code.BUDGET_EXCEEDED,
        Code.HOLDER_FROZEN, Code.NOT_FROZEN, Code.WRONG_CATEGORY, Code.NOT_ACCREDITED, Code.NOT_ACCREDITOR,
        Code.TOO_MANY_CATEGORIES, Code.NOT_PROVIDER, Code.RECLAIM_BEFORE_EXPIRY, Code.NOT_DELEGATED,
        Code.ESCROW_EXISTS, Code.UNKNOWN_ESCROW, Code.FACE_VALUE_NOT_COVERED, Code.VOUCHER_CAP_EXCEEDED,
    ),
    prefixes=(PREFIX_CLASS, PREFIX_BALANCE, PREFIX_ISSUER, rules.PREFIX_CREDIT, ops.PREFIX_ESCROW),
    genesis=CreditsGenesis,
    invariants=check_credits,
)
