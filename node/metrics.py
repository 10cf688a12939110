"""`/metrics`: the node's vital signs in the Prometheus text format (version 0.0.4).

An operator's scraper reads height, rounds per height, throughput, mempool,
peers and commit latency from here; nothing in it is needed by the ledger.
The values are read from the running parts at scrape time, except two small
series the driver feeds as it commits: the commit latency histogram and the
recent commits for the transactions-per-second gauge. The parts that guard
the node's edges (API connections, request timeouts, the vault's refusals)
are `MetricSource`s listed under `SOURCES` in the app; docs/api-limits.md
says what to watch in them.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Iterable
from typing import Any, Protocol

from aiohttp import web


class MetricSource(Protocol):
    def metric_lines(self) -> list[str]:
        """Complete exposition lines (HELP, TYPE, samples) of this source's metrics."""
        ...


SOURCES = web.AppKey("metric_sources", list)

LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# always exported (as 0 until they happen), so that an alert on them needs no "absent" rule
_REFUSAL_SOURCES = ("api", "gossip")
_WATCHED_REFUSALS = ("UNKNOWN_SIGNER", "EXPIRY_TOO_FAR", "NONCE_TOO_FAR", "CLIENT_QUOTA", "MEMPOOL_FULL",
                     "INSUFFICIENT_BALANCE")
_EVICTIONS = ("parked_ttl", "parked_share", "expired", "check_failed")
TX_RATE_WINDOW_S = 10.0


class Histogram:
    def __init__(self, buckets: tuple[float, ...]):
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def lines(self, name: str) -> list[str]:
        out, cumulative = [], 0
        for bound, count in zip((*self.buckets, float("inf")), self.counts, strict=True):
            cumulative += count
            label = "+Inf" if bound == float("inf") else repr(bound)
            out.append(f'{name}_bucket{{le="{label}"}} {cumulative}')
        out += [f"{name}_sum {self.sum:.6f}", f"{name}_count {self.count}"]
        return out


class TxRate:
    """Transactions per second over the last few seconds of commits (monotonic clock, metrics only)."""

    def __init__(self, window_s: float = TX_RATE_WINDOW_S):
        self.window_s = window_s
        self._commits: deque[tuple[float, int]] = deque()

    def record(self, txs: int) -> None:
        self._commits.append((time.monotonic(), txs))

    def rate(self) -> float:
        horizon = time.monotonic() - self.window_s
        while self._commits and self._commits[0][0] < horizon:
            self._commits.popleft()
        return sum(n for _, n in self._commits) / self.window_s


def _metric(out: list[str], name: str, kind: str, help_text: str, value: Any) -> None:
    out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]


def _mempool_metrics(out: list[str], mempool: Any) -> None:
    """Size, limits, and every refusal and eviction by reason (docs/admission.md says what each means)."""
    _metric(out, "incoop_mempool_size", "gauge", "Transactions waiting in the mempool.", len(mempool))
    _metric(out, "incoop_mempool_capacity", "gauge",
            "The most includable transactions the mempool holds (mempool.max_txs).", mempool.max_txs)
    _metric(out, "incoop_mempool_parked", "gauge", "Pending transactions waiting behind a nonce gap.", mempool.parked)
    _metric(out, "incoop_mempool_parked_capacity", "gauge",
            "The most transactions the mempool holds behind nonce gaps (mempool.max_parked).", mempool.config.max_parked)
    refused = dict(mempool.refused)
    for source in _REFUSAL_SOURCES:
        for reason in _WATCHED_REFUSALS:
            refused.setdefault((source, reason), 0)
    out += ["# HELP incoop_mempool_refused_total Transactions refused admission, by source (api, gossip, node) "
            "and reason (the result code).",
            "# TYPE incoop_mempool_refused_total counter"]
    out += [f'incoop_mempool_refused_total{{source="{source}",reason="{reason}"}} {count}'
            for (source, reason), count in sorted(refused.items())]
    out += ["# HELP incoop_mempool_evicted_total Pending transactions evicted, by reason: parked_ttl (behind a "
            "nonce gap too long), parked_share (the newest of the largest parked share, for a smaller one), expired, "
            "check_failed "
            "(failed its check again after a commit or once its gap was filled).",
            "# TYPE incoop_mempool_evicted_total counter"]
    evicted = {reason: mempool.evicted.get(reason, 0) for reason in _EVICTIONS} | dict(mempool.evicted)
    out += [f'incoop_mempool_evicted_total{{reason="{reason}"}} {count}' for reason, count in sorted(evicted.items())]


