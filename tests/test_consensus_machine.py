"""The per-height consensus machine against Tendermint's Algorithm 1, rule by rule.

Each test feeds a scripted sequence of events into `Machine.step` and checks the
exact actions it returns and the state it leaves (round, step, lock, valid
value). The `Lnn` labels are the line numbers of Algorithm 1 in "The latest
gossip on BFT consensus" (Buchman, Kwon, Milosevic 2018), as restated in
docs/consensus.md, "The rules, line by line".

Votes are real Ed25519-signed votes (`ledger.votes.sign_vote`); validator `i`
is `SigningKey(bytes([i]) * 32)`, and the four-validator set is seeds 1..4 in
that order, so proposer(h, r) = seed (h + r) mod 4 + 1. With H = 1:
round 0 -> 2, round 1 -> 3, round 2 -> 4, round 3 -> 1, round 4 -> 2.
n = 4: quorum (2f+1) is 3, the skip threshold (f+1) is 2.
"""

from __future__ import annotations

import functools
from collections import deque

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.crypto import SigningKey, sha256
from ledger.votes import PRECOMMIT, PREVOTE, Vote, sign_vote
from node.consensus.machine import (
    CastVote,
    Decide,
    Equivocation,
    Machine,
    ProposalIn,
    Propose,
    ScheduleTimeout,
    Start,
    Step,
    Timeout,
    VoteIn,
)

CHAIN = "machine-test"
H = 1
V = sha256(b"block v")
W = sha256(b"block w")


@functools.cache
def key(seed: int) -> SigningKey:
    return SigningKey(bytes([seed]) * 32)


def pub(seed: int) -> bytes:
    return key(seed).pubkey


FOUR = tuple(pub(s) for s in (1, 2, 3, 4))
ONE = (pub(1),)


def proposer_seed(h: int, r: int, n: int = 4) -> int:
    """docs/consensus.md, "Terms": proposer(h, r) = validators[(h + r) mod n]; validators are seeds 1..n."""
    return (h + r) % n + 1


@functools.cache
def vote(vote_type: int, r: int, value: bytes | None, seed: int, h: int = H) -> Vote:
    return sign_vote(key(seed), CHAIN, vote_type, h, r, value)


# --- scripting helpers -----------------------------------------------------------------


def new(me: int | None, *, validators=FOUR, h: int = H, start: int | None = 0, locked=None):
    """A machine for validator seed `me` (None: a follower); started at round `start` unless None."""
    m = Machine(h, validators, None if me is None else pub(me), locked)
    actions = m.step(Start(start)) if start is not None else []
    return m, actions


def feed(m: Machine, events) -> list:
    out = []
    for event in events:
        out.extend(m.step(event))
    return out


def prevotes(m: Machine, r: int, value: bytes | None, by=(1, 2, 3), h: int | None = None) -> list:
    return feed(m, [VoteIn(vote(PREVOTE, r, value, s, m.height if h is None else h)) for s in by])


def precommits(m: Machine, r: int, value: bytes | None, by=(1, 2, 3), h: int | None = None) -> list:
    return feed(m, [VoteIn(vote(PRECOMMIT, r, value, s, m.height if h is None else h)) for s in by])


def proposal(m: Machine, r: int, value: bytes, pol_round: int = -1, valid: bool = True, by: int | None = None):
    seed = proposer_seed(m.height, r, len(m.validators)) if by is None else by
    return m.step(ProposalIn(r, value, pol_round, valid, pub(seed)))


def where(m: Machine):
    """(round, step, locked_value, locked_round, valid_value, valid_round)."""
    s = m.state
    return (s.round, s.step, s.locked_value, s.locked_round, s.valid_value, s.valid_round)


def others(me: int, n: int = 4) -> tuple[int, ...]:
    return tuple(s for s in range(1, n + 1) if s != me)


def lock(m: Machine, me: int, value: bytes, r: int) -> None:
    """Drive `m` (in round r, step propose) through L22 and L36 to a lock on `value` at round r."""
    assert proposal(m, r, value) == [CastVote(PREVOTE, r, value)]
    assert prevotes(m, r, value, by=(me, *others(me)[:2])) == [
        ScheduleTimeout(Step.PREVOTE, r),
        CastVote(PRECOMMIT, r, value),
    ]
    assert (m.state.locked_value, m.state.locked_round) == (value, r)


def next_round(m: Machine, me: int) -> list:
    """The others precommit nil (L47 schedules the timeout); the precommit timeout fires (L65)."""
    r = m.state.round
    assert precommits(m, r, None, by=others(me)) == [ScheduleTimeout(Step.PRECOMMIT, r)]
    return m.step(Timeout(Step.PRECOMMIT, r))


# --- L10-L21: start of a round --------------------------------------------------------


def test_l11_proposer_of_round_0_proposes_a_new_block():
    """L10, L11-L19: the proposer of (h, 0) with no valid value proposes a new block (None) with valid round -1."""
    m, actions = new(me=2)
    assert actions == [Propose(0, None, -1)]
    assert where(m) == (0, Step.PROPOSE, None, -1, None, -1)


def test_l21_non_proposer_schedules_the_propose_timeout():
    """L11, L21: a validator that is not proposer(h, r) schedules OnTimeoutPropose(h, r) and proposes nothing."""
    for me in (1, 3, 4):
        m, actions = new(me=me)
        assert actions == [ScheduleTimeout(Step.PROPOSE, 0)]
        assert where(m) == (0, Step.PROPOSE, None, -1, None, -1)


def test_l11_proposer_rotates_as_validators_h_plus_r_mod_n():
    """L11: proposer(h, r) = validators[(h + r) mod n], for several heights and rounds, exactly one proposer each."""
    for h in (0, 1, 2, 7):
        for r in (0, 1, 2, 3, 5):
            proposers = []
            for me in (1, 2, 3, 4):
                _, actions = new(me=me, h=h, start=r)
                if actions == [Propose(r, None, -1)]:
                    proposers.append(me)
                else:
                    assert actions == [ScheduleTimeout(Step.PROPOSE, r)]
            assert proposers == [proposer_seed(h, r)], (h, r)


def test_l11_follower_never_proposes():
    """L21: a node that only follows (no key) schedules the propose timeout even where a proposer would propose."""
    m, actions = new(me=None)
    assert actions == [ScheduleTimeout(Step.PROPOSE, 0)]


def test_l10_start_is_applied_once():
    """L10: `upon start` happens once per height; a second Start does not restart the round."""
    m, _ = new(me=1)
    assert m.step(Timeout(Step.PROPOSE, 0)) == [CastVote(PREVOTE, 0, None)]
    assert m.step(Start(0)) == []
    assert where(m)[:2] == (0, Step.PREVOTE)


