"""Finality latency on a local federation: submission to commit, as a client sees it.

A devnet of N validators runs as separate node processes on this machine.
Senders funded in advance sign all their transfers before the clock starts;
a submitter per validator offers them at a steady rate (a small batch due
every 20 ms or so; one that is held up by a slow answer then sends everything
due in one batch, so the offered rate holds and each sender's nonces still
arrive in order) and a watcher follows the committed blocks of one node.
Latency of a transaction = the moment the watcher first sees its block minus
the moment its batch was due: time a client spends waiting for a slow answer
before it can send counts, as it does for a person (the watcher polls every
10 ms, which bounds the error). The same measurement runs under a flood in
node/bench/under_attack.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ledger.crypto import SigningKey
from ledger.encoding import encode
from ledger.tx import decode_tx
from node.bench.workload import sender_keys, signed_transfers
from node.config import load_config, write_config
from node.devnet_layout import create_devnet
from node.ports import free_port_block
from wallet.client import NodeClient

BATCH_EVERY_S = 0.02
POLL_S = 0.01


@dataclass
class FinalityResult:
    validators: int
    offered_tx_per_s: float
    seconds: float
    achieved_offer_tx_per_s: float  # what the submitters managed to send: below offered means the client lagged
    submitted: int
    committed: int
    committed_tx_per_s: float
    p50_s: float
    p99_s: float
    max_s: float
    blocks: int
    refused: dict[str, int] = field(default_factory=dict)  # by code: every transfer is valid, so must be empty
    nodes_cpu_s: float = 0.0  # CPU time the validator processes used from the clock's start to the last commit


def post_batch(url: str, raws: list[bytes], timeout: float = 120.0) -> list[dict]:
    """POST /v1/txs/batch in canonical MessagePack; the per-item results."""
    request = urllib.request.Request(
        url + "/v1/txs/batch", data=encode(tuple(raws)), method="POST",
        headers={"Content-Type": "application/msgpack"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())["results"]


def peak_rss_mb(pid: int) -> float:
    """A live process's peak resident memory (VmHWM of /proc/PID/status, Linux), in MB of 2^20 bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


class LocalFederation:
    """N validator processes from a fresh devnet layout in a temporary directory."""

    def __init__(self, validators: int, block_interval_ms: int = 100, funded: Sequence[bytes] = (),
                 keep: bool = False, one_client: bool = True, arbiters: Sequence[bytes] = ()):
        """`funded` accounts get demo credits at genesis, `arbiters` are the genesis's authorised
        arbiters of market disputes (node/devnet_layout.py, `create_devnet`); `keep` leaves the directory for a later
        step (the audit reads the chain after the nodes stop) until `cleanup()`. With `one_client`
        (the benchmark's clients are its only clients) no client share applies; without it, the
        nodes keep the default share (an attacker posts from other addresses)."""
        self.dir = Path(tempfile.mkdtemp(prefix="incoop-bench-"))
        self.keep = keep
        self.layout = create_devnet(
            self.dir, validators=validators, base_port=free_port_block(2 * validators),
            block_interval_ms=block_interval_ms, heartbeat_ms=1000, funded=funded, arbiters=arbiters,
        )
        for home in self.layout.node_homes if one_client else ():
            # the benchmark's clients all post from loopback: one client address for the whole load, which
            # the default share per client (docs/admission.md) would cap at a tenth of the pool
            config = load_config(home)
            config.mempool.max_client_share = 1.0
            write_config(home, config)
        self.procs: list[subprocess.Popen] = []

    @property
    def p2p_ports(self) -> list[int]:
        return [load_config(home).p2p_port for home in self.layout.node_homes]

    def cpu_seconds(self) -> float:
        """User and system CPU time the node processes and their live descendants (the transaction
        workers and multiprocessing's resource tracker, node/txworkers.py) have used so far (Linux /proc): unlike latency,
        a figure the other work on a shared machine hardly moves."""
        stats: dict[int, list[str]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:  # gone meanwhile
                    continue
        family = {proc.pid for proc in self.procs}
        grew = True
        while grew:
            grown = family | {pid for pid, fields in stats.items() if int(fields[1]) in family}  # field 4: ppid
            grew, family = len(grown) > len(family), grown
        ticks = sum(int(stats[pid][11]) + int(stats[pid][12]) for pid in family if pid in stats)  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> list[float]:
        """Each node process's peak resident memory so far (VmHWM of /proc/PID/status), in MB."""
        return [peak_rss_mb(proc.pid) for proc in self.procs]

    def __enter__(self) -> LocalFederation:
        for home in self.layout.node_homes:
            # the node writes node.log itself (log_file in the devnet config); node.out has the rest
            with open(home / "node.out", "ab") as out:
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "node.cli", "node", "start", "--home", str(home)],
                    stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ),
                ))
        deadline = time.monotonic() + 60
        for url, home in zip(self.layout.api_urls, self.layout.node_homes, strict=True):
            while True:
                try:
                    NodeClient(url, timeout=1).status()
                    break
                except Exception:
                    if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                        log = (home / "node.out").read_text(errors="replace").strip().splitlines()[-1:]
                        self.keep = False
                        self.__exit__()
                        raise RuntimeError(f"the node at {url} did not start: {log}") from None
                    time.sleep(0.1)
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if not self.keep:
            self.cleanup()

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def finality_senders(count: int = 60) -> list[SigningKey]:
    """The finality workload's senders (funded at genesis), the same with or without an attack."""
    return sender_keys(count, seed=b"incoop-bench-finality")


