"""The checked credit operations (ledger/credit_ops.py): every rule at the moment of payment, escrow in the books.

The market and the agora will move credits only through these operations;
here they are called as a module's handler would, on a chain with identities,
attestations, ruled classes and an accredited provider (tests/credit_chain.py):

- `lock` applies every rule of the payment (or transfer) it holds, and the
  same refusal codes as `credits.pay` / `credits.transfer`, before any write;
- `release` pays the lot's payee (counted as spent in its category),
  `refund` returns credits to the payer; both may take part of a lot, and a
  lot at zero is gone;
- the books balance at every step: issued = held + escrowed + redeemed +
  reclaimed, the lots add up to `escrowed` (the auditor's invariant);
- every operation reports what it moved, and a refused one moves nothing.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genesis.rules import RULES
from ledger import credit_ops as ops
from ledger import credits
from ledger.credit_invariants import check_credits
from ledger.credit_ops import Movement
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext
from ledger.state import DictState, Overlay
from tests.credit_chain import IDS, PROVIDER, VALID_FROM, CreditChain
from tests.identity_chain import CHAIN_ID, ISSUER, KEYS, REGISTRAR

LOT = bytes([0xE5]) * 32
LOT_2 = bytes([0xE6]) * 32


@pytest.fixture()
def chain() -> CreditChain:
    c = CreditChain()
    c.at(VALID_FROM)
    assert c.send(ISSUER, "credits.accredit", (PROVIDER.pubkey, ("health",))) == Code.OK
    for key in KEYS[:2]:
        assert c.send(ISSUER, "credits.issue", ("welfare", key.pubkey, 300, "plan")) == Code.OK
    return c


def context(c: CreditChain) -> ExecContext:
    return ExecContext(Overlay(c.state), CHAIN_ID, c.height + 1, c.head.time_ms + 1000, b"", RULES, [])


def books_balance(ctx: ExecContext) -> None:
    items = dict(ctx.state.base.items)  # type: ignore[attr-defined]
    items.update(ctx.state.writes)
    items = {k: v for k, v in items.items() if v is not None}
    state = DictState(items)
    check_credits(state, lambda prefix: iter(sorted((k, v) for k, v in items.items() if k.startswith(prefix))))


def refused(call, *args) -> Code:
    with pytest.raises(TxError) as caught:
        call(*args)
    return caught.value.code


def test_a_payment_locked_in_escrow_leaves_the_payer_and_is_in_the_books(chain):
    ctx = context(chain)
    ops.lock(ctx, LOT, "welfare", KEYS[0].pubkey, PROVIDER.pubkey, 120, "health", "order 1")
    assert credits.get_balance(ctx.state, KEYS[0].pubkey, "welfare") == 180
    assert credits.get_class(ctx.state, "welfare").escrowed == 120
    assert ops.get_lot(ctx.state, LOT) == ops.Lot("welfare", KEYS[0].pubkey, PROVIDER.pubkey, "health", 120, ctx.height)
    assert ctx.moves == [Movement("lock", "welfare", KEYS[0].pubkey, None, 120, "order 1", LOT)]
    books_balance(ctx)


def test_release_and_refund_split_a_lot_and_a_lot_at_zero_is_gone(chain):
    ctx = context(chain)
    ops.lock(ctx, LOT, "welfare", KEYS[0].pubkey, PROVIDER.pubkey, 120, "health")
    ops.release(ctx, LOT, 70, "delivered")
    assert credits.get_balance(ctx.state, PROVIDER.pubkey, "welfare") == 70
    spent = ctx.state.get(credits.rules.spent_key("welfare", "health"))
    assert spent is not None
    ops.refund(ctx, LOT, 50, "arbiter: half of the rest")
    assert credits.get_balance(ctx.state, KEYS[0].pubkey, "welfare") == 230
    assert ops.get_lot(ctx.state, LOT) is None and credits.get_class(ctx.state, "welfare").escrowed == 0
    assert [m.kind for m in ctx.moves] == ["lock", "release", "refund"]
    assert ctx.moves[1].receiver == PROVIDER.pubkey and ctx.moves[2].receiver == KEYS[0].pubkey
    books_balance(ctx)
    assert refused(ops.release, ctx, LOT, 1) == Code.UNKNOWN_ESCROW


def test_a_lot_id_is_used_once_and_cannot_be_overdrawn(chain):
    ctx = context(chain)
    ops.lock(ctx, LOT, "welfare", KEYS[0].pubkey, PROVIDER.pubkey, 10, "health")
    assert refused(ops.lock, ctx, LOT, "welfare", KEYS[1].pubkey, PROVIDER.pubkey, 10, "health") == Code.ESCROW_EXISTS
    assert refused(ops.release, ctx, LOT, 11) == Code.INSUFFICIENT_BALANCE
    assert refused(ops.refund, ctx, LOT, 0) == Code.INSUFFICIENT_BALANCE
    assert ops.get_lot(ctx.state, LOT).amount == 10


@pytest.mark.parametrize(("payer", "payee", "class_id", "amount", "category", "code"), [
    (0, "provider", "welfare", 10, "sport", Code.WRONG_CATEGORY),  # the class pays for sport, the provider isn't accredited...
    (0, "provider", "welfare", 10, "food", Code.WRONG_CATEGORY),  # ...and food is not the class's
    (0, 1, "welfare", 10, "", Code.NOT_TRANSFERABLE),  # a spend-only class is not transferred, even into escrow
    (0, "provider", "welfare", 301, "health", Code.INSUFFICIENT_BALANCE),
    (0, 0, "eur", 10, "", Code.SELF_TRANSFER),
    (0, 3, "virtue", 1, "", Code.NOT_ELIGIBLE),  # KEYS[3] is no resident: not eligible to receive virtue
    (0, "provider", "nope", 1, "health", Code.UNKNOWN_CLASS),
])
def test_lock_refuses_what_pay_and_transfer_refuse_and_writes_nothing(chain, payer, payee, class_id, amount,
                                                                      category, code):
    ctx = context(chain)
    to = PROVIDER.pubkey if payee == "provider" else KEYS[payee].pubkey
    if (class_id, category) == ("welfare", "sport"):
        code = Code.NOT_ACCREDITED
    assert refused(ops.lock, ctx, LOT, class_id, KEYS[payer].pubkey, to, amount, category) == code
    assert ctx.state.writes == {} and ctx.moves == []


def test_lock_is_refused_to_a_suspended_identity_and_a_frozen_holder(chain):
    assert chain.send(REGISTRAR, "identity.set_status", (IDS[0], "suspended")) == Code.OK
    assert chain.send(ISSUER, "credits.freeze", ("welfare", KEYS[1].pubkey)) == Code.OK
    ctx = context(chain)
    assert refused(ops.lock, ctx, LOT, "welfare", KEYS[0].pubkey, PROVIDER.pubkey, 5, "health") == Code.IDENTITY_NOT_ACTIVE
    assert refused(ops.lock, ctx, LOT, "welfare", KEYS[1].pubkey, PROVIDER.pubkey, 5, "health") == Code.HOLDER_FROZEN


def test_pay_and_transfer_report_their_movements(chain):
    ctx = context(chain)
    ops.pay(ctx, "welfare", KEYS[0].pubkey, PROVIDER.pubkey, 40, "health", "receipt 9")
    ops.transfer(ctx, "eur", KEYS[0].pubkey, KEYS[2].pubkey, 5, "lunch")
    assert ctx.moves == [Movement("pay", "welfare", KEYS[0].pubkey, PROVIDER.pubkey, 40, "health: receipt 9"),
                         Movement("transfer", "eur", KEYS[0].pubkey, KEYS[2].pubkey, 5, "lunch")]


OPS = st.lists(st.tuples(st.sampled_from(["lock", "release", "refund", "pay", "transfer"]),
                         st.integers(0, 1), st.integers(0, 2), st.integers(1, 150)), max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(OPS)
def test_any_sequence_of_operations_keeps_the_books_and_leaves_nothing_in_a_closed_lot(chain, steps):
    ctx = context(chain)
    lots = [bytes([0xD0 + i]) * 32 for i in range(3)]
    total_before = credits.get_class(ctx.state, "welfare").issued
    for op, who, lot_index, amount in steps:
        lot, payer = lots[lot_index], KEYS[who].pubkey
        layer = ctx.state.child()
        step = ctx._replace(state=layer, moves=[])
        try:
            if op == "lock":
                ops.lock(step, lot, "welfare", payer, PROVIDER.pubkey, amount, "health")
            elif op == "release":
                ops.release(step, lot, amount)
            elif op == "refund":
                ops.refund(step, lot, amount)
            elif op == "pay":
                ops.pay(step, "welfare", payer, PROVIDER.pubkey, amount, "health", "")
            else:
                ops.transfer(step, "eur", payer, KEYS[2].pubkey, amount, "")
        except TxError:
            continue  # a refused operation writes nothing: its layer is dropped
        layer.merge_into_parent()
        books_balance(ctx)
    record = credits.get_class(ctx.state, "welfare")
    assert record.issued == total_before
    held_in_lots = sum(lot.amount for lot in (ops.get_lot(ctx.state, x) for x in lots) if lot is not None)
    assert held_in_lots == record.escrowed
