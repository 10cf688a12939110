"""The audit's parallel part: blocks decoded, their signatures checked, ahead of the serial replay.

Why a module of its own: the replay (`apply_block` and the store write) is
serial and holds the GIL; everything that does not need the replayed state
is done here, in a thread pool, within a bounded window of blocks ahead of
it. Ed25519 verification (PyNaCl, libsodium) releases the GIL, so the
transaction and certificate signatures of the next blocks are checked on
every core while the current block executes. Nothing here decides whether
the chain is valid: it prepares facts (decoded blocks, which transactions
verify, the certificate's verdict against the validator set known when the
block entered the window) that `node.audit.verify` checks in order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import msgpack

from ledger.block import (
    Block,
    BlockFormatError,
    Certificate,
    CertificateInvalid,
    decode_raw_block,
    tx_root,
    verify_certificate,
)
from ledger.crypto import DOMAIN_TX, sha256, signing_message, verify
from ledger.errors import TxError
from ledger.tx import decode_tx

SIGNATURE_CHUNK = 256  # transactions per verification task: small enough to spread one block over every core
WINDOW_BYTES = 16 * 1024 * 1024  # raw bytes of blocks decoded or being verified ahead of execution
WINDOW_BLOCKS = 512
MAX_TX_DECODE_BYTES = 1024 * 1024  # the largest max_tx_bytes a genesis may set (§14); the exact limit is execution's


class TxCheck(NamedTuple):
    index: int
    tx_hash: bytes | None
    signer: bytes | None
    problem: str | None  # None: decodes and its signature is valid


def signature_from_wire(raw: bytes) -> tuple[bytes, bytes, bool] | None:
    """(tx hash, signer, signature valid) straight from the wire bytes, or None if they are not shaped so.

    Why: this runs on every core for every transaction while the replay holds
    the GIL, so it must hold it briefly. A canonical envelope is `0x98 ‖
    canonical(field 0..6) ‖ c4 40 ‖ signature` (FORMAT.md §2.2, §6.1), so its
    signed payload `canonical(unsigned)` is `0x97 ‖` the same field bytes: no
    canonical decode and re-encode is needed to rebuild it. Sound because the
    replay's own decode rejects any transaction that is not canonical, and for
    a canonical one these bytes are exactly what `Tx.signing_bytes` encodes.
    """
    if len(raw) < 70 or raw[0] != 0x98 or raw[-66] != 0xC4 or raw[-65] != 0x40:
        return None
    try:
        value = msgpack.unpackb(raw, raw=False, use_list=False)
    except (ValueError, TypeError, msgpack.UnpackException):
        return None
    if type(value) is not tuple or len(value) != 8:
        return None
    chain_id, signer = value[2], value[3]
    if type(chain_id) is not str or type(signer) is not bytes or len(signer) != 32:
        return None
    message = signing_message(DOMAIN_TX, chain_id, b"\x97" + raw[1:-66])
    return sha256(raw), signer, verify(signer, message, raw[-64:])


def _check_tx(index: int, raw: bytes) -> TxCheck:
    """The full decode, for a transaction whose fast check failed: which rule it breaks, exactly."""
    try:
        tx = decode_tx(raw, MAX_TX_DECODE_BYTES)
    except TxError as exc:
        return TxCheck(index, None, None, f"the transaction does not decode: {exc.message}")
    if tx.signature_ok():
        return TxCheck(index, tx.hash, tx.signer, None)
    return TxCheck(index, tx.hash, tx.signer, "the transaction's signature does not verify")


def _check_txs(raws: tuple[bytes, ...], first: int) -> list[TxCheck]:
    out = []
    for offset, raw in enumerate(raws):
        fast = signature_from_wire(raw)
        if fast is not None and fast[2]:
            out.append(TxCheck(first + offset, fast[0], fast[1], None))
        else:
            out.append(_check_tx(first + offset, raw))
    return out


def check_certificate(certificate: Certificate, chain_id: str, validators: tuple[bytes, ...], height: int,
                       block_hash: bytes) -> CertificateInvalid | None:
    try:
        verify_certificate(certificate, chain_id, validators, height, block_hash)
    except CertificateInvalid as exc:
        return exc
    return None


class Prepared(NamedTuple):
    height: int
    block: Block | None
    certificate: Certificate | None
    problem: tuple[str, str] | None  # (check, message): the block is missing or does not decode
    tx_root: bytes | None
    tx_checks: list[Future]
    validators: tuple[bytes, ...]  # the set the certificate was checked against, ahead of execution
    certificate_check: Future | None


class Pipeline:
    """Blocks decoded and verified in a thread pool ahead of the serial replay."""

    def __init__(self, pool: ThreadPoolExecutor, chain_id: str, blocks: Iterator[tuple[int, bytes | None]]):
        self.pool = pool
        self.chain_id = chain_id
        self.blocks = blocks
        self.ahead: deque[tuple[int, Future]] = deque()
        self.ahead_bytes = 0
        self.validators: tuple[bytes, ...] = ()

    def _prepare(self, height: int, raw: bytes | None, validators: tuple[bytes, ...]) -> Prepared:
        if raw is None:
            return Prepared(height, None, None, ("missing", "the source has no block at this height"), None, [],
                             validators, None)
        try:
            block, certificate = decode_raw_block(raw)
        except BlockFormatError as exc:
            return Prepared(height, None, None, ("decode", f"the raw block does not decode: {exc}"), None, [],
                             validators, None)
        txs = block.txs
        checks = [self.pool.submit(_check_txs, txs[i:i + SIGNATURE_CHUNK], i) for i in range(0, len(txs), SIGNATURE_CHUNK)]
        cert = self.pool.submit(check_certificate, certificate, self.chain_id, validators, block.header.height,
                                block.hash())
        return Prepared(height, block, certificate, None, tx_root(txs), checks, validators, cert)

    def fill(self) -> None:
        while len(self.ahead) < WINDOW_BLOCKS and self.ahead_bytes < WINDOW_BYTES:
            item = next(self.blocks, None)
            if item is None:
                return
            height, raw = item
            size = len(raw) if raw else 0
            self.ahead.append((size, self.pool.submit(self._prepare, height, raw, self.validators)))
            self.ahead_bytes += size

    def next(self) -> Prepared:
        self.fill()
        size, future = self.ahead.popleft()
        self.ahead_bytes -= size
        prepared = future.result()
        self.fill()
        return prepared

    def cancel(self) -> None:
        for _, future in self.ahead:
            future.cancel()
        self.ahead.clear()
