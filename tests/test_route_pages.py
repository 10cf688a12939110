"""Pages of a filtered state scan (node/routes/pages.py; docs/api-contract.md, "Pages").

Scenario:
1. A state holds records under a prefix (and others around it); a filter
   keeps some of them.
2. A client follows `next` as `after` from the first page until `next` is
   null, with a page size and a read budget of any size.
3. What it collects is exactly the matching records, in id order, each once;
   no page holds more than `limit`; no request reads more than the budget;
   a page cut short by the budget says where to carry on, and null comes
   only at the end.
"""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.state import DictState, RangeReader, prefix_end
from node.routes.pages import scan_page

PREFIX = b"test/item/"


class CountingState:
    """Counts the records a scan reads, to check the budget from outside."""

    def __init__(self, state: DictState):
        self.state = state
        self.read = 0

    def get(self, key: bytes) -> bytes | None:
        return self.state.get(key)

    def range(self, start: bytes, end: bytes) -> Iterator[tuple[bytes, bytes]]:
        for item in self.state.range(start, end):
            self.read += 1
            yield item


def matching(keep: set[int]):
    """A scan like the records' (market/records.py): ids after `after` under PREFIX, kept by value."""
    def scan_from(after: bytes | None):
        def scan(reader: RangeReader) -> Iterator[tuple[bytes, int]]:
            start = PREFIX if after is None else PREFIX + after + b"\x00"
            for key, value in reader.range(start, prefix_end(PREFIX)):
                if value[0] in keep:
                    yield key[len(PREFIX):], value[0]
        return scan
    return scan_from


def follow(state: DictState, keep: set[int], limit: int, budget: int) -> tuple[list[tuple[bytes, int]], int]:
    scan_from = matching(keep)
    out: list[tuple[bytes, int]] = []
    after, requests = None, 0
    while True:
        counting = CountingState(state)
        page, after = scan_page(counting, scan_from(after), limit, lambda key: key[len(PREFIX):], budget)
        requests += 1
        assert len(page) <= limit
        # the budget, plus the one record a full page reads to know there is more
        assert counting.read <= budget + 1, (counting.read, budget)
        out += page
        if after is None:
            return out, requests
        assert requests <= 10_000, "pages must move on"


@settings(max_examples=300, deadline=None)
@given(ids=st.sets(st.binary(min_size=1, max_size=3), max_size=60),
       kinds=st.lists(st.integers(0, 3), min_size=60, max_size=60),
       keep=st.sets(st.integers(0, 3)), limit=st.integers(1, 7), budget=st.integers(1, 9))
def test_following_next_collects_exactly_the_matches_in_order(ids: set[bytes], kinds: list[int], keep: set[int],
                                                              limit: int, budget: int) -> None:
    records = {PREFIX + i: bytes([kind]) for i, kind in zip(sorted(ids), kinds[:len(ids)], strict=True)}
    around = {b"test/iten": b"\x00", b"test/item": b"\x00", b"test/itemz": b"\x00", b"test/item0": b"\x01"}
    state = DictState({**records, **around})
    collected, _ = follow(state, keep, limit, budget)
    expected = [(key[len(PREFIX):], value[0]) for key, value in sorted(records.items()) if value[0] in keep]
    assert collected == expected


def test_a_page_cut_by_the_budget_is_short_even_empty_and_says_where_to_carry_on() -> None:
    state = DictState({PREFIX + bytes([i]): bytes([i % 5 == 4]) for i in range(20)})  # ids 4, 9, 14, 19 match
    scan = matching({1})
    page, following = scan_page(state, scan(None), 10, lambda key: key[len(PREFIX):], budget=3)
    assert (page, following) == ([], bytes([2])), "three read, none matched: carry on after the third"
    page, following = scan_page(state, scan(bytes([2])), 10, lambda key: key[len(PREFIX):], budget=3)
    assert (page, following) == ([(bytes([4]), 1)], bytes([5]))
    page, following = scan_page(state, scan(bytes([15])), 10, lambda key: key[len(PREFIX):], budget=4)
    assert (page, following) == ([(bytes([19]), 1)], None), "the scan reached the end within the budget"
    page, following = scan_page(state, scan(None), 2, lambda key: key[len(PREFIX):], budget=100)
    assert (page, following) == ([(bytes([4]), 1), (bytes([9]), 1)], bytes([9])), "a full page: next is its last id"


def test_a_budget_exactly_spent_at_the_end_is_the_end() -> None:
    state = DictState({PREFIX + bytes([i]): b"\x01" for i in range(3)})
    page, following = scan_page(state, matching({1})(None), 10, lambda key: key[len(PREFIX):], budget=3)
    assert (len(page), following) == (3, None)
