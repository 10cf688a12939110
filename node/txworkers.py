"""Decoding and verifying incoming transactions in worker processes, off the executing process's GIL.

docs/operations.md, "Transaction workers". Every piece of Python work of the node
process shares one GIL; a transaction's decoding and the Python side of its
signature check need no state, so a small pool of worker processes does them and
hands back plain values. The mempool's rules do not change (node/mempool.py,
`prepare_batch`): a batch is decoded in the workers (`decode`), the checks that need
the state and the mempool run in the node process (the known signer, the expiry,
the cheap refusals: a stranger's transaction still costs no verification), and
only the survivors' signatures are verified in the workers (`verify`). A batch of
fewer than `MIN_BATCH` transactions stays in the node process.

What comes back is cheaper to take than to make again: a decoded transaction as
a tuple of its fields (about 2 µs to unpickle against about 10 µs to decode), a
verdict as one byte. The parsed body is not sent (the node parses it, about
1.5 µs): the workers then never pickle a module's own types.

Bounded, in order, and never stalled: at most `workers` batches are in the
workers at once, each in at most `workers` chunks; a batch holds its turn through
both steps, and the batches waiting for a turn get it in arrival order (so a
sender's batches posted one after the other are admitted in that order, as with
the node's own threads). A caller waits for its turn, so a flood queues in the
API's own bounded intake (docs/api-limits.md), not here;
a worker that dies (SIGKILL, out of memory) breaks the pool, which is replaced
at once and the chunk sent again; a chunk that breaks a fresh pool too is done
in this process, with one log line. The workers are fresh interpreters
(multiprocessing's spawn), never forked from the threaded node; not the fork
server either, whose Unix socket under TMPDIR breaks a long TMPDIR's 107-byte
path limit (node/audit/pipeline.py found it first). Each waits on its parent's
sentinel and exits when the node is gone, however it went.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, TypeVar

from ledger.crypto import DOMAIN_TX, SIGNATURE_LEN, signing_message, verify
from ledger.errors import TxError
from ledger.tx import decode_tx, unsigned_from_wire

log = logging.getLogger("incoop.txworkers")

T = TypeVar("T")

_ATTEMPTS = 2  # a chunk goes to a fresh pool once more after a worker died, then is done in-process
_GIVE_UP = 4  # pools broken in a row, with no chunk done in between: the workers cannot run here
_MIN_CHUNK = 16  # below this, a chunk costs more to send than to split
_POLL_S = 0.5  # how often a caller waiting for an answer looks for a dead worker (`_answer`)
MIN_BATCH = 100
"""Batches smaller than this are checked in the node process (decoded in its thread, verified in its thread
pool): two trips to a worker and back cost more CPU and latency than they spare for a few transactions
(measured: at 500 tx/s offered in batches of a few transactions, four validators used 18 % more CPU and
their finality was slower with every batch sent to the workers)."""


# --- what a worker runs (module level: a worker imports this module) ---------------------------------

Decoded = tuple  # the fields of ledger.tx.Tx without `raw`: (version, type, chain_id, signer, nonce, expiry, body,
#                  signature, hash); or (code, message) of the TxError refusing the bytes


def decode_chunk(raws: Sequence[bytes], max_tx_bytes: int) -> list[tuple]:
    """`decode_tx` of each item: its fields (raw left out: the caller holds it) or its refusal's (code, message)."""
    out: list[tuple] = []
    for raw in raws:
        try:
            tx = decode_tx(raw, max_tx_bytes)
        except TxError as exc:
            out.append((int(exc.code), exc.message))
            continue
        out.append(tx[:8] + (tx.hash,))
    return out


def verify_chunk(chain_id: str, items: Sequence[tuple[bytes, bytes]]) -> bytes:
    """One byte per (signer, raw) pair: 1 if the signature verifies. `raw` is a transaction `decode_tx`
    accepted, so its signing bytes are cut from it as `Tx.signing_bytes` does (FORMAT.md §7)."""
    out = bytearray(len(items))
    for i, (signer, raw) in enumerate(items):
        out[i] = verify(signer, signing_message(DOMAIN_TX, chain_id, unsigned_from_wire(raw)), raw[-SIGNATURE_LEN:])
    return bytes(out)


