"""The agora's section of the genesis document (FORMAT.md §14, `"agora"`).

    "agora": {"admins": [{"name", "account"}, …]}

An agora admin creates spaces (`agora.space`, FORMAT.md §6.7) and says in
each who may take part and who moderates it; it has no other power. The
list is fixed in genesis in this version: the federation changing it by
vote is a later part of the governance module (issue 15).
"""

from __future__ import annotations

from pydantic import model_validator

from governance.records import admin_key
from ledger.encoding import encode
from ledger.genesis_section import GenesisSection, Member, key, no_account_twice
from ledger.state import Overlay


class AgoraGenesis(GenesisSection):
    """The federation's agora admins of day one."""

    admins: list[Member] = []

    @model_validator(mode="after")
    def _consistent(self) -> AgoraGenesis:
        no_account_twice("agora admin", self.admins)
        return self

    def canonical(self) -> tuple:
        return (tuple((m.name, key(m.account)) for m in self.admins),)

    def write(self, state: Overlay) -> None:
        for m in self.admins:
            state.put(admin_key(key(m.account)), encode((m.name,)))

    def known_keys(self) -> tuple[bytes, ...]:
        return tuple(key(m.account) for m in self.admins)
