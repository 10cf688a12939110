"""Verify a chain from genesis, trusting only the genesis document (FORMAT.md §17).

    verify_chain(rules, genesis, source, workers=None, progress=None) -> AuditReport   (or raises AuditFailure)

Per block, in this order (the first broken rule is the one reported):

    missing       the source has the block
    decode        the raw block is canonical [block, certificate] (§12.1, §13.1)
    height        it is the next height
    prev_hash     it links to the previous block's hash (block 1: the genesis hash)
    time          its time is after its parent's (block 1: after genesis time)
    chain_id      it is for the genesis's chain
    tx_root       the header commits to exactly these transactions (§11)
    tx_signature  every transaction decodes and its signature is valid (§4.2, §6.1)
    certificate   a quorum of distinct validators of the set before the block
                  precommitted this block hash with valid signatures (§13.1)
    execution     re-executing it from the replayed state gives its results,
                  results root and state root (§12.2; evidence included, §13.3)

then at the end: the source's head is the last verified block; the global
invariants of §9 hold in the replayed state (books, balances, identities,
evidence records); and for a data directory, its stored state, state tree and
indexes equal the replayed ones entry by entry.

The pipeline keeps the serial part to what must be serial, `apply_block` and
the scratch store's write: blocks ahead of it are decoded, their transactions
decoded and their transaction and certificate signatures verified in worker
processes (node/audit/pipeline.py), within a bounded window of blocks and raw
bytes, so the chain is streamed and never held whole; the replay takes the
decoded transactions and never decodes them again. The replay goes into a
scratch LevelDB store in a temporary directory, deleted afterwards.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

from genesis.document import Genesis
from ledger import chain
from ledger.address import to_address
from ledger.block import Block, Certificate, verify_precommit
from ledger.invariants import InvariantBroken
from ledger.rules import ChainRules
from ledger.store import Store
from ledger.transition import BlockInvalid, ChainHead, apply_block
from node.audit.pipeline import (
    Prepared,
    WorkerError,
    check_certificate,
    default_workers,
    open_pipeline,
)
from node.audit.source import ChainSource, DataDirSource, SourceError
from node.audit.stored import compare_stores


@dataclass(frozen=True)
class AuditReport:
    """What was verified, and how fast."""

    source: str
    genesis_hash: str
    height: int
    blocks: int
    txs: int
    seconds: float
    tx_per_s: float
    threads: int  # verification worker processes (the name is kept for scripts that read --json)
    head_hash: str
    state_root: str
    classes: int
    identities: int
    evidence: int
    invariants: dict[str, int]  # records each module's invariants checked, by module
    stored_state_compared: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class AuditFailure(Exception):
    """The chain breaks a rule: where (height, transaction or signer) and which check."""

    def __init__(self, check: str, message: str, height: int | None = None, tx_index: int | None = None,
                 tx_hash: bytes | None = None, signer: bytes | None = None):
        super().__init__(message)
        self.check = check
        self.message = message
        self.height = height
        self.tx_index = tx_index
        self.tx_hash = tx_hash
        self.signer = signer

    def where(self) -> str:
        """'block 12, transaction 3 (hash 1a2b…, signer ic…)' or as much of it as applies."""
        parts = []
        if self.height is not None:
            parts.append(f"block {self.height}" if self.height > 0 else "genesis")
        detail = []
        if self.tx_hash is not None:
            detail.append(f"hash {self.tx_hash.hex()}")
        if self.signer is not None:
            detail.append(f"signer {to_address(self.signer)}")
        if self.tx_index is not None:
            parts.append(f"transaction {self.tx_index}" + (f" ({', '.join(detail)})" if detail else ""))
        elif detail:
            parts.append(", ".join(detail))
        return ", ".join(parts) or "the end of the chain"

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "message": self.message,
            "height": self.height,
            "tx_index": self.tx_index,
            "tx_hash": None if self.tx_hash is None else self.tx_hash.hex(),
            "signer": None if self.signer is None else to_address(self.signer),
        }

    def __str__(self) -> str:
        return f"audit failed at {self.where()}: {self.message} [{self.check}]"


class Progress(NamedTuple):
    height: int
    target: int
    txs: int
    seconds: float


# --- the serial part: rules that need the replayed chain, then execution -----------------------


def _check_links(prepared: Prepared, head: ChainHead, chain_id: str) -> Block:
    height = head.height + 1
    if prepared.missing:
        raise AuditFailure("missing", "the source has no block at this height", height)
    if prepared.decode_error is not None:
        raise AuditFailure("decode", f"the raw block does not decode: {prepared.decode_error}", height)
    block = prepared.block
    header = block.header
    if header.height != height:
        raise AuditFailure("height", f"the block at this place says height {header.height}", height)
    if header.prev_hash != head.block_hash:
        parent = "the genesis hash" if head.height == 0 else f"the hash of block {head.height}"
        raise AuditFailure("prev_hash", f"prev_hash {header.prev_hash.hex()} is not {parent} {head.block_hash.hex()}",
                           height)
    if header.time_ms <= head.time_ms:
        raise AuditFailure("time", f"time {header.time_ms} ms is not after its parent's {head.time_ms} ms", height)
    if header.chain_id != chain_id:
        raise AuditFailure("chain_id", f"the block is for chain {header.chain_id!r}, the genesis is {chain_id!r}", height)
    if header.tx_root != prepared.tx_root:
        raise AuditFailure("tx_root", "the header's tx_root does not match the block's transactions "
                                      f"(header {header.tx_root.hex()}, computed {prepared.tx_root.hex()})", height)
    return block


def _check_signatures(prepared: Prepared, height: int) -> None:
    """Raises on the first transaction that does not decode or whose signature does not verify."""
    check = prepared.tx_problem
    if check is not None:
        kind = "tx_signature" if check.tx_hash is not None else "decode"
        raise AuditFailure(kind, check.problem, height, check.index, check.tx_hash, check.signer)


def _failing_signer(certificate: Certificate, chain_id: str, validators: tuple[bytes, ...], height: int,
                    block_hash: bytes) -> bytes | None:
    """Which certificate entry broke the rule (for the report; the rule itself is ledger.block's)."""
    if certificate.height != height or certificate.block_hash != block_hash:
        return None  # a certificate of another block: no one signer is at fault
    members = set(validators)
    previous = b""
    for validator, signature in certificate.signatures:
        if validator <= previous or validator not in members:
            return validator
        previous = validator
        if not verify_precommit(chain_id, validator, height, certificate.round, block_hash, signature):
            return validator
    return None


def _check_certificate_of(prepared: Prepared, validators: tuple[bytes, ...], chain_id: str) -> None:
    block, certificate = prepared.block, prepared.certificate
    height, block_hash = block.header.height, block.hash()
    if validators == prepared.validators:
        problem = prepared.certificate_problem
    else:  # the set changed after this block was verified ahead: check it again against the right one
        problem = check_certificate(certificate, chain_id, validators, height, block_hash)
    if problem is not None:
        signer = _failing_signer(certificate, chain_id, validators, height, block_hash)
        raise AuditFailure("certificate", f"{problem} ({len(validators)} validators at this height)", height,
                           signer=signer)


def verify_chain(
    rules: ChainRules,
    genesis: Genesis,
    source: ChainSource,
    *,
    workers: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    scratch_dir: str | Path | None = None,
) -> AuditReport:
    """Verify every block of `source` from `genesis`, then the invariants.

    Raises AuditFailure (the chain breaks a rule), SourceError (it cannot be
    read) or WorkerError (a verification worker process died or failed).
    `workers`: verification worker processes; by default one per core, or none for a chain of fewer than
    INLINE_BELOW_BLOCKS blocks (node/audit/pipeline.py `open_pipeline`).
    """
    started = time.monotonic()
    chain_id = genesis.chain_id
    genesis_hash = genesis.hash()
    claimed_genesis = source.genesis_hash()
    if claimed_genesis != genesis_hash:
        raise AuditFailure("genesis", f"the source follows genesis {claimed_genesis.hex()}, the trusted genesis is "
                                      f"{genesis_hash.hex()}", 0)
    claimed_head = source.head()
    target = claimed_head.height
    scratch = Path(tempfile.mkdtemp(prefix="incoop-audit-replay-", dir=scratch_dir))
    try:
        with Store(scratch / "db", create=True, sync=False) as replay:
            head = replay.init_genesis(genesis_hash, genesis.initial_state(), genesis.genesis_time_ms)
            txs = 0
            with open_pipeline(chain_id, source.raw_blocks(1, target), chain.get_validators(replay.state),
                               workers, target) as pipeline:
                used = pipeline.workers
                for _ in range(target):
                    head, count = _verify_block(rules, pipeline.next(), head, replay, chain_id)
                    pipeline.validators = chain.get_validators(replay.state)
                    txs += count
                    if progress is not None:
                        progress(Progress(head.height, target, txs, time.monotonic() - started))
            _check_head(claimed_head, head)
            checked = _check_invariants(rules, replay, chain_id, head.height)
            compared = isinstance(source, DataDirSource)
            if compared:
                with source.reading():
                    difference = compare_stores(source.store, replay)
                if difference is not None:
                    raise AuditFailure(difference.check, difference.describe(), head.height)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    seconds = time.monotonic() - started
    return AuditReport(
        source=source.description, genesis_hash=genesis_hash.hex(), height=head.height, blocks=head.height, txs=txs,
        seconds=round(seconds, 3), tx_per_s=round(txs / seconds, 1) if seconds > 0 else 0.0, threads=used,
        head_hash=head.block_hash.hex(), state_root=head.state_root.hex(), classes=checked.get("credits", 0),
        identities=checked.get("identity", 0), evidence=checked.get("evidence", 0), invariants=checked,
        stored_state_compared=compared,
    )


def _verify_block(rules: ChainRules, prepared: Prepared, head: ChainHead, replay: Store,
                  chain_id: str) -> tuple[ChainHead, int]:
    block = _check_links(prepared, head, chain_id)
    height = block.header.height
    _check_signatures(prepared, height)
    _check_certificate_of(prepared, chain.get_validators(replay.state), chain_id)
    try:
        outcome = apply_block(rules, replay.state, replay.tree, head, block, chain_id, prepared.verified,
                              decoded=prepared.txs)
    except BlockInvalid as exc:
        raise AuditFailure("execution", str(exc), height) from None
    return replay.commit_block(block, prepared.certificate, outcome), len(block.txs)


def _check_head(claimed: ChainHead, head: ChainHead) -> None:
    """FORMAT.md §17 (5): height, block hash, state root and block time, all four."""
    if claimed != head:
        raise AuditFailure("head", f"the source's head (height {claimed.height}, hash {claimed.block_hash.hex()}, "
                                   f"state root {claimed.state_root.hex()}, time {claimed.time_ms} ms) is not the last "
                                   f"verified block (hash {head.block_hash.hex()}, state root {head.state_root.hex()}, "
                                   f"time {head.time_ms} ms)", head.height)


def _check_invariants(rules: ChainRules, replay: Store, chain_id: str, height: int) -> dict[str, int]:
    """Every module's invariants, in module order (ledger/rules.py): what each checked, by module."""
    checked: dict[str, int] = {}
    try:
        for module in rules.modules:
            if module.invariants is not None:
                checked[module.name] = module.invariants(replay.state, replay.state_items, chain_id, height)
    except InvariantBroken as exc:
        raise AuditFailure(exc.check, exc.message, height, signer=exc.account) from None
    return checked


__all__ = ["AuditFailure", "AuditReport", "Progress", "SourceError", "WorkerError", "default_workers", "verify_chain"]