def finality(validators: int = 4, rate: float = 500.0, seconds: float = 20.0, senders: int = 60,
             progress: bool = True) -> FinalityResult:
    keys = finality_senders(senders)
    with LocalFederation(validators, funded=[k.pubkey for k in keys]) as fed:
        return measure_finality(fed, keys, rate, seconds, progress)


def measure_finality(fed: LocalFederation, keys: list[SigningKey], rate: float, seconds: float, progress: bool = True,
                     label: str = "finality", before_start: Callable[[], None] | None = None) -> FinalityResult:
    """Offer `rate` transfers a second from `keys` (funded) to a running federation for `seconds`, and time
    each from its batch's sending to its block. `before_start` runs once the transfers are signed, just
    before the clock starts (the attack row starts its attacker there)."""
    validators = len(fed.layout.node_homes)
    chain_id = fed.layout.genesis.chain_id
    urls = fed.layout.api_urls
    client = NodeClient(urls[0])
    total = int(rate * seconds)
    txs = [decode_tx(raw) for raw in signed_transfers(chain_id, keys, total)]  # nonces in order per sender

    sent_at: dict[bytes, float] = {}
    seen_at: dict[bytes, float] = {}
    refused: Counter[str] = Counter()
    done = threading.Event()
    if before_start is not None:
        before_start()
    start_height = client.status()["height"]
    blocks = [0]

    def watch() -> None:
        height = start_height
        while not (done.is_set() and len(seen_at) >= len(sent_at)):
            head = client.status()["height"]
            while height < head:
                height += 1
                now = time.monotonic()
                blocks[0] += 1
                for item in client.block(height)["txs"]:
                    seen_at.setdefault(bytes.fromhex(item["hash"]), now)
            time.sleep(POLL_S)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    # one submitter per node, each with its own senders, so that a slow answer from one node
    # does not hold back the offered rate
    lanes = [txs[w::len(urls)] for w in range(len(urls))]
    lane_rate = rate / len(urls)
    per_batch = max(1, round(lane_rate * BATCH_EVERY_S))
    every = per_batch / lane_rate  # one lane's batch is due this often
    cpu_before = fed.cpu_seconds()
    started = time.monotonic()
    last_sent = [started]
    lock = threading.Lock()

    def submit(lane: int) -> None:
        mine = lanes[lane]
        batches = [mine[offset:offset + per_batch] for offset in range(0, len(mine), per_batch)]
        index = 0
        while index < len(batches):
            delay = started + index * every - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            upto = min(len(batches), max(index, int((time.monotonic() - started) / every)) + 1)  # all that is due
            batch = []
            for due in range(index, upto):
                for tx in batches[due]:
                    sent_at[tx.hash] = started + due * every
                    batch.append(tx)
            index = upto
            last_sent[0] = max(last_sent[0], time.monotonic())
            for tx, result in zip(batch, post_batch(urls[lane], [tx.raw for tx in batch]), strict=True):
                if result.get("error"):  # never to commit: counted, and not waited for
                    with lock:
                        refused[result["error"]["code"]] += 1
                        del sent_at[tx.hash]

    submitters = [threading.Thread(target=submit, args=(w,), daemon=True) for w in range(len(urls))]
    for thread in submitters:
        thread.start()
    while any(t.is_alive() for t in submitters):
        time.sleep(1)
        if progress:
            print(f"  {label}: {time.monotonic() - started:4.0f} s offered {len(sent_at)} committed {len(seen_at)}",
                  file=sys.stderr, flush=True)
    offered_for = last_sent[0] - started + every  # the last batch stands for its interval
    done.set()
    deadline = time.monotonic() + 60
    while len(seen_at) < len(sent_at) and time.monotonic() < deadline:
        time.sleep(0.05)
    watcher.join(1)
    nodes_cpu_s = fed.cpu_seconds() - cpu_before
    last = max(seen_at.values(), default=started)
    latencies = sorted(seen_at[h] - sent_at[h] for h in seen_at if h in sent_at)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")

    return FinalityResult(
        validators, rate, seconds, len(sent_at) / offered_for, len(sent_at), len(latencies), len(latencies) / max(last - started, 1e-9),
        pct(0.50), pct(0.99), latencies[-1] if latencies else float("nan"), blocks[0], dict(refused),
        round(nodes_cpu_s, 1),
    )
