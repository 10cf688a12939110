"""Hypothesis: random interleavings of votes, commitments, reveals and closings count one vote per identity.

Three ballots run at once: a public one in coop-a's space (members A, B and
MULTI, whose three keys all vote), a public one in the federation's space
(five identities) and a commit-then-reveal one in coop-a's space. Random
blocks of votes (changed, by any key of an identity, by non-members),
commitments (changed too), reveals (right, with the wrong option or salt,
twice, too early, too late) and membership changes (coop-a's attester
admitting C or removing B, so eligibility is checked at each action), with
block times that jump past the closings and the reveal window. A model that knows nothing of the ledger's counts —
a map from identity to its last vote — predicts every result code, and
after every block:

1. each ballot's stored counts are the model's one-identity-one-vote count
   (for the commit-then-reveal ballot: nothing before the closing, then
   only what was revealed);
2. the agora's invariants hold (the stored tally equals the recount of the
   stored votes) and the follower re-executing the block agrees.

At the end every ballot is tallied: its outcome is the model's, from the
model's counts. The auditor, replaying the raw blocks from genesis with
their certificates (`incoop audit verify`'s verify_chain), reaches the same
state root with every module's invariants, the agora's tally recount among them.
"""

from __future__ import annotations

import json
from collections import Counter

from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from genesis.document import parse_genesis
from genesis.rules import RULES
from governance import records as rec
from ledger.address import to_address
from ledger.block import Block, encode_raw_block
from ledger.errors import Code
from node.audit.verify import verify_chain
from tests.agora_chain import (
    COOP,
    FED,
    IDS,
    MODERATOR,
    MULTI,
    PASS,
    QUORUM,
    SECOND,
    TRIO,
    YES_NO,
    A,
    AgoraChain,
    B,
    C,
    D,
    agora_genesis_document,
    ballot_id,
    post_id,
)
from tests.chain_source import ListSource, certificate
from tests.identity_chain import ATTESTER, CHAIN_ID, VALIDATORS

KEYS = [A, B, C, D, *TRIO]
IDENTITY = {A.pubkey: IDS[0], B.pubkey: IDS[1], C.pubkey: IDS[2], D.pubkey: IDS[3],
            **{k.pubkey: MULTI for k in TRIO}}
COOP_MEMBERS = {IDS[0], IDS[1], MULTI}
COOP_PUBLIC, FED_PUBLIC, COOP_SECRET = 1, 2, 3
VOTING, REVEALING = 45 * SECOND, 30 * SECOND
SALTS = [bytes([s]) * 32 for s in (1, 2)]

key_n = st.sampled_from([0, 1, 4, 5, 6, 0, 1, 4, 5, 6, 2, 3])  # mostly coop-a's members' keys, also C and D
option = st.sampled_from([0, 0, 1, 1, 2, 3])  # 3 is no option of a yes/no/abstain ballot
op = st.one_of(
    st.tuples(st.just("vote"), st.sampled_from([COOP_PUBLIC, FED_PUBLIC]), key_n, option),
    st.tuples(st.just("commit"), st.just(COOP_SECRET), key_n, option, st.integers(0, 1)),
    st.tuples(st.just("reveal"), st.just(COOP_SECRET), key_n, option, st.integers(0, 1), st.booleans()),
    st.tuples(st.just("membership"), st.just(0), st.sampled_from([1, 2]), st.booleans()),
)
blocks = st.lists(st.tuples(st.lists(op, max_size=8), st.sampled_from([SECOND, SECOND, 5 * SECOND, 25 * SECOND])),
                  max_size=14)


def audited_document() -> dict:
    """The agora chain's genesis with four validators, so that blocks carry real certificates."""
    doc = agora_genesis_document()
    doc["validators"] = [{"name": f"v{i}", "pubkey": to_address(k.pubkey)} for i, k in enumerate(VALIDATORS)]
    return doc


