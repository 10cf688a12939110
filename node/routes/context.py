"""What the route handlers need of the running node (built by node.server, kept in the app)."""

from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ledger import chain
from ledger.block import Block, Certificate, decode_raw_block
from ledger.store import Store
from node.config import ApiConfig
from node.mempool import Mempool
from node.txworkers import TxWorkers

_BLOCK_CACHE = 64


@dataclass
class NodeContext:
    """The store, the mempool and the node's identity; consensus and peers once started.

    The handlers read the store directly (LevelDB reads are thread-safe and the
    consensus driver commits each block in one atomic batch) and touch the
    mempool only on the event loop.
    """

    store: Store
    mempool: Mempool
    chain_id: str
    genesis_hash: bytes
    node_key: bytes  # this node's public key
    configured_validator: bool  # `"role": "validator"` in config.json: it votes wherever the set holds its key
    node_address: str
    verify_pool: Executor | None = None
    tx_workers: TxWorkers | None = None  # decode and verify in worker processes (node/txworkers.py)
    consensus: Any = None  # node.consensus.driver.Driver, once started
    peers: Any = None  # node.p2p.PeerManager, once started
    texts: Any = None  # node.agora_texts.AgoraTexts: the agora's post texts, kept off chain
    genesis: bytes = b""  # canonical(genesis) of FORMAT.md §14.3: SHA-256 of it is genesis_hash
    _blocks: OrderedDict[int, tuple[Block, Certificate]] = field(default_factory=OrderedDict)

    def block(self, height: int) -> tuple[Block, Certificate] | None:
        """A committed block, decoded; a few recent ones are kept since history reads them often."""
        cached = self._blocks.get(height)
        if cached is not None:
            self._blocks.move_to_end(height)
            return cached
        raw = self.store.raw_block(height)
        if raw is None:
            return None
        decoded = decode_raw_block(raw)
        self._blocks[height] = decoded
        while len(self._blocks) > _BLOCK_CACHE:
            self._blocks.popitem(last=False)
        return decoded

    def next_height(self) -> int:
        return self.store.head().height + 1

    def role(self) -> str:
        """"validator" while this node votes: configured as one and its key in the validator set of the height
        being decided (the state at the head, as the consensus reads it: docs/consensus.md, "Who votes");
        else "observer". A node voted into the set says "validator" from the change's effective height."""
        if self.configured_validator and self.node_key in chain.get_validators(self.store.state):
            return "validator"
        return "observer"


NODE = web.AppKey("node", NodeContext)
CONFIG = web.AppKey("api_config", ApiConfig)
