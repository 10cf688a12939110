"""The state transition (FORMAT.md §8, §12.2): a pure function of (state, block).

Random sequences of signed transfers and issues among a few accounts, run
through build_block (the proposer) and apply_block (every validator and the
auditor), must keep the ledger's promises: credits are conserved (the sum of
balances is each class's supply, which only issue changes), no balance is
ever negative, a failed transaction still consumes its nonce, a key the chain
does not know signs nothing into a block until credits reach it, and two
independent executions of the same blocks reach the same state roots.
apply_block must refuse any block whose contents or header were tampered
with, and build_block must leave out transactions that may not be in a block.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genesis.document import modules_json, parse_genesis
from genesis.rules import RULES
from ledger import accounts, chain, credits
from ledger.address import to_address
from ledger.block import Block, results_root, tx_root
from ledger.crypto import SigningKey
from ledger.encoding import decode, encode
from ledger.errors import Code
from ledger.fields import MAX_AMOUNT
from ledger.merkle import full_root
from ledger.state import Overlay
from ledger.transition import BlockInvalid, apply_block, build_block
from ledger.tx import sign_tx
from tests.chain_source import Replica

CHAIN_ID = "test-transition"
T0 = 1_700_000_000_000
VALIDATOR = SigningKey(bytes([0x30]) * 32)
ISSUER = SigningKey(bytes([0x31]) * 32)
HOLDERS = [SigningKey(bytes([0x40 + i]) * 32) for i in range(4)]
PEOPLE = [ISSUER, *HOLDERS]
CLASSES = ["eur", "meal"]
GHOST_CLASS = "ghost"  # never created: transfers and issues of it fail with UNKNOWN_CLASS


def genesis():
    doc = {
        "chain_id": CHAIN_ID,
        "genesis_time_ms": T0,
        "modules": modules_json(),
        "validators": [{"name": "v", "pubkey": to_address(VALIDATOR.pubkey)}],
        "credits": {
            "issuers": [{"name": "issuer", "account": to_address(ISSUER.pubkey)}],
            "classes": [
                {"id": c, "name": c, "issuer": to_address(ISSUER.pubkey), "decimals": 2} for c in CLASSES
            ],
            "balances": [
                {"account": to_address(h.pubkey), "class": "eur", "amount": 1000} for h in HOLDERS[:2]
            ],
        },
    }
    return parse_genesis(json.dumps(doc))


class Node(Replica):
    """One node's view (tests/chain_source.py): a state, its tree and the head, built from genesis alone."""

    def __init__(self):
        super().__init__(genesis(), VALIDATOR.pubkey)

    def nonce(self, key: SigningKey) -> int:
        return accounts.next_nonce(self.state, key.pubkey)

    def balance(self, key: SigningKey, class_id: str) -> int:
        return credits.get_balance(self.state, key.pubkey, class_id)


def check_ledger_invariants(node: Node) -> None:
    """Conservation and no negative balance, read from the raw state entries."""
    totals: dict[str, int] = {}
    for key, raw in node.state.items.items():
        if key.startswith(credits.PREFIX_BALANCE):
            class_id = key[len(credits.PREFIX_BALANCE) + 32:].decode()
            amount = decode(raw)
            assert 0 < amount <= MAX_AMOUNT, "a stored balance is positive (zero balances are deleted)"
            totals[class_id] = totals.get(class_id, 0) + amount
    for class_id in CLASSES:
        assert totals.get(class_id, 0) == credits.get_class(node.state, class_id).supply
    assert set(totals) <= set(CLASSES)
    assert full_root(node.state.items.items()) == node.head.state_root


# --- random workloads ----------------------------------------------------------------------

person = st.integers(0, len(PEOPLE) - 1)
any_class = st.sampled_from([*CLASSES, GHOST_CLASS])
amount = st.one_of(st.integers(1, 1500), st.just(MAX_AMOUNT))
op = st.one_of(
    st.tuples(st.just("transfer"), person, person, any_class, amount),
    st.tuples(st.just("issue"), person, person, any_class, amount),
)
workload = st.lists(st.lists(op, max_size=8), min_size=1, max_size=5)


def expected_code(node_model: dict, supply: dict, signer: int, to: int, kind: str, class_id: str, amt: int,
                  known: set[int]) -> Code:
    """An independent model of FORMAT.md §8.1 (the signer known) and §6.3, in the order the rules are checked."""
    if signer not in known:
        return Code.UNKNOWN_SIGNER  # left out of the block: no nonce, no result
    if class_id not in supply:
        return Code.UNKNOWN_CLASS
    if kind == "issue":
        if PEOPLE[signer] is not ISSUER:
            return Code.NOT_ISSUER
        if supply[class_id] + amt > MAX_AMOUNT:
            return Code.AMOUNT_OVERFLOW
        node_model[(to, class_id)] = node_model.get((to, class_id), 0) + amt
        supply[class_id] += amt
        known.add(to)  # credits arriving make the account known
        return Code.OK
    if signer == to:
        return Code.SELF_TRANSFER
    if node_model.get((signer, class_id), 0) < amt:
        return Code.INSUFFICIENT_BALANCE
    node_model[(signer, class_id)] -= amt
    node_model[(to, class_id)] = node_model.get((to, class_id), 0) + amt
    known.add(to)
    return Code.OK


