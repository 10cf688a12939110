"""The validator set changed by vote on a real devnet (FORMAT.md §6.8): a fifth validator added, then one
removed, with the chain final throughout and nothing lost to a SIGKILL during the change.

1. Four validators (node0 … node3) and two genesis observers. observer0 is configured to vote (role
   validator) but its key is not in the set: it follows the chain without voting. observer1 is not
   started. A steady load of transfers goes to node0 … node2.
2. node0 proposes adding observer0's key with its peer address, effective at height E; node1 and
   node2 approve: three of four, so `incoop governance proposals` shows it approved.
3. node3 is killed (SIGKILL) before E and kept down across the change. From E the set is five with a
   quorum of four: blocks are certified only if observer0 votes, and they are — observer0 signs the
   certificate of E and of every block while node3 is down, without having been restarted.
4. node3 is restarted: it catches up across the change (block sync checks each certificate against the
   set of its height).
5. node0 proposes removing node3, effective E2; node1, node2 and observer0 approve (four of five);
   observer0 is then killed (SIGKILL) and restarted before E2. From E2 node3 (still running) signs no
   certificate, the set is four (`incoop governance validators`), node0 closes its connection to node3,
   and blocks go on. node1 dialled observer0 at the address the state gave it.
6. observer1, started from genesis only now, syncs across both changes. Every node holds the same block at
   every height, each certified by the set its header names; every accepted transfer is committed once
   everywhere; balances add up to the supply.
7. `incoop audit verify` of node0's data directory crosses both changes, and `incoop wallet verify-balance`
   proves anna's balance from the genesis set through the two certified set updates.
8. `incoop governance` refuses in one line an approval of an applied proposal, a proposal by a key that is
   not a validator, and a peer address that is not ws:// or wss://.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from governance import federation_records as rec
from ledger.address import to_address
from ledger.crypto import SigningKey
from ledger.tx import sign_tx
from node.config import load_config, write_config
from node.devnet_layout import DEMO_CLASS
from tests.functional.framework import (
    FAR_EXPIRY,
    Devnet,
    NodeProcess,
    SteadyLoad,
    assert_api_error,
    assert_committed_everywhere,
    assert_conserved,
    incoop,
    make_devnet,
    wait_until,
)
from tests.functional.framework import assert_all_agree as agree

pytestmark = pytest.mark.timeout(240)
LEAD = 40
"""Blocks between a proposal and its effective height: room for the approvals under load (a few seconds)."""


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[Devnet]:
    devnet = make_devnet(tmp_path / "devnet", validators=4, observers=2)
    joiner = devnet.nodes[4].home
    config = load_config(joiner)
    config.role = "validator"  # it votes at every height whose set holds its key (node/consensus/height.py)
    write_config(joiner, config)
    try:
        devnet.start_all(devnet.nodes[:5])
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


def send(devnet: Devnet, node: NodeProcess, key: SigningKey, type_: str, body: tuple) -> bytes:
    nonce = node.api.account(key.pubkey)["pending_nonce"]
    tx = sign_tx(key, devnet.chain_id, type_, nonce, FAR_EXPIRY, body)
    node.api.submit(tx)
    record = node.api.wait_committed(tx.hash, 20)
    assert record["result"]["code"] == "OK", record
    return tx.hash


def signers(node: NodeProcess, height: int) -> set[str]:
    return {s["validator"] for s in node.api.block(height)["certificate"]["signatures"]}


def proposal(node: NodeProcess, proposal_id: bytes) -> dict:
    return node.api.get(f"/v1/governance/proposals/{proposal_id.hex()}")


def test_a_fifth_validator_is_added_by_vote_then_one_removed(federation: Devnet, tmp_path: Path) -> None:
    devnet = federation
    node0, node1, node2, node3, joiner, late = devnet.nodes
    keys = {n: n.node_key() for n in (node0, node1, node2, node3, joiner)}
    joiner_address = to_address(keys[joiner].pubkey)
    genesis_set = tuple(devnet.validator_keys())
    joiner_peer = next(o.p2p for o in devnet.layout.genesis.observers if o.name == "observer0")
    node0.api.wait_height(2, 20)
    load = SteadyLoad(devnet, [node0, node1, node2], rate=30)
    load.start()
    try:
        # 2. proposed and approved by three of four
        added = bytes([0xAD]) + bytes(15)
        effective = node0.api.status()["height"] + LEAD
        send(devnet, node0, keys[node0], "federation.propose",
             (added, (rec.ADD, keys[joiner].pubkey, joiner_peer), effective))
        send(devnet, node1, keys[node1], "federation.approve", (added,))
        assert proposal(node1, added)["status"] == "pending"  # two of four (read where it committed)
        send(devnet, node2, keys[node2], "federation.approve", (added,))
        listed = json.loads(incoop(devnet, "governance", "proposals", "--json", node=2).stdout)["proposals"]
        assert [(p["id"], p["status"], len(p["approvals"])) for p in listed] == [(added.hex(), "approved", 3)]
        assert node0.api.status()["height"] < effective - 1, "the approvals took longer than LEAD blocks"

        # 3. node3 killed during the change: from E the quorum of four needs the joiner
        node3.kill()
        node0.api.wait_height(effective + 4, 30)
        for height in range(effective, effective + 4):
            assert joiner_address in signers(node0, height), f"observer0 did not sign block {height}"
        assert joiner_address not in signers(node0, effective - 1)  # the old set certifies E − 1
        assert proposal(node0, added)["status"] == "applied"
        assert f"is a validator of height {effective}: it votes" in joiner.log_text()
        wait_until(lambda: f"dialing peer {joiner_peer}/p2p, learnt from the chain's state" in node1.log_text(), 10,
                   what="node1 to dial the joiner's address from the state")
        five = (*genesis_set, keys[joiner].pubkey)

        # 4. node3 back: it syncs across the change and catches up
        node3.start()
        wait_until(lambda: node3.api.status()["height"] >= node0.api.status()["height"] - 1, 30,
                   what="node3 to catch up across the change")

        # 5. node3 removed by four of five
        removed = bytes([0xDE]) + bytes(15)
        effective2 = node0.api.status()["height"] + LEAD
        send(devnet, node0, keys[node0], "federation.propose", (removed, (rec.REMOVE, keys[node3].pubkey), effective2))
        send(devnet, node1, keys[node1], "federation.approve", (removed,))
        send(devnet, node2, keys[node2], "federation.approve", (removed,))
        assert proposal(node2, removed)["status"] == "pending"  # three of five
        send(devnet, joiner, keys[joiner], "federation.approve", (removed,))
        assert proposal(joiner, removed)["status"] == "approved"
        joiner.kill()  # SIGKILL of the added validator during the second change; back at once
        joiner.start()
        node0.api.wait_height(effective2 + 4, 30)
        node3_address = to_address(keys[node3].pubkey)
        assert all(node3_address not in signers(node0, h) for h in range(effective2, effective2 + 4))
        shown = json.loads(incoop(devnet, "governance", "validators", "--json").stdout)
        assert [v["address"] for v in shown["validators"]] == [to_address(k) for k in five if k != keys[node3].pubkey]
        assert shown["quorum"] == 3
        four = tuple(k for k in five if k != keys[node3].pubkey)
        wait_until(lambda: "no longer in the validator set" in node0.log_text(), 10,
                   what="node0 to close its connection to the removed node3")
        before = node0.api.status()["height"]
        node0.api.wait_height(before + 3, 20)  # still final with the new set
    finally:
        accepted = load.stop()

    # 6. a node synced from genesis, agreement, nothing lost
    late.start()
    common = node0.api.status()["height"]
    late.api.wait_height(common, 60)
    running = [node0, node1, node2, joiner, late]
    joiner.api.wait_height(common, 30)
    for tx_hash in accepted:
        wait_until(lambda h=tx_hash: node0.api.tx(h)["status"] == "committed", 30, what="every transfer to commit")
    agree(devnet, running, sets=(five, four))
    assert_committed_everywhere(devnet, accepted, running)
    assert_conserved(devnet, running)
    assert len(accepted) > 50

    # 7. the audit and a light proof from genesis cross both changes
    audit = incoop(devnet, "audit", "verify", "--genesis", str(devnet.layout.home / "genesis.json"),
                   "--data", str(node0.home), "--json")
    report = json.loads(audit.stdout)
    assert report["ok"] and report["height"] >= effective2 + 4, report
    proven = incoop(devnet, "wallet", "verify-balance", "anna", "--class", DEMO_CLASS,
                    "--genesis", str(devnet.layout.home / "genesis.json"), "--json")
    assert (json.loads(proven.stdout)["validators"], json.loads(proven.stdout)["set_updates"]) == (4, 2), proven.stdout

    # the CLI refuses in one line what the ledger would refuse (and spend a nonce on)
    closed = incoop(devnet, "governance", "approve", added.hex(), "--as", "anna", check=False)
    assert "is applied: it takes no more approvals" in closed.stderr
    stranger = incoop(devnet, "governance", "propose-validator", "--add", "anna", "--peer", "ws://127.0.0.1:9",
                      "--as", "anna", check=False)
    assert "is not a validator of the current set" in stranger.stderr
    bad_peer = incoop(devnet, "governance", "propose-validator", "--add", "anna", "--peer", "http://x:1",
                      "--as", "anna", check=False)
    assert "peer address" in bad_peer.stderr
    assert_api_error(404, "NOT_FOUND", lambda: node0.api.get(f"/v1/governance/proposals/{bytes(16).hex()}"))
    assert_api_error(400, "BAD_REQUEST", lambda: node0.api.get("/v1/governance/proposals?status=maybe"))
