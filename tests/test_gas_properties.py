"""Purchase groups under random interleavings (hypothesis), held to a model and to conservation.

Hypothesis draws blocks (how much time passes; which groups a cooperative
opens, with what quantities, tiers and deadlines; which members join, add to
or leave which group) and a per-block bound on due items (2, 3 or plenty).
On tests/gas_chain.py's chain (proposer and follower; the auditor at the
end), every transaction's result must be the model's:

- open: GROUP_EXISTS for an id used before, else OK;
- join: UNKNOWN_GROUP, DEADLINE_PASSED from the deadline on, GROUP_FULL
  above the maximum, else OK (prices are low enough that balances never bind:
  the balance refusal is tested in tests/test_gas.py);
- leave: UNKNOWN_GROUP, DEADLINE_PASSED, NOT_COMMITTED, else OK;

after every block every class's books balance and the module invariants
hold (no settled or failed group has a commitment or a lot left); and once
time has passed every deadline and the due items are drained, no credit is in
escrow, each group settled exactly when its minimum was reached, at the tier
its total reached, and every member, the supplier and the listing's stock
hold exactly what the model says.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger import deadlines
from ledger.credit_ops import PREFIX_ESCROW
from ledger.errors import Code
from market import groups_record as rec
from market.groups_record import FAILED, SETTLED
from tests.credit_chain import PROVIDER, check_books
from tests.gas_chain import ORGANISER, STOCK, GasChain
from tests.identity_chain import KEYS

MEMBERS = KEYS[:8]
GROUP_IDS = [bytes([0x40 + i]) * 16 for i in range(3)]
START = 1000  # every member's eur (tests/gas_chain.py)


@st.composite
def open_op(draw):
    g = draw(st.integers(0, 2))
    min_qty = draw(st.integers(1, 6))
    max_qty = draw(st.integers(min_qty, 20))
    starts = sorted(draw(st.sets(st.integers(min_qty + 1, max_qty), max_size=2))) if max_qty > min_qty else []
    prices = sorted(draw(st.sets(st.integers(1, 10), min_size=len(starts) + 1, max_size=len(starts) + 1)),
                    reverse=True)
    tiers = tuple(zip([min_qty, *starts], prices, strict=True))
    return ("open", g, min_qty, max_qty, tiers, draw(st.integers(1000, 40_000)))


join_op = st.tuples(st.just("join"), st.integers(0, 7), st.integers(0, 2), st.integers(1, 6))
leave_op = st.tuples(st.just("leave"), st.integers(0, 7), st.integers(0, 2))
any_op = st.one_of(open_op(), join_op, join_op, join_op, leave_op)
plan_strategy = st.tuples(
    st.sampled_from([2, 3, 1000]),
    st.lists(open_op(), min_size=1, max_size=3),  # the first block's
    st.lists(st.tuples(st.integers(200, 12_000), st.lists(any_op, max_size=6)), min_size=1, max_size=12),
)


class Model:
    def __init__(self) -> None:
        self.groups: dict[int, dict] = {}

    def open(self, g: int, min_qty: int, max_qty: int, tiers, deadline_ms: int) -> Code:
        if g in self.groups:
            return Code.GROUP_EXISTS
        self.groups[g] = {"min": min_qty, "max": max_qty, "tiers": tiers, "deadline": deadline_ms, "members": {}}
        return Code.OK

    def join(self, m: int, g: int, q: int, t: int) -> Code:
        group = self.groups.get(g)
        if group is None:
            return Code.UNKNOWN_GROUP
        if t >= group["deadline"]:
            return Code.DEADLINE_PASSED
        if sum(group["members"].values()) + q > group["max"]:
            return Code.GROUP_FULL
        group["members"][m] = group["members"].get(m, 0) + q
        return Code.OK

    def leave(self, m: int, g: int, t: int) -> Code:
        group = self.groups.get(g)
        if group is None:
            return Code.UNKNOWN_GROUP
        if t >= group["deadline"]:
            return Code.DEADLINE_PASSED
        if m not in group["members"]:
            return Code.NOT_COMMITTED
        del group["members"][m]
        return Code.OK

    @staticmethod
    def price(group: dict) -> int:
        total = sum(group["members"].values())
        reached = [price for start, price in group["tiers"] if start <= total]
        return reached[-1] if total >= group["min"] else 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(plan_strategy)
def test_random_groups_conserve_credits_and_leave_nothing_in_escrow(plan):
    budget, first, blocks = plan
    blocks = [(1000, first), *blocks]
    c = GasChain(max_due_per_block=budget)
    model = Model()
    time_ms = c.head.time_ms
    for gap, ops in blocks:
        time_ms += gap
        nonces: dict[bytes, int] = {}
        txs, expected = [], []
        for op in ops:
            if op[0] == "open":
                _, g, min_qty, max_qty, tiers, offset = op
                key = ORGANISER
                body = c.open_body(GROUP_IDS[g], time_ms + offset, min_qty=min_qty, max_qty=max_qty, tiers=tiers)
                expected.append(model.open(g, min_qty, max_qty, tiers, time_ms + offset))
                type_ = "gas.open"
            elif op[0] == "join":
                _, m, g, q = op
                key, type_, body = MEMBERS[m], "gas.join", (GROUP_IDS[g], q)
                expected.append(model.join(m, g, q, time_ms))
            else:
                _, m, g = op
                key, type_, body = MEMBERS[m], "gas.leave", (GROUP_IDS[g],)
                expected.append(model.leave(m, g, time_ms))
            nonce = nonces.setdefault(key.pubkey, c.nonce(key))
            nonces[key.pubkey] = nonce + 1
            txs.append(c.tx(key, type_, body, nonce=nonce))
        block = c.block(txs, time_ms)
        assert list(block.results) == expected, (ops, block.results, expected)
        for code in expected:
            event(f"result {Code(code).name}")
        check_books(c)
        c.check_invariants()

    last = max((group["deadline"] for group in model.groups.values()), default=time_ms)
    c.block([], max(last, time_ms) + 1)
    for _ in range(40):  # the due items left, at most `budget` a block
        if not any(k.startswith(deadlines.PREFIX_DUE) for k in c.state.items):
            break
        c.block([])
        check_books(c)
        c.check_invariants()
    assert not any(k.startswith((deadlines.PREFIX_DUE, PREFIX_ESCROW, rec.PREFIX_COMMIT)) for k in c.state.items)
    assert c.cls("eur").escrowed == 0

    paid = {m: 0 for m in range(len(MEMBERS))}
    supplier = sold = 0
    for g, group in model.groups.items():
        price, total = Model.price(group), sum(group["members"].values())
        record = c.group(GROUP_IDS[g])
        assert (record.status, record.unit_price, record.committed_qty, record.pending) == \
            (SETTLED if price else FAILED, price, total, 0)
        for m, q in group["members"].items():
            paid[m] += q * price
        supplier += total * price
        sold += total if price else 0
        event("a group settled" if price else ("a group failed with members" if total else "an empty group failed"))
    assert [c.balance(key, "eur") for key in MEMBERS] == [START - paid[m] for m in range(len(MEMBERS))]
    assert c.balance(PROVIDER, "eur") == supplier
    assert c.stock() == STOCK - sold
    report = c.audit()
    assert report.invariants["gas"] == len(model.groups)
