"""Finality under attack: the finality measurement while an attacker floods the federation (issue 12).

Four validators (node processes) take the finality row's legitimate load
(node/bench/federation.py: 500 transfers a second from 60 funded senders,
each timed from its batch's sending to its block) while an attacker, a
process of its own (node/bench/attacker.py), runs the attacks of issue 12
within the bounds the node now keeps (docs/admission.md, docs/api-limits.md,
docs/p2p.md): a stranger flood, a parking flood from keys the chain knows and
funds, idle API connections and silent p2p connections. The nodes keep their
default limits (a client's share of the pool, the parked budget and TTL, the
connection caps): the legitimate client posts from 127.0.0.1 and the attacker
from other loopback addresses, as other machines would.

The result is the legitimate latencies beside the unloaded finality row's
(target: p99 at most twice the unloaded p99), what the attacker sent, and
what the nodes refused, evicted and closed, read from their /metrics before
`go` and after `stop`.

One machine holds everything: the attacker's CPU is taken from the
validators, as a real attacker's (on its own machines) would not be. It runs
at `nice` 10 by default, so that the validators and the legitimate client
come first when the cores are short, as if it were elsewhere; the rates it
achieved are reported beside those planned, so a starved attacker (a lighter
attack than planned) shows.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

from node.bench.attack import parse_metrics
from node.bench.attacker import AttackPlan
from node.bench.federation import (
    FinalityResult,
    LocalFederation,
    finality_senders,
    measure_finality,
)
from node.bench.workload import FAR_EXPIRY, sender_keys

PARKING_SEED = b"incoop-bench-parking"
SOURCES = [f"127.0.0.{i}" for i in range(2, 12)]  # ten attacking "machines"
READY_TIMEOUT_S = 300.0


@dataclass
class FloodSizes:
    """The attack's size. Defaults: the bounds' scale (docs/admission.md, docs/api-limits.md, docs/p2p.md)."""

    stranger_rate: float = 4000.0  # tx/s over all validators
    parking_rate: float = 2000.0  # tx/s over all validators, the whole parking set to each
    parking_keys: int = 200  # 200 x 60 = 12,000: more than a node's parked budget (10,000)
    parking_nonces: int = 60  # 1..60: within the 64 a key may hold pending (mempool.max_pending_per_account)
    batch: int = 500
    idle_api: int = 1000  # in all, spread over the validators (each caps at api.max_connections: 512)
    silent_p2p: int = 64  # on each validator: the number that locked every peer out before issue 12
    lead_s: float = 5.0  # the attack runs this long before the legitimate load starts
    nice: int = 10


@dataclass
class AttackResult:
    legit: FinalityResult
    unloaded_p99_s: float | None  # the finality row of the same run, if it ran
    p99_vs_unloaded: float | None
    unloaded_nodes_cpu_s: float | None  # the validators' CPU time for the same load, unloaded
    unloaded_blocks: int | None  # and the blocks it took
    sizes: FloodSizes
    attacker: dict[str, Any]  # its summary: what each flood sent and was answered, what each crowd opened
    signed_s: float  # the attacker's signing before `go`
    refused: dict[str, int]  # by the nodes' APIs during the run, by reason, all validators (the legitimate
    # client's own refusals, none, are `legit.refused`)
    refused_gossip: dict[str, int]  # relayed transactions a node refused (a legitimate one committed by then)
    evicted: dict[str, int]  # from the mempools, by reason
    connections: dict[str, int]  # closed by the nodes: API evictions and header timeouts, p2p timeouts and evictions
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)


def _label(sample: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', sample)
    return match[1] if match else ""


def _scrape(urls: list[str]) -> Counter[str]:
    """Every /metrics sample, summed over the nodes."""
    total: Counter[str] = Counter()
    for url in urls:
        with urllib.request.urlopen(url + "/metrics", timeout=30) as response:
            total.update(parse_metrics(response.read().decode()))
    return total


def _by(diff: Counter[str], metric: str, label: str, **only: str) -> dict[str, int]:
    """The samples of `metric` summed by one label's value, keeping those whose labels are `only`."""
    out: Counter[str] = Counter()
    for sample, value in diff.items():
        if sample.startswith(metric + "{") and value and all(_label(sample, k) == v for k, v in only.items()):
            out[_label(sample, label)] += int(value)
    return dict(out.most_common())


