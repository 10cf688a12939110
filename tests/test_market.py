"""The marketplace (FORMAT.md §6.5): every path of an order, every broken rule with its code.

On tests/market_chain.py's chain (one validator; a follower re-executes every
block), PROVIDER lists fresh bread (10 units, food) priced in `eur` (2.50),
`plan` (2.00, welfare for members of coop-a), `meal` (a 5.00 voucher, one per
payment) and `bonus` (50.00 vouchers, cumulative up to 258.23), with ARBITER
named for disputes and a two-day window for the buyer once accepted.

Each path — accept and confirm, decline, cancel, release by itself at the
deadline, a dispute decided with each kind of split, expiry of an order
nobody accepted — checks after each step the buyer's and the provider's
balances, the order's escrow lot, the class's `escrowed`, the listing's
units and the books of every class with the marketplace's invariants.
Then each rule is broken once, as an attack, and must fail with its code
and write nothing.
"""

from __future__ import annotations

import json

import pytest

from genesis.document import GenesisError, parse_genesis
from genesis.rules import RULES
from ledger import credit_rules as rules
from ledger import credits, deadlines
from ledger.address import to_address
from ledger.credit_ops import get_lot
from ledger.encoding import decode, encode
from ledger.errors import Code, TxError
from ledger.invariants import InvariantBroken
from ledger.state import DictState
from market import records
from market.invariants import check_market
from market.orders import ACCEPT_WINDOW_MS
from tests.credit_chain import IDS, VALID_FROM, VALID_UNTIL
from tests.identity_chain import ATTESTER, ISSUER, REGISTRAR
from tests.market_chain import (
    ARBITER,
    BONUS_CAP,
    BONUS_FACE,
    DAY,
    FACE,
    HOUR,
    OTHER_ARBITER,
    PROVIDER,
    PROVIDER_2,
    RETURN_WINDOW,
    A,
    B,
    C,
    MarketChain,
    listing_body,
    listing_id,
    market_genesis_document,
    order_id,
)

PRICES = (("bonus", BONUS_FACE), ("eur", 250), ("meal", FACE), ("plan", 200))


@pytest.fixture
def c() -> MarketChain:
    chain = MarketChain()
    assert chain.send(PROVIDER, "market.list", listing_body(1, PRICES)) == Code.OK
    return chain


def place(c: MarketChain, n: int, buyer=A, class_id: str = "plan", quantity: int = 2, listing: int = 1) -> int:
    return c.send(buyer, "market.order", (order_id(n), listing_id(listing), class_id, quantity))


def act(c: MarketChain, key, type_: str, n: int, *rest) -> int:
    return c.send(key, f"market.{type_}", (order_id(n), *rest))


def books(c: MarketChain, class_id: str = "plan") -> tuple:
    """(buyer A, provider, order 1's lot, the class's escrowed): what every path checks."""
    return c.balance(A, class_id), c.balance(PROVIDER, class_id), c.escrow(1), c.escrowed(class_id)


def nothing_due(c: MarketChain) -> bool:
    return not any(k.startswith(deadlines.PREFIX_DUE) for k in c.state.items)


# --- the paths ---------------------------------------------------------------------------------


def test_a_listing_is_written_as_published(c):
    listing = c.listing(1)
    assert listing == records.Listing(
        PROVIDER.pubkey, "Fresh bread, 1 kg", "Baked every morning", None, "food", PRICES, 10, "pickup", 0, 0,
        RETURN_WINDOW, ARBITER.pubkey, records.ACTIVE, c.height,
    )
    assert c.state.items[records.listing_key(listing_id(1))] == encode(tuple(listing))
    assert list(records.listings(c.state, provider=PROVIDER.pubkey)) == [(listing_id(1), listing)]
    assert list(records.listings(c.state, category="health")) == []
    assert [i for i, _ in records.listings(c.state, class_id="meal")] == [listing_id(1)]
    assert [i for i, _ in records.listings(c.state, words="BREAD fresh")] == [listing_id(1)]
    assert list(records.listings(c.state, words="bread rye")) == []
    c.check()


