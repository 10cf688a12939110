"""Purchase groups (module gas, market/groups*.py, FORMAT.md §6.6) on an in-process chain.

On tests/gas_chain.py's chain (a proposer's build_block and a follower's
apply_block for every block; the raw blocks replayed by the auditor):

1. a cooperative opens a group on the supplier's listing with the terms the
   supplier signed: 10 to 60 units, 100 / 80 / 70 a unit from 10 / 30 / 50
   units; the 60 units are set aside from the listing's stock;
2. members commit, each paying quantity × 100 into its own escrow lot;
3. the block before the deadline settles nothing; the block past it does,
   with nobody's transaction: 31 units reach the 80 tier, so each member is
   charged 80 a unit (released to the supplier) and refunded 20 a unit, and
   the 29 units not bought go back to the stock — or, below the minimum,
   everyone is refunded and all 60 units go back;
4. after every step every class's books balance, the module invariants hold,
   the follower agrees, and the auditor replays the chain from genesis.

Then: leaving and joining again, each refusal with its code (and nothing
written), the attacks (terms the supplier did not sign, a signature replayed
for another group, leaving after the deadline), settlement spread over several
blocks when more commitments fall due than a block may take, and cashback as
an ordinary `credits.issue`.
"""

from __future__ import annotations

import pytest

from ledger import credit_ops as ops
from ledger import deadlines
from ledger.block import Effect
from ledger.credit_ops import Movement
from ledger.errors import Code
from ledger.state import DictState
from market import groups_record as rec
from market.groups_record import CLOSING, FAILED, OPEN, SETTLED
from market.groups_terms import sign_terms
from tests.credit_chain import PROVIDER, VALID_FROM, check_books
from tests.gas_chain import (
    CATEGORY,
    LISTING,
    ORG_ID,
    ORGANISER,
    PERSON_ORGANISER,
    SERVICE,
    STOCK,
    GasChain,
    listing,
)
from tests.identity_chain import ATTESTER, ISSUER, KEYS, REGISTRAR

G = bytes([0x01]) * 16
G2 = bytes([0x02]) * 16
TIERS = ((10, 100), (30, 80), (50, 70))
ALL_CLASSES = ("eur", "welfare", "virtue", "other")


@pytest.fixture()
def chain() -> GasChain:
    c = GasChain()
    c.at(VALID_FROM)  # the welfare class's window is open
    return c


def deadline(c: GasChain, seconds: int = 30) -> int:
    return c.head.time_ms + seconds * 1000


def all_checks(c: GasChain) -> dict[str, int]:
    check_books(c, ALL_CLASSES)
    return c.check_invariants()


def lots_of(c: GasChain) -> list[bytes]:
    return sorted(k for k in c.state.items if k.startswith(ops.PREFIX_ESCROW))


# --- the two outcomes ----------------------------------------------------------------------------


def test_a_group_that_reaches_a_tier_charges_its_price_refunds_the_rest_and_pays_the_supplier(chain):
    c = chain
    end = deadline(c)
    assert c.open(G, end) == Code.OK
    group = c.group(G)
    assert (group.organiser, group.provider, group.category, group.status) == (ORGANISER.pubkey, PROVIDER.pubkey,
                                                                             CATEGORY, OPEN)
    assert c.stock() == STOCK - 60, "the group's maximum is set aside at once"
    committed = {KEYS[0]: 10, KEYS[1]: 8, KEYS[2]: 7, KEYS[4]: 6}
    for key, quantity in committed.items():
        assert c.join(key, G, quantity) == Code.OK
        assert c.balance(key, "eur") == 1000 - quantity * 100, "locked at the top price"
        lot = c.commitment(G, key).lot
        assert ops.get_lot(c.state, lot) == ops.Lot("eur", key.pubkey, PROVIDER.pubkey, CATEGORY, quantity * 100,
                                                    c.height)
    assert c.cls("eur").escrowed == 3100
    group = c.group(G)
    assert (group.committed_qty, group.members, group.pending, group.status) == (31, 4, 4, OPEN)
    assert all_checks(c)["gas"] == 1
    lots = {key: c.commitment(G, key).lot for key in committed}

    c.at(end - 1)
    assert c.last_outcome.effects == () and c.group(G).status == OPEN, "nothing before the deadline"
    c.at(end)  # the block past the deadline: no transaction, the end-of-block step settles
    members = sorted(committed, key=lambda k: k.pubkey)
    assert c.last_outcome.effects == (
        Effect("gas", rec.group_item(G), Code.OK),
        *(Effect("gas", rec.commit_item(G, k.pubkey), Code.OK) for k in members),
    )
    group = c.group(G)
    assert (group.status, group.unit_price, group.committed_qty, group.members, group.pending) == (SETTLED, 80, 31, 4,
                                                                                                    0)
    for key, quantity in committed.items():
        assert c.balance(key, "eur") == 1000 - quantity * 80
        assert c.commitment(G, key) is None
    assert c.balance(PROVIDER, "eur") == 31 * 80
    assert c.cls("eur").escrowed == 0 and lots_of(c) == []
    assert c.stock() == STOCK - 31, "the 29 units not bought are back on sale"
    reference = f"purchase group {G.hex()}"
    assert [list(per_effect) for per_effect in c.last_outcome.moves[-5:]] == [[]] + [[
        Movement("release", "eur", None, PROVIDER.pubkey, committed[k] * 80, reference, lots[k]),
        Movement("refund", "eur", None, k.pubkey, committed[k] * 20, reference, lots[k]),
    ] for k in members], "the statements' rows: each commitment charged and refunded by its own lot"
    assert all_checks(c)["gas"] == 1
    report = c.audit()
    assert report.invariants["gas"] == 1 and report.state_root == c.head.state_root.hex()


