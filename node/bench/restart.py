"""Restart to serving: a validator whose store holds a million committed transactions, from `incoop node start`
to its first `/v1/status` answer.

The store is a real one, built once and kept between runs keyed by the code
that wrote it (node/bench/restart_store.py).

Each measured start runs on a fresh clone of the cached store (tables
hard-linked, node/store_copy.py), in a node home of its own: the chain's
genesis, validator 0's key encrypted with the node's Argon2id setting
(NODE_KDF, what `incoop node init` writes) and its password file, a config
with free loopback ports. The clock runs from just before the process is
spawned to the first 200 from `/v1/status`, polled every 10 ms. The first
start runs with the store's files evicted from the page cache
(`posix_fadvise(DONTNEED)`: the start after a reboot), the others warm (the
start after an upgrade or a crash); the row is the slowest of them.

    python -m node.bench.restart --txs 20000 --json    one measurement, small
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from node.bench.chain import VALIDATOR_KEYS
from node.bench.restart_store import (
    ACCOUNTS,
    BLOCK_TXS,
    DEFAULT_CACHE,
    RESTART_TXS,
    ROOT,
    cached_chain,
)
from node.config import ApiConfig, NodeConfig, write_config
from node.ports import free_port_block
from node.store_copy import snapshot_leveldb
from wallet.client import NodeClient

POLL_S = 0.01
START_TIMEOUT_S = 120.0
NODE_KEY_PASS = "node_key.pass"


@dataclass
class StartTime:
    seconds: float  # from spawning `incoop node start` to the first 200 from /v1/status
    cold: bool  # the store's files were evicted from the page cache first
    height: int  # the height /v1/status reported


@dataclass
class RestartResult:
    txs: int
    height: int
    store_mb: float  # the cached store's directory, compacted
    built_s: float | None  # seconds to build the store in this run; None when it came from the cache
    starts: list[StartTime] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # a warm start's steps one by one (`phases`)

    @property
    def worst_s(self) -> float:
        return max(s.seconds for s in self.starts)

    @property
    def cold_s(self) -> float:
        return max(s.seconds for s in self.starts if s.cold)

    @property
    def warm_s(self) -> float:
        return statistics.median(s.seconds for s in self.starts if not s.cold)

    def as_dict(self) -> dict:
        return asdict(self) | {"worst_s": self.worst_s, "cold_s": self.cold_s, "warm_s": self.warm_s}


def node_home(chain_home: Path, dest: Path) -> tuple[Path, str]:
    """A validator home over a clone of the chain's store: (home, API URL)."""
    from keys.keystore import NODE_KDF, generate_password, write_key_file, write_password_file

    dest.mkdir(parents=True)
    shutil.copy(chain_home / "genesis.json", dest / "genesis.json")
    password = generate_password()
    write_password_file(dest / NODE_KEY_PASS, password)
    write_key_file(dest / "node_key.json", VALIDATOR_KEYS[0], password, NODE_KDF)
    port = free_port_block(2)
    write_config(dest, NodeConfig(role="validator", key_password_file=NODE_KEY_PASS, api=ApiConfig(port=port),
                                  p2p_port=port + 1, log_file="node.log"))
    snapshot_leveldb(chain_home / "data", dest / "data")
    return dest, f"http://127.0.0.1:{port}"


def evict(path: Path) -> None:
    """Drop a directory's files from the page cache (clean pages only; nothing is lost), as after a reboot."""
    for file in path.rglob("*"):
        if file.is_file():
            fd = os.open(file, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def time_start(home: Path, url: str, timeout: float = START_TIMEOUT_S) -> tuple[float, int]:
    """Seconds from spawning `incoop node start --home HOME` to its first /v1/status answer, and the height it
    reported; the node is stopped (SIGTERM) afterwards."""
    client = NodeClient(url, timeout=1)
    with open(home / "node.out", "ab") as out:
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "node.cli", "node", "start", "--home", str(home)],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        while True:
            try:
                status = client.status()
                return time.monotonic() - started, int(status["height"])
            except Exception:
                if proc.poll() is not None or time.monotonic() - started > timeout:
                    tail = (home / "node.out").read_text(errors="replace").strip().splitlines()[-1:]
                    raise RuntimeError(f"the node did not serve: {tail}") from None
                time.sleep(POLL_S)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


PACKAGES = ("ledger", "identity", "market", "governance", "genesis", "keys", "cli", "node", "wallet")