def test_order_accept_confirm_pays_the_provider_from_escrow(c):
    assert books(c) == (600, 0, None, 0)
    assert place(c, 1) == Code.OK
    placed_at = c.time
    assert books(c) == (200, 0, 400, 400)
    order = c.order(1)
    assert order == records.Order(listing_id(1), A.pubkey, PROVIDER.pubkey, "plan", 2, 200, 400, records.PLACED,
                                  placed_at, placed_at + ACCEPT_WINDOW_MS, RETURN_WINDOW, ARBITER.pubkey, "", None)
    assert get_lot(c.state, records.order_lot(order_id(1))) == (
        "plan", A.pubkey, PROVIDER.pubkey, "food", 400, c.height)
    assert c.listing(1).quantity == 8
    assert list(records.orders(c.state, buyer=A.pubkey)) == [(order_id(1), order)]
    assert list(records.orders(c.state, provider=PROVIDER.pubkey, status=records.PLACED)) == [(order_id(1), order)]
    c.check()

    assert act(c, PROVIDER, "accept", 1) == Code.OK
    accepted_at = c.time
    assert c.order(1).status == records.ACCEPTED and c.order(1).deadline_ms == accepted_at + RETURN_WINDOW
    assert books(c) == (200, 0, 400, 400)
    c.check()

    assert act(c, A, "confirm", 1) == Code.OK
    assert c.order(1).status == records.CONFIRMED
    assert books(c) == (200, 400, None, 0)
    assert rules.get_total(c.state, rules.spent_key("plan", "food")) == 400, "a released payment counts as spent"
    assert c.listing(1).quantity == 8 and nothing_due(c)
    c.check()
    c.at(accepted_at + RETURN_WINDOW + 1)  # the window passes: nothing more falls due
    assert c.last_outcome.effects == () and books(c) == (200, 400, None, 0)


def test_decline_refunds_the_buyer_and_gives_the_units_back(c):
    assert place(c, 1, quantity=3) == Code.OK
    assert books(c) == (0, 0, 600, 600) and c.listing(1).quantity == 7
    assert act(c, PROVIDER, "decline", 1) == Code.OK
    assert c.order(1).status == records.DECLINED
    assert books(c) == (600, 0, None, 0) and c.listing(1).quantity == 10 and nothing_due(c)
    c.check()


def test_cancel_before_acceptance_refunds_the_buyer(c):
    assert place(c, 1) == Code.OK
    assert act(c, PROVIDER, "cancel", 1) == Code.NOT_ORDER_PARTY, "only the buyer cancels"
    assert act(c, A, "decline", 1) == Code.NOT_ORDER_PARTY, "only the provider declines"
    assert act(c, A, "cancel", 1) == Code.OK
    assert c.order(1).status == records.CANCELLED
    assert books(c) == (600, 0, None, 0) and c.listing(1).quantity == 10 and nothing_due(c)
    assert act(c, A, "cancel", 1) == Code.WRONG_ORDER_STATUS
    c.check()


def test_an_accepted_order_is_released_by_itself_when_the_buyers_window_passes(c):
    assert place(c, 1) == Code.OK
    assert act(c, PROVIDER, "accept", 1) == Code.OK
    deadline = c.order(1).deadline_ms
    assert act(c, A, "cancel", 1) == Code.WRONG_ORDER_STATUS, "accepted: too late to cancel"
    c.at(deadline - 1)
    assert c.last_outcome.effects == () and books(c) == (200, 0, 400, 400)
    block = c.block([], deadline)
    assert [(e.module, e.item, e.code) for e in block.effects] == [("market", order_id(1), Code.OK)]
    assert c.order(1).status == records.RELEASED
    assert books(c) == (200, 400, None, 0) and nothing_due(c)
    c.check()
    assert act(c, A, "confirm", 1) == Code.WRONG_ORDER_STATUS


@pytest.mark.parametrize(("to_provider", "buyer_after", "provider_after"), [
    (400, 200, 400),  # all to the provider
    (0, 600, 0),  # all back to the buyer
    (150, 450, 150),  # a split
])
def test_a_dispute_is_decided_by_the_arbiter_with_any_split(c, to_provider, buyer_after, provider_after):
    assert place(c, 1) == Code.OK
    assert act(c, PROVIDER, "accept", 1) == Code.OK
    assert act(c, PROVIDER, "dispute", 1, "not delivered") == Code.NOT_ORDER_PARTY, "only the buyer disputes"
    assert act(c, A, "dispute", 1, "the bread was stale") == Code.OK
    assert c.order(1).status == records.DISPUTED and c.order(1).dispute == "the bread was stale"
    assert books(c) == (200, 0, 400, 400) and nothing_due(c), "a disputed order waits for the arbiter, not a deadline"
    c.check()
    c.at(c.order(1).deadline_ms + DAY)
    assert c.order(1).status == records.DISPUTED and books(c) == (200, 0, 400, 400)

    for intruder in (A, PROVIDER, OTHER_ARBITER):  # the parties, and an arbiter the listing did not name
        assert act(c, intruder, "decide", 1, 400, "mine") == Code.NOT_ARBITER
    assert act(c, ARBITER, "decide", 1, 401, "more than the total") == Code.DECISION_OVER_TOTAL
    assert act(c, ARBITER, "decide", 1, to_provider, "half a loaf was stale") == Code.OK
    assert c.order(1).status == records.DECIDED and c.order(1).decision == (to_provider, "half a loaf was stale")
    assert books(c) == (buyer_after, provider_after, None, 0)
    assert rules.get_total(c.state, rules.spent_key("plan", "food")) == to_provider
    c.check()
    assert act(c, ARBITER, "decide", 1, 0, "again") == Code.WRONG_ORDER_STATUS


