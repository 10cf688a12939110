"""The route tables every node serves (the vault's and the chain modules' are added to these)."""

from __future__ import annotations

from node.routes import accounts, blocks, credits, evidence, identities, service, txs
from node.routes.table import RouteTable

CORE: tuple[RouteTable, ...] = (
    service.routes,
    txs.routes,
    blocks.routes,
    accounts.routes,
    credits.routes,
    identities.routes,
    evidence.routes,
)