def render(ctx: Any, sources: Iterable[MetricSource] = ()) -> str:
    """The exposition text for a node.api.NodeContext and the edge guards' `sources`."""
    out: list[str] = []
    head = ctx.store.head()
    _metric(out, "incoop_height", "gauge", "Height of the last committed block.", head.height)
    _mempool_metrics(out, ctx.mempool)
    peers = ctx.peers.peers() if ctx.peers is not None else []
    _metric(out, "incoop_peers", "gauge", "Authenticated peer connections.", len(peers))
    driver = ctx.consensus
    if driver is not None:
        status = driver.status()
        stats = driver.stats
        _metric(out, "incoop_consensus_round", "gauge", "Round of the height in progress (-1: not started).",
                status["round"])
        _metric(out, "incoop_catching_up", "gauge", "1 while the node syncs blocks from peers.",
                int(status["catching_up"]))
        _metric(out, "incoop_rounds_last_height", "gauge", "Rounds the last decided height took (1 = first round).",
                stats["rounds_last_height"])
        _metric(out, "incoop_blocks_committed_total", "counter", "Blocks this process committed.", stats["commits"])
        _metric(out, "incoop_txs_committed_total", "counter", "Transactions this process committed.",
                stats["txs_committed"])
        _metric(out, "incoop_tx_per_second", "gauge", f"Committed transactions per second over {TX_RATE_WINDOW_S:.0f} s.",
                f"{driver.tx_rate.rate():.3f}")
        _metric(out, "incoop_round_timeouts_total", "counter", "Round timeouts that fired.", stats["timeouts"])
        out += ["# HELP incoop_consensus_timeout_ms The chain's round timeouts at the height being decided (chain "
                "parameters): each step's base, the delta added per round and the cap.",
                "# TYPE incoop_consensus_timeout_ms gauge"]
        out += [f'incoop_consensus_timeout_ms{{timeout="{name}"}} {value}'
                for name, value in status["timeouts_ms"].items()]
        _metric(out, "incoop_synced_blocks_total", "counter", "Blocks committed through block sync.",
                stats["synced_blocks"])
        _metric(out, "incoop_refused_signatures_total", "counter",
                "Signatures the sign-state refused (would conflict with an earlier one).", stats["refused_signatures"])
        _metric(out, "incoop_gossip_batches_dropped_total", "counter",
                "Gossiped transaction batches dropped because admission was behind.", stats["gossip_batches_dropped"])
        for name, help_ in (("asked", "Requests (HAS) this node sent for proposals and votes it lacked."),
                            ("answered", "Proposals and votes this node sent in answer to a peer's request."),
                            ("passed_on", "Proposals and votes passed on to a peer with an open request."),
                            ("ignored", "Requests ignored: not from a validator of that height, or malformed.")):
            _metric(out, f"incoop_consensus_gossip_{name}_total", "counter", help_, stats[f"consensus_gossip_{name}"])
        out += ["# HELP incoop_commit_latency_seconds From the start of a height to its commit.",
                "# TYPE incoop_commit_latency_seconds histogram"]
        out += driver.commit_latency.lines("incoop_commit_latency_seconds")
    if ctx.peers is not None:
        for key, value in sorted(ctx.peers.stats().items()):
            kind = "gauge" if key in P2P_GAUGES else "counter"
            _metric(out, f"incoop_p2p_{key}", kind, P2P_HELP.get(key, f"Peer-to-peer {key}."), value)
    for source in sources:
        out += source.metric_lines()
    return "\n".join(out) + "\n"


P2P_GAUGES = frozenset({"peers", "pending_handshakes"})
P2P_HELP = {
    "peers": "Authenticated peer connections.",
    "pending_handshakes": "Inbound p2p connections that have not proved a key yet (bounded by p2p_max_pending).",
    "refused": "Peer handshakes this node refused (bad signature, unknown key, malformed, timed out after the proof).",
    "evicted": "Unauthenticated p2p connections closed to admit a newer one (the pending pool was full).",
    "handshake_timeouts": "p2p connections closed for not completing the handshake in p2p_handshake_timeout_s.",
    "oversized_frames": "p2p frames refused as over the limit (1 KiB before the handshake, 32 MiB after).",
    "frames_in": "Frames received from authenticated peers.",
    "frames_out": "Frames sent to authenticated peers.",
    "bytes_in": "Bytes of frames received from authenticated peers.",
    "bytes_out": "Bytes of frames sent to authenticated peers.",
    "duplicates": "Gossip frames dropped as already seen.",
}
"""docs/p2p.md lists these for operators."""
