"""What every `incoop` subcommand shares: one-line errors, --json output, amounts."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from ledger.fields import MAX_AMOUNT

DEFAULT_NODE = "http://127.0.0.1:8700"
NODE_ENV = "INCOOP_NODE"
CA_FILE_ENV = "INCOOP_CA_FILE"
WALLET_ENV = "INCOOP_WALLET"


class CliError(Exception):
    """Printed as one line `incoop: <message>` and exit status `status`."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def default_node() -> str:
    return os.environ.get(NODE_ENV, DEFAULT_NODE)


def default_ca_file() -> str | None:
    """The CA bundle an https:// node's certificate is checked against (docs/tls.md); None: the system's."""
    return os.environ.get(CA_FILE_ENV) or None


def default_wallet_dir() -> str:
    return os.environ.get(WALLET_ENV, os.path.join(os.path.expanduser("~"), ".incoop", "wallet"))


def emit(as_json: bool, data: Any, text: str | None = None) -> None:
    """Print `data` as JSON for scripts, or `text` for people."""
    if as_json:
        json.dump(data, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        print(text if text is not None else data)
    sys.stdout.flush()


def parse_amount(text: str, decimals: int) -> int:
    """'12.50' with 2 decimals -> 1250 minor units; exact, no floats."""
    text = text.strip()
    if text.startswith("+"):
        text = text[1:]
    whole, dot, frac = text.partition(".")
    if not whole:
        whole = "0"
    if not whole.isdigit() or (dot and not frac.isdigit()):
        raise CliError(f"not an amount: {text!r}")
    if len(frac) > decimals:
        raise CliError(f"amount {text} has more than {decimals} decimals")
    value = int(whole) * 10**decimals + int(frac.ljust(decimals, "0") or "0")
    if value <= 0:
        raise CliError("the amount must be positive")
    if value > MAX_AMOUNT:
        raise CliError("the amount is too large")
    return value


def format_amount(value: int, decimals: int) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    if decimals == 0:
        return f"{sign}{value}"
    return f"{sign}{value // 10**decimals}.{value % 10**decimals:0{decimals}d}"


def confirm(what: str, expected: str, yes: bool, detail: str = "") -> None:
    """Ask a person to type `expected` before doing `what` (e.g. "erase identity 3f2a…"), which
    cannot be undone; `detail` says what will be lost.

    `--yes` (scripts) skips the question. Without a terminal on stdin and
    without `--yes` nothing can be asked, so the command is refused in one
    line rather than acting unconfirmed; a wrong answer or end of input
    refuses too. The question goes to stderr, so that --json output on
    stdout stays one document.
    """
    if yes:
        return
    if not sys.stdin.isatty():
        raise CliError(f"{what}: this cannot be undone; pass --yes to confirm it (there is no terminal to ask on)")
    sys.stderr.write(f"{detail}\n" if detail else "")
    sys.stderr.write(f"Type {expected} to {what}: ")
    sys.stderr.flush()
    if sys.stdin.readline().strip() != expected:
        raise CliError(f"not confirmed; did not {what}")
