"""The federation module's declaration (ledger/rules.py): how the validators change the set, the roles and
the chain parameters by a proposal more than two thirds of them approve (FORMAT.md §6.8)."""

from __future__ import annotations

from governance.federation import TYPES, end_block
from governance.federation_invariants import check_federation
from governance.federation_records import MODULE_NAME, PREFIX_FED
from ledger.errors import Code
from ledger.rules import Module

MODULE = Module(
    name=MODULE_NAME,
    version=1,
    doc="the validators change the set, the roles and the chain parameters by a 2/3 vote, at a stated height",
    tx_types=TYPES,
    codes=(
        Code.NOT_VALIDATOR, Code.PROPOSAL_EXISTS, Code.UNKNOWN_PROPOSAL, Code.ALREADY_APPROVED, Code.PROPOSAL_CLOSED,
        Code.EFFECTIVE_HEIGHT_OUT_OF_RANGE, Code.CHANGE_REFUSED, Code.TOO_MANY_OPEN_PROPOSALS,
    ),
    prefixes=(PREFIX_FED,),
    end_block=end_block,
    invariants=check_federation,
)
