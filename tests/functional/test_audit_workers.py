"""The audit's worker processes: Ctrl-C and a worker's death end `incoop audit …` in one line, never a hang.

Scenario (a chain of CHAIN_TXS transfers written by node/bench/chain.py into a
real LevelDB data directory; every step a real `incoop` process):
1. `incoop audit verify --data` runs in its own process group, as from a
   terminal. Once its progress line shows it replaying (its workers ignore
   SIGINT, it does not), Ctrl-C (SIGINT to the whole group, as a terminal
   sends it) stops it within seconds (all its default_workers() workers
   were started at once): exit status 130, the one line "incoop:
   interrupted" after the progress lines,
   no traceback from it or from any worker, no process of the group left,
   and nothing left in its temporary directory (the private copy of the data
   directory and the scratch replay are deleted).
2. Another run: one of its verification worker processes is killed
   (SIGKILL, as the kernel's out-of-memory killer does). The audit stops
   within seconds with exit status 2 ("could not run") and one line naming a
   worker's death; its temporary directory is left empty.
3. The same for `incoop audit export --out FILE`: a killed worker ends it
   with exit status 2 and one line, and neither the statement nor its
   `.partial` file is left behind.
4. A worker killed halfway through writing its answer (the death that hung
   the audit on a ProcessPoolExecutor: the executor's reader waited for the
   rest of the message forever). On a chain of blocks of BIG_BLOCK_TXS
   transactions (an answer is several times a pipe's 64 KiB), the auditing
   process is stopped (SIGSTOP) so that it reads no answer; once a worker
   sleeps in a pipe write (its /proc wchan), part of its answer is in the
   pipe: that worker is killed, the audit continued (SIGCONT). (Until the
   workers hold tasks none writes: the audit is let run 50 ms and stopped
   again.) It stops within seconds with exit status 2 and the one line, as
   in step 2; on the executor it hung every time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.address import to_address
from node.audit.pipeline import default_workers
from node.bench.chain import account_key, build_transfer_chain
from tests.functional.framework import REPO, wait_until

pytestmark = pytest.mark.timeout(240)

CHAIN_TXS = 40_000  # several seconds of audit on two cores: time to act once its first progress line is out
BLOCK_TXS = 100
BIG_CHAIN_TXS = 16_000
BIG_BLOCK_TXS = 1_000  # one task per block (TX_CHUNK 1,024), its answer ~250 KB
STOPPED_WITHIN_S = 20.0
WORKER_DIED = "incoop: a verification worker process ended abruptly"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("audit-workers") / "home"
    build_transfer_chain(home, accounts=200, txs=CHAIN_TXS, block_txs=BLOCK_TXS)
    return home


@pytest.fixture(scope="module")
def big_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("audit-workers-big") / "home"
    build_transfer_chain(home, accounts=200, txs=BIG_CHAIN_TXS, block_txs=BIG_BLOCK_TXS)
    return home


# Ctrl-C's default disposition for the command, as a terminal gives it: a suite started in the background
# (`scripts/test &`) inherits SIGINT ignored, and an ignored signal stays ignored across exec
AS_FROM_A_TERMINAL = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                      "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")


def start(home: Path, tmp: Path, *argv: str) -> subprocess.Popen:
    """`incoop audit ARGV --genesis … --data HOME` in a new process group, TMPDIR a directory of its own."""
    tmp.mkdir()
    return subprocess.Popen(
        [sys.executable, "-c", AS_FROM_A_TERMINAL, "-m", "node.cli", "audit", *argv,
         "--genesis", str(home / "genesis.json"), "--data", str(home)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, start_new_session=True,
        env=dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=str(REPO)),
    )


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def workers(pid: int) -> list[int]:
    """The verification workers: the audit's children spawned by multiprocessing (node/audit/pipeline.py)."""
    found = []
    for child in children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing.spawn" in cmdline and b"resource_tracker" not in cmdline:
            found.append(child)
    return found


