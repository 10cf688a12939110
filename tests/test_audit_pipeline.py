"""The audit's worker pipeline (node/audit/pipeline.py): what the replay is handed, in order, within bounds.

The chains are real: node/bench/chain.py writes blocks of BLOCK_TXS transfers
(more than one task's TX_CHUNK, so each block is spread over several worker
processes) with certificates of its deterministic validators, into a real
LevelDB data directory. The tampered chains are re-linked and re-certified
by those validators, so each breaks exactly the one rule the test names.

- What the workers hand the replay is what the replay would have decoded
  itself: every transaction equal to `decode_tx` of its bytes, every hash
  verified, the certificate's verdict; and `apply_block` with those decoded
  transactions fails with the same message as decoding there, the size rule
  of the chain's `max_tx_bytes` included.
- The first broken block is reported even when a later broken block's
  checks finish first: a signature broken in the last task of block 2 is the
  verdict, not the one in the first task of block 3.
- The read-ahead window holds at most WINDOW_BLOCKS blocks and WINDOW_BYTES
  raw bytes.
- A worker killed while the replay is not asking (every answer of the
  window already in, the worker idle) ends the replay's next call with
  WorkerError all the same, within seconds; closing the pipeline leaves no
  worker process running. (A worker killed halfway through an answer:
  tests/functional/test_audit_workers.py.)
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from genesis.document import Genesis, load_genesis
from genesis.rules import RULES
from ledger import chain
from ledger.block import Block, decode_raw_block, encode_raw_block, tx_root
from ledger.crypto import SigningKey
from ledger.store import Store
from ledger.transition import BlockInvalid, ChainHead, apply_block
from ledger.tx import decode_tx, sign_tx
from node.audit import pipeline as pipeline_module
from node.audit.checks import MAX_TX_DECODE_BYTES
from node.audit.pipeline import TX_CHUNK, Pipeline, WorkerError
from node.audit.verify import AuditFailure, verify_chain
from node.bench.chain import CHAIN_ID, VALIDATOR_KEYS, build_transfer_chain
from tests.chain_source import ListSource, Replica, audit_home, certificate, one_class_genesis

BLOCK_TXS = TX_CHUNK + 76  # two tasks per block: the first with the block's decode, one of the rest
BLOCKS = 3


class BuiltChain:
    def __init__(self, home: Path):
        self.home = home
        self.genesis: Genesis = load_genesis(home / "genesis.json")
        with Store(home / "data", create=False) as store:
            self.raws: list[bytes] = [store.raw_block(h) for h in range(1, store.head().height + 1)]
            self.head: ChainHead = store.head()

    def source(self, raws: list[bytes] | None = None) -> ListSource:
        return ListSource(self.genesis.hash(), list(self.raws) if raws is None else raws, self.head)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltChain:
    home = tmp_path_factory.mktemp("audit-pipeline") / "home"
    build_transfer_chain(home, accounts=40, txs=BLOCK_TXS * BLOCKS, block_txs=BLOCK_TXS)
    return BuiltChain(home)


def relinked(raws: list[bytes], forged: dict[int, Block]) -> list[bytes]:
    """The raw blocks with the given blocks replaced, each block after a changed one linked to its new
    hash, and every changed block certified again by a quorum of the chain's validators."""
    out, new_parent = [], None
    for height, raw in enumerate(raws, start=1):
        original, cert = decode_raw_block(raw)
        block = forged.get(height, original)
        if new_parent is not None:
            block = block._replace(header=block.header._replace(prev_hash=new_parent))
        changed = block != original
        if changed:
            cert = certificate(block, CHAIN_ID, VALIDATOR_KEYS[:3])
        out.append(encode_raw_block(block, cert))
        new_parent = block.hash() if changed else None
    return out


def with_bad_signatures(block: Block, indexes: set[int]) -> Block:
    """The block with the signatures of these transactions altered (they still decode), its tx_root kept true."""
    txs = tuple(raw[:-1] + bytes([raw[-1] ^ 1]) if i in indexes else raw for i, raw in enumerate(block.txs))
    return block._replace(txs=txs, header=block.header._replace(tx_root=tx_root(txs)))


