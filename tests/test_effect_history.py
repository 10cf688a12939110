"""End-of-block effects in the per-account history index (FORMAT.md §15), and the audit holding a data
directory to them.

Scenario, on tests/market_chain.py's chain, every block then written into a
real LevelDB store by the node's own `commit_block` (a data directory an
auditor can read):
1. Buyers A and B each order from PROVIDER in one block; nobody accepts, and
   at the deadline both orders expire in a block that also holds a
   transaction: the two effects are entries 1 and 2 of that block, in A's
   and B's history, each holding the refund that named the account.
2. A third order is accepted and the buyer's window passes: the provider's
   history holds the release at the deadline (the payout), the buyer's
   holds nothing at that block (its credits left it when it ordered).
3. A failed effect moved nothing and has no entry; an outcome whose
   movements do not match its effects is refused rather than indexed wrong.
4. `incoop audit verify` of the data directory passes; then, as attacks on
   copies of it, the provider's payout entry deleted, its amount raised,
   and a payout entry forged for a bystander are each named by the audit's
   stored-index comparison: the account, the block and the entry.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genesis.document import parse_genesis
from genesis.rules import RULES
from ledger.block import Block, Certificate, Effect, sign_precommit
from ledger.credit_ops import Movement
from ledger.errors import Code
from ledger.store import P_HISTORY, Store, decode_effect_entry, encode_effect_entry, history_entries
from ledger.transition import BlockOutcome, apply_block
from market import records
from market.orders import reference
from node.audit.verify import AuditFailure
from tests.chain_source import audit_home
from tests.identity_chain import CHAIN_ID, VALIDATOR
from tests.leveldb_damage import tampered_copy
from tests.market_chain import (
    PROVIDER,
    A,
    B,
    C,
    MarketChain,
    listing_body,
    market_genesis_document,
    order_id,
)

PRICES = (("eur", 250), ("plan", 200))


class RecordedChain(MarketChain):
    """The market chain, keeping every block for the store."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[Block] = list(self.setup_blocks)

    def block(self, txs, time_ms: int | None = None, strangers: bool = False) -> Block:
        made = super().block(txs, time_ms, strangers)
        if hasattr(self, "blocks"):
            self.blocks.append(made)
        return made


def certificate(block: Block) -> Certificate:
    h, block_hash = block.header.height, block.hash()
    return Certificate(h, 0, block_hash, ((VALIDATOR.pubkey, sign_precommit(VALIDATOR, CHAIN_ID, h, 0, block_hash)),))


def order(c: RecordedChain, key, n: int, class_id: str = "plan", quantity: int = 2):
    return c.tx(key, "market.order", (order_id(n), listing_body(1, PRICES)[0], class_id, quantity))


class Scenario:
    def __init__(self, chain: RecordedChain, expiry_height: int, release_height: int):
        self.chain = chain
        self.expiry_height = expiry_height
        self.release_height = release_height


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    c = RecordedChain()
    assert c.send(PROVIDER, "market.list", listing_body(1, PRICES)) == Code.OK
    placed = c.block([order(c, A, 1), order(c, B, 2, class_id="eur", quantity=1)])
    assert placed.results == (Code.OK, Code.OK)
    deadline = c.order(1).deadline_ms
    assert c.order(2).deadline_ms == deadline
    expired = c.block([c.tx(C, "credits.transfer", ("eur", A.pubkey, 1, "a bystander's transfer"))], deadline)
    assert expired.results == (Code.OK,)
    assert [(e.item, e.code) for e in expired.effects] == [(order_id(1), Code.OK), (order_id(2), Code.OK)]
    assert c.send(A, "market.order", (order_id(3), listing_body(1, PRICES)[0], "plan", 1)) == Code.OK
    assert c.send(PROVIDER, "market.accept", (order_id(3),)) == Code.OK
    released = c.block([], c.order(3).deadline_ms)
    assert [(e.item, e.code) for e in released.effects] == [(order_id(3), Code.OK)]
    assert c.order(3).status == records.RELEASED
    c.check()
    return Scenario(c, expired.header.height, released.header.height)


