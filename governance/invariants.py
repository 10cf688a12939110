"""The agora's invariants (FORMAT.md §9, "Agora invariants"), checked by the auditor on a replayed state.

The tally is computed once, by the end-of-block step, from counts that the
votes moved one at a time; here it is recomputed from the votes themselves,
so a counting bug shows as a named broken invariant:

- every ballot's counts are the recount of its votes (one record per
  identity: one vote per identity), and `cast` their sum;
- a public ballot's votes all carry an option and no commitment; a
  commit-then-reveal ballot's all carry a commitment, and none an option
  while it is scheduled or open (no partial tally before the closing);
- a decided or failed ballot's outcome is the rule applied to its counts;
  a ballot not final still has its due items (so the step will reach it);
- a ballot's proposal names it; every vote belongs to a ballot;
- every proposal's supports are the recount of its support records; a
  comment's parent exists in the same space; posts keep a 32-byte hash
  whatever their status, and only a hidden or erased post carries a reason.
"""

from __future__ import annotations

from governance import records as rec
from governance.records import COMMENT, DECIDED, FINAL, OPEN, PROPOSAL, SCHEDULED, Ballot
from ledger.deadlines import BY_TIME
from ledger.encoding import EncodingError
from ledger.invariants import InvariantBroken, StateScan
from ledger.state import StateReader

CHECK = "agora"


def _due(state: StateReader, at: int, item: bytes) -> bool:
    return state.get(BY_TIME + rec.MODULE_NAME.encode() + b"/" + at.to_bytes(8, "big") + item) is not None


def _ballot(ballot_id: bytes, raw: bytes) -> Ballot:
    try:
        ballot = rec.decode_ballot(raw)
    except (EncodingError, TypeError, ValueError) as exc:
        raise InvariantBroken(CHECK, f"ballot {ballot_id.hex()}: the record does not decode: {exc}") from None
    if ballot.status not in rec.BALLOT_STATUSES or len(ballot.counts) != len(ballot.options):
        raise InvariantBroken(CHECK, f"ballot {ballot_id.hex()}: status {ballot.status!r} or counts malformed")
    return ballot


def recount(scan: StateScan, ballot_id: bytes, ballot: Ballot) -> tuple[int, ...]:
    """The counts per option from the ballot's vote records, each checked against the ballot's mode."""
    counts = [0] * len(ballot.options)
    prefix = rec.vote_key(ballot_id, b"")
    name = f"ballot {ballot_id.hex()}"
    for key, raw in scan(prefix):
        voter = key[len(prefix):].hex()
        try:
            vote = rec.decode_vote(raw)
        except (EncodingError, TypeError) as exc:
            raise InvariantBroken(CHECK, f"{name}: the vote of identity {voter} does not decode: {exc}") from None
        if ballot.secret != (vote.commitment is not None):
            raise InvariantBroken(CHECK, f"{name}: the vote of identity {voter} does not match the ballot's mode")
        if vote.option is not None:
            if ballot.secret and ballot.status in (SCHEDULED, OPEN):
                raise InvariantBroken(CHECK, f"{name}: identity {voter}'s option is on the chain before the closing")
            if not 0 <= vote.option < len(counts):
                raise InvariantBroken(CHECK, f"{name}: identity {voter} voted option {vote.option}, not one of its")
            counts[vote.option] += 1
        elif not ballot.secret:
            raise InvariantBroken(CHECK, f"{name}: identity {voter}'s public vote has no option")
    return tuple(counts)


