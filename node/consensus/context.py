"""What the parts of the consensus driver share: the store, the mempool, the network, the head, one thread.

The driver (node/consensus/driver.py) is split by job — the height being decided
(height.py), building and checking blocks (blocks.py), what this node signs
(signer.py), block sync (sync.py), transaction gossip (txgossip.py), status and
metrics (status.py). Each part takes this context instead of the driver, so that a
test can make one part with a context of its own and exercise it alone.

Only the driver's event loop task changes `head` (after a commit) and `net` (at
start); the parts read them when they need them, never a copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from ledger.crypto import SigningKey
from ledger.store import Store
from ledger.transition import ChainHead
from node.config import NodeConfig
from node.mempool import Mempool
from node.txworkers import TxWorkers


def now_ms() -> int:
    """The wall clock in milliseconds."""
    return time.time_ns() // 1_000_000


class Broadcaster:
    """What the driver needs of the peer-to-peer layer (node.p2p.PeerManager provides it)."""

    def broadcast(self, kind: int, payload: Any, exclude: Any = None) -> int:
        return 0

    def peers(self) -> list[Any]:
        return []

    def forget(self, kind: int, payload: Any) -> None:
        """Let a later copy of this gossip message through again."""


def _no_queue(handler: Callable[..., Any], *args: Any) -> None:
    """Before the driver starts there is no event loop task to hand work to."""


@dataclass
class Context:
    store: Store
    mempool: Mempool
    key: SigningKey  # the node key: it signs votes, proposals and evidence reports
    chain_id: str
    config: NodeConfig
    executor: Executor  # the one consensus thread: building, validating and committing blocks, in order
    verify_pool: Executor | None = None  # verifies transaction signatures in parallel (the API's pool)
    tx_workers: TxWorkers | None = None  # or decodes and verifies them in worker processes (node/txworkers.py)
    # the clock that stamps this node's blocks and bounds the time of the others' (docs/consensus.md,
    # "The clock bound"); node/consensus/faults.py skews it in fault tests
    clock: Callable[[], int] = now_ms
    net: Broadcaster = field(default_factory=Broadcaster)
    # put a handler and its arguments on the driver's event queue (handled in arrival order)
    enqueue: Callable[..., None] = _no_queue
    head: ChainHead = field(init=False)  # the last committed block, read from the store at first

    def __post_init__(self) -> None:
        self.head = self.store.head()

    @property
    def next_height(self) -> int:
        """The height being decided: one above the last committed block."""
        return self.head.height + 1
