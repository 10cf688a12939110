"""Hypothesis: random interleavings of marketplace transactions and deadlines keep every credit.

Random blocks of listings (published, updated, paused, resumed, withdrawn),
orders in every class a listing may take (vouchers included), acceptances,
declines, cancellations, confirmations, disputes, decisions with any split,
reviews and erasures — signed by the right party or by someone else — with
block times that jump past accept deadlines and buyers' windows, so that
the end-of-block step expires and releases orders between them. After every
block:

1. the books of every class balance (issued = held + escrowed + redeemed +
   reclaimed) and nothing is issued or destroyed: each class's held +
   escrowed is what it was at the start;
2. the marketplace's invariants hold: every open order's lot holds exactly its
   total, every closed order has none (no credits in an escrow past its
   order's final state), every placed or accepted order has its due item;
3. the follower re-executing the block reaches the same state.

At the end, time passes every deadline and the arbiter decides what is left in
dispute: then nothing at all is in escrow. And the auditor, replaying the raw
blocks from genesis with their certificates (`incoop audit verify`'s
verify_chain), reaches the same state root with every module's invariants.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from genesis.document import parse_genesis
from genesis.rules import RULES
from ledger import credits, deadlines
from ledger.address import to_address
from ledger.block import Block, encode_raw_block
from ledger.errors import Code
from market import records
from node.audit.verify import verify_chain
from tests.chain_source import ListSource, certificate
from tests.identity_chain import CHAIN_ID, REGISTRAR, VALIDATORS
from tests.market_chain import (
    ARBITER,
    BONUS_FACE,
    CLASSES,
    DAY,
    FACE,
    HOUR,
    OTHER_ARBITER,
    PROVIDER,
    PROVIDER_2,
    A,
    B,
    C,
    D,
    MarketChain,
    listing_body,
    listing_id,
    market_genesis_document,
    order_id,
)

PEOPLE = [A, B, C, D]
ACCOUNTS = [A, B, C, D, PROVIDER, PROVIDER_2, ARBITER, OTHER_ARBITER]
PRICE_SETS = [
    (("eur", 120), ("meal", FACE), ("plan", 150)),
    (("bonus", BONUS_FACE), ("eur", 70)),
    (("plan", 90),),
    (("eur", 1),),
]
LISTINGS, ORDERS = 3, 6
CLASS_CHOICES = ["eur", "plan", "meal", "bonus", "virtue"]

listing_n = st.integers(0, LISTINGS - 1)
order_n = st.integers(0, ORDERS - 1)
right = st.sampled_from([True, True, True, False])  # mostly the party who may; sometimes anyone
anyone = st.integers(0, len(ACCOUNTS) - 1)
op = st.one_of(
    st.tuples(st.just("list"), listing_n, st.integers(0, 1), st.integers(0, len(PRICE_SETS) - 1),
              st.sampled_from([None, 0, 2, 5]), st.sampled_from([HOUR, DAY, 2 * DAY]), st.booleans()),
    st.tuples(st.just("update"), listing_n, right, anyone, st.integers(0, len(PRICE_SETS) - 1),
              st.sampled_from([None, 0, 3, 9])),
    st.tuples(st.just("pause"), listing_n, right, anyone),
    st.tuples(st.just("resume"), listing_n, right, anyone),
    st.tuples(st.just("withdraw"), listing_n, right, anyone),
    *[st.tuples(st.just("order"), order_n, listing_n, st.integers(0, len(PEOPLE) - 1), right,
                st.integers(0, len(CLASS_CHOICES) - 1), st.integers(1, 3))] * 4,
    *[st.tuples(st.just("accept"), order_n, right, anyone)] * 3,
    st.tuples(st.just("decline"), order_n, right, anyone),
    st.tuples(st.just("cancel"), order_n, right, anyone),
    *[st.tuples(st.just("confirm"), order_n, right, anyone)] * 2,
    *[st.tuples(st.just("dispute"), order_n, right, anyone)] * 2,
    *[st.tuples(st.just("decide"), order_n, right, anyone, st.integers(0, 4))] * 2,
    st.tuples(st.just("review"), order_n, right, anyone, st.integers(1, 5)),
    st.tuples(st.just("erase_review"), order_n, right, anyone),
)
# each block: its transactions and how far its time is after the previous block's
blocks = st.lists(
    st.tuples(st.lists(op, max_size=6), st.sampled_from([1000, 1000, 2 * HOUR, 30 * HOUR, 3 * DAY])),
    min_size=1, max_size=10,
)


def audited_document() -> dict:
    """The market chain's genesis with four validators, so that blocks carry real certificates."""
    doc = market_genesis_document()
    doc["validators"] = [{"name": f"v{i}", "pubkey": to_address(k.pubkey)} for i, k in enumerate(VALIDATORS)]
    return doc


