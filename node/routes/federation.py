"""The federation's own rules (FORMAT.md §6.8): the validator set with its peer addresses, and the proposals
that change the set, the roles and the chain parameters, with their approvals and status.

Read from the state (`sys/validators`, `fed/`): the set is at most 100 keys, and proposals come one bounded
page at a time in id order (node/routes/pages.py). Nothing here is consensus code.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from governance import federation_records as rec
from ledger import chain
from ledger.address import to_address
from ledger.state import prefix_end
from node.routes.context import NODE
from node.routes.pages import DEFAULT_LIMIT, NEXT, Limit, scan_page
from node.routes.render import Strict, hex_or_none
from node.routes.table import ApiError, Refuse, RouteTable, json_reply
from node.routes.types import AddressText, Height, hex_param, hex_pattern

routes = RouteTable("federation", "The federation's own rules: the validator set and the proposals that change it")

ProposalIdParam = hex_param(rec.ID_LEN, "a proposal id (16 bytes)")
IdText = Annotated[str, Field(pattern=hex_pattern(rec.ID_LEN))]
NO_PROPOSAL = Refuse(404, ["NOT_FOUND"], "no such proposal")


class ValidatorJson(Strict):
    address: AddressText
    peer: Annotated[str | None, Field(description="its peer address in the state (a validator added by vote); "
                                                  "null for one of genesis, whose address is in the genesis document")]


class Validators(Strict):
    height: Height
    quorum: int
    validators: list[ValidatorJson]


class ProposalJson(Strict):
    id: IdText
    proposer: AddressText
    kind: Literal["add-validator", "remove-validator", "replace-validator", "set-param", "authorise", "revoke"]
    change: list[Any] = Field(description="the change array of FORMAT.md §6.8, keys as addresses")
    effective_height: Height
    approvals: list[AddressText]
    status: Literal["pending", "approved", "applied", "failed", "expired"]
    outcome: int = Field(description="the result code that refused the change when it fell due; 0 otherwise")
    created_height: Height


class Proposals(Strict):
    proposals: list[ProposalJson]
    next: Annotated[IdText | None, Field(description=NEXT)]


class ProposalsQuery(BaseModel):
    limit: Limit = DEFAULT_LIMIT  # type: ignore[valid-type]
    after: Annotated[ProposalIdParam | None, Field(description="the `next` of the previous page")] = None  # type: ignore[valid-type]
    status: Literal["pending", "approved", "applied", "failed", "expired"] | None = None


class ProposalPath(BaseModel):
    id: ProposalIdParam  # type: ignore[valid-type]


def render_change(change: tuple) -> list[Any]:
    return [to_address(x) if type(x) is bytes else list(x) if type(x) is tuple else x for x in change]


def render_proposal(proposal_id: bytes, p: rec.Proposal) -> dict[str, Any]:
    return {
        "id": proposal_id.hex(), "proposer": to_address(p.proposer), "kind": p.change[0],
        "change": render_change(p.change), "effective_height": p.effective_height,
        "approvals": [to_address(a) for a in p.approvals], "status": p.status, "outcome": p.outcome,
        "created_height": p.created_height,
    }


@routes.get("/v1/governance/validators", summary="The validator set of the next block, in proposer order",
            replies=[json_reply(Validators, "the set")])
async def get_validators(request: web.Request) -> web.Response:
    ctx = request.app[NODE]
    state = ctx.store.state
    validators = chain.get_validators(state)
    return web.json_response({
        "height": ctx.store.head().height, "quorum": chain.quorum(len(validators)),
        "validators": [{"address": to_address(v), "peer": rec.get_peer(state, v)} for v in validators],
    })


def _proposals(state: Any, status: str | None, after: bytes | None):
    start = rec.PREFIX_PROPOSAL if after is None else rec.PREFIX_PROPOSAL + after + b"\x00"
    for key, raw in state.range(start, prefix_end(rec.PREFIX_PROPOSAL)):
        proposal = rec.decode_proposal(raw)
        if status is None or proposal.status == status:
            yield key[len(rec.PREFIX_PROPOSAL):], proposal


@routes.get("/v1/governance/proposals", summary="The federation's proposals, in id order",
            query=ProposalsQuery, replies=[json_reply(Proposals, "one page")])
async def get_proposals(request: web.Request, query: ProposalsQuery) -> web.Response:
    ctx = request.app[NODE]
    page, following = scan_page(ctx.store.state, lambda state: _proposals(state, query.status, query.after),
                                query.limit, lambda key: key[len(rec.PREFIX_PROPOSAL):])
    return web.json_response({"proposals": [render_proposal(i, p) for i, p in page], "next": hex_or_none(following)})


@routes.get("/v1/governance/proposals/{id}", summary="One proposal, with its approvals and status",
            path_params=ProposalPath, replies=[json_reply(ProposalJson, "the proposal")], refusals=[NO_PROPOSAL])
async def get_proposal(request: web.Request, path: ProposalPath) -> web.Response:
    proposal = rec.get_proposal(request.app[NODE].store.state, path.id)
    if proposal is None:
        raise ApiError(404, "NOT_FOUND", f"no proposal {path.id.hex()}")
    return web.json_response(render_proposal(path.id, proposal))
