"""JSON renderings several route files share, and the reply models that describe them.

The models are the document's word for what these functions write
(docs/api-contract.md: hex is lower case, keys are addresses, amounts are
integers in minor units); they forbid extra fields, so the conformance test
(tests/functional/test_api_contract.py) fails on any field a handler adds
without declaring it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from ledger.address import to_address
from ledger.crypto import PUBKEY_LEN
from ledger.errors import MESSAGES, Code, TxError

MAX_ERROR_MESSAGE_CHARS = 320
"""An error message is ours, with at most a prefix of input in it; this bounds it whatever a caller sends."""


class Strict(BaseModel):
    """A reply object: exactly these fields (the document says `additionalProperties: false`)."""

    model_config = ConfigDict(extra="forbid")


class Result(Strict):
    """A transaction's execution result: OK, or the code it failed with (ledger.errors.Code)."""

    code: str
    message: str


class ErrorDetail(Strict):
    """The `error` of an error answer, or of one refused item (a batch, a rejected transaction)."""

    code: str
    message: str


def clip_message(message: str) -> str:
    """An error message cut to MAX_ERROR_MESSAGE_CHARS (a net under shown(): no answer echoes much)."""
    if len(message) <= MAX_ERROR_MESSAGE_CHARS:
        return message
    return message[:MAX_ERROR_MESSAGE_CHARS] + "…"


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": clip_message(message)}}


def render_result(code: int) -> dict:
    try:
        known = Code(code)
    except ValueError:
        return {"code": f"CODE_{code}", "message": f"result code {code}"}
    return {"code": known.name, "message": MESSAGES[known]}


def render_tx_error(error: TxError) -> dict:
    return {"code": error.code.name, "message": clip_message(error.message)}


def render_value(value: Any) -> Any:
    """A body field as JSON: 32-byte keys as addresses, other bytes as hex, arrays as lists."""
    if type(value) is bytes:
        return to_address(value) if len(value) == PUBKEY_LEN else value.hex()
    if type(value) is tuple or type(value) is list:
        return [render_value(v) for v in value]
    return value


def hex_or_none(value: bytes | None) -> str | None:
    return None if value is None else value.hex()