def test_a_group_below_its_minimum_refunds_everyone_and_gives_the_units_back(chain):
    c = chain
    end = deadline(c)
    assert c.open(G, end, min_qty=20, tiers=((20, 90), (40, 75))) == Code.OK
    for key in KEYS[:3]:
        assert c.join(key, G, 5) == Code.OK
    assert c.cls("eur").escrowed == 3 * 5 * 90
    c.at(end)
    group = c.group(G)
    assert (group.status, group.unit_price, group.committed_qty, group.pending) == (FAILED, 0, 15, 0)
    assert [c.balance(key, "eur") for key in KEYS[:3]] == [1000] * 3
    assert c.balance(PROVIDER, "eur") == 0 and c.cls("eur").escrowed == 0 and lots_of(c) == []
    assert c.stock() == STOCK
    assert [e.code for e in c.last_outcome.effects] == [Code.OK] * 4
    assert all(m.kind == "refund" for per_effect in c.last_outcome.moves[-3:] for m in per_effect)
    all_checks(c)
    assert c.audit().invariants["gas"] == 1


def test_the_last_tier_and_an_empty_group_and_a_service(chain):
    """60 units reach the 70 tier; a group nobody joined fails at once; a service has no stock to set aside."""
    c = chain
    end = deadline(c)
    assert c.open(G, end) == Code.OK
    assert c.open(G2, end, listing_id=SERVICE, min_qty=1, max_qty=5, tiers=((1, 50),)) == Code.OK
    assert c.stock(SERVICE) is None
    for key in KEYS[:6]:
        assert c.join(key, G, 10) == Code.OK
    assert c.join(KEYS[0], G, 1) == Code.GROUP_FULL
    c.at(end)
    assert (c.group(G).status, c.group(G).unit_price) == (SETTLED, 70)
    assert (c.group(G2).status, c.group(G2).members) == (FAILED, 0)
    assert [c.balance(k, "eur") for k in KEYS[:6]] == [300] * 6
    assert c.balance(PROVIDER, "eur") == 60 * 70 and c.stock() == STOCK - 60 and c.stock(SERVICE) is None
    items = [e.item for e in c.last_outcome.effects]
    assert items[:2] == sorted([rec.group_item(G), rec.group_item(G2)]), "groups are decided first"
    all_checks(c)


# --- leaving and joining again -------------------------------------------------------------------


