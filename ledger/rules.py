"""The chain's rules: modules, each declaring what it adds, composed into one ordered list.

A module (credits, identity, evidence; market and governance next) declares
everything the rest of the program needs to know of it (docs/architecture.md,
"The module contract"):

- its transaction types, the result codes its rules may give, the state-key
  prefixes it owns;
- its section of the genesis document (a `GenesisSection`, ledger/genesis_section.py,
  composed in module order by genesis/document.py; FORMAT.md §14);
- its end-of-block step, run after a block's transactions in module order;
- its invariants, checked by the auditor on a replayed state;
- what it offers the rules of other modules: spend guards (an account that
  may not spend now), attribute sources (credit-class eligibility) and
  registrar sources (federation-wide accreditation).

`ChainRules` composes an ordered list of modules once, checking that they
do not collide (two types of one name, two modules owning one code, a key
prefix of one module that is a prefix of another's), and is then passed
explicitly to everything that executes or checks transactions: the state
transition, the mempool, the auditor, the exporter, the wallet's builder,
genesis and the benchmarks. Nothing registers itself on import: a process
that lacks a module cannot compute a different state root by accident, it
cannot name the module at all. The list's identity (names and versions) is
in the genesis document and in what a node reports, so that two programs
with different rules refuse the same chain instead of splitting on a block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ledger.crypto import sha256
from ledger.encoding import encode
from ledger.errors import Code, TxError, is_execution_result
from ledger.handlers import TxType
from ledger.state import StateReader

if TYPE_CHECKING:  # a section is declared by its module; the rules only carry it (no pydantic import here)
    from ledger.genesis_section import GenesisSection

SpendGuard = Callable[[StateReader, bytes], None]
"""(state, account): raise TxError if the account may not spend now; read only the state."""
AttributeSource = Callable[[StateReader, bytes, str, int], bool]
"""(state, account, attribute, height): whether the account holds the attribute at that height."""
RegistrarSource = Callable[[StateReader, bytes], bool]
"""(state, account): whether the account is a registrar of the federation."""
StateScan = Callable[[bytes], Iterator[tuple[bytes, bytes]]]
"""prefix -> the state's (key, value) pairs under it, in key order (the auditor's scan)."""


Invariants = Callable[[StateReader, StateScan, str, int], int]
"""(state, scan, chain_id, height) -> how many records were checked; raises InvariantBroken
(node.audit.invariants) naming what does not hold of a whole replayed state (FORMAT.md §9)."""


@dataclass(frozen=True)
class Module:
    """One part of the chain's rules, declared in one place (docs/architecture.md)."""

    name: str
    version: int
    tx_types: tuple[TxType, ...] = ()
    codes: tuple[Code, ...] = ()  # execution results (1-99, 200-299) this module introduces; others' it may also give
    prefixes: tuple[bytes, ...] = ()  # state keys this module writes (FORMAT.md §9)
    genesis: type[GenesisSection] | None = None  # its section of the genesis document (ledger/genesis_section.py)
    end_block: Callable[[Any], None] | None = None  # ledger.deadlines.EndBlockContext -> None
    invariants: Invariants | None = None
    spend_guards: tuple[SpendGuard, ...] = ()
    attribute_sources: tuple[AttributeSource, ...] = ()
    registrar_sources: tuple[RegistrarSource, ...] = ()
    doc: str = field(default="", compare=False)  # one line for people: what the module is for


class RulesError(ValueError):
    """The modules do not compose: the message names the collision."""


class ChainRules:
    """An ordered list of modules, checked to compose, and the lookups the transition needs."""

    def __init__(self, modules: Sequence[Module]):
        self.modules: tuple[Module, ...] = tuple(modules)
        self._types: dict[str, TxType] = {}
        self._type_module: dict[str, str] = {}
        names: set[str] = set()
        prefixes: list[tuple[bytes, str]] = []
        code_owner: dict[Code, str] = {}
        for module in self.modules:
            if module.name in names:
                raise RulesError(f"module {module.name!r} is listed twice")
            names.add(module.name)
            for tx_type in module.tx_types:
                if tx_type.name in self._types:
                    raise RulesError(f"transaction type {tx_type.name!r} is declared by {self._type_module[tx_type.name]!r} "
                                     f"and {module.name!r}")
                self._types[tx_type.name] = tx_type
                self._type_module[tx_type.name] = module.name
            for code in module.codes:
                if code in code_owner:
                    raise RulesError(f"result code {code.name} is introduced by {code_owner[code]!r} and {module.name!r}")
                if code == Code.OK or not is_execution_result(code):
                    raise RulesError(f"{module.name!r} introduces {code.name}, not an execution result (1-99, 200-299)")
                code_owner[code] = module.name
            prefixes += [(prefix, module.name) for prefix in module.prefixes]
        for i, (a, owner_a) in enumerate(prefixes):
            for b, owner_b in prefixes[i + 1:]:
                if a.startswith(b) or b.startswith(a):
                    raise RulesError(f"state-key prefixes {a!r} ({owner_a}) and {b!r} ({owner_b}) overlap")
        self.spend_guards: tuple[SpendGuard, ...] = tuple(g for m in self.modules for g in m.spend_guards)
        self.attribute_sources = tuple(s for m in self.modules for s in m.attribute_sources)
        self.registrar_sources = tuple(s for m in self.modules for s in m.registrar_sources)
        self.end_block_steps = tuple((m.name, m.end_block) for m in self.modules if m.end_block is not None)
        self.identity: tuple[tuple[str, int], ...] = tuple((m.name, m.version) for m in self.modules)
        self.digest: bytes = sha256(encode(self.identity))

    # --- what the transition asks ------------------------------------------------------------

    def tx_type(self, name: str) -> TxType:
        tx_type = self._types.get(name)
        if tx_type is None:
            raise TxError(Code.UNKNOWN_TYPE, f"unknown transaction type {name!r}")
        return tx_type

    def parse(self, name: str, body: tuple) -> Any:
        """The body checked against its type's field rules (MALFORMED), as admission does."""
        return self.tx_type(name).parse(body)

    @property
    def type_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._types))

    def module_of(self, type_name: str) -> str:
        return self._type_module[type_name]

    def module(self, name: str) -> Module:
        for module in self.modules:
            if module.name == name:
                return module
        raise KeyError(name)

    # --- what other modules' rules ask, instead of global hooks ------------------------------

    def check_can_spend(self, state: StateReader, account: bytes) -> None:
        """Raise the first spend guard's TxError if `account` may not spend now."""
        for guard in self.spend_guards:
            guard(state, account)

    def holds_attribute(self, state: StateReader, account: bytes, attribute: str, height: int) -> bool:
        """With no module providing attributes nobody holds any: eligibility rules fail closed."""
        return any(source(state, account, attribute, height) for source in self.attribute_sources)

    def is_registrar(self, state: StateReader, account: bytes) -> bool:
        return any(source(state, account) for source in self.registrar_sources)

    def describe(self) -> list[dict[str, Any]]:
        """The list as a node reports it (/v1/status): names, versions, types."""
        return [{"name": m.name, "version": m.version, "types": [t.name for t in m.tx_types]} for m in self.modules]
