"""Parts of the consensus driver, each alone (node/consensus/: signer.py, inbox.py, blocks.py, sync.py).

- The signer records before it sends, refuses what the sign-state refuses, and
  after a restart says where the height resumes: the round and step of its last
  signature, with that signature again, byte for byte (Ed25519 is deterministic,
  so the peers' gossip layer sees the same message).
- The next height's buffer keeps only validators' messages with valid
  signatures, a bounded share per signer (the newest), and hands them over once.
- valid(v) applies the clock bound only when asked (proposals); re-execution
  always.
- Block sync fetches at once when two heights behind, follows a block only
  with a quorum's certificate, and whatever its time; it serves what it has.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from genesis.document import modules_json, parse_genesis
from genesis.rules import RULES
from ledger.address import to_address
from ledger.block import Block, Certificate, Header, encode_raw_block
from ledger.crypto import SigningKey
from ledger.store import Store
from ledger.transition import build_block
from ledger.votes import PRECOMMIT, PREVOTE, Vote, sign_proposal, sign_vote
from node.config import NodeConfig
from node.consensus import signstate, wire
from node.consensus.blocks import BlockMaker
from node.consensus.context import Broadcaster, Context, now_ms
from node.consensus.inbox import PROPOSALS_PER_SIGNER, VOTES_PER_SIGNER, NextHeight
from node.consensus.machine import Machine, Step
from node.consensus.signer import Signer
from node.consensus.signstate import SignState
from node.consensus.sync import BlockSync
from node.mempool import Mempool

CHAIN = "parts-test"
KEYS = [SigningKey(bytes([0x61 + i]) * 32) for i in range(4)]
VALIDATORS = tuple(k.pubkey for k in KEYS)
V = b"\x56" * 32
W = b"\x57" * 32


class Recorder(Broadcaster):
    def __init__(self) -> None:
        self.sent: list[tuple[int, Any]] = []

    def broadcast(self, kind: int, payload: Any, exclude: Any = None) -> int:
        self.sent.append((kind, payload))
        return 1


def signer(tmp_path: Path, k: SigningKey = KEYS[0]) -> Signer:
    s = Signer(k, CHAIN, SignState(tmp_path / "sign_state.bin"))
    s.net = Recorder()
    return s


# --- signer.py -----------------------------------------------------------------------------------


def test_a_vote_is_recorded_before_it_is_sent_and_kept_for_re_sends(tmp_path: Path) -> None:
    s = signer(tmp_path)
    m = Machine(1, VALIDATORS, s.pubkey)
    vote = s.vote(m, PREVOTE, 0, V, None)
    assert vote is not None and vote.verify(CHAIN)
    assert SignState(tmp_path / "sign_state.bin").last.position() == (1, 0, signstate.PREVOTE)
    assert s.net.sent == [(wire.VOTE, vote.as_tuple())]
    assert list(s.own) == [(wire.VOTE, vote.as_tuple())]


def test_a_conflicting_vote_is_refused_and_nothing_leaves(tmp_path: Path) -> None:
    s = signer(tmp_path)
    m = Machine(1, VALIDATORS, s.pubkey)
    assert s.vote(m, PREVOTE, 0, V, None) is not None
    assert s.vote(m, PREVOTE, 0, W, None) is None
    assert s.vote(m, PREVOTE, 0, V, None) is not None  # exactly the same message again is allowed
    assert s.refused == 1 and len(s.net.sent) == 2


def test_after_a_restart_the_last_vote_comes_back_byte_for_byte_with_its_step(tmp_path: Path) -> None:
    before = signer(tmp_path)
    m = Machine(3, VALIDATORS, before.pubkey)
    before.vote(m, PREVOTE, 1, V, None)
    precommit = before.vote(m, PRECOMMIT, 1, V, None)
    after = signer(tmp_path)  # a new process, the same file
    resume = after.resume(3)
    assert resume is not None and (resume.round, resume.step) == (1, Step.PRECOMMIT)
    assert resume.vote == precommit  # same bytes, same signature
    assert after.resume(4) is None and after.resume(2) is None  # only the height it signed in


def test_after_a_restart_a_recorded_proposal_is_the_only_one_for_its_round(tmp_path: Path) -> None:
    before = signer(tmp_path)
    m = Machine(2, VALIDATORS, before.pubkey)
    block = Block(_header(2), (), ())
    before.propose(m, 3, -1, block, None)
    after = signer(tmp_path)
    resume = after.resume(2)
    assert resume is not None and (resume.round, resume.step, resume.vote) == (3, Step.PROPOSE, None)
    assert after.proposed(2, 3) == block.hash() and after.proposed(2, 4) is None


def _header(height: int) -> Header:
    return Header(1, CHAIN, height, 10, b"\x00" * 32, b"\x00" * 32, b"\x00" * 32, b"\x00" * 32, KEYS[0].pubkey,
                  b"\x00" * 32)


# --- inbox.py ------------------------------------------------------------------------------------


def test_the_next_height_keeps_only_validators_votes_with_valid_signatures() -> None:
    buffer = NextHeight(CHAIN)
    good = sign_vote(KEYS[1], CHAIN, PREVOTE, 5, 0, V)
    stranger = sign_vote(SigningKey(b"\x01" * 32), CHAIN, PREVOTE, 5, 0, V)
    forged = Vote(PREVOTE, 5, 1, V, KEYS[2].pubkey, b"\x00" * 64)
    other_chain = sign_vote(KEYS[2], "another-chain", PREVOTE, 5, 0, V)
    assert buffer.add_vote("peer", good, VALIDATORS)
    assert not buffer.add_vote("peer", stranger, VALIDATORS)
    assert not buffer.add_vote("peer", forged, VALIDATORS)
    assert not buffer.add_vote("peer", other_chain, VALIDATORS)
    assert buffer.refused == 3 and len(buffer) == 1


def test_each_signer_holds_a_bounded_share_the_newest() -> None:
    buffer = NextHeight(CHAIN)
    flood = [sign_vote(KEYS[3], CHAIN, PREVOTE, 5, r, V) for r in range(VOTES_PER_SIGNER * 3)]
    for vote in flood:
        assert buffer.add_vote("byzantine", vote, VALIDATORS)
    honest = sign_vote(KEYS[1], CHAIN, PREVOTE, 5, 0, V)
    buffer.add_vote("honest", honest, VALIDATORS)
    taken = buffer.take(5)
    assert [b.message for b in taken if b.peer == "byzantine"] == flood[-VOTES_PER_SIGNER:]
    assert [b.message for b in taken if b.peer == "honest"] == [honest]
    assert buffer.take(5) == [] and len(buffer) == 0  # handed over once


def test_a_proposal_is_kept_only_for_its_signed_block_one_per_signer() -> None:
    buffer = NextHeight(CHAIN)
    blocks = [Block(_header(5)._replace(time_ms=10 + i), (), ()) for i in range(3)]
    proposals = [sign_proposal(KEYS[2], CHAIN, 5, i, -1, b.hash()) for i, b in enumerate(blocks)]
    assert not buffer.add_proposal("p", proposals[0], blocks[1], VALIDATORS)  # another block than it signed
    for p, b in zip(proposals, blocks, strict=True):
        assert buffer.add_proposal("p", p, b, VALIDATORS)
    taken = buffer.take(5)
    assert len(taken) == PROPOSALS_PER_SIGNER == 1 and taken[0].message == proposals[-1]


def test_messages_kept_for_a_height_that_was_skipped_are_dropped() -> None:
    buffer = NextHeight(CHAIN)
    buffer.add_vote("p", sign_vote(KEYS[1], CHAIN, PREVOTE, 5, 0, V), VALIDATORS)
    assert buffer.take(7) == []  # block sync went past height 5
    assert len(buffer) == 0


# --- blocks.py -----------------------------------------------------------------------------------


def _maker(tmp_path: Path, name: str) -> BlockMaker:
    g = parse_genesis(json.dumps({
        "chain_id": CHAIN, "genesis_time_ms": 1, "modules": modules_json(),
        "validators": [{"name": f"v{i}", "pubkey": to_address(k.pubkey)} for i, k in enumerate(KEYS)],
    }))
    store = Store(tmp_path / name)
    store.init_genesis(g.hash(), g.initial_state(), 1)
    return BlockMaker(Context(store, Mempool(RULES, store.state, CHAIN), KEYS[0], CHAIN, NodeConfig(), ThreadPoolExecutor(1)))


def test_the_clock_bound_applies_to_proposals_only(tmp_path: Path) -> None:
    maker = _maker(tmp_path, "db")
    store = maker.ctx.store
    ahead = now_ms() + 60_000  # beyond the default bound of 10 s
    block, _, _ = build_block(RULES, store.state, store.tree, store.head(), CHAIN, KEYS[1].pubkey, ahead, [])

    async def check() -> None:
        assert not (await maker.validate(block, clock_bound=True)).valid
        assert (await maker.validate(block, clock_bound=False)).valid  # a certified block, from sync
        assert (await maker.validate(block, clock_bound=True)).valid  # once re-executed, known valid

    asyncio.run(check())
    store.close()


def test_re_execution_applies_whatever_the_bound(tmp_path: Path) -> None:
    maker = _maker(tmp_path, "db")
    store = maker.ctx.store
    block, _, _ = build_block(RULES, store.state, store.tree, store.head(), CHAIN, KEYS[1].pubkey, now_ms(), [])
    wrong = block._replace(header=block.header._replace(state_root=b"\x01" * 32))

    async def check() -> None:
        assert not (await maker.validate(wrong, clock_bound=False)).valid
        assert (await maker.validate(block, clock_bound=False)).valid

    asyncio.run(check())
    store.close()


# --- sync.py -------------------------------------------------------------------------------------


class Peer:
    address = "peer"

    def __init__(self) -> None:
        self.sent: list[tuple[int, Any]] = []
        self.status = None

    def send(self, kind: int, payload: Any) -> bool:
        self.sent.append((kind, payload))
        return True


class OnePeer(Broadcaster):
    def __init__(self, peer: Peer) -> None:
        self.peer = peer

    def peers(self) -> list[Any]:
        return [self.peer]


def _certified(maker: BlockMaker, signers: list[SigningKey], time_ms: int) -> tuple[Block, bytes]:
    """The next block on `maker`'s store (empty), certified by `signers`, in the raw sync form."""
    store = maker.ctx.store
    block, _, _ = build_block(RULES, store.state, store.tree, store.head(), CHAIN, KEYS[1].pubkey, time_ms, [])
    height = block.header.height
    signatures = tuple(sorted((k.pubkey, sign_vote(k, CHAIN, PRECOMMIT, height, 0, block.hash()).signature)
                              for k in signers))
    return block, encode_raw_block(block, Certificate(height, 0, block.hash(), signatures))


