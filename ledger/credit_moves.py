"""The credit movements besides issue and transfer (FORMAT.md §6.3): pay, redeem, reclaim,
freeze and unfreeze, accreditation of providers, delegation of issuance.

Each type is a parse (MALFORMED at admission) and an execute that runs its
checks in the documented order, raising the first failing one's code, and
only then writes. Who may do what:

- the class's issuer delegates issuance (for one class or all of its
  classes, `*`), freezes and unfreezes a holder, reclaims after expiry;
- an authorised issuer accredits providers for categories, valid for its own
  classes; a registrar accredits for the whole federation (every class), and
  any registrar may revoke a federation accreditation;
- a holder pays an accredited provider within the class's categories;
- an accredited provider redeems what it was paid (after expiry too).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ledger import accounts, fields
from ledger import credit_rules as rules
from ledger.credits import (
    CLASS_ID,
    MAX_MEMO,
    CreditClass,
    get_balance,
    id_list,
    is_issuer,
    load_class,
    move,
    put_class,
    set_balance,
    take,
)
from ledger.encoding import encode
from ledger.errors import Code, TxError
from ledger.guards import check_can_spend
from ledger.handlers import ExecContext, TxType, register

MAX_RECLAIM = 256
"""Holders one reclaim names (a larger sweep is several transactions)."""


def _category(value: Any, field: str = "category") -> str:
    return fields.identifier(value, field, rules.CATEGORY)


def _as_issuer(ctx: ExecContext, class_id: str) -> CreditClass:
    credit_class = load_class(ctx.state, class_id)
    if credit_class.issuer != ctx.signer:
        raise TxError(Code.NOT_ISSUER)
    return credit_class


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
    check_can_spend(ctx.state, ctx.signer)
    credit_class = load_class(ctx.state, body.class_id)
    rules.check_window(credit_class.valid_from_ms, credit_class.valid_until_ms, ctx.time_ms)
    if credit_class.categories and body.category not in credit_class.categories:
        raise TxError(Code.WRONG_CATEGORY, f"the class pays for {', '.join(credit_class.categories)}")
    if body.provider == ctx.signer:
        raise TxError(Code.SELF_TRANSFER)
    if not rules.is_provider_for(ctx.state, body.provider, credit_class.issuer, body.category):
        raise TxError(Code.NOT_ACCREDITED, f"the provider is not accredited for {body.category}")
    rules.check_not_frozen(ctx.state, body.class_id, ctx.signer)
    move(ctx.state, body.class_id, ctx.signer, body.provider, body.amount)
    rules.add_total(ctx.state, rules.spent_key(body.class_id, body.category), body.amount)


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
    check_can_spend(ctx.state, ctx.signer)
    credit_class = load_class(ctx.state, body.class_id)
    if not rules.is_provider_for(ctx.state, ctx.signer, credit_class.issuer):
        raise TxError(Code.NOT_PROVIDER)
    rules.check_not_frozen(ctx.state, body.class_id, ctx.signer)
    take(ctx.state, body.class_id, ctx.signer, body.amount)
    put_class(ctx.state, body.class_id, credit_class._replace(redeemed=credit_class.redeemed + body.amount))
    rules.add_total(ctx.state, rules.redeemed_key(body.class_id, ctx.signer), body.amount)


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
    total = 0
    for holder in body.holders:
        total += get_balance(ctx.state, holder, body.class_id)
        set_balance(ctx.state, holder, body.class_id, 0)
    put_class(ctx.state, body.class_id, credit_class._replace(reclaimed=credit_class.reclaimed + total))


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
    if rules.is_registrar(ctx.state, ctx.signer):
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


PAY = register(TxType("credits.pay", _parse_pay, _execute_pay, lambda b: (b.provider,)))
REDEEM = register(TxType("credits.redeem", _parse_redeem, _execute_redeem))
RECLAIM = register(TxType("credits.reclaim", _parse_reclaim, _execute_reclaim, lambda b: tuple(sorted(b.holders))))
FREEZE = register(TxType("credits.freeze", _parse_holder, _execute_freeze, lambda b: (b.holder,)))
UNFREEZE = register(TxType("credits.unfreeze", _parse_holder, _execute_unfreeze, lambda b: (b.holder,)))
ACCREDIT = register(TxType("credits.accredit", _parse_accredit, _execute_accredit, lambda b: (b.provider,)))
REVOKE_ACCREDITATION = register(
    TxType("credits.revoke_accreditation", _parse_accredit, _execute_revoke_accreditation, lambda b: (b.provider,))
)
DELEGATE = register(TxType("credits.delegate", _parse_delegate, _execute_delegate, lambda b: (b.operator,)))
UNDELEGATE = register(TxType("credits.undelegate", _parse_delegate, _execute_undelegate, lambda b: (b.operator,)))
