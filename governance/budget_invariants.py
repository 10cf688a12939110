"""Participatory budgets' invariants (FORMAT.md §9, "Agora invariants"), checked by the auditor on a
replayed state.

The counts are moved one selection at a time and the closing reads only the
counts; here they are recomputed from the selections themselves, and the
funding is recomputed from the counts, so a counting or funding bug shows as
a named broken invariant:

- a budget lists each of its projects once (at most 64, at most 8 by one
  author identity), and every project record is listed by its budget;
- every project's `selections` is the recount of the selection records that
  hold it (one record per identity), and `selectors` the number of records;
  each selection names only the budget's projects and fits the budget;
- an open budget's fund holds exactly its amount (the lot: its class, paid by
  its funder, no payee yet), it is due at its closing, nothing is funded yet;
- a closed budget's fund is gone, its projects' statuses are the funding
  rule applied to their counts (an `ineligible` status, which reads the
  registry at the closing, is taken as recorded; only a selected project has
  it), and `funded` is the sum of the funded amounts, at most the budget.
"""

from __future__ import annotations

from governance import budget_records as brec
from governance import records as rec
from governance.budget_records import (
    FUNDED,
    INELIGIBLE,
    OPEN,
    SUBMITTED,
    Budget,
    Candidate,
    Project,
)
from ledger import credit_ops as ops
from ledger.deadlines import BY_TIME
from ledger.encoding import EncodingError
from ledger.invariants import InvariantBroken, StateScan
from ledger.state import StateReader

CHECK = "agora"


def _decoded(kind: str, name: str, decode, raw: bytes):  # noqa: ANN001, ANN202 — one of the record decoders
    try:
        return decode(raw)
    except (EncodingError, TypeError, ValueError) as exc:
        raise InvariantBroken(CHECK, f"{name}: the {kind} record does not decode: {exc}") from None


def _projects(scan: StateScan, budget_id: bytes, budget: Budget, name: str) -> dict[bytes, Project]:
    prefix = brec.project_key(budget_id, b"")
    found = {key[len(prefix):]: _decoded("project", name, brec.decode_project, raw) for key, raw in scan(prefix)}
    listed = budget.projects
    if len(listed) > brec.MAX_PROJECTS or len(set(listed)) != len(listed) or set(listed) != set(found):
        raise InvariantBroken(CHECK, f"{name}: lists {len(listed)} projects, {len(found)} project records, "
                                     "not the same")
    by_author: dict[bytes, int] = {}
    for post_id, project in found.items():
        if project.status not in brec.PROJECT_STATUSES or not 0 < project.amount <= budget.amount:
            raise InvariantBroken(CHECK, f"{name}: project {post_id.hex()} has status {project.status!r} or amount "
                                         f"{project.amount}")
        by_author[project.author] = by_author.get(project.author, 0) + 1
    crowded = sorted(author.hex() for author, n in by_author.items() if n > brec.MAX_PROJECTS_PER_AUTHOR)
    if crowded:
        raise InvariantBroken(CHECK, f"{name}: identity {crowded[0]} authored more than "
                                     f"{brec.MAX_PROJECTS_PER_AUTHOR} of its projects")
    return found


def _recount(scan: StateScan, budget_id: bytes, budget: Budget, projects: dict[bytes, Project],
             name: str) -> tuple[dict[bytes, int], int]:
    counts = dict.fromkeys(projects, 0)
    prefix = brec.selection_key(budget_id, b"")
    records = 0
    for key, raw in scan(prefix):
        who = key[len(prefix):].hex()
        selection = _decoded("selection", name, brec.decode_selection, raw)
        ids = selection.projects
        if not ids or list(ids) != sorted(set(ids)) or any(p not in projects for p in ids):
            raise InvariantBroken(CHECK, f"{name}: identity {who}'s selection is empty, unordered or names a post "
                                         "that is not a project of the budget")
        if sum(projects[p].amount for p in ids) > budget.amount:
            raise InvariantBroken(CHECK, f"{name}: identity {who}'s selection asks more than the budget")
        for post_id in ids:
            counts[post_id] += 1
        records += 1
    return counts, records


