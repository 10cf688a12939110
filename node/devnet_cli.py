"""`incoop devnet`: run a local federation in the foreground until Ctrl-C.

Each validator is its own `incoop node start` process, as on a real
federation member's machine; this command only lays out the homes (first run
or --reset), starts the processes, waits for their APIs, and stops them
cleanly. A second run resumes the same chain from the same data.

Each node writes its own log, `node.log` in its home, rotated by size
(`log_file` in its config, node/logs.py); what a node prints outside its
log (the line saying it serves, a start-up refusal, a crash) goes to
`node.out` beside it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from genesis.devnet import (
    DEVNET_PASSWORD,
    UNIQUENESS_SECRET,
    DevnetError,
    DevnetLayout,
    create_devnet,
    load_devnet,
)
from node.cli_common import CliError
from wallet.client import NodeClient, NodeError

STARTUP_TIMEOUT_S = 60.0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("devnet")  # its --help line: node/cli.py COMMANDS
    parser.add_argument("--home", default=".devnet", help="where the devnet's data lives (default: .devnet)")
    parser.add_argument("--base-port", type=int, default=8700, help="first API port (default: 8700)")
    parser.add_argument("--validators", type=int, default=None,
                        help="number of validators of a new devnet (default: 4; an existing one keeps its own)")
    parser.add_argument("--observers", type=int, default=None,
                        help="number of non-voting observer nodes of a new devnet (default: 0)")
    parser.add_argument("--reset", action="store_true", help="delete the devnet's data and start a new chain")
    parser.add_argument("--json", action="store_true", help="print the layout as one JSON object once running")
    parser.set_defaults(func=cmd_devnet)


def _prepare(args: argparse.Namespace) -> DevnetLayout:
    home = Path(args.home).resolve()
    if args.reset and home.exists():
        if not (home / "devnet.json").exists() and any(home.iterdir()):
            raise CliError(f"{home} is not a devnet directory; not deleting it")
        shutil.rmtree(home)
    try:
        if (home / "devnet.json").exists():
            layout = load_devnet(home)
            observers = len(layout.node_homes) - layout.validators
            if args.validators not in (None, layout.validators) or args.observers not in (None, observers):
                raise CliError(
                    f"the devnet at {home} has {layout.validators} validator(s) and {observers} observer(s); "
                    "pass the same --validators/--observers, or --reset to change them"
                )
            return layout
        validators = 4 if args.validators is None else args.validators
        observers = 0 if args.observers is None else args.observers
        return create_devnet(home, validators=validators, base_port=args.base_port, observers=observers,
                             demo_federation=True)
    except DevnetError as exc:
        raise CliError(str(exc)) from exc


def _status(url: str) -> dict | None:
    try:
        return NodeClient(url, timeout=1).status()
    except NodeError:
        return None


def _start(node_home: Path) -> subprocess.Popen:
    with open(node_home / "node.out", "wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "node.cli", "node", "start", "--home", str(node_home)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _tail(path: Path, lines: int) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def _log_tail(node_home: Path, lines: int = 15) -> str:
    """The end of the node's log, then what it printed outside it (a refusal to start is in both)."""
    log, out = _tail(node_home / "node.log", lines), _tail(node_home / "node.out", lines)
    return "\n".join(log + [f"node.out: {line}" for line in out]) or "(no log)"


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cmd_devnet(args: argparse.Namespace) -> int:
    layout = _prepare(args)
    procs: list[subprocess.Popen] = []
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        for node_home in layout.node_homes:
            procs.append(_start(node_home))
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        statuses: list[dict | None] = [None] * len(procs)
        while not stopping and not all(statuses):
            for i, (proc, url) in enumerate(zip(procs, layout.api_urls, strict=True)):
                if proc.poll() is not None:
                    raise CliError(
                        f"{layout.names[i]} exited with status {proc.returncode}; its log ends with:\n{_log_tail(layout.node_homes[i])}"
                    )
                statuses[i] = statuses[i] or _status(url)
            if time.monotonic() > deadline:
                raise CliError(f"the nodes did not answer within {STARTUP_TIMEOUT_S:.0f} s; see their node.log")
            time.sleep(0.2)
        if stopping:
            return 130
        _seed(layout)
        _announce(args, layout, statuses)
        while not stopping:
            for i, proc in enumerate(procs):
                if proc.poll() is not None:
                    raise CliError(
                        f"{layout.names[i]} stopped with status {proc.returncode}; its log ends with:\n{_log_tail(layout.node_homes[i])}"
                    )
            time.sleep(0.5)
        print("stopping the devnet ...", file=sys.stderr)
        return 0
    finally:
        _stop(procs)
        if stopping:
            print(f"devnet stopped; run again to resume the chain in {layout.home}", file=sys.stderr)


def _seed(layout: DevnetLayout) -> None:
    """The demo's identities, attestations, accreditations and credits, once per devnet."""
    from node.devnet_seed import SeedError, is_seeded, seed_demo

    if is_seeded(layout) or "gas" not in {p.name.removesuffix(".json") for p in layout.wallet_dir.glob("*.json")}:
        return
    try:
        seed_demo(layout, progress=lambda text: print(f"devnet: {text} ...", file=sys.stderr, flush=True))
    except (SeedError, NodeError) as exc:
        raise CliError(f"seeding the demo federation failed: {exc}; run again with --reset") from None


def _announce(args: argparse.Namespace, layout: DevnetLayout, statuses: list) -> None:
    wallet = layout.wallet_dir
    data = {
        "home": str(layout.home),
        "chain_id": layout.genesis.chain_id,
        "nodes": [
            {"name": home.name, "role": st["role"], "api": url, "home": str(home), "log": str(home / "node.log"),
             "height": st["height"]}
            for url, home, st in zip(layout.api_urls, layout.node_homes, statuses, strict=True)
        ],
        "wallet_dir": str(wallet),
        "wallet_password": DEVNET_PASSWORD,
        "uniqueness_secret": str(layout.home / UNIQUENESS_SECRET),
    }
    if args.json:  # one line, so that a supervising script can read it as soon as it appears
        print(json.dumps(data, sort_keys=True), flush=True)
        return
    lines = [
        f"incoop devnet: chain {data['chain_id']}, {layout.validators} validator(s), "
        f"{len(layout.node_homes) - layout.validators} observer(s), data under {layout.home}",
    ]
    for node in data["nodes"]:
        lines.append(f"  {node['name']:<10} {node['role']:<9} API {node['api']}  (height {node['height']}, log {node['log']})")
    lines += [
        f"  demo wallet: {wallet} (keys federation, comune, acme, anna, marco; password '{DEVNET_PASSWORD}')",
        f"  registrars: federation (vault on {layout.api_urls[0]}), comune"
        + (f" (vault on {layout.api_urls[1]})" if layout.validators > 1 else " (no vault node)")
        + f"; uniqueness secret {layout.home / UNIQUENESS_SECRET}",
        "",
        "In another terminal:",
        f"  export INCOOP_NODE={layout.api_urls[0]} INCOOP_WALLET={wallet} INCOOP_PASSWORD={DEVNET_PASSWORD}",
        "  .venv/bin/incoop wallet balance anna",
        "",
        "Ctrl-C stops the devnet; run it again to resume the same chain (--reset starts over).",
    ]
    print("\n".join(lines), flush=True)
