"""The benchmark's attacker: a process of its own that floods a local federation while the row measures it.

    python -m node.bench.attacker     (driven by node/bench/under_attack.py over stdin and stdout)

It reads its plan (`AttackPlan`, one JSON line) on stdin, lowers its own
priority (`nice`), signs every flood transaction, and prints one JSON line
`{"ready": …}`. On the line `go` it starts, with the shapes of
node/bench/attack.py:

- a stranger flood: fresh keys, one transfer each, in batches, spread over
  the validators (sent round and round if the run outlasts what was signed:
  a node remembers no refusal, docs/admission.md, so a resent stranger costs
  it what a new one would);
- a parking flood: funded keys, nonces 1…n, the whole set to every validator
  (each holds its own parked budget), round and round: what a node evicts
  after `parked_ttl_s` is parked again;
- idle API connections (spread over the validators) and silent p2p
  connections (half websocket upgrades left in the handshake, half bare TCP,
  on every validator), each re-opened as soon as the node closes it.

The floods post from the plan's loopback `sources` in turn (other "machines"
than the legitimate client's 127.0.0.1); the connections come from the first
of them. On the line `stop`, on the end of stdin, or `limit_s` after `go`,
it stops and prints `{"summary": …}`: what each flood sent, at what rate,
and the nodes' answers by code; what each crowd opened and saw closed.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from node.bench.attack import SilentCrowd, parking_txs, post_batch_from, stranger_txs
from node.bench.workload import sender_keys

ADMITTED = "ADMITTED"  # a batch item answered without an error: held (parked) by the node
POST_TIMEOUT_S = 30.0


class AttackPlan(BaseModel):
    """What the attacker does; rates are transactions a second summed over the validators."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chain_id: str
    api_urls: list[str] = Field(min_length=1)
    p2p_ports: list[int]
    sources: list[str] = Field(min_length=1)  # loopback addresses the floods post from, in turn
    pay_to: str = Field(pattern=r"^[0-9a-f]{64}$")  # the public key every flood transfer pays
    expiry: int = Field(ge=0)
    batch: int = Field(gt=0, le=10_000)  # transactions a POST (the node's api.max_batch_txs: 10,000)
    stranger_rate: float = Field(ge=0)
    strangers: int = Field(ge=0)  # fresh keys signed before `go`
    parking_rate: float = Field(ge=0)
    parking_seed: str = Field(pattern=r"^[0-9a-f]*$")  # sender_keys(parking_keys, seed): funded at genesis
    parking_keys: int = Field(ge=0)
    parking_nonces: int = Field(ge=0, le=255)  # nonces 1..n of each key (the chain's max_nonce_gap: 256)
    idle_api: int = Field(ge=0)  # idle API connections, in all, spread over the validators
    silent_p2p: int = Field(ge=0)  # silent p2p connections on each validator
    nice: int = Field(ge=0, le=19)
    limit_s: float = Field(gt=0)  # stops by itself this long after `go`


class Flood(threading.Thread):
    """Posts `raws` to one node at `rate` a second in batches, round and round, until stopped.

    Batch k leaves at start + k·batch/rate; a flood that falls behind (a slow
    answer, no CPU) sends at once and makes up at most a second of lost time,
    so `sent / seconds` is what it achieved, at most its rate (a batch counts
    for the time until the next one was due).
    """

    def __init__(self, url: str, raws: list[bytes], rate: float, batch: int, sources: list[str], deadline: float):
        super().__init__(daemon=True)
        self.url, self.raws, self.rate, self.batch, self.sources = url, raws, rate, batch, sources
        self.deadline = deadline
        self.halt = threading.Event()
        self.sent = 0
        self.answers: Counter[str] = Counter()
        self.failed_posts = 0
        self.seconds = 0.0

    def run(self) -> None:
        if not self.raws or self.rate <= 0:
            return
        started = time.monotonic()
        offset = 0
        batches = 0
        next_at = started
        while not self.halt.is_set() and time.monotonic() < self.deadline:
            wait = next_at - time.monotonic()
            if wait > 0 and self.halt.wait(wait):
                break
            chunk = self.raws[offset:offset + self.batch]
            offset = offset + self.batch if offset + self.batch < len(self.raws) else 0
            try:
                results = post_batch_from(self.url, self.sources[batches % len(self.sources)], chunk, POST_TIMEOUT_S)
            except (OSError, ValueError):  # refused, reset, timed out, not JSON: counted, and on
                self.failed_posts += 1
                results = []
            self.sent += len(chunk)
            self.answers.update(r["error"]["code"] if r.get("error") else ADMITTED for r in results)
            batches += 1
            next_at = max(next_at + len(chunk) / self.rate, time.monotonic() - 1.0)
        self.seconds = max(time.monotonic(), next_at) - started


