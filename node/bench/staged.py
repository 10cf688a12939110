"""Posting transactions that wait on others' commits: the market benchmark's poster.

A transfer needs nothing but its sender's earlier nonces, so the single row
can offer everything at once. A sale cannot: a node admits a provider's
`market.accept` only once the order it accepts is committed (admission runs
the type's execution rules against the committed state and the signer's own
pending transactions, docs/admission.md), and a buyer's `market.confirm` only
once the acceptance is. Every transaction here is signed before the clock,
with its nonce fixed; each `Step` names the one it must wait for (`after`,
committed), and a signer's steps are offered in nonce order. A step is
*released* to the posters when it heads its signer's lane and what it waits
for is committed; the steps behind it in the lane follow at once if nothing
holds them, so that one batch may carry a buyer's confirmation and its next
order. A signer never has more than `max_pending` steps posted and not yet
committed: a node refuses a nonce further than its `mempool.max_pending_per_account`
(64 by default, docs/admission.md) ahead of the committed one, and a provider
whose many orders commit in one block would otherwise be released that many
acceptances at once.

Several client threads post the released steps in batches to
`/v1/txs/batch` (node/bench/federation.py, `post_batch`) and offer again,
a little later, what a full mempool refused, as the single row does
(node/bench/throughput.py). A watcher follows one node's committed blocks,
notes when each transaction committed and with which result, and releases
what waited on it. Any other refusal, and any committed result other than OK,
is counted: this workload is all valid, so both must be zero.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from ledger.block import decode_raw_block
from ledger.crypto import sha256
from ledger.errors import Code
from node.bench.federation import post_batch
from wallet.client import NodeClient

RETRY_AFTER_S = 0.05
POLL_S = 0.01
MAX_PENDING = 64  # node/config.py, mempool.max_pending_per_account's default


class Step(NamedTuple):
    """One signed transaction: `raw` by `signer` (its nonces in list order), posted once `after` is committed."""

    raw: bytes
    signer: bytes
    after: bytes | None = None  # the hash of the transaction that must be committed first

    @property
    def hash(self) -> bytes:
        return sha256(self.raw)  # FORMAT.md §6.1: a transaction's hash is SHA-256 of its wire bytes


@dataclass
class StagedRun:
    """What happened to a list of steps: when each committed, and what went wrong."""

    started: float  # monotonic time of the first post
    committed_at: dict[bytes, float] = field(default_factory=dict)  # hash -> when the watcher saw its block
    failed: list[str] = field(default_factory=list)  # committed with a result other than OK
    refused: list[str] = field(default_factory=list)  # refused at admission, other than a full mempool
    blocks: int = 0
    last_commit: float = 0.0

    def complete(self, total: int) -> bool:
        return len(self.committed_at) == total and not self.failed and not self.refused


class Releaser:
    """The steps not yet posted, by signer lane, and the ones waiting on a commit; thread-safe."""

    def __init__(self, steps: Iterable[Step], max_pending: int = MAX_PENDING):
        self.lanes: dict[bytes, deque[tuple[bytes, Step]]] = {}
        self.signer_of: dict[bytes, bytes] = {}
        for step in steps:
            tx_hash = step.hash
            self.lanes.setdefault(step.signer, deque()).append((tx_hash, step))
            self.signer_of[tx_hash] = step.signer
        self.max_pending = max_pending
        self.in_flight: dict[bytes, int] = {}  # signer -> its steps released and not yet committed
        self.waiting: dict[bytes, list[bytes]] = {}  # a hash lanes' heads wait for -> those lanes' signers
        self.blocked_on: dict[bytes, bytes] = {}  # signer -> the hash its lane's head last waited for
        self.ready: deque[bytes] = deque()  # raw transactions to post, in release order
        self.committed: set[bytes] = set()
        self.lock = threading.Condition()
        with self.lock:
            for signer in list(self.lanes):
                self._advance(signer)

    def _advance(self, signer: bytes) -> None:
        """Release the lane's steps from its head while nothing holds them (the lock is held): neither a
        commit the head waits for nor the signer's steps in flight (a commit of one of them advances it)."""
        lane = self.lanes.get(signer)
        if lane is None:
            return  # every step released already
        while lane:
            _, step = lane[0]
            if step.after is not None and step.after not in self.committed:
                if self.blocked_on.get(signer) != step.after:  # once, however often its own commits advance it
                    self.blocked_on[signer] = step.after
                    self.waiting.setdefault(step.after, []).append(signer)
                return
            if self.in_flight.get(signer, 0) >= self.max_pending:
                return
            lane.popleft()
            self.in_flight[signer] = self.in_flight.get(signer, 0) + 1
            self.ready.append(step.raw)
        del self.lanes[signer]

    def commit(self, hashes: Iterable[bytes]) -> None:
        with self.lock:
            for tx_hash in hashes:
                self.committed.add(tx_hash)
                signer = self.signer_of[tx_hash]
                self.in_flight[signer] -= 1
                self._advance(signer)
                for waiter in self.waiting.pop(tx_hash, ()):
                    self._advance(waiter)
            self.lock.notify_all()

    def take(self, batch: int, done: threading.Event) -> list[bytes] | None:
        """Up to `batch` released transactions; waits for some; None once `done` is set."""
        with self.lock:
            while not self.ready:
                if done.is_set():
                    return None
                self.lock.wait(0.05)
            return [self.ready.popleft() for _ in range(min(batch, len(self.ready)))]

    def again(self, raws: list[bytes]) -> None:
        """Offer these again first (refused by a full mempool): they keep their order."""
        with self.lock:
            self.ready.extendleft(reversed(raws))
            self.lock.notify_all()


