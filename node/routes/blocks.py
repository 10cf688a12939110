"""Committed blocks, as JSON for people and as the stored canonical bytes for verifiers (FORMAT.md §10-§11)."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, Field

from ledger.address import to_address
from ledger.block import Block, Certificate, Effect
from ledger.tx import Tx, decode_tx
from node.routes.context import NODE, NodeContext
from node.routes.render import Result, Strict, render_result, render_value
from node.routes.table import MSGPACK, ApiError, Refuse, RouteTable, json_reply, raw_reply
from node.routes.types import (
    AddressText,
    Count,
    HashText,
    Height,
    HeightParam,
    HexText,
    SignatureText,
)

routes = RouteTable("blocks", "Committed blocks with their certificates")


class Header(Strict):
    version: Count
    chain_id: str
    height: Height
    time_ms: Count
    prev_hash: HashText
    tx_root: HashText
    results_root: HashText
    state_root: HashText
    proposer: AddressText
    validators_hash: HashText


class BlockTx(Strict):
    hash: HashText
    type: str
    signer: AddressText
    nonce: Count
    expiry: Count
    body: Annotated[list[Any], Field(description="the body's fields: bytes as hex, 32-byte keys as addresses")]
    result: Result


class EffectJson(Strict):
    """An item the end-of-block step took after the block's transactions (FORMAT.md §12.3)."""

    module: Annotated[str, Field(description="the module whose step ran: market (an order due), gas (a purchase "
                                             "group or one of its commitments)")]
    item: Annotated[HexText, Field(description="the module's id of what fell due (FORMAT.md §6.5.4, §6.6)")]
    result: Result


class Signature(Strict):
    validator: AddressText
    signature: SignatureText


class CertificateJson(Strict):
    height: Height
    round: Count
    block_hash: HashText
    signatures: list[Signature]


class BlockJson(Strict):
    height: Height
    hash: HashText
    header: Header
    txs: list[BlockTx]
    effects: Annotated[list[EffectJson], Field(description="the end-of-block step's, in the order taken")]
    certificate: CertificateJson


class HeightPath(BaseModel):
    height: HeightParam


NOT_COMMITTED = Refuse(404, ["NOT_FOUND"], "no committed block at that height (genesis is no block)")


def render_header(block: Block) -> dict:
    h = block.header
    return {
        "version": h.version,
        "chain_id": h.chain_id,
        "height": h.height,
        "time_ms": h.time_ms,
        "prev_hash": h.prev_hash.hex(),
        "tx_root": h.tx_root.hex(),
        "results_root": h.results_root.hex(),
        "state_root": h.state_root.hex(),
        "proposer": to_address(h.proposer),
        "validators_hash": h.validators_hash.hex(),
    }


def render_certificate(cert: Certificate) -> dict:
    return {
        "height": cert.height,
        "round": cert.round,
        "block_hash": cert.block_hash.hex(),
        "signatures": [{"validator": to_address(v), "signature": s.hex()} for v, s in cert.signatures],
    }


def render_block_tx(tx: Tx, result: int) -> dict:
    return {
        "hash": tx.hash.hex(),
        "type": tx.type,
        "signer": to_address(tx.signer),
        "nonce": tx.nonce,
        "expiry": tx.expiry,
        "body": render_value(tx.body),
        "result": render_result(result),
    }


def render_effect(effect: Effect) -> dict:
    return {"module": effect.module, "item": effect.item.hex(), "result": render_result(effect.code)}


def render_block(block: Block, cert: Certificate) -> dict:
    txs = [render_block_tx(decode_tx(raw, len(raw)), r) for raw, r in zip(block.txs, block.results, strict=True)]
    return {
        "height": block.header.height,
        "hash": block.hash().hex(),
        "header": render_header(block),
        "txs": txs,
        "effects": [render_effect(e) for e in block.effects],
        "certificate": render_certificate(cert),
    }


def _height(ctx: NodeContext, path: HeightPath) -> int:
    return ctx.store.head().height if path.height == "latest" else path.height


@routes.get("/v1/blocks/{height}", summary="A committed block with its transactions and certificate",
            path_params=HeightPath, replies=[json_reply(BlockJson, "the block")], refusals=[NOT_COMMITTED])
async def get_block(request: web.Request, path: HeightPath) -> web.Response:
    ctx = request.app[NODE]
    height = _height(ctx, path)
    found = ctx.block(height) if height > 0 else None
    if found is None:
        raise ApiError(404, "NOT_FOUND", f"no committed block at height {height}")
    return web.json_response(render_block(*found))


@routes.get("/v1/blocks/{height}/raw", summary="The canonical [block, certificate] bytes as stored (FORMAT.md §11)",
            path_params=HeightPath,
            replies=[raw_reply(MSGPACK, "the raw block", {"type": "string", "format": "binary"})],
            refusals=[NOT_COMMITTED])
async def get_block_raw(request: web.Request, path: HeightPath) -> web.Response:
    ctx = request.app[NODE]
    height = _height(ctx, path)
    raw = ctx.store.raw_block(height) if height > 0 else None
    if raw is None:
        raise ApiError(404, "NOT_FOUND", f"no committed block at height {height}")
    return web.Response(body=raw, content_type=MSGPACK)
