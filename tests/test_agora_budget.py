"""Participatory budgets (FORMAT.md §6.7.1), as a specification.

A budget is `eur` an agora admin locks into the budget's fund, an escrow lot
of the ledger; members of the space submit projects (one of their proposals,
an owner to pay, an amount), then each identity selects projects that fit the
budget, once, the last selection counting; at the closing the end-of-block
step funds the most-selected projects that fit (greedy with skip: a project
that does not fit in what is left is skipped and later, smaller ones are still
funded), pays their owners out of the fund and refunds the rest.

Every test runs real blocks (build_block, then a follower's apply_block) on
tests/budget_chain.py's chain; after each scenario the books balance, the
agora's invariants hold (the counts are the recount of the selections, the
funding the rule on the counts, the fund holds the budget until the closing
and nothing after) and the follower agrees.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from genesis.document import parse_genesis
from genesis.rules import RULES
from governance import budget_records as brec
from governance.budget_close import close_budget
from governance.budget_records import FUNDED, INELIGIBLE, UNFUNDED, Candidate
from governance.invariants import check_agora
from ledger import credit_ops as ops
from ledger.block import encode_raw_block
from ledger.crypto import SigningKey
from ledger.encoding import encode
from ledger.errors import Code
from ledger.handlers import ExecContext
from ledger.invariants import InvariantBroken
from ledger.state import DictState, Overlay
from node.audit.export import Selection, export_movements
from node.audit.verify import verify_chain
from tests.agora_chain import (
    ADMIN,
    COOP,
    FED,
    IDS,
    MODERATOR,
    MULTI,
    TRIO,
    A,
    B,
    C,
    D,
    post_id,
    space_body,
)
from tests.budget_chain import FUNDS, OWNERS, BudgetChain, budget_id
from tests.chain_source import ListSource, certificate
from tests.identity_chain import ATTESTER, CHAIN_ID, ISSUER, REGISTRAR, VALIDATORS
from tests.test_agora import CountingState
from tests.test_agora_properties import RecordingChain, audited_document


@pytest.fixture
def c() -> BudgetChain:
    return BudgetChain()


def eur(c: BudgetChain, key) -> int:
    return c.balance(key, "eur")


# --- the worked example: more requests than money ----------------------------------------------

WORKED = [  # (post, author, owner, amount), in the order submitted: 1750 asked of 1000
    (1, A, OWNERS[1], 600),
    (2, B, OWNERS[2], 500),
    (3, C, OWNERS[3], 300),
    (4, D, OWNERS[4], 200),
    (5, A, OWNERS[5], 80),
]
WORKED_SELECTIONS = [  # each fits 1000; counts: 1 → 3, 2 → 2, 3 → 4, 4 → 2, 5 → 1
    (A, (1, 3)),
    (B, (2, 3, 4)),
    (C, (1, 4, 5)),
    (D, (2, 3)),
    (TRIO[2], (1, 3)),
]


def worked_example(c: BudgetChain) -> None:
    assert c.open_budget(1, FED, 1000) == Code.OK
    c.proposed_and_submitted(1, WORKED, FED)
    c.to_selection(1)
    for key, posts in WORKED_SELECTIONS:
        assert c.select(1, key, posts) == Code.OK


def test_more_requests_than_money_funds_exactly_the_projects_the_rule_says(c):
    """Ranked by selections: 3 (4), 1 (3), 2 (2, submitted before 4), 4 (2), 5 (1). With 1000:
    3 takes 300 (700 left), 1 takes 600 (100 left), 2 (500) and 4 (200) do not fit and are skipped,
    5 (80) still fits (20 left), and the 20 go back to the funder."""
    funder_before = eur(c, ADMIN)
    worked_example(c)
    assert eur(c, ADMIN) == funder_before - 1000, "the whole budget was locked at the opening"
    assert ops.get_lot(c.state, brec.budget_lot(budget_id(1))).amount == 1000
    assert [c.project(1, p).selections for p in range(1, 6)] == [3, 2, 4, 2, 1]
    assert c.budget(1).selectors == 5
    c.check()

    c.close(1)
    assert [e.code for e in c.last_outcome.effects] == [Code.OK]
    assert [c.project(1, p).status for p in range(1, 6)] == [FUNDED, UNFUNDED, FUNDED, UNFUNDED, FUNDED]
    assert [eur(c, OWNERS[p]) for p in range(1, 6)] == [600, 0, 300, 0, 80]
    assert eur(c, ADMIN) == funder_before - 1000 + 20
    budget = c.budget(1)
    assert (budget.status, budget.funded) == (brec.CLOSED, 980)
    assert ops.get_lot(c.state, brec.budget_lot(budget_id(1))) is None, "nothing is left in the fund"
    assert c.cls("eur").escrowed == 0
    c.check()  # the books balance: issued = held + escrowed + redeemed + reclaimed


def test_a_tie_goes_to_the_project_submitted_first(c):
    assert c.open_budget(1, COOP, 500) == Code.OK
    c.proposed_and_submitted(1, [(1, A, OWNERS[1], 400), (2, B, OWNERS[2], 400)], COOP)
    c.to_selection(1)
    assert c.select(1, A, (2,)) == Code.OK
    assert c.select(1, B, (1,)) == Code.OK
    c.close(1)
    assert [c.project(1, p).status for p in (1, 2)] == [FUNDED, UNFUNDED]
    assert (eur(c, OWNERS[1]), eur(c, OWNERS[2])) == (400, 0)
    c.check()


def test_a_project_nobody_selected_is_not_funded_and_an_unselected_budget_goes_back_whole(c):
    before = eur(c, ADMIN)
    assert c.open_budget(1, COOP, 500) == Code.OK
    c.proposed_and_submitted(1, [(1, A, OWNERS[1], 100)], COOP)
    c.close(1)
    assert c.project(1, 1).status == UNFUNDED and eur(c, OWNERS[1]) == 0
    assert eur(c, ADMIN) == before and c.budget(1).funded == 0
    c.check()


# --- selections: within the budget, one per identity, the last counts ---------------------------


def test_a_selection_over_the_budget_is_refused_and_changes_nothing(c):
    assert c.open_budget(1, COOP, 1000) == Code.OK
    c.proposed_and_submitted(1, [(1, A, OWNERS[1], 600), (2, B, OWNERS[2], 500)], COOP)
    assert c.submit(1, 1, A, OWNERS[1], 600) == Code.PROJECT_EXISTS
    assert c.new_proposal(3, COOP, B) == Code.OK
    assert c.submit(1, 3, B, OWNERS[3], 1001) == Code.OVER_BUDGET, "one project asking more than the budget"
    c.to_selection(1)
    assert c.select(1, A, (1, 2)) == Code.OVER_BUDGET
    assert c.selection(1, IDS[0]) is None
    assert [c.project(1, p).selections for p in (1, 2)] == [0, 0]
    assert c.select(1, A, (1, 3)) == Code.UNKNOWN_PROJECT, "post 3 was never submitted"
    c.check()


def test_one_identity_with_three_keys_selects_once(c):
    assert c.open_budget(1, COOP, 1000) == Code.OK
    c.proposed_and_submitted(1, [(1, A, OWNERS[1], 400), (2, B, OWNERS[2], 400), (3, A, OWNERS[3], 400)], COOP)
    c.to_selection(1)
    block = c.block([c.tx(TRIO[0], "agora.select", (budget_id(1), (post_id(1),))),
                     c.tx(TRIO[1], "agora.select", (budget_id(1), (post_id(1), post_id(2)))),
                     c.tx(TRIO[2], "agora.select", (budget_id(1), (post_id(2), post_id(3))))])
    assert list(block.results) == [Code.OK] * 3
    assert [c.project(1, p).selections for p in (1, 2, 3)] == [0, 1, 1], "the last of MULTI's keys counts"
    assert c.budget(1).selectors == 1
    assert c.selection(1, MULTI).projects == (post_id(2), post_id(3)) and c.selection(1, MULTI).signer == TRIO[2].pubkey
    c.check()


def test_a_changed_selection_counts_once_and_an_empty_one_withdraws(c):
    assert c.open_budget(1, COOP, 1000) == Code.OK
    c.proposed_and_submitted(1, [(1, A, OWNERS[1], 300), (2, B, OWNERS[2], 300)], COOP)
    c.to_selection(1)
    assert c.select(1, A, (1, 2)) == Code.OK
    assert c.select(1, A, (2,)) == Code.OK
    assert [c.project(1, p).selections for p in (1, 2)] == [0, 1]
    assert c.select(1, B, (1,)) == Code.OK
    assert c.select(1, B, ()) == Code.OK
    assert c.selection(1, IDS[1]) is None and c.project(1, 1).selections == 0
    assert c.budget(1).selectors == 1
    c.check()
    c.close(1)
    assert [c.project(1, p).status for p in (1, 2)] == [UNFUNDED, FUNDED]
    c.check()


def test_a_selection_names_only_projects_of_its_own_budget(c):
    assert c.open_budget(1, COOP, 1000) == Code.OK
    assert c.open_budget(2, COOP, 1000) == Code.OK
    c.proposed_and_submitted(1, [(1, A, OWNERS[1], 300)], COOP)
    assert c.submit(2, 1, A, OWNERS[2], 200) == Code.OK, "one proposal may be a project of two budgets"
    assert c.last_outcome.parties == ((OWNERS[2].pubkey,),), "the owner's history shows the project"
    assert c.new_proposal(2, COOP, B) == Code.OK
    assert c.submit(2, 2, B, OWNERS[3], 200) == Code.OK
    c.to_selection(2)  # budget 2 opened a block after budget 1: both take selections now
    assert c.select(1, A, (1, 2)) == Code.UNKNOWN_PROJECT, "post 2 is a project of budget 2 only"
    assert c.select(2, A, (1, 2)) == Code.OK
    assert (c.project(1, 1).selections, c.project(2, 1).selections) == (0, 1)
    c.close(2)
    assert [c.budget(n).status for n in (1, 2)] == [brec.CLOSED, brec.CLOSED]
    assert eur(c, OWNERS[1]) == 0 and (eur(c, OWNERS[2]), eur(c, OWNERS[3])) == (200, 200)
    assert eur(c, ADMIN) == FUNDS - 400 and c.cls("eur").escrowed == 0
    c.check()


def test_a_selection_must_be_ascending_and_distinct():
    c = BudgetChain()
    assert c.open_budget(1, COOP, 1000) == Code.OK
    assert c.refused(A, "agora.select", (budget_id(1), (post_id(2), post_id(1)))) == Code.MALFORMED
    assert c.refused(A, "agora.select", (budget_id(1), (post_id(1), post_id(1)))) == Code.MALFORMED


# --- who may, and when ---------------------------------------------------------------------------


def test_a_non_member_neither_submits_nor_selects(c):
    assert c.open_budget(1, COOP, 1000) == Code.OK
    c.proposed_and_submitted(1, [(1, A, OWNERS[1], 300)], COOP)
    assert c.new_proposal(2, FED, C) == Code.OK
    assert c.submit(1, 2, C, OWNERS[2], 100) == Code.UNKNOWN_POST, "a proposal of another space"
    c.to_selection(1)
    assert c.select(1, C, (1,)) == Code.NOT_SPACE_ELIGIBLE
    assert c.select(1, D, (1,)) == Code.NOT_SPACE_ELIGIBLE
    assert c.project(1, 1).selections == 0
    c.check()


def test_projects_only_before_the_selection_and_selections_only_until_the_closing(c):
    assert c.open_budget(1, COOP, 1000) == Code.OK
    c.proposed_and_submitted(1, [(1, A, OWNERS[1], 300)], COOP)
    assert c.select(1, A, (1,)) == Code.BUDGET_WINDOW, "no selection while projects are submitted"
    c.to_selection(1)
    assert c.new_proposal(2, COOP, B) == Code.OK
    assert c.submit(1, 2, B, OWNERS[2], 100) == Code.BUDGET_WINDOW
    assert c.select(1, A, (1,)) == Code.OK
    c.close(1)
    assert c.select(1, B, (1,)) == Code.BUDGET_WINDOW, "after the closing"
    assert c.select(1, A, ()) == Code.BUDGET_WINDOW
    assert c.project(1, 1).selections == 1 and c.project(1, 1).status == FUNDED
    c.check()


def test_a_project_is_its_authors_proposal_with_an_owner_that_may_receive_the_class(c):
    assert c.open_budget(1, COOP, 1000) == Code.OK
    assert c.new_proposal(1, COOP, A) == Code.OK
    assert c.submit(1, 1, B, OWNERS[1], 100) == Code.NOT_POST_AUTHOR
    assert c.submit(1, 1, A, ADMIN, 100) == Code.SELF_TRANSFER, "the funder pays no project of its own"
    assert c.send(A, "agora.comment", (post_id(2), post_id(1), bytes(32))) == Code.OK
    assert c.submit(1, 2, A, OWNERS[1], 100) == Code.NOT_A_PROPOSAL
    assert c.send(A, "agora.erase", (post_id(1),)) == Code.OK
    assert c.submit(1, 1, A, OWNERS[1], 100) == Code.POST_NOT_VISIBLE
    assert c.submit(2, 1, A, OWNERS[1], 100) == Code.UNKNOWN_BUDGET
    assert c.budget(1).projects == ()
    c.check()


def test_who_opens_a_budget_and_with_what(c):
    body = lambda n, amount, class_id="eur": (budget_id(n), COOP, class_id, amount, c.time + 60_000,  # noqa: E731
                                              c.time + 120_000)
    assert c.send(A, "agora.budget", body(1, 100)) == Code.NOT_MODERATOR, "a member is not the space's admin"
    assert c.send(ADMIN, "agora.budget", body(1, FUNDS + 1)) == Code.INSUFFICIENT_BALANCE
    assert c.send(ADMIN, "agora.budget", body(1, 100, "welfare")) == Code.NOT_TRANSFERABLE, "spend-only credits"
    assert c.send(ADMIN, "agora.budget", body(1, 100, "nope")) == Code.UNKNOWN_CLASS
    assert c.send(ADMIN, "agora.budget", (budget_id(1), COOP, "eur", 100, c.time, c.time + 60_000)) == \
        Code.BUDGET_WINDOW
    assert c.refused(ADMIN, "agora.budget", (budget_id(1), COOP, "eur", 100, 10, 10)) == Code.MALFORMED
    assert brec.get_budget(c.state, budget_id(1)) is None and eur(c, ADMIN) == FUNDS
    assert c.send(D, "credits.transfer", ("eur", MODERATOR.pubkey, 500, "")) == Code.OK
    assert c.open_budget(1, COOP, 500, key=MODERATOR) == Code.OK, "a moderator of the space funds one too"
    assert c.open_budget(1, COOP, 100) == Code.BUDGET_EXISTS
    assert eur(c, MODERATOR) == 0 and c.cls("eur").escrowed == 500
    c.check()


NEWCOMERS = [SigningKey(bytes([0x90 + i]) * 32) for i in range(4)]


def register_newcomers(c: BudgetChain) -> list[SigningKey]:
    """Four more identities of one key each (the federation space takes every active identity): with A, B, C
    and D, eight authors, as many as a budget's 64 projects need at 8 projects an identity."""
    first = c.nonce(REGISTRAR)
    txs = [c.tx(REGISTRAR, "identity.register", (bytes([0x90 + i]) * 16, "person", bytes([0x90 + i]) * 32,
                                                 bytes(32), (k.pubkey,)), nonce=first + i)
           for i, k in enumerate(NEWCOMERS)]
    assert c.block(txs).results == (Code.OK,) * 4
    return NEWCOMERS


