"""The end-of-block step (ledger/deadlines.py, FORMAT.md §12.3), specified by a model.

A test module, `ticker`, has one transaction type that schedules an item for
a block time or a block height, and an end-of-block step that records, once,
the height at which each item ran. Hypothesis draws blocks (how much time
passes, what is scheduled) with a per-block bound of three items, and the
chain must do what the model says:

- an item due at height h (or time t) runs exactly once: in the first block
  at or after h (t), or, when more were due than the bound, in the next
  blocks, before anything that fell due later;
- in a fixed order: those due by time first, then by height, each in key
  order (when, then the item's bytes);
- the proposer's block (build_block) and a follower's re-execution
  (apply_block) agree on effects and state roots, and so does the auditor
  replaying the raw blocks from genesis (`incoop audit verify`'s verify_chain).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genesis.document import modules_json, parse_genesis
from genesis.rules import MODULES
from ledger import deadlines
from ledger.address import to_address
from ledger.block import Effect, encode_raw_block
from ledger.encoding import decode, encode
from ledger.errors import Code, TxError
from ledger.fields import expect_fields
from ledger.handlers import ExecContext, TxType
from ledger.rules import ChainRules, Module
from ledger.tx import sign_tx
from node.audit.verify import verify_chain
from tests.chain_source import ListSource, Replica, certificate
from tests.identity_chain import VALIDATORS

CHAIN_ID = "test-end-of-block"
T0 = 1_700_000_000_000
BUDGET = 3
SENDER = VALIDATORS[0]


def _schedule(ctx: ExecContext, body: tuple) -> None:
    by, at, item = body
    if by == "t":
        deadlines.schedule_at_time(ctx.state, "ticker", at, item)
    else:
        deadlines.schedule_at_height(ctx.state, "ticker", at, item)


def _parse(body: tuple) -> tuple:
    by, at, item = expect_fields(body, ("by", "at", "item"))
    if by not in ("t", "h") or type(at) is not int or type(item) is not bytes or not item:
        raise TxError(Code.MALFORMED)
    return body


def _run(ctx: ExecContext, item: bytes) -> None:
    key = b"ticker/ran/" + item
    if ctx.state.get(key) is not None:
        raise TxError(Code.EVIDENCE_EXISTS, "ran twice")  # would show as a failed effect
    ctx.state.put(key, encode((ctx.height,)))


TICKER = Module("ticker", 1, tx_types=(TxType("ticker.schedule", _parse, _schedule),), prefixes=(b"ticker/",),
                end_block=_run)
RULES = ChainRules((*MODULES, TICKER))


def genesis():
    return parse_genesis(json.dumps({
        "chain_id": CHAIN_ID, "genesis_time_ms": T0, "modules": modules_json(), "params": {"max_due_per_block": BUDGET},
        "validators": [{"name": f"v{i}", "pubkey": to_address(k.pubkey)} for i, k in enumerate(VALIDATORS)],
    }))


# a block: (ms since the previous block, [(by, offset from this block's time or height, item number)])
blocks_strategy = st.lists(
    st.tuples(
        st.integers(1, 90_000),
        st.lists(st.tuples(st.sampled_from("th"), st.integers(-2, 6), st.integers(0, 40)), max_size=5),
    ),
    min_size=1, max_size=14,
)


def model(plan) -> tuple[dict[bytes, int], list[list[bytes]]]:
    """Which height each item runs at, and each block's order, as FORMAT.md §12.3 says."""
    due: dict[tuple[str, int, bytes], None] = {}
    ran: dict[bytes, int] = {}
    order: list[list[bytes]] = []
    time_ms, scheduled = T0, set()
    for height, (gap, schedules) in enumerate(plan, start=1):
        time_ms += gap
        for by, offset, n in schedules:
            item = f"item-{n}".encode()
            if item in scheduled:
                continue
            scheduled.add(item)
            at = max(0, (time_ms + offset * 20_000) if by == "t" else height + offset)
            due[(by, at, item)] = None
        ready = sorted(k for k in due if k[0] == "t" and k[1] <= time_ms)
        ready += sorted(k for k in due if k[0] == "h" and k[1] <= height)
        taken = ready[:BUDGET]
        for key in taken:
            del due[key]
            ran[key[2]] = height
        order.append([key[2] for key in taken])
    return ran, order


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks_strategy)
def test_due_items_run_once_in_order_within_the_bound_and_every_replica_agrees(plan):
    g = genesis()
    proposer, follower = Replica(g, SENDER.pubkey, RULES), Replica(g, SENDER.pubkey, RULES)
    nonce, scheduled, raws, effects_seen = 0, set(), [], []
    time_ms = T0
    for height, (gap, schedules) in enumerate(plan, start=1):
        time_ms += gap
        txs = []
        for by, offset, n in schedules:
            item = f"item-{n}".encode()
            if item in scheduled:
                continue
            scheduled.add(item)
            at = max(0, (time_ms + offset * 20_000) if by == "t" else height + offset)
            txs.append(sign_tx(SENDER, CHAIN_ID, "ticker.schedule", nonce, 10**6, (by, at, item)))
            nonce += 1
        block, outcome, rejected = proposer.propose(txs, time_ms)
        assert not rejected and all(r == 0 for r in block.results)
        replayed = follower.apply(block)
        assert replayed.effects == outcome.effects == block.effects and replayed.state_root == outcome.state_root
        proposer.commit(block, outcome)
        effects_seen.append(block.effects)
        raws.append(encode_raw_block(block, certificate(block, CHAIN_ID, VALIDATORS[:3])))

    ran, order = model(plan)
    assert [[e.item for e in effects] for effects in effects_seen] == order
    assert all(e == Effect("ticker", e.item, Code.OK) for effects in effects_seen for e in effects), "none ran twice"
    for item, height in ran.items():
        assert decode(proposer.state.get(b"ticker/ran/" + item)) == (height,)
    assert len([k for k in proposer.state.items if k.startswith(b"ticker/ran/")]) == len(ran)
    left = [k for k in proposer.state.items if k.startswith(deadlines.PREFIX_DUE)]
    assert len(left) == len(scheduled) - len(ran), "what did not run is still due"

    report = verify_chain(RULES, g, ListSource(g.hash(), raws, proposer.head), workers=1)
    assert report.height == len(plan) and report.state_root == proposer.head.state_root.hex()


