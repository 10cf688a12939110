"""The HTTP API under /v1 (docs/api-contract.md is the contract; follow it to the letter).

Handlers raise (ApiError, TxError, aiohttp's HTTP errors) and one middleware
turns every failure into `{"error": {"code", "message"}}` with a 4xx status,
so that no input can produce a 500 or a half-built response. A 500 INTERNAL
is only ever a bug, and is logged. The same middleware bounds each request
in time (its body within `body_timeout_s`, the whole within
`request_timeout_s`), and an error message shows at most a short escaped
prefix of anything the caller sent (node/untrusted.py, docs/api-limits.md).

The handlers read the store directly (LevelDB reads are thread-safe and the
consensus driver commits each block in one atomic batch) and touch the mempool only
on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from identity import records as identity_records
from ledger import accounts, credit_rules, credits, evidence, lightproof
from ledger.address import AddressError, from_address, to_address
from ledger.block import Block, Certificate, decode_raw_block
from ledger.crypto import HASH_LEN, PUBKEY_LEN
from ledger.encoding import EncodingError, decode
from ledger.errors import MESSAGES, Code, TxError
from ledger.store import Store, StoreFailure
from ledger.tx import Tx, decode_tx
from node import metrics
from node.balance_proofs import NoCommittedBlock, balance_proof_at_head
from node.config import ApiConfig
from node.mempool import Mempool, Prepared
from node.openapi import openapi_document
from node.untrusted import shown

log = logging.getLogger("incoop.api")

MSGPACK = "application/msgpack"
JSON = "application/json"
MAX_HISTORY_LIMIT = 200
DEFAULT_HISTORY_LIMIT = 50
_BLOCK_CACHE = 64
MAX_HOLDERS_LIMIT = 1000
DEFAULT_HOLDERS_LIMIT = 100

# docs/api-contract.md: which status a transaction rejection carries (the rest are 400). A
# transaction the ledger's rules refuse at admission (check-tx: an execution code below 100) is 422;
# a node's policy refusals (its share per client, its size) are 429 and 503: try again later.
TX_STATUS = {
    **{code: 422 for code in Code if 0 < code < 100},
    Code.UNKNOWN_SIGNER: 403,
    Code.BAD_NONCE: 409,
    Code.DUPLICATE: 409,
    Code.NONCE_TOO_FAR: 409,
    Code.CLIENT_QUOTA: 429,
    Code.MEMPOOL_FULL: 503,
}
_HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "BODY_TIMEOUT",
    413: "BODY_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}
# an error message is ours, with at most a prefix of input in it; this bounds it whatever a caller sends
MAX_ERROR_MESSAGE_CHARS = 320
_CURSOR = re.compile(r"(\d{1,19}):(\d{1,10})")
_HEIGHT = re.compile(r"\d{1,19}")
_HASH_HEX = re.compile(r"[0-9a-f]{64}")


class ApiError(Exception):
    """A request the caller got wrong (or a resource that is not there)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class NodeContext:
    """What the handlers need of the running node; built by node.server."""

    store: Store
    mempool: Mempool
    chain_id: str
    genesis_hash: bytes
    role: str
    node_address: str
    verify_pool: Executor | None = None
    consensus: Any = None  # node.consensus.driver.Driver, once started
    peers: Any = None  # node.p2p.PeerManager, once started
    _blocks: OrderedDict[int, tuple[Block, Certificate]] = field(default_factory=OrderedDict)

    def block(self, height: int) -> tuple[Block, Certificate] | None:
        """A committed block, decoded; a few recent ones are kept since history reads them often."""
        cached = self._blocks.get(height)
        if cached is not None:
            self._blocks.move_to_end(height)
            return cached
        raw = self.store.raw_block(height)
        if raw is None:
            return None
        decoded = decode_raw_block(raw)
        self._blocks[height] = decoded
        while len(self._blocks) > _BLOCK_CACHE:
            self._blocks.popitem(last=False)
        return decoded

    def next_height(self) -> int:
        return self.store.head().height + 1


NODE = web.AppKey("node", NodeContext)
CONFIG = web.AppKey("api_config", ApiConfig)
routes = web.RouteTableDef()


# --- rendering --------------------------------------------------------------------


