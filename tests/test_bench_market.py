"""The market row of `scripts/bench` (node/bench/market.py): it runs, and it counts only settled sales.

As in tests/test_bench.py, this checks that the benchmark works, never how fast
anything is: the target (settled orders/s >= half the single row's transfers/s)
is printed by the benchmark, not asserted here.

1. The poster's releaser (node/bench/staged.py) holds a step until the commit it
   waits for, and never has more of a signer's steps in flight than a node keeps
   pending for one account: a provider whose many orders commit in one block is
   released its acceptances 64 at a time.
2. The row end to end on a tiny workload: a real validator process with its LevelDB
   runs single's transfers, then providers are accredited and list, and every
   sale is ordered, accepted and confirmed; the row prints orders/s as a ratio to R
   and beside single's tx/s with the target and a verdict, and the JSON holds it,
   with every order confirmed, the escrow empty and every module's invariants held.
3. The end check is not a formality: a chain where the last sale is accepted but
   never confirmed is refused by it, naming that order.
"""

from __future__ import annotations

import dataclasses
import threading

import pytest

from keys.keystore import Keystore
from node.bench.__main__ import QUICK, TARGETS, MarketSizes, run
from node.bench.federation import LocalFederation
from node.bench.market import MarketCheckFailed, check_settled
from node.bench.market_workload import market_keys, sale_steps, setup_steps, units_of
from node.bench.staged import Releaser, Step, run_staged
from node.devnet_layout import DEVNET_PASSWORD


def _step(signer: bytes, n: int, after: bytes | None = None) -> Step:
    return Step(signer + n.to_bytes(4, "big"), signer, after)


def test_the_releaser_waits_for_commits_and_bounds_each_signers_steps_in_flight() -> None:
    buyer, provider = b"b" * 32, b"p" * 32
    order = _step(buyer, 0)
    accepts = [_step(provider, n, after=order.hash) for n in range(100)]
    releaser = Releaser([order, *accepts], max_pending=64)
    done = threading.Event()
    assert releaser.take(1_000, done) == [order.raw]  # the acceptances wait for the order's commit
    releaser.commit([order.hash])
    first = releaser.take(1_000, done)
    assert first == [a.raw for a in accepts[:64]]  # no more than a node keeps pending for one account
    releaser.commit([accepts[0].hash, accepts[1].hash])
    assert releaser.take(1_000, done) == [accepts[64].raw, accepts[65].raw]
    done.set()
    assert releaser.take(1_000, done) is None


TINY = dataclasses.replace(QUICK, accounts=200, txs=1_000, market=MarketSizes(buyers=60, providers=4, orders=180))


def test_the_market_row_runs_and_reports_settled_orders_against_single() -> None:
    said: list[str] = []
    results, rows = run({"market"}, TINY, 4_000.0, said.append)
    single, market = results["single"], results["market"]
    assert single["committed"] == single["txs"] == 1_000  # its baseline runs with it
    assert market["orders"] == market["settled"] == 180 and market["txs"] == 3 * 180
    assert market["refused"] == market["failed"] == 0
    assert market["orders_per_s"] > 0 and market["ratio_to_R"] == market["orders_per_s"] / 4_000.0
    assert market["vs_single"] == pytest.approx(market["orders_per_s"] / single["committed_tx_per_s"])
    assert market["target_vs_single"] == TARGETS["market_vs_single"] == 0.5
    checks = market["checks"]
    assert checks["confirmed"] == 180 and checks["escrowed"] == checks["escrow_lots"] == 0
    assert checks["paid_to_providers"] == 180 * 100 and {"credits", "market"} <= set(checks["invariants"])
    assert market["node_cpu_s"] > 0 and market["blocks"] >= 3  # order, accept, confirm: three commits at least
    (name, value, note), (_, counts, _), (_, per_order, cpu) = rows[-3:]
    assert "180 orders placed and settled" in name and value.endswith("orders/s")
    assert " R; " in note and "x single's" in note and "target >= 0.5 x" in note
    assert note.endswith(": met") or note.endswith(": NOT met")
    assert counts == "180 / 540 / {} / 0 / 0".format(market["blocks"])
    assert per_order == f"{market['node_cpu_ms_per_order']:.2f} ms" and "x single's" in cpu
    assert market["node_cpu_ms_per_transfer"] == 1000 * single["node_cpu_s"] / 1_000 > 0
    assert any(line.startswith("market: 1 validator") for line in said)


def test_the_end_check_refuses_a_sale_left_unconfirmed() -> None:
    keys = market_keys(8, 2)
    orders = 8
    fed = LocalFederation(1, funded=[k.pubkey for k in (*keys.buyers, *keys.providers)],
                          arbiters=[keys.arbiter.pubkey], keep=True)
    try:
        with fed:
            chain_id = fed.layout.genesis.chain_id
            federation = Keystore(fed.layout.wallet_dir).unlock("federation", DEVNET_PASSWORD)
            setup = setup_steps(chain_id, federation, keys, units_of(orders, 8, 2))
            sales = sale_steps(chain_id, keys, orders)[:-1]  # the last sale's confirmation is never sent
            for steps in (setup, sales):  # orders need the listings committed, as in market()
                run = run_staged(fed.layout.api_urls, steps, progress=False, timeout_s=60)
                assert run.complete(len(steps)), (run.failed, run.refused)
        with pytest.raises(MarketCheckFailed, match="order 7 is accepted, not confirmed"):
            check_settled(fed.layout.node_homes[0], keys, orders, chain_id)
    finally:
        fed.cleanup()
