"""Ballots: `agora.ballot`, `agora.vote`, `agora.commit`, `agora.reveal` (FORMAT.md §6.7).

A proposal whose supports reached its space's threshold becomes a ballot
when a moderator of the space, or its author, opens one: options, an
opening and a closing block time, and optionally a reveal window after the
closing (commit-then-reveal). The quorum and the share to pass are the
space's, copied into the ballot so that they cannot change under it.

One member, one vote: a vote is recorded under the voter's identity, not
under the key that signed it, so an identity with three keys has one vote,
and voting again replaces the earlier vote (the last counts). The ballot
keeps a count per option, moved by each vote, so that the tally at the
closing is small, fixed work for the end-of-block step (governance/tally.py)
however many voted; the auditor recounts the votes (governance/invariants.py).

A public ballot's votes, and so its counts, are visible as they come. A
commit-then-reveal ballot takes only commitments while open: no option is
on the chain before the closing, so no partial tally is either. After the
closing, each voter reveals the option and the salt; a commitment never
revealed is not counted.

The eligible identities are counted once, when the ballot opens (the block
time reaches `opens_ms`: by the first vote or commitment, or by the
end-of-block step, whichever comes first), from one counter of the identity
registry (identity/records.py `idcount/`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from governance import records as rec
from governance.common import (
    eligible_identity,
    fixed_bytes,
    is_moderator,
    load_space,
    record_id,
    signer_identity,
)
from governance.posts import load_post
from governance.records import OPEN, PROPOSAL, REVEALING, SCHEDULED, VISIBLE, Ballot, Space, Vote
from identity.records import active_identities, attribute_holders
from ledger import deadlines, fields
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext, TxType
from ledger.state import StateReader


def electorate(state: StateReader, space: Space) -> int:
    """The space's eligible identities, one get: the active identities for the federation's space, the
    attestation records of its attribute for a community's (an upper bound: FORMAT.md §6.7)."""
    return active_identities(state) if space.eligibility == "" else attribute_holders(state, space.eligibility)


def opened(ctx: ExecContext, ballot_id: bytes, ballot: Ballot) -> Ballot:
    """The ballot, opened if it was scheduled and its opening time has come: the electorate counted now."""
    if ballot.status != SCHEDULED or ctx.time_ms < ballot.opens_ms:
        return ballot
    space = load_space(ctx, ballot.space_id)
    ballot = ballot._replace(status=OPEN, eligible=electorate(ctx.state, space))
    ctx.state.put(rec.ballot_key(ballot_id), ballot.encode())
    return ballot


def load_ballot(ctx: ExecContext, ballot_id: bytes) -> Ballot:
    ballot = rec.get_ballot(ctx.state, ballot_id)
    if ballot is None:
        raise TxError(Code.UNKNOWN_BALLOT)
    return ballot


# --- agora.ballot --------------------------------------------------------------------------


class BallotBody(NamedTuple):
    ballot_id: bytes
    proposal_id: bytes
    options: tuple[str, ...]
    opens_ms: int
    closes_ms: int
    reveal_until_ms: int  # 0: public; else commit-then-reveal, reveals taken until this time


def _options(value: Any) -> tuple[str, ...]:
    if type(value) is not tuple or not rec.MIN_OPTIONS <= len(value) <= rec.MAX_OPTIONS:
        raise TxError(Code.MALFORMED, f"options must be an array of {rec.MIN_OPTIONS} to {rec.MAX_OPTIONS} labels")
    options = tuple(fields.text(o, f"options[{i}]", rec.MAX_OPTION, least=1) for i, o in enumerate(value))
    if len(set(options)) != len(options):
        raise TxError(Code.MALFORMED, "an option appears twice")
    return options