def test_l15_proposer_re_proposes_its_locked_valid_value_with_its_valid_round():
    """L14-L16: locked (hence valid) on V at round 0, the proposer of round 1 proposes V with valid round 0."""
    me = proposer_seed(H, 1)  # 3
    m, actions = new(me=me)
    assert actions == [ScheduleTimeout(Step.PROPOSE, 0)]
    lock(m, me, V, 0)
    assert next_round(m, me) == [Propose(1, V, 0)]
    assert where(m) == (1, Step.PROPOSE, V, 0, V, 0)


def test_l15_proposer_re_proposes_a_valid_value_it_is_not_locked_on():
    """L14-L16 with L42-L43: a valid value set while already in precommit (no lock) is still re-proposed with its round."""
    me = proposer_seed(H, 1)  # 3
    m, _ = new(me=me)
    assert proposal(m, 0, V) == [CastVote(PREVOTE, 0, V)]
    assert prevotes(m, 0, V, by=(1, 2)) == []
    assert prevotes(m, 0, None, by=(3,)) == [ScheduleTimeout(Step.PREVOTE, 0)]
    assert m.step(Timeout(Step.PREVOTE, 0)) == [CastVote(PRECOMMIT, 0, None)]
    assert prevotes(m, 0, V, by=(4,)) == []
    assert where(m) == (0, Step.PRECOMMIT, None, -1, V, 0)
    assert next_round(m, me) == [Propose(1, V, 0)]


def test_l15_restored_lock_is_re_proposed_after_a_restart():
    """L14-L16: a validator restarted with its lock (V, 0) from the sign-state re-proposes V with round 0 when it proposes."""
    me = proposer_seed(H, 2)  # 4
    m, actions = new(me=me, start=2, locked=(0, V))
    assert actions == [Propose(2, V, 0)]


def test_l10_resumed_after_its_prevote_waits_in_step_prevote_and_locks_on_a_polka():
    """L10 after a restart (docs/consensus.md, "Never signing twice"): the sign-state holds this
    validator's prevote for V in round 2. It resumes in round 2 at step prevote, its prevote counted, and
    sends nothing new; the others' prevotes and the proposal (sent again) complete L36: it precommits V."""
    me = 1
    m = Machine(H, FOUR, pub(me))
    assert m.step(VoteIn(vote(PREVOTE, 2, V, me))) == []  # its own prevote, before Start
    assert m.step(Start(2, Step.PREVOTE)) == []
    assert where(m) == (2, Step.PREVOTE, None, -1, None, -1)
    assert proposal(m, 2, V) == []  # L22 is for step propose only: no second prevote
    assert prevotes(m, 2, V, by=(2, 3)) == [ScheduleTimeout(Step.PREVOTE, 2), CastVote(PRECOMMIT, 2, V)]
    assert where(m) == (2, Step.PRECOMMIT, V, 2, V, 2)


def test_l10_resumed_after_its_prevote_without_the_proposal_precommits_nil_on_the_timeout():
    """L34, L61 after a restart: the proposal died with the process and nobody sends it again; a prevote
    quorum still schedules the prevote timeout, and its precommit nil lets the others' L47 fire."""
    m = Machine(H, FOUR, pub(1))
    m.step(VoteIn(vote(PREVOTE, 0, V, 1)))
    assert m.step(Start(0, Step.PREVOTE)) == []
    assert prevotes(m, 0, V, by=(2, 3)) == [ScheduleTimeout(Step.PREVOTE, 0)]
    assert m.step(Timeout(Step.PREVOTE, 0)) == [CastVote(PRECOMMIT, 0, None)]


def test_l10_resumed_after_its_precommit_decides_with_the_others_precommits():
    """L49 after a restart: resumed in round 0 at step precommit with its own precommit for V counted,
    the proposal and two more precommits decide V; nothing is signed again."""
    m = Machine(H, FOUR, pub(1), locked=(0, V))
    m.step(VoteIn(vote(PRECOMMIT, 0, V, 1)))
    assert m.step(Start(0, Step.PRECOMMIT)) == []
    assert proposal(m, 0, V) == []
    actions = precommits(m, 0, V, by=(2, 3))
    assert actions[-1] == Decide(0, V, _certificate(0, V, (1, 2, 3)))
    assert not any(isinstance(a, CastVote) for a in actions)


def test_l10_resumed_after_its_proposal_proposes_again_and_the_driver_decides_what():
    """L11-L19: a proposer resumed at step propose of the round it proposed in runs StartRound as usual;
    the sign-state lets only the same block through (node/consensus/height.py)."""
    me = proposer_seed(H, 1)
    m = Machine(H, FOUR, pub(me))
    assert m.step(Start(1, Step.PROPOSE)) == [Propose(1, None, -1)]


# --- L22-L27: a fresh proposal ---------------------------------------------------------


def test_l22_valid_proposal_unlocked_prevotes_the_value():
    """L22-L24, L27: a valid proposal with vr = -1 while unlocked: PREVOTE id(v), step prevote."""
    m, _ = new(me=1)
    assert proposal(m, 0, V) == [CastVote(PREVOTE, 0, V)]
    assert where(m) == (0, Step.PREVOTE, None, -1, None, -1)


def test_l22_invalid_proposal_prevotes_nil():
    """L22, L25-L26: an invalid proposal is prevoted nil."""
    m, _ = new(me=1)
    assert proposal(m, 0, V, valid=False) == [CastVote(PREVOTE, 0, None)]
    assert m.state.step is Step.PREVOTE


def test_l22_locked_on_another_value_prevotes_nil():
    """L22, L25-L26: locked on V (round 0), a fresh valid proposal of W in round 1 is prevoted nil."""
    m, _ = new(me=1)
    lock(m, 1, V, 0)
    assert next_round(m, 1) == [ScheduleTimeout(Step.PROPOSE, 1)]
    assert proposal(m, 1, W) == [CastVote(PREVOTE, 1, None)]
    assert where(m) == (1, Step.PREVOTE, V, 0, V, 0)


def test_l22_locked_on_the_same_value_prevotes_it():
    """L22-L24: locked on V, a fresh (vr = -1) proposal of V in a later round is prevoted V."""
    m, _ = new(me=1)
    lock(m, 1, V, 0)
    next_round(m, 1)
    assert proposal(m, 1, V) == [CastVote(PREVOTE, 1, V)]


def test_l22_locked_on_the_same_value_but_invalid_prevotes_nil():
    """L22, L25: valid(v) is required even for the locked value."""
    m, _ = new(me=1)
    lock(m, 1, V, 0)
    next_round(m, 1)
    assert proposal(m, 1, V, valid=False) == [CastVote(PREVOTE, 1, None)]


def test_l22_proposal_from_a_non_proposer_is_ignored():
    """L22: only a PROPOSAL from proposer(h, r) counts; another validator's is dropped (and a later genuine one accepted)."""
    m, _ = new(me=1)
    assert proposal(m, 0, W, by=3) == []
    assert where(m)[:2] == (0, Step.PROPOSE)
    assert proposal(m, 0, V) == [CastVote(PREVOTE, 0, V)]


