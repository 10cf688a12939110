"""Statements: every credit movement of a class, an issuer or an account, read off a replayed chain.

Why a replay rather than reading transaction bodies. A body says what its
signer asked for; the chain decides what happened. Most bodies carry their
amount, but a `credits.reclaim` does not (it takes each listed holder's whole
balance at that moment), a failed transaction moves nothing although its body
names an amount, and an end-of-block step (an escrow released at its
deadline) has no body at all. So the exporter replays the chain from genesis
into a scratch store with the same `apply_block` the node runs (checking
every block, state root and commit certificate on the way), and takes the
movements the checked credit operations reported while executing each
transaction and each end-of-block item (ledger/credit_ops.py). They must
account for exactly the block's `bal/` changes, or the export stops with an
error rather than print a statement the chain does not bear out.

A movement is one debit and one credit of the same amount of one class; the
mint side of an issue and the burn side of a redeem or reclaim have no
account (FORMAT.md §6.3: issue is the only way in, redeem and reclaim the only
ways out), and credits locked into, released from or refunded from an escrow
lot have the lot on the other side (`escrow:<lot hex>` in a row). An issue
signed by a delegated operator moves the class issuer's books like any other
issue: the class and its issuer are what select it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from cli.common import format_amount
from genesis.document import Genesis
from ledger import chain, credits
from ledger.address import to_address
from ledger.block import Block
from ledger.encoding import decode
from ledger.rules import ChainRules
from ledger.state import Overlay, StateReader
from ledger.store import Store
from ledger.transition import BlockInvalid, BlockOutcome, apply_block
from node.audit.pipeline import InlinePipeline, Pipeline, Prepared, check_certificate, open_pipeline
from node.audit.source import ChainSource

COLUMNS = ("height", "time", "tx_hash", "type", "from", "to", "class", "amount", "amount_minor", "reference")
"""The statement's columns, in order: `amount` in the class's units as the commands read them
("12.50"), `amount_minor` the exact integer of base units (1250)."""

DAY_MS = 86_400_000
MAX_ISO_TIME_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last time ISO 8601's four-digit year can write


class ExportError(RuntimeError):
    """The chain cannot be exported: unreadable, invalid, or not the chain of this genesis."""


class Movement(NamedTuple):
    """One debit and one credit of the same amount of one class; None is the mint or burn side."""

    height: int
    time_ms: int
    tx_index: int
    tx_hash: bytes
    type: str
    sender: bytes | None
    receiver: bytes | None
    class_id: str
    amount: int
    reference: str
    decimals: int  # of the class: how `amount` (base units) is written in the class's units
    lot: bytes | None = None  # the escrow lot on the side that has no account, if any

    def row(self) -> dict[str, str | int]:
        """The CSV row: addresses in their text form, time in ISO 8601 UTC with milliseconds."""
        return {
            "height": self.height,
            "time": iso_time(self.time_ms),
            "tx_hash": self.tx_hash.hex(),
            "type": self.type,
            "from": self._party(self.sender),
            "to": self._party(self.receiver),
            "class": self.class_id,
            "amount": format_amount(self.amount, self.decimals),
            "amount_minor": self.amount,
            "reference": self.reference,
        }

    def _party(self, account: bytes | None) -> str:
        if account is not None:
            return to_address(account)
        return "" if self.lot is None else f"escrow:{self.lot.hex()}"


def iso_time(time_ms: int) -> str:
    """2026-11-27T14:24:46.123Z: integer arithmetic, no float seconds that could round a millisecond."""
    seconds = datetime.fromtimestamp(time_ms // 1000, UTC)
    return seconds.strftime("%Y-%m-%dT%H:%M:%S") + f".{time_ms % 1000:03d}Z"


def day_start_ms(text: str) -> int:
    """Midnight UTC of a YYYY-MM-DD day, in ms; ValueError for anything else."""
    day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    return int(day.timestamp()) * 1000


class Selection(NamedTuple):
    """Which movements a statement holds: all filters given must match."""

    class_id: str | None = None
    issuer: bytes | None = None  # movements of the classes this account issues
    account: bytes | None = None  # movements from or to this account
    from_height: int = 1
    to_height: int | None = None  # None: the source's head
    since_ms: int | None = None  # block time, inclusive
    until_ms: int | None = None  # block time, exclusive

    def block_in_range(self, height: int, time_ms: int) -> bool:
        if height < self.from_height or (self.to_height is not None and height > self.to_height):
            return False
        if self.since_ms is not None and time_ms < self.since_ms:
            return False
        return self.until_ms is None or time_ms < self.until_ms

    def wants(self, movement: Movement, class_issuer: bytes) -> bool:
        if self.class_id is not None and movement.class_id != self.class_id:
            return False
        if self.issuer is not None and class_issuer != self.issuer:
            return False
        return self.account is None or self.account in (movement.sender, movement.receiver)


# --- holding movements to the chain's balance changes ------------------------------------------

Deltas = dict[tuple[bytes, str], int]
"""(holder, class_id) -> a balance change (never 0)."""


def balance_deltas(before: StateReader, writes: dict[bytes, bytes | None]) -> Deltas:
    """The `bal/` changes of `writes` against the state `before` them (FORMAT.md §9 key layout)."""
    deltas: Deltas = {}
    prefix = credits.PREFIX_BALANCE
    for key, value in writes.items():
        if not key.startswith(prefix):
            continue
        old = before.get(key)
        change = (0 if value is None else decode(value)) - (0 if old is None else decode(old))
        if change:
            deltas[(key[len(prefix):len(prefix) + 32], key[len(prefix) + 32:].decode("ascii"))] = change
    return deltas


def net_of(movements: list[Any]) -> Deltas:
    """What the movements add up to per (account, class); a lot's side has no account."""
    net: Deltas = {}
    for m in movements:
        for account, sign in ((m.sender, -1), (m.receiver, 1)):
            if account is not None:
                net[(account, m.class_id)] = net.get((account, m.class_id), 0) + sign * m.amount
    return {k: v for k, v in net.items() if v}


