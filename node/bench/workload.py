"""The benchmarks' workload: many funded senders, transfers signed before any clock starts.

Sender keys come from a fixed seed so that a genesis and its workload can be
rebuilt without storing 10,000 keys; they are benchmark keys, never wallets.
Transfers are ordered nonce-major (every sender's nonce 0, then every
sender's nonce 1, ...), so any prefix of the list is executable and a batch
spreads over many accounts, as real traffic from many residents would.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ledger.credit_txs import TRANSFER
from ledger.crypto import SigningKey, sha256
from ledger.tx import Tx, sign_tx
from node.devnet_layout import DEMO_CLASS

T = TypeVar("T")

FAR_EXPIRY = 9_000
"""An expiry height no benchmark reaches, within a node's expiry horizon (mempool.max_expiry_blocks: 10,000
blocks after the next height; the transfers are signed before the chain starts)."""


def sender_keys(count: int, seed: bytes = b"incoop-bench") -> list[SigningKey]:
    return [SigningKey(sha256(seed + i.to_bytes(4, "big"))) for i in range(count)]


def transfer_tx(chain_id: str, key: SigningKey, to: bytes, nonce: int, amount: int = 1, class_id: str = DEMO_CLASS,
                expiry: int = FAR_EXPIRY) -> Tx:
    return sign_tx(key, chain_id, TRANSFER.name, nonce, expiry, (class_id, to, amount, ""))


def transfer(chain_id: str, key: SigningKey, to: bytes, nonce: int, amount: int = 1, class_id: str = DEMO_CLASS) -> bytes:
    return transfer_tx(chain_id, key, to, nonce, amount, class_id).raw


def in_parallel(make: Callable[[int], T], total: int, step: int = 2000) -> list[T]:
    """[make(0), ..., make(total - 1)], computed in chunks on every core: PyNaCl releases the GIL while it
    signs, so signing many transactions scales with the cores."""

    def chunk(start: int) -> list[T]:
        return [make(j) for j in range(start, min(start + step, total))]

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        return [item for part in pool.map(chunk, range(0, total, step)) for item in part]


def signed_transfers(chain_id: str, keys: list[SigningKey], total: int, first_nonce: int = 0,
                     class_id: str = DEMO_CLASS) -> list[bytes]:
    """`total` raw transfers, sender i paying sender i+1, nonce-major; signed on every core."""
    n = len(keys)
    pubkeys = [k.pubkey for k in keys]
    return in_parallel(lambda j: transfer(chain_id, keys[j % n], pubkeys[(j + 1) % n], first_nonce + j // n,
                                          class_id=class_id), total)
