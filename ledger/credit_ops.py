"""The checked credit operations: the only way any module moves credits (FORMAT.md §6.3.2).

Every operation applies every rule of the class that concerns it, in a fixed
order, raises the first failing rule's TxError, and writes only after all of
them passed:

- `issue`: the one way credits come in (window, freeze, eligibility, caps);
- `transfer`: holder to holder (spend guard, p2p class, window, freeze,
  recipient's eligibility);
- `pay`: holder to an accredited provider for a category (spend guard,
  window, the payer's eligibility, category, voucher rules, accreditation,
  freeze);
- `redeem`, `reclaim`: the two ways credits go out;
- `lock`: a transfer or a payment whose credits the ledger holds in an escrow
  lot until `release` (to the payee) or `refund` (to the payer) — the same
  rules as the transfer or payment, checked when the credits are locked,
  which is the moment of payment. Escrow is part of a class's books:
  `issued = held + escrowed + redeemed + reclaimed`;
- `lock_fund`, `pay_out`: a lot whose payees are named later, one part at a
  time (a participatory budget): the payer's rules are checked when it is
  locked, each payee's when it is paid out; the rest goes back by `refund`.

Each operation appends what it moved to `ctx.moves` (a `Movement`), so that
statements, histories and the auditor read movements off execution instead
of guessing them from transaction bodies; a transaction that fails drops its
movements with its writes.
"""

from __future__ import annotations

from typing import NamedTuple

from ledger import credit_rules as rules
from ledger.credits import (
    CreditClass,
    credit,
    get_balance,
    load_class,
    mint,
    put_class,
    set_balance,
    take,
)
from ledger.encoding import decode, encode
from ledger.errors import Code, TxError
from ledger.fields import MAX_AMOUNT
from ledger.handlers import ExecContext
from ledger.state import StateReader

PREFIX_ESCROW = b"escrow/"
LOT_LEN = 32
NO_PAYEE = bytes(32)
"""The payee of a fund (`lock_fund`): nobody yet; `pay_out` names each payee (FORMAT.md §6.3.2)."""


class Movement(NamedTuple):
    """Credits that moved: from `sender` to `receiver` (None: issued, or out of the chain), or
    into / out of the escrow `lot`."""

    kind: str  # issue, transfer, pay, redeem, reclaim, lock, release, refund
    class_id: str
    sender: bytes | None
    receiver: bytes | None
    amount: int
    reference: str
    lot: bytes | None = None


class Lot(NamedTuple):
    """The value of `escrow/ ‖ lot` (FORMAT.md §9): credits the ledger holds for a payment not yet final."""

    class_id: str
    payer: bytes
    payee: bytes
    category: str  # "" for a transfer to a person; else the category the payment is for
    amount: int  # what is left in the lot (1 … 2^63 − 1; the record is deleted at 0)
    locked_height: int


def escrow_key(lot: bytes) -> bytes:
    return PREFIX_ESCROW + lot


def get_lot(state: StateReader, lot: bytes) -> Lot | None:
    raw = state.get(escrow_key(lot))
    return None if raw is None else Lot(*decode(raw))


# --- the spender's rules, shared by transfer, pay and lock -----------------------------------


def _checked_transfer(ctx: ExecContext, class_id: str, sender: bytes, to: bytes) -> CreditClass:
    """FORMAT.md §6.3, credits.transfer: every rule, in order; the balance is checked by the move."""
    ctx.rules.check_can_spend(ctx.state, sender)  # e.g. a suspended identity's account
    credit_class = load_class(ctx.state, class_id)
    if credit_class.transferability != rules.P2P:
        raise TxError(Code.NOT_TRANSFERABLE)
    rules.check_window(credit_class.valid_from_ms, credit_class.valid_until_ms, ctx.time_ms)
    rules.check_not_frozen(ctx.state, class_id, sender)
    if to == sender:
        raise TxError(Code.SELF_TRANSFER)
    rules.check_eligible(ctx.rules, ctx.state, credit_class.eligibility, to, ctx.height)
    return credit_class


def _checked_payment(ctx: ExecContext, class_id: str, payer: bytes, provider: bytes, category: str,
                     amount: int) -> CreditClass:
    """FORMAT.md §6.3, credits.pay: every rule, in order; the balance is checked by the move.

    The payer must hold the class's attributes now (a plan's beneficiary who is no longer one
    does not spend it), and a voucher class takes only whole vouchers."""
    ctx.rules.check_can_spend(ctx.state, payer)
    credit_class = load_class(ctx.state, class_id)
    rules.check_window(credit_class.valid_from_ms, credit_class.valid_until_ms, ctx.time_ms)
    rules.check_eligible(ctx.rules, ctx.state, credit_class.eligibility, payer, ctx.height)
    if credit_class.categories and category not in credit_class.categories:
        raise TxError(Code.WRONG_CATEGORY, f"the class pays for {', '.join(credit_class.categories)}")
    rules.check_vouchers(credit_class.face_value, credit_class.voucher_cap, amount)
    if provider == payer:
        raise TxError(Code.SELF_TRANSFER)
    if not rules.is_provider_for(ctx.state, provider, credit_class.issuer, category):
        raise TxError(Code.NOT_ACCREDITED, f"the provider is not accredited for {category}")
    rules.check_not_frozen(ctx.state, class_id, payer)
    return credit_class


