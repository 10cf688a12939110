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

import threading
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
from node.audit.source import SourceError

SIGNATURE_CHUNK = 256  # transactions per verification task: small enough to spread one block over every core
WINDOW_BYTES = 8 * 1024 * 1024  # raw bytes read ahead of execution: a few blocks of 5,000 transactions keep every core busy
WINDOW_BLOCKS = 512
FEEDER_JOIN_S = 2.0  # a fetch in flight from an API may outlast the audit; a store read never does
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
    """Blocks read, decoded and verified ahead of the serial replay, within a window.

    A feeder thread reads the source (an API's fetches or a store's reads) and
    hands each raw block to the pool, so the replay never waits on the source
    while a block is ready; the window (WINDOW_BLOCKS blocks, WINDOW_BYTES raw
    bytes) bounds what is held in memory. `validators` is the set the replay
    holds now: blocks entering the window have their certificate checked
    against it, and the replay checks again if it changed by their turn.
    """

    def __init__(self, pool: ThreadPoolExecutor, chain_id: str, blocks: Iterator[tuple[int, bytes | None]],
                 validators: tuple[bytes, ...]):
        self.pool = pool
        self.chain_id = chain_id
        self.validators = validators
        self._blocks = blocks
        self._ahead: deque[tuple[int, Future]] = deque()
        self._ahead_bytes = 0
        self._room = threading.Condition()
        self._stopping = False
        self._done = False
        self._error: BaseException | None = None
        self._feeder = threading.Thread(target=self._feed, name="audit-feed", daemon=True)
        self._feeder.start()

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

    def _feed(self) -> None:
        try:
            for height, raw in self._blocks:
                size = len(raw) if raw else 0
                with self._room:
                    while not self._stopping and (
                            len(self._ahead) >= WINDOW_BLOCKS or self._ahead_bytes >= WINDOW_BYTES):
                        self._room.wait()
                    if self._stopping:
                        return
                    self._ahead.append((size, self.pool.submit(self._prepare, height, raw, self.validators)))
                    self._ahead_bytes += size
                    self._room.notify_all()
        except BaseException as exc:  # noqa: BLE001 (a failing source, raised again in the replay's thread)
            self._error = exc
        finally:
            with self._room:
                self._done = True
                self._room.notify_all()

    def next(self) -> Prepared:
        """The next block, prepared; raises what the source raised if it failed first."""
        with self._room:
            while not self._ahead and not self._done:
                self._room.wait()
            if not self._ahead:
                if self._error is not None:
                    raise self._error
                raise SourceError("the source ended before its head")
            size, future = self._ahead.popleft()
            self._ahead_bytes -= size
            self._room.notify_all()
        return future.result()

    def close(self) -> None:
        """Stop reading ahead and drop what is queued (before the pool shuts down)."""
        with self._room:
            self._stopping = True
            for _, future in self._ahead:
                future.cancel()
            self._ahead.clear()
            self._room.notify_all()
        self._feeder.join(FEEDER_JOIN_S)
