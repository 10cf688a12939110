"""The marketplace's and purchase groups' API on a real node (FORMAT.md §6.5, §6.6; docs/api-contract.md).

Scenario (one devnet validator; its genesis names an arbiter, two providers
and starts ten days ago):
1. Deadlines hours and days away cannot be waited for on a live node, so the
   first blocks are made before the node starts, at block times in the past:
   built by the ledger's build_block from signed transactions, certified with
   the validator's own node key and committed into its data directory by the
   node's own open_store and commit_block. In them the federation accredits
   BOTTEGA and CICLO and registers ORGANISER's cooperative; BOTTEGA lists
   bread; anna orders two loaves (accepted, then released to BOTTEGA by the
   end-of-block step when her window passes) and marco one (nobody accepts
   it: it expires 72 hours later and is refunded).
2. The node starts and carries on from there. Through its API, real signed
   transactions: more listings (a paused one, two services); orders that are
   confirmed and reviewed, disputed and decided by the arbiter with a split,
   cancelled, left placed, accepted; a review's text erased; two purchase
   groups whose deadline is seconds away: one reaches its second tier
   (members charged the tier price, differences refunded), one does not
   (refunded).
3. Every route is queried: listings by category, provider, class, title
   words and status, with pages; orders by buyer, provider, listing and
   status, with pages; one order with its escrow and deadline; a provider's
   rating (count, sum, mean in tenths) and reviews; the arbiters; groups by
   status, listing and organiser with their fill before and after the
   deadline, and their commitments. Bad input is a 400 with its code, an
   unknown id a 404, an unknown path a 404 and a wrong method a 405: always a
   JSON error, never a 5xx. The node's OpenAPI document declares exactly
   these routes, their filters and bounds. The wallet's NodeClient reads the
   same answers through its market_* and gas_* methods, and its refusals as
   NodeError.
4. What existing routes now show: a block's end-of-block effects; a class's
   escrowed total and voucher fields, its statement's held and escrowed;
   the provider's history holding its payout at the deadline (and the
   supplier's, the members' of the settled group), also through
   `incoop wallet history`.
5. `incoop audit verify --data` passes on the running node; a copy of its
   data directory without the provider's payout entry is refused, naming it.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plyvel
import pytest

from genesis.rules import RULES
from ledger import accounts
from ledger.address import to_address
from ledger.block import Block, Certificate, sign_precommit
from ledger.crypto import SigningKey
from ledger.store import P_HISTORY, Store
from ledger.transition import apply_block, build_block
from ledger.tx import Tx, sign_tx
from market.orders import ACCEPT_WINDOW_MS
from market.records import order_lot
from node.devnet_layout import DEMO_CLASS
from node.server import load_setup, open_store
from tests.functional.framework import (
    FAR_EXPIRY,
    Devnet,
    assert_api_error,
    incoop,
    make_devnet,
    wait_until,
)
from tests.functional.market_setup import (
    ARBITER,
    BOTTEGA,
    CICLO,
    HOUR_MS,
    ORGANISER,
    Signer,
    cast_bodies,
    identifier,
    listing_body,
    with_market,
)
from wallet.client import NodeClient, NodeError

DAY_MS = 24 * HOUR_MS
PAST_MS = 10 * DAY_MS
GROUP_WAIT_MS = 8_000

BREAD, APPLES, OIL, SOAP, REPAIR, RENTAL = (identifier(n) for n in ("bread", "apples", "oil", "soap", "repair", "rental"))
RELEASED, EXPIRED = identifier("order released"), identifier("order expired")
CONFIRMED, DECIDED, CANCELLED, PLACED, ACCEPTED = (identifier(f"order {n}") for n in
                                                  ("confirmed", "decided", "cancelled", "placed", "accepted"))
TIERED, SHORT = identifier("group tiered"), identifier("group short")


def hexes(*ids: bytes) -> list[str]:
    return sorted(i.hex() for i in ids)


# --- 1. the past: blocks committed into the node's store before it starts ---------------------------


class PastChain:
    """The node's own store, opened and initialised as the node does (node/server.py), extended with blocks
    built by the ledger and certified by the validator's key at block times of our choosing."""

    def __init__(self, home: Path):
        self.setup = load_setup(home)
        self.store = open_store(self.setup)
        self.head = self.store.head()
        self.chain_id = self.setup.genesis.chain_id
        self._nonces: dict[bytes, int] = {}

    def tx(self, key: SigningKey, type_: str, body: tuple) -> Tx:
        nonce = self._nonces.get(key.pubkey, accounts.next_nonce(self.store.state, key.pubkey))
        self._nonces[key.pubkey] = nonce + 1
        return sign_tx(key, self.chain_id, type_, nonce, FAR_EXPIRY, body)

    def block(self, txs: list[Tx], time_ms: int) -> Block:
        key = self.setup.key
        block, outcome, rejected = build_block(RULES, self.store.state, self.store.tree, self.head, self.chain_id,
                                               key.pubkey, time_ms, txs)
        assert not rejected and all(code == 0 for code in block.results), (rejected, block.results)
        replayed = apply_block(RULES, self.store.state, self.store.tree, self.head, block, self.chain_id)
        assert replayed.state_root == block.header.state_root
        h, block_hash = block.header.height, block.hash()
        certificate = Certificate(h, 0, block_hash, ((key.pubkey, sign_precommit(key, self.chain_id, h, 0, block_hash)),))
        self.head = self.store.commit_block(block, certificate, outcome)
        return block


