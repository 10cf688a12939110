"""Settled orders per second on one validator: the market row of `scripts/bench` (issue 14).

A one-validator devnet (node/bench/federation.py, `LocalFederation`) whose
genesis funds the buyers and the providers and authorises an arbiter; before
the clock, the providers are accredited and list their goods, and every
sale's three transactions are signed (node/bench/market_workload.py). The
clock runs from the first post to the commit of the last confirmation;
the poster offers each transaction as soon as what it waits on has
committed (node/bench/staged.py), so the node sees orders, acceptances and
confirmations of different sales mixed in each block, as it would in use.

The figure is settled orders / that time, and all three transactions of a
sale are inside it: ingestion, verification, check-tx, execution and
fsync'd commits, as in the single row. Its target (issue 14) compares it
with the single row's transfers in the same run: a sale is two checked
moves (the lock into escrow, the release to the provider) where a transfer
is one, so the target is orders/s >= 0.5 x transfers/s — the same rate of
checked moves.

After the nodes stop, the row reads the node's store and checks that every
order is confirmed with no lot left, that the class's `escrowed` is 0, that
each buyer paid and each provider received exactly its sales, and every
module's invariants (the books balance: issued = held + escrowed + redeemed
+ reclaimed). A run that fails any of them raises: its figure would not be
one of settled sales.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from genesis.rules import RULES
from keys.keystore import Keystore
from ledger import credits
from ledger.credit_ops import PREFIX_ESCROW, get_lot
from ledger.invariants import InvariantBroken
from ledger.store import Store
from market.records import CONFIRMED, get_order, order_lot
from node.bench.federation import LocalFederation
from node.bench.market_workload import (
    UNIT_PRICE,
    MarketKeys,
    market_keys,
    order_id,
    provider_of,
    sale_steps,
    setup_steps,
    units_of,
)
from node.bench.staged import StagedRun, run_staged
from node.config import load_config
from node.devnet_layout import DEMO_BALANCE, DEMO_CLASS, DEVNET_PASSWORD

TXS_PER_ORDER = 3  # market.order, market.accept, market.confirm
MOVES_PER_ORDER = 2  # lock into escrow, release to the provider


class MarketCheckFailed(RuntimeError):
    """The run did not end with every sale settled and the books balanced."""


@dataclass
class MarketResult:
    validators: int
    buyers: int
    providers: int
    orders: int
    txs: int
    clients: int
    batch: int
    settled: int  # orders whose confirmation committed with OK
    seconds: float  # from the first post to the last commit
    orders_per_s: float
    txs_per_s: float
    blocks: int
    refused: int  # refused at admission for a reason other than a full mempool: must be 0
    failed: int  # committed with a result other than OK: must be 0
    setup_s: float  # accreditations and listings, before the clock
    signing_s: float
    node_cpu_s: float  # CPU time the validator process used on the clock: a figure a shared machine hardly moves
    checks: dict = field(default_factory=dict)  # the end checks, what each saw


def check_settled(node_home, keys: MarketKeys, orders: int, chain_id: str) -> dict:
    """The stopped node's state: every sale settled, nothing left in escrow, every balance exact, every
    module's invariants. Raises MarketCheckFailed naming the first thing that does not hold."""
    n_buyers, n_providers = len(keys.buyers), len(keys.providers)
    with Store(node_home / load_config(node_home).data_dir, create=False) as store:
        state = store.state
        confirmed = 0
        for j in range(orders):
            order = get_order(state, order_id(j))
            if order is None or order.status != CONFIRMED:
                raise MarketCheckFailed(f"order {j} is {'missing' if order is None else order.status}, not confirmed")
            if get_lot(state, order_lot(order_id(j))) is not None:
                raise MarketCheckFailed(f"order {j} is confirmed but its escrow lot is still there")
            confirmed += 1
        lots = sum(1 for _ in store.state_items(PREFIX_ESCROW))
        demo = credits.get_class(state, DEMO_CLASS)
        if demo is None or demo.escrowed != 0 or lots:
            raise MarketCheckFailed(f"{DEMO_CLASS} escrows {demo and demo.escrowed} in {lots} lots after every sale")
        received = [0] * n_providers
        for j in range(orders):
            received[provider_of(j, n_buyers, n_providers)] += UNIT_PRICE
        for b, buyer in enumerate(keys.buyers):
            paid = UNIT_PRICE * (orders // n_buyers + (b < orders % n_buyers))
            held = credits.get_balance(state, buyer.pubkey, DEMO_CLASS)
            if held != DEMO_BALANCE - paid:
                raise MarketCheckFailed(f"buyer {b} holds {held}, not {DEMO_BALANCE} - {paid}")
        for p, provider in enumerate(keys.providers):
            held = credits.get_balance(state, provider.pubkey, DEMO_CLASS)
            if held != DEMO_BALANCE + received[p]:
                raise MarketCheckFailed(f"provider {p} holds {held}, not {DEMO_BALANCE} + {received[p]}")
        height = store.head().height
        try:
            invariants = {module.name: module.invariants(state, store.state_items, chain_id, height)
                          for module in RULES.modules if module.invariants is not None}
        except InvariantBroken as exc:
            raise MarketCheckFailed(f"invariant {exc.check}: {exc.message}") from None
    return {"confirmed": confirmed, "escrowed": demo.escrowed, "escrow_lots": lots,
            "paid_to_providers": sum(received), "invariants": invariants}


def _require(run: StagedRun, total: int, what: str) -> None:
    if not run.complete(total):
        raise MarketCheckFailed(f"{what}: {len(run.committed_at):,}/{total:,} committed, {len(run.failed)} failed, "
                                f"{len(run.refused)} refused: {(run.failed + run.refused)[:3]}")


def market(buyers: int = 10_000, providers: int = 100, orders: int = 50_000, clients: int = 4, batch: int = 2_000,
           progress: bool = True) -> MarketResult:
    if orders < 1:
        raise ValueError("the market row needs at least one order")
    keys = market_keys(buyers, providers)
    fed = LocalFederation(1, funded=[k.pubkey for k in (*keys.buyers, *keys.providers)],
                          arbiters=[keys.arbiter.pubkey], keep=True)
    try:
        with fed:
            chain_id = fed.layout.genesis.chain_id
            urls = fed.layout.api_urls
            t0 = time.monotonic()
            federation = Keystore(fed.layout.wallet_dir).unlock("federation", DEVNET_PASSWORD)
            setup = setup_steps(chain_id, federation, keys, units_of(orders, buyers, providers))
            _require(run_staged(urls, setup, clients, batch, label="market setup", progress=progress),
                     len(setup), "the providers' accreditations and listings")
            setup_s = time.monotonic() - t0
            if progress:
                print(f"  signing {orders:,} sales ({TXS_PER_ORDER * orders:,} transactions) on every core",
                      file=sys.stderr, flush=True)
            t0 = time.monotonic()
            steps = sale_steps(chain_id, keys, orders)
            signing_s = time.monotonic() - t0
            if progress:
                print(f"  {orders:,} sales ({len(steps):,} transactions) signed in {signing_s:.1f} s; "
                      f"{providers} providers listed in {setup_s:.1f} s", file=sys.stderr, flush=True)
            cpu_before = fed.cpu_seconds()
            run = run_staged(urls, steps, clients, batch, timeout_s=max(120.0, len(steps) / 200), label="market",
                             progress=progress)
            node_cpu_s = fed.cpu_seconds() - cpu_before  # to the last commit, give or take one watcher poll
        _require(run, len(steps), "the sales")
        if progress:
            print(f"  checking the stopped node's state: {orders:,} orders settled, escrow empty, books balanced",
                  file=sys.stderr, flush=True)
        checks = check_settled(fed.layout.node_homes[0], keys, orders, chain_id)
    finally:
        fed.cleanup()
    seconds = run.last_commit - run.started
    settled = checks["confirmed"]
    return MarketResult(
        1, buyers, providers, orders, len(steps), clients, batch, settled, round(seconds, 3),
        settled / max(seconds, 1e-9), len(steps) / max(seconds, 1e-9), run.blocks, len(run.refused),
        len(run.failed), round(setup_s, 1), round(signing_s, 1), round(node_cpu_s, 1), checks,
    )
