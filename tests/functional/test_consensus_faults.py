"""The failures that halted other engines (docs/consensus.md, "Lessons from other engines"), each replayed on four real validators.

Scenarios:
- the whole federation loses power at once (SIGKILL all four under load):
  every node restarts from its store and sign-state, the chain resumes, no
  committed transaction is missing (sawtooth-pbft#125: the certificate of the
  head block is stored with it);
- a validator is SIGKILLed at random moments twenty times under load: it
  always starts again and never signs a conflicting vote (no evidence against
  it), the others never fork (tendermint#3295, #4578, #6169);
- a validator restarted with an empty data directory syncs to the tip and
  signs again, without evidence against it (besu#8307);
- a validator paused (SIGSTOP) under load and resumed catches up and votes
  (cometbft#3372);
- one validator's clock runs 30 s ahead and another's 30 s behind: its
  blocks are refused while ahead, no fork, block times keep increasing, and
  the slow one follows the certified blocks by sync at once (the clock bound
  is for consensus only) (Jepsen's clock-skew nemesis);
- three of four up, one of them killed with SIGKILL after its prevote and
  before its precommit: the other two wait in the round with two precommits
  and no timeout; restarted, it takes the round up where its sign-state left
  it and the height completes without the fourth.

After each: agreement with valid certificates, no lost commits, conservation.
"""

from __future__ import annotations

import random
import shutil
import signal
import time
from pathlib import Path

import pytest

from ledger.crypto import SigningKey
from node.config import load_config, write_config
from tests.functional.framework import (
    Devnet,
    NodeProcess,
    SteadyLoad,
    make_devnet,
    wait_until,
)
from tests.functional.test_consensus import check_invariants, progress

pytestmark = pytest.mark.timeout(300)


# The sender of the transaction that needs a given validator's vote: funded at genesis and used by nothing else,
# so its next nonce is never one that a steady load's last transaction (still being gossiped from a node just
# stopped) is about to take.
WITNESS = SigningKey(bytes([0x7E]) * 32)


def started(tmp_path: Path, **options: object) -> Devnet:
    devnet = make_devnet(tmp_path / "devnet", validators=4, funded=[WITNESS.pubkey], **options)
    devnet.keys["witness"] = WITNESS  # a holder of the demo class: conservation counts it
    devnet.start_all(devnet.validators)
    return devnet


def needs_its_vote(devnet: Devnet, node: NodeProcess) -> bytes:
    """Stop another validator so that a block needs `node`'s vote, and get one committed; returns its tx hash."""
    bystander = next(v for v in devnet.validators if v is not node and v.alive())
    bystander.stop()
    remaining = [v for v in devnet.validators if v.alive()]
    assert node in remaining and len(remaining) == 3
    tx = devnet.transfer("witness", "marco", 9, devnet.targets_nonce("witness", remaining))
    remaining[0].api.submit(tx)
    wait_until(lambda: node.api.tx(tx.hash)["status"] == "committed", 30, what="a block that needs its vote")
    bystander.start()
    return tx.hash


def no_evidence(devnet: Devnet) -> None:
    assert devnet.node.api.get("/v1/evidence")["evidence"] == [], "an honest validator never signs twice"


def test_the_whole_federation_killed_at_once_restarts_and_loses_nothing(tmp_path: Path) -> None:
    devnet = started(tmp_path)
    try:
        load = SteadyLoad(devnet, devnet.validators, rate=60)
        load.start()
        progress(devnet.node, 3)
        committed_before = [h for h in list(load.accepted) if devnet.node.api.tx(h)["status"] == "committed"]
        for node in devnet.validators:
            node.process.send_signal(signal.SIGKILL)
        for node in devnet.validators:
            node.process.wait(10)
        accepted = load.stop()
        devnet.start_all(devnet.validators)
        for tx_hash in committed_before:
            assert devnet.node.api.tx(tx_hash)["status"] == "committed", "a committed transaction survived the crash"
        progress(devnet.node, 2, timeout=30)
        # what was only pending at the crash may be lost with the mempools; everything committed stays
        still = [h for h in accepted if devnet.node.api.tx(h)["status"] == "committed"]
        assert set(committed_before) <= set(still)
        check_invariants(devnet, still)
        no_evidence(devnet)
    finally:
        devnet.cleanup()
        devnet.print_logs()


def test_a_validator_killed_at_random_moments_never_signs_twice(tmp_path: Path) -> None:
    devnet = started(tmp_path)
    victim = devnet.validators[2]
    rng = random.Random(2026)
    try:
        load = SteadyLoad(devnet, [v for v in devnet.validators if v is not victim], rate=40)
        load.start()
        for _ in range(20):
            time.sleep(rng.uniform(0.05, 0.8))
            victim.kill()
            victim.start()
        accepted = load.stop()
        check_invariants(devnet, [*accepted, needs_its_vote(devnet, victim)])
        no_evidence(devnet)
    finally:
        devnet.cleanup()
        devnet.print_logs()