def test_an_order_nobody_accepts_expires_and_is_refunded_by_itself(c):
    assert place(c, 1) == Code.OK
    deadline = c.order(1).deadline_ms
    c.at(deadline - 1)
    assert c.order(1).status == records.PLACED and books(c) == (200, 0, 400, 400)
    # in the deadline's block the provider's acceptance comes too late, and the order expires after it
    block = c.block([c.tx(PROVIDER, "market.accept", (order_id(1),))], deadline)
    assert block.results == (Code.ACCEPT_WINDOW_CLOSED,)
    assert [(e.item, e.code) for e in block.effects] == [(order_id(1), Code.OK)]
    assert c.order(1).status == records.EXPIRED
    assert books(c) == (600, 0, None, 0) and c.listing(1).quantity == 10 and nothing_due(c)
    c.check()


def test_many_orders_of_one_listing_and_of_a_service_each_keep_their_own_lot(c):
    assert c.send(PROVIDER, "market.list", listing_body(2, (("eur", 300),), quantity=None, category="health",
                                                         title="Physiotherapy, one hour")) == Code.OK
    assert place(c, 1, quantity=3) == Code.OK
    assert place(c, 2, buyer=B, quantity=3) == Code.OK
    assert place(c, 3, buyer=C, class_id="eur", quantity=5) == Code.QUANTITY_UNAVAILABLE
    assert place(c, 3, buyer=C, class_id="eur", quantity=1, listing=2) == Code.OK
    assert c.listing(1).quantity == 4 and c.listing(2).quantity is None, "a service has no stock"
    assert (c.escrow(1), c.escrow(2), c.escrow(3)) == (600, 600, 300)
    assert c.escrowed("plan") == 1200 and c.escrowed("eur") == 300
    assert act(c, A, "cancel", 1) == Code.OK
    assert c.listing(1).quantity == 7 and c.escrowed("plan") == 600 and c.escrow(2) == 600
    assert act(c, PROVIDER, "decline", 3) == Code.OK
    assert c.listing(2).quantity is None and c.balance(C, "eur") == 1000
    c.check()


# --- the rules, each broken once ------------------------------------------------------------------


def unchanged_but_the_nonce(c: MarketChain, before: dict[bytes, bytes]) -> None:
    changed = {k for k in set(before) | set(c.state.items) if before.get(k) != c.state.items.get(k)}
    assert all(k.startswith(b"acct/") for k in changed), changed


def test_a_class_that_does_not_pay_for_the_category_cannot_be_listed_wrong_category(c):
    before = dict(c.state.items)
    assert c.send(PROVIDER, "market.list", listing_body(2, (("plan", 100),), category="sport")) == Code.WRONG_CATEGORY
    unchanged_but_the_nonce(c, before)


def test_a_class_the_listing_does_not_price_is_not_accepted(c):
    assert place(c, 1, class_id="virtue") == Code.CLASS_NOT_ACCEPTED
    assert c.escrowed("virtue") == 0


def test_a_buyer_without_the_classs_attributes_cannot_pay_with_it_not_eligible(c):
    """A's membership ends (the attester revokes it): its plan credits no longer pay, by order or directly."""
    assert c.send(ATTESTER, "attest.revoke", (IDS[0], "member:coop-a")) == Code.OK
    before = dict(c.state.items)
    assert place(c, 1) == Code.NOT_ELIGIBLE
    assert c.send(A, "credits.pay", ("plan", PROVIDER.pubkey, 200, "food", "")) == Code.NOT_ELIGIBLE
    unchanged_but_the_nonce(c, before)
    assert place(c, 2, buyer=B) == Code.OK, "a member still pays"


