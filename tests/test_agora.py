"""The agora (FORMAT.md §6.7), as a specification: spaces, posts, supports, one-identity-one-vote ballots.

Every test runs real blocks (build_block, then a follower's apply_block) on
tests/agora_chain.py's chain: coop-a's members are IDS[0] (A), IDS[1] (B) and
MULTI (three keys, TRIO); C and D are not members; the federation has five
active identities. After each scenario the books, the identity counters and
the agora's invariants (among them: every stored tally equals the recount of
the stored votes) are checked, and the follower agrees.
"""

from __future__ import annotations

import pytest

from genesis.rules import RULES
from governance import records as rec
from governance.invariants import check_agora
from identity.invariants import check_identities
from identity.records import ACTIVE_COUNT_KEY, attribute_count_key
from ledger.block import encode_raw_block
from ledger.crypto import SigningKey
from ledger.encoding import decode, encode
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext
from ledger.invariants import InvariantBroken
from ledger.state import DictState, Overlay
from tests.agora_chain import (
    ADMIN,
    COOP,
    FED,
    IDS,
    MODERATOR,
    MULTI,
    SECOND,
    SUPPORT_WINDOW,
    TOWN,
    TRIO,
    YES_NO,
    A,
    AgoraChain,
    B,
    C,
    D,
    ballot_id,
    post_id,
    space_body,
    text_hash,
)
from tests.chain_source import certificate
from tests.identity_chain import ATTESTER, CHAIN_ID, REGISTRAR, VALIDATOR

YES, NO, ABSTAIN = 0, 1, 2
SALT = bytes([0x5A]) * 32


def ready(c: AgoraChain, proposal: int = 1, space: bytes = COOP, supporters=(A, B)) -> None:
    """A proposal by A in `space` with the supports its threshold asks."""
    assert c.new_proposal(proposal, space) == Code.OK
    c.supported(proposal, supporters)


def public_ballot(c: AgoraChain, n: int = 1, **kw) -> None:
    ready(c, n)
    assert c.open_ballot(n, n, **kw) == Code.OK


def close(c: AgoraChain, n: int = 1) -> None:
    """The first block at or after the ballot's last deadline: the end-of-block step tallies it."""
    ballot = c.ballot(n)
    c.block([], max(ballot.closes_ms, ballot.reveal_until_ms))


@pytest.fixture
def c() -> AgoraChain:
    return AgoraChain()


# --- one identity, one vote -------------------------------------------------------------------


def test_one_identity_with_three_keys_votes_once(c):
    public_ballot(c)
    for key in TRIO:
        assert c.vote(1, key, YES) == Code.OK
    ballot = c.ballot(1)
    assert ballot.cast == 1 and ballot.counts == (1, 0, 0)
    assert c.votes(1) == [MULTI], "one vote record, under the identity, not under a key"
    assert c.vote_of(1, MULTI).signer == TRIO[-1].pubkey
    c.check()


def test_a_changed_vote_counts_once_and_the_last_counts(c):
    public_ballot(c)
    assert c.vote(1, A, YES) == Code.OK
    assert c.vote(1, A, NO) == Code.OK
    assert c.vote(1, TRIO[0], YES) == Code.OK
    assert c.vote(1, TRIO[2], NO) == Code.OK  # another key of the same identity changes its vote
    assert c.ballot(1).counts == (0, 2, 0) and c.ballot(1).cast == 2
    close(c)
    assert c.ballot(1).status == rec.DECIDED and c.ballot(1).outcome == NO
    c.check()


def test_a_non_member_is_refused_and_so_is_a_key_of_no_identity(c):
    public_ballot(c)
    assert c.vote(1, C, YES) == Code.NOT_SPACE_ELIGIBLE
    assert c.vote(1, D, YES) == Code.NOT_SPACE_ELIGIBLE
    assert c.vote(1, ADMIN, YES) == Code.NOT_SPACE_ELIGIBLE  # a known key bound to no identity
    assert c.ballot(1).cast == 0 and c.votes(1) == []
    c.check()


