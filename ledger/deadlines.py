"""Work that falls due at a block time or height, run by the end-of-block step (FORMAT.md §12.3).

A module schedules an item (its own id of something: an order, a purchase
group, a ballot) for a block time or a block height; the index is a set of
state keys, ordered by when the item falls due:

    due/t/ ‖ module ‖ "/" ‖ BE8(time_ms) ‖ item      due at the first block whose time ≥ time_ms
    due/h/ ‖ module ‖ "/" ‖ BE8(height)  ‖ item      due at the block of that height (or the first after)

each with the value `[]`. After a block's transactions, each module that has
an end-of-block step, in the order of the chain's module list, takes its due
items in key order — those due by time first, then those due by height —
at most `params.max_due_per_block` of them, deletes each key and runs its
step on the item. What is left over stays due and is taken by the next
blocks, first. The step reads only the state, the block's height and time:
no clock, no scan of the state beyond its own due keys.

Each item's work runs in a scratch layer like a transaction's: if the step
raises a TxError, its writes are dropped (the due key stays deleted) and the
effect records the code. The block lists one effect `[module, item, code]`
per item taken, in order, under its results root.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ledger.block import Effect
from ledger.encoding import encode
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext
from ledger.state import Overlay

PREFIX_DUE = b"due/"
BY_TIME = b"due/t/"
BY_HEIGHT = b"due/h/"
MAX_ITEM = 64
_PRESENT = encode(())


def _queue(prefix: bytes, module: str) -> bytes:
    return prefix + module.encode("ascii") + b"/"


def _key(prefix: bytes, module: str, at: int, item: bytes) -> bytes:
    if not 0 <= at < 2**63:
        raise ValueError("a due time or height is 0 … 2^63 − 1")
    if not 0 < len(item) <= MAX_ITEM:
        raise ValueError(f"a due item is 1 to {MAX_ITEM} bytes")
    return _queue(prefix, module) + at.to_bytes(8, "big") + item


def schedule_at_time(state: Overlay, module: str, time_ms: int, item: bytes) -> None:
    """`item` falls due at the first block whose time is at least `time_ms`."""
    state.put(_key(BY_TIME, module, time_ms, item), _PRESENT)


def schedule_at_height(state: Overlay, module: str, height: int, item: bytes) -> None:
    """`item` falls due at block `height` (or the first block after it that has room)."""
    state.put(_key(BY_HEIGHT, module, height, item), _PRESENT)


def cancel_at_time(state: Overlay, module: str, time_ms: int, item: bytes) -> None:
    state.delete(_key(BY_TIME, module, time_ms, item))


def cancel_at_height(state: Overlay, module: str, height: int, item: bytes) -> None:
    state.delete(_key(BY_HEIGHT, module, height, item))


def _due(state: Overlay, module: str, time_ms: int, height: int) -> Iterator[tuple[bytes, bytes]]:
    """(key, item) of the module's due entries, in the order they are run."""
    for prefix, upto in ((BY_TIME, time_ms), (BY_HEIGHT, height)):
        queue = _queue(prefix, module)
        cut = len(queue) + 8
        for key, _ in state.range(queue, queue + (upto + 1).to_bytes(8, "big")):
            yield key, key[cut:]


def run_end_block(rules: Any, state: Overlay, chain_id: str, height: int, time_ms: int,
                  budget: int) -> list[tuple[Effect, tuple[Any, ...]]]:
    """Every module's end-of-block step on its due items, in module order: each effect of the block,
    with the credit movements its item made (ledger/credit_ops.py; none if it failed).

    A step's context has no signer (empty bytes): nobody signed it, the block's height and time made
    it due.
    """
    done: list[tuple[Effect, tuple[Any, ...]]] = []
    for module, step in rules.end_block_steps:
        taken = []
        for key, item in _due(state, module, time_ms, height):
            if len(taken) == budget:
                break
            taken.append((key, item))
        for key, item in taken:
            state.delete(key)
            scratch = state.child()
            moves: list[Any] = []
            try:
                step(ExecContext(scratch, chain_id, height, time_ms, b"", rules, moves), item)
            except TxError as exc:
                done.append((Effect(module, item, int(exc.code)), ()))
                continue
            scratch.merge_into_parent()
            done.append((Effect(module, item, int(Code.OK)), tuple(moves)))
    return done