def test_an_expired_class_does_not_pay_an_order(c):
    assert c.send(PROVIDER, "market.list", listing_body(2, (("welfare", 100),), category="health")) == Code.OK
    c.at(VALID_FROM)
    assert c.send(ISSUER, "credits.issue", ("welfare", A.pubkey, 300, "2026")) == Code.OK
    assert place(c, 1, class_id="welfare", listing=2) == Code.OK, "inside the window it pays"
    c.at(VALID_UNTIL)
    before = dict(c.state.items)
    assert place(c, 2, class_id="welfare", listing=2) == Code.CLASS_EXPIRED
    unchanged_but_the_nonce(c, before)
    assert act(c, PROVIDER, "accept", 1) == Code.OK and act(c, A, "confirm", 1) == Code.OK, \
        "an order paid in the window completes after it: the payment was checked when it was made"
    assert c.balance(PROVIDER, "welfare") == 200
    c.check()


def test_a_provider_not_accredited_cannot_list_nor_be_paid(c):
    assert c.send(PROVIDER_2, "market.list", listing_body(2, (("plan", 100),))) == Code.NOT_ACCREDITED
    assert c.send(PROVIDER, "market.list", listing_body(2, (("other", 100),))) == Code.NOT_ACCREDITED, \
        "accredited by ISSUER, not by the issuer of `other`"
    assert c.send(ISSUER, "credits.revoke_accreditation", (PROVIDER.pubkey, ("food",))) == Code.OK
    assert place(c, 1) == Code.NOT_ACCREDITED, "checked again when the order pays"
    assert c.send(REGISTRAR, "credits.accredit", (PROVIDER.pubkey, ("food",))) == Code.OK
    assert place(c, 1) == Code.OK, "the federation's accreditation is valid for every class"


def test_confirm_twice_is_refused_and_pays_once(c):
    assert place(c, 1) == Code.OK and act(c, PROVIDER, "accept", 1) == Code.OK
    assert act(c, A, "confirm", 1) == Code.OK
    assert act(c, A, "confirm", 1) == Code.WRONG_ORDER_STATUS
    assert books(c) == (200, 400, None, 0)


def test_confirm_before_acceptance_and_by_the_provider_are_refused(c):
    assert place(c, 1) == Code.OK
    assert act(c, A, "confirm", 1) == Code.WRONG_ORDER_STATUS
    assert act(c, PROVIDER, "accept", 1) == Code.OK
    assert act(c, PROVIDER, "confirm", 1) == Code.NOT_ORDER_PARTY
    assert act(c, PROVIDER, "accept", 1) == Code.WRONG_ORDER_STATUS


def test_a_dispute_after_the_window_is_refused_and_the_escrow_released(c):
    assert place(c, 1) == Code.OK and act(c, PROVIDER, "accept", 1) == Code.OK
    deadline = c.order(1).deadline_ms
    block = c.block([c.tx(A, "market.dispute", (order_id(1), "too late"))], deadline)
    assert block.results == (Code.DISPUTE_WINDOW_CLOSED,)
    assert c.order(1).status == records.RELEASED and books(c) == (200, 400, None, 0)


def test_a_decision_by_someone_who_is_not_the_arbiter_is_refused(c):
    assert place(c, 1) == Code.OK and act(c, PROVIDER, "accept", 1) == Code.OK
    assert act(c, A, "dispute", 1, "stale") == Code.OK
    before = dict(c.state.items)
    assert act(c, OTHER_ARBITER, "decide", 1, 0, "I side with the buyer") == Code.NOT_ARBITER
    assert act(c, ISSUER, "decide", 1, 0, "I side with the buyer") == Code.NOT_ARBITER
    unchanged_but_the_nonce(c, before)
    assert act(c, ARBITER, "decide", 1, 0, "refund") == Code.OK


def test_a_meal_voucher_pays_only_its_full_face_value(c):
    """One voucher per payment (voucher_cap 0): two loaves at 5.00 are 10.00, not one voucher."""
    before = dict(c.state.items)
    assert place(c, 1, class_id="meal", quantity=2) == Code.FACE_VALUE_NOT_COVERED
    assert c.send(A, "credits.pay", ("meal", PROVIDER.pubkey, 300, "food", "part of a voucher")) == \
        Code.FACE_VALUE_NOT_COVERED
    assert c.send(A, "credits.pay", ("meal", PROVIDER.pubkey, 1000, "food", "two vouchers")) == \
        Code.FACE_VALUE_NOT_COVERED
    unchanged_but_the_nonce(c, before)
    assert c.send(PROVIDER, "market.list", listing_body(2, (("meal", 350),))) == Code.OK, "a price is only a price"
    assert place(c, 2, class_id="meal", listing=2) == Code.FACE_VALUE_NOT_COVERED, "3.50 is part of a voucher"
    assert place(c, 3, class_id="meal", quantity=1) == Code.OK
    assert c.escrow(3) == FACE
    assert c.send(A, "credits.pay", ("meal", PROVIDER.pubkey, FACE, "food", "one voucher")) == Code.OK


