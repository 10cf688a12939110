"""The rules of credit classes (FORMAT.md §6.3), each tried and broken, with its precise code.

On a chain with four identities (two members of coop-a, two residents of
trento), an issuer with a welfare plan (members only, spend-only, health and
sport, a validity window, a holder cap and a budget), a virtue credit
(residents only, p2p) and the open `eur`, every test tries to break one rule
and asserts the code, then the success path and the books of each class:
issued = held + redeemed + reclaimed.
"""

from __future__ import annotations

import json

import pytest

from genesis.document import GenesisError, parse_genesis
from genesis.rules import RULES
from ledger import credit_rules as rules
from ledger import credits
from ledger.address import to_address
from ledger.credit_txs import MODULE as CREDITS
from ledger.encoding import decode, encode
from ledger.errors import Code, TxError
from ledger.fields import MAX_AMOUNT
from ledger.rules import ChainRules
from ledger.state import DictState, Overlay
from tests.credit_chain import (
    BUDGET,
    HOLDER_CAP,
    IDS,
    OPERATOR,
    OTHER_ISSUER,
    PROVIDER,
    PROVIDER_2,
    VALID_FROM,
    VALID_UNTIL,
    CreditChain,
    check_books,
    credit_genesis_document,
)
from tests.identity_chain import ATTESTER, ISSUER, KEYS, REGISTRAR, REGISTRAR_2

A, B, C, D = KEYS[:4]  # A: member+resident, B: member, C: resident, D: neither
NOBODY = KEYS[6]  # bound to no identity
INSIDE = VALID_FROM + 1000


@pytest.fixture
def c() -> CreditChain:
    return CreditChain()


def open_window(c: CreditChain) -> None:
    """Move block time inside the welfare window and accredit PROVIDER (by the issuer) for health."""
    c.at(INSIDE)
    assert c.send(ISSUER, "credits.accredit", (PROVIDER.pubkey, ("health",))) == Code.OK


def welfare_to(c: CreditChain, key, amount: int = 300) -> None:
    assert c.send(ISSUER, "credits.issue", ("welfare", key.pubkey, amount, "2026 allocation")) == Code.OK


# --- the class record and create_class -----------------------------------------------------


def test_genesis_classes_default_to_an_open_community_credit_and_keep_their_rules(c):
    assert c.cls("eur") == credits.CreditClass(ISSUER.pubkey, "euro", 2, issued=4000)
    assert c.cls("eur").supply == 4000
    welfare = c.cls("welfare")
    assert welfare == credits.CreditClass(
        ISSUER.pubkey, "Welfare plan", 2, "welfare", ("member:coop-a",), "spend_only", ("health", "sport"),
        VALID_FROM, VALID_UNTIL, HOLDER_CAP, BUDGET, None, 0, 0, 0, 0, 0,
    )
    assert c.state.items[b"class/welfare"] == encode(tuple(welfare))


def test_create_class_writes_every_rule_sorted_with_empty_books(c):
    body = ("plan-27", "Plan 2027", 2, "welfare", ("resident:trento", "member:coop-a"), "spend_only",
            ("sport", "books"), VALID_FROM, VALID_UNTIL, 100, 1000, bytes(range(32)), 500, 2500)
    assert c.send(ISSUER, "credits.create_class", body) == Code.OK
    assert c.cls("plan-27") == credits.CreditClass(
        ISSUER.pubkey, "Plan 2027", 2, "welfare", ("member:coop-a", "resident:trento"), "spend_only",
        ("books", "sport"), VALID_FROM, VALID_UNTIL, 100, 1000, bytes(range(32)), 500, 2500, 0, 0, 0,
    )
    assert c.send(ISSUER, "credits.create_class", body) == Code.CLASS_EXISTS
    assert c.send(A, "credits.create_class", ("mine", *body[1:])) == Code.NOT_AUTHORISED_ISSUER


