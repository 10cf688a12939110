"""What every module's invariants share: the failure they raise and how they read values.

Re-execution proves every block followed the rules one transaction at a
time; a module's invariants (ledger/rules.py) state what must hold of a whole
replayed state, so that a bug in a transition rule (or a rule an auditor
reimplemented differently) shows up as a named broken invariant rather than
not at all. The auditor runs each module's in module order (node/audit).
A check streams the state in key order through `scan` and keeps little:
cross-references are point reads.
"""

from __future__ import annotations

from typing import Any

from ledger.encoding import EncodingError, decode
from ledger.fields import MAX_AMOUNT
from ledger.rules import StateScan

__all__ = ["InvariantBroken", "StateScan", "amount_of", "class_totals", "value_of"]


class InvariantBroken(ValueError):
    """One invariant does not hold; `check` names which family (books, balance, identity, evidence)."""

    def __init__(self, check: str, message: str, account: bytes | None = None):
        super().__init__(message)
        self.check = check
        self.message = message
        self.account = account


def value_of(raw: bytes, key: bytes, check: str) -> Any:
    try:
        return decode(raw)
    except EncodingError as exc:
        raise InvariantBroken(check, f"state entry {key!r} is not canonical: {exc}") from None


def amount_of(raw: bytes, key: bytes, check: str) -> int:
    value = value_of(raw, key, check)
    if type(value) is not int or not 0 < value <= MAX_AMOUNT:
        raise InvariantBroken(check, f"state entry {key!r} holds {value!r}, not an amount of 1 … 2^63 − 1")
    return value


def class_totals(scan: StateScan, prefix: bytes, check: str) -> dict[str, int]:
    """Sum the `prefix ‖ class_id ‖ "/" ‖ …` entries per class (class ids never hold "/")."""
    totals: dict[str, int] = {}
    for key, raw in scan(prefix):
        class_id = key[len(prefix):].split(b"/", 1)[0].decode("ascii", "replace")
        totals[class_id] = totals.get(class_id, 0) + amount_of(raw, key, check)
    return totals


