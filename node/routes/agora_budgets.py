"""The agora's participatory budgets (FORMAT.md §6.7.1): a space's budgets, one budget with its projects and
its bar (what is allocated against the amount), and an identity's selection.

Read from the state's `agora/budget/`, `agora/project/` and `agora/selection/`
records (governance/budget_records.py). While a budget is open, each project
carries the status the closing's rule (greedy with skip, `funding`) would give
it with the selections made so far, and the bar shows that allocation; the
projection takes every owner as able to receive the class (the closing checks
that at its own block, and may find a project `ineligible`). Once closed, the
bar is what was paid out. A project's description is its proposal's text, shown
while the proposal is visible and this node holds it (node/routes/agora.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from governance import budget_records as brec
from governance import records as rec
from ledger.address import to_address
from node.routes.agora import NO_SPACE, SpacePath, render_post
from node.routes.context import NODE, NodeContext
from node.routes.pages import DEFAULT_LIMIT, NEXT, Limit, scan_page
from node.routes.render import Strict, hex_or_none
from node.routes.table import ApiError, Refuse, RouteTable, json_reply
from node.routes.types import (
    AddressText,
    Amount,
    Count,
    Height,
    IdentityIdParam,
    IdentityIdText,
    hex_param,
    hex_pattern,
)

routes = RouteTable("agora-budgets", "The agora's participatory budgets: projects, selections, the funding")


BudgetIdParam = hex_param(rec.ID_LEN, "a budget id (16 bytes)")
IdText = Annotated[str, Field(pattern=hex_pattern(rec.ID_LEN))]
NO_BUDGET = Refuse(404, ["NOT_FOUND"], "no such budget")
PHASES = ("submitting", "selecting", "closing", "closed")


# --- what the routes answer ------------------------------------------------------------------------


class BudgetBar(Strict):
    """What the budget allocates against its amount."""

    amount: Amount
    allocated: Annotated[Amount, Field(description="open: what the rule would fund with the selections so far; "
                                                    "closed: what was paid out")]
    left: Annotated[Amount, Field(description="amount − allocated: refunded to the funder at the closing")]


class BudgetSummary(Strict):
    """A budget (FORMAT.md §6.7.1) without its projects."""

    id: IdText
    space: IdText
    funder: Annotated[AddressText, Field(description="paid the fund at the opening; refunded what is not funded")]
    class_id: str
    amount: Amount
    submit_until_ms: Annotated[Count, Field(description="projects are submitted while the block time is below")]
    closes_ms: Annotated[Count, Field(description="selections are taken from submit_until_ms until this")]
    status: Literal[brec.BUDGET_STATUSES]  # type: ignore[valid-type]
    phase: Annotated[Literal[PHASES], Field(  # type: ignore[valid-type]
        description="by the head block's time: submitting (projects), selecting, closing (the closing is due "
                    "with the next block), closed")]
    project_count: Annotated[Count, Field(description="the number of projects")]
    selectors: Annotated[Count, Field(description="identities with a selection")]
    funded: Annotated[Amount, Field(description="0 while open; after the closing, what was paid out")]
    created_height: Height


class Budgets(Strict):
    budgets: list[BudgetSummary]
    next: Annotated[IdText | None, Field(description=NEXT)]


class ProjectJson(Strict):
    post: Annotated[IdText, Field(description="the project's proposal (its text is the description)")]
    author: Annotated[IdentityIdText, Field(description="the identity that submitted it")]
    signer: AddressText
    owner: Annotated[AddressText, Field(description="the account paid if it is funded")]
    amount: Amount
    selections: Annotated[Count, Field(description="identities whose selection holds it")]
    status: Literal[brec.PROJECT_STATUSES]  # type: ignore[valid-type]
    projected: Annotated[Literal[brec.FUNDED, brec.UNFUNDED] | None, Field(  # type: ignore[valid-type]
        description="open budget: what the rule would give it with the selections so far; null once closed")]
    text: Annotated[str | None, Field(description="the proposal's text, while it is visible and held here")]
    created_height: Height


class BudgetJson(BudgetSummary):
    bar: BudgetBar
    projects: Annotated[list[ProjectJson], Field(description="in the order submitted (the rule's tie-break)")]


class SelectionJson(Strict):
    budget: IdText
    identity: IdentityIdText
    projects: Annotated[list[IdText], Field(description="post ids, ascending")]
    total: Annotated[Amount, Field(description="the sum of their amounts (at most the budget's)")]
    signer: Annotated[AddressText, Field(description="the key that made the selection")]
    height: Height


# --- what the routes take ---------------------------------------------------------------------------


class BudgetPath(BaseModel):
    id: BudgetIdParam  # type: ignore[valid-type]


class SelectionPath(BaseModel):
    id: BudgetIdParam  # type: ignore[valid-type]
    identity: IdentityIdParam


class BudgetsQuery(BaseModel):
    status: Annotated[Literal[brec.BUDGET_STATUSES] | None, Field(  # type: ignore[valid-type]
        description="only budgets of this status")] = None
    limit: Limit = DEFAULT_LIMIT  # type: ignore[valid-type]
    after: Annotated[BudgetIdParam | None, Field(description="the `next` of the previous page")] = None  # type: ignore[valid-type]


# --- rendering --------------------------------------------------------------------------------------


def _phase(budget: brec.Budget, now_ms: int) -> str:
    if budget.status == brec.CLOSED:
        return "closed"
    if now_ms < budget.submit_until_ms:
        return "submitting"
    return "selecting" if now_ms < budget.closes_ms else "closing"


def render_summary(budget_id: bytes, budget: brec.Budget, now_ms: int) -> dict:
    return {
        "id": budget_id.hex(), "space": budget.space_id.hex(), "funder": to_address(budget.funder),
        "class_id": budget.class_id, "amount": budget.amount, "submit_until_ms": budget.submit_until_ms,
        "closes_ms": budget.closes_ms, "status": budget.status, "phase": _phase(budget, now_ms),
        "project_count": len(budget.projects), "selectors": budget.selectors, "funded": budget.funded,
        "created_height": budget.created_height,
    }


def _now_ms(ctx: NodeContext) -> int:
    return ctx.store.head().time_ms


def render_budget(ctx: NodeContext, budget_id: bytes, budget: brec.Budget) -> dict:
    state = ctx.store.state
    projects = [(post_id, brec.get_project(state, budget_id, post_id)) for post_id in budget.projects]
    found = [(post_id, p) for post_id, p in projects if p is not None]
    if budget.status == brec.OPEN:
        projected = brec.funding(budget.amount, [brec.Candidate(p.selections, p.amount, True) for _, p in found])
        allocated = sum(p.amount for (_, p), s in zip(found, projected, strict=True) if s == brec.FUNDED)
    else:
        projected = [None] * len(found)
        allocated = budget.funded
    listed = []
    for (post_id, project), shown in zip(found, projected, strict=True):
        post = rec.get_post(state, post_id)
        text = render_post(ctx.texts, post_id, post)["text"] if post is not None and ctx.texts is not None else None
        listed.append({
            "post": post_id.hex(), "author": project.author.hex(), "signer": to_address(project.signer),
            "owner": to_address(project.owner), "amount": project.amount, "selections": project.selections,
            "status": project.status, "projected": shown, "text": text, "created_height": project.created_height,
        })
    return {**render_summary(budget_id, budget, _now_ms(ctx)),
            "bar": {"amount": budget.amount, "allocated": allocated, "left": budget.amount - allocated},
            "projects": listed}


def _budget(ctx: NodeContext, budget_id: bytes) -> brec.Budget:
    budget = brec.get_budget(ctx.store.state, budget_id)
    if budget is None:
        raise ApiError(404, "NOT_FOUND", f"no budget {budget_id.hex()}")
    return budget


# --- the routes ---------------------------------------------------------------------------------------


@routes.get("/v1/agora/spaces/{id}/budgets", summary="A space's participatory budgets, in id order",
            description="A page reads at most a bounded number of records (docs/api-contract.md, Pages): follow "
                        "`next` until it is null.",
            path_params=SpacePath, query=BudgetsQuery, replies=[json_reply(Budgets, "one page")],
            refusals=[NO_SPACE])
async def get_agora_budgets(request: web.Request, path: SpacePath, query: BudgetsQuery) -> web.Response:
    ctx = request.app[NODE]
    if rec.get_space(ctx.store.state, path.id) is None:
        raise ApiError(404, "NOT_FOUND", f"no space {path.id.hex()}")
    start = brec.budget_key(query.after) + b"\x00" if query.after else brec.PREFIX_BUDGET

    def scan(state):
        for key, raw in state.range(start, brec.PREFIX_BUDGET + b"\xff"):
            budget = brec.decode_budget(raw)
            if budget.space_id == path.id and (query.status is None or budget.status == query.status):
                yield key[len(brec.PREFIX_BUDGET):], budget

    page, following = scan_page(ctx.store.state, scan, query.limit, lambda key: key[len(brec.PREFIX_BUDGET):])
    now_ms = _now_ms(ctx)
    return web.json_response({"budgets": [render_summary(i, b, now_ms) for i, b in page],
                              "next": hex_or_none(following)})


@routes.get("/v1/agora/budgets/{id}", summary="A participatory budget: its projects, their selections and status, "
                                              "and the bar (allocated against the amount)",
            path_params=BudgetPath, replies=[json_reply(BudgetJson, "the budget")], refusals=[NO_BUDGET])
async def get_agora_budget(request: web.Request, path: BudgetPath) -> web.Response:
    ctx = request.app[NODE]
    budget = _budget(ctx, path.id)
    if ctx.texts is not None:
        ctx.texts.catch_up()
    return web.json_response(render_budget(ctx, path.id, budget))


@routes.get("/v1/agora/budgets/{id}/selections/{identity}",
            summary="An identity's selection in a budget (whatever key made it)",
            path_params=SelectionPath, replies=[json_reply(SelectionJson, "the selection")],
            refusals=[Refuse(404, ["NOT_FOUND"], "no such budget, or the identity has no selection in it")])
async def get_agora_selection(request: web.Request, path: SelectionPath) -> web.Response:
    ctx = request.app[NODE]
    _budget(ctx, path.id)
    selection = brec.get_selection(ctx.store.state, path.id, path.identity)
    if selection is None:
        raise ApiError(404, "NOT_FOUND", f"identity {path.identity.hex()} has no selection in budget {path.id.hex()}")
    total = 0
    for post_id in selection.projects:
        project = brec.get_project(ctx.store.state, path.id, post_id)
        total += 0 if project is None else project.amount
    return web.json_response({
        "budget": path.id.hex(), "identity": path.identity.hex(), "projects": [p.hex() for p in selection.projects],
        "total": total, "signer": to_address(selection.signer), "height": selection.height,
    })
