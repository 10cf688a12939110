"""Textual account addresses: `ic` + base32 of (public key, 4-byte checksum).

The checksum makes a mistyped address an error instead of a transfer to an
account nobody holds (FORMAT.md, "Addresses").
"""

from __future__ import annotations

import base64

from ledger.crypto import PUBKEY_LEN, sha256

PREFIX = "ic"
_CHECKSUM_TAG = b"incoop/address/v1"
ADDRESS_LEN = len(PREFIX) + 58
WHITE_SPACE = " \t\n\r\x0b\x0c"
"""What the parser strips around an address: ASCII space, tab, LF, CR, VT, FF (FORMAT.md §5), nothing else."""


class AddressError(ValueError):
    pass


def _checksum(pubkey: bytes) -> bytes:
    return sha256(_CHECKSUM_TAG + pubkey)[:4]


def to_address(pubkey: bytes) -> str:
    if len(pubkey) != PUBKEY_LEN:
        raise AddressError("a public key is 32 bytes")
    raw = base64.b32encode(pubkey + _checksum(pubkey)).decode("ascii").rstrip("=")
    return PREFIX + raw.lower()


def from_address(text: str) -> bytes:
    """The public key behind an address (FORMAT.md §5); AddressError names what is wrong."""
    if not isinstance(text, str):
        raise AddressError("an address is a string")
    text = text.strip(WHITE_SPACE)
    if len(text) != ADDRESS_LEN or not text.startswith(PREFIX):
        raise AddressError(f"not an incoop address (expected {ADDRESS_LEN} characters starting with '{PREFIX}')")
    body = text[len(PREFIX):]
    if body != body.lower():
        raise AddressError("an address is lower case")
    try:
        raw = base64.b32decode(body.upper() + "======")
    except ValueError as exc:
        raise AddressError("address contains characters outside base32") from exc
    pubkey, checksum = raw[:PUBKEY_LEN], raw[PUBKEY_LEN:]
    if len(raw) != PUBKEY_LEN + 4 or _checksum(pubkey) != checksum:
        raise AddressError("address checksum does not match (mistyped?)")
    if to_address(pubkey) != text:
        raise AddressError("not the canonical form of this address")
    return pubkey
