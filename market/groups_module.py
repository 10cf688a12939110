"""The purchase groups' module declaration (ledger/rules.py): module `gas`, its types, codes, state keys,
end-of-block step and invariants (FORMAT.md §6.6). Cashback to members needs nothing of it: the organiser,
as issuer or operator of a `purchase_group` class, issues with `credits.issue`."""

from __future__ import annotations

from ledger.errors import Code
from ledger.rules import Module
from market import groups, groups_record
from market.groups_invariants import check_groups
from market.groups_settle import end_block

GROUPS = Module(
    name=groups_record.MODULE_NAME,
    version=1,
    doc="purchase groups: pooled purchases on a listing, paid into escrow, settled at the deadline",
    tx_types=(groups.OPEN_GROUP, groups.JOIN, groups.LEAVE),
    codes=(
        Code.GROUP_EXISTS, Code.UNKNOWN_GROUP, Code.NOT_ORGANISATION, Code.LISTING_UNAVAILABLE,
        Code.TIER_ABOVE_PRICE, Code.DEADLINE_PASSED, Code.GROUP_FULL, Code.NOT_COMMITTED,
        Code.BAD_TERMS_SIGNATURE,
    ),
    prefixes=(groups_record.PREFIX_GAS,),
    end_block=end_block,
    invariants=check_groups,
)
