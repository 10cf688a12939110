"""The bounded memory of gossip frames already delivered or sent, for deduplication."""

from __future__ import annotations

from collections import OrderedDict


class SeenSet:
    """The last `capacity` frame hashes, least recently seen evicted first.

    Bounded so that a flood of distinct messages costs a fixed amount of
    memory; the price is that a message older than the window is delivered
    again, which the application must tolerate anyway (it validates and
    deduplicates by content).
    """

    def __init__(self, capacity: int = 100_000):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._hashes: OrderedDict[bytes, None] = OrderedDict()

    def add(self, digest: bytes) -> bool:
        """Record `digest`; True if it was new, False if it had been seen (and is now fresh again)."""
        if digest in self._hashes:
            self._hashes.move_to_end(digest)
            return False
        self._hashes[digest] = None
        if len(self._hashes) > self._capacity:
            self._hashes.popitem(last=False)
        return True

    def discard(self, digest: bytes) -> None:
        """Forget `digest`, so that the next copy of that frame is delivered again."""
        self._hashes.pop(digest, None)

    def __contains__(self, digest: bytes) -> bool:
        return digest in self._hashes

    def __len__(self) -> int:
        return len(self._hashes)
