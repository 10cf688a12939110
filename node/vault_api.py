"""The registrar's private vault over HTTP: /v1/vault/... (docs/api-contract.md, FORMAT.md §19).

Registered only on a node whose config enables the vault (`vault.enabled`);
elsewhere these paths are unknown routes (404) like any other. Every request
must be signed (node/request_auth.py) and is then allowed or not:

    POST   /v1/vault/records               the registrar only
    GET    /v1/vault/records/{id}          the registrar, or the subject: an account bound to identity id on chain
    GET    /v1/vault/records/{id}/export   the registrar, or the subject (GDPR art. 15/20)
    DELETE /v1/vault/records/{id}          the registrar only (erasure, GDPR art. 17)

Who may ask is decided before anything about the record is looked at, so a
stranger learns nothing, not even whether an id is in the vault. The usual
body limit and the error middleware of node/api.py apply unchanged; errors
are the same JSON. Nothing here logs a record, and the middleware's log of an
internal error names the method and path only.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from identity import records as identity_records
from identity.commitment import (
    SALT_LEN,
    PersonalRecord,
    RecordError,
    commitment,
    parse_record,
    record_json,
)
from identity.vault import RecordExists, Vault, VaultError
from ledger.address import from_address
from node.api import JSON, NODE, ApiError, NodeContext, render_identity
from node.request_auth import AuthError, ReplayCache, verify_request

MAX_VAULT_BODY = 64 * 1024
_ID_HEX = re.compile(f"[0-9a-f]{{{2 * identity_records.ID_LEN}}}")


@dataclass
class VaultService:
    """The open vault, the registrar it serves and the memory of signed requests already seen."""

    vault: Vault
    registrar: bytes
    replay: ReplayCache

    def close(self) -> None:
        self.vault.close()


VAULT = web.AppKey("vault", VaultService)
routes = web.RouteTableDef()


def vault_context(
    directory: Path, password: str, registrar: str, error: type[Exception] = VaultError
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that opens the vault (creating its key on first use) and closes it.

    A vault that cannot be opened (wrong password, missing key file) raises
    `error` with the one-line reason (the node passes its NodeError).
    """

    async def vault_resources(app: web.Application) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        try:
            vault = await loop.run_in_executor(None, Vault, directory, password)  # Argon2id: off the loop
        except VaultError as exc:
            raise error(str(exc)) from exc
        app[VAULT] = VaultService(vault, from_address(registrar), ReplayCache())
        try:
            yield
        finally:
            app[VAULT].close()

    return vault_resources


def add_routes(app: web.Application) -> None:
    app.add_routes(routes)


# --- the checks every handler makes, in order -----------------------------------------------------


async def _signed(request: web.Request) -> tuple[VaultService, NodeContext, bytes, bytes]:
    """(service, node context, signer, body) for a request signed, fresh and new; 401 otherwise."""
    service, ctx = request.app[VAULT], request.app[NODE]
    if request.content_length is not None and request.content_length > MAX_VAULT_BODY:
        raise ApiError(413, "BODY_TOO_LARGE", f"a vault request body is at most {MAX_VAULT_BODY} bytes")
    body = await request.read()
    if len(body) > MAX_VAULT_BODY:
        raise ApiError(413, "BODY_TOO_LARGE", f"a vault request body is at most {MAX_VAULT_BODY} bytes")
    try:
        signer = verify_request(request.headers, request.method, request.raw_path, body, ctx.chain_id,
                                replay=service.replay)
    except AuthError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    return service, ctx, signer, body


def _only_registrar(service: VaultService, signer: bytes, what: str) -> None:
    if signer != service.registrar:
        raise ApiError(403, "FORBIDDEN", f"only the registrar this vault serves may {what}")


