"""The agora chain with participatory budgets (FORMAT.md §6.7.1): a funded admin and one step per helper.

Built on tests/agora_chain.py (spaces FED, COOP, TOWN; A, B members of
coop-a with MULTI, whose three keys are TRIO; C a resident; D neither):

- ADMIN, the agora admin, is issued FUNDS of `eur` (p2p, no rules) by the
  issuer, so that it can fund budgets;
- OWNERS: accounts that receive a funded project's credits, known to the
  chain only once they are paid;
- a budget n opens at the next block's time, takes projects for SUBMIT ms
  and selections for SELECT ms after that; `to_selection` and `close` are
  the first blocks at those times.
"""

from __future__ import annotations

from governance import budget_records as brec
from ledger.crypto import SigningKey
from ledger.errors import Code
from tests.agora_chain import ADMIN, SECOND, AgoraChain, post_id
from tests.identity_chain import ISSUER

FUNDS = 10_000
SUBMIT, SELECT = 60 * SECOND, 60 * SECOND
OWNERS = [SigningKey(bytes([0xE0 + i]) * 32) for i in range(8)]


def budget_id(n: int) -> bytes:
    return bytes([0xBD, n >> 8, n & 0xFF]) + bytes(13)


class BudgetChain(AgoraChain):
    """The agora chain whose admin holds FUNDS of `eur`."""

    def __init__(self, doc: dict | None = None):
        super().__init__(doc)
        assert self.send(ISSUER, "credits.issue", ("eur", ADMIN.pubkey, FUNDS, "the budget of the year")) == Code.OK

    def open_budget(self, n: int, space: bytes, amount: int, key: SigningKey = ADMIN, class_id: str = "eur") -> int:
        """`agora.budget` n in its own block, one second after the head."""
        at = self.time + SECOND
        body = (budget_id(n), space, class_id, amount, at + SUBMIT, at + SUBMIT + SELECT)
        return self.block([self.tx(key, "agora.budget", body)], at).results[0]

    def budget(self, n: int) -> brec.Budget:
        found = brec.get_budget(self.state, budget_id(n))
        assert found is not None
        return found

    def project(self, n: int, post: int) -> brec.Project:
        found = brec.get_project(self.state, budget_id(n), post_id(post))
        assert found is not None
        return found

    def selection(self, n: int, identity: bytes) -> brec.Selection | None:
        return brec.get_selection(self.state, budget_id(n), identity)

    def submit(self, n: int, post: int, key: SigningKey, owner: SigningKey, amount: int) -> int:
        return self.send(key, "agora.project", (budget_id(n), post_id(post), owner.pubkey, amount))

    def proposed_and_submitted(self, n: int, projects: list[tuple[int, SigningKey, SigningKey, int]],
                               space: bytes) -> None:
        """For each (post, author, owner, amount): the author's proposal, then its project; all succeed."""
        for post, author, owner, amount in projects:
            assert self.new_proposal(post, space, author, f"project {post}") == Code.OK
            assert self.submit(n, post, author, owner, amount) == Code.OK, post

    def select(self, n: int, key: SigningKey, posts: tuple[int, ...]) -> int:
        return self.send(key, "agora.select", (budget_id(n), tuple(sorted(post_id(p) for p in posts))))

    def to_selection(self, n: int) -> None:
        self.at(self.budget(n).submit_until_ms)

    def close(self, n: int) -> None:
        self.at(self.budget(n).closes_ms)


__all__ = ["FUNDS", "OWNERS", "SELECT", "SUBMIT", "BudgetChain", "budget_id"]
