"""The route tables a node serves: its own, then each chain module's, in module order.

A chain module's routes live in a table of their own here (node/routes/<module>.py)
and are named below once; `tables_for` serves those of the modules in the
chain's rules (the vault's are added by node/vault_api.py).
"""

from __future__ import annotations

from genesis.rules import RULES
from ledger.rules import ChainRules
from node.routes import (
    accounts,
    agora,
    agora_budgets,
    blocks,
    credits,
    evidence,
    federation,
    gas,
    identities,
    market,
    search,
    service,
    txs,
)
from node.routes.table import RouteTable

NODE_TABLES: tuple[RouteTable, ...] = (service.routes, txs.routes, blocks.routes, accounts.routes, search.routes)
MODULE_TABLES: dict[str, tuple[RouteTable, ...]] = {
    "credits": (credits.routes,),
    "identity": (identities.routes,),
    "evidence": (evidence.routes,),
    "market": (market.routes,),
    "gas": (gas.routes,),
    "agora": (agora.routes, agora_budgets.routes),
    "federation": (federation.routes,),
}


def tables_for(rules: ChainRules) -> tuple[RouteTable, ...]:
    """The node's tables and those of every module in `rules`, in module order."""
    return NODE_TABLES + tuple(t for module in rules.modules for t in MODULE_TABLES.get(module.name, ()))


CORE: tuple[RouteTable, ...] = tables_for(RULES)
