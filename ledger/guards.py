"""Hooks by which packages above the ledger can forbid an account to spend.

The identity registry must stop a suspended identity's accounts from spending
(they may still receive), but `ledger` imports nothing of `identity`. So the
ledger asks whoever registered a guard: `identity` registers one when it is
imported, and `credits.transfer` calls `check_can_spend` before anything else.

A guard is a pure function of (state, account) that raises TxError to refuse
and returns None to allow; guards run in registration order and must read
only the state (no clock, no randomness), like any execution rule.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.state import StateReader

SpendGuard = Callable[[StateReader, bytes], None]

_GUARDS: list[SpendGuard] = []


def register_spend_guard(guard: SpendGuard) -> SpendGuard:
    """Add a guard once (importing a module twice does not add it twice)."""
    if guard not in _GUARDS:
        _GUARDS.append(guard)
    return guard


def check_can_spend(state: StateReader, account: bytes) -> None:
    """Raise the first guard's TxError if `account` may not spend now."""
    for guard in _GUARDS:
        guard(state, account)
