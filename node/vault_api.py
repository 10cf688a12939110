"""The registrar's private vault over HTTP: /v1/vault/... (docs/api-contract.md, FORMAT.md §19).

Registered only on a node whose config enables the vault (`vault.enabled`);
elsewhere these paths are unknown routes (404) like any other. Every request
must be signed (keys/request_auth.py) and is then allowed or not:

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
same JSON. The routes are declared in `routes` (node/routes/table.py) with
`VaultAccess`, which makes the checks of FORMAT.md §19.3 in their order
before the handler runs: authentication, then the path, then authorisation
and the replay memory, then the body. Nothing here logs a record, and the middleware's log of an
internal error names the method and path only.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

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
from keys.request_auth import (
    H_ADDRESS,
    H_SIGNATURE,
    H_TIME,
    REPLAY_CACHE_MAX,
    AuthError,
    ReplayCache,
    SignedRequest,
    authenticate_request,
)
from ledger.address import from_address
from node import metrics
from node.openapi import REF, SchemaGenerator
from node.routes.binding import serve
from node.routes.context import NODE, NodeContext
from node.routes.identities import IdentityJson, render_identity
from node.routes.render import Strict
from node.routes.table import (
    JSON,
    ApiError,
    Payload,
    Refuse,
    ReplyHeader,
    RouteTable,
    json_reply,
    no_content,
)
from node.routes.types import HashText, IdentityIdParam, IdentityIdText, hex_pattern

MAX_VAULT_BODY = 64 * 1024
DEFAULT_SUBJECT_SHARE = 600
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

    def refused(self, error: ApiError) -> ApiError:
        """Counts a refusal (401, 403, 429) for /metrics; returns it to be raised."""
        if error.code in self.refusals:
            self.refusals[error.code] += 1
        return error

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
routes = RouteTable("vault", "The registrar's private vault of personal records (FORMAT.md §19); "
                             "only on a node whose config enables it")


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
    """Serve the vault's routes in `app` (node/server.py calls it where the vault is enabled)."""
    serve(app, [routes])


# --- who may ask (FORMAT.md §19.3), declared as the routes' access --------------------------------


SECURITY_SCHEMES: Mapping[str, Mapping[str, Any]] = {
    "incoopAddress": {"type": "apiKey", "in": "header", "name": H_ADDRESS,
                      "description": "the signer's text address (FORMAT.md §5)"},
    "incoopTime": {"type": "apiKey", "in": "header", "name": H_TIME,
                   "description": "the signing time, ms since the Unix epoch, decimal, at most 19 digits; "
                                  "within 60 s of the node's clock"},
    "incoopSignature": {"type": "apiKey", "in": "header", "name": H_SIGNATURE,
                        "description": "128 lower-case hex: Ed25519 over signing_message(\"incoop/api/v1\", chain_id, "
                                       "canonical([METHOD, target, SHA-256(body), time_ms])) (FORMAT.md §19.3)"},
}
ACCESS_REFUSALS = (
    Refuse(401, ["UNAUTHENTICATED", "STALE_REQUEST", "REPLAYED_REQUEST"],
           "a missing, malformed or bad signature; a time outside the window; the same signed request again"),
    Refuse(403, ["FORBIDDEN"], "a valid signer who may not do this (decided before the record is looked at)"),
    Refuse(413, ["BODY_TOO_LARGE"], f"a body larger than {MAX_VAULT_BODY} bytes"),
    Refuse(429, ["TOO_MANY_REQUESTS"], "the signer's share of the replay memory, or the memory, is full: retry later"),
)