def test_l22_only_in_propose_step_and_only_once():
    """L22 `while step = propose`: after the propose timeout prevoted nil, a late proposal casts no second prevote."""
    m, _ = new(me=1)
    assert m.step(Timeout(Step.PROPOSE, 0)) == [CastVote(PREVOTE, 0, None)]
    assert proposal(m, 0, V) == []
    assert proposal(m, 0, W) == []  # a second proposal of the round is not considered either
    assert where(m)[:2] == (0, Step.PREVOTE)


def test_l22_proposal_for_a_future_round_waits_for_that_round():
    """L22 is for round_p only: a round-1 proposal received in round 0 is kept and prevoted on entering round 1 (L11)."""
    m, _ = new(me=1)
    assert proposal(m, 1, V) == []
    assert m.state.round == 0
    assert m.step(Timeout(Step.PROPOSE, 0)) == [CastVote(PREVOTE, 0, None)]
    assert m.step(Timeout(Step.PREVOTE, 0)) == [CastVote(PRECOMMIT, 0, None)]
    assert m.step(Timeout(Step.PRECOMMIT, 0)) == [ScheduleTimeout(Step.PROPOSE, 1), CastVote(PREVOTE, 1, V)]


# --- L28-L33: a re-proposed valid value with its polka round ---------------------------


def test_l28_unlocked_prevotes_a_value_with_a_prevote_quorum_at_vr():
    """L28-L30: proposal (r=1, v, vr=0) and 2f+1 PREVOTE(0, id(v)): unlocked (lockedRound -1 <= vr) prevotes v."""
    m, _ = new(me=1, start=1)
    assert prevotes(m, 0, V, by=(2, 3, 4)) == []
    assert proposal(m, 1, V, pol_round=0) == [CastVote(PREVOTE, 1, V)]
    assert m.state.step is Step.PREVOTE


def test_l28_lock_older_than_vr_is_released():
    """L28-L30: locked on W at round 0, a proposal of V with vr = 1 and a prevote quorum at round 1: lockedRound 0 <= 1, prevote V."""
    m, _ = new(me=1)
    lock(m, 1, W, 0)
    next_round(m, 1)
    assert m.step(Timeout(Step.PROPOSE, 1)) == [CastVote(PREVOTE, 1, None)]
    assert prevotes(m, 1, V, by=(2, 3, 4)) == [ScheduleTimeout(Step.PREVOTE, 1)]  # no round-1 proposal seen: no L36
    assert m.step(Timeout(Step.PREVOTE, 1)) == [CastVote(PRECOMMIT, 1, None)]
    assert next_round(m, 1) == [ScheduleTimeout(Step.PROPOSE, 2)]
    assert proposal(m, 2, V, pol_round=1) == [CastVote(PREVOTE, 2, V)]
    assert (m.state.locked_value, m.state.locked_round) == (W, 0)  # L28 only prevotes; L36 moves the lock


def test_l28_lock_at_vr_itself_is_enough():
    """L28 `lockedRound_p <= vr` (not <): restored lock (W, 1) and a quorum for V at vr = 1: prevote V."""
    m, _ = new(me=1, start=2, locked=(1, W))
    assert prevotes(m, 1, V, by=(2, 3, 4)) == []
    assert proposal(m, 2, V, pol_round=1) == [CastVote(PREVOTE, 2, V)]


def test_l28_lock_newer_than_vr_on_another_value_prevotes_nil():
    """L28, L31-L32: locked on W at round 1 > vr = 0, proposal of V with a quorum at round 0: prevote nil."""
    m, _ = new(me=1, start=1)
    assert prevotes(m, 0, V, by=(2, 3, 4)) == []
    lock(m, 1, W, 1)
    assert next_round(m, 1) == [ScheduleTimeout(Step.PROPOSE, 2)]
    assert proposal(m, 2, V, pol_round=0) == [CastVote(PREVOTE, 2, None)]


def test_l28_lock_newer_than_vr_on_the_same_value_prevotes_it():
    """L28-L30 `lockedValue_p = v`: locked on V at round 1, proposal of V with vr = 0 and its quorum: prevote V."""
    m, _ = new(me=1, start=1)
    assert prevotes(m, 0, V, by=(2, 3, 4)) == []
    lock(m, 1, V, 1)
    next_round(m, 1)
    assert proposal(m, 2, V, pol_round=0) == [CastVote(PREVOTE, 2, V)]


def test_l28_invalid_value_prevotes_nil_even_with_the_quorum():
    """L28, L31-L32: valid(v) is required."""
    m, _ = new(me=1, start=1)
    prevotes(m, 0, V, by=(2, 3, 4))
    assert proposal(m, 1, V, pol_round=0, valid=False) == [CastVote(PREVOTE, 1, None)]


def test_l28_without_the_quorum_at_vr_waits_for_the_propose_timeout():
    """L28 needs 2f+1 PREVOTE(vr, id(v)): with only 2 there is no prevote; L57 then prevotes nil."""
    m, _ = new(me=1, start=1)
    assert prevotes(m, 0, V, by=(2, 3)) == []
    assert prevotes(m, 0, W, by=(4,)) == []
    assert proposal(m, 1, V, pol_round=0) == []
    assert where(m)[:2] == (1, Step.PROPOSE)
    assert m.step(Timeout(Step.PROPOSE, 1)) == [CastVote(PREVOTE, 1, None)]


def test_l28_quorum_at_vr_arriving_after_the_proposal_triggers_the_prevote():
    """L28: the rule fires when its last condition becomes true, here the third prevote of round vr."""
    m, _ = new(me=1, start=1)
    assert proposal(m, 1, V, pol_round=0) == []
    assert prevotes(m, 0, V, by=(2, 3)) == []
    assert prevotes(m, 0, V, by=(4,)) == [CastVote(PREVOTE, 1, V)]


def test_l28_quorum_at_another_round_than_vr_does_not_count():
    """L28: the quorum must be at vr; a quorum for v at another earlier round does not satisfy it."""
    m, _ = new(me=1, start=2)
    prevotes(m, 0, V, by=(2, 3, 4))
    assert proposal(m, 2, V, pol_round=1) == []


# --- L34-L35, L61-L64: prevote timeout -------------------------------------------------


def test_l34_mixed_prevote_quorum_schedules_the_prevote_timeout_once():
    """L34-L35: 2f+1 prevotes for mixed values while in prevote step: schedule OnTimeoutPrevote once."""
    m, _ = new(me=1)
    proposal(m, 0, V)
    assert prevotes(m, 0, V, by=(1,)) == []
    assert prevotes(m, 0, None, by=(2,)) == []
    assert prevotes(m, 0, W, by=(3,)) == [ScheduleTimeout(Step.PREVOTE, 0)]
    assert prevotes(m, 0, None, by=(4,)) == []  # the first time only
    assert where(m) == (0, Step.PREVOTE, None, -1, None, -1)


