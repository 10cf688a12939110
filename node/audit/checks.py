"""The audit's checks that need no replayed state, as a worker process runs them.

The auditor's replay (`apply_block` and the scratch store's write) is serial;
what it does not need to do itself is done here, in worker processes, for the
blocks ahead of it (node/audit/pipeline.py): the canonical decode of a raw
block and of each of its transactions (FORMAT.md §2, §6.1, §12.1, §13.1),
the transaction root (§11), every transaction signature (§4.2) and the
commit certificate against the validator set the replay knew when the block
was handed out (§13.1). Nothing here decides whether the chain is valid: it
returns facts that `node.audit.verify` and `node.audit.export` check in chain
order, so the first broken rule is still the one reported.

What comes back is shaped for the replaying process to take cheaply: a
transaction as the fields of its `Tx` without the wire bytes (the replay has
those in the block already), so it never decodes the same bytes again.

This module imports only `ledger`: a worker process starts with it alone.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

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
from ledger.tx import decode_tx, unsigned_from_wire

MAX_TX_DECODE_BYTES = 1024 * 1024
"""The largest `max_tx_bytes` a genesis or a vote may set (FORMAT.md §14): a transaction is decoded under
this bound here, and the replay applies the chain's own bound of the moment (`apply_block`'s `decoded`)."""


class TxProblem(NamedTuple):
    """A transaction that does not decode or whose signature does not verify; where and why."""

    index: int
    tx_hash: bytes | None  # None: it does not decode (and no signature over its bytes verifies either)
    signer: bytes | None
    problem: str


class TxChunk(NamedTuple):
    """A run of a block's transactions from `first`, checked.

    `decoded` holds, per transaction, the fields of its `Tx` but the wire bytes
    (version, type, chain_id, signer, nonce, expiry, body, signature, hash), or
    (code, detail) of the `TxError` its decode raised. `problems` lists the
    failing ones in order (usually none).
    """

    first: int
    decoded: list[tuple]
    problems: list[TxProblem]


class BlockFacts(NamedTuple):
    """A raw block decoded, its transaction root, its certificate checked, and its first run of transactions."""

    block: Block | None
    certificate: Certificate | None
    decode_error: str | None  # the raw block is not canonical [block, certificate]
    tx_root: bytes | None
    certificate_problem: str | None  # why the certificate does not prove the block, against `validators`
    txs: TxChunk | None


def worker_init() -> None:
    """Run in each worker process first.

    Ctrl-C reaches every process of the terminal's foreground group: only the
    auditing process handles it (it stops the workers itself, docs/audit.md),
    so a worker ignores it rather than print a traceback.

    The workers keep the ordinary priority. A lower one (nice 10) protected
    the replay on an idle machine, where it gained nothing measurable (on two
    cores the audit is bound by the CPU time of all its work together, not by
    who runs first), and starved the workers behind any other busy program,
    so that the audit ran slower than with verification threads.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def signature_from_wire(raw: bytes) -> tuple[bytes, bytes, bool] | None:
    """(tx hash, signer, signature valid) straight from the wire bytes, or None if they are not shaped so.

    Used for a transaction that does not decode, to tell the auditor which
    rule it breaks exactly as before: a canonical envelope is `0x98 ‖
    canonical(field 0..6) ‖ c4 40 ‖ signature` (FORMAT.md §2.2, §6.1), so its
    signed payload `canonical(unsigned)` is `0x97 ‖` the same field bytes. A
    non-canonical envelope whose signature verifies over its own bytes passes
    the signature check and is refused by the replay's decode rule at its
    turn (an `execution` failure); one whose signature does not verify either
    is a `decode` failure.
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
    message = signing_message(DOMAIN_TX, chain_id, unsigned_from_wire(raw))
    return sha256(raw), signer, verify(signer, message, raw[-64:])


def check_txs(raws: tuple[bytes, ...] | list[bytes], first: int) -> TxChunk:
    """Decode each transaction once (canonical, FORMAT.md §6.1) and verify its signature (§4.2)."""
    decoded: list[tuple] = []
    problems: list[TxProblem] = []
    for offset, raw in enumerate(raws):
        try:
            tx = decode_tx(raw, MAX_TX_DECODE_BYTES)
        except TxError as exc:
            decoded.append((int(exc.code), exc.detail))
            fast = signature_from_wire(raw)
            if fast is None or not fast[2]:
                problems.append(TxProblem(first + offset, None, None, f"the transaction does not decode: {exc.message}"))
            continue
        decoded.append((tx.version, tx.type, tx.chain_id, tx.signer, tx.nonce, tx.expiry, tx.body, tx.signature,
                        tx.hash))
        if not tx.signature_ok():
            problems.append(TxProblem(first + offset, tx.hash, tx.signer, "the transaction's signature does not verify"))
    return TxChunk(first, decoded, problems)


def check_certificate(certificate: Certificate, chain_id: str, validators: tuple[bytes, ...], height: int,
                      block_hash: bytes) -> str | None:
    """Why the certificate does not prove this block with this validator set (FORMAT.md §13.1), or None."""
    try:
        verify_certificate(certificate, chain_id, validators, height, block_hash)
    except CertificateInvalid as exc:
        return str(exc)
    return None


def prepare_block(raw: bytes, chain_id: str, validators: tuple[bytes, ...], first_txs: int | None) -> BlockFacts:
    """Decode a raw block, take its transaction root, check its certificate and its first `first_txs`
    transactions (all of them if None); the rest are checked by `check_txs` in other tasks."""
    try:
        block, certificate = decode_raw_block(raw)
    except BlockFormatError as exc:
        return BlockFacts(None, None, str(exc), None, None, None)
    txs = block.txs if first_txs is None else block.txs[:first_txs]
    problem = check_certificate(certificate, chain_id, validators, block.header.height, block.hash())
    return BlockFacts(block, certificate, None, tx_root(block.txs), problem, check_txs(txs, 0))


def split_txs(raw: bytes) -> tuple[bytes, ...] | None:
    """The transactions' wire bytes of a raw block, read without the canonical checks, or None.

    Only to hand a large block's transactions to several workers at once: the
    worker that decodes the whole block (`prepare_block`) is the one that says
    whether it is canonical, and when it is, these are exactly its transactions
    (the canonical decode is this same MessagePack read, then checks).
    """
    try:
        value = msgpack.unpackb(raw, raw=False, use_list=False)
    except (ValueError, TypeError, msgpack.UnpackException):
        return None
    if type(value) is not tuple or len(value) != 2 or type(value[0]) is not tuple or len(value[0]) != 4:
        return None
    txs = value[0][1]
    if type(txs) is not tuple or any(type(t) is not bytes for t in txs):
        return None
    return txs


TASKS: dict[str, Callable[..., Any]] = {"block": prepare_block, "txs": check_txs}
"""What a worker may be asked to run, by the name the replaying process sends (node/audit/pipeline.py)."""


def serve(tasks: Connection, answers: Connection) -> None:
    """A worker process's life: take (task id, name, arguments) from `tasks`, send back (task id, True,
    result) or (task id, False, "Type: message") on `answers`, until `tasks` ends.

    Both pipes belong to this worker alone (no lock shared with another
    process), so whatever happens to it, the replaying process sees it on its
    own ends: an answer cut short by its death reads as the end of the pipe.
    """
    worker_init()
    while True:
        try:
            task = tasks.recv()
        except EOFError:  # the auditing process closed it: the audit is over
            return
        task_id, name, args = task
        try:
            answer = (task_id, True, TASKS[name](*args))
        except Exception as exc:  # noqa: BLE001 (a bug or MemoryError here: one line in the audit, not a traceback)
            answer = (task_id, False, f"{type(exc).__name__}: {exc}")
        try:
            answers.send(answer)
        except OSError:  # BrokenPipeError: the auditing process stopped reading
            return
