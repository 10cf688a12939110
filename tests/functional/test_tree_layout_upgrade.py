"""A node whose store holds the state tree in the first record layout converts it when it starts (FORMAT.md §15).

Scenario:
1. One validator commits a steady load of transfers (over 30 blocks), then
   stops cleanly. Every block's hash and state root and the demo holders'
   balances are read first, and the store's tree records are kept.
2. Its store's inner tree records are rewritten as the first layout had them,
   `0x01 ‖ hash`: the data directory an earlier version leaves behind.
3. `incoop audit verify --data` on it succeeds: every replayed state root is
   its block's, and the private copy, converted, holds the replay's records.
4. The node starts on it: it logs the conversion once, serves at the same
   height the same blocks, state roots and balances, and its tree records are
   again exactly those of step 1.
5. The chain goes on: a new transfer commits, and the next start converts
   nothing; converting the records the node then holds gives them back
   byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import plyvel
import pytest

from ledger.store import P_TREE
from tests.functional.framework import Devnet, SteadyLoad, incoop, make_devnet, wait_until

pytestmark = pytest.mark.timeout(180)
MIN_HEIGHT = 30
HOLDERS = ("anna", "marco", "federation")


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    devnet = make_devnet(tmp_path_factory.mktemp("layout") / "devnet")
    try:
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


def tree_records(devnet: Devnet) -> dict[bytes, bytes]:
    db = plyvel.DB(str(devnet.node.home / "data"))
    try:
        return dict(db.iterator(prefix=P_TREE))
    finally:
        db.close()


def to_first_layout(devnet: Devnet) -> int:
    db = plyvel.DB(str(devnet.node.home / "data"))
    try:
        inner = [(k, v) for k, v in db.iterator(prefix=P_TREE) if v[:1] == b"\x01"]
        with db.write_batch(sync=True) as batch:
            for key, record in inner:
                batch.put(key, b"\x01" + hashlib.sha256(record).digest())
        return len(inner)
    finally:
        db.close()


def chain_view(devnet: Devnet, height: int) -> tuple[list[tuple[str, str]], dict[str, int]]:
    api = devnet.api
    blocks = [(api.block(h)["hash"], api.block(h)["header"]["state_root"]) for h in range(1, height + 1)]
    return blocks, {who: api.balance(devnet.pubkey(who)) for who in HOLDERS}


def test_a_store_of_the_first_layout_is_converted_at_start_and_the_chain_goes_on(devnet: Devnet) -> None:
    devnet.node.start()
    load = SteadyLoad(devnet, [devnet.node], rate=40)
    load.start()
    wait_until(lambda: devnet.api.status()["height"] >= MIN_HEIGHT, timeout=60, what=f"height {MIN_HEIGHT}")
    devnet.api.wait_committed(load.stop()[-1])
    height = devnet.api.status()["height"]
    before = chain_view(devnet, height)
    assert devnet.node.stop() == 0
    records = tree_records(devnet)

    converted = to_first_layout(devnet)
    assert converted > 10 and tree_records(devnet) != records

    audit = incoop(devnet, "audit", "verify", "--genesis", str(devnet.layout.home / "genesis.json"),
                   "--data", str(devnet.node.home), "--quiet", "--json", process=True)
    verdict = json.loads(audit.stdout)
    assert verdict["ok"] is True and verdict["height"] == height, verdict
    assert tree_records(devnet) != records, "the audit converts its private copy, never the data directory"

    devnet.node.start()
    assert devnet.api.status()["height"] >= height
    assert chain_view(devnet, height) == before
    log = devnet.node.log_text()
    assert log.count("holds the state tree in an earlier record layout: converting it") == 1, log
    assert f"state tree: {converted} records converted to the current layout" in log, log
    assert "top levels loaded into memory" in log

    tx = devnet.transfer("anna", "marco", 7, devnet.next_nonce("anna"))
    devnet.api.submit(tx)
    assert devnet.api.wait_committed(tx.hash)["result"]["code"] == "OK"
    assert devnet.node.stop() == 0
    after = tree_records(devnet)
    assert all(len(record) == 65 for record in after.values())
    devnet.node.start()
    assert devnet.node.log_text().count("converting it") == 1, "a converted store is converted once"
    assert devnet.node.stop() == 0

    # the records a conversion writes are exactly those the node itself wrote
    to_first_layout(devnet)
    devnet.node.start()
    assert devnet.node.stop() == 0
    assert tree_records(devnet) == after

