"""Participatory budgets: `agora.budget`, `agora.project`, `agora.select` (FORMAT.md §6.7.1).

A budget is money of one credit class that the members of a space share out
among projects by choosing them:

- an agora admin or a moderator of the space opens it, and its funder (the
  signer) pays the whole amount at once into the budget's fund, an escrow lot
  of the ledger (`credit_ops.lock_fund`, the class's rules checked then);
- until `submit_until_ms`, eligible identities submit projects: one of their
  own proposals in the space, an owner account to pay and an amount;
- from then until `closes_ms`, each eligible identity selects a set of
  projects whose amounts together fit the budget. One selection per
  identity, whatever its keys; selecting again replaces it (the last
  counts). Each project keeps the number of identities that selected it,
  moved by the selections, so that the closing (governance/budget_close.py)
  is O(projects) however many took part;
- at `closes_ms` the end-of-block step funds projects by the rule
  (governance/budget_records.py `funding`), pays each funded project's owner
  out of the fund and refunds the rest to the funder.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from governance import budget_records as brec
from governance import records as rec
from governance.budget_records import OPEN, SUBMITTED, Budget, Project, Selection
from governance.common import eligible_identity, is_moderator, load_space, record_id
from governance.posts import load_post
from governance.records import PROPOSAL, VISIBLE
from ledger import credit_ops as ops
from ledger import deadlines, fields
from ledger.credits import CLASS_ID
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext, TxType


def load_budget(ctx: ExecContext, budget_id: bytes) -> Budget:
    budget = brec.get_budget(ctx.state, budget_id)
    if budget is None:
        raise TxError(Code.UNKNOWN_BUDGET)
    return budget


# --- agora.budget --------------------------------------------------------------------------


class BudgetBody(NamedTuple):
    budget_id: bytes
    space_id: bytes
    class_id: str
    amount: int
    submit_until_ms: int
    closes_ms: int


def parse_budget(body: tuple) -> BudgetBody:
    budget_id, space_id, class_id, amount, submit_until_ms, closes_ms = fields.expect_fields(body, BudgetBody._fields)
    submit_until_ms, closes_ms = fields.uint(submit_until_ms, "submit_until_ms"), fields.uint(closes_ms, "closes_ms")
    if closes_ms <= submit_until_ms:
        raise TxError(Code.MALFORMED, "closes_ms must be after submit_until_ms")
    return BudgetBody(record_id(budget_id, "budget_id"), record_id(space_id, "space_id"),
                      fields.identifier(class_id, "class_id", CLASS_ID), fields.amount(amount), submit_until_ms,
                      closes_ms)


def execute_budget(ctx: ExecContext, body: BudgetBody) -> None:
    if ctx.state.get(brec.budget_key(body.budget_id)) is not None:
        raise TxError(Code.BUDGET_EXISTS)
    space = load_space(ctx, body.space_id)
    if not rec.is_admin(ctx.state, ctx.signer) and not is_moderator(space, ctx.signer):
        raise TxError(Code.NOT_MODERATOR, "an agora admin or a moderator of the space opens a budget")
    if body.submit_until_ms <= ctx.time_ms:
        raise TxError(Code.BUDGET_WINDOW, "submit_until_ms must be after the block's time")
    ops.lock_fund(ctx, brec.budget_lot(body.budget_id), body.class_id, ctx.signer, body.amount,
                  brec.reference(body.budget_id))
    budget = Budget(body.space_id, ctx.signer, body.class_id, body.amount, body.submit_until_ms, body.closes_ms,
                    OPEN, (), 0, 0, ctx.height)
    ctx.state.put(brec.budget_key(body.budget_id), budget.encode())
    deadlines.schedule_at_time(ctx.state, rec.MODULE_NAME, body.closes_ms, brec.close_item(body.budget_id))


# --- agora.project -------------------------------------------------------------------------


class ProjectBody(NamedTuple):
    budget_id: bytes
    post_id: bytes
    owner: bytes
    amount: int


def parse_project(body: tuple) -> ProjectBody:
    budget_id, post_id, owner, amount = fields.expect_fields(body, ProjectBody._fields)
    return ProjectBody(record_id(budget_id, "budget_id"), record_id(post_id, "post_id"),
                       fields.pubkey(owner, "owner"), fields.amount(amount))


def execute_project(ctx: ExecContext, body: ProjectBody) -> None:
    budget = load_budget(ctx, body.budget_id)
    if budget.status != OPEN or ctx.time_ms >= budget.submit_until_ms:
        raise TxError(Code.BUDGET_WINDOW, f"projects were submitted until {budget.submit_until_ms}")
    post = load_post(ctx, body.post_id)
    if post.space_id != budget.space_id:
        raise TxError(Code.UNKNOWN_POST, "the proposal is not in the budget's space")
    if post.kind != PROPOSAL:
        raise TxError(Code.NOT_A_PROPOSAL)
    if post.status != VISIBLE:
        raise TxError(Code.POST_NOT_VISIBLE, f"the proposal is {post.status}")
    identity_id = eligible_identity(ctx, load_space(ctx, budget.space_id))
    if identity_id != post.author:
        raise TxError(Code.NOT_POST_AUTHOR, "a project is submitted by its proposal's author")
    if ctx.state.get(brec.project_key(body.budget_id, body.post_id)) is not None:
        raise TxError(Code.PROJECT_EXISTS)
    if body.amount > budget.amount:
        raise TxError(Code.OVER_BUDGET, f"the budget is {budget.amount}")
    if len(budget.projects) >= brec.MAX_PROJECTS:
        raise TxError(Code.TOO_MANY_PROJECTS, f"a budget has at most {brec.MAX_PROJECTS} projects")
    if brec.projects_by(ctx.state, body.budget_id, budget, identity_id) >= brec.MAX_PROJECTS_PER_AUTHOR:
        raise TxError(Code.TOO_MANY_OWN_PROJECTS,
                      f"one identity submits at most {brec.MAX_PROJECTS_PER_AUTHOR} projects to a budget")
    ops.check_payee(ctx, budget.class_id, budget.funder, body.owner)
    project = Project(identity_id, ctx.signer, body.owner, body.amount, 0, SUBMITTED, ctx.height)
    ctx.state.put(brec.project_key(body.budget_id, body.post_id), project.encode())
    ctx.state.put(brec.budget_key(body.budget_id), budget._replace(projects=(*budget.projects, body.post_id)).encode())


# --- agora.select --------------------------------------------------------------------------


class SelectBody(NamedTuple):
    budget_id: bytes
    projects: tuple[bytes, ...]


def _project_ids(value: Any) -> tuple[bytes, ...]:
    if type(value) is not tuple or len(value) > brec.MAX_PROJECTS:
        raise TxError(Code.MALFORMED, f"projects must be an array of at most {brec.MAX_PROJECTS} post ids")
    ids = tuple(record_id(p, f"projects[{i}]") for i, p in enumerate(value))
    if list(ids) != sorted(set(ids)):
        raise TxError(Code.MALFORMED, "projects must be in ascending byte order, each once")
    return ids


def parse_select(body: tuple) -> SelectBody:
    budget_id, projects = fields.expect_fields(body, SelectBody._fields)
    return SelectBody(record_id(budget_id, "budget_id"), _project_ids(projects))


def execute_select(ctx: ExecContext, body: SelectBody) -> None:
    budget = load_budget(ctx, body.budget_id)
    if budget.status != OPEN or not budget.submit_until_ms <= ctx.time_ms < budget.closes_ms:
        raise TxError(Code.BUDGET_WINDOW, f"selections are taken from {budget.submit_until_ms} until "
                                          f"{budget.closes_ms}")
    identity_id = eligible_identity(ctx, load_space(ctx, budget.space_id))
    chosen: dict[bytes, Project] = {}
    for post_id in body.projects:
        project = brec.get_project(ctx.state, body.budget_id, post_id)
        if project is None:
            raise TxError(Code.UNKNOWN_PROJECT, f"post {post_id.hex()} is not a project of the budget")
        chosen[post_id] = project
    total = sum(project.amount for project in chosen.values())
    if total > budget.amount:
        raise TxError(Code.OVER_BUDGET, f"the selected projects ask {total}, the budget is {budget.amount}")
    before = brec.get_selection(ctx.state, body.budget_id, identity_id)
    change = dict.fromkeys(body.projects, 1)
    for post_id in () if before is None else before.projects:  # a changed selection: the earlier no longer counts
        change[post_id] = change.get(post_id, 0) - 1
    for post_id in sorted(change):
        if change[post_id]:
            project = chosen.get(post_id) or brec.get_project(ctx.state, body.budget_id, post_id)
            if project is None:  # a stored selection names only the budget's projects, never deleted
                raise TxError(Code.UNKNOWN_PROJECT, f"post {post_id.hex()} is not a project of the budget")
            ctx.state.put(brec.project_key(body.budget_id, post_id),
                          project._replace(selections=project.selections + change[post_id]).encode())
    key = brec.selection_key(body.budget_id, identity_id)
    if body.projects:
        ctx.state.put(key, Selection(body.projects, ctx.signer, ctx.height).encode())
    else:  # an empty selection withdraws the identity's
        ctx.state.delete(key)
    selectors = budget.selectors + (1 if body.projects else 0) - (0 if before is None else 1)
    if selectors != budget.selectors:
        ctx.state.put(brec.budget_key(body.budget_id), budget._replace(selectors=selectors).encode())


BUDGET = TxType("agora.budget", parse_budget, execute_budget)
PROJECT = TxType("agora.project", parse_project, execute_project, lambda b: (b.owner,))
SELECT = TxType("agora.select", parse_select, execute_select)
TYPES = (BUDGET, PROJECT, SELECT)
