"""R, the limit: raw Ed25519 verifications per second on every core, measured in the same run.

Every figure of the benchmark is divided by R, so that results from a laptop
and a server compare: a ledger that verifies each signature once can at best
reach R transactions per second.
"""

from __future__ import annotations

import os
import threading
import time

import nacl.bindings

from ledger.crypto import SigningKey


def verify_rate(seconds: float = 2.0, threads: int | None = None) -> float:
    """Verifications per second with `threads` threads (default: one per core); PyNaCl releases the GIL."""
    threads = threads or os.cpu_count() or 1
    key = SigningKey(bytes(range(32)))
    messages = [i.to_bytes(8, "big") * 8 for i in range(64)]
    signed = [key.sign(m) + m for m in messages]  # crypto_sign_open takes signature || message
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def work(slot: int) -> None:
        n = 0
        open_ = nacl.bindings.crypto_sign_open
        pk = key.pubkey
        while time.monotonic() < stop:
            for sm in signed:
                open_(sm, pk)
            n += len(signed)
        counts[slot] = n

    started = time.monotonic()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.monotonic() - started)
