"""A federation of four validators (and observers) as real processes: agreement, faults, recovery.

Every test ends with the invariants (docs/consensus.md, "Invariants"), checked on every node
that is up: the same block at every common height, each with a valid
certificate of that height's validators (`assert_all_agree`); every accepted
transaction committed at one place everywhere (`assert_committed_everywhere`);
balances adding up to the supply (`assert_conserved`).

Scenarios:
- steady load on four validators: every transaction commits;
- SIGKILL one of four under load: the chain goes on; restarted, it catches up,
  and its vote is then needed and given (another validator is stopped);
- a transaction accepted just before its node stops cleanly still commits;
- the next proposer killed just before its turn: round 1 decides the height;
- two of four down: nothing commits, no fork; one back: blocks resume within
  a few (capped) timeouts;
- a {2 | 2} partition through the relay: no progress and no fork during it,
  progress after it heals;
- a validator that signs two prevotes a round: evidence is on chain and the
  honest three keep committing;
- a fresh observer syncs the chain from genesis and verifies every
  certificate; transactions sent to it are gossiped to the validators;
- a node whose key the chain does not know is refused as a peer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keys.keystore import generate_password, write_key_file, write_password_file
from ledger.crypto import SigningKey
from node.config import VaultConfig, load_config, write_config
from tests.functional.framework import (
    Devnet,
    NodeProcess,
    SteadyLoad,
    assert_all_agree,
    assert_committed_everywhere,
    assert_conserved,
    free_port_block,
    make_devnet,
    running_devnet,
    wait_until,
)
from tests.weak_kdf import TEST_KDF

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def federation(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Devnet]:
    """Four validators (options from `@pytest.mark.federation(...)`), started; logs printed on failure."""
    marker = request.node.get_closest_marker("federation")
    options = dict(validators=4, **(marker.kwargs if marker else {}))
    devnet = make_devnet(tmp_path / "devnet", **options)
    try:
        devnet.start_all(devnet.validators)
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


def check_invariants(devnet: Devnet, committed: list[bytes], nodes: list[NodeProcess] | None = None) -> int:
    nodes = nodes or devnet.running()
    for tx_hash in committed:
        wait_until(lambda h=tx_hash: nodes[0].api.tx(h)["status"] == "committed", 30,
                   what=f"tx {tx_hash.hex()[:12]} to commit")
    common = max(n.api.status()["height"] for n in nodes)
    devnet.wait_height(common, nodes)
    height = assert_all_agree(devnet, nodes)
    assert_committed_everywhere(devnet, committed, nodes)
    assert_conserved(devnet, nodes)
    return height


def progress(node: NodeProcess, blocks: int, timeout: float = 20.0) -> int:
    """Wait for `blocks` more blocks on `node`; returns the new height."""
    start = node.api.status()["height"]
    node.api.wait_height(start + blocks, timeout)
    return node.api.status()["height"]


def assert_stalled(nodes: list[NodeProcess], seconds: float) -> int:
    """No node commits anything for `seconds` (after letting a block in flight land, or be synced
    from a node of the same side that had committed it just before the fault)."""
    time.sleep(1.5)
    before = [n.api.status()["height"] for n in nodes]
    time.sleep(seconds)
    after = [n.api.status()["height"] for n in nodes]
    assert after == before, f"heights moved from {before} to {after} without a quorum"
    return max(after)


def test_a_killed_validator_catches_up_after_restart_and_votes_again(federation: Devnet) -> None:
    victim = federation.validators[3]
    others = federation.validators[:3]
    load = SteadyLoad(federation, others, rate=40)
    load.start()
    progress(others[0], 2)
    victim.kill()
    progress(others[0], 3)  # three of four are a quorum: the chain goes on
    victim.start()
    wait_until(lambda: victim.api.status()["height"] >= others[0].api.status()["height"] - 1, 30,
               what="the restarted validator to catch up")
    accepted = load.stop()
    # now its vote is needed: with node0 stopped, only node1, node2 and the restarted node3 remain
    others[0].stop()
    remaining = [others[1], others[2], victim]
    tx = federation.transfer("anna", "marco", 5, federation.targets_nonce("anna", remaining))
    others[1].api.submit(tx)
    remaining[0].api.wait_committed(tx.hash, timeout=30)
    check_invariants(federation, [*accepted, tx.hash], remaining)


def test_a_transaction_accepted_just_before_a_clean_stop_still_commits(federation: Devnet) -> None:
    """A node answers 202 once it admitted a transaction; stopping it right after must not strand it."""
    leaving = federation.validators[3]
    txs = [federation.transfer("anna", "marco", 1, federation.targets_nonce("anna", [leaving]) + i) for i in range(20)]
    leaving.api.submit_batch(txs)  # admitted, and queued for gossip a few milliseconds later
    assert leaving.stop() == 0
    check_invariants(federation, [tx.hash for tx in txs])


@pytest.mark.federation(heartbeat_ms=60_000)
def test_when_the_next_proposer_dies_the_next_round_decides(federation: Devnet) -> None:
    node0 = federation.validators[0]
    height = node0.api.status()["height"]
    proposer = federation.validators[federation.proposer(height + 1, 0)]
    proposer.kill()
    target = next(n for n in federation.validators if n.alive())
    tx = federation.transfer("anna", "marco", 7, federation.targets_nonce("anna", [target]))
    target.api.submit(tx)
    committed = target.api.wait_committed(tx.hash, timeout=30)
    assert committed["height"] == height + 1
    assert target.api.block(height + 1)["certificate"]["round"] >= 1, "round 0's proposer was down"
    check_invariants(federation, [tx.hash])


def test_two_of_four_down_stalls_without_forking_and_one_back_resumes(federation: Devnet) -> None:
    up = federation.validators[:2]
    for node in federation.validators[2:]:
        node.kill()
    tx = federation.transfer("anna", "marco", 3, federation.targets_nonce("anna", up))
    up[0].api.submit(tx)
    stalled_at = assert_stalled(up, 4.0)  # many rounds at the test's short timeouts
    assert up[0].api.tx(tx.hash)["status"] == "pending"
    # without a quorum even the prevote timeout is never scheduled (L34 needs 2f+1 prevotes), so the
    # stalled validators wait in round 0 instead of running up rounds and timeouts (besu#7642)
    assert up[0].api.status()["consensus"]["round"] == 0
    back = federation.validators[2]
    back.start()
    started = time.monotonic()
    up[0].api.wait_committed(tx.hash, timeout=20)
    assert time.monotonic() - started < 15, "blocks resume within a few capped timeouts (besu#7642)"
    assert up[0].api.status()["height"] > stalled_at
    check_invariants(federation, [tx.hash])


@pytest.mark.federation(relay=True)
def test_a_two_two_partition_stops_progress_without_a_fork_and_heals(federation: Devnet) -> None:
    relay = federation.relay
    assert relay is not None
    load = SteadyLoad(federation, federation.validators, rate=20)
    load.start()
    progress(federation.validators[0], 2)
    relay.partition([0, 1], [2, 3])
    assert_stalled(federation.validators, 3.0)
    relay.heal()
    progress(federation.validators[0], 2, timeout=30)
    accepted = load.stop()
    check_invariants(federation, accepted)


def test_a_double_signing_validator_is_recorded_and_the_honest_three_commit(tmp_path: Path) -> None:
    devnet = make_devnet(tmp_path / "devnet", validators=4)
    twin = devnet.validators[3]
    config = load_config(twin.home)
    config.testing_faults.double_sign = True
    write_config(twin.home, config)
    try:
        devnet.start_all(devnet.validators)
        load = SteadyLoad(devnet, devnet.validators[:3], rate=20)
        load.start()
        evidence = wait_until(lambda: devnet.node.api.get("/v1/evidence")["evidence"], 30,
                              what="evidence of the double vote on chain")
        accepted = load.stop()
        assert {e["validator"] for e in evidence} == {devnet.layout.genesis.validators[3].pubkey}
        assert all(e["type"] == "prevote" and e["block_hash_a"] != e["block_hash_b"] for e in evidence)
        check_invariants(devnet, accepted)
    finally:
        devnet.cleanup()
        devnet.print_logs()


# --- the tests that leave the federation whole share one (started once, for the last three tests) -----


@pytest.fixture(scope="module")
def shared_federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    """Four validators and an observer (not started: its test syncs it from genesis), for the tests that
    stop, kill, cut or fault no validator: steady load, a fresh observer, a stranger refused. They are the
    module's last tests, so it runs only while they do."""
    yield from running_devnet(tmp_path_factory.mktemp("shared") / "devnet", validators=4, observers=1)