@dataclass(frozen=True)
class VaultAccess:
    """The checks of FORMAT.md §19.3 for one route: `who` may use it, the registrar alone or also the
    subject (an account bound on chain, now, to the identity in the path)."""

    who: Literal["registrar", "registrar or subject"]
    what: str
    security_schemes: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: SECURITY_SCHEMES)
    refusals: Sequence[Refuse] = ACCESS_REFUSALS

    async def authenticate(self, request: web.Request) -> SignedRequest:
        """Steps 1-4: signed and fresh (401), by a key that could be allowed anything (403, before its
        signature is verified). Nothing is remembered yet."""
        service, ctx = request.app[VAULT], request.app[NODE]
        try:
            return await _signed(request, service, ctx)
        except ApiError as exc:
            raise service.refused(exc) from None

    def authorize(self, request: web.Request, principal: SignedRequest, path: BaseModel | None) -> None:
        """Step 5, then 6: the signer allowed to do this (403), then the request remembered (401, 429)."""
        service, ctx = request.app[VAULT], request.app[NODE]
        try:
            if principal.signer != service.registrar:
                if self.who == "registrar":
                    raise ApiError(403, "FORBIDDEN", f"only the registrar this vault serves may {self.what}")
                identity_id = getattr(path, "id", None)
                if identity_id is None or identity_records.identity_of(ctx.store.state, principal.signer) != identity_id:
                    raise ApiError(403, "FORBIDDEN", "only the registrar or the identity's own keys may read this record")
            service.remember(principal)
        except ApiError as exc:
            raise service.refused(exc) from None


async def _signed(request: web.Request, service: VaultService, ctx: NodeContext) -> SignedRequest:
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
        return authenticate_request(request.headers, request.method, request.raw_path, body, ctx.chain_id,
                                    may_sign=may_sign)
    except AuthError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None


# --- the record, as the document states it -----------------------------------------------------------


def _char_class(codes: list[int]) -> str:
    """A regex character class body for these code points, as \\uXXXX ranges."""
    ranges, start = [], None
    for i, code in enumerate(codes):
        if start is None:
            start = code
        if i + 1 == len(codes) or codes[i + 1] != code + 1:
            ranges.append(f"\\u{start:04x}" + (f"-\\u{code:04x}" if code != start else ""))
            start = None
    return "".join(ranges)


_SPACE = [c for c in range(0x3001) if chr(c).isspace()]  # str.strip's white space (none above U+3000)
_CONTROL = [*range(0x00, 0x20), *range(0x7F, 0xA0)]  # Unicode category Cc
TEXT_PATTERN = (
    f"^[{_char_class(_SPACE)}]*"
    f"[^{_char_class(sorted(set(_SPACE) | set(_CONTROL)))}]"
    f"(?:[^{_char_class(_CONTROL)}]*[^{_char_class(sorted(set(_SPACE) | set(_CONTROL)))}])?"
    f"[{_char_class(_SPACE)}]*$"
)
"""The text rule of identity/commitment.py as a pattern: something besides white space, and no control
character once the white space around it is stripped."""
TAX_CODE_FORMAT = "incoop-tax-code"


