"""`incoop devnet`, as a person runs it: start, Ctrl-C, run again to resume, --reset to start over.

1. start a devnet (four validators and one observer) on free ports; it reports its layout once every
   node answers and the demo federation's first day (identities, attestations, credits, the
   marketplace's listings, an open purchase group, a reviewed order and one in dispute) is played
2. the chain grows (heartbeat blocks) on every node; Ctrl-C stops it with status 0
3. a second run resumes the same chain (same genesis, height not lower)
4. asking a stopped devnet for a different shape or --base-port without --reset, or for zero
   validators, is a one-line error; --reset without a terminal and without --yes, or answered "no",
   is a one-line refusal and deletes nothing
5. --reset answered "yes" at a terminal starts a new chain
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from node.devnet_layout import DEVNET_PASSWORD
from tests.functional.framework import Api, ApiCallError, free_port_block, run_cli
from tests.functional.terminal import typed_at_terminal

pytestmark = pytest.mark.timeout(180)


def _status(url: str) -> dict:
    return Api(url).status()


def _account(url: str, wallet_dir: str, label: str) -> dict:
    address = json.loads(Path(wallet_dir, f"{label}.json").read_text())["address"]
    return Api(url).get(f"/v1/accounts/{address}")


def _incoop(*argv: str, stdin: int = subprocess.DEVNULL, env: dict | None = None) -> subprocess.CompletedProcess:
    """`incoop ...` as its own process (the devnet supervises processes), with no terminal on stdin unless
    one is given; never a traceback."""
    proc = run_cli(*argv, env=env, stdin=stdin)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _one_line_refusal(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == "", "a refused run prints nothing on stdout (no banner)"
    assert proc.stderr.startswith("incoop: ") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


class Devnet:
    """`incoop devnet --json` as a child process; its stderr is collected as it comes (`said`)."""

    def __init__(self, home: Path, port: int, *extra: str, stdin: int = subprocess.DEVNULL):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "devnet", "--home", str(home), "--base-port", str(port), "--json", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=stdin,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    def said(self) -> str:
        return "".join(self.lines)

    def wait_said(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.said():
            assert time.monotonic() < deadline, f"the devnet did not say {text!r}; it said:\n{self.said()}"
            assert self.proc.poll() is None, f"the devnet exited ({self.proc.returncode}):\n{self.said()}"
            time.sleep(0.2)
        return self.said()

    def layout(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            self._reader.join(timeout=5)
            raise AssertionError(f"devnet exited: {self.proc.wait()} {self.said()}")
        return json.loads(line)

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        status = self.proc.wait(timeout=30)
        self._reader.join(timeout=5)
        return status


def test_devnet_starts_stops_on_ctrl_c_and_resumes(tmp_path):
    home = tmp_path / "devnet"
    port = free_port_block(10)
    first = Devnet(home, port, "--observers", "1")
    try:
        layout = first.layout()
        nodes = layout["nodes"]
        assert [(n["name"], n["role"]) for n in nodes] == [
            ("node0", "validator"), ("node1", "validator"), ("node2", "validator"), ("node3", "validator"),
            ("observer0", "observer"),
        ]
        url = nodes[0]["api"]
        assert url == f"http://127.0.0.1:{port}"
        assert Path(layout["wallet_dir"], "anna.json").exists()
        assert (layout["piazza"], layout["explorer"]) == (url + "/", url + "/explorer")
        with urllib.request.urlopen(layout["piazza"], timeout=10) as page:  # what the README says to open
            assert page.headers["Content-Type"].startswith("text/html") and b"/piazza/js/piazza.js" in page.read()
        genesis_hash = _status(url)["genesis_hash"]
        deadline = time.monotonic() + 30
        while min(_status(n["api"])["height"] for n in nodes) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        height = _status(url)["height"]
        assert min(_status(n["api"])["height"] for n in nodes) >= 1, "no heartbeat block on every node within 30 s"
        assert len(_status(url)["peers"]) == 4, "a validator peers with the three others and the observer"
        # the demo federation's first day was played: identities, attestations, credits with rules
        anna = _account(url, layout["wallet_dir"], "anna")
        assert anna["identity"] is not None
        # 50.00 of welfare credits, less the two loaves of bread she bought in the demo marketplace
        assert {b["class"]: b["amount"] for b in anna["balances"]}["welfare-acme-2026"] == 50_000 - 2 * 420
        sara = _account(url, layout["wallet_dir"], "sara")
        assert {b["class"] for b in sara["balances"]} >= {"virtu-trento", "gas-trento"}
        attributes = {a["attribute"] for a in Api(url).get(f"/v1/identities/{sara['identity']}")["attestations"]}
        assert attributes == {"resident:trento", "member:gas-trento"}
        _assert_demo_market(url, layout["wallet_dir"])
        _assert_demo_agora([n["api"] for n in nodes], layout["wallet_dir"])
    finally:
        assert first.interrupt() == 0

    _one_line_refusal(_incoop("devnet", "--home", str(home), "--validators", "7"), "--reset")
    # its genesis names its ports: another --base-port is refused, not ignored
    _one_line_refusal(_incoop("devnet", "--home", str(home), "--base-port", str(port + 100)),
                      f"uses ports {port}..", f"--base-port {port + 100}")
    before = _fingerprint(home)
    _one_line_refusal(_incoop("devnet", "--home", str(home), "--reset"), "--yes", "no terminal")
    with typed_at_terminal("no") as terminal:
        refused = _incoop("devnet", "--home", str(home), "--reset", stdin=terminal)
    assert refused.returncode == 1 and "Type yes to delete the devnet" in refused.stderr
    # (the answer and its Enter are echoed on the terminal, not on stderr)
    assert refused.stderr.endswith(f"incoop: not confirmed; did not delete the devnet in {home}\n")
    assert _fingerprint(home) == before, "a refused --reset deletes nothing"

    second = Devnet(home, port)
    try:
        second.layout()
        status = _status(url)
        assert status["genesis_hash"] == genesis_hash
        assert status["height"] >= height
    finally:
        assert second.interrupt() == 0

    with typed_at_terminal("yes") as terminal:
        third = Devnet(home, port, "--reset", stdin=terminal)
        try:
            third.layout()
            assert _status(url)["genesis_hash"] != genesis_hash
            assert "Type yes to delete the devnet" in third.said()
        finally:
            assert third.interrupt() == 0


def _address(wallet_dir: str, label: str) -> str:
    return json.loads(Path(wallet_dir, f"{label}.json").read_text())["address"]


def _assert_demo_market(url: str, wallet_dir: str) -> None:
    """The demo marketplace of the first day (node/devnet_seed.py; README, "Buy and sell"): every
    provider's listings, an open purchase group with two members, anna's bread delivered and reviewed,
    giulia's course in dispute before the demo's arbiter."""
    api = Api(url)
    who = {label: _address(wallet_dir, label) for label in ("sait", "farmacia", "libreria", "trasporti", "gas",
                                                             "anna", "giulia", "arbitro")}
    listings = api.get("/v1/market/listings?limit=50")
    assert len(listings["listings"]) == 8 and listings["next"] is None
    assert {item["provider"] for item in listings["listings"]} == {who[p] for p in ("sait", "farmacia", "libreria",
                                                                                     "trasporti")}
    assert {item["arbiter"] for item in listings["listings"]} == {who["arbitro"]}
    assert all(item["orderable"] for item in listings["listings"])
    groups = api.get("/v1/gas/groups?status=open")["groups"]
    assert [(g["organiser"], g["members"], g["committed_qty"], g["accepting"]) for g in groups] == [
        (who["gas"], 2, 5, True)]
    bread = api.get(f"/v1/market/orders?buyer={who['anna']}")["orders"]
    assert [(o["status"], o["completed"], o["review"]["rating"]) for o in bread] == [("confirmed", True, 5)]
    assert api.get(f"/v1/market/providers/{who['sait']}/reviews")["rating"]["count"] == 1
    disputed = api.get("/v1/market/orders?status=disputed")["orders"]
    assert [(o["buyer"], o["provider"], o["escrow"]["amount"]) for o in disputed] == [
        (who["giulia"], who["libreria"], 15_000)]
    # and as a person sees it, from the command line the devnet's banner suggests
    env = dict(os.environ, INCOOP_NODE=url, INCOOP_WALLET=wallet_dir, INCOOP_PASSWORD=DEVNET_PASSWORD)
    shown = _incoop("market", "show", bread[0]["listing"], env=env)
    assert shown.returncode == 0 and "Pane di montagna" in shown.stdout and "rated 5.0 of 5 by 1 buyers" in shown.stdout


def _assert_demo_agora(urls: list[str], wallet_dir: str) -> None:
    """The demo agora of the first day (node/devnet_seed.py; README, "Take part in the agora"): the
    federation's assembly and the comune's consulta, giulia's proposal with its thread and three supports
    under an open ballot (sara yes, paolo no), SAIT's proposal in the assembly, the consulta's budget; every
    node holds the texts."""
    api = Api(urls[0])
    who = {label: _address(wallet_dir, label) for label in ("federation", "comune", "giulia", "sait")}
    spaces = {s["name"]: s for s in api.get("/v1/agora/spaces")["spaces"]}
    assert set(spaces) == {"Assemblea della federazione", "Consulta di Trento"}
    town, assembly = spaces["Consulta di Trento"], spaces["Assemblea della federazione"]
    assert (town["eligibility"], town["moderators"], assembly["eligibility"]) == ("resident:trento", [who["comune"]], "")
    proposals = api.get(f"/v1/agora/spaces/{town['id']}/proposals")["proposals"]
    racks = [p for p in proposals if p["signer"] == who["giulia"]]
    assert len(racks) == 1, (who, proposals)
    [rack] = racks
    assert (rack["supports"], rack["status"]) == (3, "visible")
    [hours] = api.get(f"/v1/agora/spaces/{assembly['id']}/proposals")["proposals"]
    assert hours["signer"] == who["sait"] and hours["text"].startswith("Orari comuni")
    ballot = api.get(f"/v1/agora/ballots/{rack['ballot']}")
    assert (ballot["status"], ballot["counts"], ballot["mode"]) == ("open", [1, 1, 0], "public")
    _assert_demo_budget(api, town, rack, wallet_dir)
    for url in urls:  # the texts went to node 0 only; every node fetched them from its peers
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            thread = Api(url).get(f"/v1/agora/posts/{rack['id']}")
            if thread["post"]["text_state"] == "shown" and all(c["text_state"] == "shown" for c in thread["comments"]):
                break
            time.sleep(0.2)
        assert thread["post"]["text"].startswith("Una rastrelliera"), url
        assert [c["depth"] for c in thread["comments"]] == [1, 2] and all(c["text"] for c in thread["comments"]), url


def _assert_demo_budget(api: Api, town: dict, rack: dict, wallet_dir: str) -> None:
    """The consulta's participatory budget (FORMAT.md §6.7.1): 5000.00 demo-eur from the comune, taking
    selections; the rack (1800.00), luca's gardens (2500.00) and sara's fountain (1200.00) ask more than it
    holds; sara, paolo and elena selected, so the rule would fund the gardens and the fountain (3700.00)."""
    who = {label: _address(wallet_dir, label) for label in ("comune", "giulia", "luca", "sara")}
    [summary] = api.get(f"/v1/agora/spaces/{town['id']}/budgets")["budgets"]
    assert (summary["funder"], summary["class_id"], summary["amount"], summary["phase"], summary["selectors"]) == (
        who["comune"], "demo-eur", 500_000, "selecting", 3)
    budget = api.get(f"/v1/agora/budgets/{summary['id']}")
    assert [(p["owner"], p["amount"], p["selections"], p["projected"]) for p in budget["projects"]] == [
        (who["giulia"], 180_000, 1, "unfunded"), (who["luca"], 250_000, 2, "funded"),
        (who["sara"], 120_000, 2, "funded")]
    assert budget["projects"][0]["post"] == rack["id"]
    assert budget["bar"] == {"amount": 500_000, "allocated": 370_000, "left": 130_000}


def test_devnet_refuses_a_federation_without_validators(tmp_path):
    proc = _incoop("devnet", "--home", str(tmp_path / "d"), "--validators", "0")
    assert proc.returncode == 1
    assert proc.stderr.startswith("incoop: --validators 0") and len(proc.stderr.strip().splitlines()) == 1


def _fingerprint(home: Path) -> dict[str, str]:
    """What a devnet run or --reset may not touch behind a running one: genesis, layout, keys, wallet, secret."""
    names = ["genesis.json", "devnet.json", "registrars/uniqueness.secret", "wallet/*.json",
             "nodes/*/genesis.json", "nodes/*/config.json", "nodes/*/node_key.json", "nodes/*/*.pass"]
    return {str(path.relative_to(home)): hashlib.sha256(path.read_bytes()).hexdigest()
            for pattern in names for path in sorted(home.glob(pattern))}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a child of the devnet that died and was not reaped yet is a zombie: not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _answers(url: str) -> bool:
    try:
        _status(url)
        return True
    except (OSError, ApiCallError):
        return False


def test_a_running_devnet_is_named_left_alone_and_outlives_a_dead_node(tmp_path):
    """Scenario (issue 13: what a new user trying the devnet met):

    1. a devnet of four validators runs in HOME
    2. a second `incoop devnet --home HOME`, and `--reset --yes` on it, are refused in one line naming
       HOME and the running devnet's pid, with nothing on stdout; genesis, layout, keys, wallet and
       secret are byte for byte the same, every node's node.out still holds what it held, no node log
       mentions LevelDB's LOCK, and every node still answers
    3. node2 is killed with SIGKILL: the devnet says so (which node, how, how to restart it) and goes
       on; the three others commit transfers
    4. `incoop devnet restart-node 2` brings it back: it answers and catches up with node0
    5. `incoop devnet stop-node node3` stops node3 alone; a transfer still commits, which needs node2's
       vote (three of four): the restarted node votes; with its config broken, `restart-node node3` is
       refused in one line (the devnet shows its log) and the devnet goes on; mended, node3 comes back
    6. Ctrl-C stops the devnet with status 0 and every node it ran, the restarted ones too; then
       `restart-node` is refused in one line: no devnet runs there
    """
    home = tmp_path / "devnet"
    port = free_port_block(8)
    devnet = Devnet(home, port)
    pids: list[int] = []
    try:
        layout = devnet.layout()
        nodes = {n["name"]: n for n in layout["nodes"]}
        pids = [n["pid"] for n in layout["nodes"]]
        env = dict(os.environ, INCOOP_NODE=nodes["node0"]["api"], INCOOP_WALLET=layout["wallet_dir"],
                   INCOOP_PASSWORD=DEVNET_PASSWORD)

        def transfer_commits() -> int:
            sent = _incoop("wallet", "send", "--from", "anna", "--to", "marco", "--class", "demo-eur",
                           "--amount", "1", "--json", env=env)
            assert sent.returncode == 0, sent.stderr
            return json.loads(sent.stdout)["height"]

        files = _fingerprint(home)
        outs = {name: (home / "nodes" / name / "node.out").read_bytes() for name in nodes}
        started = time.monotonic()
        for extra in ((), ("--reset", "--yes")):
            _one_line_refusal(_incoop("devnet", "--home", str(home), "--base-port", str(port), *extra),
                              f"a devnet is already running in {home}", f"pid {devnet.proc.pid}")
        assert time.monotonic() - started < 20, "refused before any node was started"
        assert _fingerprint(home) == files
        for name, node in nodes.items():
            node_home = home / "nodes" / name
            assert node_home.joinpath("node.out").read_bytes().startswith(outs[name]), f"{name}: node.out kept"
            assert b"LOCK" not in node_home.joinpath("node.log").read_bytes(), f"{name}: no second node on its store"
            assert _answers(node["api"]), name

        os.kill(nodes["node2"]["pid"], signal.SIGKILL)
        said = devnet.wait_said("restart it with:")
        assert "node2 was killed by SIGKILL; the other nodes go on" in said
        assert "devnet restart-node node2" in said
        heights = [transfer_commits() for _ in range(3)]
        assert heights == sorted(heights) and devnet.proc.poll() is None
        assert not _answers(nodes["node2"]["api"])

        restarted = _incoop("devnet", "restart-node", "2", "--home", str(home))
        assert restarted.returncode == 0, restarted.stderr
        assert restarted.stdout.startswith("node2 restarted (pid ")
        pids.append(int(restarted.stdout.split("(pid ")[1].split(")")[0]))
        target = _status(nodes["node0"]["api"])["height"]
        deadline = time.monotonic() + 30
        while _status(nodes["node2"]["api"])["height"] < target:
            assert time.monotonic() < deadline, "node2 did not catch up within 30 s"
            time.sleep(0.2)

        stopped = _incoop("devnet", "stop-node", "node3", "--home", str(home))
        assert stopped.returncode == 0 and stopped.stdout.startswith("node3 stopped"), stopped.stderr
        assert not _answers(nodes["node3"]["api"])
        assert transfer_commits() > heights[-1], "node0, node1 and the restarted node2 commit together"
        config = home / "nodes" / "node3" / "config.json"
        good = config.read_bytes()
        config.write_text("{not json")
        _one_line_refusal(_incoop("devnet", "restart-node", "node3", "--home", str(home)), "node3 did not start")
        assert "node3 exited with status 1 while starting" in devnet.wait_said("while starting")
        config.write_bytes(good)
        restarted = _incoop("devnet", "restart-node", "node3", "--home", str(home), "--json")
        assert restarted.returncode == 0 and json.loads(restarted.stdout)["ok"] is True, restarted.stderr
        pids.append(int(restarted.stdout.split("(pid ")[1].split(")")[0]))
        assert _answers(nodes["node3"]["api"])
        _one_line_refusal(_incoop("devnet", "restart-node", "node9", "--home", str(home)), "no node 'node9'")
    finally:
        assert devnet.interrupt() == 0
    assert "devnet stopped" in devnet.said()
    assert not [pid for pid in pids if _alive(pid)], "Ctrl-C stopped every node, the restarted ones too"
    _one_line_refusal(_incoop("devnet", "restart-node", "2", "--home", str(home)), "is not running")


def test_the_home_lock_names_its_holder_and_dies_with_it(tmp_path):
    """The lock of a devnet home: a second taker learns the holder's pid; SIGKILL of the holder frees it
    (the kernel drops a flock with its process), so a stale lock file never blocks the next run."""
    from node.devnet_lock import DevnetBusy, DevnetLock, running_pid

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from node.devnet_lock import DevnetLock;"
         f"DevnetLock(Path({str(tmp_path)!r})).acquire(); print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        assert running_pid(tmp_path) == holder.pid
        with pytest.raises(DevnetBusy) as busy:
            DevnetLock(tmp_path).acquire()
        assert busy.value.pid == holder.pid
    finally:
        holder.kill()
        holder.wait()
    assert running_pid(tmp_path) is None
    lock = DevnetLock(tmp_path)
    lock.acquire()
    assert running_pid(tmp_path) == os.getpid()
    lock.release()


def test_a_port_in_use_is_named_before_anything_is_written(tmp_path):
    """Nodes left running by a devnet that was killed, or any other program, on a new devnet's ports: one
    line naming the port and the node, and no home is left behind."""
    import socket

    port = free_port_block(8)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port + 5))  # node2's peer port
        squatter.listen()
        refused = _incoop("devnet", "--home", str(tmp_path / "new"), "--base-port", str(port))
    _one_line_refusal(refused, f"port {port + 5} (node2's peer port) is already in use")
    assert not (tmp_path / "new").exists()
