"""`incoop`: one program, a subcommand per role.

Every subcommand module exposes `register(subparsers)`; each command returns an
exit status or raises CliError, which becomes one line on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from node.cli_common import CliError

_MODULES = (
    "node.node_cli", "node.devnet_cli", "genesis.cli", "wallet.cli", "wallet.identity_cli", "wallet.credits_cli",
    "node.audit.cli",
)


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are one line too, like every other error (subparsers inherit this class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"incoop: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="incoop", description="incoop: the cooperative federation's ledger")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.func(args)
    except CliError as exc:
        print(f"incoop: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("incoop: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
