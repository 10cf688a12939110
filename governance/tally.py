"""A ballot opened, closed and tallied by the end-of-block step, never by a person (FORMAT.md §6.7, §12.3).

`agora.ballot` schedules the ballot's items by block time (ledger/deadlines.py):
its opening (unless it opened at once), its closing and, for commit-then-reveal,
the end of its reveal window. Each item is small, fixed work whatever the
number of voters: the counts per option are kept by the votes and reveals, so
the tally only applies the rule (governance/records.py `outcome_of`) to them
and stores the outcome. The auditor recounts the votes (governance/invariants.py).
"""

from __future__ import annotations

from governance import records as rec
from governance.ballots import opened
from governance.records import DECIDED, FAILED, FINAL, OPEN, REVEALING, Ballot
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext


def _tallied(ctx: ExecContext, ballot_id: bytes, ballot: Ballot) -> None:
    outcome = rec.outcome_of(ballot)
    ballot = ballot._replace(status=DECIDED if outcome is not None else FAILED, outcome=outcome)
    ctx.state.put(rec.ballot_key(ballot_id), ballot.encode())


def end_block(ctx: ExecContext, item: bytes) -> None:
    """The module's end-of-block step on one due item (ledger/rules.py `Module.end_block`)."""
    kind, ballot_id = item[:1], item[1:]
    ballot = rec.get_ballot(ctx.state, ballot_id) if len(ballot_id) == rec.ID_LEN else None
    if ballot is None or kind not in (rec.OPEN_ITEM, rec.CLOSE_ITEM, rec.REVEAL_END_ITEM):
        raise TxError(Code.UNKNOWN_BALLOT, f"not a ballot's due item: {item.hex()}")  # only this module writes them
    if ballot.status in FINAL:
        return
    ballot = opened(ctx, ballot_id, ballot)  # an opening item carried over to this block, or never reached
    if kind == rec.CLOSE_ITEM and ballot.secret:
        if ballot.status == OPEN:
            ctx.state.put(rec.ballot_key(ballot_id), ballot._replace(status=REVEALING).encode())
    elif kind != rec.OPEN_ITEM:
        _tallied(ctx, ballot_id, ballot)