def clip_message(message: str) -> str:
    """An error message cut to MAX_ERROR_MESSAGE_CHARS (a net under shown(): no answer echoes much)."""
    if len(message) <= MAX_ERROR_MESSAGE_CHARS:
        return message
    return message[:MAX_ERROR_MESSAGE_CHARS] + "…"


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": clip_message(message)}}


def _error_response(status: int, code: str, message: str, headers: Any = None) -> web.Response:
    return web.json_response(error_body(code, message), status=status, headers=headers)


def render_result(code: int) -> dict:
    try:
        known = Code(code)
    except ValueError:
        return {"code": f"CODE_{code}", "message": f"result code {code}"}
    return {"code": known.name, "message": MESSAGES[known]}


def render_value(value: Any) -> Any:
    """A body field as JSON: 32-byte keys as addresses, other bytes as hex, arrays as lists."""
    if type(value) is bytes:
        return to_address(value) if len(value) == PUBKEY_LEN else value.hex()
    if type(value) is tuple or type(value) is list:
        return [render_value(v) for v in value]
    return value


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


def render_block(block: Block, cert: Certificate) -> dict:
    txs = [render_block_tx(decode_tx(raw, len(raw)), r) for raw, r in zip(block.txs, block.results, strict=True)]
    return {
        "height": block.header.height,
        "hash": block.hash().hex(),
        "header": render_header(block),
        "txs": txs,
        "certificate": render_certificate(cert),
    }


def render_tx_error(error: TxError) -> dict:
    return {"code": error.code.name, "message": clip_message(error.message)}


# --- request parsing ---------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TxSubmission(_Strict):
    tx: str


class BatchSubmission(_Strict):
    txs: list[str]


def _parse_json(model: type[BaseModel], body: bytes) -> Any:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = shown(".".join(str(p) for p in first["loc"])) or "body"  # a key may be the caller's
        raise ApiError(400, "BAD_REQUEST", f"invalid JSON request ({where}): {first['msg']}") from None


def _tx_hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise TxError(Code.MALFORMED, "the transaction is not hex") from None


def _content_type(request: web.Request) -> str:
    ctype = request.content_type
    if ctype not in (MSGPACK, JSON):
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", f"send {MSGPACK} or {JSON}, not {shown(ctype) or 'no content type'}")
    return ctype


def _account(text: str) -> bytes:
    try:
        return from_address(text)
    except AddressError as exc:
        raise ApiError(400, "INVALID_ADDRESS", str(exc)) from None


def _hash(text: str) -> bytes:
    if not _HASH_HEX.fullmatch(text):
        raise ApiError(400, "BAD_REQUEST", f"a hash is {HASH_LEN * 2} lower-case hex characters")
    return bytes.fromhex(text)


def _height(ctx: NodeContext, text: str) -> int:
    if text == "latest":
        return ctx.store.head().height
    if not _HEIGHT.fullmatch(text):
        raise ApiError(400, "BAD_REQUEST", "a height is a non-negative integer or 'latest'")
    return int(text)


def _committed_block(ctx: NodeContext, text: str) -> tuple[Block, Certificate]:
    height = _height(ctx, text)
    found = ctx.block(height) if height > 0 else None
    if found is None:
        raise ApiError(404, "NOT_FOUND", f"no committed block at height {height}")
    return found


# --- handlers -------------------------------------------------------------------------


@routes.get("/v1/status")
async def get_status(request: web.Request) -> web.Response:
    ctx = request.app[NODE]
    head = ctx.store.head()
    return web.json_response({
        "chain_id": ctx.chain_id,
        "genesis_hash": ctx.genesis_hash.hex(),
        "height": head.height,
        "block_hash": head.block_hash.hex(),
        "block_time_ms": head.time_ms,
        "state_root": head.state_root.hex(),
        "role": ctx.role,
        "node_address": ctx.node_address,
        "rules": {"modules": ctx.mempool.rules.describe(), "digest": ctx.mempool.rules.digest.hex()},
        "mempool_size": len(ctx.mempool),
        "consensus": ctx.consensus.status() if ctx.consensus is not None else None,
        "peers": [
            {"address": to_address(p.pubkey), "remote": p.address, "outbound": p.outbound}
            for p in (ctx.peers.peers() if ctx.peers is not None else [])
        ],
    })


