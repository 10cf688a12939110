"""One running `incoop devnet` per devnet home: an advisory lock on HOME/devnet.lock.

The devnet process takes the lock before it writes anything in its home
(a new layout, a --reset, a node's node.out) and holds it until it has
stopped its nodes; the file names its process id. A second `incoop devnet`
on the same home, or a --reset of a running one, finds the lock taken and
stops before touching a file, naming the running devnet. `incoop devnet
stop-node/restart-node` check the lock the other way round: they only talk
to a devnet that holds it.

The lock is flock(2) on an open file: the kernel drops it when the process
ends however it ends (even by SIGKILL), so a stale file never blocks a new
run, and the file itself is never removed (removing a lock file races with
the next run opening it). A --reset deletes everything in the home but it.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

LOCK_FILE = "devnet.lock"
_ATTEMPTS = 5  # a concurrent `running_pid` holds a shared lock for a moment: try again briefly


class DevnetBusy(Exception):
    """Another process runs the devnet of this home; `pid` is its process id (0 if unknown)."""

    def __init__(self, pid: int):
        super().__init__(pid)
        self.pid = pid


class DevnetLock:
    """The exclusive lock a running devnet holds on its home."""

    def __init__(self, home: Path):
        self.path = Path(home) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock and write this process's id into the file; DevnetBusy if another holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        for attempt in range(_ATTEMPTS):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == _ATTEMPTS - 1:
                    pid = _read_pid(fd)
                    os.close(fd)
                    raise DevnetBusy(pid) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None


def running_pid(home: Path) -> int | None:
    """The process id of the devnet running in `home` (0 if it cannot be read), or None if none runs."""
    try:
        fd = os.open(Path(home) / LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int:
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or 0)
    except (OSError, ValueError):
        return 0
