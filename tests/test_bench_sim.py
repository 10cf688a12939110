"""The `sim` benchmark: real consensus machines on a simulated network (node/bench/sim.py).

What these tests pin down, as a story of a small federation:

1. A run is a pure function of its seed: the same seed gives the same run, event for event.
2. On a perfect network, four validators decide every height in round 0, and finality is exactly
   three one-way hops (proposal, prevote, precommit): 60 ms at 20 ms, 105 ms at 35 ms. Each
   validator signs one prevote and one precommit, the proposer one proposal, each sent to the
   n - 1 others; each node relays what it sees first while the height is still its own.
3. On a lossy network every height is still decided; the relays recover the lost copies a hop
   later, and since every node already relays every message, loss costs time, not frames.
   Without relays, a lost message can leave a validator behind until block sync fetches the block.
4. With one of four validators crashed, the heights it would propose wait out the propose and
   the precommit timeouts and are decided in round 1; the others still take three hops.
5. Sixty-four validators meet issue 7's target (p99 finality within 3 x round trip x 3 steps),
   and a result is ready for the runner's JSON.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from node.bench.sim import SYNC_GRACE_MS, SimResult, finality_bound_ms, rows, simulate
from node.config import ConsensusConfig


def without_wall_time(result: SimResult) -> dict:
    return {k: v for k, v in dataclasses.asdict(result).items() if k != "wall_s"}


def test_the_same_seed_gives_the_same_run_and_another_seed_another_run() -> None:
    first = simulate(16, 6, loss=0.05, seed=7)
    again = simulate(16, 6, loss=0.05, seed=7)
    other = simulate(16, 6, loss=0.05, seed=8)
    assert without_wall_time(first) == without_wall_time(again)
    assert (other.lost_per_block, other.recovered) != (first.lost_per_block, first.recovered)


@pytest.mark.parametrize("latency_ms", [20, 35])
def test_a_perfect_network_decides_every_height_in_round_zero_after_three_hops(latency_ms: int) -> None:
    n, heights = 4, 8
    r = simulate(n, heights, latency_ms=latency_ms, loss=0.0)
    three_hops = 3 * latency_ms  # proposal out, prevotes back, precommits back
    assert (r.rounds_mean, r.rounds_max, r.heights_past_round0) == (1.0, 1, 0)
    assert r.finality_mean_ms == r.finality_p99_ms == r.finality_max_ms == three_hops
    assert r.first_decision_mean_ms == r.first_decision_p99_ms == three_hops
    assert r.block_interval_ms == three_hops  # the next height starts at the decision
    assert r.originals_per_block == (n - 1) * (2 * n + 1)  # 2n votes and a proposal, to n - 1 peers
    assert (r.lost_per_block, r.recovered, r.synced_commits, r.sync_per_block) == (0.0, 0, 0, 0.0)


def test_gossip_relays_what_a_node_sees_first_while_the_height_is_its_own() -> None:
    n = 4
    r = simulate(n, 8, loss=0.0)
    fan_out = n - 2  # every peer but the sender
    proposal = (n - 1) * fan_out
    prevotes = n * (n - 1) * fan_out
    # a node decides on its own precommit and the next 2f others; a later one is of an old height
    precommits = n * (2 * ((n - 1) // 3)) * fan_out
    assert r.relays_per_block == proposal + prevotes + precommits == 46
    assert simulate(n, 8, loss=0.0, relay_to=0).relays_per_block == 0


def test_a_lossy_network_still_decides_every_height_and_a_loss_costs_hops_not_timeouts() -> None:
    clean = simulate(16, 20, loss=0.0)
    lossy = simulate(16, 20, loss=0.2, seed=3)
    assert lossy.heights == 20 and lossy.rounds_max == 1  # simulate raises if a height stalls
    assert lossy.lost_per_block > 0 and lossy.recovered > 0
    # a relayed copy comes a hop late, and a late proposer starts its height a hop late:
    # nothing waits for a timeout, a re-send interval or block sync
    assert clean.finality_max_ms < lossy.finality_max_ms <= 2 * clean.finality_max_ms
    assert lossy.synced_commits == 0
    # flooding already sends each message to each node about n times: a loss needs no extra frame
    assert abs(lossy.messages_per_block - clean.messages_per_block) < 0.05 * clean.messages_per_block


def test_without_relays_a_lost_message_can_cost_the_wait_for_block_sync() -> None:
    r = simulate(4, 50, loss=0.01, relay_to=0)
    assert r.relays_per_block == 0 and r.synced_commits > 0
    assert r.finality_max_ms >= SYNC_GRACE_MS  # the driver's grace before it fetches a block


def test_a_crashed_proposer_costs_its_heights_a_round_change() -> None:
    cc = ConsensusConfig()
    latency = 20
    r = simulate(4, 9, latency_ms=latency, loss=0.0, silent=1)
    # the crashed validator is round-0 proposer of heights 1, 5 and 9
    assert (r.heights_past_round0, r.rounds_max) == (3, 2)
    # no proposal: propose timeout, nil prevotes and nil precommits (two hops), precommit
    # timeout, then round 1 takes the usual three hops
    crashed_height = cc.timeout_propose_ms + 2 * latency + cc.timeout_precommit_ms + 3 * latency
    assert r.finality_max_ms == crashed_height == 1600
    assert r.finality_mean_ms == pytest.approx((3 * crashed_height + 6 * 3 * latency) / 9)
    assert not r.bound_met


def test_a_crashed_validator_on_a_lossy_network_still_lets_every_height_be_decided() -> None:
    r = simulate(4, 13, loss=0.05, silent=1, seed=2)
    assert r.heights == 13 and r.heights_past_round0 >= 4


def test_impossible_setups_are_refused() -> None:
    with pytest.raises(ValueError, match="quorum"):
        simulate(4, 3, silent=2)
    with pytest.raises(ValueError, match="jitter"):
        simulate(4, 3, latency_ms=20, jitter_ms=20)


def test_64_validators_meet_the_target_and_the_result_serialises_to_json() -> None:
    r = simulate(64, 3)
    assert r.bound_ms == finality_bound_ms(20) == 360
    assert r.bound_met and r.finality_p99_ms <= 360
    # O(n^3) with gossip: each of 2n + 1 messages reaches each node from about every other node
    assert r.relays_per_block > 10 * r.originals_per_block
    decoded = json.loads(json.dumps(dataclasses.asdict(r)))
    assert decoded["messages_per_block"] == r.messages_per_block
    assert len(rows([r])) == 6
