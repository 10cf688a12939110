"""The market benchmark's workload: providers with listings, buyers who order, accept and confirm.

Who (fixed seeds, as node/bench/workload.py: benchmark keys, never wallets):

- buyers and providers, funded with demo credits at genesis (providers so
  that the chain knows them and they may sign, FORMAT.md §8.1);
- one arbiter, authorised in the genesis's market section (§14): a listing
  must name one (§6.5.2);
- the devnet's federation key (a registrar) accredits each provider for
  `CATEGORY` (`credits.accredit`, §6.3), and each provider then lists one
  good (`market.list`) with exactly the units its orders will take, priced
  `UNIT_PRICE` in the demo class. That is the setup, done before the clock.

What is measured is the sale, settled: an order is settled when the provider
holds the credits. That takes three transactions (§6.5.3), each signed by
the party who acts:

    market.order   (buyer)     lock: the total from the buyer into escrow    checked move 1
    market.accept  (provider)  waits on the order's commit
    market.confirm (buyer)     release: the escrow to the provider           checked move 2

No path is shorter: `market.confirm` needs the order accepted, and the other
way to release (the buyer's window passing, the end-of-block step) needs at
least an hour of block time. Orders are nonce-major like the transfers (every
buyer's first order, then every buyer's second, ...); a buyer's steps are
order, confirm, next order, ... in nonce order; buyer b's r-th order goes
to provider (b + r) mod P, whose acceptances take its nonces 1, 2, ... in
the same order. Goods, not services, so each order also takes units from
its listing (the costlier path: one more record written).
"""

from __future__ import annotations

from typing import NamedTuple

from ledger.crypto import SigningKey, sha256
from ledger.tx import sign_tx
from node.bench.staged import Step
from node.bench.workload import FAR_EXPIRY, in_parallel, sender_keys
from node.devnet_layout import DEMO_CLASS

CATEGORY = "food"
UNIT_PRICE = 100  # 1.00 demo-eur: a buyer's genesis 1000.00 pays for far more orders than any run places
RETURN_WINDOW_MS = 86_400_000  # a day: the buyer confirms long before it ends
ARBITER_SEED = b"incoop-bench-market-arbiter"
STAGES = 3  # a sale's transactions, each waiting on the commit of the one before


class MarketKeys(NamedTuple):
    buyers: list[SigningKey]
    providers: list[SigningKey]
    arbiter: SigningKey


def market_keys(buyers: int, providers: int) -> MarketKeys:
    if buyers < 1 or providers < 1:
        raise ValueError("the market workload needs a buyer and a provider at least")
    return MarketKeys(sender_keys(buyers, seed=b"incoop-bench-market-buyer"),
                      sender_keys(providers, seed=b"incoop-bench-market-provider"),
                      sender_keys(1, seed=ARBITER_SEED)[0])


def listing_id(provider: int) -> bytes:
    return sha256(b"incoop-bench-listing" + provider.to_bytes(4, "big"))[:16]


def order_id(j: int) -> bytes:
    return sha256(b"incoop-bench-order" + j.to_bytes(8, "big"))[:16]


def provider_of(j: int, buyers: int, providers: int) -> int:
    """The provider of the workload's j-th order: buyer j mod B's (j div B)-th, shopping round the providers."""
    return (j % buyers + j // buyers) % providers


def units_of(orders: int, buyers: int, providers: int) -> list[int]:
    """How many orders each provider receives: its listing offers exactly that many units."""
    units = [0] * providers
    for j in range(orders):
        units[provider_of(j, buyers, providers)] += 1
    return units


def setup_steps(chain_id: str, federation: SigningKey, keys: MarketKeys, units: list[int]) -> list[Step]:
    """The federation accredits every provider for CATEGORY; each then lists its good (after its accreditation)."""
    steps = []
    for p, provider in enumerate(keys.providers):
        accredit = sign_tx(federation, chain_id, "credits.accredit", p, FAR_EXPIRY, (provider.pubkey, (CATEGORY,)))
        body = (listing_id(p), f"Bench good {p}", "one unit per order", None, CATEGORY, ((DEMO_CLASS, UNIT_PRICE),),
                units[p], "pickup", 0, 0, RETURN_WINDOW_MS, keys.arbiter.pubkey)
        listing = sign_tx(provider, chain_id, "market.list", 0, FAR_EXPIRY, body)
        steps += [Step(accredit.raw, federation.pubkey), Step(listing.raw, provider.pubkey, accredit.hash)]
    return steps


def sale_steps(chain_id: str, keys: MarketKeys, orders: int) -> list[Step]:
    """Order, accept, confirm for each of `orders` sales, signed on every core: each signer's steps in
    nonce order, the acceptance after the order's commit, the confirmation after the acceptance's."""
    n_buyers, n_providers = len(keys.buyers), len(keys.providers)
    accept_nonce = []  # the provider's nonce for the j-th order's acceptance (its listing took nonce 0)
    taken = [0] * n_providers
    for j in range(orders):
        p = provider_of(j, n_buyers, n_providers)
        taken[p] += 1
        accept_nonce.append(taken[p])

    def sale(j: int) -> tuple[Step, Step, Step]:
        buyer, rnd = keys.buyers[j % n_buyers], j // n_buyers
        provider = keys.providers[provider_of(j, n_buyers, n_providers)]
        oid = order_id(j)
        order = sign_tx(buyer, chain_id, "market.order", 2 * rnd, FAR_EXPIRY,
                        (oid, listing_id(provider_of(j, n_buyers, n_providers)), DEMO_CLASS, 1))
        accept = sign_tx(provider, chain_id, "market.accept", accept_nonce[j], FAR_EXPIRY, (oid,))
        confirm = sign_tx(buyer, chain_id, "market.confirm", 2 * rnd + 1, FAR_EXPIRY, (oid,))
        return (Step(order.raw, buyer.pubkey), Step(accept.raw, provider.pubkey, order.hash),
                Step(confirm.raw, buyer.pubkey, accept.hash))

    triples = in_parallel(sale, orders, step=500)
    # three cohorts of buyers a stage apart: cohort c's first orders wait for cohort c - 1's first commit, so
    # that each block carries orders, acceptances and confirmations alike instead of all buyers in lockstep
    first = min(n_buyers, orders)
    for c in range(1, STAGES):
        lead, start = (c - 1) * first // STAGES, c * first // STAGES
        for b in range(start, (c + 1) * first // STAGES):
            order, accept, confirm = triples[b]
            triples[b] = (order._replace(after=triples[lead][0].hash), accept, confirm)
    return [step for triple in triples for step in triple]