def test_eligibility_is_the_attestation_at_the_block_and_an_active_identity(c):
    public_ballot(c)
    assert c.send(REGISTRAR, "identity.set_status", (IDS[1], "suspended")) == Code.OK
    assert c.vote(1, B, YES) == Code.NOT_SPACE_ELIGIBLE, "a suspended identity takes no part"
    assert c.send(ATTESTER, "attest.issue", (MULTI, "member:coop-a", c.height + 2)) == Code.OK
    assert c.vote(1, TRIO[0], YES) == Code.OK, "the attestation holds up to its expiry height"
    assert c.vote(1, TRIO[1], NO) == Code.NOT_SPACE_ELIGIBLE, "expired at this block"
    assert c.send(ATTESTER, "attest.revoke", (IDS[0], "member:coop-a")) == Code.OK
    assert c.vote(1, A, YES) == Code.NOT_SPACE_ELIGIBLE, "revoked"
    assert c.ballot(1).counts == (1, 0, 0), "a vote cast while eligible still counts"
    c.check()


def test_a_vote_before_the_opening_or_after_the_closing_is_refused(c):
    ready(c)
    assert c.open_ballot(1, 1, opens=c.time + 10 * SECOND) == Code.OK
    assert c.ballot(1).status == rec.SCHEDULED and c.ballot(1).eligible == 0
    assert c.vote(1, A, YES) == Code.BALLOT_WINDOW
    c.block([], c.ballot(1).opens_ms)
    assert c.ballot(1).status == rec.OPEN and c.ballot(1).eligible == 3, "opened by the end-of-block step"
    assert c.vote(1, A, YES) == Code.OK
    close(c)
    assert c.vote(1, B, YES) == Code.BALLOT_WINDOW
    assert c.ballot(1).counts == (1, 0, 0)
    c.check()


def test_a_vote_at_the_closing_time_is_refused_even_before_the_step_ran(c):
    public_ballot(c)
    closes = c.ballot(1).closes_ms
    assert c.block([c.tx(A, "agora.vote", (ballot_id(1), YES))], closes).results == (Code.BALLOT_WINDOW,)
    assert c.ballot(1).status == rec.FAILED


# --- quorum and outcome ---------------------------------------------------------------------


def test_a_ballot_below_quorum_fails(c):
    public_ballot(c)  # quorum 600 ‰ of 3 members: 1.8, so 2 identities
    assert c.vote(1, A, YES) == Code.OK
    close(c)
    ballot = c.ballot(1)
    assert (ballot.status, ballot.outcome, ballot.cast, ballot.eligible) == (rec.FAILED, None, 1, 3)
    c.check()


def test_the_quorum_counts_abstentions_and_the_share_does_not(c):
    public_ballot(c)
    assert c.vote(1, A, ABSTAIN) == Code.OK
    assert c.vote(1, B, NO) == Code.OK
    close(c)
    assert (c.ballot(1).status, c.ballot(1).outcome) == (rec.DECIDED, NO), "quorum 2 of 3; no: 1 of 1 decisive"


def test_a_tie_decides_nothing(c):
    public_ballot(c)
    assert c.vote(1, A, YES) == Code.OK
    assert c.vote(1, B, NO) == Code.OK
    close(c)
    assert (c.ballot(1).status, c.ballot(1).outcome) == (rec.FAILED, None)


def test_a_choice_among_several_options_needs_more_than_the_pass_share(c):
    public_ballot(c, options=("park", "library", "pool"))
    for key, option in ((A, 0), (B, 1), (TRIO[0], 0)):
        assert c.vote(1, key, option) == Code.OK
    close(c)
    assert (c.ballot(1).status, c.ballot(1).outcome) == (rec.DECIDED, 0), "park: 2 of 3 > 500 ‰"
    c.check()


def test_the_electorate_is_counted_once_at_the_opening_from_one_counter(c):
    ready(c)
    assert c.open_ballot(1, 1, opens=c.time + 10 * SECOND) == Code.OK
    # a fourth member is attested before the opening: counted; one revoked after it: still counted
    assert c.send(ATTESTER, "attest.issue", (IDS[2], "member:coop-a", 0)) == Code.OK
    assert decode(c.state.get(attribute_count_key("member:coop-a"))) == 4
    c.block([], c.ballot(1).opens_ms)
    assert c.ballot(1).eligible == 4
    assert c.send(ATTESTER, "attest.revoke", (IDS[2], "member:coop-a")) == Code.OK
    assert c.ballot(1).eligible == 4
    c.check()


