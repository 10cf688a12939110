"""Verifying many transaction signatures at once, on every core.

Each signature is still checked alone by `ledger.crypto.verify` (the one rule
of FORMAT.md §4.2; never a batch-verification shortcut): what is batched is
only the scheduling. libsodium runs without the GIL (PyNaCl calls it through
cffi, which releases it), so chunks of signatures handed to a thread pool
verify in parallel while the caller waits. A chunk of a few dozen keeps the
pool's per-task cost small beside the ~100 µs of one verification.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from concurrent.futures import Executor

from ledger.tx import Tx

CHUNK = 64


def verified_hashes(txs: Sequence[Tx], executor: Executor | None = None, chunk: int = CHUNK) -> set[bytes]:
    """The hashes of those `txs` whose signature verifies (in the executor's threads if given)."""
    chunks = [txs[i:i + chunk] for i in range(0, len(txs), chunk)]
    results = executor.map(_verify_chunk, chunks) if executor is not None else map(_verify_chunk, chunks)
    return {tx.hash for part, oks in zip(chunks, results, strict=True) for tx, ok in zip(part, oks, strict=True) if ok}


def _verify_chunk(txs: Sequence[Tx]) -> list[bool]:
    return [tx.signature_ok() for tx in txs]


class EitherVerified:
    """Membership in either of two containers of verified hashes, without copying either (O(1) each)."""

    __slots__ = ("first", "second")

    def __init__(self, first: Container[bytes], second: Container[bytes]):
        self.first = first
        self.second = second

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self.first or tx_hash in self.second