def run_staged(urls: list[str], steps: list[Step], clients: int = 4, batch: int = 2_000, timeout_s: float = 600.0,
               label: str = "", progress: bool = True) -> StagedRun:
    """Post every step as its turn comes and follow the first node's blocks until all committed (or the
    timeout, or a failure that would hold the rest for ever)."""
    total = len(steps)
    releaser = Releaser(steps)
    watched = NodeClient(urls[0])
    height = watched.status()["height"]
    mine = {step.hash for step in steps}
    done = threading.Event()
    run = StagedRun(started=time.monotonic())
    run.last_commit = run.started

    def client(slot: int) -> None:
        try:
            post(slot)
        except Exception as exc:  # a client that dies would hold the rest for ever: stop the run, say why
            run.refused.append(f"client {slot}: {exc!r}")

    def post(slot: int) -> None:
        turn = slot
        while (chunk := releaser.take(batch, done)) is not None:
            url = urls[turn % len(urls)]
            turn += 1
            retry = []
            for raw, result in zip(chunk, post_batch(url, chunk), strict=True):
                error = result.get("error")
                if error is None:
                    continue
                if error.get("code") == Code.MEMPOOL_FULL:
                    retry.append(raw)
                else:
                    run.refused.append(json.dumps(error))  # list.append is atomic
            if retry:
                time.sleep(RETRY_AFTER_S)
                releaser.again(retry)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    last_report = run.started
    deadline = run.started + timeout_s
    try:
        while len(run.committed_at) < total and not run.failed and not run.refused and time.monotonic() < deadline:
            head = watched.status()["height"]
            while height < head:
                height += 1
                block, _ = decode_raw_block(watched.block_raw(height))
                now = time.monotonic()
                hashes = []
                for raw, result in zip(block.txs, block.results, strict=True):
                    tx_hash = sha256(raw)
                    if tx_hash not in mine:
                        continue
                    if result != Code.OK:
                        run.failed.append(f"{tx_hash.hex()}: {Code(result).name}")
                    run.committed_at[tx_hash] = now
                    hashes.append(tx_hash)
                releaser.commit(hashes)
                run.blocks += 1
                if hashes:
                    run.last_commit = now
            now = time.monotonic()
            if progress and now - last_report >= 2:
                last_report = now
                print(f"  {label}: {len(run.committed_at):,}/{total:,} committed after {now - run.started:.0f} s",
                      file=sys.stderr, flush=True)
            time.sleep(POLL_S)
    finally:
        done.set()
        for thread in threads:
            thread.join(5)
    for line in (run.failed + run.refused)[:10]:
        print(f"  {label}: {line}", file=sys.stderr, flush=True)
    return run