@dataclass
class Market:
    devnet: Devnet
    release_height: int  # the past block whose end-of-block step released anna's order to BOTTEGA
    expiry_height: int  # the past block whose step refunded marco's order nobody accepted
    accepted_ms: int  # the block time of the acceptance of ACCEPTED
    before_deadline: dict[str, Any] = field(default_factory=dict)  # the groups as they were while open
    signer: Signer | None = None

    def address(self, who: str | SigningKey) -> str:
        return to_address(self.devnet.pubkey(who))

    def get(self, path: str) -> Any:
        return self.devnet.api.get(path)


def write_the_past(devnet: Devnet) -> tuple[int, int]:
    past = PastChain(devnet.node.home)
    anna, marco, federation = (devnet.keys[n] for n in ("anna", "marco", "federation"))
    genesis_ms = past.head.time_ms
    past.block([past.tx(federation if who == "federation" else who, type_, body)  # type: ignore[arg-type]
                for who, type_, body in cast_bodies()], genesis_ms + 1000)
    past.block([past.tx(BOTTEGA, "market.list", listing_body(BREAD, "Fresh bread, 1 kg", "food", 250))],
               genesis_ms + 2000)
    ordered_ms = genesis_ms + 3000
    past.block([past.tx(anna, "market.order", (RELEASED, BREAD, DEMO_CLASS, 2)),
                 past.tx(marco, "market.order", (EXPIRED, BREAD, DEMO_CLASS, 1))], ordered_ms)
    past.block([past.tx(BOTTEGA, "market.accept", (RELEASED,))], genesis_ms + 4000)
    released = past.block([], genesis_ms + 4000 + HOUR_MS)  # the listing's return window: one hour
    assert [(e.module, e.item) for e in released.effects] == [("market", RELEASED)]
    expired = past.block([], ordered_ms + ACCEPT_WINDOW_MS)
    assert [(e.module, e.item) for e in expired.effects] == [("market", EXPIRED)]
    assert past.head.time_ms < time.time() * 1000, "the past must stay in the past"
    past.store.close()
    return released.header.height, expired.header.height


# --- 2. the present: the node runs, and people use it -----------------------------------------------


def play(market: Market) -> None:
    devnet, signer = market.devnet, market.signer
    assert signer is not None
    signer.send_all([
        (BOTTEGA, "market.list", listing_body(APPLES, "Organic apples, 1 kg", "food", 300, quantity=50)),
        (BOTTEGA, "market.list", listing_body(OIL, "Olive oil, 1 l", "food", 900, quantity=20, delivery="delivery")),
        (BOTTEGA, "market.list", listing_body(SOAP, "Laundry soap", "household", 400)),
        (CICLO, "market.list", listing_body(REPAIR, "Bike repair, one hour", "transport", 2500, quantity=None,
                                            delivery="appointment")),
        (CICLO, "market.list", listing_body(RENTAL, "Bike rental, one day", "transport", 1500, quantity=None)),
    ])
    signer.send(BOTTEGA, "market.pause", (SOAP,))
    signer.send_all([
        ("anna", "market.order", (CONFIRMED, APPLES, DEMO_CLASS, 1)),
        ("marco", "market.order", (DECIDED, APPLES, DEMO_CLASS, 2)),
        ("anna", "market.order", (CANCELLED, REPAIR, DEMO_CLASS, 1)),
        ("marco", "market.order", (PLACED, RENTAL, DEMO_CLASS, 1)),
        ("anna", "market.order", (ACCEPTED, OIL, DEMO_CLASS, 1)),
    ])
    signer.send_all([(BOTTEGA, "market.accept", (CONFIRMED,)), (BOTTEGA, "market.accept", (DECIDED,)),
                     ("anna", "market.cancel", (CANCELLED,))])
    accepted = signer.send(BOTTEGA, "market.accept", (ACCEPTED,))
    market.accepted_ms = devnet.api.block(accepted["height"])["header"]["time_ms"]
    signer.send_all([("anna", "market.confirm", (CONFIRMED,)), ("marco", "market.dispute", (DECIDED, "bruised"))])
    signer.send(ARBITER, "market.decide", (DECIDED, 200, "half of them bruised"))
    signer.send_all([("anna", "market.review", (RELEASED, 5, "the best bread in town")),
                     ("anna", "market.review", (CONFIRMED, 4, "good apples")),
                     ("marco", "market.review", (DECIDED, 5, "fair in the end"))])
    signer.send("anna", "market.erase_review", (CONFIRMED,))

    deadline = devnet.api.status()["block_time_ms"] + GROUP_WAIT_MS
    signer.send_all([
        (ORGANISER, "gas.open", signer.group_open_body(TIERED, APPLES, 2, 10, deadline, ((2, 280), (5, 250)))),
        (ORGANISER, "gas.open", signer.group_open_body(SHORT, BREAD, 5, 10, deadline, ((5, 240),))),
    ])
    signer.send_all([("anna", "gas.join", (TIERED, 3)), ("marco", "gas.join", (TIERED, 3)),
                     ("marco", "gas.join", (SHORT, 1))])
    market.before_deadline = {
        "tiered": market.get(f"/v1/gas/groups/{TIERED.hex()}"),
        "commitments": market.get(f"/v1/gas/groups/{TIERED.hex()}/commitments"),
        "open": market.get("/v1/gas/groups?status=open"),
    }
    assert market.before_deadline["tiered"]["accepting"], "the joins must land before the deadline"
    wait_until(lambda: market.get(f"/v1/gas/groups/{SHORT.hex()}")["status"] == "failed"
               and market.get(f"/v1/gas/groups/{TIERED.hex()}")["status"] == "settled",
               timeout=GROUP_WAIT_MS / 1000 + 20, what="both groups decided and settled at their deadline")


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    def genesis(doc: dict) -> None:
        with_market(doc)
        doc["genesis_time_ms"] = int(time.time() * 1000) - PAST_MS

    devnet = make_devnet(tmp_path_factory.mktemp("market") / "devnet", genesis_edit=genesis)
    try:
        release_height, expiry_height = write_the_past(devnet)
        devnet.start_all(devnet.validators)
        market = Market(devnet, release_height, expiry_height, 0, signer=Signer(devnet))
        play(market)
        yield market
    finally:
        devnet.cleanup()
        devnet.print_logs()


