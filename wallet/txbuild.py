"""Building transaction bodies from what a person can type, and checking them before signing.

A body on the command line is JSON, which has no bytes: a 32-byte key is
written as its address (checksummed, so a typo is caught here rather than
signed) and any other byte string as "0x" + hex. The body is then checked by
the very parser the ledger uses at admission, so that the wallet never signs
something every node would refuse as malformed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from genesis.rules import RULES
from ledger.address import ADDRESS_LEN, PREFIX, AddressError, from_address
from ledger.crypto import SigningKey
from ledger.errors import TxError
from ledger.rules import ChainRules
from ledger.tx import MAX_NONCE, Tx, sign_tx

TRANSFER = "credits.transfer"

# something shaped like an address (prefix, length, base32 alphabet) is taken as one
_ADDRESS_SHAPE = re.compile(re.escape(PREFIX) + f"[a-z2-7]{{{ADDRESS_LEN - len(PREFIX)}}}")
_HEX = re.compile(r"0x([0-9a-fA-F]{2})*")


class BuildError(ValueError):
    """The transaction cannot be built as asked; the message says what to fix."""


def parse_address(text: str, what: str = "address") -> bytes:
    try:
        return from_address(text)
    except AddressError as exc:
        raise BuildError(f"bad {what} {text!r}: {exc}") from None


def _from_json(value: Any, where: str) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, str):
        if _ADDRESS_SHAPE.fullmatch(value):
            return parse_address(value, f"address at {where}")
        if value.startswith("0x"):
            if not _HEX.fullmatch(value):
                raise BuildError(f"bad hex at {where}: {value!r} (write bytes as 0x followed by pairs of hex digits)")
            return bytes.fromhex(value[2:])
        return value
    if isinstance(value, list):
        return tuple(_from_json(item, f"{where}[{i}]") for i, item in enumerate(value))
    if isinstance(value, float):
        raise BuildError(f"{where} is a fraction; amounts are integers in minor units")
    raise BuildError(f"{where} is a JSON object; a body holds only arrays, integers, strings and booleans")


def body_from_json(text: str) -> tuple:
    """A body typed as a JSON array -> the tuple the ledger encodes."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BuildError(f"the body is not JSON: {exc}") from None
    if not isinstance(value, list):
        raise BuildError("the body must be a JSON array")
    return _from_json(value, "body")


def check_body(type_: str, body: tuple, rules: ChainRules = RULES) -> None:
    """The ledger's own admission check of the body, run before anything is signed."""
    if type_ not in rules.type_names:
        known = ", ".join(rules.type_names)
        raise BuildError(f"unknown transaction type {type_!r} (this wallet knows: {known})")
    try:
        rules.parse(type_, body)
    except TxError as exc:
        raise BuildError(f"malformed {type_} body: {exc.message}") from None


def transfer_body(class_id: str, to: bytes, amount: int, memo: str = "") -> tuple:
    return (class_id, to, amount, memo)


def build_and_sign(
    key: SigningKey, chain_id: str, type_: str, nonce: int, expiry: int, body: tuple
) -> Tx:
    """Check, then sign: the returned Tx's `raw` is what goes to the node."""
    check_body(type_, body)
    if not chain_id:
        raise BuildError("the chain id is empty")
    for name, value in (("nonce", nonce), ("expiry", expiry)):
        if not 0 <= value <= MAX_NONCE:
            raise BuildError(f"{name} must be from 0 to {MAX_NONCE}")
    try:
        return sign_tx(key, chain_id, type_, nonce, expiry, body)
    except TxError as exc:
        raise BuildError(f"cannot sign: {exc.message}") from None