@pytest.mark.parametrize("field, value", [
    (3, "gift"), (4, ("member",)), (4, ("a:b", "a:b")), (4, ("a:b",) * 9), (5, "both"), (6, ("Sport",)),
    (6, ("x" * 33,)), (6, "sport"), (7, -1), (8, VALID_FROM - 1), (9, -1), (10, 2**63), (11, bytes(31)), (11, ""),
    (1, ""), (1, "é" * 32 + "x"), (8, VALID_FROM),  # a name is 1 to 64 bytes; the window must not be empty
    (12, -1), (12, 2**63), (13, 499),  # a cap below one voucher allows no payment at all
])
def test_create_class_bodies_that_break_a_field_rule_are_malformed(field, value):
    body = ["k", "K", 2, "welfare", (), "p2p", (), VALID_FROM, VALID_UNTIL, 0, 0, None, 500, 0]
    RULES.parse("credits.create_class", tuple(body))
    body[field] = value
    with pytest.raises(TxError) as err:
        RULES.parse("credits.create_class", tuple(body))
    assert err.value.code == Code.MALFORMED


# --- eligibility ----------------------------------------------------------------------------


def test_issue_to_an_ineligible_holder_is_not_eligible(c):
    c.at(INSIDE)
    for key in (C, D, NOBODY):  # no member:coop-a attestation; NOBODY has no identity at all
        assert c.send(ISSUER, "credits.issue", ("welfare", key.pubkey, 10, "")) == Code.NOT_ELIGIBLE
    welfare_to(c, A)
    assert c.balance(A, "welfare") == 300 and c.cls("welfare").issued == 300
    check_books(c)


def test_an_attestation_revoked_or_a_suspended_identity_makes_a_holder_ineligible(c):
    c.at(INSIDE)
    assert c.send(ATTESTER, "attest.revoke", (IDS[1], "member:coop-a")) == Code.OK
    assert c.send(ISSUER, "credits.issue", ("welfare", B.pubkey, 10, "")) == Code.NOT_ELIGIBLE
    assert c.send(REGISTRAR, "identity.set_status", (IDS[0], "suspended")) == Code.OK
    assert c.send(ISSUER, "credits.issue", ("welfare", A.pubkey, 10, "")) == Code.NOT_ELIGIBLE


def test_transfer_to_an_ineligible_receiver_is_not_eligible(c):
    assert c.send(ISSUER, "credits.issue", ("virtue", A.pubkey, 50, "recycling")) == Code.OK
    assert c.send(A, "credits.transfer", ("virtue", B.pubkey, 10, "")) == Code.NOT_ELIGIBLE  # not a resident
    assert c.send(A, "credits.transfer", ("virtue", NOBODY.pubkey, 10, "")) == Code.NOT_ELIGIBLE
    assert c.send(A, "credits.transfer", ("virtue", C.pubkey, 10, "thanks")) == Code.OK
    assert (c.balance(A, "virtue"), c.balance(C, "virtue")) == (40, 10)
    check_books(c)


# --- transferability and payment --------------------------------------------------------------


def test_a_p2p_transfer_of_a_spend_only_class_is_not_transferable(c):
    c.at(INSIDE)
    welfare_to(c, A)
    assert c.send(A, "credits.transfer", ("welfare", B.pubkey, 10, "")) == Code.NOT_TRANSFERABLE
    assert c.balance(A, "welfare") == 300


def test_payment_in_a_wrong_category_is_wrong_category(c):
    open_window(c)
    welfare_to(c, A)
    assert c.send(A, "credits.pay", ("welfare", PROVIDER.pubkey, 10, "groceries", "o-1")) == Code.WRONG_CATEGORY


