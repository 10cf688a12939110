"""The marketplace module's declaration (ledger/rules.py): its types, codes, state keys, genesis
section (the authorised arbiters), end-of-block step (orders nobody acted on in time) and invariants."""

from __future__ import annotations

from ledger.errors import Code
from ledger.rules import Module
from market import listings, orders, reviews
from market.genesis import MarketGenesis
from market.invariants import check_market
from market.records import PREFIX_MARKET

MODULE = Module(
    name=orders.MODULE,
    version=1,
    doc="listings of the federation's providers, orders paid into escrow, disputes decided by arbiters, reviews",
    tx_types=(*listings.TYPES, *orders.TYPES, *reviews.TYPES),
    codes=(
        Code.LISTING_EXISTS, Code.UNKNOWN_LISTING, Code.NOT_LISTING_OWNER, Code.LISTING_WITHDRAWN,
        Code.LISTING_NOT_ACTIVE, Code.LISTING_NOT_PAUSED, Code.LISTING_NOT_OPEN, Code.CLASS_NOT_ACCEPTED,
        Code.QUANTITY_UNAVAILABLE, Code.LISTING_KIND_MISMATCH, Code.NOT_ARBITER, Code.ORDER_EXISTS,
        Code.UNKNOWN_ORDER, Code.NOT_ORDER_PARTY, Code.WRONG_ORDER_STATUS, Code.ACCEPT_WINDOW_CLOSED,
        Code.DISPUTE_WINDOW_CLOSED, Code.DECISION_OVER_TOTAL, Code.REVIEW_EXISTS, Code.UNKNOWN_REVIEW,
    ),
    prefixes=(PREFIX_MARKET,),
    genesis=MarketGenesis,
    end_block=orders.end_block,
    invariants=check_market,
)
