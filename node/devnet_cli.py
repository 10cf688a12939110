"""`incoop devnet`: run a local federation in the foreground until Ctrl-C.

Each validator is its own `incoop node start` process, as on a real
federation member's machine; this command only lays out the homes (first run
or --reset), starts the processes (node/devnet_supervisor.py), waits for
their APIs, and stops them cleanly. A second run resumes the same chain from
the same data.

One devnet runs per home (node/devnet_lock.py): before anything is written
the run takes the home's lock, and a second run or a --reset of a running
devnet is refused in one line naming the running one. Before any node starts,
its ports are checked free, so that nodes left over from elsewhere are named
instead of failing on a bind. A --reset asks to type "yes" on a terminal
(`--yes` for scripts). The ports of an existing devnet are those its genesis
names: a different --base-port is refused, not ignored.

Once up, a node that dies is reported and the others go on; `incoop devnet
stop-node N` and `restart-node N`, from another terminal, ask the running
devnet to stop or (re)start one node (node/devnet_control.py).

Each node writes its own log, `node.log` in its home, rotated by size
(`log_file` in its config, node/logs.py); what a node prints outside its
log (the line saying it serves, a start-up refusal, a crash) is appended
to `node.out` beside it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from cli.common import CliError, confirm, emit
from node import devnet_control
from node.devnet_layout import (
    DEVNET_PASSWORD,
    UNIQUENESS_SECRET,
    DevnetError,
    DevnetLayout,
    api_port,
    create_devnet,
    load_devnet,
    p2p_port,
)
from node.devnet_lock import LOCK_FILE, DevnetBusy, DevnetLock, running_pid
from node.devnet_supervisor import (
    STARTUP_TIMEOUT_S,
    STOP_TIMEOUT_S,
    Interrupted,
    Supervisor,
    status,
)
from wallet.client import NodeError

DEFAULT_BASE_PORT = 8700
WATCH_INTERVAL_S = 0.5


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(  # its --help line: node/cli.py COMMANDS
        "devnet",
        usage="%(prog)s [--home HOME] [--base-port P] [--validators N] [--observers M] [--reset [--yes]] [--json]\n"
              "       %(prog)s {stop-node,restart-node} NODE [--home HOME] [--json]",
    )
    parser.add_argument("--home", default=".devnet", help="where the devnet's data lives (default: .devnet)")
    parser.add_argument("--base-port", type=int, default=None,
                        help=f"first API port of a new devnet (default: {DEFAULT_BASE_PORT}; an existing one keeps "
                             "the ports its genesis names)")
    parser.add_argument("--validators", type=int, default=None,
                        help="number of validators of a new devnet (default: 4; an existing one keeps its own)")
    parser.add_argument("--observers", type=int, default=None,
                        help="number of non-voting observer nodes of a new devnet (default: 0)")
    parser.add_argument("--reset", action="store_true",
                        help="delete the devnet's data and start a new chain (asks to type yes)")
    parser.add_argument("--yes", action="store_true", help="--reset without asking (for scripts)")
    parser.add_argument("--json", action="store_true", help="print the layout as one JSON object once running")
    parser.set_defaults(func=cmd_devnet, devnet_command=None)
    control = parser.add_subparsers(dest="devnet_command", metavar="NODE_COMMAND",
                                    title="one node of a running devnet (from another terminal)")
    for name, action, text in (
        ("stop-node", "stop", "stop one node of the running devnet; the others go on"),
        ("restart-node", "restart", "start a stopped or dead node of the running devnet again (or restart it)"),
    ):
        p = control.add_parser(name, help=text)
        p.add_argument("node", help="the node's name (node2, observer0) or a validator's number (2)")
        p.add_argument("--home", default=argparse.SUPPRESS, help="the running devnet's home (default: .devnet)")
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="the answer as JSON")
        p.set_defaults(func=cmd_control, control_action=action)


# --- incoop devnet ---------------------------------------------------------------------------


def cmd_devnet(args: argparse.Namespace) -> int:
    home = Path(args.home).resolve()
    created = not home.exists()
    lock = _lock(home)
    layout = None
    try:
        layout = _prepare(args, home)
        return _run(args, layout)
    finally:
        if layout is None and created:  # refused before a devnet was written: leave no empty home behind
            shutil.rmtree(home, ignore_errors=True)
        lock.release()


def _lock(home: Path) -> DevnetLock:
    """Take the home's lock before anything in it is written (a home of other files is not touched)."""
    if home.exists() and not home.is_dir():
        raise CliError(f"{home} is not a directory")
    if home.is_dir() and not any((home / name).exists() for name in ("devnet.json", LOCK_FILE)) \
            and any(home.iterdir()):
        raise CliError(f"{home} holds files but no devnet; give --home a new or empty directory")
    home.mkdir(parents=True, exist_ok=True)
    lock = DevnetLock(home)
    try:
        lock.acquire()
    except DevnetBusy as busy:
        who = f"pid {busy.pid}" if busy.pid else "its pid unknown"
        raise CliError(f"a devnet is already running in {home} ({who}); stop it first "
                       f"(Ctrl-C in its terminal{f', or kill {busy.pid}' if busy.pid else ''})") from None
    return lock


