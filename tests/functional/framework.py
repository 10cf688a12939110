"""Functional test framework: real node processes on loopback ports, driven through the API.

A test gets a devnet layout (node.devnet_layout) written into its temporary
directory, starts `python -m node.cli node start --home …` child processes
(one per validator or observer), and talks to them over HTTP exactly as a
wallet would. Peers can be wired through a fault-injecting relay
(tests/functional/relay.py) so that a test can partition the network. Each node writes its log to HOME/node.log itself,
rotated by size (`log_file`, node/logs.py), and what it prints outside the
log to HOME/node.out; when a test fails the tails of both are printed with
the failure (pytest shows teardown output of failed tests), and the whole
directory stays under pytest's basetemp for reading.

With `tls`, the devnet is a federation with its own CA (tests/tls_certs.py,
docs/tls.md): every node serves its API and peer port over TLS, the genesis
gives https:// and wss:// URLs, and the test's clients trust the CA.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from genesis.document import parse_genesis
from keys.keystore import Keystore, read_key_file, read_password_file
from keys.tls_client import client_context
from ledger.address import from_address, to_address
from ledger.block import decode_raw_block, verify_certificate
from ledger.chain import validators_hash
from ledger.credit_txs import TRANSFER
from ledger.crypto import SigningKey
from ledger.encoding import encode
from ledger.tx import Tx, sign_tx
from node.config import ConsensusConfig, TlsConfig, load_config, write_config
from node.devnet_layout import (
    DEMO_CLASS,
    DEVNET_PASSWORD,
    UNIQUENESS_SECRET,
    DevnetLayout,
    create_devnet,
    p2p_port,
)
from node.ports import free_port_block
from tests.functional.relay import Relay
from tests.tls_certs import write_federation
from tests.weak_kdf import TEST_KDF

REPO = Path(__file__).resolve().parents[2]
MSGPACK = "application/msgpack"
JSON = "application/json"
FAR_EXPIRY = 9_000
"""An expiry height no test reaches, within a node's expiry horizon (mempool.max_expiry_blocks, 10,000
blocks after the next height): a transaction expiring later is refused as EXPIRY_TOO_FAR."""
START_TIMEOUT_S = 20.0

# Fast blocks keep the tests short; heartbeat blocks still come, but rarely enough to read logs.
TEST_BLOCK_INTERVAL_MS = 20
TEST_HEARTBEAT_MS = 300
TEST_MAX_BODY_BYTES = 1024 * 1024
TEST_TX_WORKERS = 0
"""Test nodes check transactions in their own process (node/mempool.py's threads) unless a test asks for
worker processes (tests/functional/test_tx_workers.py, `tx_workers=2`): two more interpreters and a
resource tracker per node, over the suite's hundreds of node starts, cost minutes of CPU on two cores."""
# Short round timeouts: a fault test sees several rounds in a few seconds. They are chain parameters
# (docs/consensus.md, "Timeouts"), so they go into every test devnet's genesis `params`.
TEST_TIMEOUTS = {"timeout_propose_ms": 600, "timeout_prevote_ms": 300, "timeout_precommit_ms": 300,
                 "timeout_delta_ms": 200, "timeout_max_ms": 2000}
TEST_CONSENSUS = ConsensusConfig(status_interval_ms=250)


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02, what: str = "") -> Any:
    """Poll until `condition()` is truthy and return its value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


def free_port_pair() -> int:
    return free_port_block(2)


# --- HTTP ------------------------------------------------------------------------------


class ApiCallError(Exception):
    """A non-2xx answer, with the contract's error body taken apart."""

    def __init__(self, status: int, body: bytes, content_type: str):
        self.status = status
        self.body = body
        self.content_type = content_type
        try:
            error = json.loads(body)["error"]
            self.code, self.message = error["code"], error["message"]
        except (ValueError, KeyError, TypeError):
            self.code, self.message = None, body[:200].decode("utf-8", "replace")
        super().__init__(f"HTTP {status} {self.code}: {self.message}")