def test_the_federation_space_counts_the_active_identities(c):
    assert decode(c.state.get(ACTIVE_COUNT_KEY)) == 5
    ready(c, space=FED, supporters=(C, D))
    assert c.send(REGISTRAR, "identity.set_status", (IDS[3], "suspended")) == Code.OK
    assert c.open_ballot(1, 1) == Code.OK
    assert c.ballot(1).eligible == 4
    c.check()


# --- commit-then-reveal ---------------------------------------------------------------------


def commit(c: AgoraChain, key, identity: bytes, option: int, salt: bytes = SALT) -> int:
    return c.send(key, "agora.commit", (ballot_id(1), rec.vote_commitment(ballot_id(1), identity, option, salt)))


def reveal(c: AgoraChain, key, option: int, salt: bytes = SALT, at: int | None = None) -> int:
    return c.block([c.tx(key, "agora.reveal", (ballot_id(1), option, salt))], at).results[0]


def test_commit_reveal_shows_no_partial_tally_before_the_closing(c):
    public_ballot(c, reveal=30 * SECOND)
    assert commit(c, A, IDS[0], YES) == Code.OK
    assert commit(c, TRIO[1], MULTI, NO) == Code.OK
    assert commit(c, TRIO[2], MULTI, YES) == Code.OK  # a changed commitment replaces the earlier one
    ballot = c.ballot(1)
    assert ballot.counts == (0, 0, 0) and ballot.cast == 0
    assert all(c.vote_of(1, i).option is None for i in (IDS[0], MULTI)), "no option on the chain while open"
    assert c.vote(1, B, YES) == Code.WRONG_BALLOT_MODE
    assert reveal(c, A, YES) == Code.BALLOT_WINDOW, "no reveal before the closing"
    c.check()
    c.block([], ballot.closes_ms)
    assert c.ballot(1).status == rec.REVEALING
    assert commit(c, B, IDS[1], YES) == Code.BALLOT_WINDOW
    assert reveal(c, TRIO[0], NO) == Code.REVEAL_MISMATCH, "the earlier commitment was replaced"
    assert reveal(c, TRIO[0], YES) == Code.OK
    assert reveal(c, TRIO[1], YES) == Code.NO_COMMITMENT, "revealed once"
    assert c.ballot(1).counts == (1, 0, 0)
    close(c)  # A never revealed: not counted
    ballot = c.ballot(1)
    assert (ballot.status, ballot.counts, ballot.cast) == (rec.FAILED, (1, 0, 0), 1), "1 of 3 is below quorum"
    assert c.vote_of(1, IDS[0]).option is None
    c.check()


def test_a_reveal_not_matching_its_commitment_is_refused(c):
    public_ballot(c, reveal=30 * SECOND)
    assert commit(c, A, IDS[0], YES) == Code.OK
    assert commit(c, B, IDS[1], YES) == Code.OK
    c.block([], c.ballot(1).closes_ms)
    assert reveal(c, A, NO) == Code.REVEAL_MISMATCH, "another option"
    assert reveal(c, A, YES, salt=bytes(32)) == Code.REVEAL_MISMATCH, "another salt"
    assert reveal(c, A, 7) == Code.UNKNOWN_OPTION
    assert reveal(c, C, YES) == Code.NO_COMMITMENT
    assert reveal(c, A, YES) == Code.OK and reveal(c, B, YES) == Code.OK
    assert reveal(c, B, YES, at=c.ballot(1).reveal_until_ms) == Code.BALLOT_WINDOW
    assert (c.ballot(1).status, c.ballot(1).outcome, c.ballot(1).cast) == (rec.DECIDED, YES, 2)
    c.check()