def pages(market: Market, path: str, key: str, limit: int) -> list[dict]:
    """Every item of a list route, following `next` (`after`) with pages of `limit`."""
    out, after = [], None
    joiner = "&" if "?" in path else "?"
    for _ in range(100):
        page = market.get(f"{path}{joiner}limit={limit}" + (f"&after={after}" if after else ""))
        assert len(page[key]) <= limit
        out += page[key]
        after = page["next"]
        if after is None:
            return out
    raise AssertionError(f"{path} did not end")


# --- 3. the marketplace's routes -------------------------------------------------------------------


def ids(items: list[dict]) -> list[str]:
    return [item["id"] for item in items]


MARKET_ROUTES = {
    "/v1/market/listings": {"category", "provider", "class", "words", "status", "limit", "after"},
    "/v1/market/listings/{id}": {"id"},
    "/v1/market/orders": {"account", "buyer", "provider", "listing", "status", "limit", "after"},
    "/v1/market/orders/{id}": {"id"},
    "/v1/market/providers/{address}/reviews": {"address", "limit", "after"},
    "/v1/market/arbiters": {"limit", "after"},
    "/v1/gas/groups": {"status", "listing", "organiser", "limit", "after"},
    "/v1/gas/groups/{id}": {"id"},
    "/v1/gas/groups/{id}/commitments": {"id", "limit", "after"},
}


def test_the_openapi_document_declares_the_routes_their_filters_and_bounds(market: Market) -> None:
    document = market.get("/v1/openapi.json")
    ours = {path: item for path, item in document["paths"].items() if path.startswith(("/v1/market/", "/v1/gas/"))}
    assert set(ours) == set(MARKET_ROUTES)
    assert {tag["name"] for tag in document["tags"]} >= {"market", "gas"}
    for path, params in MARKET_ROUTES.items():
        assert list(ours[path]) == ["get"], path
        operation = ours[path]["get"]
        assert operation["tags"] == [path.split("/")[2]]
        declared = {p["name"]: p for p in operation["parameters"]}
        assert set(declared) == params, path
        assert [p["name"] for p in operation["parameters"] if p["required"]] == \
            [name for name in ("id", "address") if name in declared], "only the path is required"
        assert {"200", "400", "503"} <= set(operation["responses"]), path
        assert ("404" in operation["responses"]) == ("{id}" in path), "an id that names nothing is 404"
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        if "limit" in declared:
            assert {k: declared["limit"]["schema"][k] for k in ("minimum", "maximum", "default")} == \
                {"minimum": 1, "maximum": 200, "default": 50}, path
    schemas = document["components"]["schemas"]
    assert "effects" in schemas["BlockJson"]["required"], "a block's JSON carries its end-of-block effects"
    assert {"face_value", "voucher_cap", "escrowed"} <= set(schemas["CreditClass"]["properties"])


def test_listings_are_searched_by_every_filter_and_paged(market: Market) -> None:
    everything = market.get("/v1/market/listings")
    assert everything["next"] is None
    assert ids(everything["listings"]) == hexes(BREAD, APPLES, OIL, SOAP, REPAIR, RENTAL), "in id order"
    assert pages(market, "/v1/market/listings", "listings", 2) == everything["listings"]
    assert pages(market, "/v1/market/listings?category=food", "listings", 1) == \
        market.get("/v1/market/listings?category=food")["listings"]
    for query, expected in [
        ("category=food", (BREAD, APPLES, OIL)),
        ("category=transport", (REPAIR, RENTAL)),
        ("category=health", ()),
        (f"provider={market.address(CICLO)}", (REPAIR, RENTAL)),
        (f"provider={market.address('anna')}", ()),
        (f"class={DEMO_CLASS}", (BREAD, APPLES, OIL, SOAP, REPAIR, RENTAL)),
        ("class=welfare-acme-2026", ()),
        ("words=bike", (REPAIR, RENTAL)),
        ("words=BIKE%20one", (REPAIR, RENTAL)),
        ("words=repair%20hour", (REPAIR,)),
        ("words=bread%20hour", ()),
        ("status=paused", (SOAP,)),
        ("status=active", (BREAD, APPLES, OIL, REPAIR, RENTAL)),
        ("status=withdrawn", ()),
        (f"category=food&status=active&provider={market.address(BOTTEGA)}&words=o", (APPLES, OIL)),
    ]:
        assert ids(market.get(f"/v1/market/listings?{query}")["listings"]) == hexes(*expected), query
    # the cursor is any id: the page holds what comes after it
    everything_ids = ids(everything["listings"])
    assert market.get("/v1/market/listings?after=" + "00" * 16)["listings"] == everything["listings"]
    assert market.get("/v1/market/listings?after=" + "ff" * 16) == {"listings": [], "next": None}
    between = everything_ids[2][:-1] + ("0" if everything_ids[2][-1] != "0" else "1")
    assert between not in everything_ids
    assert ids(market.get(f"/v1/market/listings?after={between}")["listings"]) == \
        [i for i in everything_ids if i > between]
    first = market.get("/v1/market/listings?limit=2&category=food")
    assert (ids(first["listings"]), first["next"]) == (hexes(BREAD, APPLES, OIL)[:2], hexes(BREAD, APPLES, OIL)[1])
    last = market.get(f"/v1/market/listings?limit=2&category=food&after={first['next']}")
    assert (ids(last["listings"]), last["next"]) == (hexes(BREAD, APPLES, OIL)[2:], None)
    full = market.get("/v1/market/listings?limit=6")
    assert (len(full["listings"]), full["next"]) == (6, None), "exactly a page's worth: no next"