def test_payment_to_a_provider_not_accredited_for_the_category_is_not_accredited(c):
    open_window(c)
    welfare_to(c, A)
    assert c.send(A, "credits.pay", ("welfare", PROVIDER_2.pubkey, 10, "health", "o-1")) == Code.NOT_ACCREDITED
    assert c.send(A, "credits.pay", ("welfare", PROVIDER.pubkey, 10, "sport", "o-1")) == Code.NOT_ACCREDITED
    # another issuer's accreditation is worth nothing for this issuer's class
    assert c.send(OTHER_ISSUER, "credits.accredit", (PROVIDER_2.pubkey, ("health",))) == Code.OK
    assert c.send(A, "credits.pay", ("welfare", PROVIDER_2.pubkey, 10, "health", "o-1")) == Code.NOT_ACCREDITED
    # a registrar's accreditation is the federation's: valid for every class
    assert c.send(REGISTRAR, "credits.accredit", (PROVIDER_2.pubkey, ("sport",))) == Code.OK
    assert c.state.items[rules.provider_key(PROVIDER_2.pubkey, rules.FEDERATION)] == encode(("sport",))
    assert c.send(A, "credits.pay", ("welfare", PROVIDER_2.pubkey, 10, "sport", "o-2")) == Code.OK
    assert c.send(A, "credits.pay", ("welfare", PROVIDER.pubkey, 25, "health", "o-3")) == Code.OK
    assert c.send(A, "credits.pay", ("welfare", A.pubkey, 1, "health", "o-4")) == Code.SELF_TRANSFER
    assert c.send(A, "credits.pay", ("welfare", PROVIDER.pubkey, 1000, "health", "o-5")) == Code.INSUFFICIENT_BALANCE
    assert (c.balance(A, "welfare"), c.balance(PROVIDER, "welfare"), c.balance(PROVIDER_2, "welfare")) == (265, 25, 10)
    assert decode(c.state.items[rules.spent_key("welfare", "health")]) == 25
    assert decode(c.state.items[rules.spent_key("welfare", "sport")]) == 10
    # any registrar may revoke the federation's accreditation
    assert c.send(REGISTRAR_2, "credits.revoke_accreditation", (PROVIDER_2.pubkey, ("sport",))) == Code.OK
    assert rules.provider_key(PROVIDER_2.pubkey, rules.FEDERATION) not in c.state.items
    assert c.send(A, "credits.pay", ("welfare", PROVIDER_2.pubkey, 10, "sport", "o-6")) == Code.NOT_ACCREDITED
    check_books(c)


def test_a_class_with_no_categories_pays_for_any_category_an_accredited_provider_has(c):
    assert c.send(ISSUER, "credits.accredit", (PROVIDER.pubkey, ("groceries", "meals"))) == Code.OK
    assert c.send(A, "credits.pay", ("eur", PROVIDER.pubkey, 100, "meals", "receipt 7")) == Code.OK
    assert c.send(A, "credits.pay", ("eur", PROVIDER.pubkey, 100, "books", "receipt 8")) == Code.NOT_ACCREDITED
    assert c.balance(PROVIDER, "eur") == 100
    check_books(c)


def test_accreditation_needs_a_registrar_or_an_issuer_and_revocation_an_existing_one(c):
    assert c.send(A, "credits.accredit", (PROVIDER.pubkey, ("health",))) == Code.NOT_ACCREDITOR
    assert c.send(ISSUER, "credits.accredit", (PROVIDER.pubkey, ("sport", "health"))) == Code.OK
    assert c.send(ISSUER, "credits.accredit", (PROVIDER.pubkey, ("books",))) == Code.OK
    key = rules.provider_key(PROVIDER.pubkey, ISSUER.pubkey)
    assert decode(c.state.items[key]) == ("books", "health", "sport")
    assert c.send(ISSUER, "credits.revoke_accreditation", (PROVIDER.pubkey, ("meals",))) == Code.NOT_ACCREDITED
    assert c.send(REGISTRAR, "credits.revoke_accreditation", (PROVIDER.pubkey, ("books",))) == Code.NOT_ACCREDITED
    assert c.send(ISSUER, "credits.revoke_accreditation", (PROVIDER.pubkey, ("books", "sport"))) == Code.OK
    assert decode(c.state.items[key]) == ("health",)
    many = tuple(f"c{i}" for i in range(16))
    for start in range(0, 64, 16):
        code = c.send(ISSUER, "credits.accredit", (PROVIDER_2.pubkey, tuple(f"c{start + i}" for i in range(16))))
        assert code == Code.OK
    assert c.send(ISSUER, "credits.accredit", (PROVIDER_2.pubkey, ("one-more",))) == Code.TOO_MANY_CATEGORIES
    assert c.send(ISSUER, "credits.accredit", (PROVIDER_2.pubkey, many)) == Code.OK  # nothing new


# --- the validity window ----------------------------------------------------------------------


def test_before_validity_nothing_is_issued_or_paid(c):
    assert c.head.time_ms < VALID_FROM
    assert c.send(ISSUER, "credits.issue", ("welfare", A.pubkey, 10, "")) == Code.CLASS_NOT_YET_VALID
    assert c.send_at(VALID_FROM, ISSUER, "credits.issue", ("welfare", A.pubkey, 10, "")) == Code.OK  # inclusive