class Model:
    """One identity, one vote: the last accepted vote of each identity, and nothing else."""

    def __init__(self, closes: dict[int, int], reveal_until: int):
        self.closes = closes
        self.reveal_until = reveal_until
        self.votes: dict[int, dict[bytes, int]] = {COOP_PUBLIC: {}, FED_PUBLIC: {}, COOP_SECRET: {}}
        self.commitments: dict[bytes, tuple[int, int]] = {}
        self.members = set(COOP_MEMBERS)

    def eligible(self, ballot: int, identity: bytes) -> bool:
        return ballot == FED_PUBLIC or identity in self.members

    def step(self, t: int, kind: str, ballot: int, key_i: int, opt: int, salt: int = 0) -> Code:
        """The result the rules must give, and the model's state after it."""
        if kind == "membership":  # coop-a's attester admits (opt true) or removes IDS[key_i]
            identity = IDS[key_i]
            if opt:
                self.members.add(identity)
            elif identity not in self.members:
                return Code.ATTESTATION_NOT_FOUND
            else:
                self.members.discard(identity)
            return Code.OK
        identity = IDENTITY[KEYS[key_i].pubkey]
        if kind == "reveal":
            if not self.closes[ballot] <= t < self.reveal_until:
                return Code.BALLOT_WINDOW
            if identity not in self.commitments or identity in self.votes[ballot]:
                return Code.NO_COMMITMENT
            if opt > 2:
                return Code.UNKNOWN_OPTION
            if self.commitments[identity] != (opt, salt):
                return Code.REVEAL_MISMATCH
            self.votes[ballot][identity] = opt
            return Code.OK
        if t >= self.closes[ballot]:
            return Code.BALLOT_WINDOW
        if kind == "vote" and opt > 2:
            return Code.UNKNOWN_OPTION
        if not self.eligible(ballot, identity):
            return Code.NOT_SPACE_ELIGIBLE
        if kind == "vote":
            self.votes[ballot][identity] = opt
        else:
            self.commitments[identity] = (opt, salt)
        return Code.OK

    def counts(self, ballot: int) -> tuple[int, ...]:
        tally = Counter(self.votes[ballot].values())
        return tuple(tally[i] for i in range(len(YES_NO)))

    @staticmethod
    def outcome(counts: tuple[int, ...], eligible: int) -> int | None:
        """Written from FORMAT.md §6.7 "The tally", independently of governance/records.py."""
        cast = sum(counts)
        if cast == 0 or cast * 1000 < QUORUM * eligible:
            return None
        yes, no = counts[0], counts[1]
        if yes == no:
            return None
        best, index = (yes, 0) if yes > no else (no, 1)
        return index if best * 1000 > PASS * (yes + no) else None


def to_tx(c: AgoraChain, pending: dict[bytes, int], step: tuple):
    kind, ballot, key_i, opt, *salt = step
    key = ATTESTER if kind == "membership" else KEYS[key_i]
    if kind == "membership":
        type_, body = ("attest.issue", (IDS[key_i], "member:coop-a", 0)) if opt else \
            ("attest.revoke", (IDS[key_i], "member:coop-a"))
        nonce = c.nonce(key) + pending.get(key.pubkey, 0)
        pending[key.pubkey] = pending.get(key.pubkey, 0) + 1
        return c.tx(key, type_, body, nonce=nonce)
    if kind == "vote":
        body: tuple = (ballot_id(ballot), opt)
    elif kind == "commit":
        identity = IDENTITY[key.pubkey]
        body = (ballot_id(ballot), rec.vote_commitment(ballot_id(ballot), identity, min(opt, 2), SALTS[salt[0]]))
    else:
        body = (ballot_id(ballot), opt, SALTS[salt[0]])
    nonce = c.nonce(key) + pending.get(key.pubkey, 0)
    pending[key.pubkey] = pending.get(key.pubkey, 0) + 1
    return c.tx(key, f"agora.{kind}", body, nonce=nonce)


def normalised(step: tuple, model: Model) -> tuple:
    """The step as sent: a commitment is to an existing option (min(opt, 2)); an honest reveal (last
    field true) reveals what the identity committed, if it did, else the step's own option and salt."""
    if step[0] == "commit":
        return (*step[:3], min(step[3], 2), step[4])
    if step[0] == "reveal":
        kind, ballot, key_i, opt, salt, honest = step
        committed = model.commitments.get(IDENTITY[KEYS[key_i].pubkey])
        return (kind, ballot, key_i, *(committed if honest and committed else (opt, salt)))
    return step


def setup(c: AgoraChain) -> None:
    """Three proposals with their supports, and their three ballots, opened in one block."""
    for n, space, keys in ((COOP_PUBLIC, COOP, (A, B)), (FED_PUBLIC, FED, (C, D)), (COOP_SECRET, COOP, (A, B))):
        assert c.new_proposal(n, space) == Code.OK
        c.supported(n, keys)
    at = c.time + SECOND
    txs = [c.tx(MODERATOR, "agora.ballot", (ballot_id(n), post_id(n), YES_NO, at, at + VOTING,
                                            at + VOTING + REVEALING if n == COOP_SECRET else 0), nonce=i)
           for i, n in enumerate((COOP_PUBLIC, FED_PUBLIC, COOP_SECRET))]
    block = c.block(txs, at)
    assert list(block.results) == [Code.OK] * 3


class RecordingChain(AgoraChain):
    """The agora chain keeping every block it made, from the first, for the auditor."""

    def __init__(self, doc: dict):
        self.made: list[Block] = []
        super().__init__(doc)

    def block(self, txs, time_ms: int | None = None, strangers: bool = False) -> Block:
        made = super().block(txs, time_ms, strangers)
        self.made.append(made)
        return made