def test_a_listing_shows_its_terms_stock_and_whether_it_can_be_ordered(market: Market) -> None:
    listings = {item["id"]: item for item in market.get("/v1/market/listings")["listings"]}
    apples = market.get(f"/v1/market/listings/{APPLES.hex()}")
    assert apples == listings[APPLES.hex()]
    assert (apples["provider"], apples["title"], apples["category"], apples["delivery"]) == \
        (market.address(BOTTEGA), "Organic apples, 1 kg", "food", "pickup")
    assert apples["prices"] == [{"class": DEMO_CLASS, "unit_price": 300}]
    # 50, less the orders' 1 + 2 units, less the group's 10 set aside, plus the 4 it did not buy
    assert apples["quantity"] == 41 and apples["orderable"] and apples["status"] == "active"
    assert (apples["arbiter"], apples["return_window_ms"], apples["valid_until_ms"]) == \
        (market.address(ARBITER), HOUR_MS, None)
    repair = listings[REPAIR.hex()]
    assert (repair["quantity"], repair["delivery"], repair["orderable"]) == (None, "appointment", True)
    soap = listings[SOAP.hex()]
    assert (soap["status"], soap["orderable"]) == ("paused", False)
    assert_api_error(404, "NOT_FOUND", lambda: market.get(f"/v1/market/listings/{identifier('nothing').hex()}"))


@pytest.mark.parametrize(("path", "code"), [
    ("/v1/market/listings/xyz", "BAD_REQUEST"),
    ("/v1/market/listings/" + "AB" * 16, "BAD_REQUEST"),
    ("/v1/market/listings/" + "ab" * 15, "BAD_REQUEST"),
    ("/v1/market/listings?category=Food", "BAD_REQUEST"),
    ("/v1/market/listings?provider=icnotanaddress", "INVALID_ADDRESS"),
    ("/v1/market/listings?class=-x", "BAD_REQUEST"),
    ("/v1/market/listings?status=sold", "BAD_REQUEST"),
    ("/v1/market/listings?words=", "BAD_REQUEST"),
    ("/v1/market/listings?words=" + "a" * 81, "BAD_REQUEST"),
    ("/v1/market/listings?limit=0", "BAD_REQUEST"),
    ("/v1/market/listings?limit=201", "BAD_REQUEST"),
    ("/v1/market/listings?after=zz", "BAD_REQUEST"),
    ("/v1/market/listings?status=active&status=paused", "BAD_REQUEST"),
    ("/v1/market/orders?buyer=nope", "INVALID_ADDRESS"),
    ("/v1/market/orders?account=" + to_address(bytes(32)).upper(), "INVALID_ADDRESS"),
    ("/v1/market/orders?status=lost", "BAD_REQUEST"),
    ("/v1/market/orders?listing=00", "BAD_REQUEST"),
    ("/v1/market/orders/" + "0" * 31, "BAD_REQUEST"),
    ("/v1/market/providers/nobody/reviews", "INVALID_ADDRESS"),
    ("/v1/market/providers/" + to_address(bytes(32)) + "/reviews?after=1", "BAD_REQUEST"),
    ("/v1/market/arbiters?limit=-1", "BAD_REQUEST"),
    ("/v1/market/arbiters?after=" + to_address(bytes(32))[:-1] + "a", "INVALID_ADDRESS"),
    ("/v1/gas/groups?status=closed", "BAD_REQUEST"),
    ("/v1/gas/groups?organiser=x", "INVALID_ADDRESS"),
    ("/v1/gas/groups?listing=" + "g" * 32, "BAD_REQUEST"),
    ("/v1/gas/groups/123", "BAD_REQUEST"),
    ("/v1/gas/groups/" + "ab" * 16 + "/commitments?limit=1000", "BAD_REQUEST"),
])
def test_bad_input_is_a_400_with_its_code(market: Market, path: str, code: str) -> None:
    error = assert_api_error(400, code, lambda: market.get(path))
    assert len(error.message) <= 320