def test_a_copied_commitment_cannot_be_revealed_by_the_copier(c):
    """The commitment binds the identity: B copying A's commitment cannot reveal A's option with A's salt."""
    public_ballot(c, reveal=30 * SECOND)
    copied = rec.vote_commitment(ballot_id(1), IDS[0], YES, SALT)
    assert c.send(A, "agora.commit", (ballot_id(1), copied)) == Code.OK
    assert c.send(B, "agora.commit", (ballot_id(1), copied)) == Code.OK
    c.block([], c.ballot(1).closes_ms)
    assert reveal(c, A, YES) == Code.OK
    assert reveal(c, B, YES) == Code.REVEAL_MISMATCH


# --- the stored tally and the auditor's recount ---------------------------------------------


def test_the_stored_tally_equals_the_recount_and_a_forged_one_is_caught(c):
    public_ballot(c)
    for key, option in ((A, YES), (B, YES), (TRIO[0], NO), (TRIO[1], YES)):
        assert c.vote(1, key, option) == Code.OK
    close(c)
    assert c.ballot(1).counts == (3, 0, 0) and c.ballot(1).outcome == YES
    c.check()
    forged = dict(c.state.items)
    forged[rec.ballot_key(ballot_id(1))] = c.ballot(1)._replace(counts=(2, 1, 0)).encode()
    with pytest.raises(InvariantBroken, match="recount"):
        check_agora(_reader(forged), _scan(forged))
    forged = dict(c.state.items)
    forged[rec.vote_key(ballot_id(1), IDS[2])] = rec.Vote(NO, None, C.pubkey, 1).encode()
    with pytest.raises(InvariantBroken, match="recount"):
        check_agora(_reader(forged), _scan(forged))


def test_a_forged_outcome_is_caught(c):
    public_ballot(c)
    assert c.vote(1, A, YES) == Code.OK
    close(c)
    forged = dict(c.state.items)
    forged[rec.ballot_key(ballot_id(1))] = c.ballot(1)._replace(status=rec.DECIDED, outcome=YES).encode()
    with pytest.raises(InvariantBroken, match="outcome"):
        check_agora(_reader(forged), _scan(forged))


def _reader(items: dict):
    return DictState(items)


def _scan(items: dict):
    def scan(prefix: bytes):
        for key in sorted(k for k in items if k.startswith(prefix)):
            yield key, items[key]
    return scan


# --- posts: erasure and hiding keep the hash --------------------------------------------------


def test_erasure_by_the_author_keeps_the_hash_and_the_thread(c):
    assert c.new_proposal(1, COOP, text="Open the library on Sundays") == Code.OK
    assert c.send(B, "agora.comment", (post_id(2), post_id(1), text_hash("I agree"))) == Code.OK
    assert c.send(TRIO[0], "agora.comment", (post_id(3), post_id(2), text_hash("Me too"))) == Code.OK
    assert c.send(A, "agora.erase", (post_id(2),)) == Code.NOT_POST_AUTHOR
    assert c.send(B, "agora.erase", (post_id(2),)) == Code.OK
    erased = c.post(2)
    assert erased.status == rec.ERASED and erased.text_hash == text_hash("I agree")
    assert c.post(3).parent == post_id(2), "the reply keeps its place in the thread"
    assert c.send(A, "agora.comment", (post_id(4), post_id(2), text_hash("?"))) == Code.POST_NOT_VISIBLE
    assert c.send(B, "agora.erase", (post_id(2),)) == Code.POST_NOT_VISIBLE
    c.check()


def test_hiding_by_a_moderator_carries_a_visible_reason_and_keeps_the_hash(c):
    assert c.new_proposal(1, COOP) == Code.OK
    assert c.send(B, "agora.comment", (post_id(2), post_id(1), text_hash("insult"))) == Code.OK
    assert c.send(A, "agora.hide", (post_id(2), "offensive")) == Code.NOT_MODERATOR
    assert c.send(MODERATOR, "agora.hide", (post_id(2), "offensive")) == Code.OK
    hidden = c.post(2)
    assert (hidden.status, hidden.reason, hidden.text_hash) == (rec.HIDDEN, "offensive", text_hash("insult"))
    assert c.send(MODERATOR, "agora.hide", (post_id(2), "again")) == Code.POST_NOT_VISIBLE
    assert c.send(B, "agora.erase", (post_id(2),)) == Code.OK, "the author may still erase a hidden post"
    assert (c.post(2).status, c.post(2).reason) == (rec.ERASED, "offensive")
    c.check()