def _ready() -> int:
    return os.getpid()


def _exit_with_the_node() -> None:
    """A worker's initializer: exit when the node process is gone, however it went (SIGKILL runs no
    shutdown). The node holds the other end of the pipe spawn gave the worker as its parent's
    sentinel; a worker waiting for work would otherwise wait for ever on a queue it holds both ends of."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(target=watch, name="node-watch", daemon=True).start()


# --- the node's side ------------------------------------------------------------------------------------


class FairSlots:
    """A counting semaphore that hands its slots out in the order they were asked for."""

    def __init__(self, slots: int):
        self._free = slots
        self._waiting: deque[threading.Event] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # `release` hands its slot over

    def release(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1


class TxWorkers:
    """A bounded pool of worker processes decoding and verifying transactions; thread-safe."""

    def __init__(self, workers: int, chain_id: str):
        if workers < 1:
            raise ValueError("TxWorkers needs at least one worker (0 workers: node/mempool.py's threads)")
        self.workers = workers
        self.chain_id = chain_id
        self.replaced = 0  # pools replaced after a worker died, for /metrics
        self.in_process = 0  # chunks done in this process because a fresh pool broke too
        self._context = multiprocessing.get_context("spawn")
        self._turns = FairSlots(workers)
        self._holding = threading.local()
        self._lock = threading.Lock()
        self._closed = False
        self._broken_in_a_row = 0
        self.given_up = False  # the workers kept dying: every chunk is done in this process from then on
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(self.workers, mp_context=self._context, initializer=_exit_with_the_node)
        for _ in range(self.workers):  # start them now, not at the first batch (not waited for)
            pool.submit(_ready)
        return pool

    def pids(self) -> list[int]:
        """The live workers' process ids (the tests kill one)."""
        processes = _processes(self._pool) or {}
        return [pid for pid, process in list(processes.items()) if process.is_alive()]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool = self._pool
        pool.shutdown(wait=True, cancel_futures=True)

    # --- the two jobs -----------------------------------------------------------------------------------

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold one of the `workers` turns (in arrival order) for the calls made inside: a batch's decoding
        and its verification, so that it is not overtaken between them by batches that came later."""
        if getattr(self._holding, "turn", False):
            yield
            return
        self._turns.acquire()
        self._holding.turn = True
        try:
            yield
        finally:
            self._holding.turn = False
            self._turns.release()

    def decode(self, raws: Sequence[bytes], max_tx_bytes: int) -> list[tuple]:
        """`decode_chunk` over `raws`, split among the workers; in order."""
        return self._map(decode_chunk, raws, (max_tx_bytes,), list.__add__, [])

    def verify(self, items: Sequence[tuple[bytes, bytes]]) -> bytes:
        """`verify_chunk` over (signer, raw) pairs, split among the workers; one verdict byte each, in order."""
        return self._map(verify_chunk, items, (), bytes.__add__, b"", lead=(self.chain_id,))

    def _map(self, fn: Callable[..., T], items: Sequence[Any], tail: tuple, join: Callable[[T, T], T], empty: T,
             lead: tuple = ()) -> T:
        if not items:
            return empty
        if self.given_up:
            return fn(*lead, items, *tail)
        size = max(_MIN_CHUNK, -(-len(items) // self.workers))
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        with self.turn():
            futures = [self._submit(fn, *lead, chunk, *tail) for chunk in chunks]
            out = empty
            for chunk, future in zip(chunks, futures, strict=True):
                out = join(out, self._result(future, fn, (*lead, chunk, *tail)))
        return out

    def _submit(self, fn: Callable[..., T], *args: Any) -> tuple[Future[T] | None, ProcessPoolExecutor]:
        pool = self._pool
        try:
            return pool.submit(fn, *args), pool
        except (BrokenProcessPool, RuntimeError):  # broken, or shut down: `_result` decides
            return None, pool

    def _result(self, submitted: tuple[Future[T] | None, ProcessPoolExecutor], fn: Callable[..., T],
                args: tuple) -> T:
        future, pool = submitted
        for attempt in range(_ATTEMPTS):
            if future is not None:
                try:
                    result = _answer(future, pool)
                    self._broken_in_a_row = 0
                    return result
                except BrokenProcessPool:
                    pass
                except CancelledError:  # the pool was closed or replaced under it: done here
                    break
            if not self._replace(pool) or attempt == _ATTEMPTS - 1:
                break
            future, pool = self._submit(fn, *args)
        # a chunk that broke a fresh pool as well (or a pool closing under it): the same function, here
        self.in_process += 1
        if not (self.given_up or self._closed):
            log.error("transaction workers: a new pool lost a worker too; a chunk was checked in the node process")
        return fn(*args)

    def _replace(self, broken: ProcessPoolExecutor) -> bool:
        """A worker died: start a new pool in place of `broken` (once, whoever notices first)."""
        with self._lock:
            if self._closed:
                return False
            if self.given_up:
                return False
            if self._pool is broken:
                broken.shutdown(wait=False, cancel_futures=True)
                for process in list((_processes(broken) or {}).values()):
                    process.kill()  # a survivor may wait for ever on the answers' lock a dead one held
                self._broken_in_a_row += 1
                if self._broken_in_a_row >= _GIVE_UP:
                    self.given_up = True
                    log.critical("transaction workers: %d pools in a row lost a worker before finishing any work; "
                                 "transactions are decoded and verified in the node process from now on "
                                 "(set tx_workers to 0 to start that way)", _GIVE_UP)
                    return False
                try:
                    self._pool = self._new_pool()
                except OSError as exc:  # no process or pipe to be had now
                    self.given_up = True
                    log.critical("transaction workers: a worker process died and none could be started again (%s); "
                                 "transactions are decoded and verified in the node process from now on", exc)
                    return False
                log.warning("transaction workers: a worker process died; started a new pool of %d", self.workers)
                self.replaced += 1
        return True


def _processes(pool: ProcessPoolExecutor) -> dict[int, Any] | None:
    """The pool's worker processes by pid (the executor's own table: it has no public one); None once the
    pool is shut down."""
    return getattr(pool, "_processes", None)


def _answer(future: Future[T], pool: ProcessPoolExecutor) -> T:
    """The future's result, or BrokenProcessPool as soon as one of the pool's workers is dead.

    Why not `future.result()` alone: the executor's workers write their answers into one pipe under one
    lock, read by one thread of this process. A worker killed while writing an answer larger than the
    pipe's buffer (a decoded batch is hundreds of kilobytes) leaves half a message and the lock held: that
    thread waits for the rest for ever, never marks the pool broken, and the future never completes
    (node/audit/pipeline.py found it; tests/test_txworkers.py kills a worker so). A dead worker, or the
    pool shut down by another caller that saw one, is seen here within `_POLL_S` (the chunk is then done
    again); the stuck thread of the abandoned pool stays blocked, one idle thread per such death."""
    while True:
        try:
            return future.result(timeout=_POLL_S)
        except TimeoutError:
            processes = _processes(pool)
            if processes is None or any(process.exitcode is not None for process in list(processes.values())):
                raise BrokenProcessPool("a transaction worker died before answering") from None


def make_workers(workers: int | None, chain_id: str) -> TxWorkers | None:
    """The pool a node config asks for: None (the node's threads, as before) for 0 workers, or when no
    worker can be started (one warning line: the node runs all the same); `None` is one worker per core."""
    count = (os.cpu_count() or 1) if workers is None else workers
    if count < 1:
        return None
    try:
        return TxWorkers(count, chain_id)
    except OSError as exc:
        log.warning("transaction workers: could not start %d worker process(es) (%s); transactions are decoded and "
                    "verified in the node process (tx_workers: 0 says so without trying)", count, exc)
        return None

