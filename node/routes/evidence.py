"""Recorded evidence of double signing (FORMAT.md §13.3), in state key order."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from ledger import evidence
from ledger.address import to_address
from node.routes.context import NODE
from node.routes.render import Strict
from node.routes.table import RouteTable, json_reply
from node.routes.types import (
    AddressText,
    EvidenceCursorParam,
    HashText,
    Height,
    Round,
    hex_pattern,
    limit_param,
)

routes = RouteTable("evidence", "Evidence of double signing")

MAX_EVIDENCE_LIMIT = 200
DEFAULT_EVIDENCE_LIMIT = 50
EvidenceCursorText = Annotated[str, Field(pattern=hex_pattern(evidence.OFFENCE_LEN))]


class EvidenceJson(Strict):
    """One validator's two signed votes for one (type, height, round)."""

    validator: AddressText
    height: Height
    round: Round
    type: Literal[tuple(evidence.VOTE_TYPE_NAMES.values())]  # type: ignore[valid-type]
    block_hash_a: Annotated[HashText | None, Field(description="the first vote's value; null for nil")]
    block_hash_b: Annotated[HashText | None, Field(description="the second vote's value; null for nil")]
    included_height: Annotated[Height, Field(description="the height of the block that recorded it")]
    reporter: AddressText


class EvidencePage(Strict):
    evidence: list[EvidenceJson]
    next: Annotated[EvidenceCursorText | None, Field(description="pass as `after` for the next page; null on the last")]


class EvidenceQuery(BaseModel):
    limit: limit_param(MAX_EVIDENCE_LIMIT, DEFAULT_EVIDENCE_LIMIT) = DEFAULT_EVIDENCE_LIMIT  # type: ignore[valid-type]
    after: EvidenceCursorParam | None = None  # type: ignore[valid-type]


def _render_evidence(key: bytes, record: evidence.EvidenceRecord) -> dict:
    offence = evidence.offence_from_key(key)
    return {
        "validator": to_address(offence.validator),
        "height": offence.height,
        "round": offence.round,
        "type": evidence.VOTE_TYPE_NAMES[offence.type],
        "block_hash_a": None if record.vote_a.block_hash is None else record.vote_a.block_hash.hex(),
        "block_hash_b": None if record.vote_b.block_hash is None else record.vote_b.block_hash.hex(),
        "included_height": record.included_height,
        "reporter": to_address(record.reporter),
    }


@routes.get("/v1/evidence", summary="Recorded evidence of double signing, in key order (validator, height, round, type)",
            query=EvidenceQuery, replies=[json_reply(EvidencePage, "one page")])
async def get_evidence(request: web.Request, query: EvidenceQuery) -> web.Response:
    ctx = request.app[NODE]
    limit = query.limit
    after = None if query.after is None else evidence.PREFIX_EVIDENCE + query.after
    page: list[tuple[bytes, bytes]] = []
    for key, value in ctx.store.state_items(evidence.PREFIX_EVIDENCE):
        if after is not None and key <= after:
            continue  # evidence is rare: skipping in key order is cheap
        page.append((key, value))
        if len(page) > limit:
            break
    items = [_render_evidence(key, evidence.decode_record(value)) for key, value in page[:limit]]
    following = page[limit - 1][0][len(evidence.PREFIX_EVIDENCE):].hex() if len(page) > limit else None
    return web.json_response({"evidence": items, "next": following})