CONNECTION_METRICS = {
    "api_evicted": "incoop_api_connections_evicted_total",
    "api_header_timeouts": 'incoop_api_connections_timed_out_total{phase="header"}',
    "api_refused": "incoop_api_connections_refused_total",
    "p2p_handshake_timeouts": "incoop_p2p_handshake_timeouts",
    "p2p_evicted": "incoop_p2p_evicted",
}


class Attacker:
    """The attacker process: started with its plan, waits until it has signed; `go()`, then `stop()`."""

    def __init__(self, plan: AttackPlan):
        self.proc = subprocess.Popen([sys.executable, "-m", "node.bench.attacker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self._send(plan.model_dump_json())
        self.ready = self._read("ready", READY_TIMEOUT_S)

    def _send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def _read(self, key: str, timeout: float) -> dict[str, Any]:
        out: IO[str] = self.proc.stdout  # type: ignore[assignment]
        if not select.select([out], [], [], timeout)[0]:
            self.kill()
            raise RuntimeError(f"the attacker said no {key!r} within {timeout:.0f} s")
        line = out.readline()
        try:
            return json.loads(line)[key]
        except (ValueError, KeyError):
            self.kill()
            raise RuntimeError(f"the attacker said {line.strip()[:200]!r}, not {key!r}") from None

    def go(self) -> None:
        self._send("go")

    def stop(self) -> dict[str, Any]:
        self._send("stop")
        summary = self._read("summary", 60)
        self.proc.wait(10)
        return summary

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def finality_under_attack(sizes: FloodSizes, validators: int = 4, rate: float = 500.0, seconds: float = 60.0,
                          senders: int = 60, unloaded: FinalityResult | None = None,
                          progress: bool = True) -> AttackResult:
    """`unloaded`: the finality row of the same run (same validators, rate, seconds and senders), to compare."""
    keys = finality_senders(senders)
    parking = sender_keys(sizes.parking_keys, seed=PARKING_SEED)
    with LocalFederation(validators, funded=[k.pubkey for k in keys + parking], one_client=False) as fed:
        urls = fed.layout.api_urls
        plan = AttackPlan(
            chain_id=fed.layout.genesis.chain_id, api_urls=urls, p2p_ports=fed.p2p_ports, sources=SOURCES,
            pay_to=keys[0].pubkey.hex(), expiry=FAR_EXPIRY, batch=sizes.batch,
            stranger_rate=sizes.stranger_rate,
            strangers=int(sizes.stranger_rate * (sizes.lead_s + seconds + 10)),  # and the legitimate run's tail
            parking_rate=sizes.parking_rate, parking_seed=PARKING_SEED.hex(), parking_keys=sizes.parking_keys,
            parking_nonces=sizes.parking_nonces, idle_api=sizes.idle_api, silent_p2p=sizes.silent_p2p,
            nice=sizes.nice, limit_s=sizes.lead_s + seconds + 180,
        )
        if progress:
            print(f"  attack: the attacker signs {plan.strangers:,} stranger and "
                  f"{sizes.parking_keys * sizes.parking_nonces:,} parking transactions", file=sys.stderr, flush=True)
        attacker = Attacker(plan)
        try:
            before: Counter[str] = Counter()

            def start_attack() -> None:
                before.update(_scrape(urls))
                attacker.go()
                time.sleep(sizes.lead_s)

            legit = measure_finality(fed, keys, rate, seconds, progress, label="under attack", before_start=start_attack)
            summary = attacker.stop()
        finally:
            attacker.kill()
        diff = _scrape(urls)
        diff.subtract(before)
    return AttackResult(
        legit=legit, unloaded_p99_s=unloaded.p99_s if unloaded else None,
        p99_vs_unloaded=legit.p99_s / unloaded.p99_s if unloaded else None,
        unloaded_nodes_cpu_s=unloaded.nodes_cpu_s if unloaded else None,
        unloaded_blocks=unloaded.blocks if unloaded else None,
        sizes=sizes, attacker=summary, signed_s=attacker.ready["signed_s"],
        refused=_by(diff, "incoop_mempool_refused_total", "reason", source="api"),
        refused_gossip=_by(diff, "incoop_mempool_refused_total", "reason", source="gossip"),
        evicted=_by(diff, "incoop_mempool_evicted_total", "reason"),
        connections={name: int(diff[metric]) for name, metric in CONNECTION_METRICS.items()},
    )
