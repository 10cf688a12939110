"""The /v1 API of a real node process, against docs/api-contract.md.

Scenario (one devnet node for the module):
1. The node serves the OpenAPI document generated from the routes it serves
   (tests/functional/test_api_contract.py holds the server to it).
2. anna pays marco through POST /v1/txs and through POST /v1/txs/batch (msgpack
   and JSON); the transfers commit and the balances move.
3. The history pages newest first with its cursor; blocks come as JSON and as
   raw bytes whose certificate carries the validator's valid precommit.
4. A transfer beyond the balance commits with INSUFFICIENT_BALANCE: the nonce
   is consumed, no credit moves.
5. Two conflicting prevotes forged with the validator's own node key, reported
   as consensus.evidence, are listed by GET /v1/evidence (in key order, paged)
   and in the validator's history; reporting the offence again is
   EVIDENCE_EXISTS.
6. Every kind of bad input gets its 4xx status and contract error code, and
   afterwards the node still serves, the state root and balances unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ledger.address import from_address, to_address
from ledger.block import decode_raw_block, verify_precommit
from ledger.credit_txs import TRANSFER
from ledger.crypto import SigningKey
from ledger.encoding import encode
from ledger.evidence import EVIDENCE, build_evidence_body
from ledger.tx import sign_tx
from ledger.votes import PRECOMMIT, PREVOTE, sign_vote
from node import vault_api
from node.config import load_config
from node.devnet_layout import DEMO_CLASS
from node.openapi import openapi_document
from node.routes.core import CORE
from tests.functional.framework import (
    FAR_EXPIRY,
    JSON,
    MSGPACK,
    TEST_MAX_BODY_BYTES,
    Devnet,
    assert_api_error,
    running_devnet,
)


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    yield from running_devnet(tmp_path_factory.mktemp("api") / "devnet")


def snapshot(devnet: Devnet) -> dict[str, Any]:
    status = devnet.api.status()
    return {
        "state_root": status["state_root"],
        "mempool_size": status["mempool_size"],
        "accounts": {name: devnet.api.account(key.pubkey) for name, key in sorted(devnet.keys.items())},
    }


def assert_unchanged(devnet: Devnet, before: dict[str, Any]) -> None:
    """At least one more block later, nothing the bad request could have touched has moved."""
    devnet.api.wait_height(devnet.api.status()["height"] + 1)
    assert snapshot(devnet) == before


# --- the document -------------------------------------------------------------------------------


def test_the_node_serves_the_document_of_its_routes(devnet: Devnet) -> None:
    served = devnet.api.get("/v1/openapi.json")
    assert served["openapi"] == "3.1.0"
    config = load_config(devnet.node.home)
    assert config.vault.enabled, "the devnet's first node serves the federation's vault"
    expected = openapi_document([*CORE, vault_api.routes], config.api)
    assert served == json.loads(json.dumps(expected))
    assert "/v1/vault/records" in served["paths"] and "/v1/txs/batch" in served["paths"]


def test_status_names_the_chain_and_role(devnet: Devnet) -> None:
    status = devnet.api.status()
    assert status["chain_id"] == devnet.chain_id
    assert status["genesis_hash"] == devnet.layout.genesis.hash().hex()
    assert status["role"] == "validator"
    assert status["node_address"] == devnet.layout.genesis.validators[0].pubkey
    assert status["height"] >= 0 and status["mempool_size"] >= 0


def test_status_reports_the_rules_the_node_runs_which_its_genesis_names(devnet: Devnet) -> None:
    """The module list (names, versions, types) and its digest: two nodes compare rules at a glance."""
    from genesis.rules import RULES

    rules = devnet.api.status()["rules"]
    assert [(m["name"], m["version"]) for m in rules["modules"]] == [("credits", 1), ("identity", 1), ("evidence", 1),
                                                                     ("market", 1), ("gas", 1), ("agora", 1)]
    assert rules == {"modules": RULES.describe(), "digest": RULES.digest.hex()}
    assert [tuple(pair) for pair in devnet.layout.genesis.modules] == list(RULES.identity)
    assert "credits.transfer" in rules["modules"][0]["types"]


# --- happy paths ---------------------------------------------------------------------------------


def test_metrics_expose_height_throughput_and_latency_in_prometheus_text(devnet: Devnet) -> None:
    tx = devnet.transfer("anna", "marco", 1, devnet.next_nonce("anna"))
    devnet.api.submit(tx)
    devnet.api.wait_committed(tx.hash)
    status, body, content_type = devnet.api.request("GET", "/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    samples = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    height = devnet.api.status()["height"]
    assert height - 1 <= samples["incoop_height"] <= height
    assert samples["incoop_txs_committed_total"] >= 1 and samples["incoop_blocks_committed_total"] >= 1
    assert samples["incoop_tx_per_second"] > 0
    assert samples["incoop_peers"] == 0 and samples["incoop_mempool_size"] >= 0
    count = samples["incoop_commit_latency_seconds_count"]
    assert count >= 1 and samples['incoop_commit_latency_seconds_bucket{le="+Inf"}'] == count
    for name in ("incoop_consensus_round", "incoop_rounds_last_height", "incoop_round_timeouts_total",
                 "incoop_catching_up", "incoop_p2p_frames_in"):
        assert name in samples, name


def test_transfer_single_and_batch_commit_and_move_balances(devnet: Devnet) -> None:
    api = devnet.api
    anna, marco = devnet.keys["anna"].pubkey, devnet.keys["marco"].pubkey
    before_anna, before_marco = api.balance(anna), api.balance(marco)
    nonce = devnet.next_nonce("anna")

    single = devnet.transfer("anna", "marco", 150, nonce, memo="pizza")
    assert api.submit(single) == {"hash": single.hash.hex(), "status": "pending"}
    batch = [devnet.transfer("anna", "marco", 10, nonce + i) for i in (1, 2)]
    results = api.submit_batch(batch)
    assert results == [{"hash": tx.hash.hex(), "status": "pending"} for tx in batch]
    as_json = devnet.transfer("anna", "marco", 5, nonce + 3)
    results = api.post("/v1/txs/batch", json.dumps({"txs": [as_json.raw.hex()]}).encode(), JSON)["results"]
    assert results == [{"hash": as_json.hash.hex(), "status": "pending"}]
    one_json = devnet.transfer("anna", "marco", 5, nonce + 4)
    assert api.post("/v1/txs", json.dumps({"tx": one_json.raw.hex()}).encode(), JSON)["status"] == "pending"

    for tx in [single, *batch, as_json, one_json]:
        status = api.wait_committed(tx.hash)
        assert status["result"] == {"code": "OK", "message": "ok"}
        assert status["height"] >= 1 and status["index"] >= 0
    assert api.balance(anna) == before_anna - 180
    assert api.balance(marco) == before_marco + 180
    assert api.account(anna)["nonce"] == nonce + 5


def test_history_paginates_newest_first(devnet: Devnet) -> None:
    api = devnet.api
    address = to_address(devnet.keys["marco"].pubkey)
    full = api.get(f"/v1/accounts/{address}/txs?limit=200")
    assert len(full["txs"]) >= 5 and full["next"] is None
    positions = [(t["height"], t["index"]) for t in full["txs"]]
    assert positions == sorted(positions, reverse=True)

    paged, cursor = [], None
    while True:
        query = "limit=2" + (f"&before={cursor}" if cursor else "")
        page = api.get(f"/v1/accounts/{address}/txs?{query}")
        assert len(page["txs"]) <= 2
        paged.extend(page["txs"])
        cursor = page["next"]
        if cursor is None:
            break
    assert paged == full["txs"]
    newest = full["txs"][0]
    assert set(newest) == {"hash", "height", "index", "type", "signer", "body", "result"}
    assert newest["type"] == TRANSFER.name and newest["body"][1] == address


def test_block_json_and_raw_carry_a_valid_certificate(devnet: Devnet) -> None:
    api = devnet.api
    tx = devnet.transfer("marco", "anna", 1, devnet.next_nonce("marco"), memo="grazie")
    api.submit(tx)
    height = api.wait_committed(tx.hash)["height"]

    block = api.block(height)
    assert block["height"] == height
    assert block["header"]["proposer"] == devnet.layout.genesis.validators[0].pubkey
    assert block["header"]["chain_id"] == devnet.chain_id
    ours = next(t for t in block["txs"] if t["hash"] == tx.hash.hex())
    assert ours["body"] == [DEMO_CLASS, to_address(devnet.keys["anna"].pubkey), 1, "grazie"]
    assert ours["signer"] == to_address(devnet.keys["marco"].pubkey) and ours["result"]["code"] == "OK"
    assert api.block("latest")["height"] >= height

    raw = api.get_raw(f"/v1/blocks/{height}/raw")
    decoded, certificate = decode_raw_block(raw)
    assert decoded.hash().hex() == block["hash"] == certificate.block_hash.hex()
    assert decoded.header.state_root.hex() == block["header"]["state_root"]
    assert tx.raw in decoded.txs
    validator = from_address(devnet.layout.genesis.validators[0].pubkey)
    [(signer, signature)] = certificate.signatures
    assert signer == validator
    assert verify_precommit(devnet.chain_id, signer, height, certificate.round, certificate.block_hash, signature)
    assert block["certificate"]["signatures"] == [{"validator": to_address(signer), "signature": signature.hex()}]


def test_classes(devnet: Devnet) -> None:
    classes = devnet.api.get("/v1/classes")["classes"]
    assert [c["id"] for c in classes] == [DEMO_CLASS]
    assert classes[0]["issuer"] == to_address(devnet.keys["federation"].pubkey)
    assert devnet.api.get(f"/v1/classes/{DEMO_CLASS}") == classes[0]
    assert_api_error(404, "NOT_FOUND", lambda: devnet.api.get("/v1/classes/no-such-class"))
    demo = classes[0]
    assert (demo["kind"], demo["transferability"], demo["categories"], demo["eligibility"]) == ("community", "p2p", [], [])
    assert (demo["valid_until_ms"], demo["budget"], demo["description_hash"], demo["expired"]) == (None, None, None, False)
    assert demo["issued"] == demo["supply"] + demo["redeemed"] + demo["reclaimed"]


def test_class_statement_and_holders(devnet: Devnet) -> None:
    statement = devnet.api.get(f"/v1/classes/{DEMO_CLASS}/statement")
    assert statement["class"]["id"] == DEMO_CLASS
    assert (statement["spent"], statement["redeemed_by"], statement["reclaimed"]) == ([], [], 0)
    assert statement["held"] == statement["class"]["supply"]
    everyone = devnet.api.get(f"/v1/classes/{DEMO_CLASS}/holders?limit=1000")
    assert everyone["next"] is None and len(everyone["holders"]) >= 2
    assert sum(h["amount"] for h in everyone["holders"]) == devnet.api.get(f"/v1/classes/{DEMO_CLASS}")["supply"]
    paged, after = [], None
    while True:
        page = devnet.api.get(f"/v1/classes/{DEMO_CLASS}/holders?limit=1" + (f"&after={after}" if after else ""))
        paged += page["holders"]
        after = page["next"]
        if after is None:
            break
    assert paged == everyone["holders"]
    assert_api_error(404, "NOT_FOUND", lambda: devnet.api.get("/v1/classes/no-such-class/statement"))
    assert_api_error(404, "NOT_FOUND", lambda: devnet.api.get("/v1/classes/no-such-class/holders"))
    assert_api_error(400, "BAD_REQUEST", lambda: devnet.api.get(f"/v1/classes/{DEMO_CLASS}/holders?limit=1001"))
    assert_api_error(400, "INVALID_ADDRESS", lambda: devnet.api.get(f"/v1/classes/{DEMO_CLASS}/holders?after=nope"))


def test_transfer_beyond_balance_is_refused_at_admission_with_its_result_code(devnet: Devnet) -> None:
    """Check-tx (docs/admission.md): a transaction that would fail is answered with its code at once
    and never takes a nonce or a place in a block. (In a block, a failed transaction still consumes its
    nonce: tests/test_transition.py.)"""
    api = devnet.api
    anna, marco = devnet.keys["anna"].pubkey, devnet.keys["marco"].pubkey
    before = (api.balance(anna), api.balance(marco))
    nonce = devnet.next_nonce("anna")
    tx = devnet.transfer("anna", "marco", before[0] + 1, nonce)
    assert_api_error(422, "INSUFFICIENT_BALANCE", lambda: api.submit(tx))
    assert api.tx(tx.hash)["status"] == "unknown"
    assert api.account(anna)["nonce"] == nonce and api.account(anna)["pending_nonce"] == nonce
    affordable = devnet.transfer("anna", "marco", 1, nonce)  # the nonce is still free
    api.submit(affordable)
    assert api.wait_committed(affordable.hash)["result"]["code"] == "OK"
    assert (api.balance(anna), api.balance(marco)) == (before[0] - 1, before[1] + 1)


def test_double_votes_reported_as_evidence_are_listed(devnet: Devnet) -> None:
    api = devnet.api
    node_key = devnet.nodes[0].node_key()
    validator = to_address(node_key.pubkey)
    assert api.get("/v1/evidence") == {"evidence": [], "next": None}

    # three offences of the one validator, reported by itself (the driver signs with its node key)
    offences = [(PREVOTE, 2**40, 1), (PREVOTE, 5, 3), (PRECOMMIT, 5, 3)]
    nonce = devnet.next_nonce(node_key)
    txs = []
    for i, (vote_type, height, round_) in enumerate(offences):
        a = sign_vote(node_key, devnet.chain_id, vote_type, height, round_, b"\xaa" * 32)
        b = sign_vote(node_key, devnet.chain_id, vote_type, height, round_, None)
        txs.append(sign_tx(node_key, devnet.chain_id, EVIDENCE.name, nonce + i, FAR_EXPIRY, build_evidence_body(a, b)))
    for tx in txs:
        api.submit(tx)
    for tx in txs:
        assert api.wait_committed(tx.hash)["result"] == {"code": "OK", "message": "ok"}
    included = api.tx(txs[0].hash)["height"]

    listed = api.get("/v1/evidence?limit=200")
    assert listed["next"] is None
    assert [(e["height"], e["round"], e["type"]) for e in listed["evidence"]] == [
        (5, 3, "prevote"), (5, 3, "precommit"), (2**40, 1, "prevote"),
    ], "key order: validator, BE8(height), BE4(round), type"
    assert listed["evidence"][2] == {
        "validator": validator, "height": 2**40, "round": 1, "type": "prevote",
        "block_hash_a": None, "block_hash_b": "aa" * 32,  # canonical order: nil (c0) sorts before a hash (c4 20 …)
        "included_height": included, "reporter": validator,
    }

    paged, cursor = [], None
    while True:
        page = api.get("/v1/evidence?limit=2" + (f"&after={cursor}" if cursor else ""))
        assert len(page["evidence"]) <= 2
        paged.extend(page["evidence"])
        cursor = page["next"]
        if cursor is None:
            break
    assert paged == listed["evidence"]

    history = api.get(f"/v1/accounts/{validator}/txs")["txs"]
    assert {t["hash"] for t in history} >= {tx.hash.hex() for tx in txs}

    # the same offence again, reported by someone else: refused at admission (check-tx), recorded once
    again = sign_tx(devnet.keys["anna"], devnet.chain_id, EVIDENCE.name, devnet.next_nonce("anna"), FAR_EXPIRY, txs[0].body)
    assert_api_error(422, "EVIDENCE_EXISTS", lambda: api.submit(again))
    assert api.get("/v1/evidence?limit=200") == listed


# --- bad input ------------------------------------------------------------------------------------


def _forge_signature(raw: bytes) -> bytes:
    return raw[:-1] + bytes([raw[-1] ^ 0x01])


def _non_canonical(raw: bytes) -> bytes:
    # the version 1 as a two-byte uint8 instead of a positive fixint: same value, other bytes
    assert raw[:2] == b"\x98\x01"
    return b"\x98\xcc\x01" + raw[2:]


def _bad_address(devnet: Devnet) -> str:
    address = to_address(devnet.keys["anna"].pubkey)
    return address[:-1] + ("a" if address[-1] != "a" else "b")


def _post_tx(raw: bytes) -> Callable[[Devnet], Any]:
    return lambda d: d.api.post("/v1/txs", raw)


def _transfer(d: Devnet, **kw: Any) -> Any:
    return d.transfer("anna", "marco", kw.pop("amount", 1), kw.pop("nonce", d.next_nonce("anna")), **kw)


BAD_INPUTS: dict[str, tuple[int, str, Callable[[Devnet], Any]]] = {
    "garbage bytes": (400, "MALFORMED", _post_tx(b"\xc1\xff\x00")),
    "empty body": (400, "MALFORMED", _post_tx(b"")),
    "wrong shape": (400, "MALFORMED", _post_tx(encode((1, 2, 3)))),
    "non-canonical encoding": (400, "MALFORMED", lambda d: d.api.post("/v1/txs", _non_canonical(_transfer(d).raw))),
    "trailing bytes": (400, "MALFORMED", lambda d: d.api.post("/v1/txs", _transfer(d).raw + b"\x00")),
    "bad signature": (400, "BAD_SIGNATURE", lambda d: d.api.post("/v1/txs", _forge_signature(_transfer(d).raw))),
    "wrong chain": (400, "WRONG_CHAIN", lambda d: d.api.submit(
        sign_tx(d.keys["anna"], "another-chain", TRANSFER.name, d.next_nonce("anna"), FAR_EXPIRY, (DEMO_CLASS, d.keys["marco"].pubkey, 1, "")))),
    "expired": (400, "EXPIRED", lambda d: d.api.submit(_transfer(d, expiry=d.api.status()["height"]))),
    "nonce too far": (409, "NONCE_TOO_FAR", lambda d: d.api.submit(_transfer(d, nonce=d.next_nonce("anna") + 256))),
    "nonce beyond the node's window": (409, "NONCE_TOO_FAR", lambda d: d.api.submit(_transfer(d, nonce=d.next_nonce("anna") + 64))),
    "a stranger's transaction": (403, "UNKNOWN_SIGNER", lambda d: d.api.submit(d.transfer(SigningKey(b"\x42" * 32), "anna", 1, 0))),
    "expiry beyond the horizon": (400, "EXPIRY_TOO_FAR", lambda d: d.api.submit(_transfer(d, expiry=2**63 - 1))),
    "beyond the balance": (422, "INSUFFICIENT_BALANCE", lambda d: d.api.submit(_transfer(d, amount=10**12))),
    "unknown class": (422, "UNKNOWN_CLASS", lambda d: d.api.submit(
        sign_tx(d.keys["anna"], d.chain_id, TRANSFER.name, d.next_nonce("anna"), FAR_EXPIRY, ("ghost", d.keys["marco"].pubkey, 1, "")))),
    "replayed nonce": (409, "BAD_NONCE", lambda d: d.api.submit(_transfer(d, nonce=0, memo="again"))),
    "unknown type": (400, "UNKNOWN_TYPE", lambda d: d.api.submit(
        sign_tx(d.keys["anna"], d.chain_id, "credits.steal", d.next_nonce("anna"), FAR_EXPIRY, (DEMO_CLASS, 1)))),
    "overflow amount": (400, "MALFORMED", lambda d: d.api.submit(_transfer(d, amount=2**63))),
    "zero amount": (400, "MALFORMED", lambda d: d.api.submit(_transfer(d, amount=0))),
    "memo too long": (400, "MALFORMED", lambda d: d.api.submit(_transfer(d, memo="x" * 129))),
    "transaction too large": (400, "TOO_LARGE", _post_tx(b"\x00" * (16 * 1024 + 1))),
    "oversized body": (413, "BODY_TOO_LARGE", _post_tx(b"\x00" * (TEST_MAX_BODY_BYTES + 1))),
    "wrong content type": (415, "UNSUPPORTED_MEDIA_TYPE", lambda d: d.api.post("/v1/txs", _transfer(d).raw, "text/plain")),
    "no content type": (415, "UNSUPPORTED_MEDIA_TYPE", lambda d: d.api.request("POST", "/v1/txs", _transfer(d).raw)),
    "json not json": (400, "BAD_REQUEST", lambda d: d.api.post("/v1/txs", b"{not json", JSON)),
    "json wrong field": (400, "BAD_REQUEST", lambda d: d.api.post("/v1/txs", b'{"transaction": "00"}', JSON)),
    "json not hex": (400, "MALFORMED", lambda d: d.api.post("/v1/txs", b'{"tx": "zz"}', JSON)),
    "json upper-case hex": (400, "MALFORMED", lambda d: d.api.post("/v1/txs", json.dumps({"tx": _transfer(d).raw.hex().upper()}).encode(), JSON)),
    "json hex with spaces": (400, "MALFORMED", lambda d: d.api.post("/v1/txs", json.dumps({"tx": " " + _transfer(d).raw.hex()}).encode(), JSON)),
    "json extra field": (400, "BAD_REQUEST", lambda d: d.api.post("/v1/txs", json.dumps({"tx": _transfer(d).raw.hex(), "x": 1}).encode(), JSON)),
    "batch json upper-case hex": (400, "MALFORMED", lambda d: d.api.post("/v1/txs/batch", json.dumps({"txs": [_transfer(d).raw.hex().upper()]}).encode(), JSON)),
    "batch json extra field": (400, "BAD_REQUEST", lambda d: d.api.post("/v1/txs/batch", b'{"txs": [], "more": []}', JSON)),
    "batch not an array": (400, "BAD_REQUEST", lambda d: d.api.post("/v1/txs/batch", encode(5))),
    "batch of non-bytes": (400, "BAD_REQUEST", lambda d: d.api.post("/v1/txs/batch", encode((1, 2)))),
    "batch wrong content type": (415, "UNSUPPORTED_MEDIA_TYPE", lambda d: d.api.post("/v1/txs/batch", b"[]", "text/plain")),
    "mistyped address": (400, "INVALID_ADDRESS", lambda d: d.api.get(f"/v1/accounts/{_bad_address(d)}")),
    "not an address": (400, "INVALID_ADDRESS", lambda d: d.api.get("/v1/accounts/bob")),
    "mistyped address history": (400, "INVALID_ADDRESS", lambda d: d.api.get(f"/v1/accounts/{_bad_address(d)}/txs")),
    "history limit zero": (400, "BAD_REQUEST", lambda d: d.api.get(f"/v1/accounts/{to_address(d.keys['anna'].pubkey)}/txs?limit=0")),
    "history limit too big": (400, "BAD_REQUEST", lambda d: d.api.get(f"/v1/accounts/{to_address(d.keys['anna'].pubkey)}/txs?limit=201")),
    "history bad cursor": (400, "BAD_REQUEST", lambda d: d.api.get(f"/v1/accounts/{to_address(d.keys['anna'].pubkey)}/txs?before=x")),
    "evidence limit zero": (400, "BAD_REQUEST", lambda d: d.api.get("/v1/evidence?limit=0")),
    "evidence limit too big": (400, "BAD_REQUEST", lambda d: d.api.get("/v1/evidence?limit=201")),
    "evidence bad cursor": (400, "BAD_REQUEST", lambda d: d.api.get("/v1/evidence?after=00")),
    "evidence upper-case cursor": (400, "BAD_REQUEST", lambda d: d.api.get("/v1/evidence?after=" + "AA" * 45)),
    "bad hash hex": (400, "BAD_REQUEST", lambda d: d.api.get("/v1/txs/" + "zz" * 32)),
    "short hash": (400, "BAD_REQUEST", lambda d: d.api.get("/v1/txs/abcd")),
    "upper-case hash": (400, "BAD_REQUEST", lambda d: d.api.get("/v1/txs/" + "AB" * 32)),
    "get on the batch": (405, "METHOD_NOT_ALLOWED", lambda d: d.api.get("/v1/txs/batch")),
    "padded address": (400, "INVALID_ADDRESS", lambda d: d.api.get(f"/v1/accounts/%20{to_address(d.keys['anna'].pubkey)}")),
    "upper-case address": (400, "INVALID_ADDRESS", lambda d: d.api.get(f"/v1/accounts/{to_address(d.keys['anna'].pubkey).upper()}")),
    "history limit signed": (400, "BAD_REQUEST", lambda d: d.api.get(f"/v1/accounts/{to_address(d.keys['anna'].pubkey)}/txs?limit=%2B5")),
    "history limit twice": (400, "BAD_REQUEST", lambda d: d.api.get(f"/v1/accounts/{to_address(d.keys['anna'].pubkey)}/txs?limit=5&limit=6")),
    "history cursor out of range": (400, "BAD_REQUEST", lambda d: d.api.get(f"/v1/accounts/{to_address(d.keys['anna'].pubkey)}/txs?before=9223372036854775808:0")),
    "malformed class id": (400, "BAD_REQUEST", lambda d: d.api.get("/v1/classes/No_Such")),
    "proof without class": (400, "BAD_REQUEST", lambda d: d.api.get(f"/v1/accounts/{to_address(d.keys['anna'].pubkey)}/proof")),
    "proof of a malformed class": (400, "BAD_REQUEST", lambda d: d.api.get(f"/v1/accounts/{to_address(d.keys['anna'].pubkey)}/proof?class=No_Such")),
    "upper-case identity id": (400, "BAD_REQUEST", lambda d: d.api.get("/v1/identities/" + "AB" * 16)),
    "unknown block": (404, "NOT_FOUND", lambda d: d.api.block(10**12)),
    "unknown raw block": (404, "NOT_FOUND", lambda d: d.api.get_raw(f"/v1/blocks/{10**12}/raw")),
    "genesis is no block": (404, "NOT_FOUND", lambda d: d.api.block(0)),
    "bad height": (400, "BAD_REQUEST", lambda d: d.api.block("-1")),
    "huge height": (400, "BAD_REQUEST", lambda d: d.api.block("9" * 30)),
    "unknown path": (404, "NOT_FOUND", lambda d: d.api.get("/v1/nothing-here")),
    "wrong method": (405, "METHOD_NOT_ALLOWED", lambda d: d.api.request("DELETE", "/v1/status")),
    "get on a post route": (405, "METHOD_NOT_ALLOWED", lambda d: d.api.request("GET", "/v1/txs")),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_and_changes_nothing(devnet: Devnet, case: str) -> None:
    status, code, call = BAD_INPUTS[case]
    before = snapshot(devnet)
    assert_api_error(status, code, lambda: call(devnet))
    assert devnet.api.status()["chain_id"] == devnet.chain_id  # still serving
    assert_unchanged(devnet, before)


def test_pending_duplicates_and_rejections_are_reported(devnet: Devnet) -> None:
    """A tx behind a nonce gap waits; its hash or its nonce again is DUPLICATE; expiry drops it."""
    api = devnet.api
    before = snapshot(devnet)
    gap_nonce = devnet.next_nonce("anna") + 5
    waiting = devnet.transfer("anna", "marco", 1, gap_nonce, expiry=api.status()["height"] + 8)
    api.submit(waiting)
    assert api.tx(waiting.hash)["status"] == "pending"
    assert_api_error(409, "DUPLICATE", lambda: api.submit(waiting))
    rival = devnet.transfer("anna", "marco", 2, gap_nonce)
    assert_api_error(409, "DUPLICATE", lambda: api.submit(rival))
    results = api.submit_batch([waiting, rival])
    assert [r["error"]["code"] for r in results] == ["DUPLICATE", "DUPLICATE"]
    assert results[0]["hash"] == waiting.hash.hex()

    def rejected() -> dict | None:
        status = api.tx(waiting.hash)
        return status if status["status"] == "rejected" else None

    from tests.functional.framework import wait_until

    status = wait_until(rejected, 10, what="the waiting tx to expire")
    assert status["error"]["code"] == "EXPIRED"
    assert api.tx(rival.hash)["status"] == "unknown"
    assert_unchanged(devnet, before)


def test_batch_reports_each_item_in_order(devnet: Devnet) -> None:
    api = devnet.api
    nonce = devnet.next_nonce("marco")
    good = devnet.transfer("marco", "anna", 1, nonce)
    forged = _forge_signature(devnet.transfer("marco", "anna", 2, nonce + 1).raw)
    body = encode((good.raw, b"\xc1", forged, good.raw))
    results = api.post("/v1/txs/batch", body, MSGPACK)["results"]
    assert results[0] == {"hash": good.hash.hex(), "status": "pending"}
    assert results[1]["hash"] is None and results[1]["error"]["code"] == "MALFORMED"
    assert results[2]["error"]["code"] == "BAD_SIGNATURE"
    assert results[3]["error"]["code"] == "DUPLICATE"
    assert api.wait_committed(good.hash)["result"]["code"] == "OK"


def test_unknown_account_and_unknown_tx_are_empty_not_errors(devnet: Devnet) -> None:
    stranger = SigningKey(b"\x42" * 32).pubkey
    assert devnet.api.account(stranger) == {
        "address": to_address(stranger), "nonce": 0, "pending_nonce": 0, "balances": [], "identity": None,
    }
    assert devnet.api.get(f"/v1/accounts/{to_address(stranger)}/txs") == {"txs": [], "next": None}
    assert devnet.api.tx(b"\x07" * 32) == {"hash": "07" * 32, "status": "unknown"}
