"""The genesis document: the chain's first state, agreed by every member before block 1.

It is JSON for people (addresses in text form, amounts as integers in minor
units), read strictly (ledger/genesis_section.py, FORMAT.md §14) so that a
mistake is named before any node starts and two readers of one file agree on
whether it is valid and on its hash. The document has the core's keys
(chain id, time, the module list, parameters, validators, observers) and,
under each module's name, that module's section, declared by the module
itself (`Module.genesis`, ledger/rules.py): this file composes them in the
order of the rules it is given and knows none of their fields.

The document names the chain's modules and their versions (`"modules"`), in
its canonical form and so in its hash: a program whose rules are another
list refuses the document (`RulesMismatch`) instead of following the chain
with other rules. Its hash is SHA-256 of the canonical encoding of
`canonical_tuple()` (FORMAT.md §14): block 1's prev_hash.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, ValidationError, create_model, model_validator

from genesis.rules import RULES
from ledger import accounts, chain
from ledger.chain import PARAM_BOUNDS, ChainParams
from ledger.crypto import sha256
from ledger.encoding import encode
from ledger.genesis_section import Address, GenesisSection, Name, StrictObject, key
from ledger.rules import ChainRules, Module, RulesError
from ledger.state import DictState, Overlay

CHAIN_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,47}$"
GENESIS_VERSION = 1  # the first field of the canonical form


class GenesisError(ValueError):
    """The genesis document is invalid; the message names the field."""


class RulesMismatch(GenesisError):
    """The document names other modules (or versions) than the program's rules: another program's chain."""


def _param(name: str) -> Any:
    """A parameter's field: its default (ledger/chain.py ChainParams) and its range (chain.PARAM_BOUNDS)."""
    low, high = PARAM_BOUNDS[name]
    return Field(default=ChainParams._field_defaults[name], ge=low, le=high)


class Params(StrictObject):
    """The chain's parameters (FORMAT.md §14.2). The five timeouts are the consensus round timeouts
    (docs/consensus.md, "Timeouts"): a document that leaves them out has the defaults, and its canonical
    form (so its hash) is the one it had before timeouts were parameters (§14.3)."""

    max_block_txs: int = _param("max_block_txs")
    max_block_bytes: int = _param("max_block_bytes")
    max_tx_bytes: int = _param("max_tx_bytes")
    max_nonce_gap: int = _param("max_nonce_gap")
    recovery_delay_blocks: int = _param("recovery_delay_blocks")
    max_due_per_block: int = _param("max_due_per_block")
    timeout_propose_ms: int = _param("timeout_propose_ms")
    timeout_prevote_ms: int = _param("timeout_prevote_ms")
    timeout_precommit_ms: int = _param("timeout_precommit_ms")
    timeout_delta_ms: int = _param("timeout_delta_ms")
    timeout_max_ms: int = _param("timeout_max_ms")

    @model_validator(mode="after")
    def _timeouts(self) -> Params:
        problem = chain.timeouts_problem(self.to_chain_params())
        if problem is not None:
            raise ValueError(problem.replace("would exceed", "exceeds"))
        return self

    def to_chain_params(self) -> ChainParams:
        return ChainParams(**{name: getattr(self, name) for name in ChainParams._fields})


class Validator(StrictObject):
    name: Name
    pubkey: Address
    api: str = ""
    p2p: str = ""


class Observer(StrictObject):
    """A non-voting node that validators accept as a peer; it follows the chain and serves an API."""

    name: Name
    pubkey: Address
    p2p: str = ""