def _due(state: StateReader, budget_id: bytes, budget: Budget) -> bool:
    key = BY_TIME + rec.MODULE_NAME.encode() + b"/" + budget.closes_ms.to_bytes(8, "big") + brec.close_item(budget_id)
    return state.get(key) is not None


def _check_budget(state: StateReader, scan: StateScan, budget_id: bytes, budget: Budget) -> None:
    name = f"budget {budget_id.hex()} ({budget.status})"
    if budget.status not in brec.BUDGET_STATUSES or rec.get_space(state, budget.space_id) is None:
        raise InvariantBroken(CHECK, f"{name}: status {budget.status!r}, or its space does not exist")
    projects = _projects(scan, budget_id, budget, name)
    counts, records = _recount(scan, budget_id, budget, projects, name)
    stored = {p: project.selections for p, project in projects.items()}
    if stored != counts or budget.selectors != records:
        raise InvariantBroken(CHECK, f"{name}: stores {budget.selectors} selectors and counts "
                                     f"{sorted((p.hex(), n) for p, n in stored.items())}, the selections recount to "
                                     f"{records} and {sorted((p.hex(), n) for p, n in counts.items())}")
    lot = ops.get_lot(state, brec.budget_lot(budget_id))
    ordered = [projects[p] for p in budget.projects]
    if budget.status == OPEN:
        expected = ops.Lot(budget.class_id, budget.funder, ops.NO_PAYEE, "", budget.amount, budget.created_height)
        if lot != expected:
            raise InvariantBroken(CHECK, f"{name}: its fund holds {lot}, not the budget's {budget.amount}")
        if budget.funded or any(p.status != SUBMITTED for p in ordered):
            raise InvariantBroken(CHECK, f"{name}: funded projects before its closing")
        if not _due(state, budget_id, budget):
            raise InvariantBroken(CHECK, f"{name}: is not due at its closing")
        return
    if lot is not None:
        raise InvariantBroken(CHECK, f"{name}: its fund still holds {lot.amount} after the closing")
    if any(p.status == INELIGIBLE and p.selections == 0 for p in ordered):
        raise InvariantBroken(CHECK, f"{name}: a project nobody selected is marked ineligible")
    rule = brec.funding(budget.amount, [Candidate(p.selections, p.amount, p.status != INELIGIBLE) for p in ordered])
    if rule != [p.status for p in ordered]:
        raise InvariantBroken(CHECK, f"{name}: its projects are {[p.status for p in ordered]}, the rule on their "
                                     f"counts gives {rule}")
    funded = sum(p.amount for p in ordered if p.status == FUNDED)
    if funded != budget.funded or funded > budget.amount:
        raise InvariantBroken(CHECK, f"{name}: says {budget.funded} funded, its funded projects ask {funded}")


def check_budgets(state: StateReader, scan: StateScan) -> int:
    """Every budget, project and selection; returns how many budgets were checked."""
    count = 0
    for key, raw in scan(brec.PREFIX_BUDGET):
        budget_id = key[len(brec.PREFIX_BUDGET):]
        budget = _decoded("budget", f"budget {budget_id.hex()}", brec.decode_budget, raw)
        _check_budget(state, scan, budget_id, budget)
        count += 1
    for prefix in (brec.PREFIX_PROJECT, brec.PREFIX_SELECTION):
        for key, _ in scan(prefix):
            budget_id = key[len(prefix):len(prefix) + rec.ID_LEN]
            if state.get(brec.budget_key(budget_id)) is None:
                raise InvariantBroken(CHECK, f"a record {key!r} of budget {budget_id.hex()}, which does not exist")
    return count