def test_cumulative_vouchers_pay_whole_vouchers_up_to_the_cap(c):
    """50.00 vouchers, cumulative up to 258.23: five of them (250.00) in one payment, not six."""
    before = dict(c.state.items)
    assert place(c, 1, class_id="bonus", quantity=6) == Code.VOUCHER_CAP_EXCEEDED
    assert c.send(A, "credits.pay", ("bonus", PROVIDER.pubkey, 6 * BONUS_FACE, "food", "")) == \
        Code.VOUCHER_CAP_EXCEEDED
    assert c.send(A, "credits.pay", ("bonus", PROVIDER.pubkey, BONUS_CAP, "food", "the cap itself")) == \
        Code.FACE_VALUE_NOT_COVERED, "258.23 is not whole vouchers"
    unchanged_but_the_nonce(c, before)
    assert place(c, 1, class_id="bonus", quantity=5) == Code.OK
    assert c.escrow(1) == 5 * BONUS_FACE
    assert c.send(A, "credits.pay", ("bonus", PROVIDER.pubkey, 2 * BONUS_FACE, "food", "")) == Code.OK
    c.check()


# --- listings: who may change them, and how --------------------------------------------------------


def test_only_the_provider_changes_a_listing_and_withdrawn_is_final(c):
    update = (listing_id(1), (("eur", 300),), 20, "Now organic", None, 0, 0)
    assert c.send(B, "market.update", update) == Code.NOT_LISTING_OWNER
    assert c.send(B, "market.pause", (listing_id(1),)) == Code.NOT_LISTING_OWNER
    assert c.send(PROVIDER, "market.update", update) == Code.OK
    listing = c.listing(1)
    assert (listing.prices, listing.quantity, listing.description) == ((("eur", 300),), 20, "Now organic")
    assert place(c, 1) == Code.CLASS_NOT_ACCEPTED, "plan is no longer priced"
    assert c.send(PROVIDER, "market.resume", (listing_id(1),)) == Code.LISTING_NOT_PAUSED
    assert c.send(PROVIDER, "market.pause", (listing_id(1),)) == Code.OK
    assert place(c, 1, class_id="eur") == Code.LISTING_NOT_ACTIVE
    assert c.send(PROVIDER, "market.pause", (listing_id(1),)) == Code.LISTING_NOT_ACTIVE
    assert c.send(PROVIDER, "market.resume", (listing_id(1),)) == Code.OK
    assert place(c, 1, class_id="eur") == Code.OK
    assert c.send(PROVIDER, "market.withdraw", (listing_id(1),)) == Code.OK
    for type_, body in (("update", update), ("pause", (listing_id(1),)), ("resume", (listing_id(1),)),
                        ("withdraw", (listing_id(1),))):
        assert c.send(PROVIDER, f"market.{type_}", body) == Code.LISTING_WITHDRAWN, type_
    assert place(c, 2, class_id="eur") == Code.LISTING_NOT_ACTIVE
    assert act(c, PROVIDER, "accept", 1) == Code.OK and act(c, A, "confirm", 1) == Code.OK, \
        "an order of a withdrawn listing carries on"
    assert c.listing(1).quantity == 18
    c.check()


def test_an_update_keeps_the_listings_kind_and_the_classs_rules(c):
    assert c.send(PROVIDER, "market.update", (listing_id(1), (("eur", 1),), None, "", None, 0, 0)) == \
        Code.LISTING_KIND_MISMATCH, "goods do not become a service"
    assert c.send(PROVIDER, "market.update", (listing_id(1), (("other", 1),), 5, "", None, 0, 0)) == \
        Code.NOT_ACCREDITED
    assert c.send(PROVIDER, "market.update", (listing_id(1), (("nope", 1),), 5, "", None, 0, 0)) == \
        Code.UNKNOWN_CLASS
    assert c.send(PROVIDER, "market.update", (listing_id(7), (("eur", 1),), 5, "", None, 0, 0)) == \
        Code.UNKNOWN_LISTING


def test_a_listing_id_is_used_once_and_its_arbiter_must_be_authorised(c):
    assert c.send(PROVIDER, "market.list", listing_body(1, PRICES)) == Code.LISTING_EXISTS
    assert c.send(PROVIDER, "market.list", listing_body(2, PRICES, arbiter=B)) == Code.NOT_ARBITER
    assert c.send(PROVIDER, "market.list", listing_body(2, PRICES, arbiter=PROVIDER)) == Code.NOT_ARBITER
    assert c.send(PROVIDER, "market.list", listing_body(2, (("nope", 1),))) == Code.UNKNOWN_CLASS
    assert c.send(PROVIDER, "market.list", listing_body(2, PRICES, arbiter=OTHER_ARBITER)) == Code.OK