def test_a_step_that_fails_drops_its_writes_and_says_so_in_the_effect():
    """An item whose step raises is taken (not retried forever), its writes are dropped, its code recorded."""
    node = Replica(genesis(), SENDER.pubkey, RULES)
    node.state.items[b"ticker/ran/twice"] = encode((0,))  # as if it had run: the step refuses to run it again
    txs = [sign_tx(SENDER, CHAIN_ID, "ticker.schedule", 0, 100, ("h", 1, b"twice"))]
    block, outcome, _ = node.propose(txs, T0 + 1000)
    assert block.effects == (Effect("ticker", b"twice", Code.EVIDENCE_EXISTS),)
    assert not any(k.startswith(deadlines.PREFIX_DUE) and v is not None for k, v in outcome.state_changes.items())
    assert b"ticker/ran/twice" not in outcome.state_changes


def test_a_block_in_which_nothing_fell_due_carries_no_effects():
    """The marketplace's step takes the orders nobody acted on in time (market/orders.py), the purchase
    groups' settles them at their deadline (market/groups_settle.py), the agora's opens, closes and tallies
    ballots (governance/tally.py); the other modules schedule nothing. A block with nothing due carries no
    effects."""
    assert [m.name for m in MODULES if m.end_block is not None] == ["market", "gas", "agora"]
    block, outcome, _ = Replica(genesis(), SENDER.pubkey, RULES).propose([], T0 + 1000)
    assert block.effects == () and outcome.effects == ()
