"""The transaction workers (node/txworkers.py): the same verdicts as the node's own decoding and
verification, in order; bounded; a killed worker replaced; workers that cannot run given up on."""

from __future__ import annotations

import os
import signal
import struct
import sys
import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from ledger.crypto import SigningKey
from ledger.errors import Code, TxError
from ledger.tx import decode_tx
from node.mempool import Prepared
from node.txworkers import MIN_BATCH, FairSlots, TxWorkers, decode_chunk, verify_chunk
from tests.test_mempool import CHAIN, A, B, C, genesis_state, mempool, transfer

pytestmark = pytest.mark.timeout(120)

KEYS = [A, B, C]
STRANGER = SigningKey(b"\x55" * 32)


def _transfer(key: SigningKey, nonce: int, chain: str = CHAIN) -> bytes:
    return transfer(key, nonce, chain_id=chain).raw


def _forged(raw: bytes) -> bytes:
    out = bytearray(raw)
    out[-1] ^= 1
    return bytes(out)


@pytest.fixture(scope="module")
def workers() -> Iterator[TxWorkers]:
    pool = TxWorkers(2, CHAIN)
    yield pool
    pool.close()


def _mixed() -> list[bytes]:
    """Good, forged, malformed and another chain's transactions, interleaved over many chunks."""
    raws: list[bytes] = []
    for i in range(150):
        raw = _transfer(KEYS[i % 3], i // 3)
        raws.append(raw if i % 7 else _forged(raw))
        if i % 50 == 3:
            raws.append(b"\x98\x01junk")
        if i % 60 == 5:
            raws.append(_transfer(KEYS[1], i, chain="another-chain"))
    return raws


def test_decode_gives_the_fields_or_the_refusal_of_decode_tx_in_order(workers: TxWorkers) -> None:
    raws = _mixed()
    got = workers.decode(raws, 16 * 1024)
    assert len(got) == len(raws)
    for raw, item in zip(raws, got, strict=True):
        try:
            tx = decode_tx(raw)
        except TxError as exc:
            assert item == (int(exc.code), exc.message)
            continue
        assert item == tuple(tx)[:8] + (tx.hash,)
    assert workers.decode([b"x" * 100], 50)[0][0] == Code.TOO_LARGE


def test_verify_agrees_with_signature_ok_in_order(workers: TxWorkers) -> None:
    txs = []
    for raw in _mixed():
        try:
            txs.append(decode_tx(raw))
        except TxError:
            continue
    verdicts = workers.verify([(tx.signer, tx.raw) for tx in txs])
    # the node's chain id is part of the signed message: another chain's signature never verifies here
    expected = [tx.signature_ok() and tx.chain_id == CHAIN for tx in txs]
    assert [bool(v) for v in verdicts] == expected
    assert 0 < sum(verdicts) < len(txs)
    assert verify_chunk(CHAIN, [(tx.signer, tx.raw) for tx in txs[:40]]) == verdicts[:40]
    assert decode_chunk([], 10) == [] and workers.verify([]) == b""


def test_prepare_batch_with_workers_is_prepare_batch_without(workers: TxWorkers) -> None:
    """Same decoded transactions, same refusals, same verdicts; and a stranger's is refused before any
    verification, with or without workers (its forged signature would otherwise say BAD_SIGNATURE)."""
    pool = mempool(genesis_state(), max_pending_per_account=64)
    raws: list[bytes | TxError] = [*_mixed(), _forged(_transfer(STRANGER, 0)), TxError(Code.MALFORMED, "bad hex")]
    assert len(raws) >= MIN_BATCH
    with_workers = pool.prepare_batch(raws, None, 1, workers)
    without = pool.prepare_batch(raws, None, 1)
    assert [_plain(item) for item in with_workers] == [_plain(item) for item in without]
    codes = {item.error.code for item in with_workers if item.error is not None}
    assert {Code.MALFORMED, Code.WRONG_CHAIN, Code.UNKNOWN_SIGNER} <= codes
    assert with_workers[-2].error.code == Code.UNKNOWN_SIGNER and not with_workers[-2].signature_ok
    assert any(item.signature_ok for item in with_workers) and any(
        item.error is None and not item.signature_ok for item in with_workers)


def _plain(item: Prepared) -> tuple:
    error = None if item.error is None else (item.error.code, item.error.message)
    return item.tx, item.signature_ok, error, item.body


class _Counting(TxWorkers):
    """Counts the chunks in flight at each submission (the bound is what is checked)."""

    def __init__(self, workers: int, chain_id: str):
        super().__init__(workers, chain_id)
        self.in_flight: list = []
        self.most = 0
        self._count_lock = threading.Lock()

    def _submit(self, fn, *args):  # type: ignore[no-untyped-def]
        submitted = super()._submit(fn, *args)
        with self._count_lock:
            self.in_flight = [f for f in self.in_flight if not f.done()]
            if submitted[0] is not None:
                self.in_flight.append(submitted[0])
            self.most = max(self.most, len(self.in_flight))
        return submitted


def test_the_chunks_in_flight_are_bounded_whatever_the_callers() -> None:
    pool = _Counting(1, CHAIN)
    try:
        txs = [decode_tx(_transfer(KEYS[i % 3], i)) for i in range(400)]
        items = [(tx.signer, tx.raw) for tx in txs]
        results: list[bytes] = []
        callers = [threading.Thread(target=lambda: results.append(pool.verify(items))) for _ in range(12)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join(60)
        assert len(results) == 12 and all(r == b"\x01" * 400 for r in results)
        assert pool.most == 1  # one worker: one batch in one chunk at a time, however many callers wait
    finally:
        pool.close()


def test_a_killed_worker_is_replaced_and_its_chunk_done_again() -> None:
    pool = TxWorkers(2, CHAIN)
    try:
        txs = [decode_tx(_transfer(KEYS[i % 3], i)) for i in range(3000)]
        items = [(tx.signer, tx.raw) for tx in txs]
        assert pool.verify(items[:10]) == b"\x01" * 10
        before = sorted(pool.pids())
        assert len(before) == 2
        result: list[bytes] = []
        caller = threading.Thread(target=lambda: result.append(pool.verify(items)))
        caller.start()
        time.sleep(0.05)  # the chunks are in the workers
        os.kill(before[0], signal.SIGKILL)
        caller.join(60)
        assert not caller.is_alive(), "the caller hung after a worker was killed"
        assert result == [b"\x01" * 3000]
        assert pool.replaced == 1 and not pool.given_up
        assert pool.verify(items[:100]) == b"\x01" * 100  # the new pool works
        assert before[0] not in pool.pids()
    finally:
        pool.close()


def _die_in_a_worker(items: Sequence[int], parent: int) -> list[int]:
    """A chunk that kills the worker running it (a worker that cannot run here); harmless in the node."""
    if os.getpid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
    return [i * 2 for i in items]


def test_workers_that_keep_dying_are_given_up_with_every_answer_still_right() -> None:
    pool = TxWorkers(1, CHAIN)
    try:
        for _ in range(3):
            assert pool._map(_die_in_a_worker, list(range(40)), (os.getpid(),), list.__add__, []) == list(range(0, 80, 2))
        assert pool.given_up
        assert pool._map(_die_in_a_worker, [1, 2], (os.getpid(),), list.__add__, []) == [2, 4]
        txs = [decode_tx(_transfer(KEYS[0], i)) for i in range(20)]
        assert pool.verify([(tx.signer, tx.raw) for tx in txs]) == b"\x01" * 20  # in the node process now
    finally:
        pool.close()


def test_turns_are_given_in_the_order_they_were_asked_for() -> None:
    """A batch that came first is not overtaken by later ones while it waits for a turn (a sender's
    batches posted one after the other then reach admission in that order)."""
    slots = FairSlots(1)
    slots.acquire()
    order: list[int] = []

    def wait_turn(i: int) -> None:
        slots.acquire()
        order.append(i)
        slots.release()

    waiting = []
    for i in range(6):
        thread = threading.Thread(target=wait_turn, args=(i,))
        thread.start()
        waiting.append(thread)
        deadline = time.monotonic() + 5
        while len(slots._waiting) < i + 1 and time.monotonic() < deadline:  # queued before the next one asks
            time.sleep(0.001)
    slots.release()
    for thread in waiting:
        thread.join(5)
    assert order == list(range(6))


def test_a_small_batch_is_checked_in_the_node_process() -> None:
    """A few transactions cost more to send to a worker and back than to check here (node/txworkers.py
    MIN_BATCH): such a batch never reaches the workers, and its verdicts are the same."""
    counting = _Counting(1, CHAIN)
    try:
        pool = mempool(genesis_state(), max_pending_per_account=64)
        small = [_transfer(A, 0), _forged(_transfer(B, 0)), _transfer(C, 0)]
        prepared = pool.prepare_batch(small, None, 1, counting)
        assert counting.most == 0
        assert [(p.signature_ok, p.error) for p in prepared] == [(True, None), (False, None), (True, None)]
        pool.prepare_batch([_transfer(A, i) for i in range(MIN_BATCH)], None, 1, counting)
        assert counting.most == 1
    finally:
        counting.close()


def _die_while_answering(items: Sequence[int], parent: int) -> list[int]:
    """In a worker: die as if killed while writing its answer, deterministically. The answers' pipe and
    lock are the executor's (CPython 3.11's concurrent/futures/process.py `_process_worker`): the lock is
    taken, a message's length header and part of its body written, then SIGKILL, which is the moment
    the kernel's out-of-memory killer can pick when an answer is larger than the pipe's buffer."""
    if os.getpid() == parent:
        return [i * 2 for i in items]
    frame = sys._getframe()
    while frame.f_code.co_name != "_process_worker":
        frame = frame.f_back
    answers = frame.f_locals["result_queue"]
    answers._wlock.acquire()
    os.write(answers._writer.fileno(), struct.pack("!i", 1 << 20) + b"\x80" * 4096)
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def test_a_worker_killed_halfway_through_its_answer_never_holds_the_caller() -> None:
    """The executor's own reader waits for ever on half a message: the caller must not (node/txworkers.py)."""
    pool = TxWorkers(2, CHAIN)
    try:
        result: list = []
        caller = threading.Thread(
            target=lambda: result.append(pool._map(_die_while_answering, list(range(40)), (os.getpid(),),
                                                   list.__add__, [])))
        started = time.monotonic()
        caller.start()
        caller.join(30)
        assert not caller.is_alive(), "the caller hung on a worker killed while writing its answer"
        assert result == [list(range(0, 80, 2))] and time.monotonic() - started < 30
        txs = [decode_tx(_transfer(KEYS[0], i)) for i in range(200)]
        assert pool.verify([(tx.signer, tx.raw) for tx in txs]) == b"\x01" * 200  # a pool (or this process) works
    finally:
        pool.close()