@routes.post("/v1/txs")
async def post_tx(request: web.Request) -> web.Response:
    ctx = request.app[NODE]
    ctype = _content_type(request)
    body = await request.read()
    raw = body if ctype == MSGPACK else _tx_hex(_parse_json(TxSubmission, body).tx)
    tx = ctx.mempool.admit_raw(raw, ctx.next_height(), client=_client(request))
    return web.json_response({"hash": tx.hash.hex(), "status": "pending"}, status=202)


def _client(request: web.Request) -> str:
    """The submitting client, for the mempool's per-client quota: its remote address (a proxy's own,
    behind one: docs/admission.md)."""
    return request.remote or "unknown"


def _batch_items(ctype: str, body: bytes, max_items: int) -> list[bytes | TxError]:
    if ctype == MSGPACK:
        try:
            value = decode(body, max(len(body), 1))
        except EncodingError as exc:
            raise ApiError(400, "BAD_REQUEST", f"not a canonical array of transactions: {exc}") from None
        if type(value) is not tuple or any(type(item) is not bytes for item in value):
            raise ApiError(400, "BAD_REQUEST", "a batch is an array of transaction byte strings")
        items: list[bytes | TxError] = list(value)
    else:
        items = []
        for text in _parse_json(BatchSubmission, body).txs:
            try:
                items.append(_tx_hex(text))
            except TxError as exc:
                items.append(exc)
    if len(items) > max_items:
        raise ApiError(400, "BAD_REQUEST", f"a batch holds at most {max_items} transactions, not {len(items)}")
    return items


def _render_prepared(item: Prepared) -> dict:
    tx_hash = item.tx.hash.hex() if item.tx is not None else None
    if item.error is not None:
        return {"hash": tx_hash, "error": render_tx_error(item.error)}
    return {"hash": tx_hash, "status": "pending"}


@routes.post("/v1/txs/batch")
async def post_tx_batch(request: web.Request) -> web.Response:
    ctx = request.app[NODE]
    ctype = _content_type(request)
    items = _batch_items(ctype, await request.read(), request.app[CONFIG].max_batch_txs)
    loop = asyncio.get_running_loop()
    # decode and verify off the loop (verification fans out to the verify pool); admission (with its
    # check-tx) is sequential and on the loop, in slices between which the loop takes other work
    prepared = await loop.run_in_executor(None, ctx.mempool.prepare_batch, items, ctx.verify_pool, ctx.next_height())
    results = await ctx.mempool.admit_prepared_async(prepared, ctx.next_height(), client=_client(request))
    return web.json_response({"results": [_render_prepared(item) for item in results]})


@routes.get("/v1/txs/{hash}")
async def get_tx(request: web.Request) -> web.Response:
    ctx = request.app[NODE]
    tx_hash = _hash(request.match_info["hash"])
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


@routes.get("/v1/blocks/{height}")
async def get_block(request: web.Request) -> web.Response:
    ctx = request.app[NODE]
    block, cert = _committed_block(ctx, request.match_info["height"])
    return web.json_response(render_block(block, cert))


@routes.get("/v1/blocks/{height}/raw")
async def get_block_raw(request: web.Request) -> web.Response:
    ctx = request.app[NODE]
    height = _height(ctx, request.match_info["height"])
    raw = ctx.store.raw_block(height) if height > 0 else None
    if raw is None:
        raise ApiError(404, "NOT_FOUND", f"no committed block at height {height}")
    return web.Response(body=raw, content_type=MSGPACK)


@routes.get("/v1/accounts/{address}")
async def get_account(request: web.Request) -> web.Response:
    ctx = request.app[NODE]
    account = _account(request.match_info["address"])
    prefix = credits.PREFIX_BALANCE + account
    balances = [
        {"class": key[len(prefix):].decode("ascii"), "amount": decode(value)}
        for key, value in ctx.store.state_items(prefix)
    ]
    return web.json_response({
        "address": to_address(account),
        "nonce": accounts.next_nonce(ctx.store.state, account),
        "pending_nonce": ctx.mempool.next_free_nonce(account),
        "balances": balances,
        "identity": _hex_or_none(identity_records.identity_of(ctx.store.state, account)),
    })