def _check_ballot(state: StateReader, scan: StateScan, ballot_id: bytes, ballot: Ballot) -> None:
    name = f"ballot {ballot_id.hex()} ({ballot.status})"
    counts = recount(scan, ballot_id, ballot)
    if counts != ballot.counts or ballot.cast != sum(counts):
        raise InvariantBroken(CHECK, f"{name}: stores counts {list(ballot.counts)} of {ballot.cast} identities, the "
                                     f"votes recount to {list(counts)}")
    if ballot.status in FINAL:
        outcome = rec.outcome_of(ballot)
        if outcome != ballot.outcome or (ballot.status == DECIDED) != (outcome is not None):
            raise InvariantBroken(CHECK, f"{name}: stores outcome {ballot.outcome}, its counts decide {outcome}")
    else:
        if ballot.outcome is not None:
            raise InvariantBroken(CHECK, f"{name}: has an outcome before its tally")
        due = [(ballot.closes_ms, rec.CLOSE_ITEM)] if ballot.status in (SCHEDULED, OPEN) else []
        due += [(ballot.opens_ms, rec.OPEN_ITEM)] if ballot.status == SCHEDULED else []
        due += [(ballot.reveal_until_ms, rec.REVEAL_END_ITEM)] if ballot.secret else []
        if not all(_due(state, at, rec.item(kind, ballot_id)) for at, kind in due):
            raise InvariantBroken(CHECK, f"{name}: is not due at its opening, closing or end of reveals")
    if ballot.status == SCHEDULED and (ballot.eligible or ballot.cast):
        raise InvariantBroken(CHECK, f"{name}: counted an electorate or votes before opening")
    proposal = rec.get_post(state, ballot.proposal_id)
    if proposal is None or proposal.ballot_id != ballot_id or proposal.space_id != ballot.space_id:
        raise InvariantBroken(CHECK, f"{name}: its proposal {ballot.proposal_id.hex()} does not name it")


def _check_posts(state: StateReader, scan: StateScan) -> int:
    count = 0
    for key, raw in scan(rec.PREFIX_POST):
        post_id = key[len(rec.PREFIX_POST):]
        name = f"post {post_id.hex()}"
        try:
            post = rec.decode_post(raw)
        except (EncodingError, TypeError) as exc:
            raise InvariantBroken(CHECK, f"{name}: the record does not decode: {exc}") from None
        if post.status not in rec.POST_STATUSES or type(post.text_hash) is not bytes or len(post.text_hash) != 32:
            raise InvariantBroken(CHECK, f"{name}: status {post.status!r}, or its text hash is gone")
        if bool(post.reason) and post.status == rec.VISIBLE:
            raise InvariantBroken(CHECK, f"{name}: visible with a moderator's reason")
        if rec.get_space(state, post.space_id) is None:
            raise InvariantBroken(CHECK, f"{name}: its space {post.space_id.hex()} does not exist")
        if post.kind == COMMENT:
            parent = None if post.parent is None else rec.get_post(state, post.parent)
            if parent is None or parent.space_id != post.space_id or post.supports or post.ballot_id is not None:
                raise InvariantBroken(CHECK, f"{name}: a comment whose parent is not in its space, or with supports "
                                             "or a ballot")
        elif post.kind == PROPOSAL:
            supports = sum(1 for _ in scan(rec.support_key(post_id, b"")))
            if supports != post.supports or post.parent is not None:
                raise InvariantBroken(CHECK, f"{name}: says {post.supports} supports, {supports} support records")
        else:
            raise InvariantBroken(CHECK, f"{name}: kind {post.kind!r}")
        count += 1
    for key, _ in scan(rec.PREFIX_SUPPORT):
        post_id = key[len(rec.PREFIX_SUPPORT):len(rec.PREFIX_SUPPORT) + rec.ID_LEN]
        if rec.get_post(state, post_id) is None:
            raise InvariantBroken(CHECK, f"a support of post {post_id.hex()}, which does not exist")
    return count


def check_agora(state: StateReader, scan: StateScan, chain_id: str = "", height: int = 0) -> int:
    """Every post, support, ballot and vote; returns how many posts and ballots were checked."""
    count = _check_posts(state, scan)
    for key, raw in scan(rec.PREFIX_BALLOT):
        ballot_id = key[len(rec.PREFIX_BALLOT):]
        _check_ballot(state, scan, ballot_id, _ballot(ballot_id, raw))
        count += 1
    for key, _ in scan(rec.PREFIX_VOTE):
        ballot_id = key[len(rec.PREFIX_VOTE):len(rec.PREFIX_VOTE) + rec.ID_LEN]
        if state.get(rec.ballot_key(ballot_id)) is None:
            raise InvariantBroken(CHECK, f"a vote in ballot {ballot_id.hex()}, which does not exist")
    return count