def test_a_member_leaves_and_joins_again_with_a_new_lot_each_time(chain):
    c = chain
    end = deadline(c)
    assert c.open(G, end) == Code.OK
    assert c.join(KEYS[0], G, 5) == Code.OK
    first = c.commitment(G, KEYS[0]).lot
    assert c.leave(KEYS[0], G) == Code.OK
    assert c.balance(KEYS[0], "eur") == 1000 and c.commitment(G, KEYS[0]) is None
    assert ops.get_lot(c.state, first) is None and c.cls("eur").escrowed == 0
    assert not any(k.startswith(deadlines.BY_TIME + b"gas/") and k.endswith(KEYS[0].pubkey) for k in c.state.items), \
        "the commitment's due item is cancelled"
    group = c.group(G)
    assert (group.committed_qty, group.members, group.pending, group.commitments_made) == (0, 0, 0, 1)
    all_checks(c)

    assert c.join(KEYS[0], G, 3) == Code.OK
    second = c.commitment(G, KEYS[0]).lot
    assert c.join(KEYS[0], G, 4) == Code.OK, "joining again adds to the commitment"
    third = c.commitment(G, KEYS[0]).lot
    assert len({first, second, third}) == 3, "a lot id is used once, ever"
    assert ops.get_lot(c.state, second) is None and ops.get_lot(c.state, third).amount == 700
    assert c.commitment(G, KEYS[0]).quantity == 7 and c.balance(KEYS[0], "eur") == 300
    group = c.group(G)
    assert (group.committed_qty, group.members, group.commitments_made) == (7, 1, 3)
    all_checks(c)
    assert c.join(KEYS[1], G, 3) == Code.OK
    c.at(end)
    assert (c.group(G).status, c.group(G).unit_price) == (SETTLED, 100)
    assert c.balance(KEYS[0], "eur") == 300 and c.balance(PROVIDER, "eur") == 1000
    all_checks(c)
    assert c.audit().invariants["gas"] == 1


# --- refusals --------------------------------------------------------------------------------------


def refused_without_writes(c: GasChain, key, type_: str, body: tuple) -> Code:
    """The execution code of a transaction that fails: only the signer's nonce changed."""
    before = dict(c.state.items)
    code = c.send(key, type_, body)
    changed = {k for k in set(before) | set(c.state.items) if before.get(k) != c.state.items.get(k)}
    assert changed == {b"acct/" + key.pubkey}, changed
    return Code(code)


def test_opening_is_refused_with_its_code(chain):
    c = chain
    end = deadline(c)
    assert c.open(G, end) == Code.OK
    open_body = c.open_body
    cases = [
        (ORGANISER, open_body(G, end), Code.GROUP_EXISTS),
        (ORGANISER, open_body(G2, c.head.time_ms + 1000), Code.DEADLINE_PASSED),  # the next block's time
        (PERSON_ORGANISER, open_body(G2, end, organiser=PERSON_ORGANISER), Code.NOT_ORGANISATION),
        (KEYS[5], open_body(G2, end, organiser=KEYS[5]), Code.NOT_ORGANISATION),  # bound to no identity
        (ORGANISER, open_body(G2, end, listing_id=bytes(16)), Code.LISTING_UNAVAILABLE),
        (ORGANISER, open_body(G2, end, class_id="other"), Code.CLASS_NOT_ACCEPTED),
        (ORGANISER, open_body(G2, end, tiers=((10, 101), (30, 80))), Code.TIER_ABOVE_PRICE),
        (ORGANISER, open_body(G2, end, max_qty=41, tiers=((10, 100),)), Code.GROUP_FULL),  # 40 left after G
        (ORGANISER, open_body(G2, end, max_qty=40, tiers=((10, 100),), supplier=KEYS[0]), Code.BAD_TERMS_SIGNATURE),
    ]
    for key, body, code in cases:
        assert refused_without_writes(c, key, "gas.open", body) == code, code


@pytest.mark.parametrize(("record", "why"), [
    (listing(status="paused"), "paused"),
    (listing(status="withdrawn"), "withdrawn"),
    (listing(valid_from_ms=VALID_FROM + 3_600_000), "not yet valid"),
    (listing(valid_until_ms=VALID_FROM + 1), "ended"),
])
def test_a_listing_not_on_offer_cannot_have_a_group_nor_new_members(chain, record, why):
    c = chain
    end = deadline(c)
    assert c.open(G, end) == Code.OK
    assert c.join(KEYS[0], G, 2) == Code.OK
    c.put_listing(LISTING, record[:6] + (c.stock(),) + record[7:])
    assert refused_without_writes(c, ORGANISER, "gas.open", c.open_body(G2, end, max_qty=20, tiers=((10, 100),))) == \
        Code.LISTING_UNAVAILABLE, why
    assert refused_without_writes(c, KEYS[1], "gas.join", (G, 2)) == Code.LISTING_UNAVAILABLE, why
    assert c.leave(KEYS[0], G) == Code.OK, "a member may still leave"