def _proof_class(request: web.Request) -> str:
    class_id = request.query.get("class")
    if not class_id:
        raise ApiError(400, "BAD_REQUEST", "say which credit class to prove: ?class=ID")
    if not credits.CLASS_ID.fullmatch(class_id):
        raise ApiError(404, "NOT_FOUND", f"no credit class '{shown(class_id)}'")
    return class_id


def render_balance_proof(proof: lightproof.BalanceProof) -> dict:
    """FORMAT.md §21: `proof` is what a wallet verifies; the other fields are for people reading along."""
    header = proof.header
    return {
        "address": to_address(proof.account),
        "class": proof.class_id,
        "amount": proof.amount,
        "height": header.height,
        "time_ms": header.time_ms,
        "block_hash": header.hash().hex(),
        "state_root": header.state_root.hex(),
        "validators_hash": header.validators_hash.hex(),
        "proof": proof.encode().hex(),
    }


@routes.get("/v1/accounts/{address}/proof")
async def get_account_proof(request: web.Request) -> web.Response:
    """A light proof of one balance against the head block's certified state root (issue 6)."""
    ctx = request.app[NODE]
    account = _account(request.match_info["address"])
    class_id = _proof_class(request)
    try:
        proof = balance_proof_at_head(ctx.store, account, class_id)
    except NoCommittedBlock as exc:
        raise ApiError(404, "NOT_FOUND", str(exc)) from None
    if proof is None:
        raise ApiError(404, "NOT_FOUND", f"no credit class '{shown(class_id)}'")
    return web.json_response(render_balance_proof(proof))


def _hex_or_none(value: bytes | None) -> str | None:
    return None if value is None else value.hex()


def _identity_id(text: str) -> bytes:
    if not re.fullmatch(rf"[0-9a-f]{{{2 * identity_records.ID_LEN}}}", text):
        raise ApiError(400, "BAD_REQUEST", f"an identity id is {2 * identity_records.ID_LEN} lower-case hex characters")
    return bytes.fromhex(text)


def render_identity(ctx: NodeContext, identity_id: bytes, record: identity_records.Identity) -> dict:
    head = ctx.store.head()
    prefix = identity_records.PREFIX_ATTESTATION + identity_id
    attestations = []
    for key, value in ctx.store.state_items(prefix):
        attestation = identity_records.Attestation(*decode(value))
        attestations.append({
            "attribute": key[len(prefix):].decode("ascii"),
            "attester": to_address(attestation.attester),
            "issued_height": attestation.issued_height,
            "expiry_height": attestation.expiry_height or None,
            "valid": attestation.holds_at(head.height + 1),
        })
    recovery = None
    if record.recovery is not None:
        recovery = {"new_key": to_address(record.recovery[0]), "due_height": record.recovery[1]}
    return {
        "id": identity_id.hex(),
        "kind": record.kind,
        "status": record.status,
        "registrar": to_address(record.registrar),
        "keys": [to_address(k) for k in record.keys],
        "created_height": record.created_height,
        "commitment": _hex_or_none(record.commitment),
        "tag": _hex_or_none(record.tag),
        "recovery": recovery,
        "attestations": attestations,
    }


@routes.get("/v1/identities/{id}")
async def get_identity(request: web.Request) -> web.Response:
    ctx = request.app[NODE]
    identity_id = _identity_id(request.match_info["id"])
    record = identity_records.get_identity(ctx.store.state, identity_id)
    if record is None:
        raise ApiError(404, "NOT_FOUND", f"no identity {identity_id.hex()}")
    return web.json_response(render_identity(ctx, identity_id, record))


def _history_query(request: web.Request) -> tuple[int, tuple[int, int] | None]:
    text = request.query.get("limit", str(DEFAULT_HISTORY_LIMIT))
    if not _HEIGHT.fullmatch(text) or not 1 <= int(text) <= MAX_HISTORY_LIMIT:
        raise ApiError(400, "BAD_REQUEST", f"limit is an integer from 1 to {MAX_HISTORY_LIMIT}")
    before = None
    if "before" in request.query:
        match = _CURSOR.fullmatch(request.query["before"])
        if match is None:
            raise ApiError(400, "BAD_REQUEST", "before is a cursor HEIGHT:INDEX as returned in 'next'")
        before = (int(match[1]), int(match[2]))
        if before[0] >= 2**63 or before[1] >= 2**32:
            raise ApiError(400, "BAD_REQUEST", "before is out of range")
    return int(text), before