def signer_for(c: MarketChain, kind: str, args: tuple):
    """Who signs: the party the rules name (from the state as the block is built) or anyone."""
    n, is_right, who, *_ = args
    if not is_right:
        return ACCOUNTS[who]
    if kind in ("update", "pause", "resume", "withdraw"):
        listing = records.get_listing(c.state, listing_id(n))
        return ACCOUNTS[who] if listing is None else key_of(listing.provider)
    order = records.get_order(c.state, order_id(n))
    if order is None:
        return ACCOUNTS[who]
    if kind in ("accept", "decline"):
        return key_of(order.provider)
    if kind == "decide":
        return key_of(order.arbiter)
    return key_of(order.buyer)


def key_of(account: bytes):
    return next(k for k in ACCOUNTS if k.pubkey == account)


NEEDS = {"accept": records.OPEN[:1], "decline": records.OPEN[:1], "cancel": records.OPEN[:1],
         "confirm": (records.ACCEPTED,), "dispute": (records.ACCEPTED,), "decide": (records.DISPUTED,),
         "review": records.COMPLETED, "erase_review": records.COMPLETED}


def aimed(c: MarketChain, kind: str, args: list) -> list:
    """An action on an order by the right party is aimed at an order in the status it needs, if one is
    (else at any order that exists): random steps would otherwise rarely meet an order they fit."""
    if kind not in NEEDS or not args[1]:
        return args
    existing = [(n, order) for n in range(ORDERS) if (order := records.get_order(c.state, order_id(n))) is not None]
    fitting = [n for n, order in existing if order.status in NEEDS[kind]] or [n for n, _ in existing]
    if fitting:
        args[0] = fitting[args[0] % len(fitting)]
    return args