def check_against(c: AgoraChain, model: Model) -> None:
    for n in (COOP_PUBLIC, FED_PUBLIC, COOP_SECRET):
        ballot = c.ballot(n)
        assert ballot.counts == model.counts(n), (n, ballot.counts, model.votes[n])
        assert ballot.cast == len(model.votes[n])
        assert len(c.votes(n)) == len(model.votes[n] if n != COOP_SECRET else model.commitments)
        if ballot.status in rec.FINAL:
            assert ballot.outcome == Model.outcome(ballot.counts, ballot.eligible), n
    secret = c.ballot(COOP_SECRET)
    if c.time < secret.closes_ms:
        assert secret.counts == (0, 0, 0) and all(c.vote_of(COOP_SECRET, i).option is None
                                                  for i in model.commitments), "no partial tally before closing"


def play(plan) -> tuple[RecordingChain, Model]:
    c = RecordingChain(audited_document())
    setup(c)
    opened = c.ballot(COOP_PUBLIC)
    model = Model({n: c.ballot(n).closes_ms for n in (COOP_PUBLIC, FED_PUBLIC, COOP_SECRET)},
                  c.ballot(COOP_SECRET).reveal_until_ms)
    assert (opened.eligible, c.ballot(FED_PUBLIC).eligible) == (3, 5)
    for steps, gap in plan:
        t = c.time + gap
        sent = []
        expected = []
        for s_ in steps:
            sent.append(normalised(s_, model))
            expected.append(model.step(t, *sent[-1]))
        pending: dict[bytes, int] = {}
        block = c.block([to_tx(c, pending, s_) for s_ in sent], t)
        assert list(block.results) == expected, (steps, block.results, expected)
        assert all(e.code == Code.OK for e in block.effects), block.effects
        check_against(c, model)
        c.check()
    c.block([], max(c.time + SECOND, model.reveal_until))
    for n in (COOP_PUBLIC, FED_PUBLIC, COOP_SECRET):
        assert c.ballot(n).status in rec.FINAL
    check_against(c, model)
    c.check()
    return c, model


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks)
def test_every_interleaving_counts_one_vote_per_identity_and_the_auditor_agrees(plan):
    c, model = play(plan)
    for n in (COOP_PUBLIC, FED_PUBLIC, COOP_SECRET):
        event(f"ballot {n} {c.ballot(n).status}")
    target(sum(c.ballot(n).cast for n in (COOP_PUBLIC, FED_PUBLIC, COOP_SECRET)))  # toward many counted votes
    genesis = parse_genesis(json.dumps(audited_document()))
    raws = [encode_raw_block(b, certificate(b, CHAIN_ID, VALIDATORS[:3])) for b in c.made]
    report = verify_chain(RULES, genesis, ListSource(genesis.hash(), raws, c.head), workers=1)
    assert report.state_root == c.head.state_root.hex() and report.height == c.height
    assert report.invariants["agora"] >= 3 + 3, "three proposals and three ballots recounted"


def test_the_property_sees_every_path():
    """A fixed plan through the same model: votes changed by the three keys of one identity, a non-member,
    commitments changed, reveals right and wrong, then a decided and a failed ballot."""
    i_a, i_b, i_c, t0, t1, t2 = 0, 1, 2, 4, 5, 6
    plan = [
        ([("vote", COOP_PUBLIC, t0, 0), ("vote", COOP_PUBLIC, t1, 1), ("vote", COOP_PUBLIC, t2, 0),
          ("vote", COOP_PUBLIC, i_a, 0), ("vote", COOP_PUBLIC, i_c, 0), ("vote", FED_PUBLIC, i_c, 1),
          ("commit", COOP_SECRET, i_a, 1, 0), ("commit", COOP_SECRET, i_a, 0, 1), ("commit", COOP_SECRET, t0, 0, 0),
          ("commit", COOP_SECRET, i_b, 1, 0), ("reveal", COOP_SECRET, i_a, 0, 1, True)], SECOND),
        ([], VOTING),
        ([("reveal", COOP_SECRET, i_a, 1, 0, False), ("reveal", COOP_SECRET, i_a, 0, 1, False),
          ("reveal", COOP_SECRET, t1, 0, 0, False), ("reveal", COOP_SECRET, t2, 0, 0, True),
          ("reveal", COOP_SECRET, i_c, 0, 0, True), ("vote", COOP_PUBLIC, i_b, 0)],
         SECOND),
    ]
    c, model = play(plan)
    assert c.ballot(COOP_PUBLIC).counts == (2, 0, 0) and c.ballot(COOP_PUBLIC).status == rec.DECIDED
    assert c.ballot(FED_PUBLIC).status == rec.FAILED, "one of five is below quorum"
    assert c.ballot(COOP_SECRET).counts == (2, 0, 0) and c.ballot(COOP_SECRET).outcome == 0, "B never revealed"
    genesis = parse_genesis(json.dumps(audited_document()))
    raws = [encode_raw_block(b, certificate(b, CHAIN_ID, VALIDATORS[:3])) for b in c.made]
    assert verify_chain(RULES, genesis, ListSource(genesis.hash(), raws, c.head), workers=1).state_root == \
        c.head.state_root.hex()
