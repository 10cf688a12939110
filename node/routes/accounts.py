"""Accounts: next nonces and balances, committed history, and light proofs of a balance (FORMAT.md §21)."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, Field

from identity import records as identity_records
from ledger import accounts, credits, lightproof
from ledger.address import to_address
from ledger.block import Effect
from ledger.credit_ops import Movement
from ledger.encoding import decode
from ledger.store import decode_effect_entry
from ledger.tx import decode_tx
from node.balance_proofs import NoCommittedBlock, balance_proof_at_head
from node.routes.context import NODE
from node.routes.render import Result, Strict, hex_or_none, render_result, render_value
from node.routes.table import ApiError, Refuse, RouteTable, json_reply
from node.routes.types import (
    AddressParam,
    AddressText,
    Amount,
    ClassIdParam,
    ClassIdText,
    Count,
    HashText,
    Height,
    HexText,
    HistoryCursorParam,
    IdentityIdText,
    limit_param,
)

routes = RouteTable("accounts", "Accounts: nonces, balances, history, balance proofs")

MAX_HISTORY_LIMIT = 200
DEFAULT_HISTORY_LIMIT = 50


class Balance(Strict):
    class_: Annotated[ClassIdText, Field(alias="class")]
    amount: Amount


class Account(Strict):
    """An unknown account is nonce 0 and no balances."""

    address: AddressText
    nonce: Annotated[Count, Field(description="the next nonce after the committed transactions")]
    pending_nonce: Annotated[Count, Field(description="the next nonce after this node's pending transactions too: "
                                                      "the one a wallet should sign with")]
    balances: list[Balance]
    identity: Annotated[IdentityIdText | None, Field(description="the identity this account is bound to, if any")]


class HistoryTx(Strict):
    hash: HashText
    height: Height
    index: Count
    type: str
    signer: AddressText
    body: list
    result: Result


class EffectMove(Strict):
    """A credit movement of an end-of-block step that names the account (FORMAT.md §15)."""

    kind: Annotated[str, Field(description="release (paid to the payee out of escrow) or refund (back to the "
                                           "payer); FORMAT.md §6.3.2")]
    class_: Annotated[ClassIdText, Field(alias="class")]
    from_: Annotated[AddressText | None, Field(alias="from", description="null: out of an escrow lot")]
    to: Annotated[AddressText | None, Field(description="null: into an escrow lot")]
    amount: Amount
    reference: Annotated[str, Field(description="what it was for: 'order <id>', 'purchase group <id>'")]
    lot: Annotated[HashText | None, Field(description="the escrow lot it moved out of or into")]


class HistoryEffect(Strict):
    """An end-of-block effect that moved the account's credits: nobody signed it, a deadline did it (an order
    released to its provider or refunded, a purchase group settled or refunded; FORMAT.md §12.3, §15)."""

    height: Height
    index: Annotated[Count, Field(description="past the block's transactions: their number plus the effect's "
                                              "position in the block's effects")]
    type: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*\.end_block$", description="<module>.end_block")]
    module: str
    item: Annotated[HexText, Field(description="the module's id of what fell due (FORMAT.md §6.5.4, §6.6)")]
    result: Result
    moves: Annotated[list[EffectMove], Field(description="its movements that name the account, in order")]


class History(Strict):
    txs: Annotated[list[HistoryTx | HistoryEffect], Field(description=(
        "the account's transactions and the end-of-block effects that moved its credits, newest first"))]
    next: Annotated[str | None, Field(description="pass as `before` for the next page; null on the last")]


class BalanceProofJson(Strict):
    """`proof` is what a wallet verifies (`incoop wallet verify-balance`); the other fields only describe it."""

    address: AddressText
    class_: Annotated[ClassIdText, Field(alias="class")]
    amount: Annotated[Amount, Field(description="0 when the account holds none (proven absent)")]
    height: Annotated[Height, Field(description="the committed block the proof is against: the head")]
    time_ms: Count
    block_hash: HashText
    state_root: HashText
    validators_hash: HashText
    proof: Annotated[HexText, Field(description="the canonical bundle of FORMAT.md §21.1")]


class AddressPath(BaseModel):
    address: AddressParam


class HistoryQuery(BaseModel):
    limit: limit_param(MAX_HISTORY_LIMIT, DEFAULT_HISTORY_LIMIT) = DEFAULT_HISTORY_LIMIT  # type: ignore[valid-type]
    before: HistoryCursorParam | None = None


class ProofQuery(BaseModel):
    class_: Annotated[ClassIdParam, Field(alias="class")]


@routes.get("/v1/accounts/{address}", summary="An account's next nonces, balances and identity",
            path_params=AddressPath, replies=[json_reply(Account, "the account")])
async def get_account(request: web.Request, path: AddressPath) -> web.Response:
    ctx = request.app[NODE]
    account = path.address
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
        "identity": hex_or_none(identity_records.identity_of(ctx.store.state, account)),
    })


def render_history_effect(height: int, index: int, effect: Effect, moves: list[Movement]) -> dict:
    return {
        "height": height,
        "index": index,
        "type": f"{effect.module}.end_block",
        "module": effect.module,
        "item": effect.item.hex(),
        "result": render_result(effect.code),
        "moves": [{
            "kind": m.kind,
            "class": m.class_id,
            "from": None if m.sender is None else to_address(m.sender),
            "to": None if m.receiver is None else to_address(m.receiver),
            "amount": m.amount,
            "reference": m.reference,
            "lot": hex_or_none(m.lot),
        } for m in moves],
    }


@routes.get("/v1/accounts/{address}/txs",
            summary="An account's committed transactions, newest first",
            description="With them, as entries of type `<module>.end_block`, the end-of-block effects that moved "
                        "the account's credits (a payout at an order's deadline, a purchase group settled): "
                        "FORMAT.md §15.",
            path_params=AddressPath, query=HistoryQuery, replies=[json_reply(History, "one page")])
async def get_account_txs(request: web.Request, path: AddressPath, query: HistoryQuery) -> web.Response:
    ctx = request.app[NODE]
    limit = query.limit
    rows = ctx.store.history(path.address, query.before, limit + 1)
    txs = []
    for height, index, value in rows[:limit]:
        block, _ = ctx.block(height)  # type: ignore[misc]
        if index >= len(block.txs):  # an end-of-block effect: its movements are the entry's value
            effect = block.effects[index - len(block.txs)]
            txs.append(render_history_effect(height, index, effect, decode_effect_entry(value)))
            continue
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


@routes.get("/v1/accounts/{address}/proof",
            summary="A light proof of an account's balance in a class, against the head block's certified state root",
            description="Read from one snapshot of the store. An account without credits in the class gets "
                        "amount 0 and a proof of absence.",
            path_params=AddressPath, query=ProofQuery, replies=[json_reply(BalanceProofJson, "the balance and its proof")],
            refusals=[Refuse(404, ["NOT_FOUND"], "no such class, or no block committed yet")])
async def get_account_proof(request: web.Request, path: AddressPath, query: ProofQuery) -> web.Response:
    ctx = request.app[NODE]
    try:
        proof = balance_proof_at_head(ctx.store, path.address, query.class_)
    except NoCommittedBlock as exc:
        raise ApiError(404, "NOT_FOUND", str(exc)) from None
    if proof is None:
        raise ApiError(404, "NOT_FOUND", f"no credit class '{query.class_}'")
    return web.json_response(render_balance_proof(proof))
