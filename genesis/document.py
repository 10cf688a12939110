"""The genesis document: the chain's first state, agreed by every member before block 1.

It is JSON for people (addresses in text form, amounts as integers in minor
units), validated with pydantic so that a mistake is named before any node
starts. Its hash is SHA-256 of the canonical encoding of `canonical_tuple()`
(FORMAT.md, "Genesis"): block 1's prev_hash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from identity import records as identity_records
from ledger import accounts, chain, credit_rules, credits
from ledger.address import AddressError, from_address
from ledger.chain import ChainParams
from ledger.crypto import sha256
from ledger.encoding import encode
from ledger.errors import TxError
from ledger.fields import MAX_AMOUNT
from ledger.state import DictState, Overlay

CHAIN_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,47}$"
PREFIX_REGISTRAR = identity_records.PREFIX_REGISTRAR


class GenesisError(ValueError):
    """The genesis document is invalid; the message names the field."""


def _address(value: str) -> str:
    try:
        from_address(value)
    except AddressError as exc:
        raise ValueError(str(exc)) from exc
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Params(_Strict):
    max_block_txs: int = Field(default=ChainParams().max_block_txs, ge=1, le=100_000)
    max_block_bytes: int = Field(default=ChainParams().max_block_bytes, ge=1024, le=64 * 1024 * 1024)
    max_tx_bytes: int = Field(default=ChainParams().max_tx_bytes, ge=256, le=1024 * 1024)
    max_nonce_gap: int = Field(default=ChainParams().max_nonce_gap, ge=1, le=100_000)
    recovery_delay_blocks: int = Field(default=ChainParams().recovery_delay_blocks, ge=1, le=10_000_000)
    max_due_per_block: int = Field(default=ChainParams().max_due_per_block, ge=1, le=1_000_000)

    def to_chain_params(self) -> ChainParams:
        return ChainParams(
            self.max_block_txs, self.max_block_bytes, self.max_tx_bytes, self.max_nonce_gap, self.recovery_delay_blocks,
            self.max_due_per_block,
        )


class Validator(_Strict):
    name: str = Field(min_length=1, max_length=64)
    pubkey: str
    api: str = ""
    p2p: str = ""

    _check = field_validator("pubkey")(_address)


class Observer(_Strict):
    """A non-voting node that validators accept as a peer; it follows the chain and serves an API."""

    name: str = Field(min_length=1, max_length=64)
    pubkey: str
    p2p: str = ""

    _check = field_validator("pubkey")(_address)


class Member(_Strict):
    name: str = Field(min_length=1, max_length=64)
    account: str

    _check = field_validator("account")(_address)


class AttesterSpec(_Strict):
    """Who may attest what: exact attributes (`employee:acme`) or prefixes ending in `*` (`resident:*`)."""

    name: str = Field(min_length=1, max_length=identity_records.MAX_ATTESTER_NAME)
    account: str
    attributes: list[str] = Field(min_length=1, max_length=identity_records.MAX_PATTERNS)

    _check = field_validator("account")(_address)

    @field_validator("attributes")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not identity_records.is_pattern(pattern):
                raise ValueError(
                    f"attribute pattern {pattern!r} must be an attribute [a-z0-9-]+:[a-z0-9+._-]+ or a prefix "
                    "[a-z0-9-]+:[a-z0-9+._-]* followed by *, at most 64 bytes"
                )
        if len(set(value)) != len(value):
            raise ValueError("an attribute pattern appears twice")
        return value


class ClassSpec(_Strict):
    """A credit class; the rule fields default to today's open community credit (FORMAT.md §14)."""

    id: str = Field(pattern=credits.CLASS_ID.pattern)
    name: str = Field(min_length=1, max_length=credits.MAX_NAME)
    issuer: str
    decimals: int = Field(ge=0, le=credits.MAX_DECIMALS)
    kind: Literal["welfare", "purchase_group", "virtue", "community"] = "community"
    eligibility: list[str] = Field(default=[], max_length=credit_rules.MAX_ELIGIBILITY)
    transferability: Literal["p2p", "spend_only"] = "p2p"
    categories: list[str] = Field(default=[], max_length=credit_rules.MAX_CATEGORIES)
    valid_from_ms: int = Field(default=0, ge=0, le=MAX_AMOUNT)
    valid_until_ms: int = Field(default=0, ge=0, le=MAX_AMOUNT)
    holder_cap: int = Field(default=0, ge=0, le=MAX_AMOUNT)
    budget: int = Field(default=0, ge=0, le=MAX_AMOUNT)
    description_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    _check = field_validator("issuer")(_address)

    @model_validator(mode="after")
    def _rules(self) -> ClassSpec:
        try:
            credits.id_list(tuple(self.eligibility), "eligibility", credit_rules.ATTRIBUTE, credit_rules.MAX_ELIGIBILITY)
            credits.id_list(tuple(self.categories), "categories", credit_rules.CATEGORY, credit_rules.MAX_CATEGORIES)
        except TxError as exc:
            raise ValueError(exc.message) from None
        if self.valid_from_ms and self.valid_until_ms and self.valid_until_ms <= self.valid_from_ms:
            raise ValueError("valid_until_ms must be after valid_from_ms")
        return self

    def record(self) -> credits.CreditClass:
        """The class record with empty books, as credits.create_class would write it."""
        return credits.CreditClass(
            from_address(self.issuer), self.name, self.decimals, self.kind, tuple(self.eligibility),
            self.transferability, tuple(self.categories), self.valid_from_ms, self.valid_until_ms,
            self.holder_cap, self.budget, None if self.description_hash is None else bytes.fromhex(self.description_hash),
        )