def test_a_budget_has_at_most_64_projects(c):
    assert c.open_budget(1, FED, 1000) == Code.OK
    authors = (A, B, C, D, *register_newcomers(c))
    results = []
    for first in range(0, 65, 8):  # one transaction of each author a block
        c.block([c.tx(authors[p % 8], "agora.propose", (post_id(p), FED, bytes([p]) * 32))
                 for p in range(first, min(first + 8, 65))])
    for first in range(0, 65, 8):
        results += c.block([c.tx(authors[p % 8], "agora.project", (budget_id(1), post_id(p), OWNERS[0].pubkey, 10))
                            for p in range(first, min(first + 8, 65))]).results
    assert results == [Code.OK] * 64 + [Code.TOO_MANY_PROJECTS]
    c.to_selection(1)
    assert c.select(1, A, tuple(range(64))) == Code.OK, "a selection of all 64 (640 fits)"
    c.close(1)
    assert eur(c, OWNERS[0]) == 640
    c.check()


def test_one_identity_submits_at_most_8_projects_to_a_budget_whatever_its_keys(c):
    """Without the cap one member could take all 64 places; MULTI's three keys are one identity, its 9th project
    is refused from any of them, and another identity still submits; in another budget MULTI starts again."""
    assert c.open_budget(1, FED, 1000) == Code.OK
    assert c.open_budget(2, FED, 1000) == Code.OK
    for p in range(10):
        assert c.new_proposal(p, FED, TRIO[p % 3], f"project {p}") == Code.OK
    assert c.new_proposal(10, FED, A, "project 10") == Code.OK
    for p in range(brec.MAX_PROJECTS_PER_AUTHOR):
        assert c.submit(1, p, TRIO[p % 3], OWNERS[1], 10) == Code.OK, p
    for key in TRIO:  # whichever of its keys signs
        assert c.submit(1, 8, key, OWNERS[1], 10) == Code.TOO_MANY_OWN_PROJECTS
    assert c.submit(1, 10, A, OWNERS[2], 10) == Code.OK
    assert c.submit(2, 8, TRIO[0], OWNERS[1], 10) == Code.OK, "the cap is per budget"
    assert brec.projects_by(c.state, budget_id(1), c.budget(1), MULTI) == 8
    assert len(c.budget(1).projects) == 9
    c.check()
    # a state where MULTI has a 9th (as a rule without the cap would write) breaks an invariant
    ninth = brec.project_key(budget_id(1), post_id(8))
    crowded = tampered(c, ninth, brec.Project(MULTI, TRIO[0].pubkey, OWNERS[1].pubkey, 10, 0, brec.SUBMITTED,
                                              c.height).encode())
    crowded.items[brec.budget_key(budget_id(1))] = c.budget(1)._replace(
        projects=(*c.budget(1).projects, post_id(8))).encode()
    assert "authored more than 8" in broken(crowded, c)


