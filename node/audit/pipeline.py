"""The audit's parallel part: blocks decoded and verified in worker processes, ahead of the serial replay.

Why processes and not threads. The replay (`apply_block` and the scratch
store's write) is serial Python and holds its process's GIL all the time.
Ed25519 verification (PyNaCl, libsodium) releases the GIL, but everything
around it (the canonical decode of each transaction, the signing message,
the hashes) needs it, so verification threads took the GIL from the replay
thousands of times a second, and the replay decoded every transaction again.
Worker processes (node/audit/checks.py) decode each block and each of its
transactions once, verify every transaction and certificate signature, and
hand the replay the decoded transactions; the replay's process only reads,
hands out and takes back.

A feeder thread reads the source (an API's fetches or a store's reads) and
submits each block to the pool within a window of `WINDOW_BLOCKS` blocks and
`WINDOW_BYTES` raw bytes, so memory stays bounded however long the chain. A
block of more than `TX_CHUNK` transactions is spread over several tasks so
that every worker verifies it. `next` hands the blocks out strictly in chain
order, whatever order the workers finish in, so the first broken rule is the
one reported. Certificates are checked against the validator set the replay
holds when the block enters the window (`validators`); the replay checks again
if the set changed by the block's turn.

Workers start from multiprocessing's fork server, never forked from the
auditing process with its threads and open store; as in any program using
multiprocessing this way, a script that calls `verify_chain` or
`export_movements` keeps its top level under `if __name__ == "__main__":`
(a worker imports the main module; the `incoop` command does).

A worker that dies (killed, out of memory) or fails ends the audit with
`WorkerError` (exit status 2, "could not run"), never a hang; Ctrl-C reaches
the replaying process alone (workers ignore it) and `close` stops the pool.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import NamedTuple

from ledger.block import Block, Certificate
from ledger.errors import Code, TxError
from ledger.tx import Tx
from node.audit.checks import (
    BlockFacts,
    TxChunk,
    TxProblem,
    check_certificate,
    check_txs,
    prepare_block,
    signature_from_wire,
    split_txs,
    worker_init,
)
from node.audit.source import SourceError

TX_CHUNK = 1024  # transactions per task: ~0.1 s of verification, so a large block keeps every worker busy
WINDOW_BYTES = 8 * 1024 * 1024  # raw bytes read ahead of the replay: a few blocks of 5,000 transactions
WINDOW_BLOCKS = 512
FEEDER_JOIN_S = 2.0  # a fetch in flight from an API may outlast the audit; a store read never does
START_METHOD = "forkserver"

__all__ = ["Pipeline", "Prepared", "TxProblem", "WorkerError", "check_certificate", "default_workers",
           "signature_from_wire"]


class WorkerError(RuntimeError):
    """A verification worker died or failed: the audit could not finish (not a verdict on the chain)."""


def default_workers() -> int:
    """One worker process per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Prepared(NamedTuple):
    """One block as the replay takes it: decoded, its transactions decoded and verified, its certificate checked."""

    height: int
    missing: bool  # the source has no block at this height
    decode_error: str | None  # the raw block is not canonical [block, certificate]
    block: Block | None
    certificate: Certificate | None
    tx_root: bytes | None
    txs: list[Tx | TxError]  # each of block.txs decoded, in order (for apply_block's `decoded`)
    verified: set[bytes]  # the hashes of the transactions whose signature verifies
    tx_problem: TxProblem | None  # the first transaction that does not decode or verify
    validators: tuple[bytes, ...]  # the set the certificate was checked against, ahead of the replay
    certificate_problem: str | None


class _Pending(NamedTuple):
    height: int
    size: int
    facts: Future | None  # None: the block is missing
    chunks: list[Future]
    validators: tuple[bytes, ...]


def _decoded(raws: tuple[bytes, ...], chunks: list[TxChunk]) -> tuple[list[Tx | TxError], set[bytes], TxProblem | None]:
    """The block's transactions as Tx (their wire bytes are the block's), the verified hashes, the first problem."""
    txs: list[Tx | TxError] = []
    make = Tx._make
    for chunk in chunks:
        for raw, item in zip(raws[chunk.first:chunk.first + len(chunk.decoded)], chunk.decoded, strict=True):
            if len(item) == 2:
                txs.append(TxError(Code(item[0]), item[1]))
            else:
                txs.append(make((*item[:8], raw, item[8])))
    if len(txs) != len(raws):
        raise WorkerError(f"the workers checked {len(txs)} of the block's {len(raws)} transactions")
    problems = [p for chunk in chunks for p in chunk.problems]
    failed = {p.index for p in problems}
    verified = {tx.hash for i, tx in enumerate(txs) if type(tx) is Tx and i not in failed}
    return txs, verified, problems[0] if problems else None


