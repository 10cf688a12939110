"""Hypothesis properties of the credit ledger (issue 5, "What must be shown").

Random blocks of every credit transaction (create_class, issue by issuers,
operators and strangers, transfer, pay, redeem, reclaim, freeze, unfreeze,
accredit, revoke_accreditation, delegate, undelegate), mixed with identity
suspensions and block times that cross the welfare class's validity window,
over a few classes, holders and providers, with real signatures:
1. the books of every class balance: issued = the sum of its `bal/` entries
   (read from the raw state) + redeemed + reclaimed, and the per-holder and
   per-provider totals agree with them;
2. no balance is negative or zero (zero balances are deleted);
3. a follower re-executing each block reaches the same state, and replaying
   all the blocks from genesis on a fresh node reaches the same state roots;
4. a transaction of a key the chain does not know yet (the operator before its
   delegation, the unbound account and the providers before credits reach
   them) is left out of the block with UNKNOWN_SIGNER, never executed
   (FORMAT.md §8.1).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from genesis.document import parse_genesis
from ledger.errors import Code
from ledger.fields import MAX_AMOUNT
from tests.chain_source import Replica
from tests.credit_chain import (
    IDS,
    OPERATOR,
    OTHER_ISSUER,
    PROVIDER,
    PROVIDER_2,
    CreditChain,
    check_books,
    credit_genesis_document,
)
from tests.identity_chain import ISSUER, KEYS, REGISTRAR, T0, VALIDATOR

HOLDERS = KEYS[:4] + [KEYS[6]]  # four identities (members and residents in turn) and an unbound account
PROVIDERS = [PROVIDER, PROVIDER_2]
ACCOUNTS = HOLDERS + PROVIDERS
ISSUERS = [ISSUER, OPERATOR, OTHER_ISSUER, HOLDERS[0]]  # the issuer, its would-be operator, strangers
ACCREDITORS = [ISSUER, REGISTRAR, OTHER_ISSUER, HOLDERS[1]]
CLASSES = ["eur", "welfare", "virtue", "other", "fresh"]  # "fresh" exists once a create_class succeeds
CATEGORIES = ["health", "sport", "groceries"]

who = st.integers(0, len(HOLDERS) - 1)
account = st.integers(0, len(ACCOUNTS) - 1)
provider = st.integers(0, len(PROVIDERS) - 1)
klass = st.sampled_from(["eur", "eur", "welfare", "welfare", "virtue", "other", "fresh"])
amount = st.one_of(st.integers(1, 40), st.integers(1, 40), st.integers(1, 400), st.just(MAX_AMOUNT))
category = st.sampled_from(CATEGORIES)
op = st.one_of(
    st.tuples(st.just("issue"), st.integers(0, len(ISSUERS) - 1), klass, account, amount),
    st.tuples(st.just("issue"), st.just(0), klass, who, amount),
    st.tuples(st.just("transfer"), account, klass, account, amount),
    st.tuples(st.just("transfer"), who, st.sampled_from(["eur", "virtue"]), who, st.integers(1, 100)),
    st.tuples(st.just("pay"), who, klass, provider, amount, category),
    st.tuples(st.just("pay"), who, klass, provider, amount, category),
    st.tuples(st.just("redeem"), account, klass, amount),
    st.tuples(st.just("redeem"), st.sampled_from([5, 6]), st.sampled_from(["eur", "welfare"]), st.integers(1, 30)),
    st.tuples(st.just("reclaim"), st.booleans(), klass, st.sets(account, min_size=1, max_size=4)),
    st.tuples(st.just("reclaim"), st.just(True), st.just("welfare"), st.sets(account, min_size=1, max_size=4)),
    st.tuples(st.just("freeze"), st.booleans(), klass, account),
    st.tuples(st.just("unfreeze"), st.booleans(), klass, account),
    st.tuples(st.just("accredit"), st.integers(0, len(ACCREDITORS) - 1), provider, st.sets(category, min_size=1)),
    st.tuples(st.just("revoke_accreditation"), st.integers(0, len(ACCREDITORS) - 1), provider,
              st.sets(category, min_size=1)),
    st.tuples(st.just("delegate"), st.sampled_from(["welfare", "virtue", "*"])),
    st.tuples(st.just("undelegate"), st.sampled_from(["welfare", "virtue", "*"])),
    st.tuples(st.just("create_class"), st.booleans(), st.sampled_from(["p2p", "spend_only"]), st.integers(0, 300)),
    st.tuples(st.just("set_status"), st.integers(0, 3), st.sampled_from(["active", "suspended"])),
)
# each block: its transactions and how far its time is after the previous block's
blocks = st.lists(st.tuples(st.lists(op, max_size=8), st.sampled_from([1000, 5000, 30_000, 60_000])), min_size=1, max_size=8)


def to_tx(c: CreditChain, pending: dict, step: tuple):
    kind, *args = step
    if kind == "issue":
        i, class_id, to, amt = args
        signer, body = ISSUERS[i], (class_id, ACCOUNTS[to].pubkey, amt, "reason")
    elif kind == "transfer":
        i, class_id, to, amt = args
        signer, body = ACCOUNTS[i], (class_id, ACCOUNTS[to].pubkey, amt, "memo")
    elif kind == "pay":
        i, class_id, p, amt, cat = args
        signer, body = HOLDERS[i], (class_id, PROVIDERS[p].pubkey, amt, cat, "order")
    elif kind == "redeem":
        i, class_id, amt = args
        signer, body = ACCOUNTS[i], (class_id, amt, "settlement")
    elif kind == "reclaim":
        by_issuer, class_id, holders = args
        signer = ISSUER if by_issuer else OTHER_ISSUER
        body = (class_id, tuple(ACCOUNTS[h].pubkey for h in sorted(holders)))
    elif kind in ("freeze", "unfreeze"):
        by_issuer, class_id, h = args
        signer, body = (ISSUER if by_issuer else OTHER_ISSUER), (class_id, ACCOUNTS[h].pubkey)
    elif kind in ("accredit", "revoke_accreditation"):
        i, p, cats = args
        signer, body = ACCREDITORS[i], (PROVIDERS[p].pubkey, tuple(sorted(cats)))
    elif kind in ("delegate", "undelegate"):
        signer, body = ISSUER, (args[0], OPERATOR.pubkey)
    elif kind == "create_class":
        capped, transferability, window_s = args
        window = (T0 + window_s * 1000, T0 + (window_s + 60) * 1000) if window_s else (0, 0)
        signer = ISSUER
        body = ("fresh", "Fresh", 0, "purchase_group", ("resident:trento",) if capped else (), transferability,
                ("groceries",), *window, 100 if capped else 0, 700 if capped else 0, None, 0, 0)
    else:  # an identity suspended or reactivated by its registrar
        i, status = args
        signer, body = REGISTRAR, (IDS[i], status)
        kind = "identity.set_status"
    type_ = kind if kind.startswith("identity.") else f"credits.{kind}"
    nonce = c.nonce(signer) + pending.get(signer.pubkey, 0)
    pending[signer.pubkey] = pending.get(signer.pubkey, 0) + 1
    return c.tx(signer, type_, body, nonce=nonce)


def replay(block_list) -> list[bytes]:
    """A fresh node from the genesis document alone, applying the same blocks: its state roots."""
    node = Replica(parse_genesis(json.dumps(credit_genesis_document())), VALIDATOR.pubkey)
    roots = []
    for block in block_list:
        node.apply(block)
        roots.append(node.tree.root())
    return roots


START = ([
    ("accredit", 0, 0, {"health", "groceries"}), ("accredit", 0, 1, {"health", "groceries"}), ("accredit", 1, 1, {"sport"}),
    ("issue", 0, "welfare", 0, 300), ("issue", 0, "welfare", 1, 300), ("issue", 0, "virtue", 0, 100),
    ("issue", 0, "virtue", 2, 100), ("pay", 0, "welfare", 0, 50, "health"), ("pay", 1, "eur", 1, 100, "groceries"),
], 10_000)
"""Every random run starts inside the welfare window with accredited providers and some balances,
so that most movements have something to move."""


def run(plan, start: bool = True) -> tuple[CreditChain, list, int]:
    c = CreditChain()
    applied = []
    ok = 0
    for steps, step_ms in ([START] if start else []) + plan:
        pending: dict[bytes, int] = {}
        block = c.block([to_tx(c, pending, step) for step in steps], c.head.time_ms + step_ms, strangers=True)
        applied.append(block)
        if start and len(applied) == 1:
            assert list(block.results) == [Code.OK] * len(START[0]), "the start block sets the scene"
        ok += sum(1 for r in block.results if r == Code.OK)
        check_books(c, CLASSES if c.state.get(b"class/fresh") else CLASSES[:-1])
    return c, applied, ok


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks)
def test_books_balance_no_balance_is_negative_and_replay_reaches_the_same_roots(plan):
    c, applied, ok = run(plan)
    target(ok)  # steer toward sequences where many movements succeed
    roots = replay(c.setup_blocks + applied)  # the fixture's setup blocks (identities, attestations) first
    assert roots[-1] == c.head.state_root
    assert roots[len(c.setup_blocks):] == [b.header.state_root for b in applied]


def test_the_property_sees_every_movement_succeed():
    """A fixed plan through the same helpers: each movement type succeeds at least once."""
    plan = [
        ([("accredit", 0, 0, {"health", "groceries"}), ("delegate", "welfare"), ("issue", 0, "eur", 5, 30)], 1000),
        ([("issue", 1, "welfare", 0, 300), ("pay", 0, "welfare", 0, 100, "health"),
          ("transfer", 0, "eur", 1, 10), ("freeze", True, "eur", 1), ("unfreeze", True, "eur", 1)], 20_000),
        ([("redeem", 5, "welfare", 60), ("revoke_accreditation", 0, 0, {"groceries"}), ("undelegate", "welfare"),
          ("create_class", True, "spend_only", 0)], 1000),
        ([("reclaim", True, "welfare", {0, 5})], 100_000),
    ]
    c, applied, ok = run(plan, start=False)
    results = [r for b in applied for r in b.results]
    assert results == [Code.OK] * len(results)
    assert c.cls("welfare")[14:] == (300, 60, 240, 0)  # A's 200 and the provider's unredeemed 40 reclaimed
