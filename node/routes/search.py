"""What a search text names: a block height, a transaction, an account, an identity, a class, a listing or a
ballot (the explorer's one search box: docs/piazza.md, "The explorer").

Identities, listings and ballots share one id form (16 bytes, 32 hex characters), and a class id can be all
digits like a height, so a client could only tell which one a text names by asking each route in turn and
collecting 404s. This route asks the state once for each reading of the text and answers 200 with what it
found, nothing found being an empty list. Every lookup is one key read of a record a module writes
(FORMAT.md §9); a chain without that module has no such records and so no such match.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from governance import records as agora_records
from identity import records as identity_records
from ledger import credits
from ledger.address import AddressError, from_address, to_address
from market import listings_record
from node.routes.context import NODE, NodeContext
from node.routes.render import Strict
from node.routes.table import RouteTable, json_reply
from node.routes.types import ADDRESS_PATTERN, MAX_DIGITS

routes = RouteTable("search", "What a search text names")

MAX_QUERY_CHARS = 64  # the longest name searched: a transaction hash
QUERY_PATTERN = f"^[0-9A-Za-z-]{{1,{MAX_QUERY_CHARS}}}$"
Kind = Literal["block", "tx", "account", "identity", "class", "listing", "ballot"]

_DIGITS = re.compile(f"[0-9]{{1,{MAX_DIGITS}}}")
_HASH = re.compile("[0-9a-f]{64}")
_ID = re.compile("[0-9a-f]{32}")
_ADDRESS = re.compile(ADDRESS_PATTERN[1:-1])


class Match(Strict):
    kind: Kind
    id: Annotated[str, Field(description="its name as its route takes it: a height in decimal, a hash or an id "
                                         "in lower-case hex, an address, a class id")]


class SearchResult(Strict):
    query: Annotated[str, Field(description="the text as searched: hex and addresses in lower case")]
    matches: Annotated[list[Match], Field(description="in the order block, tx, account, identity, class, listing, "
                                                      "ballot; empty when the text names nothing")]


class SearchQuery(BaseModel):
    q: Annotated[str, Field(pattern=QUERY_PATTERN, description=(
        f"1 to {MAX_QUERY_CHARS} letters, digits and '-' (any case): a height, a transaction hash, an address, "
        "an identity, listing or ballot id, a class id"))]


def _is_tx(ctx: NodeContext, tx_hash: bytes) -> bool:
    """Known here as /v1/txs/{hash} would show it: committed, pending or recently rejected."""
    return ctx.store.tx_location(tx_hash) is not None or tx_hash in ctx.mempool or ctx.mempool.rejection(tx_hash) is not None


def search(ctx: NodeContext, text: str) -> tuple[str, list[dict[str, str]]]:
    """The lower-cased text and what it names at the head, by the kinds' one order."""
    query = text.lower()
    state = ctx.store.state
    found: list[dict[str, str]] = []

    def add(kind: str, name: str) -> None:
        found.append({"kind": kind, "id": name})

    if _DIGITS.fullmatch(query) and 1 <= int(query) <= ctx.store.head().height:
        add("block", str(int(query)))
    if _HASH.fullmatch(query) and _is_tx(ctx, bytes.fromhex(query)):
        add("tx", query)
    if _ADDRESS.fullmatch(query):
        try:
            add("account", to_address(from_address(query)))  # every valid address is an account, if an empty one
        except AddressError:
            pass  # a mistyped address names nothing
    an_id = bytes.fromhex(query) if _ID.fullmatch(query) else None
    if an_id is not None and identity_records.get_identity(state, an_id) is not None:
        add("identity", query)
    if credits.CLASS_ID.fullmatch(query) and credits.get_class(state, query) is not None:
        add("class", query)
    if an_id is not None and listings_record.get_listing(state, an_id) is not None:
        add("listing", query)
    if an_id is not None and agora_records.get_ballot(state, an_id) is not None:
        add("ballot", query)
    return query, found


@routes.get(
    "/v1/search", summary="What a text names: a block height, a transaction, an account, an identity, a class, "
                          "a listing or a ballot",
    description="Nothing found is a 200 with no matches. An id of 16 bytes is looked up as an identity, a listing "
                "and a ballot; digits as a height and as a class id; any valid address is an account.",
    query=SearchQuery, replies=[json_reply(SearchResult, "what the text names")],
)
async def get_search(request: web.Request, query: SearchQuery) -> web.Response:
    text, matches = search(request.app[NODE], query.q)
    return web.json_response({"query": text, "matches": matches})