def test_a_suspended_organisation_cannot_open(chain):
    c = chain
    assert c.send(REGISTRAR, "identity.set_status", (ORG_ID, "suspended")) == Code.OK
    assert refused_without_writes(c, ORGANISER, "gas.open", c.open_body(G, deadline(c))) == Code.IDENTITY_NOT_ACTIVE


def test_joining_and_leaving_are_refused_with_their_codes(chain):
    c = chain
    end = deadline(c)
    assert c.open(G, end) == Code.OK
    assert refused_without_writes(c, KEYS[0], "gas.join", (G2, 1)) == Code.UNKNOWN_GROUP
    assert refused_without_writes(c, KEYS[0], "gas.join", (G, 11)) == Code.INSUFFICIENT_BALANCE
    for key in KEYS[:5]:
        assert c.join(key, G, 10) == Code.OK
    assert refused_without_writes(c, KEYS[5], "gas.join", (G, 11)) == Code.GROUP_FULL, "above the maximum"
    assert refused_without_writes(c, KEYS[0], "gas.join", (G, 11)) == Code.GROUP_FULL
    assert refused_without_writes(c, KEYS[6], "gas.leave", (G,)) == Code.NOT_COMMITTED
    assert refused_without_writes(c, KEYS[6], "gas.leave", (G2,)) == Code.UNKNOWN_GROUP
    c.at(end - 1)
    # in the block past the deadline: the transactions are refused, then the step settles the group
    block = c.block([c.tx(KEYS[5], "gas.join", (G, 1)), c.tx(KEYS[0], "gas.leave", (G,))], end)
    assert block.results == (Code.DEADLINE_PASSED, Code.DEADLINE_PASSED)
    assert c.group(G).status == SETTLED and c.balance(KEYS[0], "eur") == 1000 - 10 * 70
    assert refused_without_writes(c, KEYS[5], "gas.join", (G, 1)) == Code.DEADLINE_PASSED
    assert refused_without_writes(c, KEYS[0], "gas.leave", (G,)) == Code.DEADLINE_PASSED
    all_checks(c)


def test_a_commitment_is_checked_with_every_rule_of_the_class_when_it_is_made(chain):
    """The class's rules at the moment of commitment (ledger/credit_ops.lock), and its eligibility."""
    c = chain
    end = deadline(c)
    assert c.send(ISSUER, "credits.issue", ("virtue", KEYS[0].pubkey, 100, "volunteering")) == Code.OK
    assert c.send(ISSUER, "credits.issue", ("welfare", KEYS[1].pubkey, 400, "plan")) == Code.OK
    assert c.open(G, end, class_id="virtue", tiers=((10, 90), (30, 80))) == Code.OK
    assert c.open(G2, end, class_id="welfare", max_qty=20, tiers=((10, 80),)) == Code.OK
    eur = bytes([0x03]) * 16
    assert c.open(eur, end, max_qty=20, tiers=((10, 100),)) == Code.OK

    assert c.join(KEYS[0], G, 1) == Code.OK, "a resident of trento holds virtue"
    assert c.leave(KEYS[0], G) == Code.OK
    assert c.send(ATTESTER, "attest.revoke", (bytes([0xA0]) * 16, "resident:trento")) == Code.OK
    assert refused_without_writes(c, KEYS[0], "gas.join", (G, 1)) == Code.NOT_ELIGIBLE, "no longer a resident"
    assert refused_without_writes(c, KEYS[1], "gas.join", (G2, 1)) == Code.WRONG_CATEGORY, "welfare pays no food"
    assert c.send(ISSUER, "credits.freeze", ("eur", KEYS[2].pubkey)) == Code.OK
    assert refused_without_writes(c, KEYS[2], "gas.join", (eur, 1)) == Code.HOLDER_FROZEN
    assert c.send(REGISTRAR, "identity.set_status", (bytes([0xA3]) * 16, "suspended")) == Code.OK
    assert refused_without_writes(c, KEYS[3], "gas.join", (eur, 1)) == Code.IDENTITY_NOT_ACTIVE
    assert c.join(KEYS[4], eur, 1) == Code.OK
    assert c.send(ISSUER, "credits.revoke_accreditation", (PROVIDER.pubkey, (CATEGORY,))) == Code.OK
    assert refused_without_writes(c, KEYS[5], "gas.join", (eur, 1)) == Code.NOT_ACCREDITED
    all_checks(c)