def test_l34_needs_the_prevote_step():
    """L34 `while step = prevote`: a mixed quorum seen in propose step schedules nothing until we prevote (L57)."""
    m, _ = new(me=1)
    assert prevotes(m, 0, V, by=(2,)) + prevotes(m, 0, None, by=(3,)) + prevotes(m, 0, W, by=(4,)) == []
    assert m.step(Timeout(Step.PROPOSE, 0)) == [CastVote(PREVOTE, 0, None), ScheduleTimeout(Step.PREVOTE, 0)]


def test_l34_prevotes_of_another_round_do_not_count():
    """L34 counts PREVOTE(h_p, round_p, *) only."""
    m, _ = new(me=1, start=1)
    m.step(Timeout(Step.PROPOSE, 1))
    assert prevotes(m, 0, None, by=(2, 3, 4)) == []


def test_l61_prevote_timeout_precommits_nil():
    """L61-L64: OnTimeoutPrevote(h, round_p) in prevote step: PRECOMMIT nil, step precommit; the lock is untouched."""
    m, _ = new(me=1)
    proposal(m, 0, V)
    assert prevotes(m, 0, V, by=(1,)) + prevotes(m, 0, None, by=(2,)) + prevotes(m, 0, W, by=(3,)) == [
        ScheduleTimeout(Step.PREVOTE, 0)
    ]
    assert m.step(Timeout(Step.PREVOTE, 0)) == [CastVote(PRECOMMIT, 0, None)]
    assert where(m) == (0, Step.PRECOMMIT, None, -1, None, -1)
    assert m.step(Timeout(Step.PREVOTE, 0)) == []  # step is precommit now


# --- L36-L43: prevote quorum for the proposal ------------------------------------------


def test_l36_polka_while_prevoting_locks_and_precommits_the_value():
    """L36-L43: proposal v valid, 2f+1 PREVOTE(id(v)) in prevote step: lock v, PRECOMMIT v, validValue v (and L34 fires too)."""
    m, _ = new(me=1)
    proposal(m, 0, V)
    assert prevotes(m, 0, V, by=(1, 2)) == []
    assert prevotes(m, 0, V, by=(3,)) == [ScheduleTimeout(Step.PREVOTE, 0), CastVote(PRECOMMIT, 0, V)]
    assert where(m) == (0, Step.PRECOMMIT, V, 0, V, 0)
    assert prevotes(m, 0, V, by=(4,)) == []  # the first time only


def test_l36_polka_in_precommit_step_only_updates_the_valid_value():
    """L36, L42-L43: already in precommit step (after L61), the polka sets validValue/validRound; no vote, lock unchanged."""
    m, _ = new(me=1)
    proposal(m, 0, V)
    assert prevotes(m, 0, V, by=(1, 2)) == []
    assert prevotes(m, 0, None, by=(3,)) == [ScheduleTimeout(Step.PREVOTE, 0)]
    assert m.step(Timeout(Step.PREVOTE, 0)) == [CastVote(PRECOMMIT, 0, None)]
    assert prevotes(m, 0, V, by=(4,)) == []
    assert where(m) == (0, Step.PRECOMMIT, None, -1, V, 0)


def test_l36_keeps_an_older_lock_when_in_precommit_step():
    """L36-L43: locked on W at round 0; in round 1 a polka for V after precommitting nil moves validValue only."""
    m, _ = new(me=1)
    lock(m, 1, W, 0)
    next_round(m, 1)
    assert proposal(m, 1, V) == [CastVote(PREVOTE, 1, None)]
    assert prevotes(m, 1, None, by=(1,)) + prevotes(m, 1, V, by=(2,)) == []
    assert prevotes(m, 1, W, by=(3,)) == [ScheduleTimeout(Step.PREVOTE, 1)]
    assert m.step(Timeout(Step.PREVOTE, 1)) == [CastVote(PRECOMMIT, 1, None)]
    assert prevotes(m, 1, V, by=(4,)) == []  # V: 2 and 4 only, no quorum
    assert where(m) == (1, Step.PRECOMMIT, W, 0, W, 0)


def test_l36_needs_a_valid_proposal():
    """L36 `while valid(v)`: a quorum of prevotes for an invalid proposal locks nothing (L34 still schedules)."""
    m, _ = new(me=1)
    assert proposal(m, 0, V, valid=False) == [CastVote(PREVOTE, 0, None)]
    assert prevotes(m, 0, V, by=(2, 3, 4)) == [ScheduleTimeout(Step.PREVOTE, 0)]
    assert where(m) == (0, Step.PREVOTE, None, -1, None, -1)


def test_l36_needs_the_proposal():
    """L36 needs PROPOSAL(h_p, round_p, v): a polka for V without the proposal locks nothing; the proposal then completes it."""
    m, _ = new(me=1)
    assert prevotes(m, 0, V, by=(2, 3, 4)) == []
    assert m.step(Timeout(Step.PROPOSE, 0)) == [CastVote(PREVOTE, 0, None), ScheduleTimeout(Step.PREVOTE, 0)]
    assert where(m) == (0, Step.PREVOTE, None, -1, None, -1)
    assert proposal(m, 0, V) == [CastVote(PRECOMMIT, 0, V)]
    assert where(m) == (0, Step.PRECOMMIT, V, 0, V, 0)


def test_l36_needs_step_prevote_or_later():
    """L36 `step_p >= prevote`: a polka for the proposal seen in propose step (its L28 quorum missing) neither locks
    nor sets the valid value; once the propose timeout prevotes nil (L57), L36 fires: lock, precommit v."""
    m, _ = new(me=1, start=1)
    assert proposal(m, 1, V, pol_round=0) == []
    assert prevotes(m, 1, V, by=(2, 3, 4)) == []
    assert where(m) == (1, Step.PROPOSE, None, -1, None, -1)
    assert m.step(Timeout(Step.PROPOSE, 1)) == [
        CastVote(PREVOTE, 1, None),
        ScheduleTimeout(Step.PREVOTE, 1),
        CastVote(PRECOMMIT, 1, V),
    ]
    assert where(m) == (1, Step.PRECOMMIT, V, 1, V, 1)


def test_l36_polka_before_the_proposal_then_the_proposal_prevotes_and_locks_at_once():
    """L22 then L34 and L36 in one step: the proposal arrives after its polka; prevote v, schedule, precommit v."""
    m, _ = new(me=1)
    assert prevotes(m, 0, V, by=(2, 3, 4)) == []
    assert proposal(m, 0, V) == [
        CastVote(PREVOTE, 0, V),
        ScheduleTimeout(Step.PREVOTE, 0),
        CastVote(PRECOMMIT, 0, V),
    ]
    assert where(m) == (0, Step.PRECOMMIT, V, 0, V, 0)


# --- L44-L46: nil polka ----------------------------------------------------------------


