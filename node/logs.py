"""The node's log: one format, a bound on every record, and size-based rotation when written to a file.

With `log_file` set (the devnet's nodes set `node.log`), the node writes its
own log through a RotatingFileHandler: at most `log_max_bytes` per file and
`log_backups` older files (`node.log.1` is the newest of them), so a flood of
anything loggable costs a bounded amount of disk. Without it the log goes to
stderr, for systemd's journal (which rotates it) or a terminal.

Every record is cut to `MAX_RECORD_CHARS` after formatting (traceback
included), a safety net under node/untrusted.py: even a log call that forgot
to shorten untrusted input writes a bounded line (docs/api-limits.md).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from node.config import NodeConfig

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_RECORD_CHARS = 8192


class BoundedFormatter(logging.Formatter):
    """The usual format, then cut to `max_chars` with a note of how much was left out."""

    def __init__(self, fmt: str = FORMAT, max_chars: int = MAX_RECORD_CHARS):
        super().__init__(fmt)
        self.max_chars = max_chars

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if len(text) <= self.max_chars:
            return text
        return f"{text[:self.max_chars]}…[{len(text) - self.max_chars} characters of this record not logged]"


def log_handler(config: NodeConfig, home: Path) -> logging.Handler:
    """A rotating file handler for `log_file`, else a stream handler on stderr; bounded format either way."""
    handler: logging.Handler
    if config.log_file:
        path = config.path(home, config.log_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=config.log_max_bytes, backupCount=config.log_backups, encoding="utf-8"
        )
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(BoundedFormatter())
    return handler


def setup_logging(config: NodeConfig, home: Path) -> None:
    """Route every logger of the process (aiohttp's and warnings included) to the node's one handler."""
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(log_handler(config, home))
    root.setLevel(config.log_level)
    logging.captureWarnings(True)
