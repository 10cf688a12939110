"""The mempool's admission rules, ordering, bounds, check-tx, parking and expiry, on an in-memory state.

The state is a real genesis state (tests' own document): A, B and C hold
demo-eur, D holds a little, E is known but holds nothing (a registrar: a
role, no credits) and STRANGER was never heard of. Time is a fake clock, so
that parked transactions age without sleeping.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from genesis.document import modules_json, parse_genesis
from genesis.rules import RULES
from ledger import accounts, credits
from ledger.address import to_address
from ledger.credit_txs import TRANSFER
from ledger.crypto import SigningKey
from ledger.encoding import encode
from ledger.errors import Code, TxError
from ledger.state import DictState, Overlay
from ledger.tx import Tx, sign_tx
from node.config import MempoolConfig
from node.mempool import GOSSIP, Mempool

CHAIN = "test-chain"
GAP = 4
KEYS = [SigningKey(bytes([i]) * 32) for i in range(1, 7)]
A, B, C, D, E, STRANGER = KEYS
CLASS = "demo-eur"
FUNDS = 1000


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def genesis_state(gap: int = GAP) -> DictState:
    doc = {
        "chain_id": CHAIN, "genesis_time_ms": 1, "modules": modules_json(), "params": {"max_nonce_gap": gap},
        "validators": [{"name": "v", "pubkey": to_address(SigningKey(bytes([0x77]) * 32).pubkey)}],
        "credits": {
            "issuers": [{"name": "issuer", "account": to_address(A.pubkey)}],
            "classes": [{"id": CLASS, "name": "demo", "issuer": to_address(A.pubkey), "decimals": 2}],
            "balances": [{"account": to_address(k.pubkey), "class": CLASS, "amount": FUNDS} for k in (A, B, C)]
            + [{"account": to_address(D.pubkey), "class": CLASS, "amount": 10}],
        },
        "identity": {"registrars": [{"name": "registrar", "account": to_address(E.pubkey)}]},
    }
    return DictState(parse_genesis(json.dumps(doc)).initial_state())


def transfer(key: SigningKey, nonce: int, expiry: int = 1000, amount: int = 1, chain_id: str = CHAIN,
             to: SigningKey = D) -> Tx:
    return sign_tx(key, chain_id, TRANSFER.name, nonce, expiry, (CLASS, to.pubkey, amount, ""))


@pytest.fixture
def state() -> DictState:
    return genesis_state()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def mempool(state: DictState, clock: FakeClock | None = None, **config) -> Mempool:
    return Mempool(RULES, state, CHAIN, MempoolConfig(**({"max_txs": 10} | config)), clock=clock or FakeClock(),
                   now_ms=lambda: 2)


@pytest.fixture
def pool(state: DictState, clock: FakeClock) -> Mempool:
    return mempool(state, clock)


def commit_nonce(state: DictState, key: SigningKey, next_nonce: int) -> None:
    state.items[accounts.account_key(key.pubkey)] = encode((next_nonce,))


def set_balance(state: DictState, key: SigningKey, amount: int) -> None:
    overlay = Overlay(state)
    credits.set_balance(overlay, key.pubkey, CLASS, amount)
    state.apply(overlay.changes())


def code_of(call) -> Code:
    with pytest.raises(TxError) as info:
        call()
    return info.value.code


def test_admits_and_orders_each_account_by_nonce(pool: Mempool) -> None:
    for nonce in (2, 0, 1):
        pool.admit(transfer(A, nonce), next_height=1)
    assert [tx.nonce for tx in pool.candidates()] == [0, 1, 2]
    assert len(pool) == 3 and pool.parked == 0


def test_candidates_round_robin_longest_waiting_account_first(pool: Mempool) -> None:
    for nonce in range(3):
        pool.admit(transfer(B, nonce), 1)
    for nonce in range(2):
        pool.admit(transfer(A, nonce), 1)
    pool.admit(transfer(C, 0), 1)
    order = [(tx.signer, tx.nonce) for tx in pool.candidates()]
    assert order == [
        (B.pubkey, 0), (A.pubkey, 0), (C.pubkey, 0),
        (B.pubkey, 1), (A.pubkey, 1),
        (B.pubkey, 2),
    ]


def test_a_flooding_sender_delays_only_itself() -> None:
    """Fair selection under a flood: three accounts hold 60 transactions each; a resident's one
    transaction, admitted last, is among the first four a block takes."""
    pool = mempool(genesis_state(gap=256), max_txs=1000, max_pending_per_account=64)
    for key in (A, B, C):
        for nonce in range(60):
            pool.admit(transfer(key, nonce), 1)
    resident = transfer(D, 0, to=A)
    pool.admit(resident, 1)
    assert [tx.hash for tx in pool.candidates()].index(resident.hash) == 3


def test_candidates_stop_at_a_gap(pool: Mempool) -> None:
    pool.admit(transfer(A, 0), 1)
    pool.admit(transfer(A, 2), 1)
    assert [tx.nonce for tx in pool.candidates()] == [0]
    assert pool.parked == 1
    pool.admit(transfer(A, 1), 1)
    assert [tx.nonce for tx in pool.candidates()] == [0, 1, 2]
    assert pool.parked == 0


def test_duplicate_hash_and_duplicate_nonce(pool: Mempool) -> None:
    tx = transfer(A, 0)
    pool.admit(tx, 1)
    assert code_of(lambda: pool.admit(tx, 1)) == Code.DUPLICATE
    assert code_of(lambda: pool.admit(transfer(A, 0, amount=2), 1)) == Code.DUPLICATE
    assert len(pool) == 1


def test_nonce_window_follows_the_committed_nonce(pool: Mempool, state: DictState) -> None:
    commit_nonce(state, A, 5)
    assert code_of(lambda: pool.admit(transfer(A, 4), 1)) == Code.BAD_NONCE
    assert code_of(lambda: pool.admit(transfer(A, 5 + GAP), 1)) == Code.NONCE_TOO_FAR
    pool.admit(transfer(A, 5 + GAP - 1), 1)
    assert list(pool.candidates()) == []  # behind a gap: waits
    pool.admit(transfer(A, 5), 1)
    assert [tx.nonce for tx in pool.candidates()] == [5]


def test_the_node_window_per_account_is_narrower_than_the_chains(state: DictState) -> None:
    pool = mempool(state, max_pending_per_account=2)
    pool.admit(transfer(A, 0), 1)
    pool.admit(transfer(A, 1), 1)
    error = pytest.raises(TxError, pool.admit, transfer(A, 2), 1).value
    assert error.code == Code.NONCE_TOO_FAR and "at most 2 may be pending" in error.message


def test_bounded_size(state: DictState) -> None:
    pool = mempool(state, max_txs=2)
    pool.admit(transfer(A, 0), 1)
    pool.admit(transfer(B, 0), 1)
    assert code_of(lambda: pool.admit(transfer(C, 0), 1)) == Code.MEMPOOL_FULL
    assert pool.refused[("api", "MEMPOOL_FULL")] == 1


def test_envelope_rejections(pool: Mempool) -> None:
    assert code_of(lambda: pool.admit(transfer(A, 0, chain_id="other"), 1)) == Code.WRONG_CHAIN
    assert code_of(lambda: pool.admit(transfer(A, 0, expiry=4), 5)) == Code.EXPIRED
    bad_sig = transfer(A, 0)
    forged = bad_sig._replace(signature=bytes(64), hash=b"\x01" * 32)
    assert code_of(lambda: pool.admit(forged, 1)) == Code.BAD_SIGNATURE
    unknown = sign_tx(A, CHAIN, "credits.steal", 0, 100, ())
    assert code_of(lambda: pool.admit(unknown, 1)) == Code.UNKNOWN_TYPE
    overflow = sign_tx(A, CHAIN, TRANSFER.name, 0, 100, (CLASS, D.pubkey, 2**63, ""))
    assert code_of(lambda: pool.admit(overflow, 1)) == Code.MALFORMED
    assert len(pool) == 0


# --- who may write: a known signer, an expiry within reach ------------------------------------


def test_a_strangers_transaction_is_refused_before_its_signature_is_verified(pool: Mempool) -> None:
    honest = transfer(STRANGER, 0)
    forged = honest.raw[:-1] + bytes([honest.raw[-1] ^ 1])  # a bad signature: never looked at
    assert code_of(lambda: pool.admit(honest, 1)) == Code.UNKNOWN_SIGNER
    prepared = pool.prepare_batch([honest.raw, forged])
    assert [(item.error.code, item.signature_ok) for item in prepared] == [(Code.UNKNOWN_SIGNER, False)] * 2
    pool.admit_prepared(prepared, 1, source=GOSSIP)
    assert len(pool) == 0
    assert pool.refused[("api", "UNKNOWN_SIGNER")] == 1 and pool.refused[("gossip", "UNKNOWN_SIGNER")] == 2


def test_an_expiry_beyond_the_horizon_is_refused(state: DictState) -> None:
    pool = mempool(state, max_expiry_blocks=100)
    assert code_of(lambda: pool.admit(transfer(A, 0, expiry=2**63 - 1), 1)) == Code.EXPIRY_TOO_FAR
    assert code_of(lambda: pool.admit(transfer(A, 0, expiry=102), 1)) == Code.EXPIRY_TOO_FAR
    pool.admit(transfer(A, 0, expiry=101), 1)  # 100 blocks after the next height: the horizon itself
    pool.admit(transfer(A, 1, expiry=150), 50)
    never = transfer(B, 0, expiry=2**63 - 1)
    forged = never.raw[:-1] + bytes([never.raw[-1] ^ 1])  # refused before its signature is looked at
    assert [(p.error.code, p.signature_ok) for p in pool.prepare_batch([forged], next_height=50)] == [
        (Code.EXPIRY_TOO_FAR, False)]


# --- check-tx: the execution rules against the pending state -----------------------------------


def test_an_unfunded_known_account_is_refused_with_its_execution_code(pool: Mempool) -> None:
    error = pytest.raises(TxError, pool.admit, transfer(E, 0), 1).value
    assert error.code == Code.INSUFFICIENT_BALANCE and len(pool) == 0
    assert code_of(lambda: pool.admit(transfer(A, 0, to=A), 1)) == Code.SELF_TRANSFER
    assert code_of(lambda: pool.admit(sign_tx(A, CHAIN, TRANSFER.name, 0, 100, ("ghost", D.pubkey, 1, "")), 1)) \
        == Code.UNKNOWN_CLASS


def test_each_transaction_is_checked_after_the_signers_earlier_pending_ones(pool: Mempool) -> None:
    """D holds 10: 4 and 4 pass, the third 4 does not (8 are already spoken for)."""
    pool.admit(transfer(D, 0, amount=4, to=A), 1)
    pool.admit(transfer(D, 1, amount=4, to=A), 1)
    assert code_of(lambda: pool.admit(transfer(D, 2, amount=4, to=A), 1)) == Code.INSUFFICIENT_BALANCE
    pool.admit(transfer(D, 2, amount=2, to=A), 1)
    assert len(pool) == 3


def test_a_commit_that_credits_the_account_is_seen_before_a_refusal(pool: Mempool, state: DictState) -> None:
    """The check overlay outlives blocks; a block that pays the account marks it dirty, and a dirty
    overlay that refuses is rebuilt from the committed state first."""
    first = transfer(D, 0, amount=8, to=A)
    pool.admit(first, 1)
    pool.admit(transfer(D, 1, amount=1, to=A), 1)
    incoming = transfer(B, 0, amount=50, to=D)
    set_balance(state, D, 2 + 50)  # the block took D's first transfer and B's 50
    commit_nonce(state, D, 1)
    commit_nonce(state, B, 1)
    pool.remove_committed([first, incoming], [(A.pubkey,), (D.pubkey,)])
    pool.admit(transfer(D, 2, amount=45, to=A), 2)  # the stale overlay says 1 left; the committed state 51
    assert [tx.nonce for tx in pool.candidates()] == [1, 2]


def test_a_parked_transaction_is_checked_again_when_its_gap_is_filled(pool: Mempool) -> None:
    late = transfer(D, 1, amount=6, to=A)
    pool.admit(late, 1)  # parked: 6 of D's 10, fine on its own
    listened: list[Tx] = []
    pool.on_admit.append(listened.append)
    filler = transfer(D, 0, amount=6, to=A)
    pool.admit(filler, 1)  # now 6 + 6 > 10: the parked one fails in order, and goes
    assert [tx.hash for tx in pool.candidates()] == [filler.hash] and late.hash not in pool
    assert pool.rejection(late.hash).code == Code.INSUFFICIENT_BALANCE
    assert listened == [filler] and pool.evicted["check_failed"] == 1


def test_a_refusal_in_a_batch_refuses_the_signers_later_nonces_instead_of_parking_them(pool: Mempool) -> None:
    """Left parked, they would wait for the next transaction to take the free nonce, and then commit
    unasked (an issuer re-running the rest of a payroll would pay those rows twice)."""
    batch = [transfer(D, 0, amount=4, to=A), transfer(D, 1, amount=20, to=A), transfer(D, 2, amount=1, to=A),
             transfer(B, 0)]
    results = pool.admit_prepared(pool.prepare_batch([tx.raw for tx in batch]), 1)
    assert [r.error.code if r.error else None for r in results] == [
        None, Code.INSUFFICIENT_BALANCE, Code.NONCE_TOO_FAR, None]
    assert "follows nonce 1 of this batch" in results[2].error.message
    assert pool.parked == 0 and len(pool) == 2


def test_a_large_batch_is_admitted_in_slices_with_the_same_outcome(state: DictState) -> None:
    """The API admits in slices, letting the event loop run between them; the outcome is the same."""
    txs = [transfer(key, n) for n in range(3) for key in (A, B, C)] * 40  # 360 items: duplicates after the first 9
    raws = [tx.raw for tx in txs] + [transfer(D, 1, amount=20, to=A).raw, transfer(D, 2, to=A).raw]

    def outcome(results) -> list:
        return [(r.tx.hash, r.error.code if r.error else None) for r in results]

    plain = mempool(state, max_txs=1000)
    sliced = mempool(state, max_txs=1000)
    expected = outcome(plain.admit_prepared(plain.prepare_batch(raws), 1))
    assert outcome(asyncio.run(sliced.admit_prepared_async(sliced.prepare_batch(raws), 1))) == expected
    assert [tx.hash for tx in sliced.candidates()] == [tx.hash for tx in plain.candidates()]
    assert expected[-2:] == [(expected[-2][0], Code.INSUFFICIENT_BALANCE), (expected[-1][0], Code.NONCE_TOO_FAR)]


def test_behind_a_full_pool_a_signers_later_nonces_are_told_to_try_later_too(state: DictState) -> None:
    pool = mempool(state, max_txs=1)
    results = pool.admit_prepared(pool.prepare_batch([transfer(A, 0).raw, transfer(B, 0).raw, transfer(B, 1).raw]), 1)
    assert [r.error.code if r.error else None for r in results] == [None, Code.MEMPOOL_FULL, Code.MEMPOOL_FULL]


# --- parked transactions: not relayed, aged out, first to go ----------------------------------


def test_parked_transactions_are_announced_only_when_they_become_includable(pool: Mempool) -> None:
    announced: list[int] = []
    pool.on_admit.append(lambda tx: announced.append(tx.nonce))
    pool.admit(transfer(A, 2), 1)
    pool.admit(transfer(A, 1), 1)
    assert announced == []
    pool.admit(transfer(A, 0), 1)
    assert announced == [0, 1, 2]


def test_parked_transactions_are_evicted_after_their_ttl(pool: Mempool, clock: FakeClock) -> None:
    parked = transfer(A, 1)
    pool.admit(parked, 1)
    clock.now += 59
    assert pool.evict_stale(2) == 0
    includable = transfer(B, 0)
    pool.admit(includable, 2)
    clock.now += 2
    assert pool.evict_stale(2) == 1
    assert parked.hash not in pool and includable.hash in pool
    assert pool.rejection(parked.hash).code == Code.EVICTED and pool.evicted["parked_ttl"] == 1


def test_parked_transactions_never_take_an_includable_ones_place(state: DictState, clock: FakeClock) -> None:
    """Two budgets: a pool full of parked transactions still takes includable ones, and a pool full of
    includable ones evicts nothing for more (a client's pipelined transactions are never thrown out)."""
    pool = mempool(state, clock, max_txs=2, max_parked=2)
    parked = [transfer(A, 1), transfer(D, 1, to=A)]
    for tx in parked:
        pool.admit(tx, 1)
    # the parked budget is full, one each: a third signer's would make room only from a larger share
    assert code_of(lambda: pool.admit(transfer(C, 1), 1)) == Code.MEMPOOL_FULL
    pool.admit(transfer(B, 0), 1)
    pool.admit(transfer(C, 0), 1)  # includable: the parked ones do not count against it
    assert (len(pool), pool.parked) == (4, 2)
    assert code_of(lambda: pool.admit(transfer(B, 1), 1)) == Code.MEMPOOL_FULL  # includable budget full
    assert all(tx.hash in pool for tx in parked) and pool.evicted["parked_ttl"] == 0
    clock.now += 61
    pool.admit(transfer(C, 2), 1)  # a full parked budget first lets the ones whose time is up go
    assert pool.evicted["parked_ttl"] == 2 and pool.rejection(parked[0].hash).code == Code.EVICTED
    assert pool.refused[("api", "MEMPOOL_FULL")] == 2


def test_a_full_parked_budget_makes_room_from_the_account_holding_the_most(clock: FakeClock) -> None:
    """A few funded keys cannot hold the whole parked budget against everyone else: a newcomer's
    parked transaction evicts the newest parked one of the largest holder, while that holder would
    still hold more than the newcomer; between equal shares nothing is evicted."""
    pool = mempool(genesis_state(gap=8), clock, max_parked=4)
    hog = [transfer(A, n) for n in range(1, 5)]
    for tx in hog:
        pool.admit(tx, 1)
    assert pool.prepare_batch([forged(transfer(B, 1))], next_height=1)[0].error is None, \
        "a newcomer's parked transaction is not refused before its signature is checked"
    pool.admit(transfer(B, 1), 1)
    assert pool.rejection(hog[3].hash).code == Code.EVICTED and pool.evicted["parked_share"] == 1
    pool.admit(transfer(B, 2), 1)  # A holds 3, B would hold 2: A's newest goes
    assert hog[2].hash not in pool and pool.parked == 4
    assert code_of(lambda: pool.admit(transfer(B, 3), 1)) == Code.MEMPOOL_FULL  # 2 and 2: equal shares
    pool.admit(transfer(C, 1), 1)  # A and B hold 2 each; A reached 2 first, so A pays
    assert hog[1].hash not in pool and transfer(B, 2).hash in pool
    assert pool.evicted["parked_share"] == 3 and pool.parked == 4
    assert_shares_match(pool)
    pool.admit(transfer(A, 0), 1)  # A's gap filled: what it still holds goes on in order
    assert [tx.nonce for tx in pool.candidates() if tx.signer == hog[0].signer] == [0, 1]
    pool.drop(transfer(B, 2), TxError(Code.EXPIRED))
    clock.now += 61
    pool.evict_stale(1)
    assert_shares_match(pool)
    assert pool.parked == 0 and pool._shares.top == 0


def assert_shares_match(pool: Mempool) -> None:
    """The per-signer shares the eviction reads are exactly the parked transactions' signers."""
    held = Counter(pool._by_hash[h].signer for h in pool._parked)
    assert pool._shares.count == dict(held)
    assert pool._shares.top == max(held.values(), default=0)


def forged(tx) -> bytes:
    """The same transaction with a broken signature: refused as BAD_SIGNATURE if ever verified."""
    return tx.raw[:-1] + bytes([tx.raw[-1] ^ 1])


def test_a_batch_refuses_copies_nonces_and_a_full_pool_before_verifying_any_signature(
        state: DictState, clock: FakeClock) -> None:
    """A flood of re-sent or parked transactions costs a lookup each, not a verification each."""
    pool = mempool(state, clock, max_txs=1, max_parked=1)
    pool.admit(transfer(A, 0), 1)
    pool.admit(transfer(A, 2), 1)  # parked: the parked budget is full
    commit_nonce(state, B, 3)
    batch = [forged(transfer(A, 0, amount=2)), forged(transfer(A, 3)), forged(transfer(B, 2)),
             forged(transfer(B, 3 + GAP)), forged(transfer(C, 0))]
    prepared = pool.prepare_batch(batch, next_height=1)
    assert [(p.error.code if p.error else None, p.signature_ok) for p in prepared] == [
        (Code.DUPLICATE, False),  # nonce 0 of A is pending already
        (Code.MEMPOOL_FULL, False),  # behind a gap, and the parked budget is full
        (Code.BAD_NONCE, False),
        (Code.NONCE_TOO_FAR, False),
        (Code.MEMPOOL_FULL, False),  # includable, and the pool is full
    ]
    clock.now += 61  # parked ones past their time: the pool may make room, so admission decides
    assert pool.prepare_batch([forged(transfer(A, 3))], next_height=1)[0].error is None


def test_a_dropped_transaction_parks_the_ones_after_it(pool: Mempool, clock: FakeClock) -> None:
    txs = [transfer(A, n) for n in range(3)]
    for tx in txs:
        pool.admit(tx, 1)
    pool.drop(txs[0], TxError(Code.EXPIRED))
    assert list(pool.candidates()) == [] and pool.parked == 2
    clock.now += 61
    pool.evict_stale(1)
    assert len(pool) == 0


# --- the share of one client ---------------------------------------------------------------------


def test_one_client_holds_at_most_its_share_and_gossip_is_not_counted(state: DictState) -> None:
    pool = mempool(state, max_txs=10, max_client_share=0.2)  # 2 per client
    pool.admit(transfer(A, 0), 1, client="10.0.0.1")
    pool.admit(transfer(A, 1), 1, client="10.0.0.1")
    assert code_of(lambda: pool.admit(transfer(A, 2), 1, client="10.0.0.1")) == Code.CLIENT_QUOTA
    pool.admit(transfer(A, 2), 1, client="10.0.0.2")
    pool.admit(transfer(B, 0), 1, source=GOSSIP)
    pool.admit(transfer(B, 1), 1, source=GOSSIP)
    pool.admit(transfer(B, 2), 1, source=GOSSIP)
    assert pool.refused[("api", "CLIENT_QUOTA")] == 1
    first = next(pool.candidates())
    commit_nonce(state, A, 1)
    pool.remove_committed([first])  # the share frees as its transactions commit
    pool.admit(transfer(C, 0), 1, client="10.0.0.1")


# --- what was there before -----------------------------------------------------------------------


def test_remove_committed_advances_and_drops_same_nonce_rivals(pool: Mempool, state: DictState) -> None:
    first, rival_hash_owner = transfer(A, 0), transfer(A, 1)
    pool.admit(first, 1)
    pool.admit(rival_hash_owner, 1)
    # a different tx with nonce 1 got committed (say, through another node)
    other = transfer(A, 1, amount=7)
    commit_nonce(state, A, 2)
    pool.remove_committed([first, other])
    assert len(pool) == 0
    assert pool.rejection(rival_hash_owner.hash).code == Code.BAD_NONCE
    pool.admit(transfer(A, 2), 2)
    assert [tx.nonce for tx in pool.candidates()] == [2]


def test_a_commit_elsewhere_that_fills_a_gap_makes_the_parked_includable(pool: Mempool, state: DictState) -> None:
    parked = transfer(A, 1)
    pool.admit(parked, 1)
    commit_nonce(state, A, 1)  # nonce 0 committed through another node: this one never saw it
    pool.remove_committed([transfer(A, 0)])
    assert [tx.hash for tx in pool.candidates()] == [parked.hash] and pool.parked == 0


def test_drop_remembers_a_bounded_number_of_rejections(state: DictState) -> None:
    pool = Mempool(RULES, state, CHAIN, MempoolConfig(max_txs=10), rejected_memory=2)
    txs = [transfer(A, n) for n in range(3)]
    for tx in txs:
        pool.admit(tx, 1)
    for tx in txs:
        pool.drop(tx, TxError(Code.EXPIRED))
    assert len(pool) == 0
    assert pool.rejection(txs[0].hash) is None
    assert pool.rejection(txs[2].hash).code == Code.EXPIRED


def test_evict_expired(pool: Mempool) -> None:
    soon, later = transfer(A, 0, expiry=3), transfer(B, 0, expiry=10)
    pool.admit(soon, 1)
    pool.admit(later, 1)
    assert pool.evict_expired(next_height=4) == 1
    assert soon.hash not in pool and later.hash in pool
    assert pool.rejection(soon.hash).code == Code.EXPIRED


def test_verified_lists_every_pending_hash(pool: Mempool) -> None:
    txs = [transfer(A, 0), transfer(B, 0)]
    for tx in txs:
        pool.admit(tx, 1)
    assert pool.verified() == {tx.hash for tx in txs}


def test_verified_is_a_live_view_not_a_copy_per_block(pool: Mempool) -> None:
    """Made once, it answers for what is pending at each lookup: admitted later, dropped later."""
    first, second = transfer(A, 0), transfer(B, 0)
    pool.admit(first, 1)
    verified = pool.verified()
    pool.admit(second, 1)
    assert first.hash in verified and second.hash in verified
    pool.drop(first, TxError(Code.EXPIRED))
    assert first.hash not in verified and second.hash in verified


def test_batch_verifies_in_parallel_and_admits_in_order(pool: Mempool) -> None:
    good = [transfer(A, n) for n in range(3)]
    forged = transfer(B, 0)
    forged_raw = forged.raw[:-1] + bytes([forged.raw[-1] ^ 1])
    raws = [good[0].raw, b"\xc1", forged_raw, good[1].raw, good[1].raw, good[2].raw, TxError(Code.MALFORMED)]
    with ThreadPoolExecutor(2) as executor:
        prepared = pool.prepare_batch(raws, executor)
    assert len(pool) == 0  # preparing admits nothing
    results = pool.admit_prepared(prepared, 1)
    codes = [item.error.code if item.error else None for item in results]
    assert codes == [None, Code.MALFORMED, Code.BAD_SIGNATURE, None, Code.DUPLICATE, None, Code.MALFORMED]
    assert results[1].tx is None and results[2].tx is not None
    assert [tx.nonce for tx in pool.candidates()] == [0, 1, 2]


def test_next_free_nonce_steps_over_the_contiguous_pending_run(pool: Mempool, state: DictState) -> None:
    commit_nonce(state, A, 3)
    assert pool.next_free_nonce(A.pubkey) == 3
    pool.admit(transfer(A, 3), 1)
    pool.admit(transfer(A, 4), 1)
    pool.admit(transfer(A, 6), 1)  # behind a gap: a wallet must still fill nonce 5
    assert pool.next_free_nonce(A.pubkey) == 5
    assert pool.next_free_nonce(B.pubkey) == 0