class Genesis(StrictObject):
    """The core of the document; `document_model(rules)` adds one field per module section.

    Build it with `parse_genesis` / `load_genesis` (never `model_validate`):
    they apply the JSON rules and give the class of the rules in force.
    """

    rules: ClassVar[ChainRules] = RULES

    chain_id: str = Field(pattern=CHAIN_ID_PATTERN)
    genesis_time_ms: int = Field(ge=0, lt=2**63)
    modules: list[tuple[str, int]]
    params: Params = Params()
    validators: list[Validator] = Field(min_length=1)
    observers: list[Observer] = []

    @model_validator(mode="after")
    def _consistent(self) -> Genesis:
        if tuple(self.modules) != self.rules.identity:
            raise RulesMismatch(mismatch_message(tuple(self.modules), self.rules))
        keys = [v.pubkey for v in self.validators]
        if len(set(keys)) != len(keys):
            raise ValueError("a validator key appears twice")
        observers = [o.pubkey for o in self.observers]
        if len(set(observers)) != len(observers) or set(observers) & set(keys):
            raise ValueError("an observer key appears twice, or is also a validator key")
        return self

    # --- the sections, in module order ----------------------------------------------------------

    def sections(self) -> list[tuple[Module, GenesisSection | None]]:
        """Each module of the rules with its section (None for a module that has none)."""
        return [(m, None if m.genesis is None else getattr(self, m.name)) for m in self.rules.modules]

    def section(self, module: str) -> Any:
        """The section of one module (e.g. `section("credits").balances`); KeyError if it has none."""
        for m, section in self.sections():
            if m.name == module and section is not None:
                return section
        raise KeyError(f"no module {module!r} with a genesis section in these rules")

    # --- canonical form, hash and state ---------------------------------------------------------

    def canonical_tuple(self) -> tuple:
        return (
            GENESIS_VERSION,
            self.chain_id,
            self.genesis_time_ms,
            self.params.to_chain_params().canonical(),
            tuple((v.name, key(v.pubkey), v.api, v.p2p) for v in self.validators),
            tuple((o.name, key(o.pubkey), o.p2p) for o in self.observers),
            tuple((m.name, m.version, None if s is None else s.canonical()) for m, s in self.sections()),
        )

    def hash(self) -> bytes:
        return sha256(encode(self.canonical_tuple()))

    def initial_state(self) -> dict[bytes, bytes]:
        """The state at height 0: the core's records, then each section's in module order, then every
        key given a role made known (FORMAT.md §14)."""
        overlay = Overlay(DictState())
        chain.set_params(overlay, self.params.to_chain_params())
        chain.set_validators(overlay, tuple(key(v.pubkey) for v in self.validators))
        chain.set_observers(overlay, tuple(key(o.pubkey) for o in self.observers))
        for _, section in self.sections():
            if section is not None:
                section.write(overlay)
        for account in self.role_keys():
            accounts.ensure_known(overlay, account)
        return {k: v for k, v in overlay.changes().items() if v is not None}

    def role_keys(self) -> list[bytes]:
        """Every key genesis gives a role: the chain knows them from height 0 (FORMAT.md §14), so
        that they may sign (a validator's evidence, a registrar's first registration, ...)."""
        keys = [key(v.pubkey) for v in self.validators] + [key(o.pubkey) for o in self.observers]
        for _, section in self.sections():
            if section is not None:
                keys += section.known_keys()
        return keys

    def to_json(self) -> str:
        """The document with every key written out (defaults too) and addresses in canonical text."""
        return people_json(self.model_dump(by_alias=True)) + "\n"