def _summarise_floods(floods: list[Flood], planned: float) -> dict[str, Any]:
    seconds = max((f.seconds for f in floods), default=0.0)
    answers: Counter[str] = sum((f.answers for f in floods), Counter())
    sent = sum(f.sent for f in floods)
    return {"planned_tx_per_s": planned, "sent": sent, "seconds": round(seconds, 2),
            "sent_tx_per_s": round(sent / seconds, 1) if seconds else 0.0,
            "failed_posts": sum(f.failed_posts for f in floods), "answers": dict(sorted(answers.items()))}


def _summarise_crowds(crowds: list[SilentCrowd]) -> dict[str, int]:
    return {"held": sum(c.count for c in crowds), "opened": sum(c.opened for c in crowds),
            "closed_by_node": sum(c.closed for c in crowds), "failed": sum(c.failed for c in crowds)}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _say(**message: Any) -> None:
    print(json.dumps(message), flush=True)


def _prepare(plan: AttackPlan) -> tuple[list[bytes], list[bytes]]:
    """The floods' transactions, signed before the clock: strangers, then the parking set."""
    to = bytes.fromhex(plan.pay_to)
    strangers = []
    for start in range(0, plan.strangers, 20_000):  # in chunks: only the raw bytes are kept
        strangers += [tx.raw for tx in stranger_txs(plan.chain_id, min(20_000, plan.strangers - start), to, plan.expiry)]
    keys = sender_keys(plan.parking_keys, seed=bytes.fromhex(plan.parking_seed))
    parking = [tx.raw for tx in parking_txs(plan.chain_id, keys, range(1, plan.parking_nonces + 1), to, plan.expiry)]
    return strangers, parking


def run(plan: AttackPlan) -> int:
    os.nice(plan.nice)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = plan.idle_api + 2 * len(plan.api_urls) * (plan.silent_p2p + 8) + 256
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    signing = time.monotonic()
    strangers, parking = _prepare(plan)
    _say(ready={"strangers": len(strangers), "parking": len(parking), "signed_s": round(time.monotonic() - signing, 1)})
    if sys.stdin.readline().strip() != "go":
        return 1
    deadline = time.monotonic() + plan.limit_s
    cpu_before = _cpu_seconds()
    nodes = len(plan.api_urls)
    stranger_floods = [Flood(url, strangers[i::nodes], plan.stranger_rate / nodes, plan.batch, plan.sources, deadline)
                       for i, url in enumerate(plan.api_urls)]
    parking_floods = [Flood(url, parking, plan.parking_rate / nodes, plan.batch, plan.sources, deadline)
                      for url in plan.api_urls]
    source = plan.sources[0]
    api_ports = [int(url.rsplit(":", 1)[1]) for url in plan.api_urls]
    idle = [SilentCrowd(port, plan.idle_api // nodes + (i < plan.idle_api % nodes), upgrade=False,
                        limit_s=plan.limit_s, source=source) for i, port in enumerate(api_ports)]
    half = plan.silent_p2p // 2
    silent = [SilentCrowd(port, count, upgrade=upgrade, limit_s=plan.limit_s, source=source)
              for port in plan.p2p_ports for count, upgrade in ((plan.silent_p2p - half, True), (half, False))]
    workers: list[threading.Thread] = [*stranger_floods, *parking_floods, *idle, *silent]
    for worker in workers:
        worker.start()
    stop = threading.Event()

    def until_told() -> None:  # the line `stop`, or the end of stdin: the bench is done (or gone)
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=until_told, daemon=True).start()
    stop.wait(plan.limit_s)
    for flood in stranger_floods + parking_floods:
        flood.halt.set()
    for crowd in idle + silent:
        crowd.stop()
    for flood in stranger_floods + parking_floods:
        flood.join(POST_TIMEOUT_S + 5)
    _say(summary={
        "strangers": _summarise_floods(stranger_floods, plan.stranger_rate),
        "parking": _summarise_floods(parking_floods, plan.parking_rate),
        "idle_api": _summarise_crowds(idle),
        "silent_p2p": _summarise_crowds(silent),
        "nice": os.nice(0),
        "cpu_s": round(_cpu_seconds() - cpu_before, 1),  # from `go` to `stop`: what it took from the machine
    })
    return 0


def main() -> int:
    return run(AttackPlan.model_validate_json(sys.stdin.readline()))


if __name__ == "__main__":
    sys.exit(main())
