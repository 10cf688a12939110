"""Requests to a running devnet from another terminal: stop or restart one of its nodes.

The devnet process owns its nodes (they are its children, stopped with it on
Ctrl-C), so another process does not start or kill them itself: it leaves a
request file in HOME/control/ and waits for the answer file the devnet
writes once it has acted. Files, not a socket, because the devnet already
watches its nodes every half second and a file needs no port, no
authentication beyond the home's own permissions, and no cleanup when
either side dies (the devnet clears the directory when it starts).

    HOME/control/TOKEN.request   {"node": "node2", "action": "restart"}   written by the requester
    HOME/control/TOKEN.answer    {"ok": true, "message": "..."}           written by the devnet

Both are written to a temporary name and renamed, so neither side reads
half a file.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CONTROL_DIR = "control"
ACTIONS = ("stop", "restart")


class ControlError(Exception):
    """The request could not be made or was not answered; the message says why in one line."""


@dataclass(frozen=True)
class Request:
    token: str
    node: str
    action: str


def reset_dir(home: Path) -> None:
    """An empty control directory: requests left by an earlier run are meaningless now."""
    directory = Path(home) / CONTROL_DIR
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(mode=0o700)


def send(home: Path, node: str, action: str, timeout: float, still_running: Callable[[], bool]) -> dict:
    """Ask the devnet of `home` to act on `node`; its answer ({"ok", "message"}), or ControlError."""
    directory = Path(home) / CONTROL_DIR
    if not directory.is_dir():
        raise ControlError(f"{directory} is missing: is the devnet in {home} from an older incoop?")
    token = secrets.token_hex(8)
    request = directory / f"{token}.request"
    _write(request, {"node": node, "action": action})
    answer = directory / f"{token}.answer"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answer.exists():
            data = json.loads(answer.read_text(encoding="utf-8"))
            answer.unlink(missing_ok=True)
            return data
        if not still_running():
            request.unlink(missing_ok=True)
            raise ControlError(f"the devnet in {home} stopped before answering")
        time.sleep(0.2)
    request.unlink(missing_ok=True)
    raise ControlError(f"the devnet in {home} did not answer within {timeout:.0f} s")


def take(home: Path) -> Iterator[Request]:
    """The requests waiting in `home`, oldest first, each removed as it is taken."""
    directory = Path(home) / CONTROL_DIR
    for path in sorted(directory.glob("*.request"), key=_age):
        token = path.name.removesuffix(".request")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            path.unlink()
        except (OSError, ValueError):
            continue  # withdrawn by its sender meanwhile, or not ours
        if isinstance(data, dict):
            yield Request(token, str(data.get("node")), str(data.get("action")))


def answer(home: Path, request: Request, ok: bool, message: str) -> None:
    _write(Path(home) / CONTROL_DIR / f"{request.token}.answer", {"ok": ok, "message": message})


def _age(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _write(path: Path, data: dict) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data) + "\n", encoding="utf-8")
    temporary.replace(path)