SOME_ID = "ab" * 16


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/v1/market/listings?limit=abc", 400, "BAD_REQUEST"),
    ("GET", "/v1/market/listings?limit=1.5", 400, "BAD_REQUEST"),
    ("GET", "/v1/market/listings?limit=%2B5", 400, "BAD_REQUEST"),
    ("GET", "/v1/market/listings?limit=" + "9" * 40, 400, "BAD_REQUEST"),
    ("GET", "/v1/market/orders?limit=", 400, "BAD_REQUEST"),
    ("GET", "/v1/market/listings?words=%20%20", 400, "BAD_REQUEST"),
    ("GET", "/v1/market/listings?words=%09%1C%E3%80%80", 400, "BAD_REQUEST"),
    ("GET", "/v1/market/listings?category=" + "a" * 1000, 400, "BAD_REQUEST"),
    ("GET", "/v1/market/listings?class=" + "x" * 500, 400, "BAD_REQUEST"),
    ("GET", "/v1/market/listings?class=", 400, "BAD_REQUEST"),
    ("GET", "/v1/market/listings?after=" + "00" * 17, 400, "BAD_REQUEST"),
    ("GET", "/v1/market/listings/%C3%A9", 400, "BAD_REQUEST"),
    ("GET", "/v1/market/listings/" + "0" * 32 + "%00", 400, "BAD_REQUEST"),
    ("GET", "/v1/market/orders/" + "00" * 32, 400, "BAD_REQUEST"),
    ("GET", "/v1/market/orders?provider=" + "ic" + "a" * 58, 400, "INVALID_ADDRESS"),
    ("GET", "/v1/market/providers/" + "ic" + "a" * 58 + "/reviews", 400, "INVALID_ADDRESS"),
    ("GET", f"/v1/gas/groups/{SOME_ID}/commitments?after=xyz", 400, "INVALID_ADDRESS"),
    ("GET", "/v1/gas/groups?status=OPEN", 400, "BAD_REQUEST"),
    ("GET", "/v1/market/listings/", 404, "NOT_FOUND"),
    ("GET", f"/v1/market/orders/{SOME_ID}/review", 404, "NOT_FOUND"),
    ("GET", "/v1/market/reviews", 404, "NOT_FOUND"),
    ("GET", f"/v1/gas/groups/{SOME_ID}/members", 404, "NOT_FOUND"),
    ("POST", "/v1/market/listings", 405, "METHOD_NOT_ALLOWED"),
    ("PUT", f"/v1/market/orders/{SOME_ID}", 405, "METHOD_NOT_ALLOWED"),
    ("DELETE", f"/v1/gas/groups/{SOME_ID}", 405, "METHOD_NOT_ALLOWED"),
])
def test_odd_requests_are_a_json_4xx_never_a_5xx(market: Market, method: str, path: str, status: int,
                                                code: str) -> None:
    error = assert_api_error(status, code, lambda: market.devnet.api.request(method, path))
    assert 400 <= error.status < 500 and json.loads(error.body) == {"error": {"code": code, "message": error.message}}


def test_a_search_for_what_no_title_holds_is_an_empty_page_not_an_error(market: Market) -> None:
    for words in ("%00", "%F0%9F%A5%96", "%FF%FE", "bread%00", "%25", "*", ".*", "[", "\\"):
        assert market.get(f"/v1/market/listings?words={words}") == {"listings": [], "next": None}, words


def test_orders_are_listed_by_buyer_provider_listing_and_status_and_paged(market: Market) -> None:
    everything = market.get("/v1/market/orders?limit=200")
    assert everything["next"] is None
    assert ids(everything["orders"]) == hexes(RELEASED, EXPIRED, CONFIRMED, DECIDED, CANCELLED, PLACED, ACCEPTED)
    assert pages(market, "/v1/market/orders", "orders", 3) == everything["orders"]
    anna, marco = market.address("anna"), market.address("marco")
    for query, expected in [
        (f"buyer={anna}", (RELEASED, CONFIRMED, CANCELLED, ACCEPTED)),
        (f"buyer={marco}", (EXPIRED, DECIDED, PLACED)),
        (f"provider={market.address(BOTTEGA)}", (RELEASED, EXPIRED, CONFIRMED, DECIDED, ACCEPTED)),
        (f"provider={market.address(CICLO)}", (CANCELLED, PLACED)),
        (f"buyer={marco}&provider={market.address(CICLO)}", (PLACED,)),
        (f"buyer={market.address(BOTTEGA)}", ()),
        (f"account={anna}", (RELEASED, CONFIRMED, CANCELLED, ACCEPTED)),
        (f"account={market.address(CICLO)}", (CANCELLED, PLACED)),
        (f"account={market.address(CICLO)}&buyer={anna}", (CANCELLED,)),
        (f"account={market.address(ARBITER)}", ()),
        (f"listing={APPLES.hex()}", (CONFIRMED, DECIDED)),
        ("status=released", (RELEASED,)),
        ("status=expired", (EXPIRED,)),
        ("status=decided", (DECIDED,)),
        ("status=disputed", ()),
        ("status=cancelled", (CANCELLED,)),
        ("status=placed", (PLACED,)),
        ("status=accepted", (ACCEPTED,)),
        ("status=confirmed", (CONFIRMED,)),
    ]:
        assert ids(market.get(f"/v1/market/orders?{query}")["orders"]) == hexes(*expected), query
    assert pages(market, f"/v1/market/orders?provider={market.address(BOTTEGA)}", "orders", 2) == \
        market.get(f"/v1/market/orders?provider={market.address(BOTTEGA)}")["orders"]
    # an account's orders, paged with one cursor
    both = pages(market, f"/v1/market/orders?account={market.address(BOTTEGA)}", "orders", 2)
    assert ids(both) == hexes(RELEASED, EXPIRED, CONFIRMED, DECIDED, ACCEPTED)


