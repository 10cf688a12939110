"""Real consensus drivers in one process, on a simulated network: scripted driver scenarios.

Each node is a real `node.consensus.driver.Driver` on a real LevelDB store, with
a real sign-state file, real Ed25519 signatures and real block execution; only
the network between the nodes is simulated. Frames are encoded and decoded as
on the wire (node/p2p/frames.py) and gossip is deduplicated by frame hash as
the peer layer does (node/p2p/peers.py), delivered on the test's asyncio loop
in order per link. A link can be cut and healed; a node can be stopped (as a
crash: its memory is gone, its store and sign-state stay) and started again,
with the same or a different signer.

Timeouts are short (`FAST_TIMEOUTS`, the genesis's round timeouts) so that a scenario of several rounds
takes seconds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genesis.document import modules_json, parse_genesis
from genesis.rules import RULES
from ledger.address import to_address
from ledger.block import decode_raw_block
from ledger.credit_txs import TRANSFER
from ledger.crypto import SigningKey, sha256
from ledger.store import Store
from ledger.tx import Tx, sign_tx
from node.config import ConsensusConfig, NodeConfig
from node.consensus import wire
from node.consensus.context import Broadcaster, now_ms
from node.consensus.driver import Driver
from node.consensus.signer import Signer
from node.consensus.signstate import SignState
from node.mempool import Mempool
from node.p2p.frames import decode_frame, encode_frame

CHAIN = "driver-test"
FUNDED = SigningKey(bytes([0x5A]) * 32)
CLASS = "eur"
FAST = NodeConfig(
    block_interval_ms=20,
    heartbeat_ms=400,
    consensus=ConsensusConfig(status_interval_ms=100),
)
FAST_TIMEOUTS = {"timeout_propose_ms": 500, "timeout_prevote_ms": 250, "timeout_precommit_ms": 250,
                 "timeout_delta_ms": 100, "timeout_max_ms": 2000}
"""The chain's round timeouts (genesis params, docs/consensus.md "Timeouts")."""


def key(seed: int) -> SigningKey:
    return SigningKey(bytes([seed]) * 32)


def genesis_json(validators: list[SigningKey], observers: list[SigningKey] = ()) -> str:
    """A chain with these validators (in this order) and one funded account for transfers."""
    return json.dumps({
        "chain_id": CHAIN, "genesis_time_ms": 1, "modules": modules_json(), "params": FAST_TIMEOUTS,
        "validators": [{"name": f"v{i}", "pubkey": to_address(k.pubkey)} for i, k in enumerate(validators)],
        "observers": [{"name": f"o{i}", "pubkey": to_address(k.pubkey)} for i, k in enumerate(observers)],
        "credits": {
            "issuers": [{"name": "i", "account": to_address(FUNDED.pubkey)}],
            "classes": [{"id": CLASS, "name": "euro", "issuer": to_address(FUNDED.pubkey), "decimals": 2}],
            "balances": [{"account": to_address(FUNDED.pubkey), "class": CLASS, "amount": 1_000_000}],
        },
    })


def transfer(nonce: int, to: SigningKey | None = None) -> Tx:
    to = to or key(0x77)
    return sign_tx(FUNDED, CHAIN, TRANSFER.name, nonce, 5_000, (CLASS, to.pubkey, 1, ""))


class LocalPeer:
    """One end of a link, as a driver sees its peer: the remote key, `send`, and the remote's last status."""

    def __init__(self, net: LocalNet, owner: Node, remote: Node):
        self.net, self.owner, self.remote = net, owner, remote
        self.pubkey = remote.key.pubkey
        self.address = remote.name
        self.status: wire.Status | None = None

    def send(self, kind: int, payload: Any) -> bool:
        return self.net.deliver(self.owner, self.remote, encode_frame(kind, payload))


class NodeLinks(Broadcaster):
    """A node's view of the network: its live peers, broadcast, and the gossip seen-set."""

    def __init__(self, net: LocalNet, node: Node):
        self.net, self.node = net, node
        self.seen: set[bytes] = set()
        self._peers: dict[str, LocalPeer] = {}

    def peer(self, remote: Node) -> LocalPeer:
        if remote.name not in self._peers:
            self._peers[remote.name] = LocalPeer(self.net, self.node, remote)
        return self._peers[remote.name]

    def peers(self) -> list[Any]:
        return [self.peer(other) for other in self.net.linked_to(self.node)]

    def broadcast(self, kind: int, payload: Any, exclude: Any = None) -> int:
        frame = encode_frame(kind, payload)
        if kind in wire.GOSSIP_KINDS:
            self.seen.add(sha256(frame))
        sent = 0
        for peer in self.peers():
            if peer is not exclude and self.net.deliver(self.node, peer.remote, frame):
                sent += 1
        return sent

    def forget(self, kind: int, payload: Any) -> None:
        self.seen.discard(sha256(encode_frame(kind, payload)))


