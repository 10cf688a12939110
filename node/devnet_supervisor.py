"""The devnet's node processes: start them, watch them, stop or restart one, stop them all.

Each node is its own `incoop node start` process, in its own session so that
a Ctrl-C in the devnet's terminal reaches the devnet alone, which then stops
the nodes in order (SIGTERM, then SIGKILL after 15 s). Once the federation
is up, a node that dies is reported (which one, how it ended, the end of its
log, how to restart it) and the others go on, as they would on a real
federation: four validators keep committing with one down. It is restarted
only when asked (`incoop devnet restart-node`, node/devnet_control.py), so
that a person trying fault tolerance decides when it comes back.

A node's own log is `node.log` in its home (rotated by the node). What it
prints outside its log (the line saying it serves, a refusal to start, a
crash) is appended to `node.out` beside it, after a line marking each start,
so a restart does not wipe the output of the run that died.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cli.common import CliError
from node.devnet_control import Request
from node.devnet_layout import DevnetLayout
from wallet.client import NodeClient, NodeError

STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
START_MARK = "--- started by incoop devnet"


class Interrupted(Exception):
    """The devnet was asked to stop (Ctrl-C) while it waited for a node."""


def status(url: str) -> dict | None:
    """The node's /v1/status, or None if it does not answer (yet)."""
    try:
        return NodeClient(url, timeout=1).status()
    except NodeError:
        return None


def ended(returncode: int) -> str:
    """How a process ended, in words: its exit status, or the signal that killed it."""
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


def log_tail(node_home: Path, lines: int = 15) -> str:
    """The end of the node's log, then what its last run printed outside it (a refusal to start is in both)."""
    log = _tail(node_home / "node.log", lines)
    out = _tail(node_home / "node.out", 10 * lines)
    marks = [i for i, line in enumerate(out) if line.startswith(START_MARK)]
    out = out[marks[-1] + 1:] if marks else out
    return "\n".join(log + [f"node.out: {line}" for line in out[-lines:]]) or "(no log)"


def _tail(path: Path, lines: int) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return []


class Supervisor:
    """The devnet's node processes, by node name. `should_stop` says Ctrl-C came; `say` writes to the person;
    `home_option` is what the commands it suggests need to find this devnet (`--home DIR`, or nothing)."""

    def __init__(self, layout: DevnetLayout, should_stop: Callable[[], bool], say: Callable[[str], None],
                 home_option: str = ""):
        self.layout = layout
        self.home_option = home_option
        self.should_stop = should_stop
        self.say = say
        self.homes = dict(zip(layout.names, layout.node_homes, strict=True))
        self.urls = dict(zip(layout.names, layout.api_urls, strict=True))
        self.procs: dict[str, subprocess.Popen | None] = {name: None for name in layout.names}
        self.down: set[str] = set()  # stopped or dead, and already said so

    def pid(self, name: str) -> int | None:
        proc = self.procs[name]
        return proc.pid if proc is not None and proc.poll() is None else None

    def start_all(self) -> list[dict]:
        """Start every node and wait until each answers; their statuses in layout order.
        A node that exits meanwhile stops the whole start (CliError with the end of its log)."""
        for name in self.layout.names:
            self._start(name)
        ready = self._wait_ready(self.layout.names)
        return [ready[name] for name in self.layout.names]

    def watch(self) -> None:
        """Say which nodes have died since the last look; the others go on."""
        for name, proc in self.procs.items():
            if proc is None or name in self.down or proc.poll() is None:
                continue
            self.down.add(name)
            log = "\n".join(f"  {line}" for line in log_tail(self.homes[name]).splitlines())
            self.say(
                f"devnet: {name} {ended(proc.returncode)}; the other nodes go on. Its log ends with:\n{log}\n"
                f"devnet: restart it with: {self._restart_command(name)}"
            )

    def handle(self, request: Request) -> tuple[bool, str]:
        """Act on a request from `incoop devnet stop-node/restart-node`; (done, one line to answer)."""
        name = request.node
        if name not in self.procs:
            return False, f"the devnet in {self.layout.home} has no node {name!r} ({', '.join(self.layout.names)})"
        if request.action == "stop":
            if self.pid(name) is None:
                return True, f"{name} is not running; restart it with: {self._restart_command(name)}"
            self._stop_one(name)
            self.say(f"devnet: {name} stopped on request; the other nodes go on "
                     f"(restart it with: {self._restart_command(name)})")
            return True, f"{name} stopped; the other nodes go on"
        if request.action == "restart":
            if self.pid(name) is not None:
                self._stop_one(name)
            self._start(name)
            try:
                height = self._wait_ready([name])[name]["height"]
            except CliError as exc:
                self.say(f"devnet: {exc}")
                last = log_tail(self.homes[name], 1).splitlines()[-1]
                return False, f"{name} did not start: {last} (the devnet's terminal shows more)"
            pid = self.procs[name].pid
            self.say(f"devnet: {name} restarted on request (pid {pid}, height {height})")
            return True, f"{name} restarted (pid {pid}), API {self.urls[name]} at height {height}"
        return False, f"unknown request {request.action!r}"

    def stop_all(self) -> None:
        live = [proc for proc in self.procs.values() if proc is not None and proc.poll() is None]
        for proc in live:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for proc in live:
            _reap(proc, deadline)

    def _restart_command(self, name: str) -> str:
        return f".venv/bin/incoop devnet restart-node {name}{self.home_option}"

    def _start(self, name: str) -> None:
        home = self.homes[name]
        with open(home / "node.out", "ab") as out:  # the child keeps its own descriptor
            out.write(f"{START_MARK} at {time.strftime('%Y-%m-%d %H:%M:%S')} ---\n".encode())
            out.flush()
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "node.cli", "node", "start", "--home", str(home)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.down.discard(name)

    def _stop_one(self, name: str) -> None:
        proc = self.procs[name]
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            _reap(proc, time.monotonic() + STOP_TIMEOUT_S)
        self.down.add(name)

    def _wait_ready(self, names: list[str]) -> dict[str, dict]:
        """Wait until each named node answers; CliError if one exits first or all do not within the timeout,
        Interrupted on Ctrl-C."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        ready: dict[str, dict] = {}
        while len(ready) < len(names):
            if self.should_stop():
                raise Interrupted
            for name in names:
                proc = self.procs[name]
                if name in ready or proc is None:
                    continue
                if proc.poll() is not None:
                    self.down.add(name)
                    raise CliError(f"{name} {ended(proc.returncode)} while starting; its log ends with:\n"
                                   f"{log_tail(self.homes[name])}")
                answer = status(self.urls[name])
                if answer is not None:
                    ready[name] = answer
            if time.monotonic() > deadline:
                late = ", ".join(name for name in names if name not in ready)
                raise CliError(f"{late} did not answer within {STARTUP_TIMEOUT_S:.0f} s; see node.log in their homes")
            if len(ready) < len(names):
                time.sleep(0.2)
        return ready


def _reap(proc: subprocess.Popen, deadline: float) -> None:
    try:
        proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
