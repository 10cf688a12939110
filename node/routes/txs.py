"""Transactions: submit one or many, and ask what became of one (docs/admission.md gives the checks)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from ledger.encoding import EncodingError, decode
from ledger.errors import Code, TxError, is_execution
from ledger.tx import MAX_TX_BYTES
from node.mempool import Prepared
from node.routes.context import CONFIG, NODE
from node.routes.render import ErrorDetail, Result, Strict, render_result, render_tx_error
from node.routes.table import (
    JSON,
    MSGPACK,
    ApiError,
    ErrorCode,
    Payload,
    Refuse,
    RouteTable,
    json_reply,
)
from node.routes.types import HEX_PATTERN, HashText, Height, TxHashParam

routes = RouteTable("txs", "Transactions: submission and status")

TX_FORMAT = "incoop-tx"  # the canonical bytes of one signed transaction (FORMAT.md §7)
BATCH_FORMAT = "incoop-tx-batch"  # a canonical array of byte strings (FORMAT.md §2), each judged on its own
EXECUTION_CODES = [code.name for code in Code if code != Code.OK and is_execution(code)]

# docs/api-contract.md: which status a transaction rejection carries (the rest are 400). A
# transaction the ledger's rules refuse at admission (check-tx: an execution code, 1-99 or 200-299) is 422;
# a node's policy refusals (its share per client, its size) are 429 and 503: try again later.
TX_STATUS = {
    **{code: 422 for code in Code if code != Code.OK and is_execution(code)},
    Code.UNKNOWN_SIGNER: 403,
    Code.BAD_NONCE: 409,
    Code.DUPLICATE: 409,
    Code.NONCE_TOO_FAR: 409,
    Code.CLIENT_QUOTA: 429,
    Code.MEMPOOL_FULL: 503,
}


LATER_ONLY = {Code.EVICTED}  # given to a pending transaction dropped later (GET /v1/txs/{hash}), never at submission


def _codes(status: int) -> list[str]:
    return [code.name for code in Code if not is_execution(code) and code not in LATER_ONLY and TX_STATUS.get(code, 400) == status]


TX_REFUSALS = [
    Refuse(400, _codes(400), "the bytes are not a valid signed transaction of this chain"),
    Refuse(403, _codes(403), "the chain does not know the signer"),
    Refuse(409, _codes(409), "the nonce is taken, or too far ahead"),
    Refuse(422, EXECUTION_CODES, "the transaction would fail: its execution result code (check-tx)"),
    Refuse(429, _codes(429), "this client holds its share of the mempool: try again later"),
    Refuse(503, _codes(503), "try again later"),
]


def _tx_hex(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) % 2 or value != value.lower():
            raise ValueError("the transaction is not lower-case hex")
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise ValueError("the transaction is not lower-case hex") from None
    return value


TxHex = Annotated[
    bytes,
    BeforeValidator(_tx_hex),
    WithJsonSchema({"type": "string", "pattern": HEX_PATTERN, "format": TX_FORMAT,
                    "description": f"a signed transaction's canonical bytes (at most {MAX_TX_BYTES}), lower-case hex"}),
    ErrorCode("MALFORMED"),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


ItemHex = Annotated[
    bytes,
    BeforeValidator(_tx_hex),
    WithJsonSchema({"type": "string", "pattern": HEX_PATTERN,
                    "description": "one transaction's bytes, lower-case hex; bytes that are no transaction get "
                                   "their own error in the results"}),
    ErrorCode("MALFORMED"),
]


class TxSubmission(_Body):
    tx: TxHex


class BatchSubmission(_Body):
    txs: list[ItemHex]


class Pending(Strict):
    hash: HashText
    status: Literal["pending"]


class TxCommitted(Strict):
    hash: HashText
    status: Literal["committed"]
    height: Height
    index: Annotated[int, Field(ge=0)]
    result: Result


class TxRejected(Strict):
    """Recently rejected (dropped by a block, expired, evicted, or failing its check again), kept in a bounded memory."""

    hash: HashText
    status: Literal["rejected"]
    error: ErrorDetail


class TxUnknown(Strict):
    hash: HashText
    status: Literal["unknown"]


TxStatus = Annotated[Pending | TxCommitted | TxRejected | TxUnknown, Field(discriminator="status")]


class BatchRefused(Strict):
    hash: HashText | None
    error: ErrorDetail


class BatchResults(Strict):
    results: list[Pending | BatchRefused]


class TxHashPath(BaseModel):
    hash: TxHashParam




def _client(request: web.Request) -> str:
    """The submitting client, for the mempool's per-client quota: its remote address (a proxy's own,
    behind one: docs/admission.md)."""
    return request.remote or "unknown"


@routes.post(
    "/v1/txs", summary="Submit one signed transaction",
    description="A refused transaction takes no nonce. Any node, validator or observer, admits it and gossips it "
                "once it is includable (not while it waits behind a nonce gap).",
    body=[Payload(MSGPACK, "the canonical bytes of one signed transaction (FORMAT.md §7)",
                  schema={"type": "string", "format": TX_FORMAT}),
          Payload(JSON, '{"tx": "<hex>"}', model=TxSubmission)],
    replies=[json_reply(Pending, "admitted to the mempool", status=202)],
    refusals=TX_REFUSALS,
)
async def post_tx(request: web.Request, body: bytes | TxSubmission) -> web.Response:
    ctx = request.app[NODE]
    raw = body.tx if isinstance(body, TxSubmission) else body
    tx = ctx.mempool.admit_raw(raw, ctx.next_height(), client=_client(request))
    return web.json_response({"hash": tx.hash.hex(), "status": "pending"}, status=202)


def _batch_items(body: bytes | BatchSubmission, max_items: int) -> list[bytes | TxError]:
    if isinstance(body, BatchSubmission):
        items: list[bytes | TxError] = list(body.txs)
    else:
        try:
            value = decode(body, max(len(body), 1))
        except EncodingError as exc:
            raise ApiError(400, "BAD_REQUEST", f"not a canonical array of transactions: {exc}") from None
        if type(value) is not tuple or any(type(item) is not bytes for item in value):
            raise ApiError(400, "BAD_REQUEST", "a batch is an array of transaction byte strings")
        items = list(value)
    if len(items) > max_items:
        raise ApiError(400, "BAD_REQUEST", f"a batch holds at most {max_items} transactions, not {len(items)}")
    return items


def _render_prepared(item: Prepared) -> dict:
    tx_hash = item.tx.hash.hex() if item.tx is not None else None
    if item.error is not None:
        return {"hash": tx_hash, "error": render_tx_error(item.error)}
    return {"hash": tx_hash, "status": "pending"}


@routes.post(
    "/v1/txs/batch", summary="Submit many signed transactions; one result each, in order",
    description="At most api.max_batch_txs. Once one of a signer's transactions is refused (its nonce left free), "
                "that signer's later nonces in the batch are refused too (NONCE_TOO_FAR, or the first one's "
                "MEMPOOL_FULL / CLIENT_QUOTA), never left waiting behind the gap.",
    body=[Payload(MSGPACK, "the canonical array of signed transactions' byte strings (FORMAT.md §2)",
                  schema={"type": "string", "format": BATCH_FORMAT}),
          Payload(JSON, '{"txs": ["<hex>", ...]}', model=BatchSubmission,
                  bounds=lambda config: {"txs": {"maxItems": config.max_batch_txs}})],
    replies=[json_reply(BatchResults, "one result per transaction, in order")],
    refusals=[Refuse(400, ["BAD_REQUEST"], "not an array of transactions, or more than api.max_batch_txs")],
)
async def post_tx_batch(request: web.Request, body: bytes | BatchSubmission) -> web.Response:
    ctx = request.app[NODE]
    items = _batch_items(body, request.app[CONFIG].max_batch_txs)
    loop = asyncio.get_running_loop()
    # decode and verify off the loop (in the transaction workers, or verification fanned out to the verify
    # pool's threads); admission (with its check-tx) is sequential and on the loop, in slices between which
    # the loop takes other work
    prepared = await loop.run_in_executor(None, ctx.mempool.prepare_batch, items, ctx.verify_pool, ctx.next_height(),
                                          ctx.tx_workers)
    results = await ctx.mempool.admit_prepared_async(prepared, ctx.next_height(), client=_client(request))
    return web.json_response({"results": [_render_prepared(item) for item in results]})


@routes.get(
    "/v1/txs/{hash}", summary="A transaction's status: pending, committed, rejected or unknown",
    description="Unknown is a 200 with status unknown; a committed one's result code is OK on success.",
    path_params=TxHashPath, replies=[json_reply(TxStatus, "its status")],
)
async def get_tx(request: web.Request, path: TxHashPath) -> web.Response:
    ctx = request.app[NODE]
    tx_hash = path.hash
    out: dict[str, Any] = {"hash": tx_hash.hex()}
    location = ctx.store.tx_location(tx_hash)
    if location is not None:
        height, index = location
        block, _ = ctx.block(height)  # type: ignore[misc]
        out.update(status="committed", height=height, index=index, result=render_result(block.results[index]))
    elif tx_hash in ctx.mempool:
        out["status"] = "pending"
    elif (rejection := ctx.mempool.rejection(tx_hash)) is not None:
        out.update(status="rejected", error={"code": rejection.code.name, "message": rejection.message})
    else:
        out["status"] = "unknown"
    return web.json_response(out)
