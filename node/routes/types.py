"""The value types of the API, each with its pattern and bounds stated once (docs/api-contract.md).

Two families:

- parameter types (`*Param`), which parse the text of a path segment or a
  query value into what a handler uses (bytes, int) and refuse anything
  else with a 400; their JSON Schema is what the document states;
- reply field types, which only describe what a handler renders (lower-case
  hex, addresses, non-negative integers) for the document.

Patterns are anchored (`^…$`) and use only what JSON Schema's regular
expressions (ECMA-262), pydantic's and Python's agree on: character classes
such as `[0-9a-f]`, groups, alternation and counted repetition.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from identity import records as identity_records
from ledger import credits, evidence
from ledger.address import ADDRESS_LEN, PREFIX, AddressError, from_address
from ledger.crypto import HASH_LEN
from ledger.fields import MAX_AMOUNT
from node.routes.table import ErrorCode

MAX_HEIGHT = 2**63 - 1
MAX_TX_INDEX = 2**32 - 1
MAX_DIGITS = len(str(MAX_HEIGHT))  # 19: no decimal parameter is longer
ADDRESS_PATTERN = f"^{PREFIX}[a-z2-7]{{{ADDRESS_LEN - len(PREFIX)}}}$"
ADDRESS_FORMAT = "incoop-address"  # the pattern, plus a checksum that must match (FORMAT.md §5)
HEX_PATTERN = "^(?:[0-9a-f]{2})*$"
_DECIMAL = re.compile(f"[0-9]{{1,{MAX_DIGITS}}}")


def decimal_at_most(maximum: int) -> str:
    """A regular expression (unanchored group) for the decimal texts of 0..maximum, leading zeros
    allowed up to maximum's number of digits: what `int()` of a bounded digit string accepts."""
    digits = str(maximum)
    width = len(digits)
    alternatives = [f"[0-9]{{1,{width - 1}}}"] if width > 1 else []
    for i, digit in enumerate(digits):  # same prefix, then a smaller digit, then anything
        if digit != "0":
            rest = width - i - 1
            smaller = "0" if digit == "1" else f"[0-{int(digit) - 1}]"
            alternatives.append(digits[:i] + smaller + (f"[0-9]{{{rest}}}" if rest else ""))
    alternatives.append(digits)
    return "(?:" + "|".join(alternatives) + ")"


def hex_pattern(length: int) -> str:
    return f"^[0-9a-f]{{{2 * length}}}$"


# --- parsing parameter text ------------------------------------------------------------------------


def _decimal(value: Any) -> Any:
    """Text of at most 19 decimal digits as an int (no sign, no space, no underscore); the model's
    bounds apply after."""
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value):
            raise ValueError(f"not a decimal integer of at most {MAX_DIGITS} digits")
        return int(value)
    return value


def _height_or_latest(value: Any) -> Any:
    return value if value == "latest" else _decimal(value)


def _hex_of(length: int) -> Any:
    pattern = re.compile(f"[0-9a-f]{{{2 * length}}}")

    def parse(value: Any) -> Any:
        if isinstance(value, str):
            if not pattern.fullmatch(value):
                raise ValueError(f"not {2 * length} lower-case hex characters")
            return bytes.fromhex(value)
        return value

    return parse


def _address(value: Any) -> Any:
    """An address exactly as `to_address` writes it (no padding, lower case), checksum checked."""
    if isinstance(value, str):
        if not re.fullmatch(ADDRESS_PATTERN[1:-1], value):
            raise ValueError(f"not an incoop address ({ADDRESS_LEN} characters: '{PREFIX}' and lower-case base32)")
        try:
            return from_address(value)
        except AddressError as exc:
            raise ValueError(str(exc)) from None
    return value


_CURSOR_PATTERN = f"^({decimal_at_most(MAX_HEIGHT)}):({decimal_at_most(MAX_TX_INDEX)})$"


def _cursor(value: Any) -> Any:
    if isinstance(value, str):
        match = re.fullmatch(_CURSOR_PATTERN[1:-1], value)
        if match is None:
            raise ValueError("a cursor HEIGHT:INDEX as returned in 'next'")
        return int(match[1]), int(match[2])
    return value


def uint_param(minimum: int, maximum: int, description: str) -> Any:
    """A decimal integer parameter from `minimum` to `maximum`."""
    return Annotated[int, Field(ge=minimum, le=maximum, description=description), BeforeValidator(_decimal)]


def limit_param(maximum: int, default: int) -> Any:
    return uint_param(1, maximum, f"page size, 1 to {maximum} (default {default})")


def hex_param(length: int, description: str) -> Any:
    """`length` bytes as lower-case hex; the handler gets the bytes."""
    schema = {"type": "string", "pattern": hex_pattern(length), "description": description}
    return Annotated[bytes, BeforeValidator(_hex_of(length)), WithJsonSchema(schema)]


AddressParam = Annotated[
    bytes,
    BeforeValidator(_address),
    WithJsonSchema({"type": "string", "pattern": ADDRESS_PATTERN, "format": ADDRESS_FORMAT,
                    "description": "an account address (FORMAT.md §5): a mistyped one is 400 INVALID_ADDRESS"}),
    ErrorCode("INVALID_ADDRESS"),
]
HeightParam = Annotated[
    int | Literal["latest"],
    BeforeValidator(_height_or_latest),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_HEIGHT}, {"const": "latest"}],
                    "description": "a block height, or 'latest' for the head"}),
]
ClassIdParam = Annotated[str, Field(pattern=f"^{credits.CLASS_ID.pattern}$", description=(
    "a credit class id (1 to 32 lower-case letters, digits and '-', not starting with '-')"))]
IdentityIdParam = hex_param(identity_records.ID_LEN, "an identity id (16 bytes)")
TxHashParam = hex_param(HASH_LEN, "a transaction hash (SHA-256 of its canonical bytes)")
HistoryCursorParam = Annotated[
    tuple[int, int],
    BeforeValidator(_cursor),
    WithJsonSchema({"type": "string", "pattern": _CURSOR_PATTERN,
                    "description": "the 'next' of the previous page: HEIGHT:INDEX, HEIGHT < 2^63, INDEX < 2^32"}),
]
EvidenceCursorParam = hex_param(evidence.OFFENCE_LEN, "the 'next' of the previous page")


# --- reply fields (documentation of what handlers render) ------------------------------------------

HashText = Annotated[str, Field(pattern=hex_pattern(HASH_LEN))]
HexText = Annotated[str, Field(pattern=HEX_PATTERN)]
IdentityIdText = Annotated[str, Field(pattern=hex_pattern(identity_records.ID_LEN))]
AddressText = Annotated[str, Field(pattern=ADDRESS_PATTERN, json_schema_extra={"format": ADDRESS_FORMAT})]
SignatureText = Annotated[str, Field(pattern=hex_pattern(64))]
Height = Annotated[int, Field(ge=0, le=MAX_HEIGHT)]
Count = Annotated[int, Field(ge=0)]
Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT, description="minor units")]
Round = Annotated[int, Field(ge=0, le=2**31 - 1)]
ClassIdText = Annotated[str, Field(pattern=f"^{credits.CLASS_ID.pattern}$")]
