"""The transaction envelope: who signs what, for which chain, with which nonce.

Wire form (FORMAT.md, "Transactions"): the canonical encoding of
    [version, type, chain_id, signer, nonce, expiry_height, body, signature]
signed over signing_message("incoop/tx/v1", chain_id, canonical(unsigned))
where unsigned is the same array without the signature. The transaction hash
is SHA-256 of the wire bytes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ledger.crypto import (
    DOMAIN_TX,
    PUBKEY_LEN,
    SIGNATURE_LEN,
    SigningKey,
    sha256,
    signing_message,
    verify,
)
from ledger.encoding import EncodingError, decode, encode
from ledger.errors import Code, TxError

TX_VERSION = 1
MAX_TX_BYTES = 16 * 1024
MAX_NONCE = 2**63 - 1

_UNSIGNED_HEADER = b"\x97"  # fixarray of 7 items
_SIGNATURE_WIRE_LEN = 2 + SIGNATURE_LEN  # bin8: c4, the length 64, the bytes


class Tx(NamedTuple):
    """A decoded, structurally checked transaction (signature not yet verified)."""

    version: int
    type: str
    chain_id: str
    signer: bytes
    nonce: int
    expiry: int
    body: tuple
    signature: bytes
    raw: bytes
    hash: bytes

    def unsigned(self) -> tuple:
        return (self.version, self.type, self.chain_id, self.signer, self.nonce, self.expiry, self.body)

    def unsigned_bytes(self) -> bytes:
        """canonical(unsigned), cut from the wire bytes instead of encoded again.

        `raw` is canonical(unsigned ++ [signature]) (decode_tx proved it, and
        only decode_tx makes a Tx): the fixarray header 0x98 of 8 items, each
        item's own encoding in turn, the 64-byte signature last as c4 40 ‖ sig.
        A canonical array is its header followed by its items' encodings, so
        canonical(unsigned) is the header of 7 items, 0x97, followed by the
        same bytes without the last 66.
        """
        return unsigned_from_wire(self.raw)

    def signing_bytes(self) -> bytes:
        return signing_message(DOMAIN_TX, self.chain_id, unsigned_from_wire(self.raw))

    def signature_ok(self) -> bool:
        return verify(self.signer, self.signing_bytes(), self.signature)


def unsigned_from_wire(raw: bytes) -> bytes:
    """canonical(unsigned) cut from bytes shaped as a canonical envelope (`Tx.unsigned_bytes` says why):
    also for the workers and the audit, which verify before, or without, building a Tx."""
    return _UNSIGNED_HEADER + raw[1:-_SIGNATURE_WIRE_LEN]


def _is_uint(v: Any, upper: int) -> bool:
    return type(v) is int and 0 <= v <= upper


def too_large(size: int, max_bytes: int) -> TxError:
    """The error of a transaction of `size` wire bytes above `max_bytes` (one message wherever it is found)."""
    return TxError(Code.TOO_LARGE, f"transaction of {size} bytes exceeds {max_bytes}")


def decode_tx(raw: bytes, max_bytes: int = MAX_TX_BYTES) -> Tx:
    """Structural checks only; raises TxError(MALFORMED or TOO_LARGE)."""
    if len(raw) > max_bytes:
        raise too_large(len(raw), max_bytes)
    try:
        value = decode(raw, max_bytes)
    except EncodingError as exc:
        raise TxError(Code.MALFORMED, f"not a canonical transaction: {exc}") from exc
    if type(value) is not tuple or len(value) != 8:
        raise TxError(Code.MALFORMED, "a transaction is an array of 8 fields")
    version, type_, chain_id, signer, nonce, expiry, body, signature = value
    if version != TX_VERSION or type(version) is not int:
        raise TxError(Code.MALFORMED, f"unsupported transaction version {version!r}")
    if type(type_) is not str or not type_:
        raise TxError(Code.MALFORMED, "type must be a non-empty string")
    if type(chain_id) is not str:
        raise TxError(Code.MALFORMED, "chain id must be a string")
    if type(signer) is not bytes or len(signer) != PUBKEY_LEN:
        raise TxError(Code.MALFORMED, "signer must be a 32-byte public key")
    if not _is_uint(nonce, MAX_NONCE) or not _is_uint(expiry, MAX_NONCE):
        raise TxError(Code.MALFORMED, "nonce and expiry must be non-negative 63-bit integers")
    if type(body) is not tuple:
        raise TxError(Code.MALFORMED, "body must be an array")
    if type(signature) is not bytes or len(signature) != SIGNATURE_LEN:
        raise TxError(Code.MALFORMED, "signature must be 64 bytes")
    raw = bytes(raw)
    return Tx(version, type_, chain_id, signer, nonce, expiry, body, signature, raw, sha256(raw))


def sign_tx(
    key: SigningKey, chain_id: str, type_: str, nonce: int, expiry: int, body: tuple
) -> Tx:
    unsigned = (TX_VERSION, type_, chain_id, key.pubkey, nonce, expiry, tuple(body))
    signature = key.sign_for(DOMAIN_TX, chain_id, encode(unsigned))
    raw = encode(unsigned + (signature,))
    return decode_tx(raw, max_bytes=len(raw))