def test_l44_nil_prevote_quorum_precommits_nil():
    """L44-L46: 2f+1 PREVOTE nil in prevote step: PRECOMMIT nil, step precommit (L34 fires as well)."""
    m, _ = new(me=1)
    m.step(Timeout(Step.PROPOSE, 0))
    assert prevotes(m, 0, None, by=(1, 2)) == []
    assert prevotes(m, 0, None, by=(3,)) == [ScheduleTimeout(Step.PREVOTE, 0), CastVote(PRECOMMIT, 0, None)]
    assert where(m) == (0, Step.PRECOMMIT, None, -1, None, -1)
    assert prevotes(m, 0, None, by=(4,)) == []


def test_l44_two_nil_prevotes_and_one_value_are_not_a_nil_quorum():
    """L44 needs 2f+1 for nil itself; a mixed quorum only schedules the timeout (L34)."""
    m, _ = new(me=1)
    m.step(Timeout(Step.PROPOSE, 0))
    assert prevotes(m, 0, None, by=(1, 2)) + prevotes(m, 0, V, by=(3,)) == [ScheduleTimeout(Step.PREVOTE, 0)]
    assert m.state.step is Step.PREVOTE


# --- L47-L48, L65: precommit timeout ---------------------------------------------------


def test_l47_mixed_precommit_quorum_schedules_the_precommit_timeout_once():
    """L47-L48: 2f+1 PRECOMMIT(round_p, *) the first time: schedule OnTimeoutPrecommit(round_p), once."""
    m, _ = new(me=1)
    proposal(m, 0, V)
    assert precommits(m, 0, V, by=(2,)) + precommits(m, 0, None, by=(3,)) == []
    assert precommits(m, 0, W, by=(4,)) == [ScheduleTimeout(Step.PRECOMMIT, 0)]
    assert precommits(m, 0, None, by=(1,)) == []


def test_l47_applies_in_any_step():
    """L47 has no step condition: precommits seen while still in propose step schedule the timeout."""
    m, _ = new(me=1)
    assert precommits(m, 0, None, by=(2, 3)) == []
    assert precommits(m, 0, W, by=(4,)) == [ScheduleTimeout(Step.PRECOMMIT, 0)]
    assert m.state.step is Step.PROPOSE


def test_l47_precommits_of_an_old_round_do_not_count():
    """L47 counts PRECOMMIT(h_p, round_p, *) only."""
    m, _ = new(me=1, start=1)
    assert precommits(m, 0, None, by=(2, 3, 4)) == []


def test_l65_precommit_timeout_starts_the_next_round():
    """L65, L11, L21: OnTimeoutPrecommit(round_p) starts round_p + 1; a non-proposer schedules its propose timeout."""
    m, _ = new(me=1)
    assert next_round(m, 1) == [ScheduleTimeout(Step.PROPOSE, 1)]
    assert where(m) == (1, Step.PROPOSE, None, -1, None, -1)


def test_l65_precommit_timeout_makes_the_next_proposer_propose():
    """L65, L11-L19: the proposer of round_p + 1 (unlocked, no valid value) proposes a new block."""
    me = proposer_seed(H, 1)
    m, _ = new(me=me)
    assert next_round(m, me) == [Propose(1, None, -1)]


def test_l65_fires_in_any_step_and_keeps_the_lock():
    """L65 has no step condition; StartRound keeps lockedValue/validValue (only L49 resets them)."""
    m, _ = new(me=1)
    lock(m, 1, V, 0)
    assert m.step(Timeout(Step.PRECOMMIT, 0)) == [ScheduleTimeout(Step.PROPOSE, 1)]
    assert where(m) == (1, Step.PROPOSE, V, 0, V, 0)
    m2, _ = new(me=1)  # straight from propose step
    assert m2.step(Timeout(Step.PRECOMMIT, 0)) == [ScheduleTimeout(Step.PROPOSE, 1)]


# --- L57-L65: stale timeouts -----------------------------------------------------------


def test_l57_propose_timeout_prevotes_nil():
    """L57-L60: OnTimeoutPropose(round_p) in propose step: PREVOTE nil, step prevote."""
    m, _ = new(me=1)
    assert m.step(Timeout(Step.PROPOSE, 0)) == [CastVote(PREVOTE, 0, None)]
    assert m.state.step is Step.PREVOTE


def test_timeouts_of_an_old_round_are_ignored():
    """L57, L61, L65 `if r = round_p`: timeouts of round 0 do nothing in round 1, in every step."""
    m, _ = new(me=1)
    next_round(m, 1)
    for step in Step:
        assert m.step(Timeout(step, 0)) == [], step
    assert where(m)[:2] == (1, Step.PROPOSE)
    m.step(Timeout(Step.PROPOSE, 1))
    for step in Step:
        assert m.step(Timeout(step, 0)) == [], step
    assert where(m)[:2] == (1, Step.PREVOTE)


def test_timeouts_of_the_wrong_step_are_ignored():
    """L57 `step = propose`, L61 `step = prevote`: a propose timeout after prevoting, a prevote timeout before it, do nothing."""
    m, _ = new(me=1)
    assert m.step(Timeout(Step.PREVOTE, 0)) == []  # still propose step
    assert m.step(Timeout(Step.PROPOSE, 0)) == [CastVote(PREVOTE, 0, None)]
    assert m.step(Timeout(Step.PROPOSE, 0)) == []  # now prevote step
    assert m.step(Timeout(Step.PREVOTE, 0)) == [CastVote(PRECOMMIT, 0, None)]
    assert m.step(Timeout(Step.PROPOSE, 0)) == []
    assert m.step(Timeout(Step.PREVOTE, 0)) == []
    assert where(m)[:2] == (0, Step.PRECOMMIT)


def test_timeouts_of_a_future_round_are_ignored():
    """L57, L61, L65 `r = round_p`: a timeout for a round not yet reached does nothing."""
    m, _ = new(me=1)
    for step in Step:
        assert m.step(Timeout(step, 1)) == []
    assert where(m)[:2] == (0, Step.PROPOSE)


# --- L49-L54: decision -----------------------------------------------------------------


def _certificate(r: int, value: bytes, seeds) -> tuple[Vote, ...]:
    return tuple(sorted((vote(PRECOMMIT, r, value, s) for s in seeds), key=lambda v: v.validator))


def _descending(seeds) -> list[int]:
    """The seeds in descending validator-key order, so that feeding them checks the sort of the certificate."""
    return sorted(seeds, key=pub, reverse=True)


def test_l49_precommit_quorum_for_the_proposal_decides():
    """L49-L54: proposal v (valid) and 2f+1 PRECOMMIT(r, id(v)): Decide with those precommits, ordered by validator key."""
    m, _ = new(me=1)
    lock(m, 1, V, 0)
    seeds = _descending((1, 2, 3))
    assert precommits(m, 0, V, by=seeds[:2]) == []
    assert precommits(m, 0, V, by=seeds[2:]) == [Decide(0, V, _certificate(0, V, (1, 2, 3)))]
    assert m.state.decision == V and m.state.decision_round == 0


