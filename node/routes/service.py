"""The node itself: its status, the genesis it follows, its metrics, and the document of its API."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web

from ledger.address import to_address
from node import metrics
from node.openapi import openapi_document
from node.routes.binding import SERVED
from node.routes.context import CONFIG, NODE
from node.routes.render import Strict
from node.routes.table import JSON, MSGPACK, TEXT, RouteTable, json_reply, raw_reply
from node.routes.types import AddressText, Count, HashText, Height

routes = RouteTable("node", "The node: status, metrics, this document")


class Timeouts(Strict):
    """The round timeouts in force at the height being decided, in ms: chain parameters (FORMAT.md §14.2,
    changed by a federation `set-param`); a step's timeout in round r is min(base + r × delta, max)."""

    propose: Count
    prevote: Count
    precommit: Count
    delta: Count
    max: Count


class ConsensusStatus(Strict):
    height: Height
    round: int
    step: Literal["waiting", "propose", "prevote", "precommit"]
    voting: bool
    catching_up: bool
    timeouts_ms: Timeouts


class Peer(Strict):
    address: AddressText
    remote: str
    outbound: bool


class RulesModule(Strict):
    name: str
    version: Count
    types: list[str]


class Rules(Strict):
    """The chain's rules this node runs: its modules in order (FORMAT.md §14: the genesis names the same
    list, or the node would not have started) and their digest, for a quick comparison between nodes."""

    modules: list[RulesModule]
    digest: HashText


class Status(Strict):
    """`height` is the last committed block; `consensus.height` the one being decided and `round` its
    round (-1 with step `waiting` before the height starts); `role` is "validator" while this node, configured
    as one, has its key in the validator set of the height being decided (it follows a voted change), else
    "observer"; `voting` is whether it runs a machine at that height; `catching_up` is true while the node
    fetches blocks from a peer two or more heights ahead; `timeouts_ms` are the chain's round timeouts of
    the height being decided."""

    chain_id: str
    genesis_hash: HashText
    height: Height
    block_hash: HashText
    block_time_ms: Count
    state_root: HashText
    role: Literal["validator", "observer"]
    node_address: AddressText
    rules: Rules
    mempool_size: Count
    consensus: ConsensusStatus | None
    peers: list[Peer]


@routes.get("/v1/status", summary="The node's chain, head, role, consensus step and peers",
            replies=[json_reply(Status, "status")])
async def get_status(request: web.Request) -> web.Response:
    ctx = request.app[NODE]
    role = ctx.role()  # read before the head: a block committed in between leaves the role older, never newer
    head = ctx.store.head()
    return web.json_response({
        "chain_id": ctx.chain_id,
        "genesis_hash": ctx.genesis_hash.hex(),
        "height": head.height,
        "block_hash": head.block_hash.hex(),
        "block_time_ms": head.time_ms,
        "state_root": head.state_root.hex(),
        "role": role,
        "node_address": ctx.node_address,
        "rules": {"modules": ctx.mempool.rules.describe(), "digest": ctx.mempool.rules.digest.hex()},
        "mempool_size": len(ctx.mempool),
        "consensus": ctx.consensus.status() if ctx.consensus is not None else None,
        "peers": [
            {"address": to_address(p.pubkey), "remote": p.address, "outbound": p.outbound}
            for p in (ctx.peers.peers() if ctx.peers is not None else [])
        ],
    })


@routes.get("/v1/genesis/raw", summary="The canonical genesis (FORMAT.md §14.3): its SHA-256 is `genesis_hash`",
            description="The bytes hashed into the chain's genesis hash, so a client checks them against a hash it "
                        "trusts without parsing the JSON document: the piazza pins the genesis validators from "
                        "them the first time it proves a balance (docs/piazza.md, \"Verified balances\").",
            replies=[raw_reply(MSGPACK, "canonical(genesis)", {"type": "string", "format": "binary"})])
async def get_genesis_raw(request: web.Request) -> web.Response:
    return web.Response(body=request.app[NODE].genesis, content_type=MSGPACK)


@routes.get("/metrics", summary="Prometheus metrics (text format 0.0.4; docs/operations.md lists them)",
            replies=[raw_reply(TEXT, "metrics", {"type": "string"})])
async def get_metrics(request: web.Request) -> web.Response:
    text = metrics.render(request.app[NODE], request.app.get(metrics.SOURCES, ()))
    return web.Response(text=text, content_type="text/plain", charset="utf-8",
                        headers={"X-Prometheus-Format": "0.0.4"})


@routes.get("/v1/openapi.json", summary="This document: the OpenAPI 3.1 description of the routes this node serves",
            replies=[raw_reply(JSON, "OpenAPI 3.1", {"type": "object"})])
async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(document_of(request.app))


def document_of(app: web.Application) -> dict[str, Any]:
    """The app's document, generated once from the tables it serves and its config."""
    served = app[SERVED]
    if served.document is None:
        served.document = openapi_document(served.tables, app.get(CONFIG))
    return served.document
