"""The validator set and a round timeout changed by vote on a real devnet (FORMAT.md §6.8): a fifth
validator added and the propose timeout raised at one height, then one validator removed, with the chain
final throughout and nothing lost to a SIGKILL during the change.

1. Four validators (node0 … node3) and two genesis observers; the genesis sets the test's fast round
   timeouts (propose 600 ms). observer0 is configured to vote (role validator) but its key is not in the
   set: it follows the chain without voting, and `/v1/status` says "observer". observer1 is not started.
   A steady load of transfers goes to node0 … node2.
2. node0 proposes adding observer0's key with its peer address, effective at height E; node1 and
   node2 approve: three of four, so `incoop governance proposals` shows it approved. node1 proposes
   raising `timeout_propose_ms` to 1200 ms at the same height E; node0 and node2 approve. Every node's
   `/v1/status` still shows the genesis timeouts.
3. node3 is killed (SIGKILL) before E and kept down across the change. From E the set is five with a
   quorum of four: blocks are certified only if observer0 votes, and they are — observer0 signs the
   certificate of E and of every block while node3 is down, without having been restarted. Its
   `/v1/status` says "validator" from E (read every 20 ms across the change: never before E − 1 is
   committed, always once E is). No node was restarted, and from E every one shows the new timeout
   (`/v1/status` and `/metrics`), logs it for height E, and waits it: at a height whose round-0
   proposer is the dead node3, the live validators' propose timeout fires after 1200 ms (before E,
   after 600 ms + 200 ms a round), and that block's time is at least 1200 ms after its parent's.
4. node3 is restarted: it catches up across the change (block sync checks each certificate against the
   set of its height) and says "validator".
5. node0 proposes removing node3, effective E2; node1, node2 and observer0 approve (four of five);
   observer0 is then killed (SIGKILL) and restarted before E2. From E2 node3 (still running) signs no
   certificate and says "observer", not voting; the set is four (`incoop governance validators`), node0
   closes its connection to node3, and blocks go on. node1 dialled observer0 at the address the state
   gave it.
6. observer1, started from genesis only now, syncs across both changes. Every node holds the same block at
   every height, each certified by the set its header names; every accepted transfer is committed once
   everywhere; balances add up to the supply.
7. `incoop audit verify` of node0's data directory crosses both changes, and `incoop wallet verify-balance`
   proves anna's balance from the genesis set through the two certified set updates.
8. `incoop governance` refuses in one line an approval of an applied proposal, a proposal by a key that is
   not a validator, a peer address that is not ws:// or wss://, and a timeout below its floor.
"""

from __future__ import annotations

import json
import re
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
    TEST_TIMEOUTS,
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
SLOWER_PROPOSE_MS = 1200
"""The propose timeout voted in (the devnet's genesis has TEST_TIMEOUTS: 600 ms, +200 ms a round)."""
TIMEOUT_FIRED = re.compile(r"height (\d+) round (\d+): propose timeout after (\d+) ms")


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


def submit(devnet: Devnet, node: NodeProcess, key: SigningKey, type_: str, body: tuple) -> bytes:
    nonce = node.api.account(key.pubkey)["pending_nonce"]
    tx = sign_tx(key, devnet.chain_id, type_, nonce, FAR_EXPIRY, body)
    node.api.submit(tx)
    return tx.hash


def committed_ok(node: NodeProcess, tx_hash: bytes) -> None:
    record = node.api.wait_committed(tx_hash, 20)
    assert record["result"]["code"] == "OK", record


def send(devnet: Devnet, node: NodeProcess, key: SigningKey, type_: str, body: tuple) -> bytes:
    tx_hash = submit(devnet, node, key, type_, body)
    committed_ok(node, tx_hash)
    return tx_hash


def propose_timeout_ms(node: NodeProcess) -> int:
    return node.api.status()["consensus"]["timeouts_ms"]["propose"]


