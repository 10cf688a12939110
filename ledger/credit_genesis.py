"""The credits module's section of the genesis document (FORMAT.md §14, `"credits"`).

    "credits": {"issuers":  [{"name", "account"}, …],
                "classes":  [{"id", "name", "issuer", "decimals", rule fields …}, …],
                "balances": [{"account", "class", "amount"}, …]}

A genesis class obeys the one rule of a class definition, the same function
`credits.create_class` parses its body with (ledger/credits.py), so the
document and the transaction cannot disagree on what a class may be. Genesis
balances are issued by the books' own `mint` (caps and budget counted) and
skip the window, eligibility and freeze rules: no identity exists yet, so a
class with eligibility rules gets no balance at genesis.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from ledger import credits
from ledger.encoding import encode
from ledger.errors import TxError
from ledger.fields import MAX_AMOUNT
from ledger.genesis_section import (
    Address,
    GenesisSection,
    Member,
    StrictObject,
    key,
    no_account_twice,
)
from ledger.state import Overlay


class ClassSpec(StrictObject):
    """A credit class; the rule fields default to an open community credit."""

    id: str
    name: str
    issuer: Address
    decimals: int
    kind: str = "community"
    eligibility: list[str] = []
    transferability: str = "p2p"
    categories: list[str] = []
    valid_from_ms: int = 0
    valid_until_ms: int = 0
    holder_cap: int = 0
    budget: int = 0
    description_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    face_value: int = 0
    voucher_cap: int = 0

    @model_validator(mode="after")
    def _one_rule(self) -> ClassSpec:
        try:
            self.definition()
        except TxError as exc:
            raise ValueError(f"class {self.id!r}: {exc.message}") from None
        return self

    def definition(self) -> credits.ClassDefinition:
        """Checked by `credits.parse_class_definition`, as a `credits.create_class` body would be."""
        return credits.parse_class_definition((
            self.id, self.name, self.decimals, self.kind, tuple(self.eligibility), self.transferability,
            tuple(self.categories), self.valid_from_ms, self.valid_until_ms, self.holder_cap, self.budget,
            None if self.description_hash is None else bytes.fromhex(self.description_hash),
            self.face_value, self.voucher_cap,
        ))


class Balance(StrictObject):
    account: Address
    class_: str = Field(alias="class")
    amount: int = Field(gt=0, le=MAX_AMOUNT)


class CreditsGenesis(GenesisSection):
    """Who may create classes, the classes of day one, and what their holders start with."""

    issuers: list[Member] = []
    classes: list[ClassSpec] = []
    balances: list[Balance] = []

    @model_validator(mode="after")
    def _consistent(self) -> CreditsGenesis:
        no_account_twice("issuer", self.issuers)
        specs: dict[str, ClassSpec] = {}
        issuers = {m.account for m in self.issuers}
        for spec in self.classes:
            if spec.id in specs:
                raise ValueError(f"the credit class id {spec.id} appears twice")
            specs[spec.id] = spec
            if spec.issuer not in issuers:
                raise ValueError(f"class {spec.id}: its issuer is not among the issuers")
        supply: dict[str, int] = {}
        seen: set[tuple[str, str]] = set()
        for bal in self.balances:
            spec = specs.get(bal.class_)
            if spec is None:
                raise ValueError(f"balance of {bal.account}: unknown class {bal.class_}")
            if (bal.account, bal.class_) in seen:
                raise ValueError(f"balance of {bal.account} in {bal.class_} appears twice")
            seen.add((bal.account, bal.class_))
            if spec.eligibility:
                raise ValueError(f"balance of {bal.account}: class {bal.class_} has eligibility rules, "
                                 "which no account meets before identities are registered")
            if spec.holder_cap and bal.amount > spec.holder_cap:
                raise ValueError(f"balance of {bal.account}: above the holder cap of class {bal.class_}")
            supply[bal.class_] = supply.get(bal.class_, 0) + bal.amount
            if supply[bal.class_] > MAX_AMOUNT:
                raise ValueError(f"class {bal.class_}: genesis supply overflows")
            if spec.budget and supply[bal.class_] > spec.budget:
                raise ValueError(f"class {bal.class_}: genesis balances exceed its budget")
        return self

    def canonical(self) -> tuple:
        return (
            tuple((m.name, key(m.account)) for m in self.issuers),
            tuple((c.id, c.name, key(c.issuer), *c.definition()[2:]) for c in self.classes),
            tuple((key(b.account), b.class_, b.amount) for b in self.balances),
        )

    def write(self, state: Overlay) -> None:
        for m in self.issuers:
            state.put(credits.issuer_key(key(m.account)), encode((m.name,)))
        for c in self.classes:
            credits.create_class(state, c.id, c.definition().record(key(c.issuer)))
        for b in self.balances:
            credits.mint(state, b.class_, key(b.account), b.amount)  # makes the holder known

    def known_keys(self) -> tuple[bytes, ...]:
        return tuple(key(m.account) for m in self.issuers)