def test_after_expiry_nothing_is_paid_issued_or_transferred_but_providers_still_redeem(c):
    open_window(c)
    welfare_to(c, A)
    assert c.send(A, "credits.pay", ("welfare", PROVIDER.pubkey, 40, "health", "o-1")) == Code.OK
    assert c.send_at(VALID_UNTIL, A, "credits.pay", ("welfare", PROVIDER.pubkey, 10, "health", "o-2")) == Code.CLASS_EXPIRED
    assert c.send(ISSUER, "credits.issue", ("welfare", A.pubkey, 10, "")) == Code.CLASS_EXPIRED
    assert c.send(PROVIDER, "credits.redeem", ("welfare", 40, "invoice 2026-12")) == Code.OK
    assert c.cls("welfare")[14:] == (300, 40, 0, 0)
    check_books(c)


# --- caps ---------------------------------------------------------------------------------------


def test_issue_past_the_holder_cap_is_holder_cap_exceeded_and_redemption_does_not_free_it(c):
    open_window(c)
    welfare_to(c, A, HOLDER_CAP - 100)
    welfare_to(c, A, 100)
    assert c.send(ISSUER, "credits.issue", ("welfare", A.pubkey, 1, "")) == Code.HOLDER_CAP_EXCEEDED
    assert decode(c.state.items[rules.issued_key("welfare", A.pubkey)]) == HOLDER_CAP
    assert c.send(A, "credits.pay", ("welfare", PROVIDER.pubkey, 200, "health", "o")) == Code.OK
    assert c.send(PROVIDER, "credits.redeem", ("welfare", 200, "s-1")) == Code.OK
    assert c.send(ISSUER, "credits.issue", ("welfare", A.pubkey, 1, "")) == Code.HOLDER_CAP_EXCEEDED
    welfare_to(c, B, 1)  # another holder has its own cap
    check_books(c)


def test_issue_past_the_budget_is_budget_exceeded(c):
    c.at(INSIDE)
    welfare_to(c, A, 500)
    welfare_to(c, B, 500)
    assert c.send(ISSUER, "credits.issue", ("welfare", A.pubkey, 1, "")) == Code.HOLDER_CAP_EXCEEDED  # checked first
    assert c.send(ATTESTER, "attest.issue", (IDS[3], "member:coop-a", 0)) == Code.OK
    assert c.send(ISSUER, "credits.issue", ("welfare", D.pubkey, 201, "")) == Code.BUDGET_EXCEEDED
    welfare_to(c, D, 200)
    assert c.cls("welfare").issued == BUDGET
    check_books(c)


# --- freezes, suspended identities ---------------------------------------------------------


def test_a_frozen_holder_can_neither_pay_transfer_redeem_nor_receive_issuance(c):
    open_window(c)
    welfare_to(c, A)
    assert c.send(ISSUER, "credits.accredit", (A.pubkey, ("health",))) == Code.OK  # A also a provider
    for class_id in ("welfare", "eur"):
        assert c.send(ISSUER, "credits.freeze", (class_id, A.pubkey)) == Code.OK
    assert decode(c.state.items[rules.frozen_key("welfare", A.pubkey)]) == (c.height - 1,)
    assert c.send(ISSUER, "credits.freeze", ("welfare", A.pubkey)) == Code.HOLDER_FROZEN
    assert c.send(A, "credits.pay", ("welfare", PROVIDER.pubkey, 10, "health", "o")) == Code.HOLDER_FROZEN
    assert c.send(A, "credits.transfer", ("eur", B.pubkey, 10, "")) == Code.HOLDER_FROZEN
    assert c.send(A, "credits.redeem", ("welfare", 10, "s")) == Code.HOLDER_FROZEN
    assert c.send(ISSUER, "credits.issue", ("welfare", A.pubkey, 10, "")) == Code.HOLDER_FROZEN
    assert c.send(B, "credits.transfer", ("eur", A.pubkey, 10, "")) == Code.OK  # it may still receive
    assert c.send(B, "credits.freeze", ("welfare", A.pubkey)) == Code.NOT_ISSUER
    assert c.send(ISSUER, "credits.unfreeze", ("welfare", A.pubkey)) == Code.OK
    assert c.send(ISSUER, "credits.unfreeze", ("welfare", A.pubkey)) == Code.NOT_FROZEN
    assert c.send(A, "credits.pay", ("welfare", PROVIDER.pubkey, 10, "health", "o")) == Code.OK
    check_books(c)