# --- in, across, out ---------------------------------------------------------------------------


def issue(ctx: ExecContext, class_id: str, to: bytes, amount: int, reason: str) -> None:
    """New credits to `to`. Who may issue is the transaction's rule; these are the class's."""
    credit_class = load_class(ctx.state, class_id)
    rules.check_window(credit_class.valid_from_ms, credit_class.valid_until_ms, ctx.time_ms)
    rules.check_not_frozen(ctx.state, class_id, to)
    rules.check_eligible(ctx.rules, ctx.state, credit_class.eligibility, to, ctx.height)
    mint(ctx.state, class_id, to, amount)
    ctx.moves.append(Movement("issue", class_id, None, to, amount, reason))


def transfer(ctx: ExecContext, class_id: str, sender: bytes, to: bytes, amount: int, memo: str) -> None:
    _checked_transfer(ctx, class_id, sender, to)
    take(ctx.state, class_id, sender, amount)
    credit(ctx.state, class_id, to, amount)
    ctx.moves.append(Movement("transfer", class_id, sender, to, amount, memo))


def pay(ctx: ExecContext, class_id: str, payer: bytes, provider: bytes, amount: int, category: str,
        reference: str) -> None:
    _checked_payment(ctx, class_id, payer, provider, category, amount)
    take(ctx.state, class_id, payer, amount)
    credit(ctx.state, class_id, provider, amount)
    rules.add_total(ctx.state, rules.spent_key(class_id, category), amount)
    ctx.moves.append(Movement("pay", class_id, payer, provider, amount, _payment_reference(category, reference)))


def redeem(ctx: ExecContext, class_id: str, provider: bytes, amount: int, settlement_ref: str) -> None:
    """A provider hands back credits it was paid, for settlement off chain: they leave the class."""
    ctx.rules.check_can_spend(ctx.state, provider)
    credit_class = load_class(ctx.state, class_id)
    if not rules.is_provider_for(ctx.state, provider, credit_class.issuer):
        raise TxError(Code.NOT_PROVIDER)
    rules.check_not_frozen(ctx.state, class_id, provider)
    take(ctx.state, class_id, provider, amount)
    put_class(ctx.state, class_id, credit_class._replace(redeemed=credit_class.redeemed + amount))
    rules.add_total(ctx.state, rules.redeemed_key(class_id, provider), amount)
    ctx.moves.append(Movement("redeem", class_id, provider, None, amount, settlement_ref))


def reclaim(ctx: ExecContext, class_id: str, holders: tuple[bytes, ...]) -> None:
    """An expired class's balances back to the issuer's books (the caller checks the issuer and expiry)."""
    credit_class = load_class(ctx.state, class_id)
    total = 0
    for holder in holders:
        amount = get_balance(ctx.state, holder, class_id)
        if amount:
            set_balance(ctx.state, holder, class_id, 0)
            ctx.moves.append(Movement("reclaim", class_id, holder, None, amount, ""))
            total += amount
    put_class(ctx.state, class_id, credit_class._replace(reclaimed=credit_class.reclaimed + total))


# --- escrow ------------------------------------------------------------------------------------


def lock(ctx: ExecContext, lot: bytes, class_id: str, payer: bytes, payee: bytes, amount: int,
         category: str = "", reference: str = "") -> None:
    """Take `amount` from `payer` into a new escrow lot for `payee`.

    With a category it is a payment to an accredited provider for that
    category, else a transfer to a person: the same rules, checked now, the
    moment of payment. The lot id is the calling module's (say, a hash of its
    order id): one lot per id, ever.
    """
    if len(lot) != LOT_LEN:
        raise ValueError("an escrow lot id is 32 bytes")
    if get_lot(ctx.state, lot) is not None:
        raise TxError(Code.ESCROW_EXISTS)
    if category:
        credit_class = _checked_payment(ctx, class_id, payer, payee, category, amount)
    else:
        credit_class = _checked_transfer(ctx, class_id, payer, payee)
    take(ctx.state, class_id, payer, amount)
    if credit_class.escrowed + amount > MAX_AMOUNT:
        raise TxError(Code.AMOUNT_OVERFLOW)
    put_class(ctx.state, class_id, credit_class._replace(escrowed=credit_class.escrowed + amount))
    ctx.state.put(escrow_key(lot), encode(tuple(Lot(class_id, payer, payee, category, amount, ctx.height))))
    ctx.moves.append(Movement("lock", class_id, payer, None, amount, reference, lot))