def group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def ignores_sigint(pid: int) -> bool:
    """The process ignores SIGINT (its SigIgn mask in /proc), so Ctrl-C cannot make it print a traceback."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False


def wait_for_progress(proc: subprocess.Popen, first_line: str) -> list[str]:
    """Read stderr until a line starting with `first_line`: the command is past its start-up."""
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        assert line, f"the command ended before showing progress: {seen} {proc.stdout.read()}"
        seen.append(line.rstrip("\n"))
        if line.startswith(first_line):
            return seen
    raise AssertionError(f"no progress line in 120 s: {seen}")


def finish(proc: subprocess.Popen) -> tuple[int, list[str]]:
    """Its exit status, within STOPPED_WITHIN_S, and its stderr lines that are not progress lines."""
    started = time.monotonic()
    try:
        _, err = proc.communicate(timeout=STOPPED_WITHIN_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # a hung audit and its workers are not left behind
        proc.communicate()
        raise
    assert time.monotonic() - started < STOPPED_WITHIN_S
    lines = [line for line in err.splitlines() if not line.startswith(("audit: block", "replayed "))]
    return proc.returncode, lines


def assert_left_nothing(tmp: Path) -> None:
    wait_until(lambda: not list(tmp.iterdir()), timeout=5, what=f"{tmp} empty")


def kill_a_worker(proc: subprocess.Popen) -> None:
    found = wait_until(lambda: workers(proc.pid), timeout=10, what="the audit's worker processes")
    os.kill(found[0], signal.SIGKILL)


def test_ctrl_c_stops_the_audit_and_its_workers_in_one_line(home: Path, tmp_path: Path) -> None:
    proc = start(home, tmp_path / "tmp", "verify")
    wait_for_progress(proc, "audit: block ")
    pgid = os.getpgid(proc.pid)
    assert not ignores_sigint(proc.pid)  # the auditing process handles it: it stops the workers
    # every worker is started before the first task (node/audit/pipeline.py), and ignores Ctrl-C
    assert len(workers(proc.pid)) == default_workers() and all(ignores_sigint(pid) for pid in workers(proc.pid))
    os.killpg(pgid, signal.SIGINT)
    status, lines = finish(proc)
    assert (status, lines) == (130, ["incoop: interrupted"])
    wait_until(lambda: not group_members(pgid), timeout=10, what="no process of the audit's group left")
    assert_left_nothing(tmp_path / "tmp")


def test_a_killed_worker_ends_the_audit_with_status_2_and_one_line(home: Path, tmp_path: Path) -> None:
    proc = start(home, tmp_path / "tmp", "verify")
    wait_for_progress(proc, "audit: block ")
    kill_a_worker(proc)
    status, lines = finish(proc)
    assert status == 2 and len(lines) == 1 and lines[0].startswith(WORKER_DIED), lines
    assert "the audit could not finish" in lines[0] and "Traceback" not in lines[0]
    assert_left_nothing(tmp_path / "tmp")


def test_a_killed_worker_ends_an_export_with_no_file_left(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "statement.csv"
    proc = start(home, tmp_path / "tmp", "export", "--account", to_address(account_key(0).pubkey), "--out", str(out))
    wait_for_progress(proc, "replayed ")
    kill_a_worker(proc)
    status, lines = finish(proc)
    assert status == 2 and len(lines) == 1 and lines[0].startswith(WORKER_DIED), lines
    assert not out.exists() and not out.with_name(out.name + ".partial").exists()
    assert_left_nothing(tmp_path / "tmp")


def writing(pid: int) -> bool:
    """The process sleeps in a pipe write: the pipe is full and the rest of its message not yet written."""
    try:
        return "pipe_write" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False


def stopped_with_a_worker_writing(proc: subprocess.Popen) -> int:
    """Stop the auditing process until one of its workers sleeps writing its answer; that worker."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            return wait_until(lambda: [pid for pid in workers(proc.pid) if writing(pid)], timeout=1,
                              what="a worker sleeping in the write of its answer")[0]
        except AssertionError:
            os.kill(proc.pid, signal.SIGCONT)
            time.sleep(0.05)
    raise AssertionError("no worker was seen writing its answer in 60 s")


def test_a_worker_killed_halfway_through_its_answer_ends_the_audit(big_home: Path, tmp_path: Path) -> None:
    proc = start(big_home, tmp_path / "tmp", "verify", "--workers", "2")  # 16 blocks: workers only if asked
    try:
        os.kill(stopped_with_a_worker_writing(proc), signal.SIGKILL)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    status, lines = finish(proc)
    assert status == 2 and len(lines) == 1 and lines[0].startswith(WORKER_DIED), lines
    assert_left_nothing(tmp_path / "tmp")
