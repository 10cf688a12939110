"""The vote keeper: counting signed votes of one height, thresholds, the f+1 skip, and evidence.

Thresholds by distinct validators (docs/consensus.md, "Terms"): 2f+1 means more than
two thirds, floor(2n/3) + 1; f+1 means more than one third, floor(n/3) + 1.
Validator `i` is `SigningKey(bytes([i]) * 32)`; votes are really signed.
"""

from __future__ import annotations

import functools

import pytest

from ledger.chain import quorum
from ledger.crypto import SigningKey, sha256
from ledger.votes import PRECOMMIT, PREVOTE, Vote, check_evidence, make_evidence, sign_vote
from node.consensus.votekeeper import VoteKeeper, one_third_plus

CHAIN = "keeper-test"
H = 7
V = sha256(b"block v")
W = sha256(b"block w")


@functools.cache
def key(seed: int) -> SigningKey:
    return SigningKey(bytes([seed]) * 32)


def pub(seed: int) -> bytes:
    return key(seed).pubkey


FOUR = tuple(pub(s) for s in (1, 2, 3, 4))


@functools.cache
def vote(vote_type: int, r: int, value: bytes | None, seed: int, h: int = H) -> Vote:
    return sign_vote(key(seed), CHAIN, vote_type, h, r, value)


def keeper(validators=FOUR) -> VoteKeeper:
    return VoteKeeper(validators, H)


# --- thresholds --------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 32))
def test_thresholds_are_more_than_two_thirds_and_more_than_one_third(n):
    """2f+1 = the least count strictly above 2n/3; f+1 = the least count strictly above n/3 (by brute force)."""
    assert quorum(n) == min(q for q in range(n + 1) if 3 * q > 2 * n)
    assert one_third_plus(n) == min(t for t in range(n + 1) if 3 * t > n)
    assert keeper(tuple(pub(s) for s in range(1, n + 1))).quorum == quorum(n)


def test_thresholds_for_the_sizes_we_run():
    """n = 1: 1 and 1; n = 4 (f = 1): quorum 3, skip 2; n = 7 (f = 2): 5 and 3."""
    assert [(quorum(n), one_third_plus(n)) for n in (1, 4, 7)] == [(1, 1), (3, 2), (5, 3)]
    k = keeper()
    assert (k.quorum, k.skip_threshold) == (3, 2)


# --- counting --------------------------------------------------------------------------


def test_counts_per_round_type_and_value():
    """Each counted vote adds one to its (round, type, value); totals are distinct validators per (round, type)."""
    k = keeper()
    for v in (vote(PREVOTE, 0, V, 1), vote(PREVOTE, 0, V, 2), vote(PREVOTE, 0, None, 3), vote(PRECOMMIT, 0, V, 4),
              vote(PREVOTE, 1, W, 4)):
        assert k.add(v) == (True, None)
    assert (k.count(0, PREVOTE, V), k.count(0, PREVOTE, None), k.count(0, PREVOTE, W)) == (2, 1, 0)
    assert (k.total(0, PREVOTE), k.total(0, PRECOMMIT), k.total(1, PREVOTE), k.total(2, PREVOTE)) == (3, 1, 1, 0)
    assert k.count(0, PRECOMMIT, V) == 1 and k.count(1, PREVOTE, W) == 1


def test_quorum_for_a_value_and_for_anything():
    """has_quorum_for needs 3 of 4 for the value itself; has_quorum_any needs 3 of 4 of any values (L34, L47)."""
    k = keeper()
    k.add(vote(PREVOTE, 0, V, 1))
    k.add(vote(PREVOTE, 0, V, 2))
    assert not k.has_quorum_for(0, PREVOTE, V) and not k.has_quorum_any(0, PREVOTE)
    k.add(vote(PREVOTE, 0, None, 3))
    assert not k.has_quorum_for(0, PREVOTE, V) and k.has_quorum_any(0, PREVOTE)
    assert not k.has_quorum_for(0, PREVOTE, None)
    k.add(vote(PREVOTE, 0, V, 4))
    assert k.has_quorum_for(0, PREVOTE, V)
    assert not k.has_quorum_any(0, PRECOMMIT) and not k.has_quorum_for(1, PREVOTE, V)


def test_nil_quorum():
    """L44: three nil prevotes are a quorum for nil."""
    k = keeper()
    for s in (1, 2, 3):
        k.add(vote(PREVOTE, 2, None, s))
    assert k.has_quorum_for(2, PREVOTE, None) and not k.has_quorum_for(2, PREVOTE, V)