def test_an_owner_who_may_no_longer_receive_at_the_closing_is_skipped():
    """A budget of `virtue` (held only by residents of trento) in a residents' space, funded by A: C's project,
    the most selected, is not paid because C stopped being a resident; D's, which fits, is."""
    c = BudgetChain()
    town = bytes([0x70]) * 16
    assert c.send(ADMIN, "agora.space", space_body(town, "resident:trento", moderators=(A.pubkey,))) == Code.OK
    assert c.send(ATTESTER, "attest.issue", (IDS[3], "resident:trento", 0)) == Code.OK
    assert c.send(ISSUER, "credits.issue", ("virtue", A.pubkey, 400, "")) == Code.OK
    assert c.open_budget(1, town, 400, key=A, class_id="virtue") == Code.OK
    c.proposed_and_submitted(1, [(1, C, C, 300), (2, D, D, 300)], town)
    assert c.new_proposal(3, town, C) == Code.OK
    assert c.submit(1, 3, C, B, 300) == Code.NOT_ELIGIBLE, "B is no resident: it may not hold virtue credits"
    c.to_selection(1)
    for key, posts in ((A, (1,)), (C, (1,)), (D, (2,))):
        assert c.select(1, key, posts) == Code.OK
    assert c.send(ATTESTER, "attest.revoke", (IDS[2], "resident:trento")) == Code.OK
    c.close(1)
    assert [c.project(1, p).status for p in (1, 2)] == [INELIGIBLE, FUNDED]
    assert (c.balance(C, "virtue"), c.balance(D, "virtue"), c.balance(A, "virtue")) == (0, 300, 100)
    c.check()


