"""The `incoop` program: every mistake is one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.functional.framework import run_cli


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
    proc = run_cli(*argv)
    assert proc.returncode == 2
    assert proc.stderr.startswith("incoop: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_help_lists_every_role():
    proc = run_cli("--help")
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
    proc = run_cli("credits", "--help")
    assert proc.returncode == 0 and "create-class" in proc.stdout
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("incoop ")


def test_node_init_then_genesis_then_start_is_how_a_member_joins(tmp_path):
    """node init makes an encrypted key and config; its address goes into genesis; the node starts from it."""
    import json

    from tests.functional.framework import NodeProcess, free_port_block

    port = free_port_block(2)
    (tmp_path / "pw").write_text("a secret of a node\n")
    (tmp_path / "pw").chmod(0o600)
    home = tmp_path / "coop1"
    made = run_cli("node", "init", "--home", str(home), "--api-port", str(port), "--p2p-port", str(port + 1),
               "--password-file", str(tmp_path / "pw"), "--json")
    assert made.returncode == 0, made.stderr
    assert home.stat().st_mode & 0o777 == 0o700, "the node's home is the member's alone"
    address = json.loads(made.stdout)["address"]
    again = run_cli("node", "init", "--home", str(home), "--password-file", str(tmp_path / "pw"))
    assert again.returncode == 1 and "not replacing a node key" in again.stderr
    genesis = run_cli("genesis", "new", "--chain-id", "coop-test", "--out", str(home / "genesis.json"),
                  "--validator", f"coop1={address},,ws://127.0.0.1:{port + 1}", "--observer", f"watch={address}")
    assert genesis.returncode == 1 and "observer" in genesis.stderr, "a key is a validator or an observer, not both"
    genesis = run_cli("genesis", "new", "--chain-id", "coop-test", "--out", str(home / "genesis.json"),
                  "--validator", f"coop1={address},,ws://127.0.0.1:{port + 1}")
    assert genesis.returncode == 0, genesis.stderr
    node = NodeProcess(home, f"http://127.0.0.1:{port}")
    try:
        status = node.start(wait=False).wait_serving(30)
        assert status["chain_id"] == "coop-test" and status["node_address"] == address
        assert status["role"] == "validator"
        assert [[m["name"], m["version"]] for m in status["rules"]["modules"]] == json.loads(
            (home / "genesis.json").read_text())["modules"] == [["credits", 1], ["identity", 1], ["evidence", 1],
                                                                ["market", 1], ["gas", 1], ["agora", 1]]
    finally:
        assert node.stop() == 0


def test_every_program_refuses_a_genesis_that_names_other_modules(tmp_path):
    """A genesis written by a program with other rules (here: evidence version 2, and a budget module).

    1. `incoop genesis new` writes this program's list; the node's home gets it.
    2. The list is changed as another program would have written it.
    3. `incoop node start` refuses in one line naming both lists.
    4. `incoop audit verify` refuses with exit 2 (could not run), the same line.
    5. `incoop genesis validate` refuses too; the original document is still valid.
    """
    import json

    from ledger.address import to_address
    from ledger.crypto import SigningKey

    home = tmp_path / "home"
    made = run_cli("node", "init", "--home", str(home), "--generate-passwords", "--json")
    assert made.returncode == 0, made.stderr
    address = json.loads(made.stdout)["address"]
    genesis_file = home / "genesis.json"
    assert run_cli("genesis", "new", "--chain-id", "coop-test", "--out", str(genesis_file), "--validator",
               f"coop1={address}", "--issuer", f"fed={to_address(SigningKey.generate().pubkey)}").returncode == 0
    document = json.loads(genesis_file.read_text())
    assert document["modules"] == [["credits", 1], ["identity", 1], ["evidence", 1], ["market", 1], ["gas", 1],
                                   ["agora", 1]]
    ours = "[credits 1, identity 1, evidence 1, market 1, gas 1, agora 1]"
    for listed, shown in (([["credits", 1], ["identity", 1], ["evidence", 2], ["market", 1], ["gas", 1],
                            ["agora", 1]],
                           "[credits 1, identity 1, evidence 2, market 1, gas 1, agora 1]"),
                          ([["credits", 1], ["identity", 1], ["evidence", 1], ["market", 1], ["gas", 1], ["agora", 1],
                            ["budget", 1]],
                           "[credits 1, identity 1, evidence 1, market 1, gas 1, agora 1, budget 1]"),
                          ([["identity", 1], ["credits", 1], ["evidence", 1], ["market", 1], ["gas", 1],
                            ["agora", 1]],
                           "[identity 1, credits 1, evidence 1, market 1, gas 1, agora 1]")):
        genesis_file.write_text(json.dumps({**document, "modules": listed}))
        line = f"the genesis names the modules {shown}, this program's rules are {ours}"
        for argv, status in ((("node", "start", "--home", str(home)), 1),
                             (("audit", "verify", "--genesis", str(genesis_file), "--data", str(home)), 2),
                             (("genesis", "validate", str(genesis_file)), 1)):
            refused = run_cli(*argv)
            assert refused.returncode == status, (argv, refused.stderr)
            assert refused.stderr.startswith(f"incoop: {line}") and len(refused.stderr.strip().splitlines()) == 1, \
                refused.stderr
            assert "Traceback" not in refused.stderr
    genesis_file.write_text(json.dumps(document))
    assert run_cli("genesis", "validate", str(genesis_file)).returncode == 0


def _init(tmp_path, *argv: str, **env: str) -> subprocess.CompletedProcess:
    import os

    clean = {k: v for k, v in os.environ.items() if k not in ("INCOOP_KEY_PASSWORD", "INCOOP_VAULT_PASSWORD")}
    return run_cli("node", "init", "--home", str(tmp_path / "home"), *argv, env=dict(clean, **env))


def _secret(tmp_path, name: str, text: str, mode: int = 0o600) -> str:
    path = tmp_path / name
    path.write_text(text + "\n")
    path.chmod(mode)
    return str(path)


@pytest.mark.parametrize(
    ("argv", "env", "words"),
    [
        (["--password-file", "{open}"], {}, "open to other users (mode 0644)"),
        (["--password-file", "{short}"], {}, "the node key: the password in"),
        ([], {"INCOOP_KEY_PASSWORD": "hunter2"}, "$INCOOP_KEY_PASSWORD has 7 characters; at least 12"),
        ([], {}, "no password for the node key: give --password-file, set INCOOP_KEY_PASSWORD, or pass --generate-passwords"),
        (["--password-file", "{good}", "--vault", "icnotanaddress"], {}, "--vault icnotanaddress: not an account address"),
        (["--password-file", "{good}", "--vault-password-file", "{good2}"], {}, "give --vault REGISTRAR too"),
        (["--generate-passwords", "--password-file", "{good}"], {}, "--generate-passwords writes the password files"),
        (["--password-file", "{good}", "--vault", "{registrar}", "--vault-password-file", "{good}"], {},
         "the vault key needs a password of its own"),
        (["--password-file", "{good}", "--vault", "{registrar}"], {"INCOOP_VAULT_PASSWORD": "short"},
         "the vault key: $INCOOP_VAULT_PASSWORD has 5 characters"),
    ],
)
def test_node_init_refuses_weak_or_shared_secrets_in_one_line_and_writes_nothing(tmp_path, argv, env, words):
    from ledger.address import to_address
    from ledger.crypto import SigningKey

    names = {
        "open": _secret(tmp_path, "open", "long enough password", 0o644),
        "short": _secret(tmp_path, "short", "hunter2"),
        "good": _secret(tmp_path, "good", "a long enough node password"),
        "good2": _secret(tmp_path, "good2", "another long enough password"),
        "registrar": to_address(SigningKey.generate().pubkey),
    }
    result = _init(tmp_path, *[a.format(**names) for a in argv], **env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("incoop: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert words in result.stderr, result.stderr
    assert not (tmp_path / "home").exists(), "a refused init leaves no home behind"