def test_an_order_shows_its_escrow_lot_and_deadline(market: Market) -> None:
    placed = market.get(f"/v1/market/orders/{PLACED.hex()}")
    assert (placed["status"], placed["open"], placed["completed"], placed["at_deadline"]) == ("placed", True, False, "expire")
    assert placed["deadline_ms"] == placed["placed_ms"] + ACCEPT_WINDOW_MS
    assert placed["escrow"] == {"lot": order_lot(PLACED).hex(), "amount": 1500}
    assert (placed["buyer"], placed["provider"], placed["listing"]) == \
        (market.address("marco"), market.address(CICLO), RENTAL.hex())
    assert (placed["quantity"], placed["unit_price"], placed["total"], placed["class"]) == (1, 1500, 1500, DEMO_CLASS)

    accepted = market.get(f"/v1/market/orders/{ACCEPTED.hex()}")
    assert (accepted["status"], accepted["at_deadline"], accepted["escrow"]["amount"]) == ("accepted", "release", 900)
    assert accepted["deadline_ms"] == market.accepted_ms + HOUR_MS, "accepted: the buyer's window"

    decided = market.get(f"/v1/market/orders/{DECIDED.hex()}")
    assert (decided["status"], decided["open"], decided["completed"]) == ("decided", False, True)
    assert decided["decision"] == {"to_provider": 200, "to_buyer": 400, "reason": "half of them bruised"}
    assert (decided["dispute"], decided["deadline_ms"], decided["at_deadline"]) == ("bruised", None, None)
    assert decided["escrow"] == {"lot": order_lot(DECIDED).hex(), "amount": 0}, "a closed order holds nothing"
    assert decided["review"] == {"rating": 5, "text": "fair in the end"}

    released = market.get(f"/v1/market/orders/{RELEASED.hex()}")
    assert (released["status"], released["completed"], released["escrow"]["amount"]) == ("released", True, 0)
    assert released["review"] == {"rating": 5, "text": "the best bread in town"}
    assert market.get(f"/v1/market/orders/{EXPIRED.hex()}")["status"] == "expired"
    confirmed = market.get(f"/v1/market/orders/{CONFIRMED.hex()}")
    assert (confirmed["dispute"], confirmed["decision"], confirmed["review"]) == \
        (None, None, {"rating": 4, "text": None}), "the text erased, the rating kept"
    assert_api_error(404, "NOT_FOUND", lambda: market.get(f"/v1/market/orders/{identifier('no order').hex()}"))


def test_a_providers_rating_is_exact_and_its_reviews_paged(market: Market) -> None:
    reviews = market.get(f"/v1/market/providers/{market.address(BOTTEGA)}/reviews")
    # 5 + 4 + 5 = 14 of 3: the exact mean 14/3, shown as 4.7 (47 tenths, rounded half up)
    assert reviews["rating"] == {"count": 3, "sum": 14, "mean_tenths": 47}
    assert reviews["provider"] == market.address(BOTTEGA) and reviews["next"] is None
    assert reviews["reviews"] == sorted([
        {"order": RELEASED.hex(), "rating": 5, "text": "the best bread in town"},
        {"order": CONFIRMED.hex(), "rating": 4, "text": None},
        {"order": DECIDED.hex(), "rating": 5, "text": "fair in the end"},
    ], key=lambda r: r["order"])
    assert pages(market, f"/v1/market/providers/{market.address(BOTTEGA)}/reviews", "reviews", 1) == reviews["reviews"]
    for nobody in (market.address(CICLO), to_address(bytes(range(32)))):
        empty = market.get(f"/v1/market/providers/{nobody}/reviews")
        assert (empty["rating"], empty["reviews"], empty["next"]) == ({"count": 0, "sum": 0, "mean_tenths": None}, [], None)


def test_the_arbiters_are_listed(market: Market) -> None:
    assert market.get("/v1/market/arbiters?limit=1") == {
        "arbiters": [{"address": market.address(ARBITER), "name": "Camera arbitrale (test)"}], "next": None}


# --- the purchase groups' routes ---------------------------------------------------------------------


def test_an_open_group_shows_its_fill_and_its_members_escrow(market: Market) -> None:
    before = market.before_deadline
    tiered = before["tiered"]
    assert (tiered["status"], tiered["accepting"], tiered["committed_qty"], tiered["members"]) == ("open", True, 6, 2)
    assert (tiered["room"], tiered["reached"], tiered["next_tier"]) == (4, {"min_total": 5, "unit_price": 250}, None)
    assert (tiered["top_price"], tiered["unit_price"], tiered["pending"]) == (280, 0, 2)
    assert tiered["tiers"] == [{"min_total": 2, "unit_price": 280}, {"min_total": 5, "unit_price": 250}]
    assert (tiered["organiser"], tiered["provider"], tiered["listing"]) == \
        (market.address(ORGANISER), market.address(BOTTEGA), APPLES.hex())
    members = sorted([market.address("anna"), market.address("marco")])
    assert [c["member"] for c in before["commitments"]["commitments"]] == [to_address(k) for k in
                                                                           sorted(market.devnet.pubkey(n) for n in ("anna", "marco"))]
    assert sorted(c["member"] for c in before["commitments"]["commitments"]) == members
    assert all(c["quantity"] == 3 and c["escrowed"] == 3 * 280 and len(c["lot"]) == 64
               for c in before["commitments"]["commitments"])
    assert ids(before["open"]["groups"]) == hexes(TIERED, SHORT)


