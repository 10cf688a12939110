"""The registrar's vault over the API of a real node process (node/vault_api.py, docs/api-contract.md).

Scenario (one devnet validator whose config enables the vault, serving the
devnet's `federation` account, a registrar in the devnet genesis):
1. Requests that are unsigned, wrongly signed, stale or replayed get 401 with
   their code; a validly signed request by a key that is neither the
   registrar nor a subject gets 403, and learns nothing of the record.
2. The registrar stores a record (the vault draws the salt and returns the
   commitment), reads it back, exports it, erases it; afterwards it is 404.
3. The registrar registers the identity on chain (identity.register with the
   vault's commitment, anna's key); anna, the subject, reads and exports her
   own record and is refused marco's.
4. After erasure neither the vault's files nor the node's log hold the name
   or the tax code, and the chain only the commitment.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from identity.commitment import canonical_record, commitment, parse_record
from identity.taxcode import uniqueness_tag
from keys.keystore import seal_secret
from keys.request_auth import H_ADDRESS, sign_request
from ledger.address import to_address
from ledger.crypto import SigningKey, sha256
from ledger.tx import sign_tx
from node import vault_api
from node.api import create_app
from node.config import ApiConfig, VaultConfig, load_config, write_config
from node.devnet_layout import VAULT_KEY_PASS
from node.openapi import openapi_document
from node.routes.core import CORE
from tests.functional.framework import FAR_EXPIRY, JSON, Devnet, make_devnet
from tests.weak_kdf import TEST_KDF
from wallet.client import NodeClient, NodeError

ANNA_RECORD = {
    "kind": "person",
    "name": "Anna Verdi",
    "tax_code": "VRDNNA85M41L378B",
    "birth_date": "1985-08-01",
    "address": "Via Manci 3, 38122 Trento",
    "contacts": ["anna@example.org"],
    "documents": ["CI CA00000AA"],
}
MARCO_RECORD = {"kind": "person", "name": "Marco Gialli", "tax_code": "RSSMRA80A01H501U"}
UNIQUENESS_SECRET = b"devnet registrars' shared secret"


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    devnet = make_devnet(tmp_path_factory.mktemp("vault") / "devnet")
    try:
        home = devnet.node.home
        config = load_config(home)
        config.vault = VaultConfig(enabled=True, registrar=to_address(devnet.keys["federation"].pubkey),
                                   key_password_file=VAULT_KEY_PASS)
        write_config(home, config)
        devnet.start_all(devnet.validators)
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


def client(devnet: Devnet, who: str | SigningKey | None) -> NodeClient:
    key = devnet.keys[who] if isinstance(who, str) else who
    return NodeClient(devnet.node.url, signer=key, chain_id=devnet.chain_id)


def refused(status: int, code: str, call) -> NodeError:
    with pytest.raises(NodeError) as caught:
        call()
    assert (caught.value.status, caught.value.code) == (status, code), str(caught.value)
    assert caught.value.message
    return caught.value


def raw_request(devnet: Devnet, method: str, target: str, body: bytes = b"", headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(devnet.node.url + target, data=body or None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        assert exc.headers.get_content_type() == JSON
        return exc.code, json.loads(exc.read())


def vault_files(devnet: Devnet) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((devnet.node.home / "vault").rglob("*")) if p.is_file())


def register_identity(devnet: Devnet, identity_id: bytes, record: dict, commitment_hex: str, key: SigningKey) -> dict:
    federation = devnet.keys["federation"]
    tag = uniqueness_tag(UNIQUENESS_SECRET, record["tax_code"])
    body = (identity_id, record["kind"], tag, bytes.fromhex(commitment_hex), (key.pubkey,))
    tx = sign_tx(federation, devnet.chain_id, "identity.register", devnet.next_nonce("federation"), FAR_EXPIRY, body)
    devnet.api.submit(tx)
    status = devnet.api.wait_committed(tx.hash)
    assert status["result"]["code"] == "OK", status
    return status


# --- who may ask ------------------------------------------------------------------------------------


def test_vault_routes_exist_only_where_enabled_and_are_documented(devnet: Devnet) -> None:
    plain = create_app(ApiConfig())
    assert not [r for r in plain.router.routes() if r.resource.canonical.startswith("/v1/vault")]
    assert not [p for p in openapi_document(CORE)["paths"] if p.startswith("/v1/vault")]
    app = create_app(ApiConfig())
    vault_api.add_routes(app)
    routes = {(r.resource.canonical, r.method.lower()) for r in app.router.routes() if r.resource.canonical.startswith("/v1/vault") and r.method != "HEAD"}
    assert len(routes) == 4
    served = devnet.api.get("/v1/openapi.json")  # this node enables the vault
    for path, method in routes:
        assert method in served["paths"].get(path, {}), f"{method.upper()} {path} missing from openapi.json"
        assert served["paths"][path][method]["security"], f"{method.upper()} {path} is signed"


def test_unsigned_and_wrongly_signed_requests_are_401(devnet: Devnet) -> None:
    ident = os.urandom(16).hex()
    target = f"/v1/vault/records/{ident}"
    status, body = raw_request(devnet, "GET", target)
    assert (status, body["error"]["code"]) == (401, "UNAUTHENTICATED")
    federation = devnet.keys["federation"]
    # signed by the registrar, but for another path, another chain, or with another key's signature
    for headers in (
        sign_request(federation, devnet.chain_id, "GET", target + "/export", b"", _now_ms()),
        sign_request(federation, "another-chain", "GET", target, b"", _now_ms()),
        dict(sign_request(devnet.keys["anna"], devnet.chain_id, "GET", target, b"", _now_ms()),
             **{H_ADDRESS: to_address(federation.pubkey)}),
    ):
        status, body = raw_request(devnet, "GET", target, headers=headers)
        assert (status, body["error"]["code"]) == (401, "UNAUTHENTICATED"), body
    status, body = raw_request(devnet, "GET", target, headers=sign_request(federation, devnet.chain_id, "GET", target, b"", _now_ms() - 120_000))
    assert (status, body["error"]["code"]) == (401, "STALE_REQUEST"), body
    fresh = sign_request(federation, devnet.chain_id, "GET", target, b"", _now_ms())
    assert raw_request(devnet, "GET", target, headers=fresh)[0] == 404  # authentic: nothing stored under that id
    status, body = raw_request(devnet, "GET", target, headers=fresh)
    assert (status, body["error"]["code"]) == (401, "REPLAYED_REQUEST"), body
    # a POST whose body was changed after signing
    payload = json.dumps({"id": ident, "record": MARCO_RECORD}).encode()
    headers = sign_request(federation, devnet.chain_id, "POST", "/v1/vault/records", payload, _now_ms())
    tampered = payload.replace(b"Marco", b"Mirco")
    status, body = raw_request(devnet, "POST", "/v1/vault/records", tampered, dict(headers, **{"Content-Type": JSON}))
    assert (status, body["error"]["code"]) == (401, "UNAUTHENTICATED"), body
    refused(0, "NO_SIGNER", lambda: NodeClient(devnet.node.url).vault_record(ident))


def test_a_valid_signer_who_is_not_allowed_is_403(devnet: Devnet) -> None:
    ident = os.urandom(16)
    stored = client(devnet, "federation").vault_store(ident, MARCO_RECORD)
    stranger = client(devnet, SigningKey.generate())
    refused(403, "FORBIDDEN", lambda: stranger.vault_store(os.urandom(16), MARCO_RECORD))
    error = refused(403, "FORBIDDEN", lambda: stranger.vault_record(ident))
    assert "Marco" not in error.message
    refused(403, "FORBIDDEN", lambda: stranger.vault_export(ident))
    refused(403, "FORBIDDEN", lambda: stranger.vault_erase(ident))
    # the same answer whether or not the id is in the vault: a stranger learns nothing
    refused(403, "FORBIDDEN", lambda: stranger.vault_record(os.urandom(16)))
    # an identity's own key (anna is no identity yet) is no registrar either
    refused(403, "FORBIDDEN", lambda: client(devnet, "anna").vault_erase(ident))
    assert client(devnet, "federation").vault_record(ident)["commitment"] == stored["commitment"]


# --- the registrar's round trip --------------------------------------------------------------------


def test_registrar_stores_reads_exports_and_erases(devnet: Devnet) -> None:
    registrar = client(devnet, "federation")
    ident = os.urandom(16)
    stored = registrar.vault_store(ident, dict(MARCO_RECORD, name="  Marco  Gialli "))
    assert stored["id"] == ident.hex() and len(stored["commitment"]) == 64
    got = registrar.vault_record(ident)
    assert got["id"] == ident.hex() and got["commitment"] == stored["commitment"]
    assert got["record"] == {
        "kind": "person", "name": "Marco  Gialli", "tax_code": "RSSMRA80A01H501U",
        "birth_date": None, "address": None, "contacts": [], "documents": [],
    }
    exported = registrar.vault_export(ident)
    assert exported["record"] == got["record"] and exported["identity"] is None
    assert commitment(bytes.fromhex(exported["salt"]), parse_record(exported["record"])).hex() == stored["commitment"]
    # the same record under another id gets another salt, so another commitment
    assert registrar.vault_store(os.urandom(16), MARCO_RECORD)["commitment"] != stored["commitment"]
    refused(409, "EXISTS", lambda: registrar.vault_store(ident, MARCO_RECORD))
    assert registrar.vault_record(ident)["commitment"] == stored["commitment"], "a refused store changes nothing"
    registrar.vault_erase(ident)
    refused(404, "NOT_FOUND", lambda: registrar.vault_record(ident))
    refused(404, "NOT_FOUND", lambda: registrar.vault_export(ident))
    refused(404, "NOT_FOUND", lambda: registrar.vault_erase(ident))


def test_invalid_requests_are_400_naming_the_field(devnet: Devnet) -> None:
    registrar = client(devnet, "federation")
    error = refused(400, "INVALID_RECORD", lambda: registrar.vault_store(os.urandom(16), dict(MARCO_RECORD, tax_code="RSSMRA80A01H501X")))
    assert error.message.startswith("record.tax_code:")
    error = refused(400, "INVALID_RECORD", lambda: registrar.vault_store(os.urandom(16), dict(MARCO_RECORD, birth_date="1980-13-01")))
    assert error.message.startswith("record.birth_date:")
    error = refused(400, "INVALID_RECORD", lambda: registrar.vault_store(os.urandom(16), dict(MARCO_RECORD, shoe_size="43")))
    assert error.message.startswith("record.shoe_size:")
    refused(400, "BAD_REQUEST", lambda: registrar.vault_store("00" * 15, MARCO_RECORD))
    refused(400, "BAD_REQUEST", lambda: registrar.vault_record("XYZ"))
    # the error edge still applies under /v1/vault: body limits and JSON errors
    federation = devnet.keys["federation"]
    big = b'{"id": "' + b"0" * (70 * 1024) + b'"}'
    headers = dict(sign_request(federation, devnet.chain_id, "POST", "/v1/vault/records", big, _now_ms()), **{"Content-Type": JSON})
    status, body = raw_request(devnet, "POST", "/v1/vault/records", big, headers)
    assert (status, body["error"]["code"]) == (413, "BODY_TOO_LARGE")
    payload = b"not json"
    headers = dict(sign_request(federation, devnet.chain_id, "POST", "/v1/vault/records", payload, _now_ms()), **{"Content-Type": JSON})
    status, body = raw_request(devnet, "POST", "/v1/vault/records", payload, headers)
    assert (status, body["error"]["code"]) == (400, "BAD_REQUEST")
    headers = dict(sign_request(federation, devnet.chain_id, "POST", "/v1/vault/records", payload, _now_ms()), **{"Content-Type": "text/plain"})
    status, body = raw_request(devnet, "POST", "/v1/vault/records", payload, headers)
    assert (status, body["error"]["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    status, body = raw_request(devnet, "PUT", "/v1/vault/records", b"{}", {"Content-Type": JSON})
    assert (status, body["error"]["code"]) == (405, "METHOD_NOT_ALLOWED")


# --- the subject -------------------------------------------------------------------------------------


def test_the_subject_reads_and_exports_its_own_record_and_no_other(devnet: Devnet) -> None:
    registrar = client(devnet, "federation")
    anna_id, marco_id = os.urandom(16), os.urandom(16)
    anna_stored = registrar.vault_store(anna_id, ANNA_RECORD)
    registrar.vault_store(marco_id, MARCO_RECORD)
    anna = client(devnet, "anna")
    refused(403, "FORBIDDEN", lambda: anna.vault_record(anna_id))  # not bound on chain yet
    register_identity(devnet, anna_id, ANNA_RECORD, anna_stored["commitment"], devnet.keys["anna"])

    own = anna.vault_record(anna_id)
    assert own["record"]["name"] == "Anna Verdi" and own["commitment"] == anna_stored["commitment"]
    status, raw, _ = _signed_get(devnet, devnet.keys["anna"], f"/v1/vault/records/{anna_id.hex()}/export")
    exported = json.loads(raw)
    assert exported["record"] == own["record"]
    assert exported["identity"]["id"] == anna_id.hex()
    assert exported["identity"]["keys"] == [to_address(devnet.keys["anna"].pubkey)]
    assert exported["identity"]["registrar"] == to_address(devnet.keys["federation"].pubkey)
    assert exported["identity"]["commitment"] == exported["commitment"] == anna_stored["commitment"]
    assert exported["identity"]["status"] == "active" and exported["identity"]["kind"] == "person"
    assert sha256(b"incoop/commitment/v1" + bytes.fromhex(exported["salt"]) + canonical_record(exported["record"])).hex() == exported["commitment"]

    error = refused(403, "FORBIDDEN", lambda: anna.vault_record(marco_id))
    assert "Marco" not in error.message
    refused(403, "FORBIDDEN", lambda: anna.vault_export(marco_id))
    refused(403, "FORBIDDEN", lambda: anna.vault_erase(anna_id))  # erasure is the registrar's
    refused(403, "FORBIDDEN", lambda: client(devnet, "marco").vault_record(anna_id))

    # erasure: the vault forgets; the chain keeps an identity with nothing that points at anna
    registrar.vault_erase(anna_id)
    refused(404, "NOT_FOUND", lambda: anna.vault_record(anna_id))
    registrar.vault_erase(marco_id)
    files = vault_files(devnet)
    for text in ("Anna Verdi", "VRDNNA85M41L378B", "Marco Gialli", "RSSMRA80A01H501U", "anna@example.org"):
        assert text.encode() not in files, f"{text} in the vault files"
        assert text not in devnet.node.log_text(), f"{text} in the node log"
        assert text.encode() not in _all_blocks(devnet), f"{text} in the blocks"


def _signed_get(devnet: Devnet, key: SigningKey, target: str) -> tuple[int, bytes, str]:
    headers = sign_request(key, devnet.chain_id, "GET", target, b"", _now_ms())
    request = urllib.request.Request(devnet.node.url + target, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Disposition"] == f'attachment; filename="incoop-record-{target.split("/")[4]}.json"'
        return response.status, response.read(), response.headers.get_content_type()


def _all_blocks(devnet: Devnet) -> bytes:
    height = devnet.api.status()["height"]
    return b"".join(devnet.api.get_raw(f"/v1/blocks/{h}/raw") for h in range(1, height + 1))


def _now_ms() -> int:
    return int(time.time() * 1000)


def test_the_vault_key_rests_sealed_next_to_the_records(devnet: Devnet) -> None:
    key_file = devnet.node.home / "vault" / "vault_key.json"
    assert key_file.stat().st_mode & 0o777 == 0o600
    document = json.loads(key_file.read_text())
    assert document["format"] == "incoop-secret-1" and document["kdf"]["name"] == "argon2id"
    assert (devnet.node.home / "vault" / "db").is_dir()
    assert (devnet.node.home / "vault").stat().st_mode & 0o777 == 0o700


def test_a_node_whose_vault_key_it_cannot_open_refuses_to_start(tmp_path) -> None:
    """A vault key sealed under another password stops the start with one line, before anything is served."""
    devnet = make_devnet(tmp_path / "devnet")
    try:
        home = devnet.node.home
        config = load_config(home)
        config.vault = VaultConfig(enabled=True, registrar=to_address(devnet.keys["federation"].pubkey),
                                   key_password_file=VAULT_KEY_PASS)
        write_config(home, config)
        (home / "vault" / "vault_key.json").unlink()
        seal_secret(home / "vault" / "vault_key.json", os.urandom(32), "not the vault's password", "vault-key", TEST_KDF)
        devnet.node.start(wait=False)
        assert devnet.node.process.wait(60) == 1
        assert "cannot unlock the vault key" in devnet.node.log_text()
        assert "wrong password" in devnet.node.log_text()
    finally:
        devnet.cleanup()