def test_four_validators_commit_every_transaction_under_steady_load(shared_federation: Devnet) -> None:
    load = SteadyLoad(shared_federation, shared_federation.validators, rate=60)
    load.start()
    time.sleep(5)
    accepted = load.stop()
    assert len(accepted) >= 200 and not load.errors, load.errors[:3]
    height = check_invariants(shared_federation, accepted)
    assert height >= 3


def test_a_fresh_observer_syncs_from_genesis_verifies_and_forwards_transactions(shared_federation: Devnet) -> None:
    load = SteadyLoad(shared_federation, shared_federation.validators, rate=40)
    load.start()
    progress(shared_federation.validators[0], 8, timeout=30)
    accepted = load.stop()
    observer = shared_federation.observers[0]
    observer.start()
    target = shared_federation.validators[0].api.status()["height"]
    observer.api.wait_height(target, timeout=30)
    status = observer.api.status()
    assert status["role"] == "observer" and status["consensus"]["voting"] is False
    tx = shared_federation.transfer("anna", "marco", 11, shared_federation.targets_nonce("anna", [observer]))
    observer.api.submit(tx)  # gossiped to the validators, committed, then synced back
    observer.api.wait_committed(tx.hash, timeout=30)
    check_invariants(shared_federation, [*accepted, tx.hash])


def test_a_node_with_a_key_the_chain_does_not_know_is_refused(shared_federation: Devnet, tmp_path: Path) -> None:
    stranger_home = tmp_path / "stranger"
    stranger_home.mkdir()
    template = shared_federation.validators[0].home
    (stranger_home / "genesis.json").write_text((template / "genesis.json").read_text())
    password = generate_password()
    write_password_file(stranger_home / "node_key.pass", password)
    write_key_file(stranger_home / "node_key.json", SigningKey.generate(), password, TEST_KDF)
    config = load_config(template)
    port = free_port_block(2)
    config.role = "observer"
    config.vault = VaultConfig()  # the template is node 0, the federation's vault node
    config.api.port, config.p2p_port = port, port + 1
    write_config(stranger_home, config)
    stranger = NodeProcess(stranger_home, f"http://127.0.0.1:{port}")
    try:
        stranger.start()
        wait_until(lambda: any("refused" in v.log_text() and "not a validator or registered observer" in v.log_text()
                               for v in shared_federation.validators), 15, what="a validator to refuse the stranger")
        time.sleep(1)
        status = stranger.api.status()
        assert status["peers"] == [] and status["height"] == 0
    finally:
        stranger.cleanup()