def test_an_order_only_inside_the_listings_window(c):
    start, end = c.time + 10 * HOUR, c.time + 20 * HOUR
    assert c.send(PROVIDER, "market.list", listing_body(2, (("eur", 100),), window=(start, end))) == Code.OK
    assert place(c, 1, class_id="eur", listing=2) == Code.LISTING_NOT_OPEN
    c.at(start)
    assert place(c, 1, class_id="eur", listing=2) == Code.OK
    c.at(end)
    assert place(c, 2, class_id="eur", listing=2) == Code.LISTING_NOT_OPEN


def test_an_order_id_is_used_once_and_unknown_ids_are_named(c):
    assert place(c, 1) == Code.OK
    assert place(c, 1, buyer=B) == Code.ORDER_EXISTS
    assert place(c, 2, listing=9) == Code.UNKNOWN_LISTING
    for type_, rest in (("accept", ()), ("decline", ()), ("cancel", ()), ("confirm", ()), ("dispute", ("x",)),
                        ("decide", (0, "x"))):
        assert act(c, ARBITER if type_ == "decide" else A, type_, 9, *rest) == Code.UNKNOWN_ORDER, type_


def test_a_buyer_cannot_order_from_itself_nor_more_than_it_holds_nor_an_overflowing_total(c):
    assert c.send(PROVIDER, "market.list", listing_body(2, (("eur", 2**62),), quantity=None)) == Code.OK
    assert place(c, 1, buyer=PROVIDER, class_id="eur") == Code.SELF_TRANSFER
    assert place(c, 1, class_id="eur", quantity=5) == Code.INSUFFICIENT_BALANCE
    assert place(c, 1, class_id="eur", quantity=2, listing=2) == Code.AMOUNT_OVERFLOW
    assert c.escrowed("eur") == 0 and c.listing(1).quantity == 10


def test_the_listings_arbiter_cannot_buy_from_it_and_decide_its_own_dispute(c):
    for arbiter in (ARBITER, OTHER_ARBITER):
        assert c.send(A, "credits.transfer", ("eur", arbiter.pubkey, 300, "")) == Code.OK
    before = dict(c.state.items)
    assert c.send(ARBITER, "market.order", (order_id(1), listing_id(1), "eur", 1)) == Code.NOT_ORDER_PARTY
    unchanged_but_the_nonce(c, before)
    assert c.send(OTHER_ARBITER, "market.order", (order_id(1), listing_id(1), "eur", 1)) == Code.OK, \
        "the arbiter of other listings buys like anyone"


def test_a_suspended_or_frozen_buyer_cannot_order(c):
    assert c.send(ISSUER, "credits.freeze", ("plan", B.pubkey)) == Code.OK
    assert place(c, 1, buyer=B) == Code.HOLDER_FROZEN
    assert c.send(REGISTRAR, "identity.set_status", (IDS[0], "suspended")) == Code.OK
    assert place(c, 2) == Code.IDENTITY_NOT_ACTIVE


@pytest.mark.parametrize(("type_", "body"), [
    ("market.list", (bytes(15), *listing_body(1, PRICES)[1:])),  # an id is 16 bytes
    ("market.list", listing_body(1, PRICES, title="")),
    ("market.list", listing_body(1, PRICES, title="x" * 81)),
    ("market.list", listing_body(1, (("eur", 1), ("bonus", 1)))),  # prices in ascending class order
    ("market.list", listing_body(1, (("eur", 1), ("eur", 2)))),
    ("market.list", listing_body(1, (("eur", 0),))),
    ("market.list", listing_body(1, ())),
    ("market.list", listing_body(1, tuple((f"c{i}", 1) for i in range(9)))),
    ("market.list", listing_body(1, PRICES, quantity=-1)),
    ("market.list", listing_body(1, PRICES, quantity=10**9 + 1)),
    ("market.list", listing_body(1, PRICES, category="Food")),
    ("market.list", listing_body(1, PRICES, window=(5, 5))),
    ("market.list", listing_body(1, PRICES, return_window=HOUR - 1)),
    ("market.list", listing_body(1, PRICES, return_window=90 * DAY + 1)),
    ("market.list", listing_body(1, PRICES)[:7] + ("drone",) + listing_body(1, PRICES)[8:]),
    ("market.list", listing_body(1, PRICES)[:-1]),
    ("market.update", (listing_id(1), (("eur", 1),), 5, "", bytes(31), 0, 0)),
    ("market.order", (order_id(1), listing_id(1), "plan", 0)),
    ("market.order", (order_id(1), listing_id(1), "Plan", 1)),
    ("market.dispute", (order_id(1), "")),
    ("market.dispute", (order_id(1), "x" * 281)),
    ("market.decide", (order_id(1), -1, "x")),
    ("market.decide", (order_id(1), 0, "")),
    ("market.review", (order_id(1), 0, "")),
    ("market.review", (order_id(1), 6, "")),
    ("market.review", (order_id(1), True, "")),
    ("market.review", (order_id(1), 5, "x" * 281)),
    ("market.erase_review", (order_id(1)[:8],)),
])
def test_bodies_that_break_a_field_rule_are_malformed(type_, body):
    with pytest.raises(TxError) as caught:
        RULES.parse(type_, body)
    assert caught.value.code == Code.MALFORMED