def waited_propose_timeouts(node: NodeProcess) -> list[tuple[int, int, int]]:
    """(height, round, ms) of every propose timeout the node's log says fired."""
    return [tuple(map(int, m.groups())) for m in TIMEOUT_FIRED.finditer(node.log_text())]


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
    status = joiner.api.status()
    assert (status["role"], status["consensus"]["voting"]) == ("observer", False)
    load = SteadyLoad(devnet, [node0, node1, node2], rate=30)
    load.start()
    try:
        # 2. proposed and approved by three of four: the fifth validator, and a slower propose timeout
        added = bytes([0xAD]) + bytes(15)
        slower = bytes([0x71]) + bytes(15)
        effective = node0.api.status()["height"] + LEAD
        timeout_proposed = submit(devnet, node1, keys[node1], "federation.propose",
                                  (slower, (rec.SET_PARAM, "timeout_propose_ms", SLOWER_PROPOSE_MS), effective))
        send(devnet, node0, keys[node0], "federation.propose",
             (added, (rec.ADD, keys[joiner].pubkey, joiner_peer), effective))
        send(devnet, node1, keys[node1], "federation.approve", (added,))
        assert proposal(node1, added)["status"] == "pending"  # two of four (read where it committed)
        committed_ok(node1, timeout_proposed)
        timeout_approved = [submit(devnet, node0, keys[node0], "federation.approve", (slower,)),
                            submit(devnet, node2, keys[node2], "federation.approve", (slower,))]
        send(devnet, node2, keys[node2], "federation.approve", (added,))
        committed_ok(node0, timeout_approved[0])
        committed_ok(node2, timeout_approved[1])
        listed = json.loads(incoop(devnet, "governance", "proposals", "--json", node=2).stdout)["proposals"]
        assert sorted((p["id"], p["status"], len(p["approvals"])) for p in listed) == [
            (slower.hex(), "approved", 3), (added.hex(), "approved", 3)]
        assert node0.api.status()["height"] < effective - 1, "the approvals took longer than LEAD blocks"
        for node in (node0, node1, node2, node3, joiner):
            assert propose_timeout_ms(node) == TEST_TIMEOUTS["timeout_propose_ms"]

        # 3. node3 killed during the change: from E the quorum of four needs the joiner
        node3.kill()
        seen: list[tuple[str, int, bool]] = []

        def joiner_past_effective() -> bool:
            status = joiner.api.status()
            seen.append((status["role"], status["height"], status["consensus"]["voting"]))
            return status["height"] >= effective + 1

        wait_until(joiner_past_effective, 30, interval=0.02, what="observer0 to pass the effective height")
        assert all(height >= effective - 1 for role, height, _ in seen if role == "validator"), seen
        assert all(role == "validator" for role, height, _ in seen if height >= effective), seen
        assert ("observer", False) in {(role, voting) for role, height, voting in seen if height < effective - 1}
        node0.api.wait_height(effective + 4, 30)
        for height in range(effective, effective + 4):
            assert joiner_address in signers(node0, height), f"observer0 did not sign block {height}"
        assert joiner_address not in signers(node0, effective - 1)  # the old set certifies E − 1
        assert proposal(node0, added)["status"] == "applied"
        assert proposal(node0, slower)["status"] == "applied"
        assert f"is a validator of height {effective}: it votes" in joiner.log_text()
        status = joiner.api.status()
        assert (status["role"], status["consensus"]["voting"]) == ("validator", True)
        # the timeout voted in is every running node's from E, none restarted; a dead proposer's height waits it
        for node in (node0, node1, node2, joiner):
            assert propose_timeout_ms(node) == SLOWER_PROPOSE_MS
            assert f"the chain's round timeouts from height {effective}: propose {SLOWER_PROPOSE_MS} ms" \
                in node.log_text()
            for height, round_, waited in waited_propose_timeouts(node):
                base = SLOWER_PROPOSE_MS if height >= effective else TEST_TIMEOUTS["timeout_propose_ms"]
                assert waited == min(base + round_ * TEST_TIMEOUTS["timeout_delta_ms"],
                                     TEST_TIMEOUTS["timeout_max_ms"]), (node.home.name, height, round_, waited)
        dead_height = next(h for h in range(effective, effective + 5) if h % 5 == 3)  # node3 proposes round 0
        for node in (node0, node1, node2):
            assert (dead_height, 0, SLOWER_PROPOSE_MS) in waited_propose_timeouts(node), node.home.name
        # and it was waited: round 1's proposer built the block only after its round-0 timeout (one clock here)
        gap = node0.api.block(dead_height)["header"]["time_ms"] - node0.api.block(dead_height - 1)["header"]["time_ms"]
        assert gap >= SLOWER_PROPOSE_MS, gap
        metrics = node0.api.get_raw("/metrics").decode()
        assert f'incoop_consensus_timeout_ms{{timeout="propose"}} {SLOWER_PROPOSE_MS}\n' in metrics
        wait_until(lambda: f"dialing peer {joiner_peer}/p2p, learnt from the chain's state" in node1.log_text(), 10,
                   what="node1 to dial the joiner's address from the state")
        five = (*genesis_set, keys[joiner].pubkey)

        # 4. node3 back: it syncs across the change and catches up
        node3.start()
        wait_until(lambda: node3.api.status()["height"] >= node0.api.status()["height"] - 1, 30,
                   what="node3 to catch up across the change")
        assert node3.api.status()["role"] == "validator"
        assert propose_timeout_ms(node3) == SLOWER_PROPOSE_MS  # learnt from the chain it synced

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
        status = wait_until(lambda: (s := node3.api.status())["role"] == "observer" and s, 20,
                            what="the removed node3 to say observer")
        assert status["height"] >= effective2 - 1 and status["consensus"]["voting"] is False
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
    stalling = incoop(devnet, "governance", "propose-param", "timeout_max_ms", "999", "--as", "anna", check=False)
    assert stalling.returncode != 0 and "timeout_max_ms must be an integer from 1000 to 3600000" in stalling.stderr
    assert_api_error(404, "NOT_FOUND", lambda: node0.api.get(f"/v1/governance/proposals/{bytes(16).hex()}"))
    assert_api_error(400, "BAD_REQUEST", lambda: node0.api.get("/v1/governance/proposals?status=maybe"))
