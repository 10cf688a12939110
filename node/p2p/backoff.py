"""Exponential back-off with jitter for redialing a peer.

The jitter keeps nodes that lost each other at the same moment (a restart,
a partition healing) from redialing in lockstep forever.
"""

from __future__ import annotations

import random


class Backoff:
    """Delays start, start*factor, ... up to cap, each drawn uniformly from its upper half."""

    def __init__(self, start: float = 0.2, factor: float = 2.0, cap: float = 5.0):
        self.start = start
        self.factor = factor
        self.cap = cap
        self._attempt = 0

    def next(self) -> float:
        """The delay before the next attempt; each call makes the following one longer."""
        ceiling = min(self.cap, self.start * self.factor**self._attempt)
        if ceiling < self.cap:
            self._attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """Start again from the shortest delay (after a connection that stayed up)."""
        self._attempt = 0
