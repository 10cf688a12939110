"""Participatory budgets' records, keys, fund and the funding rule (FORMAT.md §6.7.1, §9).

    agora/budget/    ‖ budget_id(16)                 = [space_id(16), funder(32), class_id, amount,
                                                         submit_until_ms, closes_ms, status, [post_id(16), …],
                                                         selectors, funded, created_height]
    agora/project/   ‖ budget_id(16) ‖ post_id(16)   = [author(16), signer(32), owner(32), amount, selections,
                                                         status, created_height]
    agora/selection/ ‖ budget_id(16) ‖ identity(16)  = [[post_id(16), …], signer(32), height]

A project is a proposal of the budget's space (its text is the post's: off
chain, erasable, FORMAT.md §6.7) with an owner account that is paid if it is
funded and the amount it asks. A selection is keyed by the selecting
identity, never by the key that signed: one per identity, the last counts.
The budget lists its projects in the order they were submitted, so that the
closing reads them without a scan and ties are broken by that order.
"""

from __future__ import annotations

from typing import NamedTuple

from ledger.crypto import sha256
from ledger.encoding import decode, encode
from ledger.state import StateReader

PREFIX_BUDGET = b"agora/budget/"
PREFIX_PROJECT = b"agora/project/"
PREFIX_SELECTION = b"agora/selection/"
MAX_PROJECTS = 64
"""Projects per budget: bounds a selection, and the closing's work (one item, ≤ 64 payouts)."""
MAX_PROJECTS_PER_AUTHOR = 8
"""Projects one identity may submit to one budget, whatever its keys: without it one member could take all
64 places and leave the others none (FORMAT.md §6.7.1)."""
BUDGET_LOT_TAG = b"incoop/agora/budget"
CLOSE_BUDGET_ITEM = b"b"  # the agora's due item (ledger/deadlines.py): b"b" ‖ budget_id, at closes_ms

OPEN, CLOSED = "open", "closed"
BUDGET_STATUSES = (OPEN, CLOSED)
SUBMITTED, FUNDED, UNFUNDED, INELIGIBLE = "submitted", "funded", "unfunded", "ineligible"
PROJECT_STATUSES = (SUBMITTED, FUNDED, UNFUNDED, INELIGIBLE)


class Budget(NamedTuple):
    space_id: bytes
    funder: bytes  # the account that locked the amount, and is refunded what is not funded
    class_id: str
    amount: int
    submit_until_ms: int  # projects are submitted while the block time is below this
    closes_ms: int  # selections are taken from submit_until_ms until this; then the closing
    status: str  # open | closed
    projects: tuple[bytes, ...]  # post ids, in the order submitted
    selectors: int  # identities with a selection
    funded: int  # what the closing paid out (0 while open)
    created_height: int

    def encode(self) -> bytes:
        return encode((*self[:7], tuple(self.projects), *self[8:]))


class Project(NamedTuple):
    author: bytes  # the identity that submitted it: the proposal's author
    signer: bytes
    owner: bytes  # the account paid if it is funded
    amount: int
    selections: int  # identities whose selection holds it
    status: str  # submitted | funded | unfunded | ineligible
    created_height: int

    def encode(self) -> bytes:
        return encode(tuple(self))


class Selection(NamedTuple):
    projects: tuple[bytes, ...]  # post ids, ascending
    signer: bytes
    height: int

    def encode(self) -> bytes:
        return encode((tuple(self.projects), *self[1:]))


def budget_key(budget_id: bytes) -> bytes:
    return PREFIX_BUDGET + budget_id


def project_key(budget_id: bytes, post_id: bytes) -> bytes:
    return PREFIX_PROJECT + budget_id + post_id


def selection_key(budget_id: bytes, identity_id: bytes) -> bytes:
    return PREFIX_SELECTION + budget_id + identity_id


def budget_lot(budget_id: bytes) -> bytes:
    """The budget's fund, an escrow lot: SHA256("incoop/agora/budget" ‖ budget_id) (FORMAT.md §6.7.1)."""
    return sha256(BUDGET_LOT_TAG + budget_id)


def close_item(budget_id: bytes) -> bytes:
    return CLOSE_BUDGET_ITEM + budget_id


def reference(budget_id: bytes, post_id: bytes | None = None) -> str:
    """The reference of a budget's movements in statements (node/audit/export.py)."""
    return f"budget {budget_id.hex()}" + ("" if post_id is None else f" project {post_id.hex()}")


def decode_budget(raw: bytes) -> Budget:
    fields = decode(raw)
    return Budget(*fields[:7], tuple(fields[7]), *fields[8:])


def get_budget(state: StateReader, budget_id: bytes) -> Budget | None:
    raw = state.get(budget_key(budget_id))
    return None if raw is None else decode_budget(raw)


def decode_project(raw: bytes) -> Project:
    return Project(*decode(raw))


def get_project(state: StateReader, budget_id: bytes, post_id: bytes) -> Project | None:
    raw = state.get(project_key(budget_id, post_id))
    return None if raw is None else decode_project(raw)


def projects_by(state: StateReader, budget_id: bytes, budget: Budget, author: bytes) -> int:
    """How many of the budget's projects the identity `author` submitted (at most MAX_PROJECTS reads)."""
    found = (get_project(state, budget_id, post_id) for post_id in budget.projects)
    return sum(1 for project in found if project is not None and project.author == author)


def decode_selection(raw: bytes) -> Selection:
    fields = decode(raw)
    return Selection(tuple(fields[0]), *fields[1:])


def get_selection(state: StateReader, budget_id: bytes, identity_id: bytes) -> Selection | None:
    raw = state.get(selection_key(budget_id, identity_id))
    return None if raw is None else decode_selection(raw)


class Candidate(NamedTuple):
    """What the funding rule reads of a project, in submission order."""

    selections: int
    amount: int
    owner_can_receive: bool


def funding(budget: int, candidates: list[Candidate]) -> list[str]:
    """The status of each project at the closing (FORMAT.md §6.7.1, "The closing"): greedy with skip.

    Projects are taken by most selections, ties by earlier submission. A
    project nobody selected is `unfunded`; one whose owner cannot receive the
    class now is `ineligible`; one that fits in what is left is `funded` and
    what is left shrinks; one that does not fit is `unfunded`, and later,
    smaller ones are still considered.
    """
    statuses = [UNFUNDED] * len(candidates)
    left = budget
    for i in sorted(range(len(candidates)), key=lambda j: (-candidates[j].selections, j)):
        candidate = candidates[i]
        if candidate.selections == 0:
            continue
        if not candidate.owner_can_receive:
            statuses[i] = INELIGIBLE
        elif candidate.amount <= left:
            statuses[i] = FUNDED
            left -= candidate.amount
    return statuses