# --- reviews and ratings -----------------------------------------------------------------------


def complete(c: MarketChain, n: int, buyer=A, class_id: str = "plan") -> None:
    assert place(c, n, buyer=buyer, class_id=class_id, quantity=1) == Code.OK
    assert act(c, PROVIDER, "accept", n) == Code.OK and act(c, buyer, "confirm", n) == Code.OK


def test_only_the_buyer_of_a_completed_order_reviews_it_once(c):
    assert place(c, 1) == Code.OK
    assert act(c, A, "review", 1, 5, "great") == Code.WRONG_ORDER_STATUS, "not paid yet"
    assert act(c, PROVIDER, "decline", 1) == Code.OK
    assert act(c, A, "review", 1, 1, "declined!") == Code.WRONG_ORDER_STATUS, "a declined order rates nothing"
    complete(c, 2)
    assert act(c, B, "review", 2, 1, "I never bought it") == Code.NOT_ORDER_PARTY
    assert act(c, PROVIDER, "review", 2, 5, "my own bread") == Code.NOT_ORDER_PARTY
    assert act(c, A, "review", 2, 4, "good bread") == Code.OK
    assert act(c, A, "review", 2, 5, "changed my mind") == Code.REVIEW_EXISTS
    assert act(c, A, "review", 9, 5, "") == Code.UNKNOWN_ORDER
    assert records.get_review(c.state, PROVIDER.pubkey, order_id(2)) == records.Review(4, "good bread")
    assert records.get_rating(c.state, PROVIDER.pubkey) == records.Rating(1, 4)
    c.check()


def test_a_rating_counts_every_completed_path_and_survives_the_erasure_of_a_text(c):
    complete(c, 1)
    complete(c, 2, buyer=B)
    assert place(c, 3) == Code.OK and act(c, PROVIDER, "accept", 3) == Code.OK
    c.at(c.order(3).deadline_ms)  # released by itself
    assert place(c, 4, buyer=B) == Code.OK and act(c, PROVIDER, "accept", 4) == Code.OK
    assert act(c, B, "dispute", 4, "stale") == Code.OK and act(c, ARBITER, "decide", 4, 100, "half") == Code.OK
    for n, buyer, stars in ((1, A, 5), (2, B, 3), (3, A, 4), (4, B, 1)):
        assert act(c, buyer, "review", n, stars, f"order {n}") == Code.OK
    assert records.get_rating(c.state, PROVIDER.pubkey) == records.Rating(4, 13)
    assert [(i, r.rating) for i, r in records.reviews_of(c.state, PROVIDER.pubkey)] == [
        (order_id(1), 5), (order_id(2), 3), (order_id(3), 4), (order_id(4), 1)]

    assert act(c, A, "erase_review", 2) == Code.NOT_ORDER_PARTY, "only its author erases a review"
    assert act(c, PROVIDER, "erase_review", 2) == Code.NOT_ORDER_PARTY
    assert act(c, B, "erase_review", 2) == Code.OK
    assert records.get_review(c.state, PROVIDER.pubkey, order_id(2)) == records.Review(3, None)
    assert records.get_rating(c.state, PROVIDER.pubkey) == records.Rating(4, 13), "the rating stays counted"
    assert b"order 2" not in c.state.items[records.review_key(PROVIDER.pubkey, order_id(2))]
    assert act(c, B, "erase_review", 2) == Code.ALREADY_ERASED
    complete(c, 5, class_id="eur")
    assert act(c, A, "erase_review", 5) == Code.UNKNOWN_REVIEW
    c.check()


# --- the genesis section -----------------------------------------------------------------------


