"""`incoop node …`: make a node home (`init`), run a node from it (`start`), back it up and restore it."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from node.cli_common import CliError, emit

PROGRESS_INTERVAL_S = 1.0


def register(sub: argparse._SubParsersAction) -> None:
    node = sub.add_parser("node", help="run a validator or observer node")
    actions = node.add_subparsers(dest="node_command", metavar="ACTION")
    actions.required = True
    start = actions.add_parser("start", help="start the node in the foreground (stop with Ctrl-C or SIGTERM)")
    start.add_argument("--home", required=True, type=Path, help="the node's home directory (config.json, genesis.json, node_key.json)")
    start.set_defaults(func=_start)
    init = actions.add_parser("init", help="make a node home: a new encrypted node key and a config.json")
    init.add_argument("--home", required=True, type=Path, help="the directory to create (refused if it holds a key)")
    init.add_argument("--role", choices=("validator", "observer"), default="validator")
    init.add_argument("--host", default="127.0.0.1", help="interface for the API and peer ports (default 127.0.0.1)")
    init.add_argument("--api-port", type=int, default=8700)
    init.add_argument("--p2p-port", type=int, default=8701)
    init.add_argument("--password-file", help="file holding the key's password; the node reads it at start")
    init.add_argument("--json", action="store_true", help="print the result as JSON")
    init.set_defaults(func=_init)
    backup = actions.add_parser(
        "backup", help="copy a node's store (running or not), genesis, config and encrypted key to a new directory",
        description="A consistent copy of the node's data that `node start` accepts, taken while the node runs "
                    "(docs/operations.md, \"Backups\"). The sign-state is left out unless asked for.")
    backup.add_argument("--home", required=True, type=Path, help="the node's home directory")
    backup.add_argument("--out", required=True, type=Path, help="the backup directory to create (must not exist)")
    backup.add_argument("--with-sign-state", action="store_true",
                        help="also copy sign_state.bin (a restore still keeps the home's if it is newer)")
    backup.add_argument("--json", action="store_true", help="print the result as JSON")
    backup.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    backup.set_defaults(func=_backup)
    restore = actions.add_parser(
        "restore", help="put a backup in place in a node home (the node must be stopped)",
        description="Check a backup (every file's SHA-256), then put its store in place in HOME, moving an existing "
                    "store aside; keeps the home's own config, key, genesis and newer sign-state "
                    "(docs/operations.md, \"Restoring\").")
    restore.add_argument("--from", dest="source", required=True, type=Path, help="the backup directory")
    restore.add_argument("--home", required=True, type=Path, help="the node's home directory (created if missing)")
    restore.add_argument("--json", action="store_true", help="print the result as JSON")
    restore.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    restore.set_defaults(func=_restore)


class _ProgressLine:
    """'backup: copy 12.5 of 40.1 MB (31%)' on stderr, at most once a second, and once at the end of a phase."""

    def __init__(self, command: str, quiet: bool):
        self.command, self.quiet = command, quiet
        self.next_at = time.monotonic() + PROGRESS_INTERVAL_S

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if self.quiet or (now < self.next_at and done < total):
            return
        self.next_at = now + PROGRESS_INTERVAL_S
        percent = 100 * done // total if total else 100
        print(f"{self.command}: {phase} {_size(done)} of {_size(total)} ({percent}%)", file=sys.stderr, flush=True)


def _size(count: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count} B"


def _backup(args: argparse.Namespace) -> int:
    from node.backup import BackupError, take_backup

    started = time.monotonic()
    try:
        manifest = take_backup(args.home, args.out, with_sign_state=args.with_sign_state,
                               progress=_ProgressLine("backup", args.quiet))
    except BackupError as exc:
        raise CliError(str(exc)) from None
    size = sum(f.size for f in manifest.files.values())
    result = {"out": str(args.out), "chain_id": manifest.chain_id, "genesis_hash": manifest.genesis_hash,
              "height": manifest.height, "block_hash": manifest.block_hash, "state_root": manifest.state_root,
              "created": manifest.created, "files": len(manifest.files), "bytes": size, "vault": manifest.vault,
              "sign_state": manifest.sign_state, "seconds": round(time.monotonic() - started, 3)}
    emit(args.json, result,
         f"backup of {manifest.chain_id} at height {manifest.height} (block {manifest.block_hash[:16]}…) in "
         f"{args.out}: {len(manifest.files)} files, {_size(size)}"
         + (", with the vault" if manifest.vault else "") + (", with the sign-state" if manifest.sign_state else ""))
    return 0


def _restore(args: argparse.Namespace) -> int:
    from node.backup import BackupError
    from node.restore import restore_backup

    try:
        report = restore_backup(args.source, args.home, progress=_ProgressLine("restore", args.quiet))
    except BackupError as exc:
        raise CliError(str(exc)) from None
    lines = [f"restored {report.chain_id} at height {report.height} (block {report.block_hash[:16]}…, backup taken "
             f"{report.backup_created}) into {report.home}"]
    lines += [f"  moved aside: {moved}" for moved in report.replaced]
    if report.copied:
        lines.append(f"  from the backup: {', '.join(report.copied)}")
    lines.append(f"  sign-state: {report.sign_state}; vault: {report.vault}")
    lines += [f"  warning: {warning}" for warning in report.warnings]
    lines.append(f"start it with: incoop node start --home {report.home} (it catches up from its peers)")
    emit(args.json, report.as_dict(), "\n".join(lines))
    return 0


def _start(args: argparse.Namespace) -> int:
    # the server's imports (aiohttp, plyvel) are heavy; only `start` needs them
    from node.server import NodeError, run_node

    try:
        return run_node(args.home)
    except NodeError as exc:
        raise CliError(str(exc), exc.status) from exc


def _init(args: argparse.Namespace) -> int:
    """The first step of joining a federation: the node key, whose address goes into the genesis."""
    from ledger.address import to_address
    from ledger.crypto import SigningKey
    from node.config import KEY_PASSWORD_ENV, ApiConfig, NodeConfig, write_config
    from wallet.keystore import KeystoreError, read_password, write_key_file

    home: Path = args.home
    if (home / "node_key.json").exists():
        raise CliError(f"{home / 'node_key.json'} exists; not replacing a node key")
    for port in (args.api_port, args.p2p_port):
        if not 1 <= port <= 65535:
            raise CliError(f"port {port} is outside 1..65535")
    password_file = Path(args.password_file).resolve() if args.password_file else None
    try:
        password = read_password(password_file, env=KEY_PASSWORD_ENV, prompt="New node key password: ", confirm=True)
    except KeystoreError as exc:
        raise CliError(str(exc)) from exc
    if not password:
        raise CliError("the node key password is empty")
    home.mkdir(parents=True, exist_ok=True)
    key = SigningKey.generate()
    write_key_file(home / "node_key.json", key, password)
    config = NodeConfig(
        role=args.role,
        key_password_file=str(password_file) if password_file else None,
        api=ApiConfig(host=args.host, port=args.api_port),
        p2p_host=args.host,
        p2p_port=args.p2p_port,
    )
    write_config(home, config)
    address = to_address(key.pubkey)
    emit(
        args.json,
        {"home": str(home), "address": address, "role": args.role, "api_port": args.api_port, "p2p_port": args.p2p_port},
        f"node home {home}: {args.role} key {address}\n"
        f"Give this address (and ws://<this host>:{args.p2p_port}) to whoever writes the genesis; "
        f"then put genesis.json in {home} and run: incoop node start --home {home}",
    )
    return 0
