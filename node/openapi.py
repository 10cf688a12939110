"""The OpenAPI 3.1 description of /v1, served at /v1/openapi.json.

Written by hand from docs/api-contract.md so that it documents the contract,
not whatever the code happens to do; a test checks that every route the app
registers appears here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

_HEX = {"type": "string", "pattern": "^[0-9a-f]*$"}
_ADDRESS = {"type": "string", "description": "text address (ic + base32 with checksum)"}
_RESULT = {"$ref": "#/components/schemas/Result"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _json(_ref("Error"), description)


def _path_param(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema or {"type": "string"}}


_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "a ledger.errors.Code name or NOT_FOUND, BAD_REQUEST, BODY_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, METHOD_NOT_ALLOWED, INVALID_ADDRESS, TIMEOUT, BODY_TIMEOUT (408), TOO_MANY_CONNECTIONS (503), STORE_FAILED (503); on /v1/vault also UNAUTHENTICATED, STALE_REQUEST, REPLAYED_REQUEST, FORBIDDEN, TOO_MANY_REQUESTS, EXISTS, INVALID_RECORD"},
                    "message": {"type": "string"},
                },
            }
        },
    },
    "Result": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "string", "description": "OK or an execution result code"}, "message": {"type": "string"}},
    },
    "Status": {
        "type": "object",
        "properties": {
            "chain_id": {"type": "string"},
            "genesis_hash": _HEX,
            "height": {"type": "integer"},
            "block_hash": _HEX,
            "block_time_ms": {"type": "integer"},
            "state_root": _HEX,
            "role": {"type": "string", "enum": ["validator", "observer"]},
            "node_address": _ADDRESS,
            "rules": {
                "type": "object",
                "description": "the chain's rules this node runs: its modules in order (FORMAT.md §14) and their digest",
                "properties": {
                    "modules": {"type": "array", "items": {"type": "object", "properties": {
                        "name": {"type": "string"}, "version": {"type": "integer"},
                        "types": {"type": "array", "items": {"type": "string"}}}}},
                    "digest": _HEX,
                },
            },
            "mempool_size": {"type": "integer"},
            "consensus": {
                "type": ["object", "null"],
                "properties": {
                    "height": {"type": "integer"},
                    "round": {"type": "integer"},
                    "step": {"type": "string", "enum": ["waiting", "propose", "prevote", "precommit"]},
                    "voting": {"type": "boolean"},
                    "catching_up": {"type": "boolean"},
                },
            },
            "peers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"address": _ADDRESS, "remote": {"type": "string"}, "outbound": {"type": "boolean"}},
                },
            },
        },
    },
    "Pending": {
        "type": "object",
        "properties": {"hash": _HEX, "status": {"const": "pending"}},
    },
    "BatchItem": {
        "type": "object",
        "properties": {
            "hash": {"oneOf": [_HEX, {"type": "null"}]},
            "status": {"const": "pending"},
            "error": {"$ref": "#/components/schemas/Error/properties/error"},
        },
    },
    "TxStatus": {
        "type": "object",
        "required": ["hash", "status"],
        "properties": {
            "hash": _HEX,
            "status": {"enum": ["pending", "committed", "rejected", "unknown"]},
            "height": {"type": "integer"},
            "index": {"type": "integer"},
            "result": _RESULT,
            "error": {"$ref": "#/components/schemas/Error/properties/error"},
        },
    },
    "BlockTx": {
        "type": "object",
        "properties": {
            "hash": _HEX,
            "type": {"type": "string"},
            "signer": _ADDRESS,
            "nonce": {"type": "integer"},
            "expiry": {"type": "integer"},
            "body": {"type": "array", "description": "body fields; bytes as hex, 32-byte keys as addresses"},
            "result": _RESULT,
        },
    },
    "Block": {
        "type": "object",
        "properties": {
            "height": {"type": "integer"},
            "hash": _HEX,
            "header": {
                "type": "object",
                "properties": {
                    "version": {"type": "integer"},
                    "chain_id": {"type": "string"},
                    "height": {"type": "integer"},
                    "time_ms": {"type": "integer"},
                    "prev_hash": _HEX,
                    "tx_root": _HEX,
                    "results_root": _HEX,
                    "state_root": _HEX,
                    "proposer": _ADDRESS,
                    "validators_hash": _HEX,
                },
            },
            "txs": {"type": "array", "items": _ref("BlockTx")},
            "certificate": {
                "type": "object",
                "properties": {
                    "height": {"type": "integer"},
                    "round": {"type": "integer"},
                    "block_hash": _HEX,
                    "signatures": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"validator": _ADDRESS, "signature": _HEX}},
                    },
                },
            },
        },
    },
    "Account": {
        "type": "object",
        "properties": {
            "address": _ADDRESS,
            "nonce": {"type": "integer", "description": "the next nonce after the committed transactions"},
            "pending_nonce": {
                "type": "integer",
                "description": "the next nonce after this node's pending transactions of the account: what a wallet should sign with",
            },
            "balances": {
                "type": "array",
                "items": {"type": "object", "properties": {"class": {"type": "string"}, "amount": {"type": "integer"}}},
            },
            "identity": {
                "oneOf": [{"type": "string", "pattern": "^[0-9a-f]{32}$"}, {"type": "null"}],
                "description": "the id of the identity this account is bound to, if any",
            },
        },
    },
    "BalanceProof": {
        "type": "object",
        "description": "a light proof of one balance (FORMAT.md §21); verify `proof`, the other fields only describe it",
        "required": ["address", "class", "amount", "height", "time_ms", "block_hash", "state_root", "validators_hash", "proof"],
        "properties": {
            "address": _ADDRESS,
            "class": {"type": "string"},
            "amount": {"type": "integer", "description": "minor units; 0 when the account holds none (proven absent)"},
            "height": {"type": "integer", "description": "the committed block whose state root the proof is against (the head)"},
            "time_ms": {"type": "integer"},
            "block_hash": _HEX,
            "state_root": _HEX,
            "validators_hash": _HEX,
            "proof": {**_HEX, "description": "the canonical bundle of FORMAT.md §21.1, hex"},
        },
    },
    "History": {
        "type": "object",
        "properties": {
            "txs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "hash": _HEX,
                        "height": {"type": "integer"},
                        "index": {"type": "integer"},
                        "type": {"type": "string"},
                        "signer": _ADDRESS,
                        "body": {"type": "array"},
                        "result": _RESULT,
                    },
                },
            },
            "next": {"oneOf": [{"type": "string", "pattern": "^[0-9]+:[0-9]+$"}, {"type": "null"}]},
        },
    },
    "Identity": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "kind": {"type": "string", "enum": ["person", "cooperative", "company", "association", "union", "institution"]},
            "status": {"type": "string", "enum": ["active", "suspended", "revoked", "closed"]},
            "registrar": _ADDRESS,
            "keys": {"type": "array", "items": _ADDRESS},
            "created_height": {"type": "integer"},
            "commitment": {"oneOf": [_HEX, {"type": "null"}], "description": "null once erased"},
            "tag": {"oneOf": [_HEX, {"type": "null"}], "description": "the uniqueness tag; null once erased"},
            "recovery": {
                "oneOf": [
                    {"type": "object", "properties": {"new_key": _ADDRESS, "due_height": {"type": "integer"}}},
                    {"type": "null"},
                ],
            },
            "attestations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "attribute": {"type": "string"},
                        "attester": _ADDRESS,
                        "issued_height": {"type": "integer"},
                        "expiry_height": {"oneOf": [{"type": "integer"}, {"type": "null"}]},
                        "valid": {"type": "boolean", "description": "holds for the next block"},
                    },
                },
            },
        },
    },
    "Evidence": {
        "type": "object",
        "description": "a recorded double vote (FORMAT.md §13.3): one validator's two signed votes for one (type, height, round)",
        "properties": {
            "validator": _ADDRESS,
            "height": {"type": "integer"},
            "round": {"type": "integer"},
            "type": {"enum": ["prevote", "precommit"]},
            "block_hash_a": {"oneOf": [_HEX, {"type": "null"}], "description": "the value of the first vote of the pair, null for nil"},
            "block_hash_b": {"oneOf": [_HEX, {"type": "null"}], "description": "the value of the second vote of the pair, null for nil"},
            "included_height": {"type": "integer", "description": "the height of the block that recorded it"},
            "reporter": _ADDRESS,
        },
    },
    "PersonalRecord": {
        "type": "object",
        "description": "a personal record (FORMAT.md §19.1); strings are NFC-normalised and stripped, the tax code normalised",
        "required": ["kind", "name", "tax_code"],
        "additionalProperties": False,
        "properties": {
            "kind": {"enum": ["person", "cooperative", "company", "association", "union", "institution"]},
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "tax_code": {"type": "string", "description": "codice fiscale (16, check character validated) or partita IVA (11 digits)"},
            "birth_date": {"type": ["string", "null"], "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
            "address": {"type": ["string", "null"], "minLength": 1, "maxLength": 300},
            "contacts": {"type": "array", "maxItems": 16, "items": {"type": "string", "minLength": 1, "maxLength": 200}},
            "documents": {"type": "array", "maxItems": 16, "items": {"type": "string", "minLength": 1, "maxLength": 100}},
        },
    },
    "VaultRecord": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "record": _ref("PersonalRecord"),
            "commitment": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256(b\"incoop/commitment/v1\" || salt || canonical record)"},
        },
    },
    "Class": {
        "type": "object",
        "description": "a credit class: its rules (FORMAT.md §6.3) and its books (issued = supply + redeemed + reclaimed)",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "issuer": _ADDRESS,
            "decimals": {"type": "integer"},
            "kind": {"enum": ["welfare", "purchase_group", "virtue", "community"]},
            "eligibility": {"type": "array", "items": {"type": "string"}, "description": "attributes a holder must all have"},
            "transferability": {"enum": ["p2p", "spend_only"]},
            "categories": {"type": "array", "items": {"type": "string"}, "description": "what it pays for; empty: any"},
            "valid_from_ms": {"type": "integer", "description": "block time from which it is valid; 0: open"},
            "valid_until_ms": {"type": ["integer", "null"], "description": "block time from which it is expired; null: never"},
            "holder_cap": {"type": "integer", "description": "most ever issued to one holder; 0: no cap"},
            "budget": {"type": ["integer", "null"], "description": "most ever issued in the class; null: no cap"},
            "description_hash": {"oneOf": [_HEX, {"type": "null"}]},
            "issued": {"type": "integer"},
            "redeemed": {"type": "integer"},
            "reclaimed": {"type": "integer"},
            "supply": {"type": "integer", "description": "held now: issued - redeemed - reclaimed"},
            "expired": {"type": "boolean", "description": "the head block's time is at or past valid_until_ms"},
        },
    },
    "Statement": {
        "type": "object",
        "properties": {
            "class": _ref("Class"),
            "held": {"type": "integer"},
            "spent": {
                "type": "array",
                "items": {"type": "object", "properties": {"category": {"type": "string"}, "amount": {"type": "integer"}}},
                "description": "paid to providers per category (running totals; credits circulate)",
            },
            "redeemed_by": {
                "type": "array",
                "items": {"type": "object", "properties": {"provider": _ADDRESS, "amount": {"type": "integer"}}},
            },
            "reclaimed": {"type": "integer"},
        },
    },
    "Holders": {
        "type": "object",
        "properties": {
            "holders": {
                "type": "array",
                "items": {"type": "object", "properties": {
                    "address": _ADDRESS,
                    "amount": {"type": "integer"},
                    "provider": {"type": "boolean", "description": "accredited for the class (by its issuer or the federation)"},
                }},
            },
            "next": {"oneOf": [_ADDRESS, {"type": "null"}], "description": "pass as `after` for the next page"},
        },
    },
}

_TX_BODY = {
    "required": True,
    "content": {
        "application/msgpack": {"schema": {"type": "string", "format": "binary", "description": "canonical tx bytes"}},
        "application/json": {"schema": {"type": "object", "required": ["tx"], "properties": {"tx": _HEX}}},
    },
}
_BATCH_BODY = {
    "required": True,
    "content": {
        "application/msgpack": {"schema": {"type": "string", "format": "binary", "description": "canonical array of tx byte strings"}},
        "application/json": {"schema": {"type": "object", "required": ["txs"], "properties": {"txs": {"type": "array", "items": _HEX}}}},
    },
}
_HEIGHT = _path_param("height", "a block height or 'latest'")
_RECORD_ID = _path_param("id", "an identity id (16 bytes)", {"type": "string", "pattern": "^[0-9a-f]{32}$"})
# FORMAT.md §19.3: every /v1/vault request is signed by an account key
_SIGNED = [
    {"name": "X-Incoop-Address", "in": "header", "required": True, "schema": _ADDRESS, "description": "the signer's address"},
    {"name": "X-Incoop-Time", "in": "header", "required": True, "schema": {"type": "string", "pattern": "^[0-9]{1,19}$"},
     "description": "signing time, ms since the Unix epoch; within ±60 s of the node's clock"},
    {"name": "X-Incoop-Signature", "in": "header", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{128}$"},
     "description": "Ed25519 over signing_message(\"incoop/api/v1\", chain_id, canonical([METHOD, target, SHA-256(body), time_ms]))"},
]
_SIGNED_ERRORS = {
    "401": _error("UNAUTHENTICATED (missing, malformed or bad signature), STALE_REQUEST, REPLAYED_REQUEST"),
    "403": _error("FORBIDDEN: a valid signer who may not do this"),
    "429": _error("TOO_MANY_REQUESTS: the signer's share of the replay memory, or the memory, is full; retry later"),
}
_ADDRESS_PARAM = _path_param("address", "an account address")

PATHS: dict[str, dict[str, Any]] = {
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics (text format 0.0.4)",
            "responses": {"200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}},
        },
    },
    "/v1/status": {
        "get": {"summary": "The node's chain, head, role, consensus step and peers", "responses": {"200": _json(_ref("Status"), "status")}},
    },
    "/v1/txs": {
        "post": {
            "summary": "Submit one signed transaction",
            "requestBody": _TX_BODY,
            "responses": {
                "202": _json(_ref("Pending"), "admitted to the mempool"),
                "400": _error("MALFORMED, TOO_LARGE, WRONG_CHAIN, UNKNOWN_TYPE, BAD_SIGNATURE, EXPIRED, EXPIRY_TOO_FAR, "
                              "BAD_REQUEST"),
                "403": _error("UNKNOWN_SIGNER: the chain does not know the signer"),
                "409": _error("BAD_NONCE, DUPLICATE, NONCE_TOO_FAR"),
                "413": _error("BODY_TOO_LARGE"),
                "415": _error("UNSUPPORTED_MEDIA_TYPE"),
                "422": _error("the transaction would fail: its execution result code (check-tx, docs/admission.md)"),
                "429": _error("CLIENT_QUOTA: this client holds its share of the mempool; try again later"),
                "503": _error("MEMPOOL_FULL: try again later"),
            },
        },
    },
    "/v1/txs/batch": {
        "post": {
            "summary": "Submit many signed transactions; one result each, in order",
            "requestBody": _BATCH_BODY,
            "responses": {
                "200": _json({"type": "object", "properties": {"results": {"type": "array", "items": _ref("BatchItem")}}}, "results"),
                "400": _error("BAD_REQUEST (not an array, too many transactions)"),
                "413": _error("BODY_TOO_LARGE"),
                "415": _error("UNSUPPORTED_MEDIA_TYPE"),
            },
        },
    },
    "/v1/txs/{hash}": {
        "get": {
            "summary": "A transaction's status: pending, committed, rejected or unknown",
            "parameters": [_path_param("hash", "the transaction hash", _HEX)],
            "responses": {"200": _json(_ref("TxStatus"), "status"), "400": _error("BAD_REQUEST (not a hash)")},
        },
    },
    "/v1/blocks/{height}": {
        "get": {
            "summary": "A committed block with its transactions and certificate",
            "parameters": [_HEIGHT],
            "responses": {"200": _json(_ref("Block"), "the block"), "400": _error("BAD_REQUEST"), "404": _error("NOT_FOUND")},
        },
    },
    "/v1/blocks/{height}/raw": {
        "get": {
            "summary": "The canonical [block, certificate] bytes as stored",
            "parameters": [_HEIGHT],
            "responses": {
                "200": {"description": "raw block", "content": {"application/msgpack": {"schema": {"type": "string", "format": "binary"}}}},
                "400": _error("BAD_REQUEST"),
                "404": _error("NOT_FOUND"),
            },
        },
    },
    "/v1/accounts/{address}": {
        "get": {
            "summary": "An account's next nonce and balances (an unknown account is empty)",
            "parameters": [_ADDRESS_PARAM],
            "responses": {"200": _json(_ref("Account"), "the account"), "400": _error("INVALID_ADDRESS")},
        },
    },
    "/v1/accounts/{address}/txs": {
        "get": {
            "summary": "An account's committed transactions, newest first",
            "parameters": [
                _ADDRESS_PARAM,
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
                {"name": "before", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]+:[0-9]+$"}, "description": "the 'next' cursor of the previous page"},
            ],
            "responses": {"200": _json(_ref("History"), "one page"), "400": _error("INVALID_ADDRESS, BAD_REQUEST")},
        },
    },
    "/v1/accounts/{address}/proof": {
        "get": {
            "summary": "A light proof of an account's balance in a class, against the head block's certified state root",
            "parameters": [
                _ADDRESS_PARAM,
                {"name": "class", "in": "query", "required": True, "schema": {"type": "string"}, "description": "the credit class id"},
            ],
            "responses": {
                "200": _json(_ref("BalanceProof"), "the balance and its proof"),
                "400": _error("INVALID_ADDRESS, BAD_REQUEST (no class)"),
                "404": _error("NOT_FOUND (no such class, or no block committed yet)"),
            },
        },
    },
    "/v1/classes": {
        "get": {
            "summary": "All credit classes",
            "responses": {"200": _json({"type": "object", "properties": {"classes": {"type": "array", "items": _ref("Class")}}}, "classes")},
        },
    },
    "/v1/classes/{id}": {
        "get": {
            "summary": "One credit class",
            "parameters": [_path_param("id", "the class id")],
            "responses": {"200": _json(_ref("Class"), "the class"), "404": _error("NOT_FOUND")},
        },
    },
    "/v1/classes/{id}/statement": {
        "get": {
            "summary": "A class's statement: its books, spent per category, redeemed per provider, reclaimed",
            "parameters": [_path_param("id", "the class id")],
            "responses": {"200": _json(_ref("Statement"), "the statement"), "404": _error("NOT_FOUND")},
        },
    },
    "/v1/classes/{id}/holders": {
        "get": {
            "summary": "The holders with a balance in a class, in address-byte order (a scan of all balances: no index)",
            "parameters": [
                _path_param("id", "the class id"),
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
                {"name": "after", "in": "query", "schema": _ADDRESS, "description": "the 'next' cursor of the previous page"},
            ],
            "responses": {
                "200": _json(_ref("Holders"), "one page"),
                "400": _error("BAD_REQUEST, INVALID_ADDRESS"),
                "404": _error("NOT_FOUND"),
            },
        },
    },
    "/v1/identities/{id}": {
        "get": {
            "summary": "An identity: kind, status, registrar, keys, recovery, attestations (no personal data)",
            "parameters": [_path_param("id", "the identity id, 32 hex characters")],
            "responses": {
                "200": _json(_ref("Identity"), "the identity"),
                "400": _error("BAD_REQUEST"),
                "404": _error("NOT_FOUND"),
            },
        },
    },
    "/v1/evidence": {
        "get": {
            "summary": "Recorded evidence of double signing, in key order (validator, height, round, type)",
            "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
                {"name": "after", "in": "query", "schema": {"type": "string", "pattern": "^[0-9a-f]{90}$"}, "description": "the 'next' cursor of the previous page"},
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "evidence": {"type": "array", "items": _ref("Evidence")},
                            "next": {"oneOf": [{"type": "string", "pattern": "^[0-9a-f]{90}$"}, {"type": "null"}]},
                        },
                    },
                    "one page",
                ),
                "400": _error("BAD_REQUEST"),
            },
        },
    },
    "/v1/vault/records": {
        "post": {
            "summary": "Store a personal record in the registrar's vault (the registrar only; only where the vault is enabled)",
            "parameters": _SIGNED,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {
                    "type": "object", "required": ["id", "record"], "additionalProperties": False,
                    "properties": {"id": {"type": "string", "pattern": "^[0-9a-f]{32}$"}, "record": _ref("PersonalRecord")},
                }}},
            },
            "responses": {
                "201": _json({"type": "object", "properties": {"id": _HEX, "commitment": _HEX}}, "stored; the vault drew the salt"),
                "400": _error("BAD_REQUEST, INVALID_RECORD (the message names the field: record.<field>: ...)"),
                "409": _error("EXISTS: the vault already holds this id"),
                "413": _error("BODY_TOO_LARGE"),
                "415": _error("UNSUPPORTED_MEDIA_TYPE"),
                **_SIGNED_ERRORS,
            },
        },
    },
    "/v1/vault/records/{id}": {
        "get": {
            "summary": "A personal record (the registrar, or the subject: an account bound to this identity on chain)",
            "parameters": [_RECORD_ID, *_SIGNED],
            "responses": {
                "200": _json(_ref("VaultRecord"), "the record"),
                "400": _error("BAD_REQUEST"),
                "404": _error("NOT_FOUND: no record under this id (never erased ones)"),
                **_SIGNED_ERRORS,
            },
        },
        "delete": {
            "summary": "Erase a record and its salt (GDPR art. 17; the registrar only)",
            "parameters": [_RECORD_ID, *_SIGNED],
            "responses": {"204": {"description": "erased"}, "400": _error("BAD_REQUEST"), "404": _error("NOT_FOUND"), **_SIGNED_ERRORS},
        },
    },
    "/v1/vault/records/{id}/export": {
        "get": {
            "summary": "The GDPR art. 15/20 export of a record, its salt and the on-chain identity (the registrar or the subject)",
            "parameters": [_RECORD_ID, *_SIGNED],
            "responses": {
                "200": {
                    "description": "an attachment (Content-Disposition: attachment)",
                    "content": {"application/json": {"schema": {
                        "allOf": [_ref("VaultRecord")],
                        "properties": {
                            "salt": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                            "identity": {"oneOf": [{"type": "object", "description": "as GET /v1/identities/{id}"}, {"type": "null"}]},
                        },
                    }}},
                },
                "400": _error("BAD_REQUEST"),
                "404": _error("NOT_FOUND"),
                **_SIGNED_ERRORS,
            },
        },
    },
    "/v1/openapi.json": {
        "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}}},
    },
}


@cache
def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "incoop node API",
            "version": "1",
            "description": "Errors are JSON {\"error\": {\"code\", \"message\"}} with a 4xx status for bad input.",
        },
        "paths": PATHS,
        "components": {"schemas": _SCHEMAS},
    }