class Api:
    """A minimal client of docs/api-contract.md: JSON in, JSON out, errors raised."""

    def __init__(self, url: str, ca_file: Path | None = None):
        self.url = url.rstrip("/")
        self.ssl: ssl.SSLContext | None = client_context(ca_file) if self.url.startswith("https:") else None

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None, timeout: float = 30.0) -> tuple[int, bytes, str]:
        headers = {"Content-Type": content_type} if content_type else {}
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.ssl) as resp:
                return resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            raise ApiCallError(exc.code, exc.read(), exc.headers.get("Content-Type", "")) from None

    def get(self, path: str) -> Any:
        return json.loads(self.request("GET", path)[1])

    def get_raw(self, path: str) -> bytes:
        return self.request("GET", path)[1]

    def post(self, path: str, body: bytes, content_type: str = MSGPACK) -> Any:
        return json.loads(self.request("POST", path, body, content_type)[1])

    # the contract's calls
    def status(self) -> dict:
        return self.get("/v1/status")

    def submit(self, tx: Tx) -> dict:
        return self.post("/v1/txs", tx.raw)

    def submit_batch(self, txs: list[Tx]) -> list[dict]:
        return self.post("/v1/txs/batch", encode(tuple(tx.raw for tx in txs)))["results"]

    def tx(self, tx_hash: bytes) -> dict:
        return self.get(f"/v1/txs/{tx_hash.hex()}")

    def account(self, pubkey: bytes) -> dict:
        return self.get(f"/v1/accounts/{to_address(pubkey)}")

    def balance(self, pubkey: bytes, class_id: str = DEMO_CLASS) -> int:
        return next((b["amount"] for b in self.account(pubkey)["balances"] if b["class"] == class_id), 0)

    def block(self, height: int | str) -> dict:
        return self.get(f"/v1/blocks/{height}")

    def wait_committed(self, tx_hash: bytes, timeout: float = 10.0, elsewhere: bool = False) -> dict:
        """The committed status of a transaction this node admitted (it must stay pending until then); with
        `elsewhere`, one another node admitted, which this one may not know of until its block arrives."""
        allowed = ("pending", "committed", "unknown") if elsewhere else ("pending", "committed")

        def committed() -> dict | None:
            status = self.tx(tx_hash)
            assert status["status"] in allowed, status
            return status if status["status"] == "committed" else None

        return wait_until(committed, timeout, what=f"tx {tx_hash.hex()[:12]} to be committed")

    def wait_height(self, height: int, timeout: float = 10.0) -> dict:
        return wait_until(lambda: (s := self.status())["height"] >= height and s, timeout, what=f"height {height}")


# --- the `incoop` program ---------------------------------------------------------------------

LONG_RUNNING = (("node", "start"), ("devnet",))
"""Commands that serve or supervise processes: they always run as a child process."""


