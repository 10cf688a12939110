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
hands each block to the workers within a window of `WINDOW_BLOCKS` blocks and
`WINDOW_BYTES` raw bytes, so memory stays bounded however long the chain. A
block of more than `TX_CHUNK` transactions is spread over several tasks so
that every worker verifies it. `next` hands the blocks out strictly in chain
order, whatever order the workers finish in, so the first broken rule is the
one reported. Certificates are checked against the validator set the replay
holds when the block enters the window (`validators`); the replay checks again
if the set changed by the block's turn.

Workers are fresh interpreters (multiprocessing's spawn), never forked from
the auditing process with its threads and open store. Not the fork server:
it listens on a Unix socket under TMPDIR, and a socket path is limited to
107 bytes, so a long TMPDIR (a test's, a service's private one) made every
audit fail at its start. As in any program using
multiprocessing this way, a script that calls `verify_chain` or
`export_movements` keeps its top level under `if __name__ == "__main__":`
(a worker imports the main module; the `incoop` command does).

Why a pool of its own and not `concurrent.futures.ProcessPoolExecutor`.
The executor's workers send their answers through one shared pipe under one
shared lock, and one thread of the auditing process reads it. A worker
killed while writing an answer (an answer is a block's decoded transactions,
hundreds of kilobytes, several times the pipe's buffer) left half a message
in the pipe and the lock held: the reader waited for the rest of the message
forever, so it never looked at the dead worker again, the other workers
waited for the lock, and the replay waited for its answer
(tests/functional/test_audit_workers.py kills a worker exactly so).

Why this pool cannot wait on a dead worker. Every worker is started
(`workers` of them) before any task, and has two pipes of its own: tasks in,
answers out. It holds the only other ends of those pipes (the auditing
process closes its copies of them), so its death, at
any instant, is the end of its answer pipe (EOFError, half a message
included) and a broken task pipe (EPIPE), and its process sentinel becomes
ready. Every wait of the auditing process is then bounded by the workers'
lives:
- one collector thread waits (`multiprocessing.connection.wait`) on every
  worker's answer pipe and every worker's sentinel at once, the same fixed
  list all the audit long; it reads an answer that is ready to the end
  (the worker is writing it, or dead: EOF), and a sentinel or an EOF when
  the pool is not closing is `WorkerError`, set under the pool's lock and
  announced to every waiter;
- the replay (`next`) and the feeder wait only on that lock's condition,
  for an answer, room, or that failure;
- one sender thread per worker writes its tasks, so a task pipe that is
  full (the worker busy with the task before) holds up that thread alone;
  each worker holds at most `IN_FLIGHT` tasks not yet answered, and its
  writes end when the worker reads or dies (EPIPE).
`close` terminates the workers (they hold nothing another process waits
on), which ends every one of those waits; a feeder held by a fetch from an
API is left behind after `FEEDER_JOIN_S` (a daemon thread).

A worker that dies (killed, out of memory) or fails ends the audit with
`WorkerError` (exit status 2, "could not run"), never a hang, even when the
answers the replay still needed were all in; Ctrl-C reaches the replaying
process alone (workers ignore it) and `close` stops the workers.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from collections import deque
from collections.abc import Iterator
from multiprocessing.connection import wait
from typing import Any, NamedTuple

from ledger.block import Block, Certificate
from ledger.errors import Code, TxError
from ledger.tx import Tx
from node.audit.checks import (
    BlockFacts,
    TxChunk,
    TxProblem,
    check_certificate,
    prepare_block,
    serve,
    signature_from_wire,
    split_txs,
)
from node.audit.source import SourceError

TX_CHUNK = 1024  # transactions per task: ~0.1 s of verification, so a large block keeps every worker busy
WINDOW_BYTES = 8 * 1024 * 1024  # raw bytes read ahead of the replay: a few blocks of 5,000 transactions
WINDOW_BLOCKS = 512
IN_FLIGHT = 4  # tasks a worker holds unanswered: one it works on, the rest waiting in its pipe while its
#                answers wait for the auditing process's GIL (the replay holds it up to 5 ms at a time)
FEEDER_JOIN_S = 2.0  # a fetch in flight from an API may outlast the audit; a store read never does
WORKER_JOIN_S = 5.0
START_METHOD = "spawn"  # see the module docstring
DIED = "a verification worker process ended abruptly (killed, or out of memory?): the audit could not finish"

__all__ = ["INLINE_BELOW_BLOCKS", "InlinePipeline", "Pipeline", "Prepared", "TxProblem", "WorkerError", "check_certificate", "default_workers", "open_pipeline",
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
    tasks: list[int] | None  # the block's task ids, its decode first; None: the block is missing
    validators: tuple[bytes, ...]


class _Worker:
    """One worker process, the auditing process's ends of its two pipes, and the thread writing its tasks."""

    def __init__(self, context: Any, index: int):
        task_end, self.tasks = context.Pipe(duplex=False)
        self.answers, answer_end = context.Pipe(duplex=False)
        self.process = context.Process(target=serve, args=(task_end, answer_end), name=f"audit-worker-{index}",
                                       daemon=True)
        try:
            self.process.start()
        finally:  # the worker's ends are its own: its death is then EOF and EPIPE on ours
            task_end.close()
            answer_end.close()
        self.in_flight = 0  # tasks handed to it and not answered (under the pipeline's lock)
        self.outbox: queue.SimpleQueue[tuple[int, str, tuple] | None] = queue.SimpleQueue()
        self.sender = threading.Thread(target=self._send, name=f"audit-send-{index}", daemon=True)
        self.sender.start()

    def _send(self) -> None:
        while (task := self.outbox.get()) is not None:
            try:
                self.tasks.send(task)
            except OSError:  # the worker is gone: the collector tells the replay (its sentinel)
                return

    def terminate(self) -> None:
        """End the worker (it holds nothing another process waits on) and, after it, the thread writing to it."""
        self.outbox.put(None)
        if self.process.is_alive():
            self.process.terminate()

    def join(self) -> None:
        self.process.join(WORKER_JOIN_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.sender.join(WORKER_JOIN_S)  # its write, if any, ended with the worker (EPIPE)

    def close_pipes(self, collector_done: bool) -> None:
        if not self.sender.is_alive():
            self.tasks.close()
        if collector_done:
            self.answers.close()
        self.process.close()


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


def _prepared(height: int, validators: tuple[bytes, ...], facts: BlockFacts | None,
              more: list[TxChunk]) -> Prepared:
    """A block as the replay takes it, from its `prepare_block` answer (None: the source has no block at this
    height) and the `check_txs` answers for its transactions after the first task's."""
    if facts is None:
        return Prepared(height, True, None, None, None, None, [], set(), None, validators, None)
    if facts.block is None:
        return Prepared(height, False, facts.decode_error, None, None, None, [], set(), None, validators, None)
    txs, verified, problem = _decoded(facts.block.txs, [facts.txs, *more])
    return Prepared(height, False, None, facts.block, facts.certificate, facts.tx_root, txs, verified, problem,
                    validators, facts.certificate_problem)


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
        self._blocks = blocks
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # an answer, room in the window, a failure, the end
        self._ahead: deque[_Pending] = deque()
        self._ahead_bytes = 0
        self._answers: dict[int, tuple[bool, Any]] = {}
        self._next_task = 0
        self._stopping = False
        self._done = False  # the feeder has ended
        self._error: BaseException | None = None  # the source's, raised once the blocks before it are handed out
        self._failure: WorkerError | None = None  # a worker's death or failure, raised at once
        self._workers: list[_Worker] = []
        context = multiprocessing.get_context(START_METHOD)
        try:
            for index in range(workers):
                self._workers.append(_Worker(context, index))
        except OSError as exc:  # no process or pipe to be had: the audit could not run (not a file it writes)
            self._stop_workers()
            raise WorkerError(f"could not start the verification workers: {exc}") from None
        except BaseException:
            self._stop_workers()
            raise
        self._collector = threading.Thread(target=self._collect, name="audit-collect", daemon=True)
        self._collector.start()
        self._feeder = threading.Thread(target=self._feed, name="audit-feed", daemon=True)
        self._feeder.start()

    @property
    def workers(self) -> int:
        return len(self._workers)

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _running(self) -> bool:
        return not self._stopping and self._failure is None

    def _fail(self, failure: WorkerError) -> None:
        with self._lock:
            if not self._stopping and self._failure is None:
                self._failure = failure
            self._changed.notify_all()

    def _collect(self) -> None:
        """Take every answer as it comes; a worker's end, when the pool is not closing, is the audit's."""
        by_pipe = {worker.answers: worker for worker in self._workers}
        sentinels = {worker.process.sentinel for worker in self._workers}
        while True:
            for ready in wait([*by_pipe, *sentinels]):
                worker = by_pipe.get(ready)  # type: ignore[call-overload]
                if worker is None:
                    self._fail(WorkerError(DIED))
                    return
                try:
                    task_id, ok, value = worker.answers.recv()
                except (EOFError, OSError):  # it died, perhaps halfway through an answer
                    self._fail(WorkerError(DIED))
                    return
                except Exception as exc:  # noqa: BLE001 (an answer that does not unpickle: a bug, one line)
                    self._fail(WorkerError(f"a verification worker failed: {type(exc).__name__}: {exc}"))
                    return
                with self._lock:
                    worker.in_flight -= 1
                    self._answers[task_id] = (ok, value)
                    self._changed.notify_all()

    def _tasks(self, raw: bytes, validators: tuple[bytes, ...]) -> list[tuple[str, tuple]]:
        raws = split_txs(raw)
        if raws is None or len(raws) <= TX_CHUNK:  # one task (a block that does not decode is one too)
            return [("block", (raw, self.chain_id, validators, None))]
        return [("block", (raw, self.chain_id, validators, TX_CHUNK)),
                *(("txs", (raws[i:i + TX_CHUNK], i)) for i in range(TX_CHUNK, len(raws), TX_CHUNK))]

    def _dispatch(self, name: str, args: tuple) -> int | None:
        """Hand a task to the least busy worker once one holds fewer than IN_FLIGHT; None if stopped."""
        with self._lock:
            while self._running() and min(worker.in_flight for worker in self._workers) >= IN_FLIGHT:
                self._changed.wait()
            if not self._running():
                return None
            worker = min(self._workers, key=lambda w: w.in_flight)
            worker.in_flight += 1
            task_id = self._next_task
            self._next_task += 1
        worker.outbox.put((task_id, name, args))
        return task_id

    def _feed(self) -> None:
        try:
            for height, raw in self._blocks:
                size = len(raw) if raw else 0
                with self._lock:
                    while self._running() and self._ahead and (
                            len(self._ahead) >= WINDOW_BLOCKS or self._ahead_bytes + size > WINDOW_BYTES):
                        self._changed.wait()
                    if not self._running():
                        return
                    validators = self.validators
                tasks = None
                if raw is not None:
                    tasks = [self._dispatch(name, args) for name, args in self._tasks(raw, validators)]
                    if None in tasks:
                        return
                with self._lock:
                    self._ahead.append(_Pending(height, size, tasks, validators))  # type: ignore[arg-type]
                    self._ahead_bytes += size
                    self._changed.notify_all()
        except BaseException as exc:  # noqa: BLE001 (a failing source, raised again in the replay's thread)
            self._error = exc
        finally:
            with self._lock:
                self._done = True
                self._changed.notify_all()

    def next(self) -> Prepared:
        """The next block, prepared; raises what the source raised if it failed first, WorkerError if a worker
        died or failed (whether or not this block's answers were in)."""
        with self._lock:
            while not self._ahead and not self._done and self._failure is None:
                self._changed.wait()
            if self._failure is not None:
                raise self._failure
            if not self._ahead:
                if self._error is not None:
                    raise self._error
                raise SourceError("the source ended before its head")
            pending = self._ahead.popleft()
            self._ahead_bytes -= pending.size
            self._changed.notify_all()
            tasks = pending.tasks or []
            while self._failure is None and not all(task in self._answers for task in tasks):
                self._changed.wait()
            if self._failure is not None:
                raise self._failure
            answers = [self._answers.pop(task) for task in tasks]
        for ok, value in answers:
            if not ok:
                raise WorkerError(f"a verification worker failed: {value}")
        if pending.tasks is None:
            return _prepared(pending.height, pending.validators, None, [])
        return _prepared(pending.height, pending.validators, answers[0][1], [value for _, value in answers[1:]])

    def close(self) -> None:
        """Stop reading ahead, drop what is read and answered, and end the workers and every thread."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            self._ahead.clear()
            self._answers.clear()
            self._changed.notify_all()
        self._stop_workers()
        self._collector.join(WORKER_JOIN_S)
        self._feeder.join(FEEDER_JOIN_S)
        for worker in self._workers:
            worker.close_pipes(not self._collector.is_alive())

    def _stop_workers(self) -> None:
        with self._lock:
            self._stopping = True
        for worker in self._workers:
            worker.terminate()
        for worker in self._workers:
            worker.join()


INLINE_BELOW_BLOCKS = 32
"""A chain shorter than this is prepared in the auditing thread unless workers are asked for: starting a
worker (a fresh interpreter) costs about half a second of CPU, more than such a chain's verification."""


class InlinePipeline:
    """The same blocks, prepared in order in the calling thread: `Pipeline`'s interface without processes."""

    workers = 0

    def __init__(self, chain_id: str, blocks: Iterator[tuple[int, bytes | None]], validators: tuple[bytes, ...]):
        self.chain_id = chain_id
        self.validators = validators
        self._blocks = iter(blocks)

    def __enter__(self) -> InlinePipeline:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def next(self) -> Prepared:
        """The next block, prepared; raises what the source raised."""
        item = next(self._blocks, None)
        if item is None:
            raise SourceError("the source ended before its head")
        height, raw = item
        facts = None if raw is None else prepare_block(raw, self.chain_id, self.validators, None)
        return _prepared(height, self.validators, facts, [])

    def close(self) -> None:
        close = getattr(self._blocks, "close", None)
        if close is not None:
            close()


def open_pipeline(chain_id: str, blocks: Iterator[tuple[int, bytes | None]], validators: tuple[bytes, ...],
                  workers: int | None, length: int) -> Pipeline | InlinePipeline:
    """Worker processes for `length` blocks to replay, or the calling thread for a chain of fewer than
    `INLINE_BELOW_BLOCKS` when `workers` is not given; a number of workers given always starts them."""
    if workers is None and length < INLINE_BELOW_BLOCKS:
        return InlinePipeline(chain_id, blocks, validators)
    return Pipeline(chain_id, blocks, validators, workers or default_workers())
