"""A transaction type: how its body is checked and what it does to the state.

A handler is two pure functions: `parse` checks the body's shape (at
admission, so a malformed body never reaches a block) and `execute` checks
the rules against the state and then writes. `parties` names the accounts a
transaction concerns, for the per-account history index. Types belong to a
module (ledger/rules.py), which lists them; nothing registers itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from ledger.state import Overlay

if TYPE_CHECKING:
    from ledger.rules import ChainRules


class ExecContext(NamedTuple):
    """What a handler may read besides the state: never a clock or randomness.

    `rules` is the chain's module list, through which a module asks what
    another one offers (may this account spend, does it hold an attribute);
    `moves` collects the credit movements the checked operations make
    (ledger/credit_ops.py), for statements and histories.
    """

    state: Overlay
    chain_id: str
    height: int
    time_ms: int
    signer: bytes
    rules: ChainRules
    moves: list[Any]  # ledger.credit_ops.Movement, in the order made


@dataclass(frozen=True)
class TxType:
    name: str
    parse: Callable[[tuple], Any]
    execute: Callable[[ExecContext, Any], None]
    parties: Callable[[Any], tuple[bytes, ...]] = lambda body: ()
