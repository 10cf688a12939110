"""State access for the state transition: a read-only base plus layered writes.

The state is a map from byte keys to canonical byte values (key layout in
FORMAT.md, "State"). The transition never writes to the store; it writes to
an `Overlay`, and the node commits the overlay's changes in the same atomic
batch as the block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

_DELETED = None


class StateReader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...


class RangeReader(StateReader, Protocol):
    """A reader that can also list keys in order: what an end-of-block step reads its due items with
    (ledger/deadlines.py). `range(start, end)` yields (key, value) for start <= key < end, ascending."""

    def range(self, start: bytes, end: bytes) -> Iterator[tuple[bytes, bytes]]: ...


def prefix_end(prefix: bytes) -> bytes:
    """The first key past every key that starts with `prefix`: `range(prefix, prefix_end(prefix))` is
    exactly the keys under it (a trailing 0xff byte carries into the byte before it)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        raise ValueError("a prefix of 0xff bytes only has no end")
    return stripped[:-1] + bytes([stripped[-1] + 1])


class DictState:
    """An in-memory state: genesis building, tests, and the auditor's scratch state."""

    def __init__(self, items: dict[bytes, bytes] | None = None):
        self.items: dict[bytes, bytes] = dict(items or {})

    def get(self, key: bytes) -> bytes | None:
        return self.items.get(key)

    def range(self, start: bytes, end: bytes) -> Iterator[tuple[bytes, bytes]]:
        for key in sorted(k for k in self.items if start <= k < end):
            yield key, self.items[key]

    def apply(self, changes: dict[bytes, bytes | None]) -> None:
        for key, value in changes.items():
            if value is None:
                self.items.pop(key, None)
            else:
                self.items[key] = value


class Overlay:
    """Writes layered over a reader; `child()` gives a layer that can be dropped.

    A failed transaction's writes are dropped whole (its child overlay is
    discarded) while the nonce increment, written to the parent, stays.
    """

    __slots__ = ("base", "writes", "_layers", "_base_get")

    def __init__(self, base: StateReader):
        self.base = base
        self.writes: dict[bytes, bytes | None] = {}
        # Every read of a transaction's handler goes through its scratch layer,
        # the block's layer and the committed state. Holding the write dicts of
        # all the layers, top first, and the reader underneath them, a read is
        # one loop here instead of one call per layer; it finds what the chain
        # of `get` calls would (layers only ever grow their own dict in place).
        if isinstance(base, Overlay):
            self._layers: tuple[dict[bytes, bytes | None], ...] = (self.writes, *base._layers)
            self._base_get: Callable[[bytes], bytes | None] = base._base_get
        else:
            self._layers = (self.writes,)
            self._base_get = base.get

    def get(self, key: bytes) -> bytes | None:
        for writes in self._layers:
            if key in writes:
                return writes[key]
        return self._base_get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self.writes[key] = value

    def delete(self, key: bytes) -> None:
        self.writes[key] = _DELETED

    def child(self) -> Overlay:
        return Overlay(self)

    def merge_into_parent(self) -> None:
        parent = self.base
        assert isinstance(parent, Overlay)
        parent.writes.update(self.writes)

    def changes(self) -> dict[bytes, bytes | None]:
        return self.writes

    def range(self, start: bytes, end: bytes) -> Iterator[tuple[bytes, bytes]]:
        """The base's keys in [start, end) with this layer's writes over them, ascending.

        This layer's writes in the range are found by a pass over its dict:
        cheap for the few modules that read ranges, once per block.
        """
        own = sorted((k, v) for k, v in self.writes.items() if start <= k < end)
        base = iter(self.base.range(start, end))  # type: ignore[attr-defined]
        pending = next(base, None)
        for key, value in own:
            while pending is not None and pending[0] < key:
                yield pending
                pending = next(base, None)
            if pending is not None and pending[0] == key:
                pending = next(base, None)
            if value is not None:
                yield key, value
        while pending is not None:
            yield pending
            pending = next(base, None)


def sorted_changes(changes: dict[bytes, bytes | None]) -> Iterator[tuple[bytes, bytes | None]]:
    """Changes in key order: the only order in which the state root and store see them."""
    for key in sorted(changes):
        yield key, changes[key]


ReaderFn = Callable[[bytes], bytes | None]