# --- the replay -----------------------------------------------------------------------------------


class ChainReplay:
    """A scratch store that follows a chain from its genesis, block by block, checking each.

    The store is private and deleted on close; `Store(sync=False)` because a
    crash of the auditor loses nothing a rerun does not rebuild.
    """

    def __init__(self, rules: ChainRules, genesis: Genesis):
        self.rules = rules
        self.chain_id = genesis.chain_id
        self._dir = Path(tempfile.mkdtemp(prefix="incoop-export-"))
        self.store = Store(self._dir / "state", create=True, sync=False)
        self.head = self.store.init_genesis(genesis.hash(), genesis.initial_state(), genesis.genesis_time_ms)
        self._classes: dict[str, tuple[bytes, int]] = {}

    def close(self) -> None:
        self.store.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def class_info(self, state: StateReader, class_id: str) -> tuple[bytes, int]:
        """A class's issuer and decimals never change once it exists (FORMAT.md §6.3), so they are cached."""
        info = self._classes.get(class_id)
        if info is None:
            found = credits.get_class(state, class_id)
            if found is None:
                raise ExportError(f"a movement of class {class_id!r}, which does not exist")
            info = self._classes[class_id] = (found.issuer, found.decimals)
        return info

    def validators(self) -> tuple[bytes, ...]:
        """The validator set of the replayed state: the next block's certificate is checked against it."""
        return chain.get_validators(self.store.state)

    def apply(self, height: int, prepared: Prepared) -> list[tuple[Movement, bytes]]:
        """Check and commit one block, decoded and verified ahead (node/audit/pipeline.py); its movements,
        each with its class's issuer."""
        if prepared.decode_error is not None:
            raise ExportError(f"block {height} does not decode: {prepared.decode_error}")
        block, certificate = prepared.block, prepared.certificate
        if block.header.height != height:
            raise ExportError(f"the source gave block {block.header.height} for height {height}")
        if block.header.time_ms > MAX_ISO_TIME_MS:  # valid on chain (u63), but no statement can date it
            raise ExportError(f"block {height} has a time past the year 9999 ({block.header.time_ms} ms)")
        state = self.store.state
        validators = chain.get_validators(state)
        if validators == prepared.validators:
            problem = prepared.certificate_problem
        else:  # the set changed after this block was verified ahead: check it against the right one
            problem = check_certificate(certificate, self.chain_id, validators, height, block.hash())
        if problem is not None:
            self._invalid(block, problem)
        try:
            outcome = apply_block(self.rules, state, self.store.tree, self.head, block, self.chain_id,
                                  prepared.verified, decoded=prepared.txs)
        except BlockInvalid as exc:
            self._invalid(block, str(exc))
        movements = self._movements(block.header.height, block.header.time_ms, outcome)
        self.head = self.store.commit_block(block, certificate, outcome)
        return movements

    def _invalid(self, block: Block, why: str) -> None:
        """The block breaks a rule (its certificate, or re-execution): say so, or that it is another chain's."""
        if block.header.height == 1 and block.header.prev_hash != self.head.block_hash:
            raise ExportError("block 1 does not follow this genesis: is --genesis the chain's genesis file?")
        raise ExportError(f"invalid chain: {why}")

    def _movements(self, height: int, time_ms: int, outcome: BlockOutcome) -> list[tuple[Movement, bytes]]:
        """The block's movements as its transactions and end-of-block items reported them, held to
        the block's balance changes (read before the block is committed)."""
        state = self.store.state
        made = [m for moves in outcome.moves for m in moves]
        if net_of(made) != balance_deltas(state, outcome.state_changes):
            raise ExportError(f"block {height}: its movements do not add up to its balance changes")
        after = Overlay(state)  # a class may be created in the very block that first moves it
        after.writes.update(outcome.state_changes)
        out: list[tuple[Movement, bytes]] = []
        # outcome.moves: one entry per transaction, then one per end-of-block effect
        sources = [(i, tx.hash, tx.type) for i, tx in enumerate(outcome.txs)]
        sources += [(len(outcome.txs) + j, b"", f"{effect.module}.end_block") for j, effect in enumerate(outcome.effects)]
        for (index, tx_hash, kind), moves in zip(sources, outcome.moves, strict=True):
            for m in moves:
                issuer, decimals = self.class_info(after, m.class_id)
                movement = Movement(height, time_ms, index, tx_hash, kind, m.sender, m.receiver, m.class_id,
                                    m.amount, m.reference, decimals, m.lot)
                out.append((movement, issuer))
        return out


