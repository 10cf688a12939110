"""Statements of marketplace orders: every escrow movement is a row of `incoop audit export`.

The market chain (tests/market_chain.py), each block kept with a commit
certificate as a node stores it (tests/test_audit_export.py's CertifiedChain),
plays one order down each path in `plan` credits:

1. order 1: placed (lock), accepted, confirmed (release);
2. order 2: placed, declined (refund);
3. order 3 (two units): placed, accepted, disputed, decided 0.75 to the
   provider (release) and 1.25 back (refund);
4. order 4: placed, accepted, and released by the end-of-block step when the
   buyer's window passes: a row with no transaction (`market.end_block`);
5. order 5: placed, never accepted, expired by the step (refund).

The exporter replays the chain and takes the rows from the movements the
checked credit operations reported; each escrow row has the lot on its other
side (`escrow:<lot hex>`), and genesis balances plus the rows give the final
balances, with nothing left in any lot.
"""

from __future__ import annotations

import json

import pytest

from genesis.document import parse_genesis
from genesis.rules import RULES
from ledger.errors import Code
from market.records import order_lot
from node.audit.export import Selection, export_movements
from tests.chain_source import ListSource
from tests.market_chain import (
    ARBITER,
    PROVIDER,
    A,
    MarketChain,
    listing_body,
    listing_id,
    market_genesis_document,
    order_id,
)
from tests.test_audit_export import CertifiedChain, held_by_class


class CertifiedMarket(CertifiedChain, MarketChain):
    """The market chain, keeping every block with its certificate (CertifiedChain.block)."""


class Orders:
    def __init__(self) -> None:
        self.genesis = parse_genesis(json.dumps(market_genesis_document()))
        c = self.chain = CertifiedMarket()
        assert c.send(PROVIDER, "market.list", listing_body(1, (("plan", 100),))) == Code.OK

        def act(key, type_: str, n: int, *rest) -> None:
            assert c.send(key, f"market.{type_}", (order_id(n), *rest)) == Code.OK, (type_, n)

        for n in (1, 2, 3):
            act(A, "order", n, listing_id(1), "plan", 1 if n != 3 else 2)
        act(PROVIDER, "accept", 1)
        act(A, "confirm", 1)
        act(PROVIDER, "decline", 2)
        act(PROVIDER, "accept", 3)
        act(A, "dispute", 3, "half of it was stale")
        act(ARBITER, "decide", 3, 75, "a part of it")
        act(A, "order", 4, listing_id(1), "plan", 1)
        act(PROVIDER, "accept", 4)
        c.at(c.order(4).deadline_ms)
        act(A, "order", 5, listing_id(1), "plan", 1)
        c.at(c.order(5).deadline_ms)
        assert [c.order(n).status for n in range(1, 6)] == ["confirmed", "declined", "decided", "released", "expired"]
        c.check()

    def export(self, **selection):
        source = ListSource(self.genesis.hash(), self.chain.raw_blocks)
        return list(export_movements(RULES, source, self.genesis, Selection(**selection)))


@pytest.fixture(scope="module")
def orders() -> Orders:
    return Orders()


def test_every_escrow_movement_of_an_order_is_a_row_with_its_lot(orders: Orders) -> None:
    rows = [m for m in orders.export(class_id="plan") if m.reference.startswith("order ")]
    a, p = A.pubkey, PROVIDER.pubkey
    lot = {n: order_lot(order_id(n)) for n in range(1, 6)}
    step = "market.end_block"
    assert [(m.type, m.sender, m.receiver, m.amount, m.lot, m.reference) for m in rows] == [
        ("market.order", a, None, 100, lot[1], f"order {order_id(1).hex()}"),
        ("market.order", a, None, 100, lot[2], f"order {order_id(2).hex()}"),
        ("market.order", a, None, 200, lot[3], f"order {order_id(3).hex()}"),
        ("market.confirm", None, p, 100, lot[1], f"order {order_id(1).hex()}"),
        ("market.decline", None, a, 100, lot[2], f"order {order_id(2).hex()}"),
        ("market.decide", None, p, 75, lot[3], f"order {order_id(3).hex()}"),
        ("market.decide", None, a, 125, lot[3], f"order {order_id(3).hex()}"),
        ("market.order", a, None, 100, lot[4], f"order {order_id(4).hex()}"),
        (step, None, p, 100, lot[4], f"order {order_id(4).hex()}"),
        ("market.order", a, None, 100, lot[5], f"order {order_id(5).hex()}"),
        (step, None, a, 100, lot[5], f"order {order_id(5).hex()}"),
    ]
    lock, release = rows[0].row(), rows[3].row()
    assert lock["to"] == f"escrow:{lot[1].hex()}" and lock["from"].startswith("ic")
    assert release["from"] == f"escrow:{lot[1].hex()}" and release["amount"] == "1.00"
    released_by_itself = rows[8]
    assert released_by_itself.tx_hash == b"" and released_by_itself.row()["tx_hash"] == ""


def test_an_accounts_statement_holds_its_side_of_every_order(orders: Orders) -> None:
    provider_rows = orders.export(class_id="plan", account=PROVIDER.pubkey)
    assert all(m.reference.startswith("order ") for m in provider_rows)
    assert sum(m.amount for m in provider_rows if m.receiver == PROVIDER.pubkey) == 100 + 75 + 100
    buyer_rows = [m for m in orders.export(class_id="plan", account=A.pubkey) if m.type.startswith("market.")]
    assert sum(m.amount for m in buyer_rows if m.sender == A.pubkey) == 100 * 4 + 200
    assert sum(m.amount for m in buyer_rows if m.receiver == A.pubkey) == 100 + 125 + 100


def test_genesis_balances_plus_the_rows_are_the_final_balances_and_no_lot_is_left(orders: Orders) -> None:
    start = held_by_class(orders.genesis.initial_state())
    final = held_by_class(orders.chain.state.items)
    balances = dict(start.get("plan", {}))
    lots: dict[bytes, int] = {}
    for m in orders.export(class_id="plan"):
        if m.sender is not None:
            balances[m.sender] = balances.get(m.sender, 0) - m.amount
        if m.receiver is not None:
            balances[m.receiver] = balances.get(m.receiver, 0) + m.amount
        if m.lot is not None:
            lots[m.lot] = lots.get(m.lot, 0) + (m.amount if m.receiver is None else -m.amount)
    assert {k: v for k, v in balances.items() if v} == final["plan"]
    assert set(lots.values()) == {0}, "every lot locked was paid out in full"
    assert orders.chain.cls("plan").escrowed == 0
