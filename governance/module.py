"""The agora module's declaration (ledger/rules.py): its types, codes, state keys, genesis section (the
agora admins), end-of-block step (ballots opened, closed and tallied) and invariants (FORMAT.md §6.7)."""

from __future__ import annotations

from governance import ballots, posts, spaces
from governance.genesis import AgoraGenesis
from governance.invariants import check_agora
from governance.records import MODULE_NAME, PREFIX_AGORA
from governance.tally import end_block
from ledger.errors import Code
from ledger.rules import Module

MODULE = Module(
    name=MODULE_NAME,
    version=1,
    doc="spaces, proposals and comments (text off chain, its hash on), supports, one-identity-one-vote ballots",
    tx_types=(spaces.SPACE, *posts.TYPES, *ballots.TYPES),
    codes=(
        Code.AGORA_NOT_ADMIN, Code.SPACE_EXISTS, Code.UNKNOWN_SPACE, Code.NOT_SPACE_ELIGIBLE, Code.POST_EXISTS,
        Code.UNKNOWN_POST, Code.POST_NOT_VISIBLE, Code.NOT_POST_AUTHOR, Code.NOT_MODERATOR, Code.NOT_A_PROPOSAL,
        Code.ALREADY_SUPPORTED, Code.SUPPORT_WINDOW_CLOSED, Code.SUPPORTS_NOT_REACHED, Code.BALLOT_EXISTS,
        Code.UNKNOWN_BALLOT, Code.BALLOT_WINDOW, Code.WRONG_BALLOT_MODE, Code.UNKNOWN_OPTION, Code.NO_COMMITMENT,
        Code.REVEAL_MISMATCH,
    ),
    prefixes=(PREFIX_AGORA,),
    genesis=AgoraGenesis,
    end_block=end_block,
    invariants=check_agora,
)
