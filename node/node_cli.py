"""`incoop node …`: make a node home (`init`) and run a node from it (`start`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from node.cli_common import CliError, emit


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
    init.add_argument("--password-file", help="file holding the key's password; the node reads it at start")
    init.add_argument("--tls-cert", metavar="FILE", help="this node's TLS certificate chain (PEM): API and p2p speak only TLS (docs/tls.md)")
    init.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert (PEM, unencrypted, mode 0600)")
    init.add_argument("--tls-ca", metavar="FILE", help="the federation's CA certificates (PEM) peers' certificates are checked against")
    init.add_argument("--json", action="store_true", help="print the result as JSON")
    init.set_defaults(func=_init)


def _start(args: argparse.Namespace) -> int:
    # the server's imports (aiohttp, plyvel) are heavy; only `start` needs them
    from node.server import NodeError, run_node

    try:
        return run_node(args.home)
    except NodeError as exc:
        raise CliError(str(exc)) from exc


def _init(args: argparse.Namespace) -> int:
    """The first step of joining a federation: the node key, whose address goes into the genesis."""
    from ledger.address import to_address
    from ledger.crypto import SigningKey
    from node.config import KEY_PASSWORD_ENV, ApiConfig, NodeConfig, TlsConfig, write_config
    from node.tls import TlsError, check_init_files, init_warning
    from wallet.keystore import KeystoreError, read_password, write_key_file

    home: Path = args.home
    if (home / "node_key.json").exists():
        raise CliError(f"{home / 'node_key.json'} exists; not replacing a node key")
    for port in (args.api_port, args.p2p_port):
        if not 1 <= port <= 65535:
            raise CliError(f"port {port} is outside 1..65535")
    try:
        tls = TlsConfig(**check_init_files(args.tls_cert, args.tls_key, args.tls_ca))
    except TlsError as exc:
        raise CliError(str(exc)) from exc
    warning = init_warning(args.host, tls.enabled)
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)
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
        tls=tls,
    )
    write_config(home, config)
    address = to_address(key.pubkey)
    emit(
        args.json,
        {"home": str(home), "address": address, "role": args.role, "api_port": args.api_port, "p2p_port": args.p2p_port,
         "tls": tls.enabled},
        f"node home {home}: {args.role} key {address}\n"
        f"Give this address (and {'wss' if tls.enabled else 'ws'}://<this host>:{args.p2p_port}) to whoever writes the genesis; "
        f"then put genesis.json in {home} and run: incoop node start --home {home}",
    )
    return 0