def test_groups_are_listed_by_status_listing_and_organiser_and_settled_at_the_deadline(market: Market) -> None:
    everything = market.get("/v1/gas/groups")
    assert ids(everything["groups"]) == hexes(TIERED, SHORT) and everything["next"] is None
    assert pages(market, "/v1/gas/groups", "groups", 1) == everything["groups"]
    for query, expected in [
        ("status=open", ()), ("status=settled", (TIERED,)), ("status=failed", (SHORT,)), ("status=closing", ()),
        (f"listing={APPLES.hex()}", (TIERED,)), (f"listing={OIL.hex()}", ()),
        (f"organiser={market.address(ORGANISER)}", (TIERED, SHORT)), (f"organiser={market.address('anna')}", ()),
    ]:
        assert ids(market.get(f"/v1/gas/groups?{query}")["groups"]) == hexes(*expected), query
    tiered = market.get(f"/v1/gas/groups/{TIERED.hex()}")
    assert (tiered["status"], tiered["unit_price"], tiered["pending"], tiered["accepting"]) == ("settled", 250, 0, False)
    assert (tiered["committed_qty"], tiered["members"]) == (6, 2), "frozen when decided"
    assert market.get(f"/v1/gas/groups/{TIERED.hex()}/commitments") == {
        "group": TIERED.hex(), "commitments": [], "next": None}, "settled: nothing left in escrow"
    short = market.get(f"/v1/gas/groups/{SHORT.hex()}")
    assert (short["status"], short["unit_price"], short["reached"]) == ("failed", 0, None)
    assert short["next_tier"] == {"min_total": 5, "unit_price": 240, "missing": 4}
    unknown = identifier("no group").hex()
    assert_api_error(404, "NOT_FOUND", lambda: market.get(f"/v1/gas/groups/{unknown}"))
    assert_api_error(404, "NOT_FOUND", lambda: market.get(f"/v1/gas/groups/{unknown}/commitments"))


# --- the wallet's client ------------------------------------------------------------------------------


def test_the_node_client_reads_what_the_routes_answer(market: Market) -> None:
    client = NodeClient(market.devnet.node.url)
    bottega, anna = market.address(BOTTEGA), market.address("anna")
    assert client.market_listings(category="food", provider=bottega, class_id=DEMO_CLASS, words="o", status="active",
                                  limit=1) == market.get(f"/v1/market/listings?category=food&provider={bottega}"
                                                         f"&class={DEMO_CLASS}&words=o&status=active&limit=1")
    first = client.market_listings(limit=4)
    assert ids(first["listings"] + client.market_listings(limit=4, after=first["next"])["listings"]) == \
        hexes(BREAD, APPLES, OIL, SOAP, REPAIR, RENTAL)
    assert client.market_listing(APPLES) == client.market_listing(APPLES.hex()) == \
        market.get(f"/v1/market/listings/{APPLES.hex()}")
    assert ids(client.market_orders(buyer=anna, provider=bottega, listing=APPLES, status="confirmed")["orders"]) == \
        [CONFIRMED.hex()]
    assert ids(client.market_orders(buyer=anna, limit=200)["orders"]) == hexes(RELEASED, CONFIRMED, CANCELLED, ACCEPTED)
    assert ids(client.market_orders(account=market.address(CICLO))["orders"]) == hexes(CANCELLED, PLACED)
    assert client.market_order(DECIDED) == market.get(f"/v1/market/orders/{DECIDED.hex()}")
    assert client.market_reviews(bottega, limit=1, after=client.market_reviews(bottega, limit=1)["next"]) == \
        market.get(f"/v1/market/providers/{bottega}/reviews?limit=1&after={hexes(RELEASED, CONFIRMED, DECIDED)[0]}")
    assert client.market_arbiters() == market.get("/v1/market/arbiters")
    assert ids(client.gas_groups(status="settled", listing=APPLES, organiser=market.address(ORGANISER))["groups"]) == \
        [TIERED.hex()]
    assert client.gas_group(SHORT) == market.get(f"/v1/gas/groups/{SHORT.hex()}")
    assert client.gas_commitments(TIERED, limit=1) == {"group": TIERED.hex(), "commitments": [], "next": None}
    for call, status, code in [
        (lambda: client.market_listing(identifier("nothing")), 404, "NOT_FOUND"),
        (lambda: client.gas_group("zz"), 400, "BAD_REQUEST"),
        (lambda: client.market_listings(limit=500), 400, "BAD_REQUEST"),
        (lambda: client.market_orders(buyer="nope"), 400, "INVALID_ADDRESS"),
        (lambda: client.market_reviews("ic" + "a" * 58), 400, "INVALID_ADDRESS"),
    ]:
        with pytest.raises(NodeError) as refused:
            call()
        assert (refused.value.status, refused.value.code) == (status, code)


# --- 4. what the existing routes show now -------------------------------------------------------------


def test_a_block_shows_its_end_of_block_effects(market: Market) -> None:
    released = market.devnet.api.block(market.release_height)
    assert released["txs"] == []
    assert released["effects"] == [{"module": "market", "item": RELEASED.hex(),
                                    "result": {"code": "OK", "message": released["effects"][0]["result"]["message"]}}]
    assert market.devnet.api.block(market.expiry_height)["effects"][0]["item"] == EXPIRED.hex()
    assert market.devnet.api.block(1)["effects"] == []


def history(market: Market, who: str | SigningKey) -> list[dict]:
    return pages_before(market, f"/v1/accounts/{market.address(who)}/txs")


def pages_before(market: Market, path: str) -> list[dict]:
    out, before = [], None
    while True:
        page = market.get(f"{path}?limit=3" + (f"&before={before}" if before else ""))
        out += page["txs"]
        before = page["next"]
        if before is None:
            return out


