"""The registrar's private vault over HTTP: /v1/vault/... (docs/api-contract.md, FORMAT.md §19).

Registered only on a node whose config enables the vault (`vault.enabled`);
elsewhere these paths are unknown routes (404) like any other. Every request
must be signed (node/request_auth.py) and is then allowed or not:

    POST   /v1/vault/records               the registrar only
    GET    /v1/vault/records/{id}          the registrar, or the subject: an account bound to identity id on chain
    GET    /v1/vault/records/{id}/export   the registrar, or the subject (GDPR art. 15/20)
    DELETE /v1/vault/records/{id}          the registrar only (erasure, GDPR art. 17)

Who may ask is decided before anything about the record is looked at, so a
stranger learns nothing, not even whether an id is in the vault; and before
the request is remembered against replay (FORMAT.md §19.3), so a stranger's
requests occupy nothing once answered. The replay memory is two: the
registrar's own, and the subjects' with a share per key, so that neither a
subject nor all of them together can lock the registrar out. The usual body
limit and the error middleware of node/api.py apply unchanged; errors are the
same JSON. Nothing here logs a record, and the middleware's log of an
internal error names the method and path only.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
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
from node import metrics
from node.api import JSON, NODE, ApiError, NodeContext, render_identity
from node.request_auth import (
    REPLAY_CACHE_MAX,
    AuthError,
    ReplayCache,
    SignedRequest,
    authenticate_request,
)
from node.untrusted import shown

MAX_VAULT_BODY = 64 * 1024
DEFAULT_SUBJECT_SHARE = 600
_ID_HEX = re.compile(f"[0-9a-f]{{{2 * identity_records.ID_LEN}}}")
_REFUSALS = ("UNAUTHENTICATED", "STALE_REQUEST", "FORBIDDEN", "REPLAYED_REQUEST", "TOO_MANY_REQUESTS")


@dataclass
class VaultService:
    """The open vault, the registrar it serves, the memories of signed requests already seen, the refusals."""

    vault: Vault
    registrar: bytes
    registrar_replay: ReplayCache
    subject_replay: ReplayCache
    refusals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_REFUSALS, 0))

    def close(self) -> None:
        self.vault.close()

    def remember(self, request: SignedRequest) -> None:
        """After authorisation: the request enters its signer's replay memory, or is refused (401/429)."""
        replay = self.registrar_replay if request.signer == self.registrar else self.subject_replay
        try:
            replay.remember(request)
        except AuthError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None

    def metric_lines(self) -> list[str]:
        """Prometheus text for node/metrics.py: refusals by code, and how full the replay memories are."""
        out = ["# HELP incoop_vault_refused_total Signed vault requests refused, by error code.",
               "# TYPE incoop_vault_refused_total counter"]
        out += [f'incoop_vault_refused_total{{code="{code}"}} {count}' for code, count in sorted(self.refusals.items())]
        out += ["# HELP incoop_vault_replay_entries Signed requests held against replay, by memory.",
                "# TYPE incoop_vault_replay_entries gauge",
                f'incoop_vault_replay_entries{{memory="registrar"}} {len(self.registrar_replay)}',
                f'incoop_vault_replay_entries{{memory="subjects"}} {len(self.subject_replay)}']
        return out


VAULT = web.AppKey("vault", VaultService)
routes = web.RouteTableDef()