def parse_ballot(body: tuple) -> BallotBody:
    ballot_id, proposal_id, options, opens_ms, closes_ms, reveal_until_ms = fields.expect_fields(
        body, BallotBody._fields)
    opens_ms, closes_ms = fields.uint(opens_ms, "opens_ms"), fields.uint(closes_ms, "closes_ms")
    reveal_until_ms = fields.uint(reveal_until_ms, "reveal_until_ms")
    if closes_ms <= opens_ms:
        raise TxError(Code.MALFORMED, "closes_ms must be after opens_ms")
    if reveal_until_ms != 0 and reveal_until_ms <= closes_ms:
        raise TxError(Code.MALFORMED, "reveal_until_ms must be 0 (a public ballot) or after closes_ms")
    return BallotBody(record_id(ballot_id, "ballot_id"), record_id(proposal_id, "proposal_id"), _options(options),
                      opens_ms, closes_ms, reveal_until_ms)


def execute_ballot(ctx: ExecContext, body: BallotBody) -> None:
    if ctx.state.get(rec.ballot_key(body.ballot_id)) is not None:
        raise TxError(Code.BALLOT_EXISTS)
    proposal = load_post(ctx, body.proposal_id)
    if proposal.kind != PROPOSAL:
        raise TxError(Code.NOT_A_PROPOSAL)
    if proposal.status != VISIBLE:
        raise TxError(Code.POST_NOT_VISIBLE, f"the proposal is {proposal.status}")
    if proposal.ballot_id is not None:
        raise TxError(Code.BALLOT_EXISTS, f"the proposal has ballot {proposal.ballot_id.hex()}")
    space = load_space(ctx, proposal.space_id)
    if not is_moderator(space, ctx.signer):
        if signer_identity(ctx) != proposal.author:
            raise TxError(Code.NOT_MODERATOR, "only a moderator of the space or the proposal's author opens a ballot")
        eligible_identity(ctx, space)
    if proposal.supports < space.support_threshold:
        raise TxError(Code.SUPPORTS_NOT_REACHED, f"{proposal.supports} of {space.support_threshold} supports")
    if body.closes_ms <= ctx.time_ms:
        raise TxError(Code.BALLOT_WINDOW, "the closing must be after the block's time")
    ballot = Ballot(proposal.space_id, body.proposal_id, ctx.signer, body.options, body.opens_ms, body.closes_ms,
                    body.reveal_until_ms, space.quorum_permille, space.pass_permille, 0, SCHEDULED,
                    (0,) * len(body.options), 0, None, ctx.height)
    ctx.state.put(rec.ballot_key(body.ballot_id), ballot.encode())
    ctx.state.put(rec.post_key(body.proposal_id), proposal._replace(ballot_id=body.ballot_id).encode())
    if opened(ctx, body.ballot_id, ballot).status == SCHEDULED:
        deadlines.schedule_at_time(ctx.state, rec.MODULE_NAME, body.opens_ms, rec.item(rec.OPEN_ITEM, body.ballot_id))
    deadlines.schedule_at_time(ctx.state, rec.MODULE_NAME, body.closes_ms, rec.item(rec.CLOSE_ITEM, body.ballot_id))
    if body.reveal_until_ms:
        deadlines.schedule_at_time(ctx.state, rec.MODULE_NAME, body.reveal_until_ms,
                                   rec.item(rec.REVEAL_END_ITEM, body.ballot_id))


# --- agora.vote / agora.commit -------------------------------------------------------------


class VoteBody(NamedTuple):
    ballot_id: bytes
    option: int


class CommitBody(NamedTuple):
    ballot_id: bytes
    commitment: bytes


def _option(value: Any) -> int:
    return fields.uint(value, "option", rec.MAX_OPTIONS - 1)


def parse_vote(body: tuple) -> VoteBody:
    ballot_id, option = fields.expect_fields(body, VoteBody._fields)
    return VoteBody(record_id(ballot_id, "ballot_id"), _option(option))


def parse_commit(body: tuple) -> CommitBody:
    ballot_id, commitment = fields.expect_fields(body, CommitBody._fields)
    return CommitBody(record_id(ballot_id, "ballot_id"), fixed_bytes(commitment, "commitment", rec.HASH_LEN))