def closing_reads(c: BudgetChain, n: int) -> tuple[int, int, list[str]]:
    """(gets, range reads, statuses) of budget n's closing, run on a copy of the state."""
    counting = CountingState(dict(c.state.items))
    ctx = ExecContext(Overlay(counting), CHAIN_ID, c.height + 1, c.budget(n).closes_ms, b"", RULES, [])
    close_budget(ctx, budget_id(n))
    budget = brec.get_budget(ctx.state, budget_id(n))
    return counting.gets, counting.ranges, [brec.get_project(ctx.state, budget_id(n), p).status
                                            for p in budget.projects]


def test_the_closing_reads_the_same_records_for_one_selector_or_41(c):
    """The counts are moved by the selections (FORMAT.md §6.7.1), so the closing reads the budget and its
    projects, never the selections: its work is bounded by the 64 projects, not by who took part."""
    keys = [SigningKey(bytes([0x90 + i]) + bytes(31)) for i in range(40)]
    c.block([c.tx(REGISTRAR, "identity.register", (bytes([0xE0, i]) + bytes(14), "person", bytes([0xD0, i]) + bytes(30),
                                                   bytes(32), (keys[i].pubkey,)), nonce=c.nonce(REGISTRAR) + i)
             for i in range(40)])
    for n in (1, 2):
        assert c.open_budget(n, FED, 1000) == Code.OK
    c.proposed_and_submitted(1, [(1, A, OWNERS[1], 100), (2, B, OWNERS[2], 100), (3, C, OWNERS[3], 100)], FED)
    c.proposed_and_submitted(2, [(4, A, OWNERS[1], 100), (5, B, OWNERS[2], 100), (6, C, OWNERS[3], 100)], FED)
    c.to_selection(2)
    assert c.select(1, A, (1, 2, 3)) == Code.OK
    block = c.block([c.tx(k, "agora.select", (budget_id(2), (post_id(4), post_id(5), post_id(6)))) for k in (A, *keys)])
    assert list(block.results) == [Code.OK] * 41
    assert (c.budget(1).selectors, c.budget(2).selectors) == (1, 41)
    one, many = closing_reads(c, 1), closing_reads(c, 2)
    assert one[2] == many[2] == [FUNDED] * 3
    assert one[:2] == many[:2] and one[1] == 0, (one, many)
    c.check()