def effects_of(entries: list[dict], module: str) -> list[dict]:
    return [e for e in entries if e["type"] == f"{module}.end_block"]


def test_the_provider_sees_its_payout_at_the_deadline_in_its_history(market: Market) -> None:
    bottega = history(market, BOTTEGA)
    assert bottega == market.get(f"/v1/accounts/{market.address(BOTTEGA)}/txs?limit=200")["txs"], "paged alike"
    [payout] = effects_of(bottega, "market")
    assert (payout["height"], payout["index"], payout["module"], payout["item"]) == \
        (market.release_height, 0, "market", RELEASED.hex())
    assert payout["result"]["code"] == "OK" and "hash" not in payout and "signer" not in payout
    assert payout["moves"] == [{"kind": "release", "class": DEMO_CLASS, "from": None, "to": market.address(BOTTEGA),
                                "amount": 500, "reference": f"order {RELEASED.hex()}", "lot": order_lot(RELEASED).hex()}]
    # the settled group: one charge per member, at the tier price reached (3 × 2.50)
    charges = effects_of(bottega, "gas")
    assert sorted(m["amount"] for e in charges for m in e["moves"]) == [750, 750]
    assert all(m["kind"] == "release" and m["reference"] == f"purchase group {TIERED.hex()}"
               for e in charges for m in e["moves"])
    assert all(e["item"].startswith("6d" + TIERED.hex()) for e in charges), "a commitment's item: 'm' ‖ group ‖ member"


def test_the_buyers_see_their_refunds_and_nothing_of_a_release(market: Market) -> None:
    anna, marco = history(market, "anna"), history(market, "marco")
    assert effects_of(anna, "market") == [], "anna's credits left her when she ordered"
    [refund] = effects_of(marco, "market")
    assert (refund["height"], refund["item"]) == (market.expiry_height, EXPIRED.hex())
    assert [(m["kind"], m["to"], m["amount"]) for m in refund["moves"]] == [("refund", market.address("marco"), 250)]
    # the group's difference: 3 × (2.80 − 2.50) back to each member; the group that failed: everything back
    assert [m["amount"] for e in effects_of(anna, "gas") for m in e["moves"]] == [90]
    assert sorted(m["amount"] for e in effects_of(marco, "gas") for m in e["moves"]) == [90, 240]


def test_the_wallet_history_command_shows_the_payout(market: Market) -> None:
    out = incoop(market.devnet, "wallet", "history", market.address(BOTTEGA), "--limit", "50").stdout
    line = next(line for line in out.splitlines() if f"effect market {RELEASED.hex()}" in line)
    assert line.startswith(f"{market.release_height}:0  OK  received 5.00 {DEMO_CLASS}"), line
    assert f"order {RELEASED.hex()}" in line
    rows = json.loads(incoop(market.devnet, "wallet", "history", market.address("anna"), "--json").stdout)["txs"]
    assert any(row["type"] == "gas.end_block" for row in rows)


def test_the_class_shows_what_is_in_escrow_and_its_voucher_rules(market: Market) -> None:
    demo = market.get(f"/v1/classes/{DEMO_CLASS}")
    # open: marco's placed rental (15.00) and anna's accepted oil (9.00); the groups are settled
    assert demo["escrowed"] == 1500 + 900
    assert (demo["face_value"], demo["voucher_cap"]) == (None, None)
    assert demo["issued"] == demo["supply"] + demo["escrowed"] + demo["redeemed"] + demo["reclaimed"]
    statement = market.get(f"/v1/classes/{DEMO_CLASS}/statement")
    assert (statement["held"], statement["escrowed"]) == (demo["supply"], demo["escrowed"])
    holders = market.get(f"/v1/classes/{DEMO_CLASS}/holders?limit=1000")["holders"]
    assert sum(h["amount"] for h in holders) == statement["held"]
    assert {"category": "food", "amount": 500 + 300 + 200 + 1500} in statement["spent"], \
        "released, confirmed, the arbiter's share, the group's charges"
    assert [c for c in market.get("/v1/classes")["classes"] if c["id"] == DEMO_CLASS] == [demo]


# --- 5. the audit --------------------------------------------------------------------------------------


def test_the_data_directory_audits_and_a_missing_payout_entry_is_named(market: Market, tmp_path: Path) -> None:
    devnet = market.devnet
    genesis = str(devnet.layout.home / "genesis.json")
    verdict = incoop(devnet, "audit", "verify", "--genesis", genesis, "--data", str(devnet.node.home))
    assert "stored state equals the replay" in verdict.stdout
    devnet.node.stop()
    copy = tmp_path / "home"
    shutil.copytree(devnet.node.home / "data", copy / "data")
    with Store(copy / "data", create=False) as store:
        height = store.head().height
    key = P_HISTORY + BOTTEGA.pubkey + market.release_height.to_bytes(8, "big") + (0).to_bytes(4, "big")
    db = plyvel.DB(str(copy / "data"))
    assert db.get(key) is not None
    db.delete(key)
    db.close()
    line = incoop(devnet, "audit", "verify", "--genesis", genesis, "--data", str(copy), "--quiet", check=False).stderr
    assert line.startswith(f"incoop: audit failed at block {height}: stored history index entry {key[1:].hex()} "
                           "is missing from the data directory"), line
    assert f"(account {market.address(BOTTEGA)}, block {market.release_height}, entry 0)" in line
