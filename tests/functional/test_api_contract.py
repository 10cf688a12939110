"""The API document is the server's own contract: schemathesis against a real node (issue 12, finding 11).

Scenario (one devnet validator, serving the federation's vault):
1. Some history first, so that generated requests find real things: transfers
   commit, an identity is registered on chain with its record in the vault,
   and the marketplace holds a listing, orders (one completed and reviewed)
   and an open purchase group (tests/functional/market_setup.py).
2. The document the node serves at /v1/openapi.json lists exactly the routes it
   serves, method by method, and a fixed path is not mistaken for a template
   (GET /v1/txs/batch is 405: the document never advertised it).
3. Schemathesis loads that document from the node and, for every operation it
   lists, sends a bounded number of generated requests (examples, coverage and
   fuzzing phases; positive ones valid by the document, negative ones breaking
   it in one place), with every check on: no server error, status codes,
   content types, response schemas and headers as documented, valid data
   accepted, invalid data refused, required headers, unsupported methods,
   authentication enforced. What JSON Schema cannot state is made true by the
   generator for valid requests, never by loosening a check: a transaction is
   a real signed one, an address (any parameter the document gives the
   address format) has its checksum, a tax code its check
   character and the record's date of birth; vault requests are signed by the
   registrar, as `NodeClient` signs them.
4. Afterwards the node still serves and still commits blocks.

INCOOP_CONTRACT_EXAMPLES (default 25) bounds the fuzzing examples per
operation, INCOOP_CONTRACT_SEED (default fixed) picks the run.
"""

from __future__ import annotations

import datetime
import os
import random
import string
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi_checks
from schemathesis.transport.serialization import serialize_binary

from identity.taxcode import (
    MONTH_LETTERS,
    OFFICE_CODES,
    codice_fiscale_check_char,
    partita_iva_check_digit,
)
from keys.request_auth import sign_request
from ledger.address import AddressError, from_address, to_address
from ledger.crypto import SigningKey
from ledger.encoding import EncodingError, decode, encode
from ledger.errors import TxError
from ledger.tx import decode_tx
from node.config import load_config, write_config
from node.devnet_layout import DEMO_CLASS
from node.routes.txs import BATCH_FORMAT, TX_FORMAT
from node.routes.types import ADDRESS_FORMAT
from tests.functional.agora_setup import seed_agora, with_agora
from tests.functional.framework import FAR_EXPIRY, Devnet, make_devnet
from tests.functional.market_setup import seed_market, with_market
from tests.functional.test_vault_api import ANNA_RECORD, register_identity
from wallet.client import NodeClient

EXAMPLES = int(os.environ.get("INCOOP_CONTRACT_EXAMPLES", "25"))
SEED = int(os.environ.get("INCOOP_CONTRACT_SEED", "20261206"))
CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.positive_data_acceptance,
    openapi_checks.negative_data_rejection,
    openapi_checks.missing_required_header,
    openapi_checks.unsupported_method,
    openapi_checks.allow_header_conformance,
    openapi_checks.ignored_auth,
]
CONFIG = {
    "seed": SEED,
    "suppress-health-check": ["too_slow"],  # valid transactions are drawn with a nonce read from the node
    "generation": {"mode": "all", "max-examples": EXAMPLES, "database": "none", "with-security-parameters": False},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": False}},
    "request-timeout": 20,
}
MSGPACK = "application/msgpack"
RNG = random.Random(SEED)
MAX_BATCH = 64
SENT: defaultdict[tuple[str, str], Counter[tuple[str, int]]] = defaultdict(Counter)
# operations with no parameter and no body: no request can break their declaration (a wrong method is
# checked on every operation by `unsupported_method`)
NOTHING_TO_BREAK = {("GET", "/v1/status"), ("GET", "/metrics"), ("GET", "/v1/classes")}
SEARCHES = {"/v1/market/listings", "/v1/market/orders", "/v1/gas/groups", "/v1/agora/spaces/{id}/proposals",
            "/v1/agora/spaces/{id}/budgets"}