# --- the auditor ---------------------------------------------------------------------------------


def tampered(c: BudgetChain, key: bytes, value: bytes | None) -> DictState:
    items = dict(c.state.items)
    if value is None:
        del items[key]
    else:
        items[key] = value
    return DictState(items)


def broken(state: DictState, c: BudgetChain) -> str:
    def scan(prefix):
        for key in sorted(k for k in state.items if k.startswith(prefix)):
            yield key, state.items[key]
    with pytest.raises(InvariantBroken) as exc:
        check_agora(state, scan)
    return str(exc.value)


def test_the_invariants_catch_a_miscount_a_wrong_funding_and_a_fund_that_does_not_hold_the_budget(c):
    worked_example(c)
    project = brec.project_key(budget_id(1), post_id(2))
    recounted = tampered(c, project, c.project(1, 2)._replace(selections=3).encode())
    assert "recount" in broken(recounted, c)
    lot = brec.budget_lot(budget_id(1))
    held = ops.get_lot(c.state, lot)
    assert held is not None
    short = tampered(c, ops.escrow_key(lot), encode(tuple(held._replace(amount=999))))
    assert "fund" in broken(short, c)
    c.close(1)
    wrong = tampered(c, project, c.project(1, 2)._replace(status=FUNDED).encode())
    assert "the rule" in broken(wrong, c)
    c.check()


