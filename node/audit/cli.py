"""`incoop audit …`: the auditor's commands, one module per command."""

from __future__ import annotations

import argparse
import importlib

_COMMANDS = ("node.audit.verify_cli", "node.audit.export_cli")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("audit")  # its --help line: node/cli.py COMMANDS
    audit_sub = parser.add_subparsers(dest="audit_command", metavar="COMMAND")
    audit_sub.required = True
    for name in _COMMANDS:
        importlib.import_module(name).register(audit_sub)