# --- the node and its history ------------------------------------------------------------------------


class Chain:
    """What the generator draws real values from: the devnet, its accounts, ids and hashes that exist."""

    def __init__(self, devnet: Devnet, identity_id: bytes, tx_hashes: list[str], market: dict[str, Any],
                 agora: dict[str, Any]):
        self.devnet = devnet
        self.agora = agora
        self.identity_id = identity_id
        self.tx_hashes = tx_hashes
        self.market = market
        self.addresses = [to_address(key.pubkey) for _, key in sorted(devnet.keys.items())] + \
            [market["provider"], market["arbiter"]]
        document = devnet.api.get("/v1/openapi.json")
        # (path, location, name) of every parameter that is an address: a valid request has real ones
        self.address_params = {
            (path, param["in"], param["name"])
            for path, item in document["paths"].items() for operation in item.values()
            for param in operation.get("parameters", []) if param.get("schema", {}).get("format") == ADDRESS_FORMAT}

    def pending_nonce(self, key: SigningKey) -> int:
        return self.devnet.api.account(key.pubkey)["pending_nonce"]


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    def genesis_edit(doc: dict) -> None:
        with_market(doc)
        with_agora(doc)

    devnet = make_devnet(tmp_path_factory.mktemp("contract") / "devnet", genesis_edit=genesis_edit)
    try:
        config = load_config(devnet.node.home)
        config.api.max_batch_txs = MAX_BATCH  # the document's maxItems follows the node's config
        write_config(devnet.node.home, config)
        devnet.start_all(devnet.validators)
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


@pytest.fixture(scope="module")
def chain(devnet: Devnet) -> Chain:
    txs = [devnet.transfer("anna", "marco", 5, devnet.next_nonce("anna") + i, memo="contract") for i in range(3)]
    for tx in txs:
        devnet.api.submit(tx)
    for tx in txs:
        devnet.api.wait_committed(tx.hash)
    identity_id = os.urandom(16)
    registrar = NodeClient(devnet.node.url, signer=devnet.keys["federation"], chain_id=devnet.chain_id)
    stored = registrar.vault_store(identity_id, ANNA_RECORD)
    register_identity(devnet, identity_id, ANNA_RECORD, stored["commitment"], devnet.keys["anna"])
    market = seed_market(devnet)
    agora = seed_agora(devnet)
    return Chain(devnet, identity_id, [tx.hash.hex() for tx in txs], market, agora)


# --- 2. the document lists what the node serves ------------------------------------------------------


def test_the_document_lists_exactly_the_routes_served(devnet: Devnet) -> None:
    document = devnet.api.get("/v1/openapi.json")
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    assert ("/v1/txs/batch", "POST") in documented and ("/v1/vault/records", "POST") in documented
    for path, method in sorted(documented):
        probe = path.replace("{hash}", "00" * 32).replace("{height}", "1").replace("{id}", "00" * 16)
        probe = probe.replace("{identity}", "00" * 16).replace("{address}", to_address(devnet.keys["anna"].pubkey))
        response = requests.request("OPTIONS", devnet.node.url + probe, timeout=10)
        allowed = set(response.headers.get("Allow", "").replace(" ", "").split(","))
        assert method in allowed, f"{method} {path} is documented but not served (Allow: {allowed})"
        undocumented = allowed - {"HEAD", "OPTIONS"} - {m for p, m in documented if p == path}
        assert not undocumented, f"{path} serves {undocumented} without documenting it"
    batch = requests.get(devnet.node.url + "/v1/txs/batch", timeout=10)
    assert batch.status_code == 405 and batch.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert batch.headers["Allow"] == "POST"