@pytest.mark.parametrize(("change", "why"), [
    (dict(tiers=()), "no tier"),
    (dict(tiers=((9, 100),)), "the first tier does not start at min_qty"),
    (dict(tiers=((10, 100), (30, 100))), "a price that does not fall"),
    (dict(tiers=((10, 100), (10, 90))), "a min_total that does not rise"),
    (dict(tiers=((10, 100), (61, 90))), "a tier above max_qty"),
    (dict(tiers=tuple((10 + i, 100 - i) for i in range(9))), "nine tiers"),
    (dict(min_qty=61, tiers=((61, 100),)), "min_qty above max_qty"),
    (dict(max_qty=2**62, tiers=((10, 100),)), "max_qty × the top price above 2^63 − 1"),
])
def test_terms_that_make_no_sense_are_malformed_at_admission(chain, change, why):
    assert chain.refused(ORGANISER, "gas.open", chain.open_body(G, deadline(chain), **change)) == Code.MALFORMED, why


# --- attacks -----------------------------------------------------------------------------------------


def test_an_organiser_cannot_change_the_terms_the_supplier_signed(chain):
    """The attack: sell the supplier's stock at a price it never agreed, or re-use its consent."""
    c = chain
    end = deadline(c)
    signed = c.open_body(G, end)
    lower = (*signed[:6], ((10, 1),), signed[7])
    assert refused_without_writes(c, ORGANISER, "gas.open", lower) == Code.BAD_TERMS_SIGNATURE
    bigger = (*signed[:4], 100, *signed[5:])
    assert refused_without_writes(c, ORGANISER, "gas.open", bigger) == Code.BAD_TERMS_SIGNATURE
    later = (*signed[:5], end + 1, *signed[6:])
    assert refused_without_writes(c, ORGANISER, "gas.open", later) == Code.BAD_TERMS_SIGNATURE
    other_chain = (*signed[:7], sign_terms(PROVIDER, "another-chain", G, ORGANISER.pubkey, LISTING, "eur", 10, 60,
                                           end, TIERS))
    assert refused_without_writes(c, ORGANISER, "gas.open", other_chain) == Code.BAD_TERMS_SIGNATURE
    replayed = (G2, *signed[1:])
    assert refused_without_writes(c, ORGANISER, "gas.open", replayed) == Code.BAD_TERMS_SIGNATURE, \
        "the consent is for one group id"
    assert c.send(ORGANISER, "gas.open", signed) == Code.OK
    all_checks(c)


def test_two_joins_that_fit_alone_do_not_overfill_the_group_in_one_block(chain):
    c = chain
    assert c.open(G, deadline(c), max_qty=15, tiers=((10, 100),)) == Code.OK
    block = c.block([c.tx(KEYS[0], "gas.join", (G, 8)), c.tx(KEYS[1], "gas.join", (G, 8))])
    assert block.results == (Code.OK, Code.GROUP_FULL)
    assert c.group(G).committed_qty == 8
    all_checks(c)


# --- bounded work per block ------------------------------------------------------------------------


def test_settlement_is_spread_over_blocks_when_more_falls_due_than_a_block_takes():
    c = GasChain(max_due_per_block=3)
    end = deadline(c)
    assert c.open(G, end, min_qty=5, max_qty=8, tiers=((5, 100), (8, 90))) == Code.OK
    assert c.open(G2, end + 1000, min_qty=1, max_qty=2, tiers=((1, 100),)) == Code.OK
    c.block([c.tx(k, "gas.join", (G, 1)) for k in KEYS[:8]])
    assert c.join(KEYS[0], G2, 2) == Code.OK
    c.at(end + 1000)  # both deadlines passed: 1 + 8 items of G, then 1 + 1 of G2, three a block
    seen = [c.last_outcome.effects]
    group = c.group(G)
    assert (group.status, group.unit_price, group.pending) == (CLOSING, 90, 6)
    assert c.group(G2).status == OPEN, "its items are due later than G's: they wait their turn"
    assert c.cls("eur").escrowed == 6 * 100 + 2 * 100
    all_checks(c)  # a closing group: its commitments still whole, each still due
    assert c.join(KEYS[8], G, 1) == Code.DEADLINE_PASSED, "a closing group takes no one"
    seen.append(c.last_outcome.effects)
    all_checks(c)
    while any(k.startswith(deadlines.PREFIX_DUE) for k in c.state.items):
        c.block([])
        seen.append(c.last_outcome.effects)
        all_checks(c)
    assert [len(e) for e in seen] == [3, 3, 3, 2], "at most max_due_per_block a block"
    assert [e.item[:1] for effects in seen for e in effects] == [b"g"] + [b"m"] * 8 + [b"g", b"m"]
    assert all(e.code == Code.OK for effects in seen for e in effects)
    assert (c.group(G).status, c.group(G).pending, c.group(G2).status) == (SETTLED, 0, SETTLED)
    assert [c.balance(k, "eur") for k in KEYS[1:8]] == [910] * 7 and c.balance(KEYS[0], "eur") == 910 - 200
    assert c.balance(PROVIDER, "eur") == 8 * 90 + 200 and c.cls("eur").escrowed == 0
    assert c.audit().invariants["gas"] == 2


