"""Tendermint's Algorithm 1 for one height, as a deterministic state machine.

Source: Buchman, Kwon, Milosevic, "The latest gossip on BFT consensus" (2018),
Algorithm 1; docs/consensus.md, "The rules, line by line", restates it. The `Lnn` comments name the
paper's lines, so that this file and the paper can be read side by side.

The machine does no I/O: no clock, no sockets, no signing, no disk. Inputs are
events (a proposal already checked for signature, proposer and validity; a vote
with a checked signature; a fired timeout); outputs are actions (propose, cast a
vote, schedule a timeout, decide, report evidence) that the driver carries out.
Given the same events in the same order it returns the same actions, so a run
can be replayed from its event log and tested with scripted sequences.

Values are block hashes; the driver keeps the blocks. One machine serves one
height; the driver makes a new one after each decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

from ledger.chain import proposer as proposer_of
from ledger.votes import PRECOMMIT, PREVOTE, Vote
from node.consensus.votekeeper import VoteKeeper


class Step(IntEnum):
    PROPOSE = 0
    PREVOTE = 1
    PRECOMMIT = 2


# --- events in ----------------------------------------------------------------------


class Start(NamedTuple):
    """L10: begin the height, at round 0 in step propose.

    A validator restarted in the middle of a height begins instead at the round
    and step of its last signature in the sign-state (`step` prevote or
    precommit: that vote is already cast, and the driver sends it again; step
    propose: StartRound(round) runs as usual). docs/consensus.md, "Never signing twice".
    """

    round: int = 0
    step: Step = Step.PROPOSE


class ProposalIn(NamedTuple):
    """A proposal signed by proposer(h, round); `valid` is valid(v), decided by the driver."""

    round: int
    value: bytes
    pol_round: int
    valid: bool
    proposer: bytes


class VoteIn(NamedTuple):
    vote: Vote


class Timeout(NamedTuple):
    step: Step
    round: int


Event = Start | ProposalIn | VoteIn | Timeout


# --- actions out ----------------------------------------------------------------------


class Propose(NamedTuple):
    """L14-L19: propose `value` (None: the driver makes a new block) with `valid_round`."""

    round: int
    value: bytes | None
    valid_round: int


class CastVote(NamedTuple):
    type: int  # PREVOTE or PRECOMMIT
    round: int
    value: bytes | None


class ScheduleTimeout(NamedTuple):
    step: Step
    round: int


class Decide(NamedTuple):
    round: int
    value: bytes
    precommits: tuple[Vote, ...]  # the commit certificate's votes, by validator key


class Equivocation(NamedTuple):
    first: Vote
    second: Vote


Action = Propose | CastVote | ScheduleTimeout | Decide | Equivocation


@dataclass
class State:
    height: int
    round: int = -1  # -1 until Start
    step: Step = Step.PROPOSE
    locked_value: bytes | None = None
    locked_round: int = -1
    valid_value: bytes | None = None
    valid_round: int = -1
    decision: bytes | None = None
    decision_round: int = -1
    fired: set[tuple[str, int]] = field(default_factory=set)  # "the first time" guards, per (rule, round)


class Machine:
    """One height of Algorithm 1 for validator `me` (None for a node that only follows)."""

    def __init__(
        self,
        height: int,
        validators: tuple[bytes, ...],
        me: bytes | None,
        locked: tuple[int, bytes] | None = None,
    ):
        self.validators = validators
        self.me = me
        self.state = State(height)
        if locked is not None:  # restored from the sign-state after a restart
            self.state.locked_round, self.state.locked_value = locked
            self.state.valid_round, self.state.valid_value = locked
        self.keeper = VoteKeeper(validators, height)
        self.proposals: dict[int, ProposalIn] = {}
        self._out: list[Action] = []

    @property
    def height(self) -> int:
        return self.state.height

    def proposer(self, round_: int) -> bytes:
        return proposer_of(self.validators, self.state.height, round_)

    # --- the one entry point ---------------------------------------------------

    def step(self, event: Event) -> list[Action]:
        self._out = []
        s = self.state
        if s.decision is not None:
            return []
        if isinstance(event, Start):
            if s.round < 0:
                self._start(event)
        elif isinstance(event, ProposalIn):
            self._on_proposal(event)
        elif isinstance(event, VoteIn):
            self._on_vote(event.vote)
        elif isinstance(event, Timeout):
            self._on_timeout(event)
        if s.round >= 0:
            self._apply_rules()
        return self._out

    # --- inputs ----------------------------------------------------------------

    def _on_proposal(self, p: ProposalIn) -> None:
        if p.proposer != self.proposer(p.round) or p.round in self.proposals:
            return  # not this round's proposer, or a repeat (a second value is the proposer's problem)
        self.proposals[p.round] = p
        self.keeper.saw_proposal(p.round, p.proposer)

    def _on_vote(self, vote: Vote) -> None:
        counted, evidence = self.keeper.add(vote)
        if evidence is not None:
            self._out.append(Equivocation(*evidence))

    def _on_timeout(self, t: Timeout) -> None:
        s = self.state
        if t.round != s.round:
            return
        if t.step is Step.PROPOSE and s.step is Step.PROPOSE:  # L57
            self._vote(PREVOTE, None)
            s.step = Step.PREVOTE
        elif t.step is Step.PREVOTE and s.step is Step.PREVOTE:  # L61
            self._vote(PRECOMMIT, None)
            s.step = Step.PRECOMMIT
        elif t.step is Step.PRECOMMIT:  # L65
            self._start_round(s.round + 1)

    # --- the rules -------------------------------------------------------------

    def _start(self, event: Start) -> None:
        """L10, or the resumption of a restarted validator after its own vote of `event.step`."""
        if event.step is Step.PROPOSE:
            self._start_round(event.round)
        else:  # its vote of this step was cast before the restart: wait for the others, as it would have
            self.state.round, self.state.step = event.round, event.step

    def _start_round(self, round_: int) -> None:
        """L11-L21."""
        s = self.state
        s.round = round_
        s.step = Step.PROPOSE
        if self.me is not None and self.proposer(round_) == self.me:
            # L14-L19: re-propose the valid value if there is one, else a new block
            self._out.append(Propose(round_, s.valid_value, s.valid_round if s.valid_value is not None else -1))
        else:
            self._out.append(ScheduleTimeout(Step.PROPOSE, round_))  # L21

    def _apply_rules(self) -> None:
        """Re-check every upon-rule until none fires: one input can enable several."""
        rules = (self._decide, self._skip_round, self._prevote, self._polka_any, self._polka_value,
                 self._polka_nil, self._precommit_any)
        progress = True
        while progress and self.state.decision is None:
            progress = False
            for rule in rules:
                if rule():
                    progress = True
                    break

    def _first_time(self, rule: str, round_: int) -> bool:
        key = (rule, round_)
        if key in self.state.fired:
            return False
        self.state.fired.add(key)
        return True

    def _decide(self) -> bool:
        """L49-L54: a valid proposal of any round with a precommit quorum for it is decided."""
        for round_ in sorted(self.proposals):
            p = self.proposals[round_]
            if p.valid and self.keeper.has_quorum_for(round_, PRECOMMIT, p.value):
                s = self.state
                s.decision, s.decision_round = p.value, round_
                self._out.append(Decide(round_, p.value, tuple(self.keeper.precommits_for(round_, p.value))))
                return True
        return False

    def _skip_round(self) -> bool:
        """L55-L56: more than a third speak in a higher round: go there."""
        highest = self.keeper.highest_skip_round()
        if highest > self.state.round:
            self._start_round(highest)
            return True
        return False

    def _prevote(self) -> bool:
        """L22-L27 (fresh proposal) and L28-L33 (re-proposed valid value)."""
        s = self.state
        p = self.proposals.get(s.round)
        if s.step is not Step.PROPOSE or p is None:
            return False
        if p.pol_round == -1:  # L22
            accept = p.valid and (s.locked_round == -1 or s.locked_value == p.value)
        elif p.pol_round < s.round and self.keeper.has_quorum_for(p.pol_round, PREVOTE, p.value):  # L28
            accept = p.valid and (s.locked_round <= p.pol_round or s.locked_value == p.value)
        else:
            return False  # L28 waits for the quorum of pol_round, or the propose timeout fires
        self._vote(PREVOTE, p.value if accept else None)
        s.step = Step.PREVOTE
        return True

    def _polka_any(self) -> bool:
        """L34-L35: a prevote quorum for anything: schedule the prevote timeout, once."""
        s = self.state
        if s.step is Step.PREVOTE and self.keeper.has_quorum_any(s.round, PREVOTE) and self._first_time("L34", s.round):
            self._out.append(ScheduleTimeout(Step.PREVOTE, s.round))
            return True
        return False

    def _polka_value(self) -> bool:
        """L36-L43: a valid proposal with a prevote quorum: lock on it (if still prevoting) and remember it."""
        s = self.state
        p = self.proposals.get(s.round)
        if p is None or not p.valid or s.step < Step.PREVOTE:
            return False
        if not self.keeper.has_quorum_for(s.round, PREVOTE, p.value) or not self._first_time("L36", s.round):
            return False
        if s.step is Step.PREVOTE:
            s.locked_value, s.locked_round = p.value, s.round
            self._vote(PRECOMMIT, p.value)
            s.step = Step.PRECOMMIT
        s.valid_value, s.valid_round = p.value, s.round
        return True

    def _polka_nil(self) -> bool:
        """L44-L46."""
        s = self.state
        if s.step is Step.PREVOTE and self.keeper.has_quorum_for(s.round, PREVOTE, None):
            self._vote(PRECOMMIT, None)
            s.step = Step.PRECOMMIT
            return True
        return False

    def _precommit_any(self) -> bool:
        """L47-L48: a precommit quorum for anything: schedule the precommit timeout, once."""
        s = self.state
        if self.keeper.has_quorum_any(s.round, PRECOMMIT) and self._first_time("L47", s.round):
            self._out.append(ScheduleTimeout(Step.PRECOMMIT, s.round))
            return True
        return False

    def _vote(self, vote_type: int, value: bytes | None) -> None:
        if self.me is not None:
            self._out.append(CastVote(vote_type, self.state.round, value))
