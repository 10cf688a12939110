"""The `incoop` program: every mistake is one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "argv",
    [
        ["bogus"],
        ["wallet", "send", "--amount"],
        ["genesis", "validate"],
        ["node", "start", "--home"],
    ],
)
def test_usage_mistakes_are_one_line(argv):
    proc = subprocess.run([sys.executable, "-m", "node.cli", *argv], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("incoop: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_help_lists_every_role():
    proc = subprocess.run([sys.executable, "-m", "node.cli", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for command in ("node", "devnet", "genesis", "wallet", "tx"):
        assert command in proc.stdout