class Pipeline:
    """Blocks read, decoded and verified ahead of the serial replay, in worker processes, within a window.

    `validators` is the set the replay holds now: blocks entering the window
    have their certificate checked against it. Use as a context manager, or
    call `close`.
    """

    def __init__(self, chain_id: str, blocks: Iterator[tuple[int, bytes | None]], validators: tuple[bytes, ...],
                 workers: int):
        self.chain_id = chain_id
        self.validators = validators
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(START_METHOD),
                                         initializer=worker_init)
        self._blocks = blocks
        self._ahead: deque[_Pending] = deque()
        self._ahead_bytes = 0
        self._room = threading.Condition()
        self._stopping = False
        self._done = False
        self._error: BaseException | None = None
        self._feeder = threading.Thread(target=self._feed, name="audit-feed", daemon=True)
        self._feeder.start()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _submit(self, height: int, raw: bytes | None, validators: tuple[bytes, ...]) -> _Pending:
        if raw is None:
            return _Pending(height, 0, None, [], validators)
        raws = split_txs(raw)
        if raws is None or len(raws) <= TX_CHUNK:  # one task (a block that does not decode is one too)
            return _Pending(height, len(raw), self._pool.submit(prepare_block, raw, self.chain_id, validators, None),
                            [], validators)
        facts = self._pool.submit(prepare_block, raw, self.chain_id, validators, TX_CHUNK)
        chunks = [self._pool.submit(check_txs, raws[i:i + TX_CHUNK], i) for i in range(TX_CHUNK, len(raws), TX_CHUNK)]
        return _Pending(height, len(raw), facts, chunks, validators)

    def _feed(self) -> None:
        try:
            for height, raw in self._blocks:
                size = len(raw) if raw else 0
                with self._room:
                    while not self._stopping and self._ahead and (
                            len(self._ahead) >= WINDOW_BLOCKS or self._ahead_bytes + size > WINDOW_BYTES):
                        self._room.wait()
                    if self._stopping:
                        return
                    validators = self.validators
                self._add(self._submit(height, raw, validators))
        except BaseException as exc:  # noqa: BLE001 (a failing source or pool, raised again in the replay's thread)
            self._error = exc
        finally:
            with self._room:
                self._done = True
                self._room.notify_all()

    def _add(self, pending: _Pending) -> None:
        with self._room:
            if self._stopping:
                _cancel(pending)
                return
            self._ahead.append(pending)
            self._ahead_bytes += pending.size
            self._room.notify_all()

    def next(self) -> Prepared:
        """The next block, prepared; raises what the source raised if it failed first, WorkerError if a worker did."""
        with self._room:
            while not self._ahead and not self._done:
                self._room.wait()
            if not self._ahead:
                if self._error is not None:
                    raise _worker_error(self._error) if isinstance(self._error, BrokenProcessPool) else self._error
                raise SourceError("the source ended before its head")
            pending = self._ahead.popleft()
            self._ahead_bytes -= pending.size
            self._room.notify_all()
        if pending.facts is None:
            return Prepared(pending.height, True, None, None, None, None, [], set(), None, pending.validators, None)
        facts: BlockFacts = _result(pending.facts)
        if facts.block is None:
            for chunk in pending.chunks:
                chunk.cancel()
            return Prepared(pending.height, False, facts.decode_error, None, None, None, [], set(), None,
                            pending.validators, None)
        chunks = [facts.txs, *(_result(chunk) for chunk in pending.chunks)]
        txs, verified, problem = _decoded(facts.block.txs, chunks)
        return Prepared(pending.height, False, None, facts.block, facts.certificate, facts.tx_root, txs, verified,
                        problem, pending.validators, facts.certificate_problem)

    def close(self) -> None:
        """Stop reading ahead, drop what is queued and stop the workers (those busy finish their one task)."""
        with self._room:
            self._stopping = True
            for pending in self._ahead:
                _cancel(pending)
            self._ahead.clear()
            self._room.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._feeder.join(FEEDER_JOIN_S)
        self._pool.shutdown(wait=True)


def _cancel(pending: _Pending) -> None:
    for future in (pending.facts, *pending.chunks):
        if future is not None:
            future.cancel()


def _worker_error(exc: BaseException) -> WorkerError:
    if isinstance(exc, BrokenProcessPool):
        return WorkerError("a verification worker process ended abruptly (killed, or out of memory?): "
                           "the audit could not finish")
    return WorkerError(f"a verification worker failed: {type(exc).__name__}: {exc}")


def _result(future: Future):  # noqa: ANN202 (BlockFacts or TxChunk)
    """A worker's answer; its death or failure as WorkerError (the replay never waits on a dead worker)."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise _worker_error(exc) from None
    except Exception as exc:  # noqa: BLE001 (a bug or MemoryError in a worker: one line, not a remote traceback)
        raise _worker_error(exc) from None
