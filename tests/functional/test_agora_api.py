"""The agora's API on a real node (FORMAT.md §6.7; docs/agora.md; docs/api-contract.md).

Scenario (one devnet validator; its genesis makes the federation's key the
agora admin; tests/functional/agora_setup.py registers MULTI (three keys)
and PIA, residents of trento, and opens two spaces):
1. Spaces: listed in id order and paged with `limit`/`after`; one space;
   an unknown one is 404, a malformed id 400.
2. Posts: three proposals in the town's space and a thread under the first
   (a reply, and a reply to the reply), each text given to the node while
   its transaction was pending. The proposals are paged and filtered by
   status, with their supports; the thread comes depth first with depths;
   a hidden proposal shows the moderator's reason and no text; an erased
   comment no text, still in the thread with its reply under it.
3. Texts, as attacks: a text for a post that is neither on the chain nor
   pending (404), with a `tx` that is no transaction, another post's or a
   stranger's that the node never admitted (404); a text whose hash is not
   the post's (422); too large (413); an erased post's (410); an unknown
   field (400). A pending text is kept in memory only: a post transaction
   parked behind a nonce gap has its text taken, which is in no file of the
   node; one key has at most 8 such texts (429).
4. Ballots: a public ballot's counts as the votes come; a commit-then-
   reveal ballot shows no counts while open, and an identity's vote there
   has no option, only a commitment; an identity that did not vote is 404.
5. The wallet's NodeClient reads the same through its agora_* methods, and
   a 404 as NodeError.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from governance.records import vote_commitment
from ledger.crypto import SigningKey
from ledger.tx import sign_tx
from tests.functional.agora_setup import (
    MODERATOR,
    MULTI_ID,
    PIA,
    PIA_ID,
    TOWN,
    TRIO,
    ident,
    post_text,
    propose,
    seed_people,
    text_hash,
    with_agora,
)
from tests.functional.framework import FAR_EXPIRY, Devnet, assert_api_error, make_devnet
from tests.functional.market_setup import Signer
from wallet.client import NodeClient, NodeError

P1, P2, P3 = ident("p1"), ident("p2"), ident("p3")
C1, C2 = ident("c1"), ident("c2")
TEXTS = {P1: "Una pista ciclabile lungo l'Adige", P2: "Orti comuni al parco", P3: "Più panchine",
         C1: "D'accordo, ma con l'illuminazione", C2: "L'illuminazione a LED costa poco"}
PUBLIC, SECRET = ident("public ballot"), ident("secret ballot")
JSON = "application/json"


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    devnet = make_devnet(tmp_path_factory.mktemp("agora-api") / "devnet", genesis_edit=with_agora)
    try:
        devnet.start_all(devnet.validators)
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


@pytest.fixture(scope="module")
def chain(devnet: Devnet) -> Signer:
    signer = Signer(devnet)
    seed_people(devnet, signer, wallet_people=False)
    for post in (P1, P2, P3):
        propose(devnet, signer, PIA, post, TOWN, TEXTS[post])
    propose(devnet, signer, TRIO[0], C1, TOWN, TEXTS[C1], parent=P1)
    propose(devnet, signer, PIA, C2, TOWN, TEXTS[C2], parent=C1)
    signer.send_all([(TRIO[1], "agora.support", (P1,)), (PIA, "agora.support", (P1,)),
                     (PIA, "agora.support", (P2,))])
    signer.send(MODERATOR, "agora.hide", (P3, "off topic for the consulta"))
    now = devnet.api.status()["block_time_ms"]
    signer.send_all([
        (MODERATOR, "agora.ballot", (PUBLIC, P1, ("sì", "no", "abstain"), now, now + 3_600_000, 0)),
        (MODERATOR, "agora.ballot", (SECRET, P2, ("sì", "no"), now, now + 3_600_000, now + 7_200_000)),
    ])
    salt = bytes(range(32))
    signer.send_all([(PIA, "agora.vote", (PUBLIC, 1)), (TRIO[2], "agora.vote", (PUBLIC, 0)),
                     (PIA, "agora.commit", (SECRET, vote_commitment(SECRET, PIA_ID, 0, salt)))])
    signer.send(TRIO[0], "agora.erase", (C1,))
    return signer


def get(devnet: Devnet, path: str) -> Any:
    return devnet.api.get(path)


def post_json(devnet: Devnet, body: dict) -> Any:
    return devnet.api.post("/v1/agora/texts", json.dumps(body).encode(), JSON)


def test_spaces(devnet: Devnet, chain: Signer) -> None:
    every = get(devnet, "/v1/agora/spaces")
    assert [s["name"] for s in every["spaces"]] == sorted(
        ["Assemblea della federazione", "Consulta di Trento"],
        key=lambda n: next(s["id"] for s in every["spaces"] if s["name"] == n))
    assert every["next"] is None and [s["id"] for s in every["spaces"]] == sorted(s["id"] for s in every["spaces"])
    first = get(devnet, "/v1/agora/spaces?limit=1")
    second = get(devnet, f"/v1/agora/spaces?limit=1&after={first['next']}")
    assert first["spaces"] + second["spaces"] == every["spaces"]
    town = get(devnet, f"/v1/agora/spaces/{TOWN.hex()}")
    assert (town["eligibility"], town["support_threshold"], town["quorum_permille"]) == ("resident:trento", 1, 500)
    assert_api_error(404, "NOT_FOUND", lambda: get(devnet, f"/v1/agora/spaces/{'00' * 16}"))
    assert_api_error(400, "BAD_REQUEST", lambda: get(devnet, "/v1/agora/spaces/XYZ"))
    assert_api_error(400, "BAD_REQUEST", lambda: get(devnet, "/v1/agora/spaces?limit=0"))


def test_proposals_and_threads(devnet: Devnet, chain: Signer) -> None:
    page = get(devnet, f"/v1/agora/spaces/{TOWN.hex()}/proposals")
    ids = [p["id"] for p in page["proposals"]]
    assert ids == sorted(p.hex() for p in (P1, P2, P3)) and page["next"] is None
    by_id = {p["id"]: p for p in page["proposals"]}
    assert (by_id[P1.hex()]["supports"], by_id[P1.hex()]["ballot"], by_id[P1.hex()]["text"]) == (2, PUBLIC.hex(),
                                                                                                  TEXTS[P1])
    hidden = by_id[P3.hex()]
    assert (hidden["status"], hidden["text"], hidden["text_state"], hidden["reason"]) == (
        "hidden", None, "hidden", "off topic for the consulta")
    assert hidden["text_hash"] == text_hash(TEXTS[P3]).hex()
    first = get(devnet, f"/v1/agora/spaces/{TOWN.hex()}/proposals?limit=2")
    rest = get(devnet, f"/v1/agora/spaces/{TOWN.hex()}/proposals?limit=2&after={first['next']}")
    assert [p["id"] for p in first["proposals"] + rest["proposals"]] == ids
    visible = get(devnet, f"/v1/agora/spaces/{TOWN.hex()}/proposals?status=visible")["proposals"]
    assert sorted(p["id"] for p in visible) == sorted(p.hex() for p in (P1, P2))

    thread = get(devnet, f"/v1/agora/posts/{P1.hex()}")
    assert thread["post"]["text"] == TEXTS[P1] and thread["truncated"] is False
    erased, reply = thread["comments"]
    assert (erased["id"], erased["depth"], erased["status"], erased["text"], erased["text_state"]) == (
        C1.hex(), 1, "erased", None, "erased")
    assert erased["author"] == MULTI_ID.hex()
    assert (reply["id"], reply["depth"], reply["parent"], reply["text"]) == (C2.hex(), 2, C1.hex(), TEXTS[C2])
    assert TEXTS[C1] not in json.dumps(thread, ensure_ascii=False)
    assert_api_error(404, "NOT_FOUND", lambda: get(devnet, f"/v1/agora/posts/{'00' * 16}"))
    assert_api_error(404, "NOT_FOUND", lambda: get(devnet, f"/v1/agora/spaces/{'00' * 16}/proposals"))
    assert_api_error(400, "BAD_REQUEST", lambda: get(devnet, f"/v1/agora/spaces/{TOWN.hex()}/proposals?status=x"))


def test_texts_refused(devnet: Devnet, chain: Signer) -> None:
    stranger = SigningKey(bytes([0x5E]) * 32)
    unknown = ident("never posted")
    assert_api_error(404, "NOT_FOUND", lambda: post_text(devnet, unknown, "hello"))
    assert_api_error(404, "NOT_FOUND", lambda: post_json(devnet, {"post": unknown.hex(), "text": "x", "tx": "00ff"}))
    other = chain.tx(PIA, "agora.propose", (ident("other"), TOWN, text_hash("x")))  # signed, never submitted
    assert_api_error(404, "NOT_FOUND", lambda: post_text(devnet, unknown, "x", other.raw))
    assert_api_error(404, "NOT_FOUND", lambda: post_text(devnet, ident("other"), "x", other.raw))
    alien = sign_tx(stranger, devnet.chain_id, "agora.propose", 0, FAR_EXPIRY, (unknown, TOWN, text_hash("spam")))
    assert_api_error(403, "UNKNOWN_SIGNER", lambda: devnet.api.submit(alien))
    assert_api_error(404, "NOT_FOUND", lambda: post_text(devnet, unknown, "spam", alien.raw))
    assert_api_error(422, "HASH_MISMATCH", lambda: post_text(devnet, P1, TEXTS[P1] + "!"))
    assert_api_error(413, "TEXT_TOO_LARGE", lambda: post_text(devnet, P1, "è" * 9000))
    assert_api_error(410, "POST_ERASED", lambda: post_text(devnet, C1, TEXTS[C1]))
    assert_api_error(400, "BAD_REQUEST", lambda: post_json(devnet, {"post": P1.hex(), "text": "x", "more": 1}))
    assert post_text(devnet, P1, TEXTS[P1])["status"] == "stored"  # given again: the same text


def test_pending_texts_stay_in_memory_and_are_bounded(devnet: Devnet, chain: Signer) -> None:
    """Transactions parked behind a nonce gap are pending: their texts are held, in memory only, 8 per key."""
    key = TRIO[1]
    base = devnet.api.account(key.pubkey)["pending_nonce"]
    parked = []
    for i in range(9):
        post, text = ident(f"parked {i}"), f"testo in attesa numero {i} zq"
        tx = sign_tx(key, devnet.chain_id, "agora.propose", base + 1 + i, FAR_EXPIRY, (post, TOWN, text_hash(text)))
        devnet.api.submit(tx)
        parked.append((post, text, tx))
    for post, text, tx in parked[:8]:
        assert post_text(devnet, post, text, tx.raw)["status"] == "pending"
    post, text, tx = parked[8]
    assert_api_error(429, "TEXT_QUOTA", lambda: post_text(devnet, post, text, tx.raw))
    needle = b"testo in attesa numero 0 zq"
    assert not [p for p in devnet.node.home.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_ballots_and_votes(devnet: Devnet, chain: Signer) -> None:
    public = get(devnet, f"/v1/agora/ballots/{PUBLIC.hex()}")
    assert (public["mode"], public["status"], public["counts"], public["cast"], public["outcome"]) == (
        "public", "open", [1, 1, 0], 2, None)
    assert public["eligible"] == 2 and public["reveal_until_ms"] is None  # anna is not registered here
    secret = get(devnet, f"/v1/agora/ballots/{SECRET.hex()}")
    assert (secret["mode"], secret["status"], secret["counts"], secret["cast"]) == ("commit-reveal", "open", None, None)
    vote = get(devnet, f"/v1/agora/ballots/{PUBLIC.hex()}/votes/{MULTI_ID.hex()}")
    assert (vote["option"], vote["label"], vote["committed"]) == (0, "sì", False)
    committed = get(devnet, f"/v1/agora/ballots/{SECRET.hex()}/votes/{PIA_ID.hex()}")
    assert (committed["option"], committed["label"], committed["committed"]) == (None, None, True)
    assert_api_error(404, "NOT_FOUND", lambda: get(devnet, f"/v1/agora/ballots/{SECRET.hex()}/votes/{MULTI_ID.hex()}"))
    assert_api_error(404, "NOT_FOUND", lambda: get(devnet, f"/v1/agora/ballots/{'00' * 16}"))
    assert_api_error(400, "BAD_REQUEST", lambda: get(devnet, f"/v1/agora/ballots/{PUBLIC.hex()}/votes/zz"))


def test_the_wallet_client_reads_the_same(devnet: Devnet, chain: Signer) -> None:
    client = NodeClient(devnet.node.url)
    assert client.agora_spaces() == get(devnet, "/v1/agora/spaces")
    assert client.agora_space(TOWN) == get(devnet, f"/v1/agora/spaces/{TOWN.hex()}")
    assert client.agora_proposals(TOWN, status="hidden")["proposals"][0]["id"] == P3.hex()
    assert client.agora_post(P1) == get(devnet, f"/v1/agora/posts/{P1.hex()}")
    assert client.agora_ballot(PUBLIC)["counts"] == [1, 1, 0]
    assert client.agora_vote(PUBLIC, PIA_ID)["label"] == "no"
    assert client.agora_text(P2, TEXTS[P2])["status"] == "stored"
    with pytest.raises(NodeError) as refused:
        client.agora_ballot(bytes(16))
    assert (refused.value.status, refused.value.code) == (404, "NOT_FOUND")