def people_json(value: Any, indent: str = "") -> str:
    """JSON indented by two spaces, with a short list of plain values on one line (`"modules"`,
    `"categories"`): the same value as json.dumps gives, laid out for people who read the file."""
    if isinstance(value, list) and not any(isinstance(v, dict) for v in value):
        flat = json.dumps(value, ensure_ascii=False)
        if len(flat) <= 80:
            return flat
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = (f"{inner}{json.dumps(k, ensure_ascii=False)}: {people_json(v, inner)}" for k, v in value.items())
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and value:
        return "[\n" + ",\n".join(inner + people_json(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value, ensure_ascii=False)


def modules_json(rules: ChainRules = RULES) -> list[list[Any]]:
    """The `"modules"` value a document for these rules carries: `[[name, version], …]`."""
    return [[name, version] for name, version in rules.identity]


def mismatch_message(listed: tuple, rules: ChainRules) -> str:
    def show(pairs: tuple) -> str:
        return ", ".join(f"{name} {version}" for name, version in pairs) or "none"

    return (f"the genesis names the modules [{show(listed)}], this program's rules are [{show(rules.identity)}]: "
            "it cannot follow this chain")


@functools.cache
def document_model(rules: ChainRules) -> type[Genesis]:
    """The document's model for `rules`: the core and, under each module's name, its section."""
    fields: dict[str, Any] = {}
    for module in rules.modules:
        if module.genesis is None:
            continue
        if not module.name.isidentifier() or hasattr(Genesis, module.name) or module.name in Genesis.model_fields:
            raise RulesError(f"module name {module.name!r} cannot name a genesis section (a core key, or not a name)")
        fields[module.name] = (module.genesis, Field(default_factory=module.genesis))
    model = create_model("GenesisDocument", __base__=Genesis, **fields)
    model.rules = rules
    return model


# --- reading the JSON (FORMAT.md §14, "The JSON rules") ---------------------------------------


def _no_repeated_key(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise GenesisError(f"invalid genesis ({name}): the key appears twice in one object")
        out[name] = value
    return out


def _no_constant(name: str) -> Any:
    raise GenesisError(f"invalid genesis (document): {name} is not JSON")


def _listed_modules(data: dict[str, Any]) -> tuple | None:
    """The document's module list if it is well formed (else None: the model names the fault)."""
    value = data.get("modules")
    if type(value) is not list or not all(
        type(p) is list and len(p) == 2 and type(p[0]) is str and type(p[1]) is int for p in value
    ):
        return None
    return tuple((name, version) for name, version in value)


_MESSAGES = {
    "extra_forbidden": "unknown key (FORMAT.md §14 names every key)",
    "missing": "required",
    "int_type": "must be a JSON integer",
    "string_type": "must be a JSON string",
    "list_type": "must be a JSON array",
    "tuple_type": "must be a JSON array",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
}


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "document"
    kind = error["type"]
    if kind in _MESSAGES and kind not in ("extra_forbidden", "missing"):
        message = f"{_MESSAGES[kind]}, not {json.dumps(error.get('input'))}"
        if error.get("input") is None:
            message += " (null is no value here: leave an optional key out for its default)"
    elif kind in _MESSAGES:
        message = _MESSAGES[kind]
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    return f"invalid genesis ({where}): {message}"


def parse_genesis(text: str, rules: ChainRules = RULES) -> Genesis:
    """The document for `rules`, or GenesisError naming the first fault (RulesMismatch for another list)."""
    try:
        data = json.loads(text, object_pairs_hook=_no_repeated_key, parse_constant=_no_constant)
    except GenesisError:
        raise
    except (ValueError, RecursionError) as exc:
        raise GenesisError(f"invalid genesis (document): not JSON: {exc}") from None
    if type(data) is not dict:
        raise GenesisError("invalid genesis (document): must be a JSON object")
    if "modules" not in data:
        raise GenesisError(f"invalid genesis (modules): required: the chain's modules and versions, for this program "
                           f"{json.dumps(modules_json(rules))}")
    listed = _listed_modules(data)
    if listed is not None and listed != rules.identity:
        raise RulesMismatch(mismatch_message(listed, rules))
    try:
        return document_model(rules).model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise GenesisError(_describe(exc.errors()[0])) from None


def load_genesis(path: str | Path, rules: ChainRules = RULES) -> Genesis:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise GenesisError(f"cannot read genesis file {path}: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GenesisError(f"invalid genesis file {path}: not UTF-8 text (byte {exc.start})") from None
    return parse_genesis(text, rules)
