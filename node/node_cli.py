"""`incoop node …`: make a node home (`init`), run a node from it (`start`), back it up and restore it."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from cli.common import CliError, emit

PROGRESS_INTERVAL_S = 1.0


def register(sub: argparse._SubParsersAction) -> None:
    node = sub.add_parser("node")  # its --help line: node/cli.py COMMANDS
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
    init.add_argument("--password-file", help="file holding the node key's password (mode 0600, at least "
                      "12 characters); the node reads it at every start")
    init.add_argument("--vault", metavar="REGISTRAR", help="keep the personal records of this registrar account "
                      "(address): enables the vault and makes its key, sealed under a password of its own")
    init.add_argument("--vault-password-file", help="file holding the vault key's password (mode 0600, at least "
                      "12 characters, not the node key's)")
    init.add_argument("--generate-passwords", action="store_true", help="write fresh random passwords to "
                      "HOME/node_key.pass (and HOME/vault_key.pass), mode 0600, and use them")
    init.add_argument("--tls-cert", metavar="FILE", help="this node's TLS certificate chain (PEM): API and p2p speak only TLS (docs/tls.md)")
    init.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert (PEM, unencrypted, mode 0600)")
    init.add_argument("--tls-ca", metavar="FILE", help="the federation's CA certificates (PEM) peers' certificates are checked against")
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
    """The first step of joining a federation: the node key, whose address goes into the genesis.

    With --vault, also the vault key, sealed under its own password: whoever
    learns one password opens one key (docs/keys.md). Every check is made
    before the first file is written.
    """
    from identity.vault import KEY_FILE, VaultError, create_vault_key
    from keys.keystore import KeystoreError, write_key_file, write_password_file
    from ledger.address import to_address
    from ledger.crypto import SigningKey
    from node.config import (
        KEY_PASSWORD_ENV,
        VAULT_PASSWORD_ENV,
        ApiConfig,
        NodeConfig,
        TlsConfig,
        VaultConfig,
        write_config,
    )
    from node.tls import TlsError, check_init_files, init_warning

    home: Path = args.home
    if (home / "node_key.json").exists():
        raise CliError(f"{home / 'node_key.json'} exists; not replacing a node key")
    for port in (args.api_port, args.p2p_port):
        if not 1 <= port <= 65535:
            raise CliError(f"port {port} is outside 1..65535")
    if args.vault_password_file and not args.vault:
        raise CliError("--vault-password-file is for a vault: give --vault REGISTRAR too")
    if args.generate_passwords and (args.password_file or args.vault_password_file):
        raise CliError("--generate-passwords writes the password files; give no --password-file or --vault-password-file")
    vault = None
    if args.vault:
        try:
            vault = VaultConfig(enabled=True, registrar=args.vault)
        except ValueError as exc:
            raise CliError(f"--vault {args.vault}: not an account address") from exc
        if (home / vault.dir / KEY_FILE).exists():
            raise CliError(f"{home / vault.dir / KEY_FILE} exists; not replacing a vault key")
    try:
        tls = TlsConfig(**check_init_files(args.tls_cert, args.tls_key, args.tls_ca))
    except TlsError as exc:
        raise CliError(str(exc)) from exc
    warning = init_warning(args.host, tls.enabled)
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)

    key_password, key_password_file = _new_password(
        args, home, args.password_file, "--password-file", KEY_PASSWORD_ENV, NODE_KEY_PASS, "node key")
    vault_password = None
    if vault is not None:
        vault_password, vault.key_password_file = _new_password(
            args, home, args.vault_password_file, "--vault-password-file", VAULT_PASSWORD_ENV, VAULT_KEY_PASS,
            "vault key")
        if vault_password == key_password:
            raise CliError("the vault key needs a password of its own, not the node key's")

    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)  # the store, the sign-state and the vault are the member's alone
    key = SigningKey.generate()
    try:
        if args.generate_passwords:
            write_password_file(home / NODE_KEY_PASS, key_password)
        write_key_file(home / "node_key.json", key, key_password)
        if vault is not None:
            if args.generate_passwords:
                write_password_file(home / VAULT_KEY_PASS, vault_password)
            create_vault_key(home / vault.dir, vault_password)
    except (KeystoreError, VaultError) as exc:
        raise CliError(str(exc)) from exc
    write_config(home, NodeConfig(
        role=args.role,
        key_password_file=key_password_file,
        api=ApiConfig(host=args.host, port=args.api_port),
        p2p_host=args.host,
        p2p_port=args.p2p_port,
        vault=vault or VaultConfig(),
        tls=tls,
    ))

    address = to_address(key.pubkey)
    kept = [str(home / f) for f in (NODE_KEY_PASS, VAULT_KEY_PASS if vault else None) if f and args.generate_passwords]
    emit(
        args.json,
        {"home": str(home), "address": address, "role": args.role, "api_port": args.api_port,
         "p2p_port": args.p2p_port, "key_password_file": key_password_file, "tls": tls.enabled,
         "vault": {"registrar": vault.registrar, "key_password_file": vault.key_password_file} if vault else None},
        f"node home {home}: {args.role} key {address}\n"
        + (f"The keys open only with the passwords in {' and '.join(kept)} (mode 0600): keep a copy "
           "somewhere safe, apart from this machine.\n" if kept else "")
        + f"Give this address (and {'wss' if tls.enabled else 'ws'}://<this host>:{args.p2p_port}) to whoever writes the genesis; "
        f"then put genesis.json in {home} and run: incoop node start --home {home}",
    )
    return 0


NODE_KEY_PASS = "node_key.pass"
VAULT_KEY_PASS = "vault_key.pass"


def _new_password(args: argparse.Namespace, home: Path, given: str | None, flag: str, env: str, generated: str,
                  what: str) -> tuple[str, str | None]:
    """(a new key's password, the file the config will name or None): generated, read from a file, $env or a prompt."""
    from keys.keystore import MIN_NODE_PASSWORD, KeystoreError, generate_password, read_password

    if args.generate_passwords:
        if (home / generated).exists():
            raise CliError(f"{home / generated} exists; not replacing a password file")
        return generate_password(), generated
    path = Path(given).resolve() if given else None
    if path is None and not os.environ.get(env) and not os.isatty(0):
        raise CliError(f"no password for the {what}: give {flag}, set {env}, or pass --generate-passwords")
    try:
        password = read_password(path, env=env, prompt=f"New {what} password: ", confirm=True,
                                 min_length=MIN_NODE_PASSWORD)
    except KeystoreError as exc:
        raise CliError(f"the {what}: {exc}") from exc
    return password, str(path) if path else None
