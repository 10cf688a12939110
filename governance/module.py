"""The agora module's declaration (ledger/rules.py): its types, codes, state keys, genesis section (the
agora admins), end-of-block step (ballots opened, closed and tallied; participatory budgets closed) and
invariants (FORMAT.md §6.7)."""

from __future__ import annotations

from governance import ballots, budgets, posts, spaces, tally
from governance.budget_close import close_budget
from governance.budget_records import CLOSE_BUDGET_ITEM
from governance.genesis import AgoraGenesis
from governance.invariants import check_agora
from governance.records import MODULE_NAME, PREFIX_AGORA
from ledger.errors import Code
from ledger.handlers import ExecContext
from ledger.rules import Module


def end_block(ctx: ExecContext, item: bytes) -> None:
    """One due item of the agora: a budget's closing (b"b" ‖ budget_id), else a ballot's (governance/tally.py)."""
    if item[:1] == CLOSE_BUDGET_ITEM:
        close_budget(ctx, item[1:])
    else:
        tally.end_block(ctx, item)


MODULE = Module(
    name=MODULE_NAME,
    version=1,
    doc="spaces, proposals and comments (text off chain, its hash on), supports, one-identity-one-vote ballots, "
        "participatory budgets",
    tx_types=(spaces.SPACE, *posts.TYPES, *ballots.TYPES, *budgets.TYPES),
    codes=(
        Code.AGORA_NOT_ADMIN, Code.SPACE_EXISTS, Code.UNKNOWN_SPACE, Code.NOT_SPACE_ELIGIBLE, Code.POST_EXISTS,
        Code.UNKNOWN_POST, Code.POST_NOT_VISIBLE, Code.NOT_POST_AUTHOR, Code.NOT_MODERATOR, Code.NOT_A_PROPOSAL,
        Code.ALREADY_SUPPORTED, Code.SUPPORT_WINDOW_CLOSED, Code.SUPPORTS_NOT_REACHED, Code.BALLOT_EXISTS,
        Code.UNKNOWN_BALLOT, Code.BALLOT_WINDOW, Code.WRONG_BALLOT_MODE, Code.UNKNOWN_OPTION, Code.NO_COMMITMENT,
        Code.REVEAL_MISMATCH, Code.BUDGET_EXISTS, Code.UNKNOWN_BUDGET, Code.BUDGET_WINDOW, Code.PROJECT_EXISTS,
        Code.UNKNOWN_PROJECT, Code.TOO_MANY_PROJECTS, Code.OVER_BUDGET, Code.TOO_MANY_OWN_PROJECTS,
    ),
    prefixes=(PREFIX_AGORA,),
    genesis=AgoraGenesis,
    end_block=end_block,
    invariants=check_agora,
)
