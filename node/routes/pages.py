"""Pages of a filtered scan of the state, with bounded work (docs/api-contract.md, "Pages").

A list route with filters (the marketplace's listings and orders, purchase
groups) scans one prefix of the state in key order and keeps what matches.
Two bounds keep every answer small and every request short, however large
the state: at most `limit` items per page, and at most `SCAN_BUDGET` records
read per request. When the budget runs out before the page is full, the page
is answered as it is (possibly empty) with `next` set to the last id read,
so that the next request carries on from there; `next` is null only when the
scan reached the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any, TypeVar

from ledger.state import RangeReader
from node.routes.types import limit_param

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
Limit = limit_param(MAX_LIMIT, DEFAULT_LIMIT)
"""The `limit` of every paged list: items per page, 1 … MAX_LIMIT."""
NEXT = "pass as `after` for the next page; null when there is no more (a page may be short, even empty, with a " \
       "`next`: docs/api-contract.md, Pages)"
"""The description of every page's `next`."""

SCAN_BUDGET = 10_000
"""Records one request may read while looking for a page's items (docs/api-contract.md)."""

T = TypeVar("T")


class BudgetedReader:
    """A state reader whose range scans stop after `budget` records, remembering the last key read
    and whether a record was left unread because of the budget."""

    def __init__(self, state: RangeReader, budget: int = SCAN_BUDGET):
        self._state = state
        self._left = budget
        self.last_key: bytes | None = None
        self.cut = False

    def get(self, key: bytes) -> bytes | None:
        return self._state.get(key)

    def range(self, start: bytes, end: bytes) -> Iterator[tuple[bytes, bytes]]:
        for key, value in self._state.range(start, end):
            if self._left == 0:
                self.cut = True
                return
            self._left -= 1
            self.last_key = key
            yield key, value


def scan_page(state: RangeReader, scan: Callable[[BudgetedReader], Iterator[tuple[bytes, T]]], limit: int,
              id_of_key: Callable[[bytes], bytes], budget: int = SCAN_BUDGET) -> tuple[list[tuple[bytes, T]], bytes | None]:
    """One page of `scan(reader)`, which yields (id, item) in id order reading through `reader`:
    the items (at most `limit`) and the cursor of the next page (the id to pass as `after`), or
    None if the scan reached the end."""
    reader = BudgetedReader(state, budget)
    found: list[tuple[bytes, Any]] = []
    with closing(scan(reader)) as items:  # type: ignore[type-var]
        for entry in items:
            found.append(entry)
            if len(found) > limit:
                break
    if len(found) > limit:
        return found[:limit], found[limit - 1][0]
    if reader.cut and reader.last_key is not None:
        return found, id_of_key(reader.last_key)
    return found, None
