"""Transactions arriving by gossip pass the same admission as a client's (docs/admission.md).

A real consensus driver (an observer: it runs no rounds) on a real LevelDB
store, fed TXS frames as its peer layer would hand them over; what it admits
and what it relays are read back. The scenario:

1. a peer relays a batch: a stranger's transfer (a key the chain never knew),
   one from a known but unfunded account, a known account's transfer behind a
   nonce gap, one with an expiry far beyond the horizon, and two good ones;
2. only the good ones and the gapped one are admitted; the stranger's is
   refused as UNKNOWN_SIGNER (before any signature verification), the
   unfunded one as INSUFFICIENT_BALANCE, the far one as EXPIRY_TOO_FAR;
3. only the includable ones are relayed on; the gapped one is relayed once
   its gap is filled, not before.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from genesis.document import modules_json, parse_genesis
from genesis.rules import RULES
from ledger.address import to_address
from ledger.credit_txs import TRANSFER
from ledger.crypto import SigningKey
from ledger.store import Store
from ledger.tx import Tx, decode_tx, sign_tx
from node.config import NodeConfig
from node.consensus import wire
from node.consensus.driver import Broadcaster, Driver
from node.mempool import Mempool

CHAIN = "gossip-test"
VALIDATOR, FUNDED, UNFUNDED, STRANGER = (SigningKey(bytes([0xA0 + i]) * 32) for i in range(4))


class Recorder(Broadcaster):
    def __init__(self) -> None:
        self.relayed: list[bytes] = []

    def broadcast(self, kind: int, payload: Any, exclude: Any = None) -> int:
        if kind == wire.TXS:
            self.relayed += list(payload)
        return 0


def transfer(key: SigningKey, nonce: int, expiry: int = 100) -> Tx:
    return sign_tx(key, CHAIN, TRANSFER.name, nonce, expiry, ("eur", VALIDATOR.pubkey, 1, ""))


async def until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_gossip_admits_only_what_a_client_could_submit(tmp_path) -> None:
    g = parse_genesis(json.dumps({
        "chain_id": CHAIN, "genesis_time_ms": 1, "modules": modules_json(),
        "validators": [{"name": "v", "pubkey": to_address(VALIDATOR.pubkey)}],
        "identity": {"registrars": [{"name": "r", "account": to_address(UNFUNDED.pubkey)}]},  # known, no credits
        "credits": {
            "issuers": [{"name": "i", "account": to_address(VALIDATOR.pubkey)}],
            "classes": [{"id": "eur", "name": "euro", "issuer": to_address(VALIDATOR.pubkey), "decimals": 2}],
            "balances": [{"account": to_address(FUNDED.pubkey), "class": "eur", "amount": 100}],
        },
    }))
    store = Store(tmp_path / "db")
    store.init_genesis(g.hash(), g.initial_state(), 1)
    mempool = Mempool(RULES, store.state, CHAIN)
    driver = Driver(store, mempool, SigningKey(bytes([0xEE]) * 32), CHAIN, NodeConfig(), signer=None)
    net = Recorder()
    stranger, unfunded, gapped = transfer(STRANGER, 0), transfer(UNFUNDED, 0), transfer(FUNDED, 2)
    far, good = transfer(FUNDED, 0, expiry=2**63 - 1), [transfer(FUNDED, 0), transfer(FUNDED, 1)]
    forged_stranger = stranger.raw[:-1] + bytes([stranger.raw[-1] ^ 1])

    async def scenario() -> None:
        await driver.start(net)
        try:
            batch = (stranger.raw, forged_stranger, unfunded.raw, gapped.raw, far.raw, good[0].raw)
            await driver.on_message(None, wire.TXS, batch)
            await until(lambda: len(mempool) == 2)
            await asyncio.sleep(0.05)  # the relay is batched for 10 ms
            assert {decode_tx(raw, len(raw)).hash for raw in net.relayed} == {good[0].hash}
            await driver.on_message(None, wire.TXS, (good[1].raw,))
            await until(lambda: len(mempool) == 3)
            await asyncio.sleep(0.05)
        finally:
            await driver.stop()
            store.close()

    asyncio.run(scenario())
    assert gapped.hash in mempool and stranger.hash not in mempool and unfunded.hash not in mempool
    assert [decode_tx(raw, len(raw)).hash for raw in net.relayed] == [good[0].hash, good[1].hash, gapped.hash]
    refused = {reason: n for (source, reason), n in mempool.refused.items() if source == "gossip"}
    assert refused == {"UNKNOWN_SIGNER": 2, "INSUFFICIENT_BALANCE": 1, "EXPIRY_TOO_FAR": 1}
