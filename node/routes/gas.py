"""Purchase groups (module `gas`, FORMAT.md §6.6): the groups, how full each is, and its commitments.

Read from the state's `gas/` records (market/groups_record.py) by prefix
scans in id order, each answer one bounded page (node/routes/pages.py). A
group's fill is what its members would get if the deadline were now: the
tier its committed quantity has reached, and how many units the next tier
still needs.
"""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from ledger import credit_ops
from ledger.address import to_address
from ledger.crypto import PUBKEY_LEN
from market import groups_record as rec
from node.routes.context import NODE, NodeContext
from node.routes.market import (
    CATEGORY_PATTERN,
    IdText,
    ListingIdParam,
)
from node.routes.pages import DEFAULT_LIMIT, NEXT, Limit, scan_page
from node.routes.render import Strict, hex_or_none
from node.routes.table import ApiError, Refuse, RouteTable, json_reply
from node.routes.types import (
    AddressParam,
    AddressText,
    Amount,
    ClassIdText,
    Count,
    HashText,
    Height,
    hex_param,
)

routes = RouteTable("gas", "Purchase groups: pooled purchases on a listing, settled at the deadline")

GroupIdParam = hex_param(rec.ID_LEN, "a purchase group id (16 bytes)")
NO_GROUP = Refuse(404, ["NOT_FOUND"], "no such purchase group")
Quantity = Annotated[int, Field(ge=0, le=2**63 - 1)]


class Tier(Strict):
    min_total: Quantity
    unit_price: Amount


class NextTier(Strict):
    min_total: Quantity
    unit_price: Amount
    missing: Annotated[Quantity, Field(description="units the group still needs to reach it")]


class GroupJson(Strict):
    """A purchase group (FORMAT.md §6.6) and its fill at the head block."""

    id: IdText
    organiser: AddressText
    listing: IdText
    provider: Annotated[AddressText, Field(description="the supplier: the listing's provider when the group opened")]
    category: Annotated[str, Field(pattern=CATEGORY_PATTERN)]
    class_: Annotated[ClassIdText, Field(alias="class")]
    min_qty: Quantity
    max_qty: Quantity
    deadline_ms: Annotated[Count, Field(description="block time from which it takes no commitment and is settled")]
    tiers: Annotated[list[Tier], Field(description="ascending min_total, descending price; the first is the "
                                                   "minimum and the top price")]
    top_price: Annotated[Amount, Field(description="what a unit is held in escrow at while the group is open")]
    status: Literal[rec.STATUSES]  # type: ignore[valid-type]
    committed_qty: Annotated[Quantity, Field(description="the sum of the commitments (frozen once decided)")]
    members: Annotated[Count, Field(description="the number of commitments (frozen once decided)")]
    pending: Annotated[Count, Field(description="commitments not settled yet")]
    room: Annotated[Quantity, Field(description="units that may still be committed: max_qty - committed_qty")]
    reached: Annotated[Tier | None, Field(description="the tier the committed quantity has reached so far; null "
                                                      "below the minimum")]
    next_tier: Annotated[NextTier | None, Field(description="the next tier up, if any")]
    accepting: Annotated[bool, Field(description="open and before its deadline at the head block: members may "
                                                 "join and leave")]
    unit_price: Annotated[Amount, Field(description="the price reached, once decided; 0 while open and for a "
                                                    "failed group")]
    commitments_made: Count
    created_height: Height


class Groups(Strict):
    groups: list[GroupJson]
    next: Annotated[IdText | None, Field(description=NEXT)]


class CommitmentJson(Strict):
    member: AddressText
    quantity: Quantity
    lot: Annotated[HashText, Field(description="its escrow lot (FORMAT.md §6.6)")]
    escrowed: Annotated[Amount, Field(description="what the lot holds: quantity × the group's top price")]


class Commitments(Strict):
    group: IdText
    commitments: Annotated[list[CommitmentJson], Field(description="those not settled yet, in member order")]
    next: Annotated[AddressText | None, Field(description=NEXT)]


class GroupPath(BaseModel):
    id: GroupIdParam  # type: ignore[valid-type]


class GroupsQuery(BaseModel):
    status: Annotated[Literal[rec.STATUSES] | None, Field(description="only groups of this status (open: "  # type: ignore[valid-type]
                                                                     "still taking commitments until its deadline)")] = None
    listing: Annotated[ListingIdParam | None, Field(description="only groups on this listing")] = None  # type: ignore[valid-type]
    organiser: Annotated[AddressParam | None, Field(description="only groups this account opened")] = None
    limit: Limit = DEFAULT_LIMIT  # type: ignore[valid-type]
    after: Annotated[GroupIdParam | None, Field(description="the `next` of the previous page")] = None  # type: ignore[valid-type]