def to_tx(c: MarketChain, pending: dict[bytes, int], step: tuple):
    kind, *args = step
    args = aimed(c, kind, args)
    if kind == "list":
        n, provider, prices, quantity, window, other_arbiter = args
        signer = (PROVIDER, PROVIDER_2)[provider]
        body = listing_body(n, PRICE_SETS[prices], quantity=quantity, return_window=window,
                            arbiter=OTHER_ARBITER if other_arbiter else ARBITER)
    elif kind == "update":
        n, _, _, prices, quantity = args
        signer = signer_for(c, kind, args)
        body = (listing_id(n), PRICE_SETS[prices], quantity, "updated", None, 0, 0)
    elif kind in ("pause", "resume", "withdraw"):
        signer, body = signer_for(c, kind, args), (listing_id(args[0]),)
    elif kind == "order":
        n, listing, buyer, fits, pick, quantity = args
        offer = records.get_listing(c.state, listing_id(listing))
        if fits and offer is not None:  # a class the listing takes (its rules may still refuse the payment)
            class_id = offer.prices[pick % len(offer.prices)][0]
        else:
            class_id = CLASS_CHOICES[pick]
        signer, body = PEOPLE[buyer], (order_id(n), listing_id(listing), class_id, quantity)
    elif kind == "dispute":
        signer, body = signer_for(c, kind, args), (order_id(args[0]), "not as described")
    elif kind == "decide":
        n, _, _, quarters = args
        order = records.get_order(c.state, order_id(n))
        total = 0 if order is None else order.total
        signer, body = signer_for(c, kind, args), (order_id(n), total * quarters // 4, "decided")
    elif kind == "review":
        signer, body = signer_for(c, kind, args), (order_id(args[0]), args[3], "fine")
    else:  # accept, decline, cancel, confirm, erase_review
        signer, body = signer_for(c, kind, args), (order_id(args[0]),)
    nonce = c.nonce(signer) + pending.get(signer.pubkey, 0)
    pending[signer.pubkey] = pending.get(signer.pubkey, 0) + 1
    return c.tx(signer, f"market.{kind}", body, nonce=nonce)


def held_and_escrowed(c: MarketChain) -> dict[str, int]:
    return {class_id: c.cls(class_id).supply + c.cls(class_id).escrowed for class_id in CLASSES}


def check_every_order(c: MarketChain) -> None:
    """Each order's lot agrees with its status: the total while open, nothing once final."""
    for n in range(ORDERS):
        order = records.get_order(c.state, order_id(n))
        if order is not None:
            assert c.escrow(n) == (order.total if order.is_open else None), (n, order.status)


START = ([("list", 0, 0, 0, 5, 2 * DAY, False), ("list", 1, 1, 1, None, HOUR, True), ("list", 2, 0, 3, 2, DAY, False),
          ("order", 0, 0, 0, True, 2, 1), ("order", 1, 2, 2, True, 0, 1)], 1000)
"""Every random run starts with three listings (one of them a service, one by PROVIDER_2, accredited by the
federation for food) and two orders, one of them accepted, so that most steps have something to act on."""
ACCEPT_ONE = ([("accept", 0, True, 0)], 1000)


def play(plan, start_with_listings: bool = True) -> tuple[MarketChain, list[Block], int]:
    c = MarketChain(audited_document())
    blocks_made: list[Block] = list(c.setup_blocks)
    blocks_made.append(c.block([c.tx(REGISTRAR, "credits.accredit", (PROVIDER_2.pubkey, ("food",)))]))
    start = held_and_escrowed(c)
    ok = 0
    for steps, gap in ([START, ACCEPT_ONE] if start_with_listings else []) + plan:
        pending: dict[bytes, int] = {}
        block = c.block([to_tx(c, pending, step) for step in steps], c.head.time_ms + gap)
        blocks_made.append(block)
        ok += sum(1 for r in block.results if r == Code.OK)
        assert all(e.code == Code.OK for e in block.effects), block.effects
        c.check()
        check_every_order(c)
        assert held_and_escrowed(c) == start, "nothing is issued or destroyed by the marketplace"
    # every deadline passes; the arbiter decides what is still in dispute: nothing stays in escrow
    blocks_made.append(c.block([], c.head.time_ms + 100 * DAY))
    pending: dict[bytes, int] = {}
    decisions = [to_tx(c, pending, ("decide", n, True, 0, 0)) for n in range(ORDERS)
                 if (order := records.get_order(c.state, order_id(n))) is not None and order.status == "disputed"]
    blocks_made.append(c.block(decisions))
    assert all(r == Code.OK for r in blocks_made[-1].results)
    c.check()
    check_every_order(c)
    assert all(credits.get_class(c.state, k).escrowed == 0 for k in CLASSES)
    assert not any(k.startswith(deadlines.PREFIX_DUE) for k in c.state.items)
    assert all(records.get_order(c.state, order_id(n)) is None or not c.order(n).is_open for n in range(ORDERS))
    return c, blocks_made, ok


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks)
def test_interleavings_conserve_credits_and_leave_nothing_in_a_closed_orders_escrow(plan):
    c, blocks_made, ok = play(plan)
    target(ok)  # steer toward sequences where many steps succeed
    for status in sorted({c.order(n).status for n in range(ORDERS) if records.get_order(c.state, order_id(n))}):
        event(f"an order ended {status}")
    genesis = parse_genesis(json.dumps(audited_document()))
    raws = [encode_raw_block(b, certificate(b, CHAIN_ID, VALIDATORS[:3])) for b in blocks_made]
    report = verify_chain(RULES, genesis, ListSource(genesis.hash(), raws, c.head), workers=1)
    assert report.state_root == c.head.state_root.hex() and report.height == c.height
    assert report.invariants["market"] >= 0


def test_the_property_sees_every_path_succeed():
    """A fixed plan through the same helpers: each transaction type and both step outcomes succeed."""
    plan = [
        ([("list", 0, 0, 0, 5, 2 * DAY, False), ("list", 1, 0, 1, None, HOUR, True)], 1000),
        ([("order", 0, 0, 0, True, 2, 1), ("order", 1, 0, 1, True, 1, 1), ("order", 2, 1, 0, True, 0, 2),
          ("order", 3, 0, 2, True, 0, 2), ("order", 4, 1, 3, True, 1, 1), ("order", 5, 0, 0, True, 0, 1)], 1000),
        ([("accept", 0, True, 0), ("accept", 1, True, 0), ("accept", 2, True, 0), ("decline", 3, True, 0),
          ("cancel", 4, True, 0)], 1000),
        ([("confirm", 0, True, 0), ("dispute", 1, True, 0), ("update", 0, True, 0, 3, 9), ("pause", 1, True, 0)],
         1000),
        ([("decide", 1, True, 0, 1), ("review", 0, True, 0, 5), ("resume", 1, True, 0)], 1000),
        ([("erase_review", 0, True, 0), ("withdraw", 1, True, 0)], 3 * DAY),  # order 2 released, 5 expired
    ]
    c, blocks_made, _ = play(plan, start_with_listings=False)
    results = [r for b in blocks_made for r in b.results]
    assert results == [Code.OK] * len(results)
    assert [c.order(n).status for n in range(6)] == ["confirmed", "decided", "released", "declined", "cancelled",
                                                     "expired"]
    effects = [(e.item, e.code) for b in blocks_made for e in b.effects]
    assert sorted(effects) == sorted([(order_id(2), Code.OK), (order_id(5), Code.OK)])