def test_l49_certificate_holds_exactly_the_precommits_for_the_value():
    """L49-L51: the certificate is the precommits for id(v) at r: not the nil precommit, not other rounds' votes."""
    m, _ = new(me=None)
    precommits(m, 0, None, by=(2,))
    prevotes(m, 0, V, by=(1, 3, 4))
    precommits(m, 1, V, by=(3,))  # another round (one message: no skip)
    (d,) = [a for a in precommits(m, 0, V, by=_descending((1, 3, 4))) + proposal(m, 0, V) if isinstance(a, Decide)]
    assert d == Decide(0, V, _certificate(0, V, (1, 3, 4)))
    assert [v.validator for v in d.precommits] == sorted(v.validator for v in d.precommits)
    assert all(v.verify(CHAIN) for v in d.precommits)


def test_l49_precommits_before_the_proposal_decide_when_it_arrives():
    """L49: the rule fires on its last condition; precommits first (L47 schedules), then the proposal: Decide only."""
    m, _ = new(me=1)
    assert precommits(m, 0, V, by=_descending((2, 3, 4))) == [ScheduleTimeout(Step.PRECOMMIT, 0)]
    assert proposal(m, 0, V) == [Decide(0, V, _certificate(0, V, (2, 3, 4)))]


def test_l49_decides_a_value_of_an_earlier_round():
    """L49 for any round r: in round 2, the proposal and 2f+1 precommits of round 0 decide round 0's value."""
    m, _ = new(me=1, start=2)
    assert proposal(m, 0, V) == []
    assert precommits(m, 0, V, by=(2, 3)) == []
    assert precommits(m, 0, V, by=(4,)) == [Decide(0, V, _certificate(0, V, (2, 3, 4)))]


def test_l49_decides_a_value_of_a_later_round_after_skipping_to_it():
    """L55 then L49: round-1 proposal and precommits reach a validator still in round 0; it joins round 1 and decides."""
    m, _ = new(me=1)
    assert proposal(m, 1, W) == []  # one message of round 1: not f+1
    assert precommits(m, 1, W, by=(2,)) == [ScheduleTimeout(Step.PROPOSE, 1), CastVote(PREVOTE, 1, W)]
    assert precommits(m, 1, W, by=(4,)) == []
    assert precommits(m, 1, W, by=(3,)) == [Decide(1, W, _certificate(1, W, (2, 3, 4)))]


def test_l49_invalid_value_is_not_decided():
    """L49-L50 `if valid(v)`: a precommit quorum for an invalid proposal decides nothing."""
    m, _ = new(me=1)
    proposal(m, 0, V, valid=False)
    assert precommits(m, 0, V, by=(2, 3, 4)) == [ScheduleTimeout(Step.PRECOMMIT, 0)]
    assert m.state.decision is None


def test_l49_quorum_for_another_value_than_the_proposal_does_not_decide():
    """L49 needs PROPOSAL(r, v) and the quorum for id(v) of the same v and r."""
    m, _ = new(me=1)
    proposal(m, 0, V)
    assert precommits(m, 0, W, by=(2, 3, 4)) == [ScheduleTimeout(Step.PRECOMMIT, 0)]
    assert not any(isinstance(a, Decide) for a in precommits(m, 1, V, by=(2, 3, 4)))  # V proposed at 0, not 1
    assert m.state.decision is None


def test_l49_precommits_of_another_height_do_not_decide():
    """L49 counts PRECOMMIT(h_p, ...) only: votes signed for height h+1 are not counted at h."""
    m, _ = new(me=1)
    proposal(m, 0, V)
    assert precommits(m, 0, V, by=(2, 3, 4), h=H + 1) == []
    assert m.state.decision is None


def test_l49_nothing_happens_after_a_decision():
    """L49 `while decision_p[h_p] = nil`: after Decide every event of this height yields nothing and changes nothing."""
    m, _ = new(me=1)
    proposal(m, 0, V)
    assert precommits(m, 0, V, by=(2, 3, 4))[-1] == Decide(0, V, _certificate(0, V, (2, 3, 4)))
    before = where(m)
    events = [
        VoteIn(vote(PRECOMMIT, 0, V, 1)),
        VoteIn(vote(PRECOMMIT, 0, W, 2)),  # would be an equivocation
        *[Timeout(step, 0) for step in Step],
        ProposalIn(1, W, -1, True, pub(proposer_seed(H, 1))),
        *[VoteIn(vote(PRECOMMIT, 5, W, s)) for s in (2, 3, 4)],  # f+1 and 2f+1 of a higher round
        ProposalIn(5, W, -1, True, pub(proposer_seed(H, 5))),
        Start(3),
    ]
    assert feed(m, events) == []
    assert where(m) == before and m.state.decision == V


# --- L55-L56: round skip ---------------------------------------------------------------


def test_l55_f_plus_1_messages_of_a_higher_round_start_that_round():
    """L55-L56: prevote and precommit of round 3 by two distinct validators (f+1 = 2): StartRound(3)."""
    m, _ = new(me=2)
    assert prevotes(m, 3, None, by=(3,)) == []  # one is not enough
    assert m.state.round == 0
    assert precommits(m, 3, None, by=(4,)) == [ScheduleTimeout(Step.PROPOSE, 3)]
    assert where(m)[:2] == (3, Step.PROPOSE)


def test_l55_skip_makes_the_new_rounds_proposer_propose():
    """L55 then L11-L19: if we are proposer(h, r) of the round we skip to, we propose."""
    me = proposer_seed(H, 3)  # 1
    m, _ = new(me=me)
    assert prevotes(m, 3, W, by=(2, 3)) == [Propose(3, None, -1)]


def test_l55_one_validator_twice_is_not_f_plus_1():
    """L55 counts distinct validators: one validator's prevote and precommit of round 3 are one sender."""
    m, _ = new(me=1)
    assert prevotes(m, 3, V, by=(2,)) + precommits(m, 3, V, by=(2,)) == []
    assert m.state.round == 0


def test_l55_a_proposal_counts_as_a_message():
    """L55 `messages of any type`: the round-2 proposal and one prevote make f+1; then L22 prevotes the proposal."""
    m, _ = new(me=1)
    assert proposal(m, 2, V) == []
    assert prevotes(m, 2, V, by=(3,)) == [ScheduleTimeout(Step.PROPOSE, 2), CastVote(PREVOTE, 2, V)]
    assert where(m)[:2] == (2, Step.PREVOTE)


def test_l55_a_proposal_by_a_non_proposer_does_not_count():
    """L55: a PROPOSAL not from proposer(h, r) is dropped, so it is not a message of that round."""
    m, _ = new(me=1)
    assert proposal(m, 2, V, by=2) == []
    assert prevotes(m, 2, V, by=(3,)) == []
    assert m.state.round == 0


def test_l55_lower_or_current_rounds_do_not_move_the_round():
    """L55 `r > round_p`: messages of earlier rounds or of the current one do not start a round."""
    m, _ = new(me=1, start=2)
    assert prevotes(m, 1, None, by=(2, 3)) == []
    assert prevotes(m, 2, None, by=(2,)) + precommits(m, 2, None, by=(3,)) == []
    assert where(m)[:2] == (2, Step.PROPOSE)