class Node:
    def __init__(self, net: LocalNet, name: str, node_key: SigningKey, home: Path, genesis: str,
                 config: NodeConfig, votes: bool = True):
        self.net, self.name, self.key, self.home = net, name, node_key, home
        self.genesis = parse_genesis(genesis)
        self.config = config
        self.votes = votes  # configured as a validator: it has a signer
        self.driver: Driver | None = None
        self.links: NodeLinks | None = None
        self.store: Store | None = None

    @property
    def running(self) -> bool:
        return self.driver is not None

    @property
    def sign_state_path(self) -> Path:
        return self.home / "sign_state.bin"

    async def start(self, signer_class: type[Signer] = Signer, driver_class: type[Driver] = Driver,
                    clock: Callable[[], int] = now_ms) -> Node:
        self.store = Store(self.home / "db")
        if not self.store.is_initialised():
            self.store.init_genesis(self.genesis.hash(), self.genesis.initial_state(), self.genesis.genesis_time_ms)
        mempool = Mempool(RULES, self.store.state, CHAIN)
        signer = signer_class(self.key, CHAIN, SignState(self.sign_state_path)) if self.votes else None
        self.driver = driver_class(self.store, mempool, self.key, CHAIN, self.config, signer, clock=clock)
        self.links = NodeLinks(self.net, self)
        await self.driver.start(self.links)
        self.net.came_up(self)
        return self

    async def stop(self) -> None:
        """A crash as far as consensus can tell: everything in memory is gone; store and sign-state stay."""
        assert self.driver is not None and self.store is not None
        driver, self.driver = self.driver, None
        await driver.stop()
        self.store.close()
        self.store = None

    @property
    def height(self) -> int:
        assert self.driver is not None
        return self.driver.head.height

    def submit(self, tx: Tx) -> None:
        assert self.driver is not None
        self.driver.ctx.mempool.admit(tx, self.driver.ctx.next_height)

    def status(self) -> dict:
        assert self.driver is not None
        return self.driver.status()

    def certificate_signers(self, height: int) -> set[bytes]:
        assert self.store is not None
        raw = self.store.raw_block(height)
        assert raw is not None, f"{self.name} has no block {height}"
        _, certificate = decode_raw_block(raw)
        return {validator for validator, _ in certificate.signatures}

    def block_hash(self, height: int) -> bytes:
        assert self.store is not None
        raw = self.store.raw_block(height)
        assert raw is not None
        return decode_raw_block(raw)[0].hash()


class LocalNet:
    def __init__(self, tmp_path: Path, keys: list[SigningKey], config: NodeConfig = FAST,
                 genesis: str | None = None):
        """One node per key, named n0, n1, …; the genesis names `keys` as the validators unless given."""
        self.tmp_path = tmp_path
        self.genesis = genesis or genesis_json(keys)
        self.nodes: list[Node] = []
        for k in keys:
            self.add(k, config=config)
        self.cut: set[frozenset[str]] = set()
        self._tasks: set[asyncio.Task] = set()

    def add(self, node_key: SigningKey, votes: bool = True, config: NodeConfig = FAST) -> Node:
        """Another node of the same chain (`votes` False: configured as an observer, no signer)."""
        name = f"n{len(self.nodes)}"
        node = Node(self, name, node_key, self.tmp_path / name, self.genesis, config, votes)
        self.nodes.append(node)
        return node

    # --- links ---------------------------------------------------------------------------------

    def linked(self, a: Node, b: Node) -> bool:
        return a is not b and a.running and b.running and frozenset((a.name, b.name)) not in self.cut

    def linked_to(self, node: Node) -> list[Node]:
        return [other for other in self.nodes if self.linked(node, other)]

    def came_up(self, node: Node) -> None:
        for other in self.linked_to(node):
            self._connected(node, other)

    def _connected(self, a: Node, b: Node) -> None:
        assert a.driver is not None and b.driver is not None and a.links is not None and b.links is not None
        a.driver.on_connect(a.links.peer(b))
        b.driver.on_connect(b.links.peer(a))

    def split(self, a: Node, b: Node) -> None:
        self.cut.add(frozenset((a.name, b.name)))

    def isolate(self, node: Node) -> None:
        for other in self.nodes:
            if other is not node:
                self.split(node, other)

    def heal(self) -> None:
        pairs, self.cut = self.cut, set()
        for pair in pairs:
            a, b = (n for n in self.nodes if n.name in pair)
            if self.linked(a, b):
                self._connected(a, b)

    def deliver(self, source: Node, target: Node, frame: bytes) -> bool:
        if not self.linked(source, target):
            return False
        asyncio.get_running_loop().call_soon(self._arrive, source, target, target.driver, frame)
        return True

    def _arrive(self, source: Node, target: Node, driver: Driver, frame: bytes) -> None:
        if not self.linked(source, target) or target.driver is not driver:
            return  # the link went down (or the target restarted) while the frame was on its way
        assert target.links is not None
        kind, payload = decode_frame(frame, 64 * 1024 * 1024)
        if kind in wire.GOSSIP_KINDS:
            digest = sha256(frame)
            if digest in target.links.seen:
                return
            target.links.seen.add(digest)
        task = asyncio.get_running_loop().create_task(driver.on_message(target.links.peer(source), kind, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- running ------------------------------------------------------------------------------

    async def start(self, nodes: list[Node] | None = None) -> None:
        for node in nodes if nodes is not None else self.nodes:
            await node.start()

    async def stop(self) -> None:
        for node in self.nodes:
            if node.running:
                await node.stop()

    def running(self) -> list[Node]:
        return [n for n in self.nodes if n.running]


async def until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Wait on the loop until `condition()` is true; fail the test after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"timed out after {timeout} s waiting for {what}"
        await asyncio.sleep(0.02)


async def stays(condition: Callable[[], Any], seconds: float, what: str) -> None:
    """Check that `condition()` holds throughout `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        assert condition(), what
        await asyncio.sleep(0.02)