class Progress(NamedTuple):
    height: int  # the block just replayed
    stop: int  # the last block the export will replay


def export_movements(
    rules: ChainRules,
    source: ChainSource,
    genesis: Genesis,
    selection: Selection,
    progress: Callable[[Progress], None] = lambda _: None,
    workers: int | None = None,
) -> Iterator[Movement]:
    """The selected movements in chain order (height, transaction, order within it).

    The chain is replayed from genesis whatever the range (a movement's
    amount can depend on everything before it); the replay stops at
    `to_height` or at the first block past `until_ms`. Blocks are decoded and
    their signatures verified ahead of the replay in `workers` processes (one
    per core by default), as `incoop audit verify` does (node/audit/pipeline.py).
    """
    claimed = source.genesis_hash()
    if claimed != genesis.hash():
        raise ExportError(f"{source.description} follows another genesis than the one given (its hash "
                          f"{claimed.hex()[:16]}…, the file's {genesis.hash().hex()[:16]}…)")
    head = source.head_height()
    stop = head if selection.to_height is None else selection.to_height
    if stop > head:
        raise ExportError(f"height {stop} is above the chain's head ({head}) at {source.description}")
    replay = ChainReplay(rules, genesis)
    try:
        with open_pipeline(genesis.chain_id, source.raw_blocks(1, stop), replay.validators(), workers,
                           stop) as pipeline:
            yield from _replayed(replay, pipeline, source, selection, stop, progress)
    finally:
        replay.close()


def _replayed(replay: ChainReplay, pipeline: Pipeline | InlinePipeline, source: ChainSource, selection: Selection, stop: int,
              progress: Callable[[Progress], None]) -> Iterator[Movement]:
    for height in range(1, stop + 1):
        prepared = pipeline.next()
        if prepared.missing:
            raise ExportError(f"block {height} is missing at {source.description}")
        movements = replay.apply(height, prepared)
        pipeline.validators = replay.validators()
        progress(Progress(height, stop))
        if not selection.block_in_range(height, replay.head.time_ms):
            if selection.until_ms is not None and replay.head.time_ms >= selection.until_ms:
                return  # block times only grow: nothing later is in range
            continue
        for movement, issuer in movements:
            if selection.wants(movement, issuer):
                yield movement


# --- the summary ----------------------------------------------------------------------------------


class Totals:
    """Per class: the number of rows and the amount per transaction type (the `--json` summary)."""

    def __init__(self, account: bytes | None = None):
        self.account = account
        self.rows = 0
        self.classes: dict[str, dict[str, Any]] = {}

    def add(self, movement: Movement) -> None:
        self.rows += 1
        entry = self.classes.setdefault(movement.class_id, {"rows": 0, "amount_by_type": {}})
        entry["rows"] += 1
        by_type = entry["amount_by_type"]
        by_type[movement.type] = by_type.get(movement.type, 0) + movement.amount
        if self.account is not None:
            for side, field in ((movement.receiver, "received"), (movement.sender, "sent")):
                if side == self.account:
                    entry[field] = entry.get(field, 0) + movement.amount

    def as_json(self) -> dict[str, Any]:
        classes = {}
        for class_id in sorted(self.classes):
            entry = dict(self.classes[class_id])
            if self.account is not None:
                entry.setdefault("received", 0)
                entry.setdefault("sent", 0)
            classes[class_id] = entry
        return {"rows": self.rows, "classes": classes}
