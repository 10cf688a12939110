"""Credit classes: the whole record with its rules and books, the issuer's statement, the holders (FORMAT.md §6.3, §9)."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from ledger import credit_rules, credits
from ledger.address import to_address
from ledger.crypto import PUBKEY_LEN
from ledger.encoding import decode
from node.routes.context import NODE, NodeContext
from node.routes.render import Strict, hex_or_none
from node.routes.table import ApiError, Refuse, RouteTable, json_reply
from node.routes.types import (
    AddressParam,
    AddressText,
    Amount,
    ClassIdParam,
    ClassIdText,
    Count,
    HashText,
    limit_param,
)

routes = RouteTable("credits", "Credit classes: rules, books, statements, holders")

MAX_HOLDERS_LIMIT = 1000
DEFAULT_HOLDERS_LIMIT = 100
NO_CLASS = Refuse(404, ["NOT_FOUND"], "no such class")


class CreditClass(Strict):
    """A credit class: its rules (FORMAT.md §6.3) and its books (issued = supply + escrowed + redeemed + reclaimed)."""

    id: ClassIdText
    name: str
    issuer: AddressText
    decimals: Count
    kind: Literal[credit_rules.KINDS]  # type: ignore[valid-type]
    eligibility: Annotated[list[str], Field(description="attributes a holder must all have")]
    transferability: Literal[credit_rules.TRANSFERABILITY]  # type: ignore[valid-type]
    categories: Annotated[list[str], Field(description="what it pays for; empty: anything")]
    valid_from_ms: Annotated[Count, Field(description="block time from which it is valid; 0: open")]
    valid_until_ms: Annotated[Count | None, Field(description="block time from which it is expired; null: never")]
    holder_cap: Annotated[Count, Field(description="most ever issued to one holder; 0: no cap")]
    budget: Annotated[Count | None, Field(description="most ever issued in the class; null: no cap")]
    description_hash: HashText | None
    face_value: Annotated[Count | None, Field(description="a voucher class's face value: a payment buys with whole "
                                                          "vouchers of it (FORMAT.md §6.3); null: not a voucher class")]
    voucher_cap: Annotated[Count | None, Field(description="with a face value, the most one payment may use of "
                                                           "several vouchers; null: one voucher per payment (or not "
                                                           "a voucher class)")]
    issued: Count
    redeemed: Count
    reclaimed: Count
    escrowed: Annotated[Count, Field(description="held by the ledger in escrow lots for payments not final yet "
                                                 "(orders, purchase-group commitments)")]
    supply: Annotated[Count, Field(description="held by holders now: issued - escrowed - redeemed - reclaimed")]
    expired: Annotated[bool, Field(description="the head block's time is at or past valid_until_ms")]


class Classes(Strict):
    classes: list[CreditClass]


class Spent(Strict):
    category: str
    amount: Amount


class RedeemedBy(Strict):
    provider: AddressText
    amount: Amount


class Statement(Strict):
    """issued = held + escrowed + Σ redeemed_by + reclaimed."""

    class_: Annotated[CreditClass, Field(alias="class")]
    held: Annotated[Count, Field(description="in holders' balances")]
    escrowed: Annotated[Count, Field(description="in escrow lots, for payments not final yet")]
    spent: Annotated[list[Spent], Field(description="paid to providers per category (running totals)")]
    redeemed_by: list[RedeemedBy]
    reclaimed: Count


class Holder(Strict):
    address: AddressText
    amount: Amount
    provider: Annotated[bool, Field(description="accredited for the class (by its issuer or the federation)")]


class Holders(Strict):
    holders: list[Holder]
    next: Annotated[AddressText | None, Field(description="pass as `after` for the next page; null on the last")]


class ClassPath(BaseModel):
    id: ClassIdParam


class HoldersQuery(BaseModel):
    limit: limit_param(MAX_HOLDERS_LIMIT, DEFAULT_HOLDERS_LIMIT) = DEFAULT_HOLDERS_LIMIT  # type: ignore[valid-type]
    after: Annotated[AddressParam | None, Field(description="the 'next' of the previous page")] = None


def _render_class(class_id: str, credit_class: credits.CreditClass, head_time_ms: int) -> dict:
    """The whole class record: its rules, its books, and whether it has expired at the head block."""
    until = credit_class.valid_until_ms
    return {
        "id": class_id,
        "name": credit_class.name,
        "issuer": to_address(credit_class.issuer),
        "decimals": credit_class.decimals,
        "kind": credit_class.kind,
        "eligibility": list(credit_class.eligibility),
        "transferability": credit_class.transferability,
        "categories": list(credit_class.categories),
        "valid_from_ms": credit_class.valid_from_ms,
        "valid_until_ms": until or None,
        "holder_cap": credit_class.holder_cap,
        "budget": credit_class.budget or None,
        "description_hash": hex_or_none(credit_class.description_hash),
        "face_value": credit_class.face_value or None,
        "voucher_cap": credit_class.voucher_cap or None,
        "issued": credit_class.issued,
        "redeemed": credit_class.redeemed,
        "reclaimed": credit_class.reclaimed,
        "escrowed": credit_class.escrowed,
        "supply": credit_class.supply,
        "expired": bool(until) and head_time_ms >= until,
    }


def _class_of(ctx: NodeContext, class_id: str) -> credits.CreditClass:
    found = credits.get_class(ctx.store.state, class_id)
    if found is None:
        raise ApiError(404, "NOT_FOUND", f"no credit class '{class_id}'")
    return found


@routes.get("/v1/classes", summary="All credit classes", replies=[json_reply(Classes, "the classes")])
async def get_classes(request: web.Request) -> web.Response:
    ctx = request.app[NODE]
    prefix = credits.PREFIX_CLASS
    head_time = ctx.store.head().time_ms
    classes = [
        _render_class(key[len(prefix):].decode("ascii"), credits.decode_class(value), head_time)
        for key, value in ctx.store.state_items(prefix)
    ]
    return web.json_response({"classes": classes})


@routes.get("/v1/classes/{id}", summary="One credit class", path_params=ClassPath,
            replies=[json_reply(CreditClass, "the class")], refusals=[NO_CLASS])
async def get_class(request: web.Request, path: ClassPath) -> web.Response:
    ctx = request.app[NODE]
    return web.json_response(_render_class(path.id, _class_of(ctx, path.id), ctx.store.head().time_ms))


@routes.get("/v1/classes/{id}/statement",
            summary="A class's statement: its books, spent per category, redeemed per provider, reclaimed",
            path_params=ClassPath, replies=[json_reply(Statement, "the statement")], refusals=[NO_CLASS])
async def get_class_statement(request: web.Request, path: ClassPath) -> web.Response:
    """The issuer's statement: the books (credits held, in escrow, redeemed, reclaimed), what was spent per
    category (a payment held in escrow counts once released), redeemed per provider."""
    ctx = request.app[NODE]
    class_id = path.id
    found = _class_of(ctx, class_id)
    spent_prefix = credit_rules.class_scope(credit_rules.PREFIX_SPENT, class_id)
    spent = [
        {"category": key[len(spent_prefix):].decode("ascii"), "amount": decode(value)}
        for key, value in ctx.store.state_items(spent_prefix)
    ]
    redeemed_prefix = credit_rules.class_scope(credit_rules.PREFIX_REDEEMED, class_id)
    redeemed_by = [
        {"provider": to_address(key[len(redeemed_prefix):]), "amount": decode(value)}
        for key, value in ctx.store.state_items(redeemed_prefix)
    ]
    return web.json_response({
        "class": _render_class(class_id, found, ctx.store.head().time_ms),
        "held": found.supply,
        "escrowed": found.escrowed,
        "spent": spent,
        "redeemed_by": redeemed_by,
        "reclaimed": found.reclaimed,
    })


@routes.get("/v1/classes/{id}/holders",
            summary="The holders with a balance in a class, in the byte order of their keys",
            description="There is no per-class index: each page scans the whole balance table, so use it for an "
                        "issuer's sweeps (reclaim), not on a hot path.",
            path_params=ClassPath, query=HoldersQuery, replies=[json_reply(Holders, "one page")], refusals=[NO_CLASS])
async def get_class_holders(request: web.Request, path: ClassPath, query: HoldersQuery) -> web.Response:
    """The holders with a balance in a class, by address bytes. There is no per-class index:
    this scans every `bal/` entry and keeps those of the class, so it costs the whole table."""
    ctx = request.app[NODE]
    class_id = path.id
    found = _class_of(ctx, class_id)
    limit, after = query.limit, query.after
    suffix = class_id.encode("ascii")
    start = len(credits.PREFIX_BALANCE)
    page: list[tuple[bytes, int]] = []
    for key, value in ctx.store.state_items(credits.PREFIX_BALANCE):
        holder, rest = key[start:start + PUBKEY_LEN], key[start + PUBKEY_LEN:]
        if rest != suffix or (after is not None and holder <= after):
            continue
        page.append((holder, decode(value)))
        if len(page) > limit:
            break
    holders = [
        {"address": to_address(holder), "amount": amount,
         "provider": credit_rules.is_provider_for(ctx.store.state, holder, found.issuer)}
        for holder, amount in page[:limit]
    ]
    following = to_address(page[limit - 1][0]) if len(page) > limit else None
    return web.json_response({"holders": holders, "next": following})
