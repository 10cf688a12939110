"""How bytes a stranger sent may appear in a log line or an error message: a short, escaped prefix.

Whatever arrives on a socket (an HTTP request line, a header, a JSON key, a
p2p frame) is untrusted: it may be megabytes long, hold newlines that forge
log lines, or control characters that rewrite a terminal. Every place that
shows such input passes it through `shown()` first, so that a log line or an
error message carries at most `PREFIX_BYTES` of it, printable and on one
line, and says how much was left out (docs/api-limits.md, "Untrusted input").

`LogBudget` bounds how often one kind of stranger-caused event (junk on a
port, a refused connection) may write a log line at all, so that a flood of
junk costs the log a few lines a minute, not a line per request.
"""

from __future__ import annotations

import threading
import time

PREFIX_BYTES = 64


def shown(data: bytes | bytearray | memoryview | str | None, limit: int = PREFIX_BYTES) -> str:
    """At most `limit` bytes (or characters) of `data`, escaped to printable ASCII on one line.

    Printable ASCII stays as it is, except the backslash, which is doubled;
    everything else becomes \\xNN (bytes) or \\uNNNN (text). What was cut
    is announced as `…(+N bytes)` or `…(+N chars)`, so a reader knows the
    prefix is a prefix.
    """
    if data is None:
        return ""
    if isinstance(data, str):
        rest, unit = len(data) - limit, "chars"
        escaped = "".join(_char(c) for c in data[:limit])
    else:
        head_bytes, rest, unit = bytes(data[:limit]), len(data) - limit, "bytes"
        escaped = "".join(_byte(b) for b in head_bytes)
    return escaped + (f"…(+{rest} {unit})" if rest > 0 else "")


def _byte(b: int) -> str:
    if b == 0x5C:
        return "\\\\"
    if 0x20 <= b < 0x7F:
        return chr(b)
    return f"\\x{b:02x}"


def _char(c: str) -> str:
    if c == "\\":
        return "\\\\"
    code = ord(c)
    if 0x20 <= code < 0x7F:
        return c
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class LogBudget:
    """At most `lines` log lines per `interval_s` for one kind of event; the rest are counted, not written.

    `take()` answers whether this event may be logged, and with it how many
    were suppressed since the last line that was, so that the next line can
    say so ("… and 9,412 more like it"). Thread-safe; monotonic clock.
    """

    def __init__(self, lines: int = 10, interval_s: float = 60.0):
        self.lines = lines
        self.interval_s = interval_s
        self._window_start = -float("inf")
        self._used = 0
        self._suppressed = 0
        self._lock = threading.Lock()

    def take(self) -> tuple[bool, int]:
        """(may log, events suppressed since the last logged one)."""
        with self._lock:
            now = time.monotonic()
            if now - self._window_start >= self.interval_s:
                self._window_start, self._used = now, 0
            if self._used >= self.lines:
                self._suppressed += 1
                return False, 0
            self._used += 1
            suppressed, self._suppressed = self._suppressed, 0
            return True, suppressed


def suppressed_note(count: int) -> str:
    """The tail a budgeted log line carries when earlier ones were left out."""
    return f" (and {count} more like it not logged)" if count else ""