def test_l55_goes_to_the_highest_round_reached_and_not_back():
    """L55: after skipping to round 4, f+1 messages of round 3 no longer apply."""
    m, _ = new(me=1)
    assert prevotes(m, 4, None, by=(2, 3)) == [ScheduleTimeout(Step.PROPOSE, 4)]
    assert prevotes(m, 3, None, by=(2, 3)) == []
    assert m.state.round == 4


def test_l55_messages_of_the_next_height_do_not_count():
    """L55 is for (h_p, r): votes of height h+1 (buffered by the driver) do not move this height's round."""
    m, _ = new(me=1)
    assert prevotes(m, 3, None, by=(2, 3, 4), h=H + 1) == []
    assert m.state.round == 0


# --- locking across rounds, the classic case -------------------------------------------


def test_locking_across_rounds_classic_case():
    """L36 locks v in round 0; L22 refuses w in round 1 (prevote nil); L28 accepts v re-proposed with vr = 0 in round 2."""
    me = 1  # not the proposer of rounds 0, 1, 2
    m, _ = new(me=me)
    # round 0: v is proposed and gets a polka; we lock on it, but the precommits split
    lock(m, me, V, 0)
    assert next_round(m, me) == [ScheduleTimeout(Step.PROPOSE, 1)]
    # round 1: w is proposed; locked on v, we prevote nil
    assert proposal(m, 1, W) == [CastVote(PREVOTE, 1, None)]
    assert prevotes(m, 1, None, by=(1,)) + prevotes(m, 1, W, by=(3, 4)) == [ScheduleTimeout(Step.PREVOTE, 1)]
    assert m.step(Timeout(Step.PREVOTE, 1)) == [CastVote(PRECOMMIT, 1, None)]
    assert where(m) == (1, Step.PRECOMMIT, V, 0, V, 0)
    assert next_round(m, me) == [ScheduleTimeout(Step.PROPOSE, 2)]
    # round 2: v again, carrying its polka round 0: we prevote v
    assert proposal(m, 2, V, pol_round=0) == [CastVote(PREVOTE, 2, V)]
    assert prevotes(m, 2, V, by=(1, 3, 4)) == [ScheduleTimeout(Step.PREVOTE, 2), CastVote(PRECOMMIT, 2, V)]
    assert where(m) == (2, Step.PRECOMMIT, V, 2, V, 2)
    assert precommits(m, 2, V, by=(1, 3, 4)) == [Decide(2, V, _certificate(2, V, (1, 3, 4)))]


def test_locking_across_rounds_the_lock_is_kept_when_w_comes_back_without_a_polka():
    """L22 and L28: locked on v, w re-proposed with a vr that has no polka for w: no prevote, then nil on timeout."""
    m, _ = new(me=1)
    lock(m, 1, V, 0)
    next_round(m, 1)
    m.step(Timeout(Step.PROPOSE, 1))
    m.step(Timeout(Step.PREVOTE, 1))
    next_round(m, 1)
    assert proposal(m, 2, W, pol_round=1) == []
    assert m.step(Timeout(Step.PROPOSE, 2)) == [CastVote(PREVOTE, 2, None)]
    assert (m.state.locked_value, m.state.locked_round) == (V, 0)


# --- equivocation ----------------------------------------------------------------------


def test_equivocation_is_reported_and_not_counted():
    """Evidence (docs/consensus.md, "Evidence") and L36: validator 2 prevotes nil then W; the second vote is evidence and not counted,
    so W has 2 prevotes (1 and 3), not the quorum that would lock."""
    m, _ = new(me=1)
    proposal(m, 0, W, by=2)
    assert proposal(m, 0, W) == []
    assert prevotes(m, 0, W, by=(1,)) == []
    assert prevotes(m, 0, None, by=(2,)) == []
    assert prevotes(m, 0, W, by=(2,)) == [Equivocation(vote(PREVOTE, 0, None, 2), vote(PREVOTE, 0, W, 2))]
    assert prevotes(m, 0, W, by=(3,)) == [ScheduleTimeout(Step.PREVOTE, 0)]  # mixed quorum only (L34)
    assert where(m) == (0, Step.PREVOTE, None, -1, None, -1)
    assert prevotes(m, 0, W, by=(4,)) == [CastVote(PRECOMMIT, 0, W)]  # a real third vote for W


def test_equivocating_precommits_cannot_make_a_decision():
    """L49 needs 2f+1 distinct validators: validator 4 precommitting nil then V adds nothing to V's count."""
    m, _ = new(me=1)
    proposal(m, 0, V)
    assert precommits(m, 0, V, by=(2, 3)) == []
    assert precommits(m, 0, None, by=(4,)) == [ScheduleTimeout(Step.PRECOMMIT, 0)]
    assert precommits(m, 0, V, by=(4,)) == [Equivocation(vote(PRECOMMIT, 0, None, 4), vote(PRECOMMIT, 0, V, 4))]
    assert m.state.decision is None


def test_identical_repeat_is_ignored():
    """The keeper counts a validator once: the same signed vote twice is no evidence and no second count."""
    m, _ = new(me=1)
    proposal(m, 0, V)
    assert prevotes(m, 0, V, by=(2, 2, 2, 3)) == []
    assert m.keeper.count(0, PREVOTE, V) == 2
    assert prevotes(m, 0, V, by=(4,)) == [ScheduleTimeout(Step.PREVOTE, 0), CastVote(PRECOMMIT, 0, V)]


def test_same_validator_different_round_or_type_is_not_equivocation():
    """Evidence is two votes for the same (height, round, type): a prevote and a precommit, or two rounds, are fine."""
    m, _ = new(me=1)
    events = [VoteIn(vote(PREVOTE, 0, V, 2)), VoteIn(vote(PRECOMMIT, 0, W, 2)), VoteIn(vote(PREVOTE, 1, None, 2))]
    assert not any(isinstance(a, Equivocation) for a in feed(m, events))


# --- n = 1 -----------------------------------------------------------------------------


def test_single_validator_runs_a_height_alone():
    """n = 1, quorum 1: L11 propose; L22 prevote; own prevote -> L36 lock and precommit; own precommit -> L49 decide."""
    m, actions = new(me=1, validators=ONE)
    assert actions == [Propose(0, None, -1)]
    assert m.step(ProposalIn(0, V, -1, True, pub(1))) == [CastVote(PREVOTE, 0, V)]
    assert m.step(VoteIn(vote(PREVOTE, 0, V, 1))) == [ScheduleTimeout(Step.PREVOTE, 0), CastVote(PRECOMMIT, 0, V)]
    assert where(m) == (0, Step.PRECOMMIT, V, 0, V, 0)
    assert m.step(VoteIn(vote(PRECOMMIT, 0, V, 1))) == [Decide(0, V, (vote(PRECOMMIT, 0, V, 1),))]
    assert m.step(Timeout(Step.PRECOMMIT, 0)) == []