@settings(max_examples=40, deadline=None)
@given(workload)
def test_random_blocks_conserve_credits_consume_nonces_and_replay_identically(blocks):
    proposer, follower = Node(), Node()
    model = {(1 + i, "eur"): 1000 for i in range(2)}  # genesis balances (PEOPLE index 1, 2)
    supply = {"eur": 2000, "meal": 0}
    known = {0, 1, 2}  # the issuer (a role) and the two genesis balance holders; HOLDERS[2:] are strangers
    sent = [0] * len(PEOPLE)
    check_ledger_invariants(proposer)
    for ops in blocks:
        txs, expected, strangers = [], [], []
        for kind, signer, to, class_id, amt in ops:
            key = PEOPLE[signer]
            body = (class_id, PEOPLE[to].pubkey, amt, "")
            nonce = sent[signer]  # every tx the chain took from this signer, this block included
            tx = sign_tx(key, CHAIN_ID, f"credits.{kind}", nonce, 10**6, body)
            txs.append(tx)
            code = expected_code(model, supply, signer, to, kind, class_id, amt, known)
            if code == Code.UNKNOWN_SIGNER:
                strangers.append(tx.hash)
            else:
                expected.append(code)
                sent[signer] += 1
        block, _, rejected = proposer.propose(txs)
        assert [(tx.hash, err.code) for tx, err in rejected] == [(h, Code.UNKNOWN_SIGNER) for h in strangers]
        assert list(block.results) == [int(c) for c in expected]
        proposer.apply(block)
        follower.apply(block)  # an independent execution of the same block
        assert follower.head == proposer.head
        assert follower.state.items == proposer.state.items
        check_ledger_invariants(proposer)
        for (who, class_id), value in model.items():
            assert proposer.balance(PEOPLE[who], class_id) == value
        for class_id, total in supply.items():
            assert credits.get_class(proposer.state, class_id).supply == total
        for i, key in enumerate(PEOPLE):
            assert proposer.nonce(key) == sent[i], "every included tx consumed a nonce, failed or not"


def test_a_failed_transaction_consumes_its_nonce_and_drops_its_writes():
    node = Node()
    poor = HOLDERS[3]
    gift = sign_tx(HOLDERS[0], CHAIN_ID, "credits.transfer", 0, 100, ("eur", poor.pubkey, 1, ""))
    node.apply(node.propose([gift])[0])  # one credit arriving makes the account known
    tx = sign_tx(poor, CHAIN_ID, "credits.transfer", 0, 100, ("eur", HOLDERS[0].pubkey, 5, ""))
    block, outcome, _ = node.propose([tx])
    assert block.results == (Code.INSUFFICIENT_BALANCE,)
    assert set(outcome.state_changes) == {accounts.account_key(poor.pubkey)}
    node.apply(block)
    assert node.nonce(poor) == 1
    again, _, rejected = node.propose([tx])
    assert again.txs == () and rejected[0][1].code == Code.BAD_NONCE


# --- apply_block refuses tampered blocks ----------------------------------------------------


FIRST = sign_tx(HOLDERS[0], CHAIN_ID, "credits.transfer", 0, 100, ("eur", HOLDERS[2].pubkey, 10, ""))


@pytest.fixture
def chain_with_block():
    """A node at height 1 and a valid block 2 holding two transfers of one signer (nonces 1, 2)."""
    node = Node()
    node.apply(node.propose([FIRST])[0])
    txs = [
        sign_tx(HOLDERS[0], CHAIN_ID, "credits.transfer", 1, 100, ("eur", HOLDERS[1].pubkey, 7, "a")),
        sign_tx(HOLDERS[0], CHAIN_ID, "credits.transfer", 2, 100, ("eur", HOLDERS[3].pubkey, 3, "b")),
    ]
    block, _, rejected = node.propose(txs)
    assert not rejected
    apply_block(RULES, node.state, node.tree, node.head, block, CHAIN_ID)  # the untampered block is valid
    return node, block


def with_header(block: Block, **fields) -> Block:
    return block._replace(header=block.header._replace(**fields))


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1:]