class CommitmentsQuery(BaseModel):
    limit: Limit = DEFAULT_LIMIT  # type: ignore[valid-type]
    after: Annotated[AddressParam | None, Field(description="the `next` of the previous page")] = None


def fill(group: rec.Group) -> tuple[rec.Tier | None, rec.Tier | None]:
    """The tier `committed_qty` has reached (None below the minimum) and the next one up (None at the top)."""
    reached = [t for t in group.tiers if t.min_total <= group.committed_qty]
    above = [t for t in group.tiers if t.min_total > group.committed_qty]
    return (reached[-1] if reached else None), (above[0] if above else None)


def render_group(group_id: bytes, group: rec.Group, head_time_ms: int) -> dict:
    reached, following = fill(group)
    return {
        "id": group_id.hex(),
        "organiser": to_address(group.organiser),
        "listing": group.listing_id.hex(),
        "provider": to_address(group.provider),
        "category": group.category,
        "class": group.class_id,
        "min_qty": group.min_qty,
        "max_qty": group.max_qty,
        "deadline_ms": group.deadline_ms,
        "tiers": [{"min_total": t.min_total, "unit_price": t.unit_price} for t in group.tiers],
        "top_price": group.top_price,
        "status": group.status,
        "committed_qty": group.committed_qty,
        "members": group.members,
        "pending": group.pending,
        "room": group.max_qty - group.committed_qty,
        "reached": None if reached is None else {"min_total": reached.min_total, "unit_price": reached.unit_price},
        "next_tier": None if following is None else {"min_total": following.min_total,
                                                      "unit_price": following.unit_price,
                                                      "missing": following.min_total - group.committed_qty},
        "accepting": group.status == rec.OPEN and head_time_ms < group.deadline_ms,
        "unit_price": group.unit_price,
        "commitments_made": group.commitments_made,
        "created_height": group.created_height,
    }


def _group(ctx: NodeContext, group_id: bytes) -> rec.Group:
    group = rec.get_group(ctx.store.state, group_id)
    if group is None:
        raise ApiError(404, "NOT_FOUND", f"no purchase group {group_id.hex()}")
    return group


@routes.get("/v1/gas/groups", summary="Purchase groups: by status, listing, organiser; in id order",
            description="Every filter given must hold (`status=open`: the groups still taking commitments). A page "
                        "reads at most a bounded number of records (docs/api-contract.md, Pages): follow `next` "
                        "until it is null.",
            query=GroupsQuery, replies=[json_reply(Groups, "one page")])
async def get_gas_groups(request: web.Request, query: GroupsQuery) -> web.Response:
    ctx = request.app[NODE]
    head_time = ctx.store.head().time_ms
    page, following = scan_page(
        ctx.store.state,
        lambda state: rec.groups(state, listing_id=query.listing, organiser=query.organiser, status=query.status,
                                 after=query.after),
        query.limit, lambda key: key[len(rec.PREFIX_GROUP):])
    return web.json_response({"groups": [render_group(i, group, head_time) for i, group in page],
                              "next": hex_or_none(following)})


@routes.get("/v1/gas/groups/{id}", summary="One purchase group with its fill: quantity committed, members, the tier "
                                           "reached so far, the deadline",
            path_params=GroupPath, replies=[json_reply(GroupJson, "the group")], refusals=[NO_GROUP])
async def get_gas_group(request: web.Request, path: GroupPath) -> web.Response:
    ctx = request.app[NODE]
    return web.json_response(render_group(path.id, _group(ctx, path.id), ctx.store.head().time_ms))


@routes.get("/v1/gas/groups/{id}/commitments",
            summary="A purchase group's commitments not settled yet, with their escrow, in member order",
            path_params=GroupPath, query=CommitmentsQuery, replies=[json_reply(Commitments, "one page")],
            refusals=[NO_GROUP])
async def get_gas_commitments(request: web.Request, path: GroupPath, query: CommitmentsQuery) -> web.Response:
    ctx = request.app[NODE]
    group_id = path.id
    _group(ctx, group_id)
    state = ctx.store.state
    prefix = rec.PREFIX_COMMIT + group_id
    page, following = scan_page(state, lambda reader: rec.commitments(reader, group_id, after=query.after),
                                query.limit, lambda key: key[len(prefix):])
    rows = []
    for member, commitment in page:
        held = credit_ops.get_lot(state, commitment.lot)
        rows.append({"member": to_address(member), "quantity": commitment.quantity, "lot": commitment.lot.hex(),
                     "escrowed": 0 if held is None else held.amount})
    return web.json_response({"group": group_id.hex(), "commitments": rows,
                              "next": None if following is None else to_address(following[:PUBKEY_LEN])})