def _prepare(args: argparse.Namespace, home: Path) -> DevnetLayout:
    """The layout to run, the home's lock held: resumed, reset (once confirmed) or new."""
    leftovers = [p for p in home.iterdir() if p.name != LOCK_FILE]
    if args.reset and leftovers:
        confirm(f"delete the devnet in {home}", "yes", args.yes,
                f"--reset deletes the devnet in {home}: its chain, node keys, demo wallet and vault records; "
                "a new chain starts.")
        _clear(home)
    elif (home / "devnet.json").exists():
        return _resume(args, home)
    elif leftovers:
        raise CliError(f"{home} holds an unfinished devnet (no devnet.json); run with --reset to start over")
    validators = 4 if args.validators is None else args.validators
    observers = 0 if args.observers is None else args.observers
    base_port = DEFAULT_BASE_PORT if args.base_port is None else args.base_port
    names = [f"node{i}" for i in range(validators)] + [f"observer{j}" for j in range(observers)]
    if 1024 <= base_port <= 65535 - 2 * len(names):  # else create_devnet says what is wrong
        _check_ports(names, base_port, "; stop what holds it, or give the new devnet another --base-port")
    try:
        return create_devnet(home, validators=validators, base_port=base_port, observers=observers,
                             demo_federation=True)
    except BaseException as exc:  # a refusal, or Ctrl-C while keys are sealed: no half-written devnet stays
        _clear(home)
        if isinstance(exc, DevnetError):
            raise CliError(str(exc)) from None
        raise


def _resume(args: argparse.Namespace, home: Path) -> DevnetLayout:
    try:
        layout = load_devnet(home)
    except DevnetError as exc:
        raise CliError(str(exc)) from exc
    observers = len(layout.node_homes) - layout.validators
    if args.validators not in (None, layout.validators) or args.observers not in (None, observers):
        raise CliError(
            f"the devnet at {home} has {layout.validators} validator(s) and {observers} observer(s); "
            "pass the same --validators/--observers, or --reset to change them"
        )
    # Its genesis names every validator's API and peer URL (the chain's identity and its peers' addresses),
    # so the ports of an existing devnet cannot move: a different --base-port is refused, never ignored.
    base_port = urlsplit(layout.api_urls[0]).port or DEFAULT_BASE_PORT
    if args.base_port not in (None, base_port):
        raise CliError(f"the devnet at {home} uses ports {base_port}..{base_port + 2 * len(layout.names) - 1}, "
                       f"named in its genesis; drop --base-port {args.base_port}, or add --reset for a new chain "
                       "on the new ports")
    _check_ports(layout.names, base_port, "; stop what holds it (nodes of a devnet that was killed?) "
                 "and run again: this devnet's ports are fixed by its genesis")
    return layout


def _clear(home: Path) -> None:
    """Everything in the home but its lock (held by this process throughout)."""
    for child in home.iterdir():
        if child.name == LOCK_FILE:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _check_ports(names: list[str], base_port: int, hint: str) -> None:
    """Every node's API and peer port can be bound on loopback, as the node will (SO_REUSEADDR, as asyncio)."""
    for i, name in enumerate(names):
        for port, what in ((api_port(base_port, i), "API"), (p2p_port(base_port, i), "peer port")):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    raise CliError(f"port {port} ({name}'s {what}) is already in use on 127.0.0.1{hint}") from None


def _run(args: argparse.Namespace, layout: DevnetLayout) -> int:
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # SIGHUP: the terminal closed
        signal.signal(signum, on_signal)
    devnet_control.reset_dir(layout.home)
    nodes = Supervisor(layout, should_stop=lambda: stopping, say=_say, home_option=_home_option(layout))
    try:
        try:
            statuses = nodes.start_all()
        except Interrupted:
            return 130
        _seed(layout)
        statuses = [status(url) or st for url, st in zip(layout.api_urls, statuses, strict=True)]  # after the seed
        _announce(args, layout, statuses, nodes)
        while not stopping:
            nodes.watch()
            for request in devnet_control.take(layout.home):
                try:
                    done, message = nodes.handle(request)
                except Interrupted:
                    done, message = False, "the devnet is stopping"
                devnet_control.answer(layout.home, request, done, message)
            time.sleep(WATCH_INTERVAL_S)
        _say("stopping the devnet ...")
        return 0
    finally:
        nodes.stop_all()
        if stopping:
            _say(f"devnet stopped; run again to resume the chain in {layout.home}")


