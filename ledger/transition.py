"""The state transition: a pure function of (state, block).

    apply_block(rules, state, tree, head, block)  ->  BlockOutcome
    build_block(rules, state, tree, head, ...)    ->  (Block, BlockOutcome, rejected)

No clock, no randomness, no floats, no unsorted iteration: the same blocks give
the same state root on every machine. The node, the auditor and the tests all
call these two functions, with the chain's rules (the module list,
ledger/rules.py) passed in; a consensus engine can drive them as check-tx /
execute-block / commit.

After the transactions comes the end-of-block step (ledger/deadlines.py):
each module's due work, in module order, recorded as the block's effects.

A transaction in a block must pass the envelope checks (size, chain, expiry,
a signer the chain knows, nonce, body shape, signature: FORMAT.md §8.1); a
block holding one that does not is invalid. That the signer is known (has an
`acct/` record) is a chain rule, not only mempool policy, so that no proposer
can write a stranger's transaction to the permanent chain.
Execution may still fail (insufficient balance, not the issuer, ...): the
failure is recorded as the transaction's result code, its writes are dropped,
and its nonce is consumed all the same.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from concurrent.futures import Executor
from typing import Any, NamedTuple

from ledger import accounts, chain
from ledger.block import BLOCK_VERSION, Block, Effect, Header, results_root, tx_root_of_hashes
from ledger.crypto import sha256
from ledger.deadlines import run_end_block
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext
from ledger.merkle import StateTree
from ledger.rules import ChainRules
from ledger.sigbatch import EitherVerified, verified_hashes
from ledger.state import Overlay, StateReader
from ledger.tx import Tx, decode_tx, too_large


class ChainHead(NamedTuple):
    """The last committed block as the next one needs it (height 0 is genesis)."""

    height: int
    block_hash: bytes
    state_root: bytes
    time_ms: int


class BlockInvalid(ValueError):
    """The block breaks a validity rule; nothing of it may be committed."""


class BlockOutcome(NamedTuple):
    state_changes: dict[bytes, bytes | None]
    tree_writes: dict[bytes, bytes | None]
    state_root: bytes
    txs: tuple[Tx, ...]
    results: tuple[int, ...]
    parties: tuple[tuple[bytes, ...], ...]  # per tx, the accounts it concerns besides its signer
    effects: tuple[Effect, ...] = ()  # the end-of-block step's, in order
    moves: tuple[tuple[Any, ...], ...] = ()  # credit_ops.Movements per tx, then per effect


def check_envelope(
    rules: ChainRules,
    state: StateReader,
    tx: Tx,
    chain_id: str,
    height: int,
    verified: Container[bytes] = (),
    params: chain.ChainParams | None = None,
) -> Any:
    """Admission rules; returns the parsed body or raises TxError with a code >= 100."""
    params = params or chain.get_params(state)
    if len(tx.raw) > params.max_tx_bytes:
        raise TxError(Code.TOO_LARGE)
    if tx.chain_id != chain_id:
        raise TxError(Code.WRONG_CHAIN, f"transaction is for chain {tx.chain_id!r}, this is {chain_id!r}")
    if tx.expiry < height:
        raise TxError(Code.EXPIRED, f"transaction expired at height {tx.expiry}")
    expected = accounts.known_nonce(state, tx.signer)
    if expected is None:
        raise TxError(Code.UNKNOWN_SIGNER)
    if tx.nonce != expected:
        code = Code.BAD_NONCE if tx.nonce < expected else Code.NONCE_TOO_FAR
        raise TxError(code, f"nonce {tx.nonce}, the account's next nonce is {expected}")
    body = rules.tx_type(tx.type).parse(tx.body)
    if tx.hash not in verified and not tx.signature_ok():
        raise TxError(Code.BAD_SIGNATURE)
    return body


def execute_tx(rules: ChainRules, state: Overlay, tx: Tx, body: Any, chain_id: str, height: int, time_ms: int,
               moves: list[Any] | None = None) -> Code:
    """Run one admitted transaction; returns its result code (never raises TxError).

    On success the credit movements it made are appended to `moves`; a failed one made none.
    """
    accounts.consume_nonce(state, tx.signer, tx.nonce)
    scratch = state.child()
    made: list[Any] = []
    try:
        rules.tx_type(tx.type).execute(ExecContext(scratch, chain_id, height, time_ms, tx.signer, rules, made), body)
    except TxError as exc:
        return exc.code
    scratch.merge_into_parent()
    if moves is not None:
        moves += made
    return Code.OK


def check_tx(rules: ChainRules, state: Overlay, tx: Tx, body: Any, chain_id: str, height: int, time_ms: int) -> Code:
    """`execute_tx` for a caller that drops all of `state` when the result is not OK (a mempool's
    check-tx, on a layer of its own): the same rules and writes, without the scratch layer."""
    accounts.consume_nonce(state, tx.signer, tx.nonce)
    try:
        rules.tx_type(tx.type).execute(ExecContext(state, chain_id, height, time_ms, tx.signer, rules, []), body)
    except TxError as exc:
        return exc.code
    return Code.OK


def end_block(rules: ChainRules, state: Overlay, chain_id: str, height: int, time_ms: int,
              params: chain.ChainParams) -> tuple[list[Effect], list[tuple[Any, ...]]]:
    """The end-of-block step (FORMAT.md §12.3): the effects, and the movements each made."""
    done = run_end_block(rules, state, chain_id, height, time_ms, params.max_due_per_block)
    return [effect for effect, _ in done], [moves for _, moves in done]


def _finish(
    tree: StateTree, overlay: Overlay, txs: list[Tx], results: list[int], parties: list[tuple[bytes, ...]],
    effects: list[Effect], moves: list[tuple[Any, ...]],
) -> BlockOutcome:
    changes = overlay.changes()
    # it orders them by path itself; the committed values let it recognise the changed keys' leaves unread
    root, tree_writes = tree.update(changes.items(), overlay.base.get)
    return BlockOutcome(changes, tree_writes, root, tuple(txs), tuple(results), tuple(parties), tuple(effects),
                        tuple(moves))


def _check_header(state: StateReader, head: ChainHead, header: Header, chain_id: str) -> None:
    if header.version != BLOCK_VERSION:
        raise BlockInvalid(f"unsupported block version {header.version}")
    if header.chain_id != chain_id:
        raise BlockInvalid(f"block is for chain {header.chain_id!r}")
    if header.height != head.height + 1:
        raise BlockInvalid(f"height {header.height}, expected {head.height + 1}")
    if header.prev_hash != head.block_hash:
        raise BlockInvalid(f"block {header.height} does not extend the last committed block")
    if header.time_ms <= head.time_ms:
        raise BlockInvalid(f"block {header.height} time is not after its parent's")
    validators = chain.get_validators(state)
    if header.validators_hash != chain.validators_hash(validators):
        raise BlockInvalid(f"block {header.height} names another validator set")
    if header.proposer not in validators:
        raise BlockInvalid(f"block {header.height} proposer is not a validator")


def _decode_all(raws: tuple[bytes, ...], max_tx_bytes: int) -> list[Tx | TxError]:
    """Each transaction of a block decoded, or the error that makes the block invalid at its turn."""
    decoded: list[Tx | TxError] = []
    for raw in raws:
        try:
            decoded.append(decode_tx(raw, max_tx_bytes))
        except TxError as exc:
            decoded.append(exc)
    return decoded


def _within_size(raws: tuple[bytes, ...], decoded: Sequence[Tx | TxError], max_tx_bytes: int) -> list[Tx | TxError]:
    """A caller's decode of the block's transactions, with the size rule of `decode_tx(raw, max_tx_bytes)`:
    that is the only way its outcome depends on the bound (FORMAT.md §8.1 (2))."""
    if len(decoded) != len(raws):
        raise ValueError(f"{len(decoded)} decoded transactions for a block of {len(raws)}")
    return [too_large(len(raw), max_tx_bytes) if len(raw) > max_tx_bytes else item
            for raw, item in zip(raws, decoded, strict=True)]


def _wire_hash(item: Tx | TxError, raw: bytes) -> bytes:
    """SHA-256 of a transaction's wire bytes, as `tx_root` takes it: decode_tx has taken it already."""
    return item.hash if isinstance(item, Tx) else sha256(raw)


