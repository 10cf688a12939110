"""A participatory budget closed by the end-of-block step, never by a person (FORMAT.md §6.7.1, §12.3).

`agora.budget` schedules one item, b"b" ‖ budget_id, at `closes_ms`. Its work
is bounded by the budget's projects (at most 64), not by who took part: the
selections already moved each project's count, so the closing reads the
projects the budget lists, applies the funding rule (greedy with skip,
governance/budget_records.py `funding`), pays each funded project's owner out
of the fund (`credit_ops.pay_out`) and refunds the rest to the funder
(`credit_ops.refund`). Nothing is left in the fund, and the lot is gone.
"""

from __future__ import annotations

from governance import budget_records as brec
from governance.budget_records import CLOSED, FUNDED, OPEN, Candidate, Project
from ledger import credit_ops as ops
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext


def _can_receive(ctx: ExecContext, class_id: str, funder: bytes, owner: bytes) -> bool:
    try:
        ops.check_payee(ctx, class_id, funder, owner)  # reads only
    except TxError:
        return False
    return True


def close_budget(ctx: ExecContext, budget_id: bytes) -> None:
    """Fund the budget's projects by the rule, pay them, refund the rest; the budget is `closed`."""
    budget = brec.get_budget(ctx.state, budget_id)
    if budget is None or budget.status != OPEN:  # only agora.budget schedules the item, once
        raise TxError(Code.UNKNOWN_BUDGET, f"no open budget {budget_id.hex()}")
    projects: list[Project] = []
    for post_id in budget.projects:
        project = brec.get_project(ctx.state, budget_id, post_id)
        if project is None:
            raise TxError(Code.UNKNOWN_PROJECT, f"the budget lists post {post_id.hex()}, which is not its project")
        projects.append(project)
    statuses = brec.funding(budget.amount, [
        Candidate(p.selections, p.amount, p.selections > 0 and _can_receive(ctx, budget.class_id, budget.funder, p.owner))
        for p in projects])
    lot, funded = brec.budget_lot(budget_id), 0
    for post_id, project, status in zip(budget.projects, projects, statuses, strict=True):
        if status == FUNDED:
            ops.pay_out(ctx, lot, project.owner, project.amount, brec.reference(budget_id, post_id))
            funded += project.amount
        ctx.state.put(brec.project_key(budget_id, post_id), project._replace(status=status).encode())
    if budget.amount - funded:
        ops.refund(ctx, lot, budget.amount - funded, brec.reference(budget_id))
    ctx.state.put(brec.budget_key(budget_id), budget._replace(status=CLOSED, funded=funded).encode())
