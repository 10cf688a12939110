"""Log lines that strangers can trigger, at most one per topic per interval.

Anyone can open connections to the p2p port and fail their handshakes; a line
per failure would let them fill the disk (issue 12, finding 5). The first line
of a topic is written, the next ones within the interval are counted, and the
next line written says how many were held back. The counters in /metrics
(docs/p2p.md) stay exact.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

INTERVAL_S = 10.0


class LogLimiter:
    """One line per topic per `interval_s`; topics are a small fixed set chosen by the caller."""

    def __init__(self, logger: logging.Logger, interval_s: float = INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic):
        self._logger = logger
        self._interval_s = interval_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def log(self, topic: str, level: int, msg: str, *args: object) -> bool:
        """Write the line unless one of `topic` was written less than the interval ago; True if written."""
        now = self._clock()
        last = self._last.get(topic)
        if last is not None and now - last < self._interval_s:
            self._held[topic] = self._held.get(topic, 0) + 1
            return False
        held = self._held.pop(topic, 0)
        self._last[topic] = now
        if held:
            msg += " (and %d more like it since the last such line)"
            args = (*args, held)
        self._logger.log(level, msg, *args)
        return True