# --- cashback -----------------------------------------------------------------------------------------


def test_cashback_is_an_ordinary_issue_by_the_organiser_as_operator_of_a_purchase_group_class(chain):
    c = chain
    assert c.send(ISSUER, "credits.create_class", ("gas-bonus", "GAS cashback", 2, "purchase_group", (), "p2p", (),
                                                   0, 0, 0, 0, None, 0, 0)) == Code.OK
    assert c.send(ISSUER, "credits.delegate", ("gas-bonus", ORGANISER.pubkey)) == Code.OK
    end = deadline(c)
    assert c.open(G, end) == Code.OK
    for key in KEYS[:3]:
        assert c.join(key, G, 10) == Code.OK
    c.at(end)
    assert c.group(G).status == SETTLED
    for key in KEYS[:3]:
        assert c.send(ORGANISER, "credits.issue", ("gas-bonus", key.pubkey, 150, f"cashback {G.hex()}")) == Code.OK
    assert [c.balance(k, "gas-bonus") for k in KEYS[:3]] == [150] * 3
    check_books(c, (*ALL_CLASSES, "gas-bonus"))
    c.check_invariants()



# --- the auditor's invariants ---------------------------------------------------------------------


def _tamper_group(**change):
    def tamper(items: dict, group_id: bytes, member: bytes) -> None:
        key = rec.group_key(group_id)
        items[key] = rec.decode_group(items[key])._replace(**change).encode()
    return tamper


def _drop(key_of):
    def tamper(items: dict, group_id: bytes, member: bytes) -> None:
        del items[key_of(items, group_id, member)]
    return tamper


def _commitment_due_key(items, group_id, member):
    return next(k for k in items if k.startswith(deadlines.BY_TIME) and k.endswith(rec.commit_item(group_id, member)))


def _lot_key(items, group_id, member):
    return ops.escrow_key(rec.get_commitment(DictState(items), group_id, member).lot)


@pytest.mark.parametrize(("tamper", "message"), [
    (_tamper_group(committed_qty=21), "20 units"),
    (_tamper_group(members=3, pending=3), "2 commitments"),
    (_tamper_group(status=SETTLED, unit_price=100), "still in escrow"),
    (_tamper_group(status=FAILED), "reached 100"),
    (_tamper_group(status=CLOSING, unit_price=90), "reached 100"),
    (_tamper_group(status="gone"), "unknown status"),
    (_drop(_lot_key), "escrow lot None"),
    (_drop(_commitment_due_key), "nothing would ever settle it"),
    (_drop(lambda items, group_id, member: rec.group_key(group_id)), "has no group"),
])
def test_the_invariants_name_a_broken_purchase_group(chain, tamper, message):
    """What re-execution cannot show by itself: a state in which credits would stay in escrow for ever."""
    from ledger.invariants import InvariantBroken
    from market.groups_invariants import check_groups

    c = chain
    assert c.open(G, deadline(c), max_qty=20, tiers=((10, 100),)) == Code.OK
    assert c.join(KEYS[0], G, 10) == Code.OK and c.join(KEYS[1], G, 10) == Code.OK
    items = dict(c.state.items)
    tamper(items, G, KEYS[0].pubkey)
    scan = lambda prefix: iter(sorted((k, v) for k, v in items.items() if k.startswith(prefix)))  # noqa: E731
    with pytest.raises(InvariantBroken) as caught:
        check_groups(DictState(items), scan)
    assert caught.value.check == "purchase group" and message in caught.value.message, caught.value.message
