"""A proposer never builds a block the others cannot receive before their propose timeout.

The limit is the number of transactions this node executes in 60 % of the
propose timeout left after the block interval, at the cost per transaction
it learnt from its own recent blocks; a lone validator waits for nobody.
The block maker (node/consensus/blocks.py) is tested alone, on a real store.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from genesis.document import modules_json, parse_genesis
from genesis.rules import RULES
from ledger.address import to_address
from ledger.crypto import SigningKey
from ledger.store import Store
from node.config import MempoolConfig, NodeConfig
from node.consensus.blocks import BlockMaker
from node.consensus.context import Context
from node.mempool import Mempool

KEYS = [SigningKey(bytes([0x90 + i]) * 32) for i in range(4)]


def maker(tmp_path, block_interval_ms: int = 200) -> BlockMaker:
    g = parse_genesis(json.dumps({
        "chain_id": "limit", "genesis_time_ms": 1, "modules": modules_json(),
        "validators": [{"name": f"v{i}", "pubkey": to_address(k.pubkey)} for i, k in enumerate(KEYS)],
    }))
    store = Store(tmp_path / "db")
    store.init_genesis(g.hash(), g.initial_state(), 1)
    config = NodeConfig(block_interval_ms=block_interval_ms)
    mempool = Mempool(RULES, store.state, "limit", MempoolConfig(max_txs=1000))
    return BlockMaker(Context(store, mempool, KEYS[0], "limit", config, ThreadPoolExecutor(1)))


def test_a_lone_validator_builds_blocks_as_large_as_the_chain_allows(tmp_path):
    m = maker(tmp_path)
    m.learn(5000, 5000.0)  # 1 ms per transaction: slow, and irrelevant
    assert m.size_limit(5000, validators=1, timeout_propose_ms=1000) == 5000


def test_the_first_blocks_assume_100_microseconds_per_transaction(tmp_path):
    m = maker(tmp_path, block_interval_ms=200)
    assert m.size_limit(100_000, validators=4, timeout_propose_ms=1000) == int(0.6 * 800 / 0.1)
    assert m.size_limit(1000, validators=4, timeout_propose_ms=1000) == 1000  # the chain's own limit still applies
    # the propose timeout is the chain's (a set-param changes it): a longer one allows larger blocks
    assert m.size_limit(100_000, validators=4, timeout_propose_ms=2000) == int(0.6 * 1800 / 0.1)


def test_a_slow_machine_proposes_smaller_blocks_and_a_fast_one_larger(tmp_path):
    m = maker(tmp_path)
    start = m.size_limit(100_000, validators=4, timeout_propose_ms=1000)
    for _ in range(20):
        m.learn(1000, 1000.0)  # 1 ms per transaction
    slow = m.size_limit(100_000, validators=4, timeout_propose_ms=1000)
    assert slow < start and slow == pytest.approx(480, rel=0.02)
    for _ in range(20):
        m.learn(5000, 100.0)  # 20 µs per transaction
    assert m.size_limit(100_000, validators=4, timeout_propose_ms=1000) > start


def test_small_blocks_teach_nothing_and_the_limit_has_a_floor(tmp_path):
    m = maker(tmp_path, block_interval_ms=90)
    m.learn(3, 3000.0)  # three slow transactions say little about a block
    assert m.ms_per_tx == pytest.approx(0.1)
    for _ in range(50):
        m.learn(100, 100_000.0)
    assert m.size_limit(5000, validators=4, timeout_propose_ms=100) == 100
