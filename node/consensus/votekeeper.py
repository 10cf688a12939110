"""Counting the votes of one height: thresholds per round and type, and equivocation.

The keeper takes votes whose signatures the driver has already checked, from
validators of this height. It counts each validator once per (round, type):
a second, different vote for the same (round, type) is not counted, it is
evidence (docs/consensus.md, "Evidence"); an identical one is a harmless repeat.

Thresholds are by number of distinct validators (equal power):
quorum(n) = floor(2n/3) + 1 ("2f+1"), and more than one third = floor(n/3) + 1
("f+1", used by L55 to skip to a round others have reached).
"""

from __future__ import annotations

from ledger.chain import quorum
from ledger.votes import PRECOMMIT, PREVOTE, Vote


def one_third_plus(n: int) -> int:
    """More than one third of n validators."""
    return n // 3 + 1


class VoteKeeper:
    def __init__(self, validators: tuple[bytes, ...], height: int):
        self.validators = frozenset(validators)
        self.height = height
        self.quorum = quorum(len(validators))
        self.skip_threshold = one_third_plus(len(validators))
        # (round, type) -> validator -> vote
        self._votes: dict[tuple[int, int], dict[bytes, Vote]] = {}
        # (round, type) -> value -> count
        self._tally: dict[tuple[int, int], dict[bytes | None, int]] = {}
        # round -> validators that sent anything (a vote or the proposal) in that round
        self._senders: dict[int, set[bytes]] = {}
        self.evidence: list[tuple[Vote, Vote]] = []

    def add(self, vote: Vote) -> tuple[bool, tuple[Vote, Vote] | None]:
        """Count a checked vote: (counted, evidence if it conflicts with one already counted)."""
        if vote.height != self.height or vote.validator not in self.validators:
            return False, None
        by_validator = self._votes.setdefault((vote.round, vote.type), {})
        first = by_validator.get(vote.validator)
        if first is not None:
            if first.block_hash == vote.block_hash:
                return False, None
            pair = (first, vote)
            self.evidence.append(pair)
            return False, pair
        by_validator[vote.validator] = vote
        tally = self._tally.setdefault((vote.round, vote.type), {})
        tally[vote.block_hash] = tally.get(vote.block_hash, 0) + 1
        self._senders.setdefault(vote.round, set()).add(vote.validator)
        return True, None

    def saw_proposal(self, round_: int, proposer: bytes) -> None:
        """A proposal counts as a message of its round for the f+1 skip rule (L55)."""
        if proposer in self.validators:
            self._senders.setdefault(round_, set()).add(proposer)

    def count(self, round_: int, vote_type: int, value: bytes | None) -> int:
        return self._tally.get((round_, vote_type), {}).get(value, 0)

    def total(self, round_: int, vote_type: int) -> int:
        return len(self._votes.get((round_, vote_type), {}))

    def has_quorum_for(self, round_: int, vote_type: int, value: bytes | None) -> bool:
        return self.count(round_, vote_type, value) >= self.quorum

    def has_quorum_any(self, round_: int, vote_type: int) -> bool:
        return self.total(round_, vote_type) >= self.quorum

    def quorum_values(self, vote_type: int) -> list[tuple[int, bytes | None]]:
        """Every (round, value) with a quorum of this vote type, rounds ascending."""
        out = []
        for (round_, t), tally in sorted(self._tally.items(), key=lambda item: item[0]):
            if t == vote_type:
                out.extend((round_, v) for v, c in sorted(tally.items(), key=lambda i: i[0] or b"") if c >= self.quorum)
        return out

    def highest_skip_round(self) -> int:
        """The highest round in which more than a third of the validators have spoken (-1 if none)."""
        best = -1
        for round_, senders in self._senders.items():
            if round_ > best and len(senders) >= self.skip_threshold:
                best = round_
        return best

    def votes(self, round_: int, vote_type: int, value: bytes | None) -> list[Vote]:
        """The counted votes of (round, type) for a value, ordered by validator key."""
        by_validator = self._votes.get((round_, vote_type), {})
        return [by_validator[v] for v in sorted(by_validator) if by_validator[v].block_hash == value]

    def all_votes(self) -> list[Vote]:
        out = []
        for key in sorted(self._votes):
            by_validator = self._votes[key]
            out.extend(by_validator[v] for v in sorted(by_validator))
        return out

    def precommits_for(self, round_: int, value: bytes) -> list[Vote]:
        return self.votes(round_, PRECOMMIT, value)

    def prevotes_for(self, round_: int, value: bytes | None) -> list[Vote]:
        return self.votes(round_, PREVOTE, value)
