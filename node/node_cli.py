"""`incoop node …`: run a node from its home directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.cli_common import CliError


def register(sub: argparse._SubParsersAction) -> None:
    node = sub.add_parser("node", help="run a validator or observer node")
    actions = node.add_subparsers(dest="node_command", metavar="ACTION")
    actions.required = True
    start = actions.add_parser("start", help="start the node in the foreground (stop with Ctrl-C or SIGTERM)")
    start.add_argument("--home", required=True, type=Path, help="the node's home directory (config.json, genesis.json, node_key.json)")
    start.set_defaults(func=_start)


def _start(args: argparse.Namespace) -> int:
    # the server's imports (aiohttp, plyvel) are heavy; only `start` needs them
    from node.server import NodeError, run_node

    try:
        return run_node(args.home)
    except NodeError as exc:
        raise CliError(str(exc)) from exc
