"""The marketplace's section of the genesis document (FORMAT.md §14, `"market"`).

    "market": {"arbiters": [{"name", "account"}, …]}

An arbiter decides the disputes of the listings that name it (market/orders.py,
`market.decide`): a provider may name only an account the federation
authorised here (governance will change the list later).
"""

from __future__ import annotations

from pydantic import model_validator

from ledger.encoding import encode
from ledger.genesis_section import GenesisSection, Member, key, no_account_twice
from ledger.state import Overlay
from market.records import arbiter_key


class MarketGenesis(GenesisSection):
    """The federation's arbiters of day one."""

    arbiters: list[Member] = []

    @model_validator(mode="after")
    def _consistent(self) -> MarketGenesis:
        no_account_twice("arbiter", self.arbiters)
        return self

    def canonical(self) -> tuple:
        return (tuple((m.name, key(m.account)) for m in self.arbiters),)

    def write(self, state: Overlay) -> None:
        for m in self.arbiters:
            state.put(arbiter_key(key(m.account)), encode((m.name,)))

    def known_keys(self) -> tuple[bytes, ...]:
        return tuple(key(m.account) for m in self.arbiters)