def test_the_replay_is_handed_exactly_what_it_would_decode_and_every_signature_verified(built: BuiltChain) -> None:
    source = built.source()
    with Pipeline(CHAIN_ID, source.raw_blocks(1, BLOCKS), tuple(k.pubkey for k in VALIDATOR_KEYS), 2) as pipeline:
        for height in range(1, BLOCKS + 1):
            prepared = pipeline.next()
            block, cert = decode_raw_block(built.raws[height - 1])
            assert (prepared.height, prepared.block, prepared.certificate) == (height, block, cert)
            assert len(block.txs) == BLOCK_TXS > TX_CHUNK
            assert prepared.txs == [decode_tx(raw) for raw in block.txs]
            assert prepared.verified == {tx.hash for tx in prepared.txs}
            assert prepared.tx_root == block.header.tx_root
            assert (prepared.tx_problem, prepared.certificate_problem, prepared.decode_error) == (None, None, None)


def test_a_chain_of_blocks_spread_over_workers_verifies_to_its_stored_state_root(built: BuiltChain) -> None:
    report = audit_home(built.home, workers=2)
    assert (report.height, report.txs) == (BLOCKS, BLOCKS * BLOCK_TXS)
    assert (report.head_hash, report.state_root) == (built.head.block_hash.hex(), built.head.state_root.hex())
    assert report.stored_state_compared


@pytest.mark.parametrize("bad", [{BLOCK_TXS - 1}, {TX_CHUNK, BLOCK_TXS - 1}, {TX_CHUNK - 1, TX_CHUNK}])
def test_the_first_broken_transaction_of_the_first_broken_block_is_the_verdict(built: BuiltChain, bad: set[int]) -> None:
    """Block 2's bad signatures sit in its second task (or across the two); block 3's in its first task,
    which the workers finish long before: the verdict is still block 2's first bad transaction."""
    b2, _ = decode_raw_block(built.raws[1])
    b3, _ = decode_raw_block(built.raws[2])
    raws = relinked(built.raws, {2: with_bad_signatures(b2, bad), 3: with_bad_signatures(b3, {0})})
    first = min(bad)
    forged_tx = decode_tx(decode_raw_block(raws[1])[0].txs[first])
    for workers in (1, 3):
        with pytest.raises(AuditFailure) as caught:
            verify_chain(RULES, built.genesis, built.source(raws), workers=workers)
        failure = caught.value
        assert (failure.check, failure.height, failure.tx_index) == ("tx_signature", 2, first)
        assert (failure.tx_hash, failure.signer) == (forged_tx.hash, forged_tx.signer)
        assert failure.message == "the transaction's signature does not verify"


def test_decoded_transactions_give_apply_block_the_same_verdict_as_decoding_there() -> None:
    """A transaction over the chain's max_tx_bytes (the workers decode under the largest a chain may set)
    and one that does not decode fail the block with the same message either way."""
    validator, issuer, other = (SigningKey(bytes([n]) * 32) for n in (0x71, 0x72, 0x73))
    genesis = one_class_genesis("pipeline-decoded", validator, issuer)
    replica = Replica(genesis, validator.pubkey)
    ok = sign_tx(issuer, genesis.chain_id, "credits.transfer", 0, 100, ("eur", other.pubkey, 1, ""))
    big = sign_tx(issuer, genesis.chain_id, "credits.transfer", 1, 100, ("eur", other.pubkey, 1, "x" * 17_000))
    assert chain.get_params(replica.state).max_tx_bytes < len(big.raw) < MAX_TX_DECODE_BYTES
    not_canonical = ok.raw[:-66] + b"\xc5\x00\x40" + ok.raw[-64:]  # the signature as bin16: not minimal
    block, _, _ = replica.propose([ok])
    for second, says in ((big.raw, f"transaction of {len(big.raw)} bytes exceeds 16384"),
                         (not_canonical, "not a canonical transaction: not the canonical encoding")):
        txs = (ok.raw, second)
        forged = block._replace(txs=txs, results=(0, 0), header=block.header._replace(tx_root=tx_root(txs)))
        source = ListSource(genesis.hash(), [encode_raw_block(forged, certificate(forged, genesis.chain_id, [validator]))])
        with Pipeline(genesis.chain_id, source.raw_blocks(1, 1), (validator.pubkey,), 2) as pipeline:
            prepared = pipeline.next()
        verdicts = []
        for decoded in (None, prepared.txs):
            with pytest.raises(BlockInvalid) as caught:
                apply_block(RULES, replica.state, replica.tree, replica.head, forged, genesis.chain_id,
                            prepared.verified, decoded=decoded)
            verdicts.append(str(caught.value))
        assert verdicts == [f"block 1 transaction 1: {says}"] * 2