def test_block_sync_fetches_at_once_when_two_behind_and_follows_only_certified_blocks(tmp_path: Path) -> None:
    maker = _maker(tmp_path, "db")
    ctx = maker.ctx
    peer = Peer()
    ctx.net = OnePeer(peer)
    committed: list[int] = []

    async def commit(block, certificate, outcome) -> None:
        ctx.head = ctx.store.commit_block(block, certificate, outcome)
        maker.reset()
        committed.append(block.header.height)

    async def scenario() -> None:
        ctx.enqueue = lambda handler, *args: None
        sync = BlockSync(ctx, maker, commit, waits_for_votes=lambda: True, caught_up=lambda: asyncio.sleep(0))
        sync.on_status(peer, wire.Status(2, 3, 0, 0))
        await sync.check()
        assert sync.catching_up and peer.sent == [(wire.GET_BLOCKS, (1, 2))]
        _, too_few = _certified(maker, KEYS[1:3], now_ms())  # two of four: no quorum
        await sync.on_blocks(peer, (too_few,))
        assert committed == []
        block, good = _certified(maker, KEYS[1:4], now_ms() + 3_600_000)  # an hour ahead: followed all the same
        await sync.on_blocks(peer, (good,))
        assert committed == [1] and ctx.store.head().block_hash == block.hash()
        served = Peer()
        sync.serve(served, 1, 5)
        assert served.sent == [(wire.BLOCKS, (good,))]

    asyncio.run(scenario())
    ctx.store.close()