def apply_block(
    rules: ChainRules,
    state: StateReader,
    tree: StateTree,
    head: ChainHead,
    block: Block,
    chain_id: str,
    verified: Container[bytes] = (),
    executor: Executor | None = None,
    decoded: Sequence[Tx | TxError] | None = None,
) -> BlockOutcome:
    """Validate and execute a block on the committed state; raises BlockInvalid.

    `verified` holds hashes of transactions whose signatures the caller has
    already verified (the mempool's, or an auditor's bulk check); it is only
    asked `in`, once per transaction. With an `executor`, the signatures of the
    others are verified up front in its threads rather than one by one in the
    loop; a signature that fails there is checked again at its turn, so the
    block fails with the same first error as without.

    `decoded`, if given, is the caller's `decode_tx(raw, bound)` of each of
    `block.txs` in order, the Tx or the TxError it raised, under any bound at
    least the chain's largest `max_tx_bytes` (the auditor decodes in worker
    processes ahead of the replay, node/audit/checks.py): the size rule of the
    parameters in force is applied here, so the outcome is the one of decoding
    here.
    """
    header = block.header
    _check_header(state, head, header, chain_id)
    params = chain.get_params(state)
    if len(block.txs) > params.max_block_txs:
        raise BlockInvalid(f"block {header.height} holds more than {params.max_block_txs} transactions")
    if sum(len(raw) for raw in block.txs) > params.max_block_bytes:
        raise BlockInvalid(f"block {header.height} transactions exceed {params.max_block_bytes} bytes")
    if decoded is None:
        decoded = _decode_all(block.txs, params.max_tx_bytes)
    else:
        decoded = _within_size(block.txs, decoded, params.max_tx_bytes)
    if header.tx_root != tx_root_of_hashes([_wire_hash(item, raw) for item, raw in zip(decoded, block.txs, strict=True)]):
        raise BlockInvalid(f"block {header.height} transaction root does not match its transactions")
    if executor is not None:
        unchecked = [tx for tx in decoded if isinstance(tx, Tx) and tx.hash not in verified]
        verified = EitherVerified(verified, verified_hashes(unchecked, executor))
    overlay = Overlay(state)
    txs: list[Tx] = []
    results: list[int] = []
    parties: list[tuple[bytes, ...]] = []
    moves: list[tuple[Any, ...]] = []
    for index, tx in enumerate(decoded):
        try:
            if isinstance(tx, TxError):  # undecodable: invalid at its turn, as if decoded there
                raise tx
            body = check_envelope(rules, overlay, tx, chain_id, header.height, verified, params)
        except TxError as exc:
            raise BlockInvalid(f"block {header.height} transaction {index}: {exc.message}") from exc
        txs.append(tx)
        tx_type = rules.tx_type(tx.type)
        parties.append(tx_type.parties(body))
        made: list[Any] = []
        results.append(int(execute_tx(rules, overlay, tx, body, chain_id, header.height, header.time_ms, made)))
        moves.append(tuple(made))
    if tuple(results) != tuple(block.results):
        raise BlockInvalid(f"block {header.height} results differ from re-execution")
    effects, end_moves = end_block(rules, overlay, chain_id, header.height, header.time_ms, params)
    moves += end_moves
    if tuple(effects) != tuple(block.effects):
        raise BlockInvalid(f"block {header.height} end-of-block effects differ from re-execution")
    if header.results_root != results_root(results, effects):
        raise BlockInvalid(f"block {header.height} results root does not match")
    outcome = _finish(tree, overlay, txs, results, parties, effects, moves)
    if outcome.state_root != header.state_root:
        raise BlockInvalid(f"block {header.height} state root differs from re-execution")
    return outcome


