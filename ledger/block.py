"""Blocks, their headers and commit certificates (FORMAT.md, "Blocks", "Certificates").

    header      = [version, chain_id, height, time_ms, prev_hash, tx_root,
                   results_root, state_root, proposer, validators_hash]
    block       = [header, [tx bytes, ...], [result code, ...], [effect, ...]]
    effect      = [module, item, result code]   (an end-of-block step's work: ledger/deadlines.py)
    block hash  = SHA-256(canonical(header))
    vote        = [type, height, round, block_hash]      (type 2 = precommit)
    certificate = [height, round, block_hash, [[validator, signature], ...]]
    raw block   = [block, certificate]    (what /v1/blocks/{h}/raw serves)
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ledger.chain import quorum
from ledger.crypto import (
    DOMAIN_VOTE,
    HASH_LEN,
    PUBKEY_LEN,
    SIGNATURE_LEN,
    SigningKey,
    sha256,
    signing_message,
    verify,
)
from ledger.encoding import EncodingError, decode, encode
from ledger.errors import is_execution_result
from ledger.merkle import list_root
from ledger.votes import MAX_ROUND, PRECOMMIT, vote_payload

BLOCK_VERSION = 1
MAX_BLOCK_WIRE_BYTES = 64 * 1024 * 1024


class BlockFormatError(ValueError):
    """The bytes are not a well-formed block or certificate."""


class Header(NamedTuple):
    version: int
    chain_id: str
    height: int
    time_ms: int
    prev_hash: bytes
    tx_root: bytes
    results_root: bytes
    state_root: bytes
    proposer: bytes
    validators_hash: bytes

    def encode(self) -> bytes:
        return encode(tuple(self))

    def hash(self) -> bytes:
        return sha256(self.encode())


class Effect(NamedTuple):
    """One item of an end-of-block step (FORMAT.md §12.3): which module, which of its items, and how it
    ended (a result code as a transaction's: 0 done; otherwise its writes were dropped)."""

    module: str
    item: bytes
    code: int


class Block(NamedTuple):
    header: Header
    txs: tuple[bytes, ...]
    results: tuple[int, ...]
    effects: tuple[Effect, ...] = ()

    def as_tuple(self) -> tuple:
        return (tuple(self.header), tuple(self.txs), tuple(self.results), tuple(tuple(e) for e in self.effects))

    def encode(self) -> bytes:
        return encode(self.as_tuple())

    def hash(self) -> bytes:
        return self.header.hash()


class Certificate(NamedTuple):
    height: int
    round: int
    block_hash: bytes
    signatures: tuple[tuple[bytes, bytes], ...]  # (validator pubkey, signature), sorted by pubkey

    def as_tuple(self) -> tuple:
        return (self.height, self.round, self.block_hash, tuple(tuple(s) for s in self.signatures))

    def encode(self) -> bytes:
        return encode(self.as_tuple())


def tx_root(txs: tuple[bytes, ...] | list[bytes]) -> bytes:
    return tx_root_of_hashes([sha256(raw) for raw in txs])


def tx_root_of_hashes(tx_hashes: list[bytes]) -> bytes:
    """The same root from the transactions' hashes (SHA-256 of their wire bytes), for a caller that has them."""
    return list_root(tx_hashes)


_RESULT_HASHES = {code: sha256(encode(code)) for code in range(256)}


def results_root(results: tuple[int, ...] | list[int], effects: tuple[Effect, ...] | list[Effect] = ()) -> bytes:
    """The list root of SHA-256(canonical(code)) per result, then SHA-256(canonical(effect)) per
    end-of-block effect (FORMAT.md §11); the hashes of small codes are computed once."""
    hashes = _RESULT_HASHES
    leaves = [hashes.get(code) or sha256(encode(code)) for code in results]
    return list_root(leaves + [sha256(encode(tuple(effect))) for effect in effects] if effects else leaves)


def sign_precommit(key: SigningKey, chain_id: str, height: int, round_: int, block_hash: bytes) -> bytes:
    return key.sign_for(DOMAIN_VOTE, chain_id, vote_payload(PRECOMMIT, height, round_, block_hash))


def verify_precommit(
    chain_id: str, validator: bytes, height: int, round_: int, block_hash: bytes, signature: bytes
) -> bool:
    message = signing_message(DOMAIN_VOTE, chain_id, vote_payload(PRECOMMIT, height, round_, block_hash))
    return verify(validator, message, signature)


class CertificateInvalid(ValueError):
    """The certificate does not prove that a quorum of validators committed the block."""


def verify_certificate(
    certificate: Certificate, chain_id: str, validators: tuple[bytes, ...], height: int, block_hash: bytes
) -> None:
    """FORMAT.md section 13: the one rule for a valid commit certificate; raises CertificateInvalid."""
    if certificate.height != height or certificate.block_hash != block_hash:
        raise CertificateInvalid(f"certificate is for another block than height {height}")
    members = set(validators)
    previous = b""
    for validator, signature in certificate.signatures:
        if validator <= previous:
            raise CertificateInvalid("certificate signers are not in strictly ascending order (a repeat?)")
        previous = validator
        if validator not in members:
            raise CertificateInvalid(f"certificate signer {validator.hex()} is not a validator of height {height}")
        if not verify_precommit(chain_id, validator, height, certificate.round, block_hash, signature):
            raise CertificateInvalid(f"certificate signature of {validator.hex()} does not verify")
    need = quorum(len(validators))
    if len(certificate.signatures) < need:
        raise CertificateInvalid(f"certificate has {len(certificate.signatures)} signatures, a quorum is {need}")


# --- decoding from untrusted bytes ------------------------------------------------


def _bytes(value: Any, length: int, what: str) -> bytes:
    if type(value) is not bytes or len(value) != length:
        raise BlockFormatError(f"{what} must be {length} bytes")
    return value


def _uint(value: Any, what: str) -> int:
    if type(value) is not int or value < 0 or value >= 2**63:
        raise BlockFormatError(f"{what} must be a non-negative 63-bit integer")
    return value


def header_from_tuple(value: Any) -> Header:
    if type(value) is not tuple or len(value) != 10:
        raise BlockFormatError("a header is an array of 10 fields")
    version, chain_id, height, time_ms, prev, txr, resr, root, proposer, vhash = value
    if version != BLOCK_VERSION or type(version) is not int:
        raise BlockFormatError(f"unsupported block version {version!r}")
    if type(chain_id) is not str:
        raise BlockFormatError("chain id must be a string")
    return Header(
        version,
        chain_id,
        _uint(height, "height"),
        _uint(time_ms, "time"),
        _bytes(prev, HASH_LEN, "prev_hash"),
        _bytes(txr, HASH_LEN, "tx_root"),
        _bytes(resr, HASH_LEN, "results_root"),
        _bytes(root, HASH_LEN, "state_root"),
        _bytes(proposer, PUBKEY_LEN, "proposer"),
        _bytes(vhash, HASH_LEN, "validators_hash"),
    )


def block_from_tuple(value: Any) -> Block:
    if type(value) is not tuple or len(value) != 4:
        raise BlockFormatError("a block is an array of 4 fields")
    header, txs, results, effects = value
    if type(txs) is not tuple or any(type(t) is not bytes for t in txs):
        raise BlockFormatError("transactions must be an array of byte strings")
    if type(results) is not tuple or any(type(r) is not int or not is_execution_result(r) for r in results):
        raise BlockFormatError("results must be an array of result codes")
    if len(results) != len(txs):
        raise BlockFormatError("one result per transaction")
    return Block(header_from_tuple(header), txs, results, _effects(effects))


def _effects(value: Any) -> tuple[Effect, ...]:
    if type(value) is not tuple:
        raise BlockFormatError("effects must be an array")
    out = []
    for item in value:
        if (type(item) is not tuple or len(item) != 3 or type(item[0]) is not str or type(item[1]) is not bytes
                or type(item[2]) is not int or not is_execution_result(item[2])):
            raise BlockFormatError("an effect is [module, item, result code]")
        out.append(Effect(*item))
    return tuple(out)


def certificate_from_tuple(value: Any) -> Certificate:
    if type(value) is not tuple or len(value) != 4:
        raise BlockFormatError("a certificate is an array of 4 fields")
    height, round_, block_hash, signatures = value
    if type(signatures) is not tuple:
        raise BlockFormatError("signatures must be an array")
    sigs = []
    for item in signatures:
        if type(item) is not tuple or len(item) != 2:
            raise BlockFormatError("a certificate signature is [validator, signature]")
        sigs.append((_bytes(item[0], PUBKEY_LEN, "validator"), _bytes(item[1], SIGNATURE_LEN, "signature")))
    if type(round_) is not int or not 0 <= round_ < MAX_ROUND:  # the bound of a vote's round (FORMAT.md §13.1)
        raise BlockFormatError(f"round must be an integer from 0 to {MAX_ROUND - 1}")
    return Certificate(_uint(height, "height"), round_, _bytes(block_hash, HASH_LEN, "block hash"), tuple(sigs))


def decode_raw_block(raw: bytes) -> tuple[Block, Certificate]:
    """Parse what /v1/blocks/{h}/raw serves: canonical [block, certificate]."""
    try:
        value = decode(raw, MAX_BLOCK_WIRE_BYTES)
    except EncodingError as exc:
        raise BlockFormatError(str(exc)) from exc
    if type(value) is not tuple or len(value) != 2:
        raise BlockFormatError("a raw block is [block, certificate]")
    return block_from_tuple(value[0]), certificate_from_tuple(value[1])


def encode_raw_block(block: Block, certificate: Certificate) -> bytes:
    return encode((block.as_tuple(), certificate.as_tuple()))