def test_an_erased_proposal_keeps_its_decided_ballot(c):
    public_ballot(c)
    assert c.vote(1, A, YES) == Code.OK and c.vote(1, B, YES) == Code.OK
    assert c.send(A, "agora.erase", (post_id(1),)) == Code.OK
    close(c)
    assert c.ballot(1).outcome == YES and c.post(1).text_hash == text_hash("A bench in the square")
    c.check()


# --- supports -------------------------------------------------------------------------------


def test_support_once_per_identity_whatever_its_keys(c):
    assert c.new_proposal(1, COOP) == Code.OK
    assert c.send(TRIO[0], "agora.support", (post_id(1),)) == Code.OK
    assert c.send(TRIO[1], "agora.support", (post_id(1),)) == Code.ALREADY_SUPPORTED
    assert c.post(1).supports == 1
    assert c.open_ballot(1, 1) == Code.SUPPORTS_NOT_REACHED
    assert c.send(B, "agora.support", (post_id(1),)) == Code.OK
    assert c.open_ballot(1, 1) == Code.OK
    c.check()


def test_supports_are_taken_within_the_window_only(c):
    assert c.new_proposal(1, COOP) == Code.OK
    until = c.post(1).support_until_ms
    assert until == c.time + SUPPORT_WINDOW
    assert c.send(B, "agora.support", (post_id(1),)) == Code.OK
    assert c.block([c.tx(TRIO[0], "agora.support", (post_id(1),))], until).results == (Code.SUPPORT_WINDOW_CLOSED,)


# --- every rule broken once, with its code ----------------------------------------------------


def test_every_rule_of_spaces_posts_and_supports_with_its_code(c):
    assert c.send(A, "agora.space", space_body(bytes(16), "")) == Code.AGORA_NOT_ADMIN
    assert c.send(ADMIN, "agora.space", space_body(COOP, "")) == Code.SPACE_EXISTS
    assert c.send(A, "agora.propose", (post_id(1), bytes(16), text_hash("x"))) == Code.UNKNOWN_SPACE
    assert c.send(C, "agora.propose", (post_id(1), COOP, text_hash("x"))) == Code.NOT_SPACE_ELIGIBLE
    assert c.new_proposal(1, TOWN, key=C) == Code.OK
    assert c.new_proposal(1, TOWN, key=C) == Code.POST_EXISTS
    assert c.send(A, "agora.comment", (post_id(2), post_id(9), text_hash("x"))) == Code.UNKNOWN_POST
    assert c.send(B, "agora.comment", (post_id(2), post_id(1), text_hash("x"))) == Code.NOT_SPACE_ELIGIBLE
    assert c.send(A, "agora.comment", (post_id(2), post_id(1), text_hash("x"))) == Code.OK
    assert c.send(A, "agora.support", (post_id(2),)) == Code.NOT_A_PROPOSAL
    assert c.send(B, "agora.support", (post_id(1),)) == Code.NOT_SPACE_ELIGIBLE
    assert c.send(A, "agora.support", (post_id(1),)) == Code.OK
    assert c.send(A, "agora.support", (post_id(1),)) == Code.ALREADY_SUPPORTED
    assert c.send(B, "agora.erase", (post_id(9),)) == Code.UNKNOWN_POST
    assert c.send(MODERATOR, "agora.hide", (post_id(1), "spam")) == Code.OK
    assert c.send(C, "agora.support", (post_id(1),)) == Code.POST_NOT_VISIBLE
    c.check()