def run_cli(*argv: str, env: dict[str, str] | None = None, stdin: int | None = subprocess.DEVNULL,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """`incoop ARGV` as a child process (`python -m node.cli`) from the repository, output captured as
    text; `env` replaces the environment (default: the test's own). The one way the tests start it."""
    return subprocess.run([sys.executable, "-m", "node.cli", *argv], capture_output=True, text=True,
                          env=dict(os.environ) if env is None else env, timeout=timeout, cwd=REPO, stdin=stdin)


_IN_PROCESS = threading.Lock()


def run_main(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`incoop ARGV` in this process: node.cli.main with the environment's INCOOP_* variables set to
    `env`'s for the call, stdout and stderr captured. The same command code as the program runs, without
    a Python start and the command's imports (a quarter of a second of CPU each); a usage mistake exits
    through argparse as it does there. An exception the program would have printed as a traceback fails
    the test here with its traceback."""
    from node.cli import main

    out, err = io.StringIO(), io.StringIO()
    changes = {k: v for k, v in (env or {}).items() if k.startswith("INCOOP_") and os.environ.get(k) != v}
    with _IN_PROCESS:
        saved = {k: os.environ.get(k) for k in changes}
        os.environ.update(changes)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    status = main(list(argv))
                except SystemExit as exc:
                    if isinstance(exc.code, str):
                        print(exc.code, file=sys.stderr)
                    status = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return subprocess.CompletedProcess(["incoop", *argv], status, out.getvalue(), err.getvalue())


def cli_env(devnet: Devnet, node: int = 0, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of `incoop` against node `node`: the devnet's demo wallet and secrets (and, on a
    TLS devnet, its CA as INCOOP_CA_FILE), as the devnet tells a person to export them."""
    env = dict(
        os.environ,
        INCOOP_CA_FILE=str(devnet.ca_file or ""),
        INCOOP_NODE=devnet.nodes[node].url,
        INCOOP_WALLET=str(devnet.layout.wallet_dir),
        INCOOP_PASSWORD=DEVNET_PASSWORD,
        INCOOP_UNIQUENESS_SECRET_FILE=str(devnet.layout.home / UNIQUENESS_SECRET),
        PYTHONPATH=str(REPO),
    )
    env.update(extra_env or {})
    return env


def incoop(devnet: Devnet, *argv: str, node: int = 0, check: bool = True, error_lines: int | None = 1,
           extra_env: dict[str, str] | None = None, stdin: int | None = None,
           process: bool = False) -> subprocess.CompletedProcess:
    """`incoop ...` as a person runs it against node `node`, with cli_env's variables; `extra_env` adds or
    overrides variables; `stdin` is its standard input (tests/functional/terminal.py gives a terminal).

    With `process`, a given `stdin`, or a command of LONG_RUNNING, it is a child process (run_cli);
    otherwise node.cli.main in this process (run_main), which runs the same command: tests/functional/
    test_wallet_flow.py, tests/test_cli.py and tests/test_devnet.py keep the program's own process.

    Never a traceback. With `check`, it must succeed; otherwise it must fail
    with a non-zero exit and `error_lines` lines on stderr (None: any number).
    """
    env = cli_env(devnet, node, extra_env)
    if process or stdin is not None or any(tuple(argv[:len(prefix)]) == prefix for prefix in LONG_RUNNING):
        proc = run_cli(*argv, env=env, stdin=stdin)
    else:
        proc = run_main(*argv, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    if check:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode != 0 and proc.stderr.strip(), proc.stderr
        assert error_lines is None or len(proc.stderr.strip().splitlines()) == error_lines, proc.stderr
    return proc


def assert_api_error(status: int, code: str, call: Callable[[], Any]) -> ApiCallError:
    """`call()` must fail with this HTTP status and contract error code (and a JSON error body)."""
    try:
        result = call()
    except ApiCallError as exc:
        assert (exc.status, exc.code) == (status, code), f"expected {status} {code}, got {exc}"
        assert exc.content_type.startswith(JSON), exc.content_type
        assert exc.message, "an error carries a message"
        return exc
    raise AssertionError(f"expected {status} {code}, the call returned {result!r}")


# --- node processes ------------------------------------------------------------------------


class NodeProcess:
    """One `incoop node start` child process and its home directory (its environment `env`, default the
    test's own); the one way the tests start a node."""

    def __init__(self, home: Path, url: str, ca_file: Path | None = None, env: dict[str, str] | None = None):
        self.home = home
        self.url = url
        self.api = Api(url, ca_file)
        self.env = env
        self.log_path = home / "node.log"
        self.out_path = home / "node.out"
        self.process: subprocess.Popen | None = None

    def start(self, wait: bool = True) -> NodeProcess:
        assert self.process is None or self.process.poll() is not None, "already running"
        out = open(self.out_path, "ab")
        base = os.environ if self.env is None else self.env
        env = dict(base, PYTHONPATH=str(REPO) + os.pathsep + base.get("PYTHONPATH", ""))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "node", "start", "--home", str(self.home)],
            stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env,
        )
        out.close()
        if wait:
            self.wait_serving()
        return self

    def wait_serving(self, timeout: float = START_TIMEOUT_S) -> dict:
        def serving() -> dict | None:
            if self.process.poll() is not None:
                raise AssertionError(f"node exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                return self.api.status()
            except (OSError, ApiCallError):
                return None

        return wait_until(serving, timeout, 0.05, f"node at {self.url} to serve")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs; the store must cope."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait: the node's clean shutdown path; returns its exit status (of an exited node too)."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def restart(self) -> NodeProcess:
        if self.alive():
            self.stop()
        return self.start()

    def node_key(self) -> SigningKey:
        """The node's key, unlocked with the password the devnet generated for it (node_key.pass)."""
        return read_key_file(self.home / "node_key.json", read_password_file(self.home / "node_key.pass"))

    def log_files(self) -> list[Path]:
        """node.log and its rotated predecessors, oldest first."""
        rotated = sorted(self.home.glob("node.log.*"), key=lambda p: -int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
        return [*rotated, self.log_path]

    def log_text(self) -> str:
        """The node's whole log (rotated files included), oldest first."""
        return "".join(p.read_text(errors="replace") for p in self.log_files() if p.exists())

    def out_text(self) -> str:
        """What the node printed outside its log (the serving line, a refusal to start, a crash)."""
        return self.out_path.read_text(errors="replace") if self.out_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        tail = self.log_text().splitlines()[-lines:]
        out = self.out_text().splitlines()[-lines:]
        return "\n".join(tail + ([f"--- {self.out_path.name} ---", *out] if out else []))

    def cleanup(self) -> None:
        if self.alive():
            self.process.kill()
            self.process.wait(10)


@dataclass
class Devnet:
    """A devnet: its layout, its node processes (validators, then observers), its demo wallet keys."""

    layout: DevnetLayout
    nodes: list[NodeProcess]
    keys: dict[str, SigningKey]
    relay: Relay | None = None
    ca_file: Path | None = None  # the federation CA of a TLS devnet

    @property
    def node(self) -> NodeProcess:
        return self.nodes[0]

    @property
    def api(self) -> Api:
        return self.node.api

    @property
    def validators(self) -> list[NodeProcess]:
        return self.nodes[: self.layout.validators]

    @property
    def observers(self) -> list[NodeProcess]:
        return self.nodes[self.layout.validators:]

    def validator_keys(self) -> list[bytes]:
        return [from_address(v.pubkey) for v in self.layout.genesis.validators]

    def proposer(self, height: int, round_: int = 0) -> int:
        """Index of the validator that proposes at (height, round)."""
        return (height + round_) % self.layout.validators

    def start_all(self, nodes: list[NodeProcess] | None = None) -> None:
        for node in nodes or self.nodes:
            node.start(wait=False)
        for node in nodes or self.nodes:
            node.wait_serving()

    def running(self) -> list[NodeProcess]:
        return [n for n in self.nodes if n.alive()]

    def heights(self, nodes: list[NodeProcess] | None = None) -> list[int]:
        return [n.api.status()["height"] for n in (nodes or self.running())]

    def wait_height(self, height: int, nodes: list[NodeProcess] | None = None, timeout: float = 30.0) -> None:
        for node in nodes or self.running():
            node.api.wait_height(height, timeout)

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()
        if self.relay is not None:
            self.relay.stop()

    def print_logs(self) -> None:
        for node in self.nodes:
            print(f"--- {node.home.name} log {node.log_path} (tail) ---\n{node.log_tail()}")

    @property
    def chain_id(self) -> str:
        return self.layout.genesis.chain_id

    def transfer(self, sender: str | SigningKey, to: str | SigningKey | bytes, amount: int, nonce: int, memo: str = "", expiry: int = FAR_EXPIRY) -> Tx:
        key = self.keys[sender] if isinstance(sender, str) else sender
        return sign_tx(key, self.chain_id, TRANSFER.name, nonce, expiry, (DEMO_CLASS, self.pubkey(to), amount, memo))

    def pubkey(self, who: str | SigningKey | bytes) -> bytes:
        if isinstance(who, bytes):
            return who
        return (self.keys[who] if isinstance(who, str) else who).pubkey

    def next_nonce(self, who: str | SigningKey) -> int:
        return self.api.account(self.pubkey(who))["nonce"]

    def targets_nonce(self, who: str | SigningKey, nodes: list[NodeProcess]) -> int:
        """The next free nonce (after pending ones) as the first answering node sees it."""
        for node in nodes:
            try:
                return node.api.account(self.pubkey(who))["pending_nonce"]
            except (OSError, ApiCallError):
                continue
        raise AssertionError("no node answers")


def make_devnet(
    directory: Path, validators: int = 1, observers: int = 0, relay: bool = False,
    genesis_params: dict | None = None, tls: bool = False, funded: Sequence[bytes] = (),
    genesis_edit: Callable[[dict], None] | None = None, demo_federation: bool = False, **config_overrides: Any,
) -> Devnet:
    """Write a devnet on free ports with fast test timings (nothing started yet); `funded` accounts
    hold demo credits from genesis (so the chain knows them); `genesis_edit` changes the genesis
    document (as JSON) before any node reads it (sections of modules, such as the market's arbiters);
    `demo_federation` writes the demo's people and providers into the wallet and the genesis, as
    `scripts/devnet` does, for node.devnet_seed.seed_demo.

    Node and vault keys, and the demo wallet's, use the suite's weak Argon2id setting (tests/weak_kdf.py).

    With `relay`, every node dials its peers through a fault-injecting relay:
    link (i, j) carries node i's connection to node j, so `devnet.relay`
    can cut links and partition the federation. With `tls`, a CA in
    DIR/tls issues each node a certificate for 127.0.0.1 and localhost, and
    every URL of the genesis is https:// or wss:// (docs/tls.md).
    """
    nodes = validators + observers
    base_port = free_port_block(2 * nodes)
    layout = create_devnet(
        directory, validators=validators, observers=observers, base_port=base_port, demo=True,
        block_interval_ms=TEST_BLOCK_INTERVAL_MS, heartbeat_ms=TEST_HEARTBEAT_MS,
        params={**TEST_TIMEOUTS, **(genesis_params or {})},
        node_kdf=TEST_KDF, wallet_kdf=TEST_KDF, funded=funded, demo_federation=demo_federation,
    )
    if genesis_edit is not None:
        layout = _edited_genesis(layout, genesis_edit)
    certificates = write_federation(directory / "tls", nodes) if tls else None
    if certificates is not None:
        layout = _secure_urls(layout)
    proxy = Relay() if relay else None
    if proxy is not None:
        proxy.start()
    for i, home in enumerate(layout.node_homes):
        config = load_config(home)
        config.api.max_body_bytes = TEST_MAX_BODY_BYTES
        config.consensus = TEST_CONSENSUS.model_copy()
        config.tx_workers = TEST_TX_WORKERS
        if certificates is not None:
            files = certificates[i]
            config.tls = TlsConfig(cert_file=str(files.cert), key_file=str(files.key), ca_file=str(files.ca))
        if proxy is not None:
            scheme = "wss" if tls else "ws"
            config.peers = [
                f"{scheme}://127.0.0.1:{proxy.link(i, j, p2p_port(base_port, j))}" for j in range(validators) if j != i
            ]
        for name, value in config_overrides.items():
            setattr(config, name, value)
        write_config(home, config)
    wallet = Keystore(layout.wallet_dir)
    keys = {info.label: wallet.unlock(info.label, DEVNET_PASSWORD) for info in wallet.list()}
    ca_file = certificates[0].ca if certificates else None
    processes = [NodeProcess(home, url, ca_file) for home, url in zip(layout.node_homes, layout.api_urls, strict=True)]
    return Devnet(layout, processes, keys, proxy, ca_file)


def _edited_genesis(layout: DevnetLayout, edit: Callable[[dict], None]) -> DevnetLayout:
    """The devnet with its genesis document changed by `edit` (and checked again), written to every home."""
    doc = json.loads(layout.genesis.to_json())
    edit(doc)
    genesis = parse_genesis(json.dumps(doc))
    for home in (layout.home, *layout.node_homes):
        (home / "genesis.json").write_text(genesis.to_json(), encoding="utf-8")
    return replace(layout, genesis=genesis)


def _secure_urls(layout: DevnetLayout) -> DevnetLayout:
    """The same devnet with https:// and wss:// URLs in its genesis (written to every home) and api_urls."""
    doc = json.loads(layout.genesis.to_json())
    for entry in doc.get("validators", []) + doc.get("observers", []):
        for field, plain, secure in (("api", "http://", "https://"), ("p2p", "ws://", "wss://")):
            if entry.get(field, "").startswith(plain):
                entry[field] = secure + entry[field][len(plain):]
    genesis = parse_genesis(json.dumps(doc))
    for home in (layout.home, *layout.node_homes):
        (home / "genesis.json").write_text(genesis.to_json(), encoding="utf-8")
    urls = ["https://" + url[len("http://"):] for url in layout.api_urls]
    return replace(layout, genesis=genesis, api_urls=urls)


def running_devnet(directory: Path, **options: Any) -> Iterator[Devnet]:
    """Fixture body: a started devnet, killed afterwards; log tails printed for a failed test."""
    devnet = make_devnet(directory, **options)
    try:
        devnet.start_all(devnet.validators)
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


# --- the invariants every multi-node test checks (docs/consensus.md, "Invariants") -----------


def block_hashes(node: NodeProcess, upto: int) -> list[str]:
    return [node.api.block(h)["hash"] for h in range(1, upto + 1)]


def assert_all_agree(devnet: Devnet, nodes: list[NodeProcess] | None = None,
                     sets: Sequence[Sequence[bytes]] = ()) -> int:
    """Agreement and certificates: every common height holds the same block on every node, and each
    block's stored certificate is a valid quorum of that height's validators: the genesis set, or one of
    `sets` (a set voted by the federation, FORMAT.md §6.8) — the one the header names. Returns the common
    height."""
    nodes = nodes or devnet.running()
    common = min(n.api.status()["height"] for n in nodes)
    known = {validators_hash(tuple(v)): tuple(v) for v in (devnet.validator_keys(), *sets)}
    chain_id = devnet.chain_id
    reference: list[bytes] = []
    for index, node in enumerate(nodes):
        for height in range(1, common + 1):
            block, certificate = decode_raw_block(node.api.get_raw(f"/v1/blocks/{height}/raw"))
            block_hash = block.hash()
            validators = known.get(block.header.validators_hash)
            assert validators is not None, f"block {height} names a validator set the test does not know"
            verify_certificate(certificate, chain_id, validators, height, block_hash)
            if index == 0:
                reference.append(block_hash)
            else:
                assert block_hash == reference[height - 1], (
                    f"fork: {node.home.name} holds another block at height {height} than {nodes[0].home.name}"
                )
    return common


def assert_committed_everywhere(devnet: Devnet, tx_hashes: list[bytes], nodes: list[NodeProcess] | None = None) -> None:
    """No lost commits: each transaction is committed, at the same place, on every node."""
    nodes = nodes or devnet.running()
    for tx_hash in tx_hashes:
        places = set()
        for node in nodes:
            status = node.api.tx(tx_hash)
            assert status["status"] == "committed", f"{node.home.name}: tx {tx_hash.hex()[:12]} is {status['status']}"
            places.add((status["height"], status["index"]))
        assert len(places) == 1, f"tx {tx_hash.hex()[:12]} committed at different places: {places}"


def assert_conserved(devnet: Devnet, nodes: list[NodeProcess] | None = None) -> None:
    """Conservation: the demo holders' balances add up to the class supply, on every node."""
    for node in nodes or devnet.running():
        supply = node.api.get(f"/v1/classes/{DEMO_CLASS}")["supply"]
        held = sum(node.api.balance(key.pubkey) for key in devnet.keys.values())
        assert held == supply, f"{node.home.name}: balances sum to {held}, supply is {supply}"


class SteadyLoad(threading.Thread):
    """Transfers between anna and marco at a steady rate, each sent to the next target node in turn.

    Amounts are one cent back and forth, so balances never run out. A target
    that does not answer (killed, stopped) is skipped for that transfer; the
    transfer goes to the next one, so every accepted hash was admitted by a
    node that was up and gossiping at that moment.
    """

    def __init__(self, devnet: Devnet, targets: list[NodeProcess], rate: float = 40.0):
        super().__init__(daemon=True)
        self.devnet = devnet
        self.targets = list(targets)
        self.interval = 1.0 / rate
        self.accepted: list[bytes] = []
        self.errors: list[str] = []
        self._halt = threading.Event()

    def run(self) -> None:
        senders = ["anna", "marco"]
        nonces = {name: self.devnet.targets_nonce(name, self.targets) for name in senders}
        turn = 0
        next_at = time.monotonic()
        while not self._halt.is_set():
            sender = senders[turn % 2]
            tx = self.devnet.transfer(sender, senders[(turn + 1) % 2], 1, nonces[sender])
            for attempt in range(len(self.targets)):
                node = self.targets[(turn + attempt) % len(self.targets)]
                try:
                    node.api.submit(tx)
                except (OSError, ApiCallError) as exc:
                    self.errors.append(f"{node.home.name}: {exc}")
                    continue
                self.accepted.append(tx.hash)
                nonces[sender] += 1
                break
            turn += 1
            next_at += self.interval
            self._halt.wait(max(0.0, next_at - time.monotonic()))

    def retarget(self, targets: list[NodeProcess]) -> None:
        self.targets = list(targets)

    def stop(self) -> list[bytes]:
        self._halt.set()
        self.join(30)
        return self.accepted