class CertifiedBudgets(RecordingChain, BudgetChain):
    """The budget chain keeping every block, for the auditor (four validators: real certificates)."""


def test_the_auditors_replay_agrees_and_every_fund_movement_is_a_statement_row():
    c = CertifiedBudgets(audited_document())
    worked_example(c)
    c.close(1)
    genesis = parse_genesis(json.dumps(audited_document()))
    raws = [encode_raw_block(b, certificate(b, CHAIN_ID, VALIDATORS[:3])) for b in c.made]
    report = verify_chain(RULES, genesis, ListSource(genesis.hash(), raws, c.head), workers=1)
    assert report.state_root == c.head.state_root.hex() and report.height == c.height
    rows = [m for m in export_movements(RULES, ListSource(genesis.hash(), raws, c.head), genesis,
                                        Selection(class_id="eur")) if m.reference.startswith("budget ")]
    lot, ref = brec.budget_lot(budget_id(1)), brec.reference(budget_id(1))
    step = "agora.end_block"
    assert [(m.type, m.sender, m.receiver, m.amount, m.lot, m.reference) for m in rows] == [
        ("agora.budget", ADMIN.pubkey, None, 1000, lot, ref),
        (step, None, OWNERS[1].pubkey, 600, lot, brec.reference(budget_id(1), post_id(1))),
        (step, None, OWNERS[3].pubkey, 300, lot, brec.reference(budget_id(1), post_id(3))),
        (step, None, OWNERS[5].pubkey, 80, lot, brec.reference(budget_id(1), post_id(5))),
        (step, None, ADMIN.pubkey, 20, lot, ref),
    ]
    assert rows[0].row()["to"] == f"escrow:{lot.hex()}" and rows[-1].row()["from"] == f"escrow:{lot.hex()}"


