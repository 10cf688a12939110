"""Identities on chain: kind, status, registrar, keys, recovery and attestations — never personal data."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from identity import records as identity_records
from ledger.address import to_address
from ledger.encoding import decode
from node.routes.context import NODE, NodeContext
from node.routes.render import Strict, hex_or_none
from node.routes.table import ApiError, Refuse, RouteTable, json_reply
from node.routes.types import AddressText, Count, HashText, Height, IdentityIdParam, IdentityIdText

routes = RouteTable("identities", "The identity registry on chain")


class Recovery(Strict):
    new_key: AddressText
    due_height: Height


class Attestation(Strict):
    attribute: str
    attester: AddressText
    issued_height: Height
    expiry_height: Annotated[Height | None, Field(description="null: none")]
    valid: Annotated[bool, Field(description="holds for the next block")]


class IdentityJson(Strict):
    id: IdentityIdText
    kind: Literal[identity_records.KINDS]  # type: ignore[valid-type]
    status: Literal[identity_records.STATUSES]  # type: ignore[valid-type]
    registrar: AddressText
    keys: list[AddressText]
    created_height: Count
    commitment: Annotated[HashText | None, Field(description="null once erased")]
    tag: Annotated[HashText | None, Field(description="the uniqueness tag; null once erased")]
    recovery: Recovery | None
    attestations: list[Attestation]


class IdentityPath(BaseModel):
    id: IdentityIdParam


def render_identity(ctx: NodeContext, identity_id: bytes, record: identity_records.Identity) -> dict:
    head = ctx.store.head()
    prefix = identity_records.PREFIX_ATTESTATION + identity_id
    attestations = []
    for key, value in ctx.store.state_items(prefix):
        attestation = identity_records.Attestation(*decode(value))
        attestations.append({
            "attribute": key[len(prefix):].decode("ascii"),
            "attester": to_address(attestation.attester),
            "issued_height": attestation.issued_height,
            "expiry_height": attestation.expiry_height or None,
            "valid": attestation.holds_at(head.height + 1),
        })
    recovery = None
    if record.recovery is not None:
        recovery = {"new_key": to_address(record.recovery[0]), "due_height": record.recovery[1]}
    return {
        "id": identity_id.hex(),
        "kind": record.kind,
        "status": record.status,
        "registrar": to_address(record.registrar),
        "keys": [to_address(k) for k in record.keys],
        "created_height": record.created_height,
        "commitment": hex_or_none(record.commitment),
        "tag": hex_or_none(record.tag),
        "recovery": recovery,
        "attestations": attestations,
    }


@routes.get("/v1/identities/{id}", summary="An identity: kind, status, registrar, keys, recovery, attestations",
            description="Never personal data: that stays in the registrar's vault.",
            path_params=IdentityPath, replies=[json_reply(IdentityJson, "the identity")],
            refusals=[Refuse(404, ["NOT_FOUND"], "no such identity")])
async def get_identity(request: web.Request, path: IdentityPath) -> web.Response:
    ctx = request.app[NODE]
    record = identity_records.get_identity(ctx.store.state, path.id)
    if record is None:
        raise ApiError(404, "NOT_FOUND", f"no identity {path.id.hex()}")
    return web.json_response(render_identity(ctx, path.id, record))