def _voting(ctx: ExecContext, ballot_id: bytes, secret: bool) -> Ballot:
    """The ballot, if it takes this kind of vote now: the mode, then the window opens_ms ≤ t < closes_ms."""
    ballot = load_ballot(ctx, ballot_id)
    if ballot.secret != secret:
        raise TxError(Code.WRONG_BALLOT_MODE, "the ballot is commit-then-reveal: commit, then reveal" if ballot.secret
                      else "the ballot is public: vote")
    if not ballot.opens_ms <= ctx.time_ms < ballot.closes_ms:
        raise TxError(Code.BALLOT_WINDOW, f"votes are taken from {ballot.opens_ms} until {ballot.closes_ms}")
    return ballot


def execute_vote(ctx: ExecContext, body: VoteBody) -> None:
    ballot = _voting(ctx, body.ballot_id, secret=False)
    if body.option >= len(ballot.options):
        raise TxError(Code.UNKNOWN_OPTION)
    identity_id = eligible_identity(ctx, load_space(ctx, ballot.space_id))
    ballot = opened(ctx, body.ballot_id, ballot)
    counts = list(ballot.counts)
    before = rec.get_vote(ctx.state, body.ballot_id, identity_id)
    if before is not None and before.option is not None:  # a changed vote: the earlier one no longer counts
        counts[before.option] -= 1
    counts[body.option] += 1
    ctx.state.put(rec.vote_key(body.ballot_id, identity_id), Vote(body.option, None, ctx.signer, ctx.height).encode())
    ctx.state.put(rec.ballot_key(body.ballot_id), ballot._replace(counts=tuple(counts), cast=sum(counts)).encode())


def execute_commit(ctx: ExecContext, body: CommitBody) -> None:
    ballot = _voting(ctx, body.ballot_id, secret=True)
    identity_id = eligible_identity(ctx, load_space(ctx, ballot.space_id))
    opened(ctx, body.ballot_id, ballot)
    ctx.state.put(rec.vote_key(body.ballot_id, identity_id), Vote(None, body.commitment, ctx.signer, ctx.height).encode())


# --- agora.reveal --------------------------------------------------------------------------


class RevealBody(NamedTuple):
    ballot_id: bytes
    option: int
    salt: bytes


def parse_reveal(body: tuple) -> RevealBody:
    ballot_id, option, salt = fields.expect_fields(body, RevealBody._fields)
    return RevealBody(record_id(ballot_id, "ballot_id"), _option(option), fixed_bytes(salt, "salt", rec.SALT_LEN))


def execute_reveal(ctx: ExecContext, body: RevealBody) -> None:
    """A reveal is not a new act of taking part (the commitment was, when eligibility was checked): it needs
    only a key of the identity that committed."""
    ballot = load_ballot(ctx, body.ballot_id)
    if not ballot.secret:
        raise TxError(Code.WRONG_BALLOT_MODE, "the ballot is public: vote")
    if not ballot.closes_ms <= ctx.time_ms < ballot.reveal_until_ms:
        raise TxError(Code.BALLOT_WINDOW, f"reveals are taken from {ballot.closes_ms} until {ballot.reveal_until_ms}")
    identity_id = signer_identity(ctx)
    vote = None if identity_id is None else rec.get_vote(ctx.state, body.ballot_id, identity_id)
    if identity_id is None or vote is None or vote.option is not None:
        raise TxError(Code.NO_COMMITMENT)
    if body.option >= len(ballot.options):
        raise TxError(Code.UNKNOWN_OPTION)
    if rec.vote_commitment(body.ballot_id, identity_id, body.option, body.salt) != vote.commitment:
        raise TxError(Code.REVEAL_MISMATCH)
    counts = list(ballot.counts)
    counts[body.option] += 1
    ctx.state.put(rec.vote_key(body.ballot_id, identity_id), vote._replace(option=body.option).encode())
    ctx.state.put(rec.ballot_key(body.ballot_id), ballot._replace(
        status=REVEALING, counts=tuple(counts), cast=sum(counts)).encode())


BALLOT = TxType("agora.ballot", parse_ballot, execute_ballot)
VOTE = TxType("agora.vote", parse_vote, execute_vote)
COMMIT = TxType("agora.commit", parse_commit, execute_commit)
REVEAL = TxType("agora.reveal", parse_reveal, execute_reveal)
TYPES = (BALLOT, VOTE, COMMIT, REVEAL)