TAMPERINGS = {
    "a tx byte (tx root left stale)": lambda b: b._replace(txs=(flip(b.txs[0], 40), b.txs[1])),
    "a tx signature (tx root recomputed)": lambda b: with_header(
        b._replace(txs=(flip(b.txs[0], len(b.txs[0]) - 1), b.txs[1])),
        tx_root=tx_root((flip(b.txs[0], len(b.txs[0]) - 1), b.txs[1])),
    ),
    "the order of one signer's txs (tx root recomputed)": lambda b: with_header(b._replace(txs=b.txs[::-1]), tx_root=tx_root(b.txs[::-1])),
    "a tx left out (roots recomputed)": lambda b: with_header(
        b._replace(txs=b.txs[:1], results=b.results[:1]), tx_root=tx_root(b.txs[:1]), results_root=results_root(b.results[:1])
    ),
    "a result code (results root recomputed)": lambda b: with_header(
        b._replace(results=(1, 0)), results_root=results_root((1, 0))
    ),
    "the results root": lambda b: with_header(b, results_root=bytes(32)),
    "the state root": lambda b: with_header(b, state_root=flip(b.header.state_root, 0)),
    "the prev hash": lambda b: with_header(b, prev_hash=flip(b.header.prev_hash, 0)),
    "time equal to the parent's": lambda b: with_header(b, time_ms=T0 + 1000),
    "time before the parent's": lambda b: with_header(b, time_ms=T0),
    "the height": lambda b: with_header(b, height=3),
    "the chain id": lambda b: with_header(b, chain_id="other-chain"),
    "the version": lambda b: with_header(b, version=2),
    "a proposer that is no validator": lambda b: with_header(b, proposer=ISSUER.pubkey),
    "the validators hash": lambda b: with_header(b, validators_hash=bytes(32)),
}


@pytest.mark.parametrize("what", list(TAMPERINGS))
def test_apply_block_refuses_a_block_with_tampered(chain_with_block, what):
    node, block = chain_with_block
    with pytest.raises(BlockInvalid):
        apply_block(RULES, node.state, node.tree, node.head, TAMPERINGS[what](block), CHAIN_ID)


def test_signatures_verified_up_front_in_threads_give_the_same_outcome(chain_with_block):
    node, block = chain_with_block
    alone = apply_block(RULES, node.state, node.tree, node.head, block, CHAIN_ID)
    with ThreadPoolExecutor(2) as executor:
        threaded = apply_block(RULES, node.state, node.tree, node.head, block, CHAIN_ID, executor=executor)
    assert threaded == alone


@pytest.mark.parametrize("what", list(TAMPERINGS))
def test_signatures_verified_up_front_in_threads_refuse_a_tampered_block_alike(chain_with_block, what):
    """The same first error with or without the executor: a bad signature is checked again at its turn."""
    node, block = chain_with_block
    tampered = TAMPERINGS[what](block)
    with pytest.raises(BlockInvalid) as alone:
        apply_block(RULES, node.state, node.tree, node.head, tampered, CHAIN_ID)
    with ThreadPoolExecutor(2) as executor, pytest.raises(BlockInvalid) as threaded:
        apply_block(RULES, node.state, node.tree, node.head, tampered, CHAIN_ID, executor=executor)
    assert str(threaded.value) == str(alone.value)


def test_apply_block_refuses_a_replayed_transaction_even_with_consistent_roots(chain_with_block):
    node, block = chain_with_block
    txs = (*block.txs, FIRST.raw)
    results = (*block.results, 0)
    forged = with_header(block._replace(txs=txs, results=results), tx_root=tx_root(txs), results_root=results_root(results))
    with pytest.raises(BlockInvalid, match="transaction 2"):
        apply_block(RULES, node.state, node.tree, node.head, forged, CHAIN_ID)


@pytest.mark.parametrize(
    ("tx_root_fixed", "reason"),
    [(False, "transaction root does not match"), (True, "transaction 1: not a canonical transaction")],
)
def test_an_undecodable_transaction_is_reported_after_the_tx_root_and_at_its_own_index(chain_with_block, tx_root_fixed, reason):
    """The tx root is checked over the wire bytes first; then each tx in turn, the undecodable one at its turn."""
    node, block = chain_with_block
    txs = (block.txs[0], block.txs[1] + b"\x00")  # trailing garbage: not canonical
    forged = block._replace(txs=txs)
    if tx_root_fixed:
        forged = with_header(forged, tx_root=tx_root(txs))
    with pytest.raises(BlockInvalid, match=reason):
        apply_block(RULES, node.state, node.tree, node.head, forged, CHAIN_ID)


def test_apply_block_refuses_another_chains_block(chain_with_block):
    node, block = chain_with_block
    with pytest.raises(BlockInvalid):
        apply_block(RULES, node.state, node.tree, node.head, block, "other-chain")