def test_a_suspended_identity_cannot_pay_or_redeem(c):
    open_window(c)
    welfare_to(c, A)
    assert c.send(REGISTRAR, "identity.set_status", (IDS[0], "suspended")) == Code.OK
    assert c.send(A, "credits.pay", ("welfare", PROVIDER.pubkey, 10, "health", "o")) == Code.IDENTITY_NOT_ACTIVE
    assert c.send(A, "credits.redeem", ("welfare", 10, "s")) == Code.IDENTITY_NOT_ACTIVE
    assert c.send(A, "credits.transfer", ("eur", B.pubkey, 10, "")) == Code.IDENTITY_NOT_ACTIVE


# --- who issues: issuer, operators -------------------------------------------------------------


def test_issue_by_a_non_issuer_is_not_issuer_by_an_operator_ok_and_after_undelegation_refused(c):
    c.at(INSIDE)
    body = ("welfare", A.pubkey, 10, "")
    assert c.refused(OPERATOR, "credits.issue", body) == Code.UNKNOWN_SIGNER  # a stranger writes nothing
    assert c.send(B, "credits.issue", body) == Code.NOT_ISSUER
    assert c.send(OTHER_ISSUER, "credits.issue", body) == Code.NOT_ISSUER
    assert c.send(ISSUER, "credits.delegate", ("welfare", OPERATOR.pubkey)) == Code.OK  # makes it known
    assert c.send(OPERATOR, "credits.issue", body) == Code.OK
    assert c.send(OPERATOR, "credits.issue", ("virtue", A.pubkey, 1, "")) == Code.NOT_ISSUER  # another class
    assert c.send(OPERATOR, "credits.freeze", ("welfare", B.pubkey)) == Code.NOT_ISSUER  # operators only issue
    assert c.send(ISSUER, "credits.undelegate", ("welfare", OPERATOR.pubkey)) == Code.OK
    assert c.send(OPERATOR, "credits.issue", body) == Code.NOT_ISSUER
    assert c.send(ISSUER, "credits.undelegate", ("welfare", OPERATOR.pubkey)) == Code.NOT_DELEGATED
    assert c.send(ISSUER, "credits.delegate", ("*", OPERATOR.pubkey)) == Code.OK
    assert c.send(OPERATOR, "credits.issue", ("virtue", A.pubkey, 1, "")) == Code.OK
    assert c.send(OPERATOR, "credits.issue", ("other", A.pubkey, 1, "")) == Code.NOT_ISSUER  # another issuer's
    assert c.send(OTHER_ISSUER, "credits.delegate", ("welfare", OPERATOR.pubkey)) == Code.NOT_ISSUER
    assert c.send(A, "credits.delegate", ("*", OPERATOR.pubkey)) == Code.NOT_AUTHORISED_ISSUER
    assert c.send(ISSUER, "credits.delegate", ("ghost", OPERATOR.pubkey)) == Code.UNKNOWN_CLASS
    assert c.cls("welfare").issued == 10 and c.cls("virtue").issued == 1
    check_books(c)


# --- redeem and reclaim --------------------------------------------------------------------


def test_redeem_by_a_non_provider_is_not_provider_and_by_a_provider_burns_and_books(c):
    open_window(c)
    welfare_to(c, A)
    welfare_to(c, B)
    assert c.send(A, "credits.redeem", ("welfare", 10, "s")) == Code.NOT_PROVIDER
    assert c.send(A, "credits.pay", ("welfare", PROVIDER.pubkey, 120, "health", "o-1")) == Code.OK
    assert c.send(B, "credits.pay", ("welfare", PROVIDER.pubkey, 30, "health", "o-2")) == Code.OK
    assert c.send(PROVIDER, "credits.redeem", ("welfare", 151, "s")) == Code.INSUFFICIENT_BALANCE
    assert c.send(PROVIDER, "credits.redeem", ("welfare", 100, "SEPA 2026-03-01 #17")) == Code.OK
    assert c.cls("welfare")[14:] == (600, 100, 0, 0)
    assert decode(c.state.items[rules.redeemed_key("welfare", PROVIDER.pubkey)]) == 100
    assert c.balance(PROVIDER, "welfare") == 50
    check_books(c)