@routes.get("/v1/accounts/{address}/txs")
async def get_account_txs(request: web.Request) -> web.Response:
    ctx = request.app[NODE]
    account = _account(request.match_info["address"])
    limit, before = _history_query(request)
    rows = ctx.store.history(account, before, limit + 1)
    txs = []
    for height, index, _tx_hash in rows[:limit]:
        block, _ = ctx.block(height)  # type: ignore[misc]
        raw = block.txs[index]
        tx = decode_tx(raw, len(raw))
        txs.append({
            "hash": tx.hash.hex(),
            "height": height,
            "index": index,
            "type": tx.type,
            "signer": to_address(tx.signer),
            "body": render_value(tx.body),
            "result": render_result(block.results[index]),
        })
    following = f"{rows[limit - 1][0]}:{rows[limit - 1][1]}" if len(rows) > limit else None
    return web.json_response({"txs": txs, "next": following})


def _render_class(class_id: str, credit_class: credits.CreditClass, head_time_ms: int) -> dict:
    """The whole class record: its rules, its books, and whether it has expired at the head block."""
    until = credit_class.valid_until_ms
    return {
        "id": class_id,
        "name": credit_class.name,
        "issuer": to_address(credit_class.issuer),
        "decimals": credit_class.decimals,
        "kind": credit_class.kind,
        "eligibility": list(credit_class.eligibility),
        "transferability": credit_class.transferability,
        "categories": list(credit_class.categories),
        "valid_from_ms": credit_class.valid_from_ms,
        "valid_until_ms": until or None,
        "holder_cap": credit_class.holder_cap,
        "budget": credit_class.budget or None,
        "description_hash": _hex_or_none(credit_class.description_hash),
        "issued": credit_class.issued,
        "redeemed": credit_class.redeemed,
        "reclaimed": credit_class.reclaimed,
        "supply": credit_class.supply,
        "expired": bool(until) and head_time_ms >= until,
    }


@routes.get("/v1/classes")
async def get_classes(request: web.Request) -> web.Response:
    ctx = request.app[NODE]
    prefix = credits.PREFIX_CLASS
    head_time = ctx.store.head().time_ms
    classes = [
        _render_class(key[len(prefix):].decode("ascii"), credits.decode_class(value), head_time)
        for key, value in ctx.store.state_items(prefix)
    ]
    return web.json_response({"classes": classes})


def _class_of(ctx: NodeContext, class_id: str) -> credits.CreditClass:
    found = credits.get_class(ctx.store.state, class_id) if credits.CLASS_ID.fullmatch(class_id) else None
    if found is None:
        raise ApiError(404, "NOT_FOUND", f"no credit class '{shown(class_id)}'")
    return found


@routes.get("/v1/classes/{id}")
async def get_class(request: web.Request) -> web.Response:
    ctx = request.app[NODE]
    class_id = request.match_info["id"]
    return web.json_response(_render_class(class_id, _class_of(ctx, class_id), ctx.store.head().time_ms))


@routes.get("/v1/classes/{id}/statement")
async def get_class_statement(request: web.Request) -> web.Response:
    """The issuer's statement: the books, what was spent per category, redeemed per provider."""
    ctx = request.app[NODE]
    class_id = request.match_info["id"]
    found = _class_of(ctx, class_id)
    spent_prefix = credit_rules.class_scope(credit_rules.PREFIX_SPENT, class_id)
    spent = [
        {"category": key[len(spent_prefix):].decode("ascii"), "amount": decode(value)}
        for key, value in ctx.store.state_items(spent_prefix)
    ]
    redeemed_prefix = credit_rules.class_scope(credit_rules.PREFIX_REDEEMED, class_id)
    redeemed_by = [
        {"provider": to_address(key[len(redeemed_prefix):]), "amount": decode(value)}
        for key, value in ctx.store.state_items(redeemed_prefix)
    ]
    return web.json_response({
        "class": _render_class(class_id, found, ctx.store.head().time_ms),
        "held": found.supply,
        "spent": spent,
        "redeemed_by": redeemed_by,
        "reclaimed": found.reclaimed,
    })


