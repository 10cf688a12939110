"""The node's keeping of the agora's texts (node/agora_texts.py, docs/agora.md) on a real LevelDB store.

The chain is tests/agora_chain.py's, each block also committed into a real
`Store` in a temporary directory, and the mempool is the node's own: so a
text is offered as a wallet offers it, the blocks are followed as a node
follows them, and the store's files on disk are searched for the text's
bytes after an erasure.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genesis.document import parse_genesis
from genesis.rules import RULES
from ledger.block import Certificate
from ledger.store import Store
from ledger.tx import sign_tx
from node.agora_texts import K_MISSING, K_TEXT, MAX_TEXT_BYTES, AgoraTexts, TextRefused
from node.mempool import Mempool
from tests.agora_chain import FED, TRIO, A, AgoraChain, agora_genesis_document, post_id, text_hash

TEXT = "Una casetta per i libri nel parco: ne prendi uno, ne lasci uno (riconoscibile-91c4)"


class StoredChain(AgoraChain):
    """The agora chain, every block committed into `store` too, as a node commits it."""

    def __init__(self, store: Store):
        self.store = store
        genesis = parse_genesis(json.dumps(agora_genesis_document()))
        store.init_genesis(genesis.hash(), genesis.initial_state(), genesis.genesis_time_ms)
        super().__init__()

    def commit(self, block, outcome) -> None:
        super().commit(block, outcome)
        self.store.commit_block(block, Certificate(block.header.height, 0, block.hash(), ()), outcome)


@pytest.fixture
def node(tmp_path: Path):
    store = Store(tmp_path / "data")
    chain = StoredChain(store)
    mempool = Mempool(RULES, store.state, chain.chain_id)
    texts = AgoraTexts(store, mempool)
    texts.catch_up()
    yield chain, store, mempool, texts
    store.close()


def files_holding(directory: Path, needle: bytes) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_a_pending_text_waits_in_memory_and_is_written_when_its_post_commits(node, tmp_path: Path) -> None:
    chain, store, mempool, texts = node
    tx = sign_tx(A, chain.chain_id, "agora.propose", chain.nonce(A), chain.height + 100,
                 (post_id(1), FED, text_hash(TEXT)))
    with pytest.raises(TextRefused) as refused:  # not pending yet: nothing to match it
        texts.offer(post_id(1), TEXT, tx.raw)
    assert refused.value.status == 404
    mempool.admit_raw(tx.raw, chain.height + 1)
    with pytest.raises(TextRefused) as refused:
        texts.offer(post_id(1), TEXT + " ", tx.raw)
    assert (refused.value.status, refused.value.code) == (422, "HASH_MISMATCH")
    assert texts.offer(post_id(1), TEXT, tx.raw) == "pending"
    assert store.db.get(K_TEXT + post_id(1)) is None and texts.pending_bytes == len(TEXT.encode())
    chain.block([tx])
    texts.catch_up()
    assert texts.get(post_id(1)) == TEXT and texts.pending == {} and texts.pending_bytes == 0


def test_a_committed_post_without_its_text_is_asked_for_and_only_its_own_text_kept(node, tmp_path: Path) -> None:
    chain, store, mempool, texts = node
    assert chain.new_proposal(1, FED, text=TEXT) == 0
    texts.catch_up()
    assert texts.get(post_id(1)) is None and texts.ids(K_MISSING) == [post_id(1)]
    forged = "Una casetta per i libri: e anche un chiosco di birra"
    texts.receive(((post_id(1), forged.encode()), (post_id(2), b"a post that does not exist")))
    assert texts.get(post_id(1)) is None and store.db.get(K_TEXT + post_id(2)) is None
    texts.receive(((post_id(1), TEXT.encode()),))
    assert texts.get(post_id(1)) == TEXT and texts.ids(K_MISSING) == [] and texts.fetched == 1
    assert texts.answer((post_id(1), post_id(2))) == ((post_id(1), TEXT.encode()),)


def test_the_missing_marks_and_the_cursor_survive_a_restart(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    chain = StoredChain(store)
    assert chain.new_proposal(1, FED, text=TEXT) == 0
    mempool = Mempool(RULES, store.state, chain.chain_id)
    AgoraTexts(store, mempool).catch_up()
    store.close()
    store = Store(tmp_path / "data")
    texts = AgoraTexts(store, Mempool(RULES, store.state, chain.chain_id))
    assert texts.cursor() == store.head().height and texts.ids(K_MISSING) == [post_id(1)]
    texts.receive(((post_id(1), TEXT.encode()),))
    assert texts.get(post_id(1)) == TEXT
    store.close()


def test_an_erased_text_leaves_every_file_of_the_store(node, tmp_path: Path) -> None:
    chain, store, mempool, texts = node
    assert chain.new_proposal(1, FED, text=TEXT) == 0
    texts.offer(post_id(1), TEXT, None)
    store.db.compact_range(start=K_TEXT, stop=K_TEXT + b"\xff")  # into a table, as after a node's busy hour
    needle = b"riconoscibile-91c4"
    assert files_holding(tmp_path / "data", needle), "the search finds the text while it is kept"
    assert chain.send(TRIO[0], "agora.erase", (post_id(1),)) != 0  # not the author: refused, nothing erased
    assert chain.send(A, "agora.erase", (post_id(1),)) == 0
    assert texts.answer((post_id(1),)) == ()  # committed, not applied here yet: already never passed on
    texts.catch_up()
    assert texts.get(post_id(1)) is None and texts.erased == 1
    assert files_holding(tmp_path / "data", needle) == []
    assert texts.answer((post_id(1),)) == ()
    texts.receive(((post_id(1), TEXT.encode()),))  # a peer that still has it cannot bring it back
    assert texts.get(post_id(1)) is None
    with pytest.raises(TextRefused) as refused:
        texts.offer(post_id(1), TEXT, None)
    assert (refused.value.status, refused.value.code) == (410, "POST_ERASED")


def test_texts_are_bounded(node) -> None:
    chain, store, mempool, texts = node
    big = "é" * (MAX_TEXT_BYTES // 2 + 1)
    assert chain.new_proposal(1, FED, text=big) == 0
    with pytest.raises(TextRefused) as refused:
        texts.offer(post_id(1), big, None)
    assert (refused.value.status, refused.value.code) == (413, "TEXT_TOO_LARGE")
