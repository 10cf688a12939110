"""The chain's rules: the one ordered list of modules every program takes them from.

The node, the mempool, the auditor, the exporter, the wallet, genesis and the
benchmarks all use `RULES`, passed in explicitly (docs/architecture.md). The
order is the order of the end-of-block steps and of the genesis sections;
adding a module is one line here, its own folder, and FORMAT.md.
"""

from __future__ import annotations

from governance.module import MODULE as AGORA
from identity.module import MODULE as IDENTITY
from ledger.credit_txs import MODULE as CREDITS
from ledger.evidence import MODULE as EVIDENCE
from ledger.rules import ChainRules
from market.groups_module import GROUPS
from market.module import MODULE as MARKET

MODULES = (
    CREDITS,
    IDENTITY,
    EVIDENCE,
    MARKET,
    GROUPS,
    AGORA,
)
RULES = ChainRules(MODULES)