# --- 3. schemathesis ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_schema(devnet: Devnet, chain: Chain) -> Any:
    schemathesis.openapi.format(ADDRESS_FORMAT, st.one_of(
        st.sampled_from(chain.addresses), st.binary(min_size=32, max_size=32).map(to_address)))
    schemathesis.openapi.format(TX_FORMAT, _transfer_strategy(chain, st.just(1)).map(lambda raws: raws[0].hex()))
    schemathesis.openapi.format(BATCH_FORMAT,
                                _transfer_strategy(chain, st.integers(0, 3)).map(lambda raws: encode(tuple(raws)).hex()))
    return schemathesis.openapi.from_url(devnet.node.url + "/v1/openapi.json",
                                         config=schemathesis.Config.from_dict(CONFIG))


@schemathesis.serializer(MSGPACK)
def _msgpack_body(context: Any, value: Any) -> bytes:
    """A binary body as sent. Its formats (incoop-tx, incoop-tx-batch) are generated as lower-case hex,
    sent as the bytes; anything else generated for it (a negative case) as its JSON text, which is never
    a canonical transaction or batch (FORMAT.md §2: trailing bytes)."""
    if isinstance(value, str) and len(value) % 2 == 0 and all(c in "0123456789abcdef" for c in value):
        return bytes.fromhex(value)
    return serialize_binary(value)


pytest_plugins = ["schemathesis.pytest.plugin"]  # not loaded for the rest of the suite (pyproject.toml)
contract = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis (4.32) renames the test per operation through pytest's private `Node._nodeid`,
    which pytest 9 no longer has: give it one to rename (pytest itself reads `nodeid`)."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@contract.parametrize()
def test_the_server_keeps_its_document(case: schemathesis.Case, devnet: Devnet, chain: Chain) -> None:
    make_valid(chain, case, RNG)
    auth = RegistrarSignature(devnet) if case.path.startswith("/v1/vault/") else None
    response = case.call_and_validate(checks=CHECKS, auth=auth)
    mode = case.meta.generation.mode.value if case.meta is not None else "explicit"
    SENT[(case.operation.method.upper(), case.operation.path)][(mode, response.status_code)] += 1


def test_every_operation_was_exercised(devnet: Devnet) -> None:
    """The run above reached every documented operation, with valid and invalid requests alike."""
    document = devnet.api.get("/v1/openapi.json")
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    # schemathesis leaves out the operation it read the document from; the first test reads it
    documented.discard(("GET", "/v1/openapi.json"))
    assert set(SENT) == documented, f"not exercised: {documented - set(SENT)}"
    for operation, answers in sorted(SENT.items()):
        modes = {mode for mode, _ in answers}
        print(f"{operation[0]:6} {operation[1]:34} {sum(answers.values()):4} requests, answers "
              + ", ".join(f"{mode[:3]} {status}: {n}" for (mode, status), n in sorted(answers.items())))
        assert "positive" in modes, f"{operation}: no valid request was sent"
        assert "negative" in modes or operation in NOTHING_TO_BREAK, f"{operation}: no invalid request was sent"


def test_the_node_still_serves_and_commits(devnet: Devnet, chain: Chain) -> None:
    height = devnet.api.status()["height"]
    tx = devnet.transfer("marco", "anna", 1, chain.pending_nonce(devnet.keys["marco"]))
    devnet.api.submit(tx)
    assert devnet.api.wait_committed(tx.hash, timeout=30)["height"] > height


class RegistrarSignature(requests.auth.AuthBase):
    """Signs a request as it goes out, as NodeClient does (FORMAT.md §19.3): method, target as on the
    request line, the body's bytes, now."""

    def __init__(self, devnet: Devnet):
        self.key = devnet.keys["federation"]
        self.chain_id = devnet.chain_id

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        time_ms = int(time.time() * 1000)
        request.headers.update(sign_request(self.key, self.chain_id, request.method or "GET", request.path_url,
                                            body, time_ms))
        return request


# --- valid values JSON Schema cannot describe ----------------------------------------------------------