def lock_fund(ctx: ExecContext, lot: bytes, class_id: str, payer: bytes, amount: int, reference: str = "") -> None:
    """Take `amount` from `payer` into a new lot whose payees `pay_out` names later (FORMAT.md §6.3.2).

    The checks of a transfer that concern the payer, now: the spend guard, the
    class, p2p, the window, the payer's freeze, the balance. The payees' own
    rule (eligibility) is theirs, checked when each is paid out.
    """
    if len(lot) != LOT_LEN:
        raise ValueError("an escrow lot id is 32 bytes")
    if get_lot(ctx.state, lot) is not None:
        raise TxError(Code.ESCROW_EXISTS)
    ctx.rules.check_can_spend(ctx.state, payer)
    credit_class = load_class(ctx.state, class_id)
    if credit_class.transferability != rules.P2P:
        raise TxError(Code.NOT_TRANSFERABLE)
    rules.check_window(credit_class.valid_from_ms, credit_class.valid_until_ms, ctx.time_ms)
    rules.check_not_frozen(ctx.state, class_id, payer)
    take(ctx.state, class_id, payer, amount)
    if credit_class.escrowed + amount > MAX_AMOUNT:
        raise TxError(Code.AMOUNT_OVERFLOW)
    put_class(ctx.state, class_id, credit_class._replace(escrowed=credit_class.escrowed + amount))
    ctx.state.put(escrow_key(lot), encode(tuple(Lot(class_id, payer, NO_PAYEE, "", amount, ctx.height))))
    ctx.moves.append(Movement("lock", class_id, payer, None, amount, reference, lot))


def check_payee(ctx: ExecContext, class_id: str, payer: bytes, to: bytes) -> None:
    """What a fund's payee must pass when it is named and when it is paid (FORMAT.md §6.3.2, pay_out):
    not the payer (`SELF_TRANSFER`), eligible(to) now (`NOT_ELIGIBLE`)."""
    if to == payer:
        raise TxError(Code.SELF_TRANSFER)
    rules.check_eligible(ctx.rules, ctx.state, load_class(ctx.state, class_id).eligibility, to, ctx.height)


def pay_out(ctx: ExecContext, lot: bytes, to: bytes, amount: int, reference: str = "") -> None:
    """Pay `amount` of a fund (a lot of `lock_fund`) to `to`, checked as its payee now."""
    held = get_lot(ctx.state, lot)
    if held is None:
        raise TxError(Code.UNKNOWN_ESCROW)
    if held.payee != NO_PAYEE:
        raise ValueError("pay_out is for a fund's lot; an ordinary lot is released to its payee")
    check_payee(ctx, held.class_id, held.payer, to)
    _draw(ctx, lot, amount)
    credit(ctx.state, held.class_id, to, amount)
    ctx.moves.append(Movement("release", held.class_id, None, to, amount, reference, lot))


def release(ctx: ExecContext, lot: bytes, amount: int, reference: str = "") -> None:
    """Pay `amount` of the lot to its payee (a payment counts as spent in its category now)."""
    held = _draw(ctx, lot, amount)
    credit(ctx.state, held.class_id, held.payee, amount)
    if held.category:
        rules.add_total(ctx.state, rules.spent_key(held.class_id, held.category), amount)
    ctx.moves.append(Movement("release", held.class_id, None, held.payee, amount, reference, lot))


def refund(ctx: ExecContext, lot: bytes, amount: int, reference: str = "") -> None:
    """Give `amount` of the lot back to its payer."""
    held = _draw(ctx, lot, amount)
    credit(ctx.state, held.class_id, held.payer, amount)
    ctx.moves.append(Movement("refund", held.class_id, None, held.payer, amount, reference, lot))


def _draw(ctx: ExecContext, lot: bytes, amount: int) -> Lot:
    """Take `amount` out of a lot and out of its class's escrowed total (deleting the lot at 0)."""
    held = get_lot(ctx.state, lot)
    if held is None:
        raise TxError(Code.UNKNOWN_ESCROW)
    if not 0 < amount <= held.amount:
        raise TxError(Code.INSUFFICIENT_BALANCE, f"the escrow holds {held.amount}, not {amount}")
    if amount == held.amount:
        ctx.state.delete(escrow_key(lot))
    else:
        ctx.state.put(escrow_key(lot), encode(tuple(held._replace(amount=held.amount - amount))))
    credit_class = load_class(ctx.state, held.class_id)
    put_class(ctx.state, held.class_id, credit_class._replace(escrowed=credit_class.escrowed - amount))
    return held


def _payment_reference(category: str, reference: str) -> str:
    return f"{category}: {reference}" if reference else category