def compile_sources(root: Path = ROOT) -> None:
    """Write the bytecode of incoop's own modules, as `pip install` does for an installed node: in a
    checkout run with PYTHONDONTWRITEBYTECODE (a development shell may set it), every start would
    otherwise compile them all again, a second of work no deployed node does."""
    for package in PACKAGES:
        compileall.compile_dir(str(root / package), quiet=1)


def phases(home: Path) -> dict[str, float]:
    """A start's steps timed one by one in this process, by the functions `incoop node start` runs: what the
    row's time is made of. `setup` (config, genesis, the key, TLS) is timed whole, then its two costly parts
    again on their own; the rest of a start (the API app, consensus, the listeners) is the measured start
    minus these."""
    from genesis.document import load_genesis
    from genesis.rules import RULES
    from keys.keystore import read_key_file, read_password_file
    from ledger.store import Store

    out: dict[str, float] = {}
    t = time.perf_counter()
    import node.cli  # noqa: F401  (the command line, then the server's world: aiohttp, plyvel, every module)
    from node.server import load_setup
    out["imports"] = time.perf_counter() - t
    t = time.perf_counter()
    setup = load_setup(home)
    out["setup"] = time.perf_counter() - t
    t = time.perf_counter()
    read_key_file(home / "node_key.json", read_password_file(home / NODE_KEY_PASS))
    out["key_unlock"] = time.perf_counter() - t  # Argon2id at the node's setting (NODE_KDF)
    t = time.perf_counter()
    load_genesis(home / "genesis.json", RULES)
    out["genesis_parse"] = time.perf_counter() - t
    t = time.perf_counter()
    genesis_hash = setup.genesis.hash()
    out["genesis_hash"] = time.perf_counter() - t  # canonical form and hash: taken by open_store and the API
    t = time.perf_counter()
    store = Store(setup.config.path(setup.home, setup.config.data_dir), create=False)  # open_store's steps
    out["store_open"] = time.perf_counter() - t  # LevelDB's open: the manifest read, its log replayed
    try:
        t = time.perf_counter()
        same = store.genesis()[0] == genesis_hash
        store.check()
        out["store_check"] = time.perf_counter() - t  # the genesis and head records, the head block, the root
    finally:
        store.close()
    if not same:
        raise RuntimeError("the store holds another genesis")
    return {name: round(seconds, 3) for name, seconds in out.items()}


def time_phases(home: Path) -> dict[str, float]:
    """`phases` in a fresh interpreter (imports are once per process), with the interpreter's own start."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", "import time; t = time.monotonic(); import json, sys; "
                           "from node.bench.restart import phases; from pathlib import Path; "
                           "print(json.dumps({'python': t, **phases(Path(sys.argv[1]))}))", str(home)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"timing the start's steps failed: {proc.stderr.strip().splitlines()[-1:]}")
    out = json.loads(proc.stdout)
    out["python"] = round(out["python"] - started, 3)  # CLOCK_MONOTONIC is the machine's, not the process's
    return out


def restart(cache: Path = DEFAULT_CACHE, txs: int = RESTART_TXS, accounts: int = ACCOUNTS,
            block_txs: int = BLOCK_TXS, starts: int = 3, say=lambda text: None) -> RestartResult:
    if starts < 2:
        raise ValueError("at least two starts: one cold, then warm ones")
    chain_home, meta, built_s = cached_chain(cache, txs, accounts, block_txs, say)
    compile_sources()
    result = RestartResult(meta["txs"], meta["height"], round(meta["store_bytes"] / 1e6, 1),
                           None if built_s is None else round(built_s, 1))
    with tempfile.TemporaryDirectory(prefix="incoop-bench-restart-", dir=cache) as tmp:
        for i in range(starts):
            home, url = node_home(chain_home, Path(tmp) / f"start{i}")
            cold = i == 0
            if cold:
                evict(chain_home / "data")
                evict(home)
            seconds, height = time_start(home, url)
            if height != meta["height"]:
                raise RuntimeError(f"the node served height {height}, the store holds {meta['height']}")
            result.starts.append(StartTime(round(seconds, 3), cold, height))
            if i == starts - 1:
                result.phases = time_phases(home)
            shutil.rmtree(home, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node.bench.restart", description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=RESTART_TXS)
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument("--block-txs", type=int, default=BLOCK_TXS)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    result = restart(args.cache, args.txs, args.accounts, args.block_txs, args.starts,
                     say=lambda text: print(text, file=sys.stderr, flush=True))
    print(json.dumps(result.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