def test_every_rule_of_ballots_with_its_code(c):
    ready(c)
    assert c.send(A, "agora.comment", (post_id(2), post_id(1), text_hash("x"))) == Code.OK
    assert c.open_ballot(1, 9) == Code.UNKNOWN_POST
    assert c.open_ballot(1, 2) == Code.NOT_A_PROPOSAL
    assert c.open_ballot(1, 1, key=B) == Code.NOT_MODERATOR, "neither a moderator nor the author"
    assert c.open_ballot(1, 1, key=A) == Code.OK, "the author may open it"
    assert c.open_ballot(1, 1) == Code.BALLOT_EXISTS, "the id is taken"
    assert c.open_ballot(2, 1) == Code.BALLOT_EXISTS, "the proposal has its ballot"
    assert c.new_proposal(3, COOP) == Code.OK
    c.supported(3, (A, B))
    past = (ballot_id(3), post_id(3), YES_NO, c.time - 2 * SECOND, c.time - SECOND, 0)
    assert c.send(MODERATOR, "agora.ballot", past) == Code.BALLOT_WINDOW
    assert c.send(A, "agora.vote", (ballot_id(9), YES)) == Code.UNKNOWN_BALLOT
    assert c.vote(1, A, 3) == Code.UNKNOWN_OPTION
    assert c.send(A, "agora.commit", (ballot_id(1), bytes(32))) == Code.WRONG_BALLOT_MODE
    assert c.send(A, "agora.reveal", (ballot_id(1), YES, SALT)) == Code.WRONG_BALLOT_MODE
    assert c.send(MODERATOR, "agora.hide", (post_id(3), "duplicate")) == Code.OK
    assert c.open_ballot(3, 3) == Code.POST_NOT_VISIBLE
    c.check()


def test_a_suspended_author_may_not_open_a_ballot_on_its_proposal(c):
    ready(c)
    assert c.send(REGISTRAR, "identity.set_status", (IDS[0], "suspended")) == Code.OK
    assert c.open_ballot(1, 1, key=A) == Code.NOT_SPACE_ELIGIBLE


@pytest.mark.parametrize(("type_", "body", "field"), [
    ("agora.space", (bytes(15), "n", "", (), 1, 1, 500, 500), "space_id"),
    ("agora.space", (bytes(16), "", "", (), 1, 1, 500, 500), "name"),
    ("agora.space", (bytes(16), "n", "member:*", (), 1, 1, 500, 500), "eligibility"),
    ("agora.space", (bytes(16), "n", "", (bytes([2]) * 32, bytes([1]) * 32), 1, 1, 500, 500), "moderators"),
    ("agora.space", (bytes(16), "n", "", (), 1, 1, 1001, 500), "quorum_permille"),
    ("agora.space", (bytes(16), "n", "", (), 1, 1, 500, -1), "pass_permille"),
    ("agora.propose", (post_id(1), COOP, bytes(31)), "text_hash"),
    ("agora.comment", (post_id(1), COOP), "3 fields"),
    ("agora.hide", (post_id(1), ""), "reason"),
    ("agora.hide", (post_id(1), "x" * 201), "reason"),
    ("agora.ballot", (ballot_id(1), post_id(1), ("yes",), 0, 1, 0), "options"),
    ("agora.ballot", (ballot_id(1), post_id(1), ("yes", "yes"), 0, 1, 0), "twice"),
    ("agora.ballot", (ballot_id(1), post_id(1), ("yes", "no"), 5, 5, 0), "closes_ms"),
    ("agora.ballot", (ballot_id(1), post_id(1), ("yes", "no"), 0, 5, 5), "reveal_until_ms"),
    ("agora.vote", (ballot_id(1), 16), "option"),
    ("agora.vote", (ballot_id(1), True), "option"),
    ("agora.commit", (ballot_id(1), bytes(31)), "commitment"),
    ("agora.reveal", (ballot_id(1), 0, bytes(31)), "salt"),
])
def test_a_malformed_body_never_enters_a_block(c, type_, body, field):
    with pytest.raises(TxError, match=field) as caught:
        RULES.parse(type_, body)
    assert caught.value.code == Code.MALFORMED


# --- the end-of-block step, carried over --------------------------------------------------


def test_a_ballot_whose_opening_and_closing_both_pass_between_blocks_is_opened_then_tallied(c):
    ready(c)
    assert c.open_ballot(1, 1, opens=c.time + 10 * SECOND, closes=20 * SECOND) == Code.OK
    close(c)
    ballot = c.ballot(1)
    assert (ballot.status, ballot.eligible, ballot.cast) == (rec.FAILED, 3, 0)
    assert [e.code for e in c.last_outcome.effects] == [Code.OK, Code.OK]
    c.check()


