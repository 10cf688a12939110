"""`incoop`: one program, a subcommand per role.

Every subcommand module exposes `register(subparsers)`; each command returns an
exit status or raises CliError, which becomes one line on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys
from typing import NoReturn

from cli.common import CliError

# Each top-level command, the module whose `register` adds it, and its line in `incoop --help`.
# Only the module of the command being run is imported: each pulls in its own world
# (aiohttp, LevelDB, pydantic models), and `incoop --help` should answer at once.
COMMANDS: dict[str, tuple[str, str]] = {
    "node": ("node.node_cli", "run a validator or observer node"),
    "devnet": ("node.devnet_cli", "run a local federation of validators with demo data"),
    "genesis": ("genesis.cli", "create and validate genesis documents"),
    "wallet": ("wallet.cli", "your keys, balances, payments"),
    "tx": ("wallet.cli", "sign transactions offline, submit signed ones"),
    "registrar": ("wallet.identity_cli", "register identities, manage their status, keys and attestations"),
    "credits": ("wallet.credits_cli", "issuers: credit classes, issuing, providers, reclaim, reports"),
    "market": ("wallet.market_cli", "the marketplace: listings, orders in escrow, disputes, reviews"),
    "gas": ("wallet.gas_cli", "purchase groups: the supplier's terms, open, join, leave, status"),
    "agora": ("wallet.agora_cli", "the agora: spaces, proposals, comments, supports, ballots, votes, budgets"),
    "governance": ("wallet.federation_cli", "validators: propose and approve changes to the set, roles, parameters"),
    "audit": ("node.audit.cli", "verify a chain from genesis; export credit statements"),
}


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are one line too, like every other error (subparsers inherit this class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"incoop: {message} (see '{self.prog} --help')\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser for one command (its module imported), or the listing of all of them."""
    parser = _Parser(prog="incoop", description="incoop: the cooperative federation's ledger")
    parser.add_argument("--version", action="version", version=f"incoop {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    if command in COMMANDS:
        importlib.import_module(COMMANDS[command][0]).register(sub)
    else:
        for name, (_, help_text) in COMMANDS.items():
            sub.add_parser(name, help=help_text)
    return parser


def _version() -> str:
    try:
        return importlib.metadata.version("incoop")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _command_of(argv: list[str]) -> str | None:
    """The first word that names a command: options before it are the top-level ones."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_command_of(argv)).parse_args(argv)
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