def test_a_validator_restarted_with_an_empty_data_directory_syncs_and_signs_again(tmp_path: Path) -> None:
    devnet = started(tmp_path)
    wiped = devnet.validators[1]
    try:
        load = SteadyLoad(devnet, [v for v in devnet.validators if v is not wiped], rate=40)
        load.start()
        progress(devnet.node, 4)
        wiped.kill()
        shutil.rmtree(wiped.home / "data")  # the sign-state, in the home, stays
        wiped.start()
        wait_until(lambda: wiped.api.status()["height"] >= devnet.node.api.status()["height"] - 1, 30,
                   what="the wiped validator to sync")
        accepted = load.stop()
        check_invariants(devnet, [*accepted, needs_its_vote(devnet, wiped)])
        no_evidence(devnet)
    finally:
        devnet.cleanup()
        devnet.print_logs()


def test_a_paused_validator_catches_up_after_resuming_and_votes(tmp_path: Path) -> None:
    devnet = started(tmp_path)
    paused = devnet.validators[3]
    try:
        load = SteadyLoad(devnet, devnet.validators[:3], rate=40)
        load.start()
        paused.process.send_signal(signal.SIGSTOP)
        progress(devnet.node, 6, timeout=30)
        paused.process.send_signal(signal.SIGCONT)
        wait_until(lambda: paused.api.status()["height"] >= devnet.node.api.status()["height"] - 1, 30,
                   what="the resumed validator to catch up")
        accepted = load.stop()
        check_invariants(devnet, [*accepted, needs_its_vote(devnet, paused)])
        no_evidence(devnet)
    finally:
        devnet.cleanup()
        devnet.print_logs()


def test_skewed_clocks_never_fork_and_block_times_keep_increasing(tmp_path: Path) -> None:
    devnet = make_devnet(tmp_path / "devnet", validators=4)
    for node, offset in ((devnet.validators[1], 30_000), (devnet.validators[2], -30_000)):
        config = load_config(node.home)
        config.testing_faults.clock_offset_ms = offset
        write_config(node.home, config)
    try:
        devnet.start_all(devnet.validators)
        load = SteadyLoad(devnet, devnet.validators, rate=30)
        load.start()
        progress(devnet.node, 10, timeout=60)
        accepted = load.stop()
        height = check_invariants(devnet, accepted)
        times = [devnet.node.api.block(h)["header"]["time_ms"] for h in range(1, height + 1)]
        assert all(a < b for a, b in zip(times, times[1:], strict=False)), "block times strictly increase"
        now_ms = time.time() * 1000
        assert times[-1] < now_ms + 15_000, "no block carries the fast clock's time: the others refused it"
        proposers = {devnet.node.api.block(h)["header"]["proposer"] for h in range(1, height + 1)}
        assert devnet.layout.genesis.validators[1].pubkey not in proposers
        slow = devnet.validators[2]  # refuses the others' proposals, follows their certified blocks
        wait_until(lambda: slow.api.status()["height"] >= height, 10, what="the slow node to follow by sync")
        assert "does not re-execute" not in slow.log_text()
    finally:
        devnet.cleanup()
        devnet.print_logs()


def test_a_validator_killed_between_prevote_and_precommit_completes_the_round_without_the_fourth(tmp_path: Path) -> None:
    """Steps:
    1. four validators; the fourth stays down; the third signs no precommit (test-only
       `withhold_precommits`: its state is that of a validator killed after its prevote);
    2. the first two precommit (in round 0, unless a start-up race took them further) and wait there:
       two precommits of four, no timeout pending;
    3. the third is killed with SIGKILL and restarted without the fault;
    4. it resumes at that round, step prevote, precommits, and the height commits with three signatures
       (in that round; in the next if, on a loaded machine, its prevote timeout fires before the others'
       prevotes reach it again);
       a transaction then commits too, the fourth still down; no evidence.
    """
    devnet = make_devnet(tmp_path / "devnet", validators=4)
    first, second, victim, down = devnet.validators
    assert devnet.proposer(1) == 1, "round 0 of height 1 is proposed by a validator that is up"
    config = load_config(victim.home)
    config.testing_faults.withhold_precommits = True
    write_config(victim.home, config)
    try:
        devnet.start_all([first, second, victim])
        wait_until(lambda: all(n.api.status()["consensus"]["step"] == "precommit" for n in (first, second)), 20,
                   what="the two to precommit in round 0")
        stuck = first.api.status()["consensus"]["round"]
        time.sleep(2.0)  # several of every timeout: nothing moves without a third precommit
        for node in (first, second):
            status = node.api.status()
            assert (status["height"], status["consensus"]["round"], status["consensus"]["step"]) == (0, stuck, "precommit")
        victim.kill()
        config.testing_faults.withhold_precommits = False
        write_config(victim.home, config)
        victim.start()
        wait_until(lambda: min(devnet.heights([first, second, victim])) >= 1, 15,
                   what="height 1 without the fourth validator")
        assert f"resuming height 1 at round {stuck}, step prevote" in victim.log_text()
        block = first.api.block(1)
        assert len(block["certificate"]["signatures"]) == 3
        # in that round, unless on a loaded machine the restarted validator's prevote timeout fired before the
        # others' prevotes reached it again (then it precommits nil and the next round decides)
        assert block["certificate"]["round"] in (stuck, stuck + 1), "decided in the round the two were stuck in"
        tx = devnet.transfer("anna", "marco", 5, devnet.targets_nonce("anna", [first]))
        first.api.submit(tx)
        check_invariants(devnet, [tx.hash], [first, second, victim])
        assert not down.alive()
        no_evidence(devnet)
    finally:
        devnet.cleanup()
        devnet.print_logs()