def test_prevotes_and_precommits_are_counted_apart():
    """A precommit never counts toward a prevote quorum, nor the other way round."""
    k = keeper()
    for s in (1, 2):
        k.add(vote(PREVOTE, 0, V, s))
    k.add(vote(PRECOMMIT, 0, V, 3))
    assert not k.has_quorum_for(0, PREVOTE, V) and not k.has_quorum_for(0, PRECOMMIT, V)


def test_votes_of_another_height_are_not_counted():
    """The keeper serves one height: a vote signed for h+1 or h-1 is refused (the driver buffers the next height)."""
    k = keeper()
    assert k.add(vote(PREVOTE, 0, V, 1, h=H + 1)) == (False, None)
    assert k.add(vote(PREVOTE, 0, V, 2, h=H - 1)) == (False, None)
    assert k.count(0, PREVOTE, V) == 0 and k.total(0, PREVOTE) == 0
    assert k.highest_skip_round() == -1


def test_votes_of_non_validators_are_not_counted():
    """Only this height's validators count: a well-signed vote by key 9 is refused, and does not help skip rounds."""
    k = keeper()
    assert k.add(vote(PREVOTE, 3, V, 9)) == (False, None)
    k.add(vote(PREVOTE, 3, V, 1))
    assert k.count(3, PREVOTE, V) == 1
    assert k.highest_skip_round() == -1


def test_an_identical_repeat_is_ignored():
    """The same vote again (gossip repeats votes) is neither counted nor evidence."""
    k = keeper()
    assert k.add(vote(PREVOTE, 0, V, 1)) == (True, None)
    assert k.add(vote(PREVOTE, 0, V, 1)) == (False, None)
    assert k.add(vote(PREVOTE, 0, None, 2)) == (True, None)
    assert k.add(vote(PREVOTE, 0, None, 2)) == (False, None)
    assert (k.count(0, PREVOTE, V), k.count(0, PREVOTE, None), k.total(0, PREVOTE)) == (1, 1, 2)
    assert k.evidence == []


# --- evidence ----------------------------------------------------------------------------


def test_a_conflicting_vote_is_evidence_and_not_counted():
    """docs/consensus.md, "Evidence": a second, different vote for one (round, type) returns (first, second), is kept as
    evidence, and is not counted, so one validator cannot make a quorum by voting twice."""
    k = keeper()
    first, second = vote(PREVOTE, 0, V, 1), vote(PREVOTE, 0, W, 1)
    assert k.add(first) == (True, None)
    assert k.add(second) == (False, (first, second))
    assert k.evidence == [(first, second)]
    assert (k.count(0, PREVOTE, V), k.count(0, PREVOTE, W), k.total(0, PREVOTE)) == (1, 0, 1)
    k.add(vote(PREVOTE, 0, W, 2))
    k.add(vote(PREVOTE, 0, W, 3))
    assert not k.has_quorum_for(0, PREVOTE, W)
    assert k.prevotes_for(0, V) == [first]


def test_nil_against_a_value_is_evidence():
    """A nil vote and a value vote for the same (round, type) conflict too, in either order."""
    k = keeper()
    nil, value = vote(PRECOMMIT, 1, None, 2), vote(PRECOMMIT, 1, V, 2)
    k.add(nil)
    assert k.add(value) == (False, (nil, value))
    k2 = keeper()
    k2.add(value)
    assert k2.add(nil) == (False, (value, nil))


def test_each_further_conflicting_vote_is_evidence_against_the_counted_one():
    """A third value by the same validator pairs with the first (counted) vote; a repeat of a conflicting vote adds a
    pair again (the driver reports each; the ledger records one per offence)."""
    k = keeper()
    a, b, c = vote(PREVOTE, 0, V, 4), vote(PREVOTE, 0, W, 4), vote(PREVOTE, 0, None, 4)
    k.add(a)
    assert k.add(b) == (False, (a, b))
    assert k.add(c) == (False, (a, c))
    assert k.evidence == [(a, b), (a, c)]
    assert k.count(0, PREVOTE, V) == 1


def test_evidence_pairs_are_checkable_by_the_ledger():
    """The keeper's pair, in canonical order, passes the ledger's evidence rule (FORMAT.md 13.3) with real signatures."""
    k = keeper()
    k.add(vote(PRECOMMIT, 2, V, 3))
    _, pair = k.add(vote(PRECOMMIT, 2, W, 3))
    check_evidence(*make_evidence(*pair), CHAIN, FOUR)