def test_reclaim_before_expiry_is_refused_after_it_burns_the_listed_balances(c):
    open_window(c)
    welfare_to(c, A)
    welfare_to(c, B, 200)
    holders = (A.pubkey, B.pubkey, C.pubkey)
    assert c.send(ISSUER, "credits.reclaim", ("welfare", holders)) == Code.RECLAIM_BEFORE_EXPIRY
    assert c.send(ISSUER, "credits.reclaim", ("eur", (A.pubkey,))) == Code.RECLAIM_BEFORE_EXPIRY  # never expires
    c.at(VALID_UNTIL)
    assert c.send(A, "credits.reclaim", ("welfare", holders)) == Code.NOT_ISSUER
    assert c.send(ISSUER, "credits.reclaim", ("welfare", holders)) == Code.OK
    assert c.balance(A, "welfare") == c.balance(B, "welfare") == 0
    assert c.cls("welfare")[14:] == (500, 0, 500, 0) and c.cls("welfare").supply == 0
    check_books(c)


@pytest.mark.parametrize("type_, body", [
    ("credits.reclaim", ("welfare", ())),
    ("credits.reclaim", ("welfare", (bytes(32), bytes(32)))),
    ("credits.pay", ("welfare", bytes(32), 1, "Health", "")),
    ("credits.pay", ("welfare", bytes(32), 0, "health", "")),
    ("credits.redeem", ("welfare", 1, "x" * 129)),
    ("credits.accredit", (bytes(32), ())),
    ("credits.delegate", ("**", bytes(32))),
    ("credits.freeze", ("welfare", bytes(31))),
])
def test_malformed_movement_bodies_are_refused_at_admission(type_, body):
    with pytest.raises(TxError) as err:
        RULES.parse(type_, body)
    assert err.value.code == Code.MALFORMED


# --- genesis ----------------------------------------------------------------------------------


def _with(doc: dict, **changes) -> dict:
    doc = json.loads(json.dumps(doc))
    doc["credits"]["classes"][1].update(changes)
    return doc


@pytest.mark.parametrize("changes, balance, message", [
    ({}, 10, "eligibility rules"),
    ({"eligibility": []}, 600, "holder cap"),
    ({"eligibility": [], "holder_cap": 0, "budget": 5}, 10, "budget"),
    ({"categories": ["Sport"]}, None, "categories"),
    ({"valid_until_ms": VALID_FROM}, None, "valid_until_ms"),
    ({"kind": "gift"}, None, "kind"),
    ({"description_hash": "00"}, None, "description_hash"),
])
def test_genesis_refuses_class_rules_its_balances_break(changes, balance, message):
    doc = _with(credit_genesis_document(), **changes)
    if balance is not None:
        doc["credits"]["balances"].append({"account": to_address(A.pubkey), "class": "welfare", "amount": balance})
    with pytest.raises(GenesisError, match=message):
        parse_genesis(json.dumps(doc))


def test_genesis_balances_of_a_capped_class_count_toward_the_cap():
    doc = _with(credit_genesis_document(), eligibility=[])
    doc["credits"]["balances"].append({"account": to_address(A.pubkey), "class": "welfare", "amount": 400})
    state = parse_genesis(json.dumps(doc)).initial_state()
    assert decode(state[rules.issued_key("welfare", A.pubkey)]) == 400
    assert credits.decode_class(state[b"class/welfare"]).issued == 400


def test_a_running_total_that_would_overflow_is_amount_overflow():
    """Credits circulate, so the total paid in a category is not bounded by `issued`."""
    key = rules.spent_key("eur", "meals")
    state = Overlay(DictState({key: encode(MAX_AMOUNT - 1)}))
    rules.add_total(state, key, 1)
    with pytest.raises(TxError) as err:
        rules.add_total(state, key, 1)
    assert err.value.code == Code.AMOUNT_OVERFLOW and decode(state.get(key)) == MAX_AMOUNT


def test_with_no_identity_module_nobody_is_eligible_nor_a_registrar(c):
    """Rules without the identity module fail closed: eligibility and federation accreditation come from it."""
    assert RULES.holds_attribute(c.state, A.pubkey, "member:coop-a", c.height)
    assert RULES.is_registrar(c.state, REGISTRAR.pubkey)
    credits_alone = ChainRules((CREDITS,))
    assert not credits_alone.holds_attribute(c.state, A.pubkey, "member:coop-a", c.height)
    assert not credits_alone.is_registrar(c.state, REGISTRAR.pubkey)
    credits_alone.check_can_spend(c.state, A.pubkey)  # and no guard refuses a spender