def _holders_query(request: web.Request) -> tuple[int, bytes | None]:
    text = request.query.get("limit", str(DEFAULT_HOLDERS_LIMIT))
    if not _HEIGHT.fullmatch(text) or not 1 <= int(text) <= MAX_HOLDERS_LIMIT:
        raise ApiError(400, "BAD_REQUEST", f"limit is an integer from 1 to {MAX_HOLDERS_LIMIT}")
    after = request.query.get("after")
    return int(text), None if after is None else _account(after)


@routes.get("/v1/classes/{id}/holders")
async def get_class_holders(request: web.Request) -> web.Response:
    """The holders with a balance in a class, by address bytes. There is no per-class index:
    this scans every `bal/` entry and keeps those of the class, so it costs the whole table."""
    ctx = request.app[NODE]
    class_id = request.match_info["id"]
    found = _class_of(ctx, class_id)
    limit, after = _holders_query(request)
    suffix = class_id.encode("ascii")
    start = len(credits.PREFIX_BALANCE)
    page: list[tuple[bytes, int]] = []
    for key, value in ctx.store.state_items(credits.PREFIX_BALANCE):
        holder, rest = key[start:start + PUBKEY_LEN], key[start + PUBKEY_LEN:]
        if rest != suffix or (after is not None and holder <= after):
            continue
        page.append((holder, decode(value)))
        if len(page) > limit:
            break
    holders = [
        {"address": to_address(holder), "amount": amount,
         "provider": credit_rules.is_provider_for(ctx.store.state, holder, found.issuer)}
        for holder, amount in page[:limit]
    ]
    following = to_address(page[limit - 1][0]) if len(page) > limit else None
    return web.json_response({"holders": holders, "next": following})


_EVIDENCE_CURSOR = re.compile(f"[0-9a-f]{{{2 * evidence.OFFENCE_LEN}}}")  # an evidence key after its prefix, hex


def _evidence_query(request: web.Request) -> tuple[int, bytes | None]:
    """Same paging as the history: limit 1..200 (default 50); `after` is the 'next' of the previous page."""
    text = request.query.get("limit", str(DEFAULT_HISTORY_LIMIT))
    if not _HEIGHT.fullmatch(text) or not 1 <= int(text) <= MAX_HISTORY_LIMIT:
        raise ApiError(400, "BAD_REQUEST", f"limit is an integer from 1 to {MAX_HISTORY_LIMIT}")
    after = request.query.get("after")
    if after is not None and not _EVIDENCE_CURSOR.fullmatch(after):
        raise ApiError(400, "BAD_REQUEST", "after is a cursor as returned in 'next'")
    return int(text), None if after is None else evidence.PREFIX_EVIDENCE + bytes.fromhex(after)


def _render_evidence(key: bytes, record: evidence.EvidenceRecord) -> dict:
    offence = evidence.offence_from_key(key)
    return {
        "validator": to_address(offence.validator),
        "height": offence.height,
        "round": offence.round,
        "type": evidence.VOTE_TYPE_NAMES[offence.type],
        "block_hash_a": None if record.vote_a.block_hash is None else record.vote_a.block_hash.hex(),
        "block_hash_b": None if record.vote_b.block_hash is None else record.vote_b.block_hash.hex(),
        "included_height": record.included_height,
        "reporter": to_address(record.reporter),
    }


@routes.get("/v1/evidence")
async def get_evidence(request: web.Request) -> web.Response:
    ctx = request.app[NODE]
    limit, after = _evidence_query(request)
    page: list[tuple[bytes, bytes]] = []
    for key, value in ctx.store.state_items(evidence.PREFIX_EVIDENCE):
        if after is not None and key <= after:
            continue  # evidence is rare: skipping in key order is cheap
        page.append((key, value))
        if len(page) > limit:
            break
    items = [_render_evidence(key, evidence.decode_record(value)) for key, value in page[:limit]]
    following = page[limit - 1][0][len(evidence.PREFIX_EVIDENCE):].hex() if len(page) > limit else None
    return web.json_response({"evidence": items, "next": following})


@routes.get("/metrics")
async def get_metrics(request: web.Request) -> web.Response:
    text = metrics.render(request.app[NODE], request.app.get(metrics.SOURCES, ()))
    return web.Response(text=text, content_type="text/plain", charset="utf-8",
                        headers={"X-Prometheus-Format": "0.0.4"})


@routes.get("/v1/openapi.json")
async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