# --- the property: random selections and amounts against a model of the rule -------------------


def model_funding(budget: int, asks: list[int], selections: dict[str, tuple[int, ...]]) -> tuple[set[int], int]:
    """The rule, said plainly: count each identity's last selection; go through the projects from the
    most selected (ties: the earlier submitted); fund each selected one that fits in what is left."""
    counts = [0] * len(asks)
    for chosen in selections.values():
        for p in chosen:
            counts[p] += 1
    left, funded = budget, set()
    for p in sorted(range(len(asks)), key=lambda p: (-counts[p], p)):
        if counts[p] and asks[p] <= left:
            funded.add(p)
            left -= asks[p]
    return funded, left


def counts_of(last: dict[str, tuple[int, ...]], p: int) -> int:
    return sum(p in chosen for chosen in last.values())


VOTERS = {"A": A, "B": B, "C": C, "D": D, "M0": TRIO[0], "M1": TRIO[1], "M2": TRIO[2]}
IDENTITY_OF = {"A": "A", "B": "B", "C": "C", "D": "D", "M0": "M", "M1": "M", "M2": "M"}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(budget=st.integers(100, 1000),
       shares=st.lists(st.integers(10, 60), min_size=6, max_size=6),  # each project asks this % of the budget
       picks=st.lists(st.tuples(st.sampled_from(sorted(VOTERS)), st.sets(st.integers(0, 5), min_size=1, max_size=3)),
                      min_size=3, max_size=14))
def test_the_funded_set_is_the_models_for_any_selections_and_amounts(budget, shares, picks):
    """Seven keys of five identities (MULTI's three count once) select at random, some over the budget
    (refused, changing nothing), some again (the last counts); the closing funds the model's set."""
    c = BudgetChain()
    assert c.open_budget(1, FED, budget) == Code.OK
    asks = [budget * share // 100 for share in shares]  # ≥ 5: more is asked than there is, as a rule
    c.proposed_and_submitted(1, [(p + 1, (A, B, C, D)[p % 4], OWNERS[p], a) for p, a in enumerate(asks)], FED)
    c.to_selection(1)
    last: dict[str, tuple[int, ...]] = {}
    for voter, chosen in picks:
        chosen = tuple(sorted(p for p in chosen if p < len(asks)))
        result = c.select(1, VOTERS[voter], tuple(p + 1 for p in chosen))
        fits = sum(asks[p] for p in chosen) <= budget
        assert result == (Code.OK if fits else Code.OVER_BUDGET)
        if fits:
            last[IDENTITY_OF[voter]] = chosen
    funder_before = eur(c, ADMIN)
    c.close(1)
    funded, left = model_funding(budget, asks, {k: v for k, v in last.items() if v})
    skipped = [p for p in range(len(asks)) if p not in funded and any(p in v for v in last.values())]
    after_skip = [p for p in funded if skipped and any(
        (counts_of(last, q), -q) > (counts_of(last, p), -p) for q in skipped)]
    event("a smaller project funded after a skipped one" if after_skip else
          "a selected project skipped" if skipped else "every selected project funded")
    target(float(len(after_skip)))  # toward budgets where the skip rule decides
    assert {p for p in range(len(asks)) if c.project(1, p + 1).status == FUNDED} == funded
    assert [eur(c, OWNERS[p]) for p in range(len(asks))] == [asks[p] if p in funded else 0 for p in range(len(asks))]
    assert eur(c, ADMIN) == funder_before + left
    assert ops.get_lot(c.state, brec.budget_lot(budget_id(1))) is None
    c.check()


def test_the_rule_itself_skips_what_does_not_fit_and_marks_an_owner_who_cannot_receive():
    rule = brec.funding(1000, [Candidate(3, 600, True), Candidate(2, 500, True), Candidate(4, 300, False),
                               Candidate(1, 80, True), Candidate(0, 10, True)])
    assert rule == [FUNDED, UNFUNDED, INELIGIBLE, FUNDED, UNFUNDED]
