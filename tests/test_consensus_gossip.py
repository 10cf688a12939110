"""Gossip by what each peer is known to have (node/consensus/gossip.py; docs/consensus.md, "Gossip and relaying").

The pure part, as a story of four validators A, B, C, D and one height:

1. A message is passed on only to a peer that asked for what it lacks: not to the peer
   that sent it, not to its signer, not to one whose request lists it, not to one
   that never asked, and to an asker once only.
2. A request is the asker's own word: what it does not list is sent, even if this node
   sent it before (the copy may be lost); what it lists is not.
3. A node asks when a vote names a proposal it lacks (once a round), when a peer is
   further on (one peer at once, the others after the grace, each once per position),
   never a peer two heights on (block sync's work).
4. Bounds: a new height drops what was known of older ones; rounds and open requests
   per peer are capped; a request from a key that is not a validator of that height,
   or with a bitset of the wrong size, is ignored and counted.

And on real drivers (tests/consensus_net.py):

5. A validator cut from the proposer gets the proposal from the others and commits
   every height by consensus, without block sync.
6. With three of four up, two of them cut from each other, each gets the other's
   votes through the third (what re-sends to direct peers alone could not do) and
   heights keep coming.
7. A stranger's or an observer's HAS is answered with nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from node.consensus import wire
from node.consensus.gossip import (
    BEHIND_GRACE_MS,
    MAX_OPEN,
    MAX_ROUNDS,
    PRECOMMIT,
    PREVOTE,
    PROPOSAL,
    Gossip,
    Has,
    Key,
    bits_to_bytes,
    bytes_to_bits,
)
from tests.consensus_net import LocalNet, key, transfer, until

A, B, C, D = (bytes([i]) * 32 for i in range(1, 5))
VALIDATORS = (A, B, C, D)
H = 7


def gossip() -> Gossip:
    g = Gossip()
    g.begin(H, VALIDATORS)
    return g


def vote_key(g: Gossip, signer: bytes, round_: int = 0, slot: int = PREVOTE) -> Key:
    k = g.key(H, round_, slot, signer)
    assert k is not None
    return k


# --- 1. passing on ------------------------------------------------------------------------------------


def test_a_message_goes_only_to_a_peer_that_asked_and_lacks_it_and_only_once() -> None:
    g = gossip()
    d_vote = vote_key(g, D)
    # B asks for round 0 having nothing; C asks having D's prevote already; A never asks
    assert g.answer(B, Has(H, 0, (0, 0, 0)), our_round=0) == []
    assert g.answer(C, Has(H, 0, (0, 1 << 3, 0)), our_round=0) == []
    # D's prevote arrives from A: B is the only peer that asked and lacks it
    assert g.received(A, d_vote, "d") == [B]
    assert g.received(C, d_vote, "d") == []  # a second copy is not new
    # the sender itself never gets it back, even with an open request
    g.answer(A, Has(H, 0, (0, 0, 0)), our_round=0)
    c_vote = vote_key(g, C)
    assert g.received(A, c_vote, "c") == [B]  # nor does its signer C, which asked without it
    assert g.stats["passed_on"] == 2


def test_a_peer_that_moves_closes_its_request() -> None:
    g = gossip()
    g.answer(B, Has(H, 0, (0, 0, 0)), our_round=0)
    g.on_status(B, (H, 0, 1), (H, 0, 1), still_ms=0)  # its status: it moved on
    assert g.received(A, vote_key(g, D), "d") == []


# --- 2. answering ---------------------------------------------------------------------------------------


def test_an_answer_sends_what_the_request_does_not_list_even_if_sent_before() -> None:
    g = gossip()
    own = vote_key(g, A)
    g.own(own, "mine", [B, C, D])  # sent to every peer: known to have it
    proposal = g.key(H, 0, PROPOSAL, g_proposer := VALIDATORS[(H + 0) % 4])
    assert proposal is not None and g_proposer == D
    g.received(D, proposal, "block")
    # B says it has D's proposal but not A's prevote: the prevote goes again, the proposal does not
    answer = g.answer(B, Has(H, 0, (1 << 3, 0, 0)), our_round=0)
    assert answer == [(own, "mine")]
    assert g.answer(B, Has(H, 0, (1 << 3, 1 << 0, 0)), our_round=0) == []


def test_an_answer_adds_this_nodes_current_round_so_a_peer_behind_can_skip_to_it() -> None:
    g = gossip()
    later = [vote_key(g, s, round_=2) for s in (B, C)]
    for k in later:
        g.received(A, k, f"r2-{k.index}")
    answer = g.answer(D, Has(H, 0, (0, 0, 0)), our_round=2)
    assert sorted(k for k, _ in answer) == sorted(later)


def test_a_laggard_gets_the_previous_heights_deciding_round_after_this_node_moved_on() -> None:
    g = gossip()
    precommits = [vote_key(g, s, round_=1, slot=PRECOMMIT) for s in (A, B, C)]
    for k in precommits:
        g.received(B, k, f"pc-{k.index}")
    g.begin(H + 1, VALIDATORS, decided_round=1)
    answer = g.answer(D, Has(H, 0, (0, 0, 0)), our_round=0)
    assert sorted(k for k, _ in answer) == sorted(precommits)


# --- 3. asking ------------------------------------------------------------------------------------------


def test_a_vote_for_a_missing_proposal_asks_once_a_round() -> None:
    g = gossip()
    g.own(vote_key(g, A), "mine", [])
    first = g.gap(H, 0)
    assert first == Has(H, 0, (0, 1 << 0, 0))
    assert g.gap(H, 0) is None
    assert g.gap(H, 1) is not None
    assert g.gap(H + 1, 0) is None  # not this height


def test_a_peer_further_on_is_asked_at_once_one_peer_per_own_position_the_rest_after_the_grace() -> None:
    g = gossip()
    ours = (H, 0, PREVOTE)
    ahead = (H, 0, PRECOMMIT)
    assert g.on_status(B, ahead, ours, still_ms=0) is not None  # the first peer seen further on: at once
    assert g.on_status(C, ahead, ours, still_ms=0) is None  # another: only after the grace
    assert g.on_status(C, ahead, ours, still_ms=BEHIND_GRACE_MS) is not None
    assert g.on_status(C, ahead, ours, still_ms=BEHIND_GRACE_MS * 5) is None  # once per its position
    assert g.on_status(D, (H, 0, PREVOTE), ours, still_ms=10_000) is None  # level with us
    assert g.on_status(D, (H + 2, -1, 0), ours, still_ms=10_000) is None  # two heights on: block sync
    assert g.on_status(D, (H + 1, -1, 0), ours, still_ms=10_000) is not None


def test_a_node_that_stands_still_asks_with_what_it_has_of_its_round_but_not_before_it_starts() -> None:
    g = gossip()
    g.own(vote_key(g, A, round_=1), "mine", [])
    assert g.stuck((H, -1, 0)) is None
    assert g.stuck((H, 1, PREVOTE)) == Has(H, 1, (0, 1 << 0, 0))


# --- 4. bounds ------------------------------------------------------------------------------------------


def test_a_new_height_drops_what_was_known_of_older_ones() -> None:
    g = gossip()
    g.received(B, vote_key(g, B), "b")
    g.answer(B, Has(H, 0, (0, 0, 0)), our_round=0)
    g.begin(H + 1, VALIDATORS)
    assert {h for h, _ in g.views[B].known} == {H}  # the previous height stays, for laggards
    g.begin(H + 2, VALIDATORS)
    assert g.views[B].known == {} and g.views[B].open == []
    assert g.key(H, 0, PREVOTE, B) is None  # nor are its messages held
    assert g.answer(B, Has(H, 0, (0, 0, 0)), our_round=0) == []


def test_rounds_and_open_requests_per_peer_are_capped() -> None:
    g = gossip()
    for r in range(MAX_ROUNDS + 40):
        g.answer(B, Has(H, r, (0, 0, 0)), our_round=0)
    view = g.views[B]
    assert len(view.known) == MAX_ROUNDS and min(r for _, r in view.known) == 40
    assert len(view.open) == MAX_OPEN


def test_a_request_from_a_key_that_is_not_a_validator_is_ignored() -> None:
    g = gossip()
    g.own(vote_key(g, A), "mine", [])
    stranger = bytes([9]) * 32
    assert g.answer(stranger, Has(H, 0, (0, 0, 0)), our_round=0) == []
    assert g.stats["ignored"] == 1 and stranger not in g.views


def test_bitsets_have_exactly_ceil_n_over_8_bytes_and_no_bit_past_n() -> None:
    assert bits_to_bytes(0b1011, 4) == b"\x0b"
    assert bytes_to_bits(b"\x0b", 4) == 0b1011
    assert bytes_to_bits(b"\x1b", 4) is None  # validator 4 of 4
    assert bytes_to_bits(b"\x0b\x00", 4) is None
    assert bytes_to_bits(bits_to_bytes(1 << 63, 64), 64) == 1 << 63


def test_a_has_message_is_parsed_strictly() -> None:
    ok = wire.parse_has((3, 0, True, b"\x01", b""))
    assert ok.proposal is True and ok.prevotes == b"\x01"
    for bad in [(3, 0, 1, b"", b""), (0, 0, False, b"", b""), (3, -1, False, b"", b""), (3, 0, False, "x", b""),
                (3, 0, False, b"\x00" * (wire.MAX_HAS_BITS_BYTES + 1), b""), (3, 0, False, b"")]:
        with pytest.raises(wire.WireError):
            wire.parse_has(bad)


# --- on real drivers --------------------------------------------------------------------------------------

KEYS = [key(0x41 + i) for i in range(4)]


def run(scenario) -> None:
    asyncio.run(asyncio.wait_for(scenario, 120))


def test_a_validator_cut_from_the_proposer_gets_the_proposal_from_the_others(tmp_path: Path) -> None:
    async def scenario() -> None:
        net = LocalNet(tmp_path, KEYS)
        n0, n1 = net.nodes[0], net.nodes[1]
        net.split(n0, n1)  # n1 proposes height 1 in round 0 (and every fourth height)
        await net.start()
        try:
            n0.submit(transfer(0))
            await until(lambda: all(n.height >= 5 for n in net.nodes), 30, "five heights everywhere")
            driver = n0.driver
            assert driver is not None
            assert driver.sync.synced == 0, "n0 decided every height itself, none by block sync"
            assert driver.heights.gossip.stats["asked"] > 0
            assert sum(n.driver.heights.gossip.stats["answered"] for n in net.nodes if n is not n0) > 0
        finally:
            await net.stop()

    run(scenario())


def test_two_validators_cut_from_each_other_get_each_others_votes_through_the_third(tmp_path: Path) -> None:
    async def scenario() -> None:
        net = LocalNet(tmp_path, KEYS)
        n0, n1, n2, n3 = net.nodes
        net.split(n0, n2)
        await net.start([n0, n1, n2])  # n3 is down: every height needs n0's and n2's votes both
        try:
            await until(lambda: all(n.height >= 4 for n in (n0, n1, n2)), 60, "four heights with a quorum of 3")
            for node in (n0, n2):
                assert node.driver is not None and node.driver.heights.gossip.stats["asked"] > 0
            assert n1.driver is not None and n1.driver.heights.gossip.stats["answered"] > 0
        finally:
            await net.stop()

    run(scenario())


def test_a_stranger_or_an_observer_asking_gets_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        net = LocalNet(tmp_path, KEYS)
        await net.start()
        try:
            await until(lambda: all(n.height >= 1 for n in net.nodes), 30, "a first block")
            driver = net.nodes[0].driver
            assert driver is not None
            sent: list = []

            class Stranger:
                address = "stranger"
                pubkey = key(0x99).pubkey

                def send(self, kind, payload) -> bool:
                    sent.append(kind)
                    return True

            height = driver.heights.gossip.height
            before = driver.heights.gossip.stats["ignored"]
            await driver.on_message(Stranger(), wire.HAS, (height, 0, False, b"\x00", b"\x00"))
            links = net.nodes[0].links
            assert links is not None
            validator = links.peer(net.nodes[1])  # n1 as n0 sees it
            await driver.on_message(validator, wire.HAS, (height, 0, False, b"\x00\x00", b"\x00"))  # wrong size
            await until(lambda: driver.heights.gossip.stats["ignored"] >= before + 2, 5, "both requests refused")
            assert wire.PROPOSAL not in sent and wire.VOTE not in sent
        finally:
            await net.stop()

    run(scenario())