def counted(raws: list[bytes], pulled: list[int]) -> Iterator[tuple[int, bytes]]:
    for height, raw in enumerate(raws, start=1):
        pulled[0] = height
        yield height, raw


def settled(pulled: list[int]) -> int:
    """How many blocks the feeder has read once it stops reading (waiting for room in the window)."""
    last, since = -1, time.monotonic()
    while time.monotonic() - since < 0.5:
        if pulled[0] != last:
            last, since = pulled[0], time.monotonic()
        time.sleep(0.02)
    return last


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> BuiltChain:
    home = tmp_path_factory.mktemp("audit-window") / "home"
    build_transfer_chain(home, accounts=6, txs=60, block_txs=3)
    return BuiltChain(home)


def test_the_window_holds_at_most_its_blocks(many: BuiltChain, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline_module, "WINDOW_BLOCKS", 3)
    pulled = [0]
    validators = tuple(k.pubkey for k in VALIDATOR_KEYS)
    with Pipeline(CHAIN_ID, counted(many.raws, pulled), validators, 2) as pipeline:
        assert settled(pulled) == 3 + 1  # three in the window, one read and waiting for room
        assert [pipeline.next().height for _ in range(2)] == [1, 2]
        assert settled(pulled) == 3 + 1 + 2


def test_the_window_holds_at_most_its_bytes(many: BuiltChain, monkeypatch: pytest.MonkeyPatch) -> None:
    size = max(len(raw) for raw in many.raws)
    monkeypatch.setattr(pipeline_module, "WINDOW_BYTES", 2 * size + size // 2)
    pulled = [0]
    validators = tuple(k.pubkey for k in VALIDATOR_KEYS)
    with Pipeline(CHAIN_ID, counted(many.raws, pulled), validators, 2) as pipeline:
        assert settled(pulled) == 2 + 1
        assert pipeline.next().height == 1
        assert settled(pulled) == 2 + 1 + 1


def audit_workers() -> list[multiprocessing.Process]:
    return [p for p in multiprocessing.active_children() if p.name.startswith("audit-worker-")]


@pytest.mark.timeout(60)
def test_a_worker_killed_while_idle_ends_the_replay_waiting_on_it(many: BuiltChain,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With a window of 3, the feeder has read 4 blocks and every answer is in: both workers idle. Worker 0
    is killed; the next block's task goes to it (the first of the least busy), so by block 5 at the latest
    the replay needs an answer that never comes: its call ends with WorkerError instead, within seconds."""
    monkeypatch.setattr(pipeline_module, "WINDOW_BLOCKS", 3)
    pulled = [0]
    validators = tuple(k.pubkey for k in VALIDATOR_KEYS)
    with Pipeline(CHAIN_ID, counted(many.raws, pulled), validators, 2) as pipeline:
        assert settled(pulled) == 3 + 1
        (first,) = [p for p in audit_workers() if p.name == "audit-worker-0"]
        os.kill(first.pid, signal.SIGKILL)
        started = time.monotonic()
        with pytest.raises(WorkerError, match="ended abruptly"):
            for _ in range(5):
                pipeline.next()
        assert time.monotonic() - started < 10
    assert audit_workers() == []


def test_closing_the_pipeline_ends_its_workers(many: BuiltChain) -> None:
    validators = tuple(k.pubkey for k in VALIDATOR_KEYS)
    with Pipeline(CHAIN_ID, counted(many.raws, [0]), validators, 3) as pipeline:
        assert len(audit_workers()) == 3
        assert pipeline.next().height == 1
    assert audit_workers() == []
