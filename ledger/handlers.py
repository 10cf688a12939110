"""The registry of transaction types: each package registers its handlers here.

A handler is two pure functions: `parse` checks the body's shape (at
admission, so a malformed body never reaches a block) and `execute` checks
the rules against the state and then writes. `parties` names the accounts a
transaction concerns, for the per-account history index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from ledger.errors import Code, TxError
from ledger.state import Overlay


class ExecContext(NamedTuple):
    """What a handler may read besides the state: never a clock or randomness."""

    state: Overlay
    chain_id: str
    height: int
    time_ms: int
    signer: bytes


@dataclass(frozen=True)
class TxType:
    name: str
    parse: Callable[[tuple], Any]
    execute: Callable[[ExecContext, Any], None]
    parties: Callable[[Any], tuple[bytes, ...]] = lambda body: ()


REGISTRY: dict[str, TxType] = {}


def register(tx_type: TxType) -> TxType:
    if tx_type.name in REGISTRY and REGISTRY[tx_type.name] is not tx_type:
        raise ValueError(f"transaction type {tx_type.name} registered twice")
    REGISTRY[tx_type.name] = tx_type
    return tx_type


def lookup(name: str) -> TxType:
    tx_type = REGISTRY.get(name)
    if tx_type is None:
        raise TxError(Code.UNKNOWN_TYPE, f"unknown transaction type {name!r}")
    return tx_type


def parse_body(name: str, body: tuple) -> Any:
    return lookup(name).parse(body)
