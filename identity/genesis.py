"""The identity module's section of the genesis document (FORMAT.md §14, `"identity"`).

    "identity": {"registrars": [{"name", "account"}, …],
                 "attesters":  [{"name", "account", "attributes": [pattern, …]}, …]}

Registrars and attesters exist only from genesis (governance will change
them): a registrar registers identities and accredits providers for the
federation, an attester attests the attributes its patterns cover (§6.4.5).
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from identity import records
from ledger.encoding import encode
from ledger.genesis_section import (
    Address,
    GenesisSection,
    Member,
    StrictObject,
    key,
    no_account_twice,
    utf8_text,
)
from ledger.state import Overlay

AttesterName = utf8_text(1, records.MAX_ATTESTER_NAME)


class AttesterSpec(StrictObject):
    """Who may attest what: exact attributes (`employee:acme`) or prefixes ending in `*` (`resident:*`)."""

    name: AttesterName
    account: Address
    attributes: list[str] = Field(min_length=1, max_length=records.MAX_PATTERNS)

    @field_validator("attributes")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not records.is_pattern(pattern):
                raise ValueError(
                    f"attribute pattern {pattern!r} must be an attribute [a-z0-9-]+:[a-z0-9+._-]+ or a prefix "
                    "[a-z0-9-]+:[a-z0-9+._-]* followed by *, at most 64 bytes"
                )
        if len(set(value)) != len(value):
            raise ValueError("an attribute pattern appears twice")
        return value


class IdentityGenesis(GenesisSection):
    """The federation's registrars and attesters of day one."""

    registrars: list[Member] = []
    attesters: list[AttesterSpec] = []

    @model_validator(mode="after")
    def _consistent(self) -> IdentityGenesis:
        no_account_twice("registrar", self.registrars)
        no_account_twice("attester", self.attesters)
        return self

    def canonical(self) -> tuple:
        return (
            tuple((m.name, key(m.account)) for m in self.registrars),
            tuple((a.name, key(a.account), tuple(a.attributes)) for a in self.attesters),
        )

    def write(self, state: Overlay) -> None:
        for m in self.registrars:
            state.put(records.registrar_key(key(m.account)), encode((m.name,)))
        for a in self.attesters:
            state.put(records.attester_key(key(a.account)), records.Attester(a.name, tuple(a.attributes)).encode())

    def known_keys(self) -> tuple[bytes, ...]:
        return (*(key(m.account) for m in self.registrars), *(key(a.account) for a in self.attesters))