def _record_schema() -> dict[str, Any]:
    """PersonalRecord's own JSON Schema (identity/commitment.py), with the rules its validators add."""
    schema = PersonalRecord.model_json_schema(ref_template=REF, schema_generator=SchemaGenerator)
    props = schema["properties"]
    props["name"]["pattern"] = TEXT_PATTERN
    props["address"]["anyOf"][0]["pattern"] = TEXT_PATTERN
    props["contacts"]["items"]["pattern"] = TEXT_PATTERN
    props["documents"]["items"]["pattern"] = TEXT_PATTERN
    props["tax_code"].update(format=TAX_CODE_FORMAT, description=(
        "a person's codice fiscale (16 characters, its check character and date valid), an organisation's "
        "11-digit partita IVA or numeric codice fiscale (its office code and check digit valid); white space "
        "and case do not matter (FORMAT.md §6.4.4)"))
    props["birth_date"]["anyOf"][0].update(pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$", format="date")
    props["birth_date"]["description"] = "for a person, it must agree with the codice fiscale's date"
    return schema


class NewRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: IdentityIdParam  # type: ignore[valid-type]
    record: Annotated[dict, WithJsonSchema(_record_schema())]


class StoredRecord(Strict):
    """A record as the vault returns it: every field, absent ones null or []."""

    kind: Literal[identity_records.KINDS]  # type: ignore[valid-type]
    name: str
    tax_code: str
    birth_date: str | None
    address: str | None
    contacts: list[str]
    documents: list[str]


class Stored(Strict):
    id: IdentityIdText
    commitment: Annotated[HashText, Field(description='SHA-256(b"incoop/commitment/v1" || salt || canonical record)')]


class VaultRecord(Strict):
    id: IdentityIdText
    record: StoredRecord
    commitment: HashText


class VaultExport(Strict):
    id: IdentityIdText
    record: StoredRecord
    salt: Annotated[str, Field(pattern=hex_pattern(SALT_LEN))]
    commitment: HashText
    identity: Annotated[IdentityJson | None, Field(description="as GET /v1/identities/{id}; null if not on chain")]


class RecordPath(BaseModel):
    id: IdentityIdParam  # type: ignore[valid-type]


STORE = VaultAccess("registrar", "store records")
ERASE = VaultAccess("registrar", "erase records")
READ = VaultAccess("registrar or subject", "read this record")
NO_RECORD = Refuse(404, ["NOT_FOUND"], "the vault holds no record under this id (never an erased one)")


def _stored(service: VaultService, identity_id: bytes) -> tuple[PersonalRecord, bytes]:
    found = service.vault.get(identity_id)
    if found is None:
        raise ApiError(404, "NOT_FOUND", f"the vault holds no record for identity {identity_id.hex()}")
    return found


# --- handlers ---------------------------------------------------------------------------------------


@routes.post("/v1/vault/records", summary="Store a personal record (the registrar only); the vault draws the salt",
             access=STORE, body=[Payload(JSON, model=NewRecord)],
             replies=[json_reply(Stored, "stored", status=201)],
             refusals=[Refuse(400, ["INVALID_RECORD"], "the record breaks a rule: the message names the field "
                                                       "first (record.<field>: ...)"),
                       Refuse(409, ["EXISTS"], "the vault already holds this id")])
async def post_record(request: web.Request, principal: SignedRequest, body: NewRecord) -> web.Response:
    service = request.app[VAULT]
    try:
        record = parse_record(body.record)
    except RecordError as exc:
        raise ApiError(400, "INVALID_RECORD", str(exc)) from None
    salt = os.urandom(SALT_LEN)
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, service.vault.put, body.id, record, salt)
    except RecordExists:
        raise ApiError(409, "EXISTS", f"the vault already holds a record for identity {body.id.hex()}") from None
    return web.json_response({"id": body.id.hex(), "commitment": commitment(salt, record).hex()}, status=201)


@routes.get("/v1/vault/records/{id}", summary="A personal record (the registrar, or the subject)",
            access=READ, path_params=RecordPath,
            replies=[json_reply(VaultRecord, "the record")], refusals=[NO_RECORD])
async def get_record(request: web.Request, principal: SignedRequest, path: RecordPath) -> web.Response:
    record, salt = _stored(request.app[VAULT], path.id)
    return web.json_response({
        "id": path.id.hex(),
        "record": record_json(record),
        "commitment": commitment(salt, record).hex(),
    })


@routes.get("/v1/vault/records/{id}/export",
            summary="The GDPR art. 15/20 export of a record, its salt and the identity on chain (the registrar, or the subject)",
            access=READ, path_params=RecordPath,
            replies=[json_reply(VaultExport, "an attachment", headers=[ReplyHeader(
                "Content-Disposition", "attachment; filename=incoop-record-<id>.json",
                {"type": "string", "pattern": '^attachment; filename="incoop-record-[0-9a-f]{32}\\.json"$'})])],
            refusals=[NO_RECORD])
async def export_record(request: web.Request, principal: SignedRequest, path: RecordPath) -> web.Response:
    ctx = request.app[NODE]
    identity_id = path.id
    record, salt = _stored(request.app[VAULT], identity_id)
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


@routes.delete("/v1/vault/records/{id}", summary="Erase a record and its salt (GDPR art. 17; the registrar only)",
               access=ERASE, path_params=RecordPath,
               replies=[no_content("erased from the vault's files")], refusals=[NO_RECORD])
async def delete_record(request: web.Request, principal: SignedRequest, path: RecordPath) -> web.Response:
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(None, request.app[VAULT].vault.delete, path.id):
        raise ApiError(404, "NOT_FOUND", f"the vault holds no record for identity {path.id.hex()}")
    return web.Response(status=204)
