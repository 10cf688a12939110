"""The `incoop` program: every mistake is one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "argv",
    [
        ["bogus"],
        ["wallet", "send", "--amount"],
        ["genesis", "validate"],
        ["node", "start", "--home"],
    ],
)
def test_usage_mistakes_are_one_line(argv):
    proc = subprocess.run([sys.executable, "-m", "node.cli", *argv], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("incoop: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_help_lists_every_role():
    proc = subprocess.run([sys.executable, "-m", "node.cli", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for command in ("node", "devnet", "genesis", "wallet", "tx", "registrar", "credits", "audit"):
        assert command in proc.stdout


def test_help_imports_no_command_module():
    """`incoop --help` answers at once: it loads no command's module (each pulls in aiohttp, LevelDB, ...)."""
    from node.cli import COMMANDS

    probe = "import sys, runpy; sys.argv = ['incoop', '--help']\ntry:\n    runpy.run_module('node.cli', run_name='__main__')\n" \
            "except SystemExit:\n    pass\nprint(sorted(set(sys.modules) & MODULES))"
    modules = {module for module, _ in COMMANDS.values()} | {"aiohttp", "plyvel", "pydantic"}
    proc = subprocess.run([sys.executable, "-c", f"MODULES = {modules!r}\n{probe}"], capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_each_command_loads_its_own_module_and_version_is_printed():
    proc = subprocess.run([sys.executable, "-m", "node.cli", "credits", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and "create-class" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "node.cli", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("incoop ")


def test_node_init_then_genesis_then_start_is_how_a_member_joins(tmp_path):
    """node init makes an encrypted key and config; its address goes into genesis; the node starts from it."""
    import json
    import os
    import signal
    import time
    import urllib.request

    from tests.functional.framework import free_port_block

    port = free_port_block(2)
    (tmp_path / "pw").write_text("secret\n")
    home = tmp_path / "coop1"
    run = lambda *a: subprocess.run([sys.executable, "-m", "node.cli", *a], capture_output=True, text=True, timeout=60)  # noqa: E731
    made = run("node", "init", "--home", str(home), "--api-port", str(port), "--p2p-port", str(port + 1),
               "--password-file", str(tmp_path / "pw"), "--json")
    assert made.returncode == 0, made.stderr
    address = json.loads(made.stdout)["address"]
    again = run("node", "init", "--home", str(home), "--password-file", str(tmp_path / "pw"))
    assert again.returncode == 1 and "not replacing a node key" in again.stderr
    genesis = run("genesis", "new", "--chain-id", "coop-test", "--out", str(home / "genesis.json"),
                  "--validator", f"coop1={address},,ws://127.0.0.1:{port + 1}", "--observer", f"watch={address}")
    assert genesis.returncode == 1 and "observer" in genesis.stderr, "a key is a validator or an observer, not both"
    genesis = run("genesis", "new", "--chain-id", "coop-test", "--out", str(home / "genesis.json"),
                  "--validator", f"coop1={address},,ws://127.0.0.1:{port + 1}")
    assert genesis.returncode == 0, genesis.stderr
    node = subprocess.Popen([sys.executable, "-m", "node.cli", "node", "start", "--home", str(home)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/status", timeout=2) as response:
                    status = json.loads(response.read())
                break
            except OSError:
                assert time.monotonic() < deadline and node.poll() is None, node.stderr.read() if node.poll() else ""
                time.sleep(0.2)
        assert status["chain_id"] == "coop-test" and status["node_address"] == address
        assert status["role"] == "validator"
    finally:
        node.send_signal(signal.SIGTERM)
        assert node.wait(20) == 0