def _registrar_or_subject(service: VaultService, ctx: NodeContext, signer: bytes, identity_id: bytes) -> None:
    """The registrar, or an account bound on chain, now, to this very identity."""
    if signer == service.registrar:
        return
    if identity_records.identity_of(ctx.store.state, signer) == identity_id:
        return
    raise ApiError(403, "FORBIDDEN", "only the registrar or the identity's own keys may read this record")


def _record_id(request: web.Request) -> bytes:
    text = request.match_info["id"]
    if not _ID_HEX.fullmatch(text):
        raise ApiError(400, "BAD_REQUEST", f"an identity id is {2 * identity_records.ID_LEN} lower-case hex characters")
    return bytes.fromhex(text)


def _stored(service: VaultService, identity_id: bytes) -> tuple[PersonalRecord, bytes]:
    found = service.vault.get(identity_id)
    if found is None:
        raise ApiError(404, "NOT_FOUND", f"the vault holds no record for identity {identity_id.hex()}")
    return found


class _NewRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: str
    record: dict


def _parse_new_record(request: web.Request, body: bytes) -> tuple[bytes, PersonalRecord]:
    if request.content_type != JSON:
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", f"send {JSON}, not {request.content_type or 'no content type'}")
    try:
        data = _NewRecord.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(400, "BAD_REQUEST", f"invalid JSON request ({where}): {first['msg']}") from None
    if not _ID_HEX.fullmatch(data.id):
        raise ApiError(400, "BAD_REQUEST", f"id: an identity id is {2 * identity_records.ID_LEN} lower-case hex characters")
    try:
        record = parse_record(data.record)
    except RecordError as exc:
        raise ApiError(400, "INVALID_RECORD", str(exc)) from None
    return bytes.fromhex(data.id), record


# --- handlers ---------------------------------------------------------------------------------------


@routes.post("/v1/vault/records")
async def post_record(request: web.Request) -> web.Response:
    service, _, signer, body = await _signed(request)
    _only_registrar(service, signer, "store records")
    identity_id, record = _parse_new_record(request, body)
    salt = os.urandom(SALT_LEN)
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, service.vault.put, identity_id, record, salt)
    except RecordExists:
        raise ApiError(409, "EXISTS", f"the vault already holds a record for identity {identity_id.hex()}") from None
    return web.json_response({"id": identity_id.hex(), "commitment": commitment(salt, record).hex()}, status=201)


@routes.get("/v1/vault/records/{id}")
async def get_record(request: web.Request) -> web.Response:
    service, ctx, signer, _ = await _signed(request)
    identity_id = _record_id(request)
    _registrar_or_subject(service, ctx, signer, identity_id)
    record, salt = _stored(service, identity_id)
    return web.json_response({
        "id": identity_id.hex(),
        "record": record_json(record),
        "commitment": commitment(salt, record).hex(),
    })


@routes.get("/v1/vault/records/{id}/export")
async def export_record(request: web.Request) -> web.Response:
    service, ctx, signer, _ = await _signed(request)
    identity_id = _record_id(request)
    _registrar_or_subject(service, ctx, signer, identity_id)
    record, salt = _stored(service, identity_id)
    on_chain = identity_records.get_identity(ctx.store.state, identity_id)
    document = {
        "id": identity_id.hex(),
        "record": record_json(record),
        "salt": salt.hex(),
        "commitment": commitment(salt, record).hex(),
        "identity": None if on_chain is None else render_identity(ctx, identity_id, on_chain),
    }
    return web.Response(
        text=json.dumps(document, ensure_ascii=False, indent=2) + "\n",
        content_type=JSON,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="incoop-record-{identity_id.hex()}.json"'},
    )


@routes.delete("/v1/vault/records/{id}")
async def delete_record(request: web.Request) -> web.Response:
    service, _, signer, _ = await _signed(request)
    identity_id = _record_id(request)
    _only_registrar(service, signer, "erase records")
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(None, service.vault.delete, identity_id):
        raise ApiError(404, "NOT_FOUND", f"the vault holds no record for identity {identity_id.hex()}")
    return web.Response(status=204)