def _home_option(layout: DevnetLayout) -> str:
    """What a command run from here needs to find this devnet: nothing for the default home."""
    return "" if layout.home == Path(".devnet").resolve() else f" --home {layout.home}"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _seed(layout: DevnetLayout) -> None:
    """The demo's identities, attestations, accreditations and credits, once per devnet."""
    from node.devnet_seed import SeedError, is_seeded, seed_demo

    if is_seeded(layout) or "gas" not in {p.name.removesuffix(".json") for p in layout.wallet_dir.glob("*.json")}:
        return
    try:
        seed_demo(layout, progress=lambda text: _say(f"devnet: {text} ..."))
    except (SeedError, NodeError) as exc:
        raise CliError(f"seeding the demo federation failed: {exc}; run again with --reset") from None


def _announce(args: argparse.Namespace, layout: DevnetLayout, statuses: list, nodes: Supervisor) -> None:
    wallet = layout.wallet_dir
    data = {
        "home": str(layout.home),
        "chain_id": layout.genesis.chain_id,
        "nodes": [
            {"name": home.name, "role": st["role"], "api": url, "home": str(home), "log": str(home / "node.log"),
             "height": st["height"], "pid": nodes.pid(home.name)}
            for url, home, st in zip(layout.api_urls, layout.node_homes, statuses, strict=True)
        ],
        "piazza": layout.api_urls[0] + "/",
        "explorer": layout.api_urls[0] + "/explorer",
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
        lines.append(f"  {node['name']:<10} {node['role']:<9} API {node['api']}  "
                     f"(height {node['height']}, pid {node['pid']}, log {node['log']})")
    home_option = _home_option(layout)
    last = layout.names[layout.validators - 1]
    lines += [
        f"  open the piazza in a browser: {data['piazza']}  (the explorer: {data['explorer']}; every node "
        "serves both)",
        f"  demo wallet: {wallet} ({len(list(wallet.glob('*.json')))} keys: incoop wallet list; password "
        f"'{DEVNET_PASSWORD}')",
        f"  registrars: federation (vault on {layout.api_urls[0]}), comune"
        + (f" (vault on {layout.api_urls[1]})" if layout.validators > 1 else " (no vault node)")
        + f"; uniqueness secret {layout.home / UNIQUENESS_SECRET}",
        "",
        "In another terminal:",
        f"  export INCOOP_NODE={layout.api_urls[0]} INCOOP_WALLET={wallet} INCOOP_PASSWORD={DEVNET_PASSWORD}",
        "  .venv/bin/incoop wallet balance anna",
        "  .venv/bin/incoop market list                 # the providers' listings; README: Buy and sell",
        "  .venv/bin/incoop agora space list            # the agora's spaces; README: Take part in the agora",
        f"  .venv/bin/incoop devnet stop-node {last}{home_option}     # or kill -9 its pid: the others go on",
        f"  .venv/bin/incoop devnet restart-node {last}{home_option}  # it catches up and votes again",
        "",
        "Ctrl-C stops the devnet; run it again to resume the same chain (--reset starts over).",
    ]
    print("\n".join(lines), flush=True)


# --- incoop devnet stop-node / restart-node ----------------------------------------------------


def cmd_control(args: argparse.Namespace) -> int:
    """Ask the devnet running in --home to stop or (re)start one node, and wait for its answer."""
    if args.reset or args.yes or args.base_port is not None or args.validators is not None \
            or args.observers is not None:
        raise CliError(f"devnet {args.devnet_command} takes only --home and --json")
    home = Path(args.home).resolve()
    if not (home / "devnet.json").exists():
        raise CliError(f"no devnet in {home} (give its --home)")
    if running_pid(home) is None:
        raise CliError(f"the devnet in {home} is not running; `incoop devnet --home {home}` starts it, "
                       "with every node")
    name = f"node{args.node}" if args.node.isdigit() else args.node
    try:
        answer = devnet_control.send(home, name, args.control_action, STARTUP_TIMEOUT_S + 2 * STOP_TIMEOUT_S,
                                     still_running=lambda: running_pid(home) is not None)
    except devnet_control.ControlError as exc:
        raise CliError(str(exc)) from None
    if not answer.get("ok"):
        raise CliError(str(answer.get("message")))
    emit(args.json, answer, str(answer.get("message")))
    return 0