def vault_context(
    directory: Path, password: str, registrar: str, error: type[Exception] = VaultError, *,
    replay_entries: int = REPLAY_CACHE_MAX, replay_entries_per_subject: int = DEFAULT_SUBJECT_SHARE,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that opens the vault (creating its key on first use) and closes it.

    A vault that cannot be opened (wrong password, missing key file) raises
    `error` with the one-line reason (the node passes its NodeError). The
    replay memories' sizes are the config's `vault.replay_entries…`.
    """

    async def vault_resources(app: web.Application) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        try:
            vault = await loop.run_in_executor(None, Vault, directory, password)  # Argon2id: off the loop
        except VaultError as exc:
            raise error(str(exc)) from exc
        service = VaultService(
            vault, from_address(registrar),
            registrar_replay=ReplayCache(max_entries=replay_entries),
            subject_replay=ReplayCache(max_entries=replay_entries, max_per_signer=replay_entries_per_subject),
        )
        app[VAULT] = service
        if metrics.SOURCES in app:
            app[metrics.SOURCES].append(service)
        try:
            yield
        finally:
            app[VAULT].close()

    return vault_resources


def add_routes(app: web.Application) -> None:
    app.add_routes(routes)


# --- the checks every handler makes, in order -----------------------------------------------------


def _counted(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
             ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Counts the handler's refusals (401, 403, 429) for /metrics."""

    @functools.wraps(handler)
    async def counted(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            refusals = request.app[VAULT].refusals
            if exc.code in refusals:
                refusals[exc.code] += 1
            raise

    return counted


async def _signed(request: web.Request) -> tuple[VaultService, NodeContext, SignedRequest, bytes]:
    """(service, node context, the signed request, body) for a request signed and fresh; 401 otherwise
    (403 for a key that could be allowed nothing, before its signature is verified).

    Nothing is remembered yet: the handler authorises the signer, then calls
    `service.remember` (FORMAT.md §19.3).
    """
    service, ctx = request.app[VAULT], request.app[NODE]
    if request.content_length is not None and request.content_length > MAX_VAULT_BODY:
        raise ApiError(413, "BODY_TOO_LARGE", f"a vault request body is at most {MAX_VAULT_BODY} bytes")
    body = await request.read()
    if len(body) > MAX_VAULT_BODY:
        raise ApiError(413, "BODY_TOO_LARGE", f"a vault request body is at most {MAX_VAULT_BODY} bytes")
    def may_sign(signer: bytes) -> bool:
        """The registrar, or a key bound to some identity (a subject of some record): anyone else is refused
        before a signature verification is spent on them (FORMAT.md §19.3, step 2)."""
        return signer == service.registrar or identity_records.identity_of(ctx.store.state, signer) is not None

    try:
        signed = authenticate_request(request.headers, request.method, request.raw_path, body, ctx.chain_id,
                                      may_sign=may_sign)
    except AuthError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    return service, ctx, signed, body


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
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", f"send {JSON}, not {shown(request.content_type) or 'no content type'}")
    try:
        data = _NewRecord.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = shown(".".join(str(p) for p in first["loc"])) or "body"  # a key may be the caller's
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
@_counted
async def post_record(request: web.Request) -> web.Response:
    service, _, signed, body = await _signed(request)
    _only_registrar(service, signed.signer, "store records")
    service.remember(signed)
    identity_id, record = _parse_new_record(request, body)
    salt = os.urandom(SALT_LEN)
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, service.vault.put, identity_id, record, salt)
    except RecordExists:
        raise ApiError(409, "EXISTS", f"the vault already holds a record for identity {identity_id.hex()}") from None
    return web.json_response({"id": identity_id.hex(), "commitment": commitment(salt, record).hex()}, status=201)


@routes.get("/v1/vault/records/{id}")
@_counted
async def get_record(request: web.Request) -> web.Response:
    service, ctx, signed, _ = await _signed(request)
    identity_id = _record_id(request)
    _registrar_or_subject(service, ctx, signed.signer, identity_id)
    service.remember(signed)
    record, salt = _stored(service, identity_id)
    return web.json_response({
        "id": identity_id.hex(),
        "record": record_json(record),
        "commitment": commitment(salt, record).hex(),
    })


@routes.get("/v1/vault/records/{id}/export")
@_counted
async def export_record(request: web.Request) -> web.Response:
    service, ctx, signed, _ = await _signed(request)
    identity_id = _record_id(request)
    _registrar_or_subject(service, ctx, signed.signer, identity_id)
    service.remember(signed)
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
@_counted
async def delete_record(request: web.Request) -> web.Response:
    service, _, signed, _ = await _signed(request)
    identity_id = _record_id(request)
    _only_registrar(service, signed.signer, "erase records")
    service.remember(signed)
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(None, service.vault.delete, identity_id):
        raise ApiError(404, "NOT_FOUND", f"the vault holds no record for identity {identity_id.hex()}")
    return web.Response(status=204)
