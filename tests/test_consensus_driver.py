"""The consensus driver with its real parts, in scripted scenarios on a simulated network.

Real drivers, stores, sign-states, signatures and block execution in one process
(tests/consensus_net.py); only the network is simulated. Validators n0..n3 of a
four-validator chain are in genesis order, so proposer(h, r) = n[(h + r) mod 4]:
height 1 round 0 -> n1, round 1 -> n2, round 2 -> n3, round 3 -> n0. The quorum is 3.

Scenarios (docs/consensus.md, "What the driver adds to the paper"):
- four validators commit a transaction (the harness itself);
- a validator whose clock is 30 s slow refuses the others' proposals (the clock
  bound) but follows their certified blocks by block sync at once;
- three of four up, one killed after its prevote and before its precommit: the
  others are stuck in round 0 with two precommits and no timeout; restarted, it
  resumes in round 0 at step prevote and the height completes without the fourth;
- the same with a precommit recorded in the sign-state but never sent: the
  restarted validator sends it again and the height completes;
- three of four up, the proposer of round 0 cannot build its block: its own
  propose timeout makes it prevote nil, and round 1 decides;
- a proposer restarted after signing a proposal that never went out signs no
  second proposal in that round; the round ends by its propose timeout;
- a flood of next-height messages (forged, from a stranger, from one validator
  over many rounds) cannot crowd out an honest validator's message;
- a key voted into the validator set votes from the height the change takes
  effect, and a key voted out stops there, without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from genesis.rules import RULES
from ledger import chain
from ledger.block import Block, Certificate, encode_raw_block
from ledger.crypto import SigningKey
from ledger.encoding import encode
from ledger.transition import BlockOutcome, build_block
from ledger.tx import decode_tx
from ledger.votes import PRECOMMIT, PREVOTE, Proposal, Vote, sign_vote
from node.consensus import signstate, wire
from node.consensus.blocks import BlockMaker, Candidate
from node.consensus.context import Context, now_ms
from node.consensus.driver import Driver
from node.consensus.faults import PrecommitWithholder
from node.consensus.inbox import VOTES_PER_SIGNER
from node.consensus.machine import Machine
from node.consensus.signer import Signer
from node.consensus.signstate import SignState
from tests.consensus_net import CHAIN, LocalNet, Node, key, stays, transfer, until

KEYS = [key(0x31 + i) for i in range(4)]


def run(scenario) -> None:
    asyncio.run(asyncio.wait_for(scenario, 120))


def last_signed(node: Node) -> signstate.Signed | None:
    return SignState(node.sign_state_path).last


def all_at_least(nodes: list[Node], height: int):
    return lambda: all(n.height >= height for n in nodes)


def agree(nodes: list[Node]) -> int:
    """Every node holds the same block at every height they share; returns that height."""
    common = min(n.height for n in nodes)
    for h in range(1, common + 1):
        assert len({n.block_hash(h) for n in nodes}) == 1, f"the nodes disagree at height {h}"
    return common


# --- the harness ------------------------------------------------------------------------------------


def test_four_validators_commit_a_transaction(tmp_path: Path) -> None:
    async def scenario() -> None:
        net = LocalNet(tmp_path, KEYS)
        await net.start()
        try:
            net.nodes[0].submit(transfer(0))
            await until(all_at_least(net.nodes, 1), 10, "block 1 everywhere")
            assert agree(net.nodes) >= 1
            assert len(net.nodes[0].certificate_signers(1)) >= 3
        finally:
            await net.stop()

    run(scenario())


# --- defect: the clock bound applied to block sync -------------------------------------------------


def test_a_validator_whose_clock_is_30_s_slow_follows_certified_blocks_at_once(tmp_path: Path, caplog) -> None:
    """FORMAT.md §12.2: the clock bound is for consensus only. The slow node prevotes nil on every proposal
    (30 s is beyond the 10 s bound), the three others commit, and it follows each block by sync."""

    async def scenario() -> None:
        net = LocalNet(tmp_path, KEYS)
        slow = net.nodes[3]
        for node in net.nodes[:3]:
            await node.start()
        await slow.start(clock=lambda: now_ms() - 30_000)
        try:
            for nonce in range(3):
                net.nodes[0].submit(transfer(nonce))
                await until(all_at_least(net.nodes[:3], nonce + 1), 10, f"block {nonce + 1} on the three")
            await until(lambda: slow.height >= 3, 5, "the slow node to follow by sync")
            assert agree(net.nodes) >= 3
            for h in (1, 2):  # proposed by n1 and n2 at their time: the slow node refused them
                assert slow.key.pubkey not in net.nodes[0].certificate_signers(h)
        finally:
            await net.stop()

    with caplog.at_level(logging.WARNING, logger="incoop.consensus"):
        run(scenario())
    assert "does not re-execute" not in caplog.text
    assert "ahead of this node's clock" in caplog.text  # the bound still applies to proposals


# --- defect: a restart in the middle of a height -------------------------------------------------------


class SignsButNeverSendsPrecommits(Signer):
    """A validator killed after its precommit reached the sign-state and before it left the process."""

    def vote(self, machine: Machine, vote_type: int, round_: int, value: bytes | None,
             locked_block: bytes | None) -> Vote | None:
        if vote_type != PRECOMMIT:
            return super().vote(machine, vote_type, round_, value, locked_block)
        self._record(machine, round_, signstate.PRECOMMIT, value, locked_block)
        return None


async def _stuck_in_round_0(net: LocalNet, victim: Node, last_kind: int) -> None:
    """n3 is down; n0 and n1 have precommitted in round 0 and wait with two precommits and no timeout."""
    others = [net.nodes[0], net.nodes[1]]
    net.nodes[0].submit(transfer(0))
    await until(lambda: all(n.status()["step"] == "precommit" for n in others), 10, "n0 and n1 to precommit")
    await until(lambda: (last_signed(victim) or signstate.Signed(0, 0, 0, None)).kind == last_kind, 5,
                "the victim's last signature")
    # the stall the fix is for: no timeout is pending, nothing moves
    await stays(lambda: all(n.height == 0 and n.status()["round"] == 0 for n in others), 2.0,
                "two precommits of four make no quorum, so nothing moves")


def test_a_validator_killed_between_prevote_and_precommit_completes_the_round_on_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        net = LocalNet(tmp_path, KEYS)
        n0, n1, victim, _down = net.nodes
        await n0.start()
        await n1.start()
        await victim.start(signer_class=PrecommitWithholder)
        try:
            await _stuck_in_round_0(net, victim, signstate.PREVOTE)
            await victim.stop()
            await victim.start()  # an honest signer, the same sign-state: it resumes at round 0, step prevote
            await until(all_at_least([n0, n1, victim], 1), 10, "block 1 without the fourth validator")
            agree([n0, n1, victim])
            assert net.nodes[0].certificate_signers(1) == {n0.key.pubkey, n1.key.pubkey, victim.key.pubkey}
            assert n0.driver.metrics.rounds_last_height == 1, "decided in the round it was stuck in"
        finally:
            await net.stop()

    run(scenario())


def test_a_precommit_recorded_but_never_sent_is_sent_again_after_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        net = LocalNet(tmp_path, KEYS)
        n0, n1, victim, _down = net.nodes
        await n0.start()
        await n1.start()
        await victim.start(signer_class=SignsButNeverSendsPrecommits)
        try:
            await _stuck_in_round_0(net, victim, signstate.PRECOMMIT)
            await victim.stop()
            await victim.start()
            await until(all_at_least([n0, n1, victim], 1), 10, "block 1 without the fourth validator")
            agree([n0, n1, victim])
            assert victim.key.pubkey in n0.certificate_signers(1)
        finally:
            await net.stop()

    run(scenario())


# --- defect: a proposer without a proposal -------------------------------------------------------------


class CannotBuild(BlockMaker):
    async def build(self) -> Candidate:
        raise RuntimeError("building failed (test)")


class CannotBuildDriver(Driver):
    block_maker = CannotBuild


def test_a_proposer_that_cannot_build_times_out_and_the_next_round_decides(tmp_path: Path) -> None:
    async def scenario() -> None:
        net = LocalNet(tmp_path, KEYS)
        n0, proposer, n2, _down = net.nodes
        await n0.start()
        await proposer.start(driver_class=CannotBuildDriver)
        await n2.start()
        try:
            n0.submit(transfer(0))
            await until(all_at_least([n0, proposer, n2], 1), 10, "block 1 in round 1")
            assert n0.driver.metrics.rounds_last_height == 2
            assert proposer.driver.metrics.timeouts >= 1  # its own propose timeout
        finally:
            await net.stop()

    run(scenario())


class SignsButNeverSendsProposals(Signer):
    def propose(self, machine: Machine, round_: int, pol_round: int, block: Block,
                locked_block: bytes | None) -> Proposal | None:
        self._record(machine, round_, signstate.PROPOSAL, block.hash(), locked_block)
        return None


def test_a_proposer_restarted_after_signing_signs_no_second_proposal_in_that_round(tmp_path: Path) -> None:
    async def scenario() -> None:
        net = LocalNet(tmp_path, KEYS)
        n0, proposer, n2, _down = net.nodes
        await proposer.start(signer_class=SignsButNeverSendsProposals)
        proposer.submit(transfer(0))
        await until(lambda: last_signed(proposer) is not None, 10, "the proposal to be signed")
        first = last_signed(proposer)
        assert first is not None and first.position() == (1, 0, signstate.PROPOSAL)
        await proposer.stop()
        await n0.start()
        await n2.start()
        await proposer.start()
        try:
            n0.submit(transfer(0))
            await until(all_at_least([n0, proposer, n2], 1), 10, "block 1 in a later round")
            assert n0.driver.metrics.rounds_last_height >= 2
            assert proposer.driver.signer.refused == 0, "it did not even try to sign another block"
        finally:
            await net.stop()

    run(scenario())


# --- defect: the next height's buffer ---------------------------------------------------------------


class Stranger:
    address = "stranger"
    pubkey = key(0x98).pubkey  # every peer the p2p layer hands over has a proven key

    def send(self, kind, payload) -> bool:
        return True


def _block_1(node: Node, signers: list[SigningKey]) -> bytes:
    """Block 1 as the others decided it (empty, proposed by n1), with their certificate: the raw sync form."""
    assert node.store is not None
    head = node.store.head()
    block, _outcome, _ = build_block(RULES, node.store.state, node.store.tree, head, CHAIN, KEYS[1].pubkey,
                                     head.time_ms + 1000, [])
    signatures = tuple(sorted((k.pubkey, sign_vote(k, CHAIN, PRECOMMIT, 1, 0, block.hash()).signature)
                              for k in signers))
    return encode_raw_block(block, Certificate(1, 0, block.hash(), signatures))


def test_a_flood_of_next_height_messages_cannot_crowd_out_an_honest_one(tmp_path: Path) -> None:
    async def scenario() -> None:
        net = LocalNet(tmp_path, KEYS)
        node = net.nodes[0]
        await node.start()  # alone: nothing to do at height 1 until the test gives it block 1
        try:
            driver = node.driver
            peer = Stranger()
            value = b"\x42" * 32
            honest = sign_vote(KEYS[1], CHAIN, PREVOTE, 2, 0, value)
            forged = [Vote(PREVOTE, 2, r, value, KEYS[1].pubkey, b"\x00" * 64) for r in range(4000)]
            stranger = [sign_vote(key(0x99), CHAIN, PREVOTE, 2, r, value).as_tuple() for r in range(4000)]
            byzantine = [sign_vote(KEYS[3], CHAIN, t, 2, r, value).as_tuple() for r in range(1500)
                         for t in (PREVOTE, PRECOMMIT)]
            for payload in [v.as_tuple() for v in forged] + stranger + byzantine:
                await driver.on_message(peer, wire.VOTE, payload)
            await driver.on_message(peer, wire.VOTE, honest.as_tuple())
            await until(lambda: driver._queue.empty(), 20, "the flood to be handled")
            kept, refused = len(driver.heights.next), driver.heights.next.refused
            await driver.on_message(peer, wire.BLOCKS, (_block_1(node, KEYS[1:]),))
            await until(lambda: node.height == 1, 10, "block 1 by sync")

            def counted() -> bool:
                machine = driver.heights.machine
                return machine is not None and machine.height == 2 and honest in machine.keeper.votes(0, PREVOTE, value)

            await until(counted, 5, "the honest vote for height 2 to be counted once height 2 begins")
            assert refused == 8000, "forged votes and a stranger's are not kept"
            assert kept == 1 + VOTES_PER_SIGNER, "n3's flood holds only its own share"
        finally:
            await net.stop()

    run(scenario())


# --- who votes, height by height ---------------------------------------------------------------------


def _with_validators(ctx: Context, block: Block, outcome: BlockOutcome,
                     validators: tuple[bytes, ...]) -> tuple[Block, BlockOutcome]:
    changes = dict(outcome.state_changes)
    changes[chain.KEY_VALIDATORS] = encode(validators)
    root, tree_writes = ctx.store.tree.update(changes.items())
    header = block.header._replace(state_root=root)
    return Block(header, block.txs, block.results), outcome._replace(state_changes=changes, tree_writes=tree_writes,
                                                                      state_root=root)


class SetChange(BlockMaker):
    """A chain rule for this test only: block `AT` replaces the validator set with `NEW` after its
    transactions (as a governance module's end-of-block step will), so height AT + 1 has the new set.
    Validating that block re-executes it and applies the rule, and compares the result."""

    AT = 2
    NEW: tuple[bytes, ...] = (KEYS[0].pubkey, KEYS[1].pubkey, KEYS[2].pubkey, key(0x35).pubkey)

    async def build(self) -> Candidate:
        candidate = await super().build()
        if candidate.block.header.height != self.AT:
            return candidate
        assert candidate.outcome is not None
        block, outcome = _with_validators(self.ctx, candidate.block, candidate.outcome, self.NEW)
        changed = Candidate(block, outcome, candidate.rejected)
        self.known[block.hash()] = changed
        return changed

    async def validate(self, block: Block, *, clock_bound: bool) -> Candidate:
        if block.header.height != self.AT:
            return await super().validate(block, clock_bound=clock_bound)
        known = self.known.get(block.hash())
        if known is not None and known.valid:
            return known
        ctx = self.ctx
        txs = [decode_tx(raw) for raw in block.txs]
        plain, outcome, rejected = build_block(RULES, ctx.store.state, ctx.store.tree, ctx.head, ctx.chain_id,
                                               block.header.proposer, block.header.time_ms, txs)
        expected, changed = _with_validators(ctx, plain, outcome, self.NEW)
        valid = not rejected and expected.hash() == block.hash()
        candidate = Candidate(block, changed if valid else None, [])
        self.known[block.hash()] = candidate
        return candidate


class SetChangeDriver(Driver):
    block_maker = SetChange


def test_a_key_voted_into_the_set_votes_from_that_height_and_one_voted_out_stops(tmp_path: Path) -> None:
    async def scenario() -> None:
        net = LocalNet(tmp_path, KEYS)
        n0, n1, n2, leaving = net.nodes
        joining = net.add(key(0x35))  # configured as a validator, not in the genesis set
        assert joining.key.pubkey in SetChange.NEW and leaving.key.pubkey not in SetChange.NEW
        for node in net.nodes:
            await node.start(driver_class=SetChangeDriver)
        try:
            await until(lambda: all(n.status()["voting"] is (n is not joining) for n in net.nodes), 5,
                        "the genesis set to vote")
            for nonce in range(2):
                n0.submit(transfer(nonce))
                await until(all_at_least(net.nodes, nonce + 1), 10, f"block {nonce + 1} everywhere")
            # height 3 has the new set, in the same processes
            await until(lambda: joining.status()["voting"] and not leaving.status()["voting"], 5,
                        "the new set to take effect")
            net.isolate(n2)  # from now on no quorum without the joining validator
            for nonce in range(2, 5):
                n0.submit(transfer(nonce))
                await until(all_at_least([n0, n1, joining], nonce + 1), 15, f"block {nonce + 1} with the new set")
            net.heal()
            await until(all_at_least(net.nodes, 5), 10, "everyone at block 5")
            agree(net.nodes)
            for h in (1, 2):
                assert joining.key.pubkey not in n0.certificate_signers(h)
            for h in (4, 5):
                signers = n0.certificate_signers(h)
                assert joining.key.pubkey in signers and leaving.key.pubkey not in signers
            assert set(n0.certificate_signers(3)) <= set(SetChange.NEW)
            assert last_signed(joining) is not None and last_signed(joining).height >= 4
            assert last_signed(leaving) is not None and last_signed(leaving).height <= 2
            assert leaving.driver.stats["refused_signatures"] == 0
        finally:
            await net.stop()

    run(scenario())
