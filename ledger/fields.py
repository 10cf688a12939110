"""Field checks for transaction bodies: each raises TxError(MALFORMED) naming the field."""

from __future__ import annotations

import re
from typing import Any

from ledger.crypto import PUBKEY_LEN
from ledger.errors import Code, TxError

MAX_AMOUNT = 2**63 - 1
"""Largest amount, balance or supply in minor units (a signed 64-bit integer)."""


def expect_fields(body: tuple, names: tuple[str, ...]) -> tuple:
    if len(body) != len(names):
        raise TxError(Code.MALFORMED, f"body must have {len(names)} fields: {', '.join(names)}")
    return body


def pubkey(value: Any, field: str) -> bytes:
    if type(value) is not bytes or len(value) != PUBKEY_LEN:
        raise TxError(Code.MALFORMED, f"{field} must be a 32-byte public key")
    return value


def amount(value: Any, field: str = "amount") -> int:
    if type(value) is not int or not 0 < value <= MAX_AMOUNT:
        raise TxError(Code.MALFORMED, f"{field} must be an integer from 1 to {MAX_AMOUNT}")
    return value


def uint(value: Any, field: str, upper: int = MAX_AMOUNT) -> int:
    if type(value) is not int or not 0 <= value <= upper:
        raise TxError(Code.MALFORMED, f"{field} must be an integer from 0 to {upper}")
    return value


def text(value: Any, field: str, max_len: int, least: int = 0) -> str:
    """A text of `least` (default 0: an empty text is allowed) to `max_len` UTF-8 bytes."""
    if type(value) is not str or not least <= len(value.encode("utf-8")) <= max_len:
        bounds = f"at most {max_len}" if least == 0 else f"{least} to {max_len}"
        raise TxError(Code.MALFORMED, f"{field} must be a string of {bounds} bytes")
    return value


def identifier(value: Any, field: str, pattern: re.Pattern[str]) -> str:
    if type(value) is not str or not pattern.fullmatch(value):
        raise TxError(Code.MALFORMED, f"{field} must match {pattern.pattern}")
    return value