# --- the error edge ------------------------------------------------------------------------


def _http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    status = exc.status
    code = _HTTP_CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL")
    if status == 404:
        message = f"no such resource: {shown(request.path)}"
    elif status == 405:
        message = f"method {shown(request.method)} is not allowed on {shown(request.path)}"
    elif status == 413:
        message = f"request body larger than {request.app[CONFIG].max_body_bytes} bytes"
    else:
        message = exc.reason
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    return _error_response(status, code, message, headers)


class BodyDeadline:
    """Ends the request (408 BODY_TIMEOUT) if its body has not all arrived `body_timeout_s` after its head.

    A timer on the loop: at the deadline, a body still arriving makes the
    request's own timeout fire at once, so the handler's read stops there.
    """

    def __init__(self, request: web.Request, scope: asyncio.Timeout, seconds: float):
        self.request = request
        self.scope = scope
        self.expired = False
        self._timer = asyncio.get_running_loop().call_later(seconds, self._check)

    def _check(self) -> None:
        if self.request.body_exists and not self.request.content.is_eof():
            self.expired = True
            self.scope.reschedule(asyncio.get_running_loop().time())

    def cancel(self) -> None:
        self._timer.cancel()


@dataclass
class EdgeCounters:
    """Requests the error middleware ended for their time; node/metrics.py shows them."""

    body_timeouts: int = 0
    request_timeouts: int = 0

    def metric_lines(self) -> list[str]:
        return [
            "# HELP incoop_api_body_timeouts_total Requests ended because their body did not arrive within api.body_timeout_s.",
            "# TYPE incoop_api_body_timeouts_total counter",
            f"incoop_api_body_timeouts_total {self.body_timeouts}",
            "# HELP incoop_api_request_timeouts_total Requests not answered within api.request_timeout_s.",
            "# TYPE incoop_api_request_timeouts_total counter",
            f"incoop_api_request_timeouts_total {self.request_timeouts}",
        ]


def error_middleware_for(timeout_s: float, body_timeout_s: float | None = None,
                         counters: EdgeCounters | None = None) -> Callable:
    counters = counters if counters is not None else EdgeCounters()

    @web.middleware
    async def error_middleware(request: web.Request, handler: Callable) -> web.StreamResponse:
        body_deadline: BodyDeadline | None = None
        try:
            async with asyncio.timeout(timeout_s) as scope:
                if body_timeout_s is not None and request.body_exists:
                    body_deadline = BodyDeadline(request, scope, body_timeout_s)
                try:
                    return await handler(request)
                finally:
                    if body_deadline is not None:
                        body_deadline.cancel()
        except ApiError as exc:
            return _error_response(exc.status, exc.code, exc.message)
        except TxError as exc:
            return _error_response(TX_STATUS.get(exc.code, 400), exc.code.name, exc.message)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _http_error(request, exc)
        except TimeoutError:
            if body_deadline is not None and body_deadline.expired:
                counters.body_timeouts += 1
                response = _error_response(408, "BODY_TIMEOUT",
                                           f"the request body did not arrive within {body_timeout_s:g} s of its headers")
                response.force_close()  # the rest of the body is not waited for
                return response
            counters.request_timeouts += 1
            return _error_response(503, "TIMEOUT", f"the request took longer than {timeout_s:g} s")
        except StoreFailure:  # the node stops on it (node/server.py); the caller asks another node
            return _error_response(503, "STORE_FAILED", "this node's store failed and the node is stopping")
        except Exception:
            log.exception("internal error on %s %s", shown(request.method), shown(request.path))
            return _error_response(500, "INTERNAL", "internal error (logged by the node)")

    return error_middleware


def create_app(config: ApiConfig, *contexts: Callable[[web.Application], AsyncIterator[None]]) -> web.Application:
    """The API application; `contexts` open and close the node's resources (store, consensus)."""
    counters = EdgeCounters()
    edge = error_middleware_for(config.request_timeout_s, config.body_timeout_s, counters)
    app = web.Application(client_max_size=config.max_body_bytes, middlewares=[edge])
    app[CONFIG] = config
    app[metrics.SOURCES] = [counters]  # the node adds its connections' and the vault's counters
    app.add_routes(routes)
    app.cleanup_ctx.extend(contexts)
    return app

