"""GET /v1/search on a real node with the demo federation's data: what the explorer's search box asks.

Scenario (one validator, seeded as `scripts/devnet` seeds it: node/devnet_seed.py):
1. Each kind is found by its name, and only as that kind: a height (1 and the head), a committed
   transaction's hash (also typed in upper case), an account's address (upper case too), an identity id,
   a class id, a listing id, a ballot id.
2. Names of nothing are a 200 with no match: a height past the head and 0, an unknown hash, an address
   with a broken checksum, an unknown 16-byte id, an unknown class id.
3. The ids of kinds the search does not tell of (an order, a space, a post) name nothing, though the
   chain has them: the search answers only for the pages that show its kinds.
4. Bad input is a 400 with the JSON error: no `q`, an empty one, white space, a path, 65 characters,
   `q` twice; afterwards the node still answers searches.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.demo import Demo, demo_federation
from tests.functional.framework import assert_api_error


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from demo_federation(Path(tmp_path_factory.mktemp("search")), validators=1)


def matches(demo: Demo, q: str) -> list[tuple[str, str]]:
    answer = demo.devnet.api.get(f"/v1/search?q={q}")
    assert answer["query"] == q.lower()
    return [(m["kind"], m["id"]) for m in answer["matches"]]


def test_each_kind_is_found_by_its_name_and_nothing_else_is(demo: Demo) -> None:
    api = demo.devnet.api
    head = api.status()["height"]
    anna = demo.identities["anna"]
    address = api.get(f"/v1/identities/{anna}")["keys"][0]
    tx = api.get(f"/v1/accounts/{address}/txs?limit=1")["txs"][0]["hash"]
    listing = api.get("/v1/market/listings?limit=1")["listings"][0]["id"]
    spaces = api.get("/v1/agora/spaces")["spaces"]
    proposals = [p for s in spaces for p in api.get(f"/v1/agora/spaces/{s['id']}/proposals")["proposals"]]
    ballot = next(p["ballot"] for p in proposals if p["ballot"])
    order = api.get("/v1/market/orders?limit=1")["orders"][0]["id"]

    assert matches(demo, "1") == [("block", "1")]
    assert matches(demo, str(head)) == [("block", str(head))]
    assert matches(demo, tx) == [("tx", tx)]
    assert matches(demo, tx.upper()) == [("tx", tx)]
    assert matches(demo, address) == [("account", address)]
    assert matches(demo, address.upper()) == [("account", address)]
    assert matches(demo, anna) == [("identity", anna)]
    assert matches(demo, "welfare-acme-2026") == [("class", "welfare-acme-2026")]
    assert matches(demo, listing) == [("listing", listing)]
    assert matches(demo, ballot) == [("ballot", ballot)]

    broken = address[:-2] + ("a" if address[-2] != "a" else "b") + address[-1]
    for nothing in (str(head + 1000), "0", "ab" * 32, broken, "00" * 16, "no-such-class",
                    order, spaces[0]["id"], proposals[0]["id"]):
        assert matches(demo, nothing) == [], nothing


def test_bad_input_is_refused_and_the_node_still_answers(demo: Demo) -> None:
    api = demo.devnet.api
    for path in ("/v1/search", "/v1/search?q=", "/v1/search?q=%20", "/v1/search?q=a%20b", "/v1/search?q=..%2Fx",
                 "/v1/search?q=" + "a" * 65, "/v1/search?q=1&q=2"):
        assert_api_error(400, "BAD_REQUEST", lambda path=path: api.get(path))
    assert matches(demo, "1") == [("block", "1")]