def build_block(
    rules: ChainRules,
    state: StateReader,
    tree: StateTree,
    head: ChainHead,
    chain_id: str,
    proposer: bytes,
    time_ms: int,
    candidates: Iterable[Tx],
    verified: Container[bytes] = (),
) -> tuple[Block, BlockOutcome, list[tuple[Tx, TxError]]]:
    """Make the next block from candidate transactions, in their order.

    Candidates that fail the envelope checks on the state as it stands at their
    turn are left out and returned as `rejected`, for the mempool to drop.
    """
    height = head.height + 1
    time_ms = max(time_ms, head.time_ms + 1)
    params = chain.get_params(state)
    overlay = Overlay(state)
    txs: list[Tx] = []
    results: list[int] = []
    parties: list[tuple[bytes, ...]] = []
    rejected: list[tuple[Tx, TxError]] = []
    moves: list[tuple[Any, ...]] = []
    size = 0
    for tx in candidates:
        if len(txs) >= params.max_block_txs or size + len(tx.raw) > params.max_block_bytes:
            break
        try:
            body = check_envelope(rules, overlay, tx, chain_id, height, verified, params)
        except TxError as exc:
            rejected.append((tx, exc))
            continue
        txs.append(tx)
        parties.append(rules.tx_type(tx.type).parties(body))
        size += len(tx.raw)
        made: list[Any] = []
        results.append(int(execute_tx(rules, overlay, tx, body, chain_id, height, time_ms, made)))
        moves.append(tuple(made))
    effects, end_moves = end_block(rules, overlay, chain_id, height, time_ms, params)
    moves += end_moves
    outcome = _finish(tree, overlay, txs, results, parties, effects, moves)
    raws = tuple(tx.raw for tx in txs)
    header = Header(
        BLOCK_VERSION,
        chain_id,
        height,
        time_ms,
        head.block_hash,
        tx_root_of_hashes([tx.hash for tx in txs]),
        results_root(results, effects),
        outcome.state_root,
        proposer,
        chain.validators_hash(chain.get_validators(state)),
    )
    return Block(header, raws, tuple(results), tuple(effects)), outcome, rejected