def test_different_rounds_or_types_are_not_evidence():
    """Evidence is the same (height, round, type): a validator's prevote and precommit, or two rounds, are normal."""
    k = keeper()
    assert k.add(vote(PREVOTE, 0, V, 1)) == (True, None)
    assert k.add(vote(PRECOMMIT, 0, W, 1)) == (True, None)
    assert k.add(vote(PREVOTE, 1, None, 1)) == (True, None)
    assert k.evidence == []


# --- the f+1 skip (L55) --------------------------------------------------------------------


def test_skip_round_needs_f_plus_1_distinct_senders():
    """L55: one validator of round 3 is not enough (even with two votes); a second distinct validator is."""
    k = keeper()
    assert k.highest_skip_round() == -1
    k.add(vote(PREVOTE, 3, V, 1))
    k.add(vote(PRECOMMIT, 3, V, 1))
    assert k.highest_skip_round() == -1
    k.add(vote(PRECOMMIT, 3, None, 2))
    assert k.highest_skip_round() == 3


def test_skip_round_is_the_highest_such_round():
    """L55: with f+1 senders in rounds 2 and 5, the highest is 5; a round with one sender does not count."""
    k = keeper()
    for s in (1, 2):
        k.add(vote(PREVOTE, 5, None, s))
        k.add(vote(PREVOTE, 2, None, s))
    k.add(vote(PREVOTE, 9, None, 3))
    assert k.highest_skip_round() == 5


def test_a_proposal_counts_as_a_message_for_the_skip():
    """L55 `messages of any type`: the proposer's proposal and another validator's vote make f+1."""
    k = keeper()
    k.saw_proposal(4, pub(1))
    assert k.highest_skip_round() == -1
    k.add(vote(PREVOTE, 4, V, 1))  # the same validator: still one sender
    assert k.highest_skip_round() == -1
    k.add(vote(PREVOTE, 4, V, 2))
    assert k.highest_skip_round() == 4


def test_a_non_validators_proposal_does_not_count():
    """L55 counts the validators of the height only."""
    k = keeper()
    k.saw_proposal(4, pub(9))
    k.add(vote(PREVOTE, 4, V, 2))
    assert k.highest_skip_round() == -1


def test_an_equivocating_vote_still_makes_its_validator_a_sender_once():
    """Equivocation adds no sender: the validator is already one from its first vote."""
    k = keeper()
    k.add(vote(PREVOTE, 6, V, 3))
    k.add(vote(PREVOTE, 6, W, 3))
    assert k.highest_skip_round() == -1


# --- reading votes back ------------------------------------------------------------------


def test_votes_for_a_value_are_the_counted_ones_ordered_by_validator_key():
    """The certificate (L49) is built from precommits_for: only that value, only first votes, by key ascending."""
    k = keeper()
    for s in sorted((1, 2, 3, 4), key=pub, reverse=True):
        k.add(vote(PRECOMMIT, 1, V if s != 2 else None, s))
    k.add(vote(PRECOMMIT, 1, V, 2))  # conflicting: not counted
    k.add(vote(PRECOMMIT, 0, V, 2))  # another round
    got = k.precommits_for(1, V)
    assert got == sorted((vote(PRECOMMIT, 1, V, s) for s in (1, 3, 4)), key=lambda v: v.validator)
    assert k.votes(1, PRECOMMIT, None) == [vote(PRECOMMIT, 1, None, 2)]
    assert k.prevotes_for(1, V) == []


def test_quorum_values_lists_each_round_value_with_a_quorum():
    """Every (round, value) with a quorum of the type, rounds ascending; nil included."""
    k = keeper()
    for s in (1, 2, 3):
        k.add(vote(PRECOMMIT, 2, W, s))
        k.add(vote(PRECOMMIT, 0, None, s))
        k.add(vote(PREVOTE, 1, V, s))
    k.add(vote(PRECOMMIT, 1, V, 4))
    assert k.quorum_values(PRECOMMIT) == [(0, None), (2, W)]
    assert k.quorum_values(PREVOTE) == [(1, V)]


def test_all_votes_by_round_type_then_key():
    """all_votes returns every counted vote, grouped by (round, type), validators by key; conflicting votes excluded."""
    k = keeper()
    added = [vote(PRECOMMIT, 1, V, 3), vote(PREVOTE, 1, V, 2), vote(PREVOTE, 0, W, 4), vote(PREVOTE, 0, None, 1)]
    for v in added:
        k.add(v)
    k.add(vote(PREVOTE, 0, V, 4))
    expected = sorted(added, key=lambda v: (v.round, v.type, v.validator))
    assert k.all_votes() == expected
