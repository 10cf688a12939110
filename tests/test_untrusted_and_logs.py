"""Untrusted input in text (node/untrusted.py) and the node's bounded, rotating log (node/logs.py).

- `shown` keeps at most 64 bytes of input, printable and on one line, and
  says how much it left out; newlines and escapes cannot forge a log line.
- `LogBudget` lets a few lines of one kind through per interval and counts
  the rest.
- The log file rotates by size: however much is logged, the files stay
  `log_backups + 1`, each near `log_max_bytes`; one record is never longer
  than MAX_RECORD_CHARS, traceback included.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import pytest

from node.config import NodeConfig
from node.logs import MAX_RECORD_CHARS, BoundedFormatter, log_handler, setup_logging
from node.untrusted import PREFIX_BYTES, LogBudget, shown, suppressed_note


def test_shown_keeps_a_short_printable_prefix_and_says_what_it_cut() -> None:
    assert shown(b"GET / HTTP/1.1") == "GET / HTTP/1.1"
    assert shown(b"a\nb\r\x00\x1b[31m\\") == "a\\x0ab\\x0d\\x00\\x1b[31m\\\\"
    assert shown("città\n\u202e") == "citt\\xe0\\x0a\\u202e"
    assert shown(b"x" * 10_000) == "x" * PREFIX_BYTES + f"…(+{10_000 - PREFIX_BYTES} bytes)"
    assert shown("y" * 100, limit=8) == "yyyyyyyy…(+92 chars)"
    assert shown(None) == "" and shown(b"") == ""
    assert shown(bytearray(b"\xff" * 3)) == "\\xff\\xff\\xff"
    assert shown(memoryview(b"ab")) == "ab"


def test_shown_text_is_one_printable_line_whatever_the_input() -> None:
    for data in (bytes(range(256)) * 4, "".join(chr(c) for c in range(0, 0x3000, 7)), "\U0001f600" * 80):
        text = shown(data)
        assert text.isprintable() and text.isascii() == ("…" not in text)
        assert len(text.split("…")[0]) <= 10 * PREFIX_BYTES  # at most 64 units, each at most 10 characters escaped


def test_a_log_budget_lets_a_few_lines_through_and_counts_the_rest() -> None:
    budget = LogBudget(lines=3, interval_s=0.2)
    assert [budget.take() for _ in range(5)] == [(True, 0), (True, 0), (True, 0), (False, 0), (False, 0)]
    time.sleep(0.25)
    assert budget.take() == (True, 2), "the next line says how many were left out"
    assert budget.take() == (True, 0)
    assert suppressed_note(2) == " (and 2 more like it not logged)" and suppressed_note(0) == ""


def test_a_record_is_cut_to_its_bound_traceback_included() -> None:
    formatter = BoundedFormatter(max_chars=200)
    record = logging.LogRecord("incoop.test", logging.ERROR, __file__, 1, "boom %s", ("z" * 1000,), None)
    text = formatter.format(record)
    assert len(text) < 260 and text.endswith("characters of this record not logged]")
    try:
        raise ValueError("q" * 50_000)
    except ValueError:
        record = logging.LogRecord("incoop.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert len(BoundedFormatter().format(record)) < MAX_RECORD_CHARS + 100


def test_the_log_file_rotates_by_size(tmp_path: Path) -> None:
    config = NodeConfig(log_file="logs/node.log", log_max_bytes=64 * 1024, log_backups=2)
    handler = log_handler(config, tmp_path)
    logger = logging.getLogger("incoop.test.rotation")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for i in range(20_000):  # ~1.5 MB of log lines, and some oversized ones
            logger.info("line %d %s", i, "w" * (20_000 if i % 1000 == 0 else 40))
    finally:
        logger.removeHandler(handler)
        handler.close()
    files = sorted((tmp_path / "logs").iterdir())
    assert [p.name for p in files] == ["node.log", "node.log.1", "node.log.2"]
    for path in files:
        assert path.stat().st_size <= 64 * 1024 + MAX_RECORD_CHARS + 200, path
    assert "line 19999" in (tmp_path / "logs" / "node.log").read_text()


def test_without_a_log_file_the_log_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        setup_logging(NodeConfig(), tmp_path)
        logging.getLogger("incoop.test").warning("to stderr %s", "x" * 20_000)
        err = capsys.readouterr().err
        assert "WARNING incoop.test: to stderr" in err and len(err) < MAX_RECORD_CHARS + 200
        assert not list(tmp_path.iterdir())
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
        logging.captureWarnings(False)