def test_single_validator_is_proposer_at_every_height_and_round():
    """L11 with n = 1: (h + r) mod 1 = 0, always ourselves."""
    for h in (0, 1, 9):
        for r in (0, 4):
            _, actions = new(me=1, validators=ONE, h=h, start=r)
            assert actions == [Propose(r, None, -1)]


# --- replay and determinism ------------------------------------------------------------


def run(events, me: int = 1) -> tuple[Machine, list]:
    """Start, then the events; each vote the machine casts is signed and fed back at once, as the driver does."""
    m = Machine(H, FOUR, pub(me))
    log = []
    queue = deque([Start(0), *events])
    while queue:
        event = queue.popleft()
        actions = m.step(event)
        log.append((event, actions))
        own = [VoteIn(vote(a.type, a.round, a.value, me)) for a in actions if isinstance(a, CastVote)]
        queue.extendleft(reversed(own))
    return m, log


SCRIPT = [
    ProposalIn(0, V, -1, True, pub(2)),
    VoteIn(vote(PREVOTE, 0, V, 2)),
    VoteIn(vote(PREVOTE, 0, V, 3)),
    VoteIn(vote(PRECOMMIT, 0, None, 2)),
    VoteIn(vote(PRECOMMIT, 0, None, 3)),
    Timeout(Step.PRECOMMIT, 0),
    ProposalIn(1, W, -1, True, pub(3)),
    VoteIn(vote(PREVOTE, 1, W, 3)),
    VoteIn(vote(PREVOTE, 1, W, 4)),
    VoteIn(vote(PREVOTE, 1, None, 4)),
    Timeout(Step.PREVOTE, 1),
    VoteIn(vote(PRECOMMIT, 1, None, 3)),
    VoteIn(vote(PRECOMMIT, 1, None, 4)),
    Timeout(Step.PRECOMMIT, 1),
    ProposalIn(2, V, 0, True, pub(4)),
    VoteIn(vote(PREVOTE, 2, V, 3)),
    VoteIn(vote(PREVOTE, 2, V, 4)),
    VoteIn(vote(PRECOMMIT, 2, V, 4)),
    VoteIn(vote(PRECOMMIT, 2, V, 3)),
]


def test_replaying_an_event_log_gives_the_same_actions():
    """Determinism (machine docstring): two fresh machines fed the same log return identical actions and end state."""
    m1, log1 = run(SCRIPT)
    m2, log2 = run(SCRIPT)
    assert log1 == log2
    assert m1.state == m2.state
    decisions = [a for _, actions in log1 for a in actions if isinstance(a, Decide)]
    assert decisions == [Decide(2, V, _certificate(2, V, (1, 3, 4)))]
    equivocations = [a for _, actions in log1 for a in actions if isinstance(a, Equivocation)]
    assert equivocations == [Equivocation(vote(PREVOTE, 1, W, 4), vote(PREVOTE, 1, None, 4))]


VALUES = (V, W, None)


@st.composite
def interleavings(draw):
    """Votes of validators 2-4 (4 may equivocate), the proposals of rounds 0-2, and every timeout, in any order."""
    events = []
    for r in range(3):
        favoured = draw(st.sampled_from(VALUES))  # most votes of a round agree, so that decisions happen
        for seed in (2, 3, 4):
            for vote_type in (PREVOTE, PRECOMMIT):
                choice = draw(st.sampled_from((favoured,) * 4 + (*VALUES, "absent")))
                if choice != "absent":
                    events.append(VoteIn(vote(vote_type, r, choice, seed)))
    extra = st.tuples(st.sampled_from((PREVOTE, PRECOMMIT)), st.integers(0, 2), st.sampled_from(VALUES))
    events += [VoteIn(vote(t, r, value, 4)) for t, r, value in draw(st.lists(extra, max_size=3))]
    events += [
        ProposalIn(0, V, -1, draw(st.booleans()), pub(2)),
        ProposalIn(1, W, -1, draw(st.booleans()), pub(3)),
        ProposalIn(2, draw(st.sampled_from((V, W))), draw(st.sampled_from((-1, 0, 1))), True, pub(4)),
    ]
    events += [Timeout(step, r) for r in range(3) for step in Step]
    return draw(st.permutations(events))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interleavings())
def test_any_interleaving_decides_at_most_once_and_only_with_a_certificate(events):
    """L49 safety in one node, for any order of a fixed message set: at most one Decide, for a valid proposal of
    round r from proposer(h, r) with 2f+1 distinct validators' first precommits for it at r; the certificate is those
    votes, signed, sorted; our own votes never conflict (never sign twice); locks only move forward (L36);
    and replaying the same order gives the same actions."""
    m, log = run(events)
    decisions = [(i, a) for i, (_, actions) in enumerate(log) for a in actions if isinstance(a, Decide)]
    assert len(decisions) <= 1
    if decisions:
        i, d = decisions[0]
        assert all(actions == [] for _, actions in log[i + 1:])
        fed = [event for event, _ in log[: i + 1]]
        assert any(
            isinstance(e, ProposalIn) and e.round == d.round and e.value == d.value and e.valid
            and e.proposer == pub(proposer_seed(H, d.round))
            for e in fed
        )
        first: dict[bytes, Vote] = {}
        for e in fed:
            if isinstance(e, VoteIn) and e.vote.type == PRECOMMIT and e.vote.round == d.round:
                first.setdefault(e.vote.validator, e.vote)
        certificate = sorted((v for v in first.values() if v.block_hash == d.value), key=lambda v: v.validator)
        assert len(certificate) >= 3
        assert list(d.precommits) == certificate
        assert all(v.verify(CHAIN) for v in d.precommits)
    cast = [(a.type, a.round) for _, actions in log for a in actions if isinstance(a, CastVote)]
    assert len(cast) == len(set(cast))
    _, log2 = run(events)
    assert log2 == log


@settings(max_examples=60, deadline=None)
@given(interleavings())
def test_own_precommit_for_a_value_always_follows_its_polka(events):
    """L36: the machine precommits a value only with 2f+1 prevotes for it in that round, and only after proposing it
    was valid; the lock round never decreases."""
    m = Machine(H, FOUR, pub(1))
    locked_round = -1
    queue = deque([Start(0), *events])
    while queue:
        actions = m.step(queue.popleft())
        for a in actions:
            if isinstance(a, CastVote) and a.type == PRECOMMIT and a.value is not None:
                assert m.keeper.has_quorum_for(a.round, PREVOTE, a.value)
                assert m.proposals[a.round].value == a.value and m.proposals[a.round].valid
                assert (m.state.locked_value, m.state.locked_round) == (a.value, a.round)
        assert m.state.locked_round >= locked_round
        locked_round = m.state.locked_round
        own = [VoteIn(vote(a.type, a.round, a.value, 1)) for a in actions if isinstance(a, CastVote)]
        queue.extendleft(reversed(own))