def test_apply_block_refuses_a_block_that_carries_a_strangers_transaction():
    """FORMAT.md §8.1: a key the chain does not know writes nothing, even through a faulty proposer.
    The proposer here builds on a state that pretends to know the key; every other node refuses."""
    node = Node()
    stranger = HOLDERS[3]
    tx = sign_tx(stranger, CHAIN_ID, "credits.transfer", 0, 100, ("eur", HOLDERS[0].pubkey, 5, ""))
    assert node.propose([tx])[2][0][1].code == Code.UNKNOWN_SIGNER  # an honest proposer leaves it out
    pretending = Overlay(node.state)
    accounts.ensure_known(pretending, stranger.pubkey)
    block, _, rejected = build_block(RULES, pretending, node.tree, node.head, CHAIN_ID, VALIDATOR.pubkey,
                                     node.head.time_ms + 1000, [tx])
    assert rejected == [] and block.results == (Code.INSUFFICIENT_BALANCE,)
    with pytest.raises(BlockInvalid, match="transaction 0: the chain does not know the signer"):
        apply_block(RULES, node.state, node.tree, node.head, block, CHAIN_ID)


def test_credits_arriving_make_an_account_known_within_the_block():
    """The state at a transaction's turn decides: a key that receives credits may sign later in the same block."""
    node = Node()
    newcomer = HOLDERS[2]
    gift = sign_tx(HOLDERS[0], CHAIN_ID, "credits.transfer", 0, 100, ("eur", newcomer.pubkey, 10, ""))
    spend = sign_tx(newcomer, CHAIN_ID, "credits.transfer", 0, 100, ("eur", HOLDERS[1].pubkey, 4, ""))
    block, outcome, rejected = node.propose([spend, gift, spend])
    assert [err.code for _, err in rejected] == [Code.UNKNOWN_SIGNER] and block.results == (0, 0)
    assert outcome.state_changes[accounts.account_key(newcomer.pubkey)] == encode((1,))
    node.apply(block)
    assert node.balance(newcomer, "eur") == 6 and node.nonce(newcomer) == 1


# --- build_block leaves out what may not be in a block ---------------------------------------


def test_build_block_leaves_out_bad_signature_wrong_chain_replayed_expired_and_gapped_txs():
    node = Node()
    a, b = HOLDERS[0], HOLDERS[1]
    first = sign_tx(a, CHAIN_ID, "credits.transfer", 0, 100, ("eur", b.pubkey, 1, ""))
    node.apply(node.propose([first])[0])

    good = sign_tx(a, CHAIN_ID, "credits.transfer", 1, 100, ("eur", b.pubkey, 1, ""))
    forged = sign_tx(b, CHAIN_ID, "credits.transfer", 0, 100, ("eur", a.pubkey, 1, ""))
    forged = forged._replace(signature=flip(forged.signature, 0))  # envelope checks use .signature
    other_chain = sign_tx(b, "other-chain", "credits.transfer", 0, 100, ("eur", a.pubkey, 1, ""))
    expired = sign_tx(b, CHAIN_ID, "credits.transfer", 0, 1, ("eur", a.pubkey, 1, ""))
    gapped = sign_tx(b, CHAIN_ID, "credits.transfer", 5, 100, ("eur", a.pubkey, 1, ""))
    duplicate_in_batch = good

    block, _, rejected = node.propose([first, good, forged, other_chain, expired, gapped, duplicate_in_batch])
    assert block.txs == (good.raw,)
    assert [(tx.hash, err.code) for tx, err in rejected] == [
        (first.hash, Code.BAD_NONCE),
        (forged.hash, Code.BAD_SIGNATURE),
        (other_chain.hash, Code.WRONG_CHAIN),
        (expired.hash, Code.EXPIRED),
        (gapped.hash, Code.NONCE_TOO_FAR),
        (good.hash, Code.BAD_NONCE),
    ]
    node.apply(block)  # what build_block makes, apply_block accepts


def test_build_block_then_apply_block_agree_on_an_empty_block():
    node = Node()
    block, outcome, rejected = node.propose([])
    assert block.txs == () and rejected == []
    assert node.apply(block).state_root == outcome.state_root == node.head.state_root
    assert block.header.validators_hash == chain.validators_hash((VALIDATOR.pubkey,))


def test_apply_block_refuses_a_block_larger_than_max_block_bytes(chain_with_block):
    node, block = chain_with_block
    tight = Overlay(node.state)
    chain.set_params(tight, chain.get_params(node.state)._replace(max_block_bytes=sum(map(len, block.txs)) - 1))
    with pytest.raises(BlockInvalid, match="exceed"):
        apply_block(RULES, tight, node.tree, node.head, block, CHAIN_ID)