class Balance(_Strict):
    account: str
    class_: str = Field(alias="class")
    amount: int = Field(gt=0, le=MAX_AMOUNT)

    _check = field_validator("account")(_address)


class Genesis(_Strict):
    chain_id: str = Field(pattern=CHAIN_ID_PATTERN)
    genesis_time_ms: int = Field(ge=0, lt=2**63)
    params: Params = Params()
    validators: list[Validator] = Field(min_length=1)
    observers: list[Observer] = []
    registrars: list[Member] = []
    attesters: list[AttesterSpec] = []
    issuers: list[Member] = []
    classes: list[ClassSpec] = []
    balances: list[Balance] = []

    @model_validator(mode="after")
    def _consistent(self) -> Genesis:
        keys = [v.pubkey for v in self.validators]
        if len(set(keys)) != len(keys):
            raise ValueError("a validator key appears twice")
        observers = [o.pubkey for o in self.observers]
        if len(set(observers)) != len(observers) or set(observers) & set(keys):
            raise ValueError("an observer key appears twice, or is also a validator key")
        for role, members in (("issuer", self.issuers), ("registrar", self.registrars), ("attester", self.attesters)):
            seen_accounts: set[str] = set()
            for m in members:
                if m.account in seen_accounts:
                    raise ValueError(f"{role} {m.account} appears twice")
                seen_accounts.add(m.account)
        ids = [c.id for c in self.classes]
        if len(set(ids)) != len(ids):
            raise ValueError("a credit class id appears twice")
        issuers = {i.account for i in self.issuers}
        for spec in self.classes:
            if spec.issuer not in issuers:
                raise ValueError(f"class {spec.id}: its issuer is not among the issuers")
        specs = {c.id: c for c in self.classes}
        supply: dict[str, int] = {}
        seen = set()
        for bal in self.balances:
            if bal.class_ not in ids:
                raise ValueError(f"balance of {bal.account}: unknown class {bal.class_}")
            if (bal.account, bal.class_) in seen:
                raise ValueError(f"balance of {bal.account} in {bal.class_} appears twice")
            seen.add((bal.account, bal.class_))
            spec = specs[bal.class_]
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

    # --- canonical form, hash and state -------------------------------------

    def canonical_tuple(self) -> tuple:
        return (
            1,
            self.chain_id,
            self.genesis_time_ms,
            tuple(self.params.to_chain_params()),
            tuple((v.name, from_address(v.pubkey), v.api, v.p2p) for v in self.validators),
            tuple((m.name, from_address(m.account)) for m in self.registrars),
            tuple((m.name, from_address(m.account)) for m in self.issuers),
            tuple((c.id, c.name, from_address(c.issuer), c.decimals, *c.record()[3:12]) for c in self.classes),
            tuple((from_address(b.account), b.class_, b.amount) for b in self.balances),
            tuple((o.name, from_address(o.pubkey), o.p2p) for o in self.observers),
            tuple((a.name, from_address(a.account), tuple(a.attributes)) for a in self.attesters),
        )

    def hash(self) -> bytes:
        return sha256(encode(self.canonical_tuple()))

    def initial_state(self) -> dict[bytes, bytes]:
        """The state at height 0, built with the same record functions the transition uses."""
        overlay = Overlay(DictState())
        chain.set_params(overlay, self.params.to_chain_params())
        chain.set_validators(overlay, tuple(from_address(v.pubkey) for v in self.validators))
        chain.set_observers(overlay, tuple(from_address(o.pubkey) for o in self.observers))
        for m in self.registrars:
            overlay.put(PREFIX_REGISTRAR + from_address(m.account), encode((m.name,)))
        for a in self.attesters:
            attester = identity_records.Attester(a.name, tuple(a.attributes))
            overlay.put(identity_records.attester_key(from_address(a.account)), attester.encode())
        for m in self.issuers:
            overlay.put(credits.issuer_key(from_address(m.account)), encode((m.name,)))
        for c in self.classes:
            credits.create_class(overlay, c.id, c.record())
        for b in self.balances:
            credits.mint(overlay, b.class_, from_address(b.account), b.amount)  # makes the holder known
        for key in self.role_keys():
            accounts.ensure_known(overlay, key)
        return {k: v for k, v in overlay.changes().items() if v is not None}

    def role_keys(self) -> list[bytes]:
        """Every key genesis gives a role: the chain knows them from height 0 (FORMAT.md §14), so
        that they may sign (a validator's evidence, a registrar's first registration, ...)."""
        return [from_address(text) for text in (
            *(v.pubkey for v in self.validators), *(o.pubkey for o in self.observers),
            *(m.account for m in self.registrars), *(a.account for a in self.attesters),
            *(m.account for m in self.issuers),
        )]

    def to_json(self) -> str:
        return json.dumps(self.model_dump(by_alias=True), indent=2) + "\n"


def parse_genesis(text: str) -> Genesis:
    try:
        return Genesis.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise GenesisError(f"invalid genesis ({where}): {first['msg']}") from exc


def load_genesis(path: str | Path) -> Genesis:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise GenesisError(f"cannot read genesis file {path}: {exc.strerror}") from exc
    return parse_genesis(text)