@pytest.fixture(scope="module")
def home(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node home (genesis.json, data/) holding the scenario's chain, written by commit_block."""
    home = tmp_path_factory.mktemp("effects") / "home"
    home.mkdir()
    genesis = parse_genesis(json.dumps(market_genesis_document()), RULES)
    (home / "genesis.json").write_text(genesis.to_json(), encoding="utf-8")
    store = Store(home / "data")
    head = store.init_genesis(genesis.hash(), genesis.initial_state(), genesis.genesis_time_ms)
    for block in scenario.chain.blocks:
        outcome = apply_block(RULES, store.state, store.tree, head, block, CHAIN_ID)
        head = store.commit_block(block, certificate(block), outcome)
    assert head.state_root == scenario.chain.head.state_root
    store.close()
    return home


def history(home: Path, key) -> list[tuple[int, int, bytes]]:
    with Store(home / "data", create=False) as store:
        return store.history(key.pubkey, limit=1000)


# --- 1-2. the entries ------------------------------------------------------------------------------


def test_expired_orders_refund_their_buyers_entries_past_the_blocks_transactions(scenario: Scenario, home: Path) -> None:
    h = scenario.expiry_height
    lot_1, lot_2 = records.order_lot(order_id(1)), records.order_lot(order_id(2))
    a_entries = [(i, v) for height, i, v in history(home, A) if height == h]
    b_entries = [(i, v) for height, i, v in history(home, B) if height == h]
    # A: the transfer it received (transaction 0), then its refund (effect 0 = entry 1); B: its refund (entry 2)
    assert [i for i, _ in a_entries] == [1, 0]
    assert decode_effect_entry(a_entries[0][1]) == [
        Movement("refund", "plan", None, A.pubkey, 400, reference(order_id(1)), lot_1)]
    assert len(a_entries[1][1]) == 32, "a transaction's entry is its hash"
    assert [(i, decode_effect_entry(v)) for i, v in b_entries] == [
        (2, [Movement("refund", "eur", None, B.pubkey, 250, reference(order_id(2)), lot_2)])]
    assert all(height != h for height, _, _ in history(home, PROVIDER)), "nothing reached the provider"


def test_the_provider_finds_its_payout_at_the_deadline_and_the_buyer_nothing(scenario: Scenario, home: Path) -> None:
    h = scenario.release_height
    newest = history(home, PROVIDER)[0]
    assert newest[:2] == (h, 0), "a block without transactions: its first effect is entry 0"
    assert decode_effect_entry(newest[2]) == [
        Movement("release", "plan", None, PROVIDER.pubkey, 200, reference(order_id(3)), records.order_lot(order_id(3)))]
    assert all(height != h for height, _, _ in history(home, A)), "the buyer paid when it ordered"


def test_the_cursor_pages_through_effect_entries_like_transactions(home: Path) -> None:
    everything = history(home, A)
    with Store(home / "data", create=False) as store:
        paged, before = [], None
        while True:
            page = store.history(A.pubkey, before, 2)
            paged += page
            if len(page) < 2:
                break
            before = page[-1][:2]
    assert paged == everything


# --- 3. what gets no entry -----------------------------------------------------------------------------


def _outcome(effects: tuple, moves: tuple) -> BlockOutcome:
    return BlockOutcome({}, {}, bytes(32), (), (), (), effects, moves)


def test_a_failed_effect_moved_nothing_and_has_no_entry() -> None:
    failed = Effect("market", order_id(9), int(Code.UNKNOWN_ORDER))
    assert history_entries(5, _outcome((failed,), ((),))) == []


def test_movements_that_do_not_match_the_effects_are_refused() -> None:
    effect = Effect("market", order_id(9), 0)
    with pytest.raises(ValueError, match="one entry per transaction and per effect"):
        history_entries(5, _outcome((effect,), ()))


def test_an_effect_paying_two_accounts_gives_each_only_its_own_movement() -> None:
    lot = bytes(32)
    charge = Movement("release", "eur", None, PROVIDER.pubkey, 70, "purchase group 00", lot)
    refund = Movement("refund", "eur", None, A.pubkey, 30, "purchase group 00", lot)
    entries = dict(history_entries(7, _outcome((Effect("gas", b"m" + bytes(48), 0),), ((charge, refund),))))
    suffix = (7).to_bytes(8, "big") + (0).to_bytes(4, "big")
    assert entries == {P_HISTORY + PROVIDER.pubkey + suffix: encode_effect_entry([charge]),
                       P_HISTORY + A.pubkey + suffix: encode_effect_entry([refund])}


# --- 4. the audit ------------------------------------------------------------------------------------


def payout_key(scenario: Scenario, account=PROVIDER) -> bytes:
    return P_HISTORY + account.pubkey + scenario.release_height.to_bytes(8, "big") + (0).to_bytes(4, "big")


def test_the_data_directory_verifies_with_its_effect_entries(scenario: Scenario, home: Path) -> None:
    report = audit_home(home)
    assert report.height == scenario.chain.height and report.stored_state_compared


def test_a_deleted_payout_entry_is_named_with_its_account_block_and_entry(scenario: Scenario, home: Path,
                                                                          tmp_path: Path) -> None:
    key = payout_key(scenario)
    with pytest.raises(AuditFailure) as caught:
        audit_home(tampered_copy(home, tmp_path, key, None))
    assert caught.value.check == "stored_index"
    assert f"stored history index entry {key[1:].hex()} is missing from the data directory" in caught.value.message
    assert f"block {scenario.release_height}, entry 0)" in caught.value.message


def test_a_raised_payout_amount_is_named(scenario: Scenario, home: Path, tmp_path: Path) -> None:
    key = payout_key(scenario)
    with Store(home / "data", create=False) as store:
        [(height, _, value)] = [row for row in store.history(PROVIDER.pubkey, limit=1)]
    assert height == scenario.release_height
    [move] = decode_effect_entry(value)
    forged = encode_effect_entry([move._replace(amount=move.amount * 100)])
    with pytest.raises(AuditFailure) as caught:
        audit_home(tampered_copy(home, tmp_path, key, forged))
    assert caught.value.check == "stored_index"
    assert f"holds {forged.hex()[:64]}, the replay computed {value.hex()[:64]}" in caught.value.message


def test_a_payout_forged_into_a_bystanders_history_is_named(scenario: Scenario, home: Path, tmp_path: Path) -> None:
    key = payout_key(scenario, C)
    move = Movement("release", "plan", None, C.pubkey, 200, reference(order_id(3)), records.order_lot(order_id(3)))
    with pytest.raises(AuditFailure) as caught:
        audit_home(tampered_copy(home, tmp_path, key, encode_effect_entry([move])))
    assert caught.value.check == "stored_index"
    assert "but not in the replayed history index" in caught.value.message