def make_valid(chain: Chain, case: schemathesis.Case, rng: random.Random) -> None:
    """For a valid (positive) case, whatever the phase that made it: the parts the document describes
    only in words, made true; sometimes an id that exists, so that 200 answers are checked too.
    Negative cases are sent as generated."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    route = (case.method, case.operation.path)
    for path, location, name in chain.address_params:
        if path != case.operation.path:
            continue
        values = case.path_parameters if location == "path" else case.query
        if isinstance(values, dict) and name in values and not _is_address(values[name]):
            values = {**values, name: _address(chain, rng)}
            if location == "path":
                case.path_parameters = values
            else:
                case.query = values
    if route in (("POST", "/v1/txs"), ("POST", "/v1/txs/batch")):
        _valid_transactions(chain, case, rng)
    elif route == ("POST", "/v1/agora/texts") and rng.random() < 0.5:
        post = rng.choice(chain.agora["posts"])  # a text that matches its post's hash: stored (201)
        case.body = {"post": post, "text": chain.agora["texts"][post]}
    elif route == ("POST", "/v1/vault/records") and isinstance(case.body, dict):
        if isinstance(case.body.get("record"), dict):
            case.body = {**case.body, "record": _valid_record(case.body["record"], rng)}
    elif case.method == "GET" and rng.random() < 0.5:
        existing = {
            "/v1/txs/{hash}": ("hash", chain.tx_hashes),
            "/v1/classes/{id}": ("id", [DEMO_CLASS]),
            "/v1/classes/{id}/statement": ("id", [DEMO_CLASS]),
            "/v1/classes/{id}/holders": ("id", [DEMO_CLASS]),
            "/v1/identities/{id}": ("id", [chain.identity_id.hex()]),
            "/v1/vault/records/{id}": ("id", [chain.identity_id.hex()]),
            "/v1/vault/records/{id}/export": ("id", [chain.identity_id.hex()]),
            "/v1/market/listings/{id}": ("id", [chain.market["listing"]]),
            "/v1/market/orders/{id}": ("id", chain.market["orders"]),
            "/v1/market/providers/{address}/reviews": ("address", [chain.market["provider"]]),
            "/v1/gas/groups/{id}": ("id", [chain.market["group"]]),
            "/v1/gas/groups/{id}/commitments": ("id", [chain.market["group"]]),
            "/v1/agora/spaces/{id}": ("id", chain.agora["spaces"]),
            "/v1/agora/spaces/{id}/proposals": ("id", chain.agora["spaces"]),
            "/v1/agora/posts/{id}": ("id", chain.agora["posts"]),
            "/v1/agora/ballots/{id}": ("id", [chain.agora["ballot"]]),
            "/v1/agora/spaces/{id}/budgets": ("id", chain.agora["spaces"]),
            "/v1/agora/budgets/{id}": ("id", [chain.agora["budget"]]),
        }.get(case.operation.path)
        if case.operation.path == "/v1/agora/ballots/{id}/votes/{identity}":
            case.path_parameters = {"id": chain.agora["ballot"], "identity": chain.agora["voter"]}
        if case.operation.path == "/v1/agora/budgets/{id}/selections/{identity}":
            case.path_parameters = {"id": chain.agora["budget"], "identity": chain.agora["selector"]}
        if existing is not None:
            name, values = existing
            case.path_parameters = {**case.path_parameters, name: rng.choice(values)}
        if case.operation.path in SEARCHES and isinstance(case.query, dict):
            # generated filters rarely match anything: half the time only the page size, so that the
            # items' schemas are checked against real records
            case.query = {k: v for k, v in case.query.items() if k == "limit"}
        if case.operation.path == "/v1/accounts/{address}/proof" and isinstance(case.query, dict):
            case.query = {**case.query, "class": DEMO_CLASS}


def _valid_transactions(chain: Chain, case: schemathesis.Case, rng: random.Random) -> None:
    """Each transaction in a valid submission a real one (the formats make most generated values so; a
    phase that draws boundary values of the hex pattern, such as "", gets one here)."""
    def real(text: Any) -> Any:
        return text if isinstance(text, str) and _decodes(text, single=True) else _transfers(chain, rng, 1)[0].hex()

    body = case.body
    if case.operation.path == "/v1/txs":
        case.body = real(body) if case.media_type == MSGPACK else {**body, "tx": real(body.get("tx"))}
    elif case.media_type != MSGPACK and isinstance(body, dict) and isinstance(body.get("txs"), list):
        case.body = {**body, "txs": [real(item) for item in body["txs"]]}
    elif case.media_type == MSGPACK and not (isinstance(body, str) and _decodes(body, single=False)):
        case.body = encode(tuple(_transfers(chain, rng, rng.randint(0, 3)))).hex()


def _decodes(text: str, single: bool) -> bool:
    """Whether hex text is a canonical transaction (or a canonical array of them)."""
    try:
        raw = bytes.fromhex(text)
        if single:
            decode_tx(raw)
        else:
            items = decode(raw, max(len(raw), 1))
            if type(items) is not tuple:
                return False
            for item in items:
                decode_tx(item)
        return text == text.lower()
    except (ValueError, TypeError, EncodingError, TxError):
        return False


def _is_address(value: Any) -> bool:
    try:
        return isinstance(value, str) and to_address(from_address(value)) == value
    except AddressError:
        return False


def _address(chain: Chain, rng: random.Random) -> str:
    return rng.choice(chain.addresses) if rng.random() < 0.5 else to_address(rng.randbytes(32))


def _transfers(chain: Chain, rng: random.Random, count: int) -> list[bytes]:
    """Signed transfers of this chain: a stranger's (403 UNKNOWN_SIGNER), or anna's at or just after her
    next nonce (admitted, parked behind a gap, or a taken nonce: 202, 409), always affordable."""
    devnet = chain.devnet
    if rng.random() < 0.5:
        signer, first = SigningKey(rng.randbytes(32)), rng.randint(0, 3)
    else:
        signer = devnet.keys["anna"]
        first = chain.pending_nonce(signer) + rng.randint(0, 2)
    memo = "".join(rng.choice(string.ascii_letters + " ") for _ in range(rng.randint(0, 20)))
    return [devnet.transfer(signer, "marco", rng.randint(1, 3), first + i, memo=memo, expiry=FAR_EXPIRY).raw
            for i in range(count)]


def _transfer_strategy(chain: Chain, counts: st.SearchStrategy[int]) -> st.SearchStrategy[list[bytes]]:
    """_transfers, drawn by hypothesis (for the formats)."""
    return st.tuples(st.randoms(use_true_random=False), counts).map(lambda rc: _transfers(chain, rc[0], rc[1]))


def codice_fiscale(rng: random.Random) -> tuple[str, datetime.date]:
    """A valid codice fiscale and a date of birth it agrees with."""
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(6))
    year, month, day, female = rng.randint(0, 99), rng.randint(1, 12), rng.randint(1, 28), rng.random() < 0.5
    place = rng.choice(string.ascii_uppercase) + f"{rng.randint(0, 999):03d}"
    first15 = f"{letters}{year:02d}{MONTH_LETTERS[month - 1]}{day + 40 * female:02d}{place}"
    return first15 + codice_fiscale_check_char(first15), datetime.date(1900 + year, month, day)


def partita_iva(rng: random.Random) -> str:
    first10 = f"{rng.randint(1, 9_999_999):07d}" + rng.choice(sorted(OFFICE_CODES))
    return first10 + partita_iva_check_digit(first10)


def _valid_record(record: dict, rng: random.Random) -> dict:
    """The generated record with a tax code that suits its kind, and for a person a date of birth it agrees with."""
    if record.get("kind") != "person":
        return {**record, "tax_code": partita_iva(rng)}
    code, born = codice_fiscale(rng)
    dated = record.get("birth_date") is not None
    return {**record, "tax_code": code, **({"birth_date": born.isoformat()} if dated else {})}