def test_arbiters_come_from_genesis_and_may_sign():
    c = MarketChain()
    assert records.get_arbiter(c.state, ARBITER.pubkey) == "Camera arbitrale"
    assert records.is_arbiter(c.state, OTHER_ARBITER.pubkey) and not records.is_arbiter(c.state, PROVIDER.pubkey)
    assert c.state.get(b"acct/" + ARBITER.pubkey) == encode((0,)), "known from height 0"
    g = parse_genesis(json.dumps(market_genesis_document()))
    market = dict((name, section) for name, _, section in g.canonical_tuple()[6])["market"]
    assert market == ((("Camera arbitrale", ARBITER.pubkey), ("Other arbiter", OTHER_ARBITER.pubkey)),)


@pytest.mark.parametrize(("section", "words"), [
    ({"arbiters": [{"name": "a", "account": "x"}]}, "market.arbiters.0.account"),
    ({"arbiters": [{"name": "", "account": to_address(ARBITER.pubkey)}]}, "market.arbiters.0.name"),
    ({"arbiters": [{"name": "a", "account": to_address(ARBITER.pubkey)},
                   {"name": "b", "account": " " + to_address(ARBITER.pubkey)}]}, "appears twice"),
    ({"arbiters": None}, "market.arbiters"),
])
def test_a_bad_market_section_is_refused_naming_the_field(section, words):
    doc = market_genesis_document()
    doc["market"] = section
    with pytest.raises(GenesisError) as caught:
        parse_genesis(json.dumps(doc))
    assert words in str(caught.value)


# --- the invariants catch an order out of step with its escrow ------------------------------------


def broken_market(items: dict[bytes, bytes]) -> str:
    def scan(prefix: bytes):
        for key in sorted(k for k in items if k.startswith(prefix)):
            yield key, items[key]

    with pytest.raises(InvariantBroken) as caught:
        check_market(DictState(items), scan)
    assert caught.value.check == "market"
    return caught.value.message


def test_the_invariants_name_an_order_whose_escrow_or_deadline_disagrees(c):
    assert place(c, 1) == Code.OK
    complete(c, 2)
    assert act(c, A, "review", 2, 5, "") == Code.OK
    c.check()
    items = dict(c.state.items)
    lot_key = b"escrow/" + records.order_lot(order_id(1))
    lot = decode(items[lot_key])

    drained = {**items, lot_key: encode((*lot[:4], 399, lot[5]))}
    assert "its escrow lot holds 399, its total is 400" in broken_market(drained)
    gone = {k: v for k, v in items.items() if k != lot_key}
    assert "its escrow lot does not exist" in broken_market(gone)
    closed = {**items, records.order_key(order_id(1)): c.order(1)._replace(status=records.CANCELLED).encode()}
    assert "is cancelled but its escrow lot still holds 400" in broken_market(closed)
    forgotten = {k: v for k, v in items.items() if not k.startswith(b"due/t/market/")}
    assert "has no due item at its deadline" in broken_market(forgotten)
    stale = {**items, b"due/t/market/" + (5).to_bytes(8, "big") + order_id(2): encode(())}
    assert "which is not placed or accepted" in broken_market(stale)
    inflated = {**items, records.rating_key(PROVIDER.pubkey): encode((1, 4))}
    assert "its reviews add up to [1, 5]" in broken_market(inflated)
    fake = {**items, records.review_key(PROVIDER.pubkey, order_id(1)): encode((5, None))}
    assert "not a completed order" in broken_market(fake)
    negative = {**items, records.listing_key(listing_id(1)): c.listing(1)._replace(quantity=-1).encode()}
    assert "-1 units left" in broken_market(negative)


def test_a_failed_order_moves_nothing_and_a_step_moves_what_it_reports(c):
    assert place(c, 1, quantity=99) == Code.QUANTITY_UNAVAILABLE
    assert c.last_outcome.moves == ((),)
    assert place(c, 1) == Code.OK
    (lock,) = c.last_outcome.moves[0]
    assert (lock.kind, lock.sender, lock.amount, lock.lot, lock.reference) == (
        "lock", A.pubkey, 400, records.order_lot(order_id(1)), f"order {order_id(1).hex()}")
    c.at(c.order(1).deadline_ms)
    ((refund,),) = c.last_outcome.moves
    assert (refund.kind, refund.receiver, refund.amount) == ("refund", A.pubkey, 400)


def test_credits_classes_hold_the_voucher_fields():
    c = MarketChain()
    meal, bonus = c.cls("meal"), c.cls("bonus")
    assert (meal.face_value, meal.voucher_cap) == (FACE, 0)
    assert (bonus.face_value, bonus.voucher_cap) == (BONUS_FACE, BONUS_CAP)
    assert credits.decode_class(c.state.items[b"class/bonus"])[12:14] == (BONUS_FACE, BONUS_CAP)