def test_identity_counters_follow_registration_status_erasure_and_attestations(c):
    count = lambda key: decode(c.state.get(key)) if c.state.get(key) is not None else 0  # noqa: E731
    assert count(ACTIVE_COUNT_KEY) == 5 and count(attribute_count_key("member:coop-a")) == 3
    assert c.send(REGISTRAR, "identity.set_status", (IDS[3], "suspended")) == Code.OK
    assert c.send(REGISTRAR, "identity.set_status", (IDS[3], "suspended")) == Code.OK
    assert count(ACTIVE_COUNT_KEY) == 4
    assert c.send(REGISTRAR, "identity.erase", (IDS[2],)) == Code.OK
    assert count(ACTIVE_COUNT_KEY) == 3
    assert c.send(ATTESTER, "attest.issue", (IDS[0], "member:coop-a", 0)) == Code.OK  # a renewal: no new record
    assert count(attribute_count_key("member:coop-a")) == 3
    for i in (0, 1):
        assert c.send(ATTESTER, "attest.revoke", (IDS[i], "member:coop-a")) == Code.OK
    assert count(attribute_count_key("member:coop-a")) == 1
    c.check()
    forged = dict(c.state.items)
    forged[ACTIVE_COUNT_KEY] = encode(7)
    with pytest.raises(InvariantBroken, match="counters"):
        check_identities(_reader(forged), _scan(forged))


# --- what the chain holds, and what opening a ballot costs ------------------------------------


def test_only_the_hash_of_a_text_reaches_the_chain(c):
    text = "Riapriamo la biblioteca di quartiere la domenica"
    block = c.block([c.tx(A, "agora.propose", (post_id(1), COOP, text_hash(text)))])
    assert block.results == (Code.OK,)
    raw = encode_raw_block(block, certificate(block, CHAIN_ID, [VALIDATOR]))
    assert text_hash(text) in raw, "the author's transaction in the block carries the hash"
    assert text.encode() not in raw and all(text.encode() not in v for v in c.state.items.values())
    assert c.post(1).text_hash == text_hash(text)


class CountingState:
    """A state reader that counts its gets and range reads (what the transition may not do: scan)."""

    def __init__(self, items: dict):
        self.inner = DictState(items)
        self.gets = 0
        self.ranges = 0

    def get(self, key: bytes):
        self.gets += 1
        return self.inner.get(key)

    def range(self, start: bytes, end: bytes):
        self.ranges += 1
        return self.inner.range(start, end)


def opening_reads(c: AgoraChain, n: int) -> tuple[int, int, int]:
    """(gets, range reads, electorate) of opening a ballot on a fresh supported proposal n."""
    ready(c, n)
    counting = CountingState(dict(c.state.items))
    ctx = ExecContext(Overlay(counting), CHAIN_ID, c.height + 1, c.time + SECOND, MODERATOR.pubkey, RULES, [])
    body = RULES.parse("agora.ballot", (ballot_id(n), post_id(n), YES_NO, c.time + SECOND, c.time + 60 * SECOND, 0))
    RULES.tx_type("agora.ballot").execute(ctx, body)
    return counting.gets, counting.ranges, rec.get_ballot(ctx.state, ballot_id(n)).eligible


def test_opening_a_ballot_reads_a_fixed_number_of_records_whatever_the_membership(c):
    """The electorate is one counter (FORMAT.md §6.7): 3 members or 43, the same reads and no scan."""
    few = opening_reads(c, 1)
    ids = [bytes([0xE0, i]) + bytes(14) for i in range(40)]
    keys = [SigningKey(bytes([0x90 + i]) + bytes(31)) for i in range(40)]
    c.block([c.tx(REGISTRAR, "identity.register", (ids[i], "person", bytes([0xD0, i]) + bytes(30), bytes(32),
                                                   (keys[i].pubkey,)), nonce=c.nonce(REGISTRAR) + i)
             for i in range(40)])
    c.block([c.tx(ATTESTER, "attest.issue", (ids[i], "member:coop-a", 0), nonce=c.nonce(ATTESTER) + i)
             for i in range(40)])
    many = opening_reads(c, 2)
    assert few[2] == 3 and many[2] == 43
    assert few[:2] == many[:2] and few[1] == 0, (few, many)
    c.check()
