"""Where consensus stands, told to peers and to operators: the status message and the metrics.

docs/consensus.md, "Re-sends and status", and docs/operations.md (the metrics).
Peers get `[head_height, height, round, step]` (FORMAT.md §18.3) whenever it
changes and at every status interval; block sync reads theirs. `GET /v1/status`
and `/metrics` read `Driver.status()` and `Driver.stats`, which the driver
assembles from the counters of its parts, the ones kept here among them.
"""

from __future__ import annotations

import logging
from typing import Any

from ledger.chain import TIMEOUT_NAMES, ChainParams
from ledger.transition import ChainHead
from node.consensus import wire
from node.consensus.context import Broadcaster
from node.consensus.machine import Machine, Step
from node.metrics import LATENCY_BUCKETS_S, Histogram, TxRate

log = logging.getLogger("incoop.consensus")

STEP_NAMES = {Step.PROPOSE: "propose", Step.PREVOTE: "prevote", Step.PRECOMMIT: "precommit"}


def position(head: ChainHead, machine: Machine | None, started: bool) -> tuple[int, int, int, int]:
    """The status payload: [head_height, height, round (-1: not started or not voting), step]."""
    if machine is None or not started:
        return (head.height, head.height + 1, -1, 0)
    return (head.height, head.height + 1, machine.state.round, int(machine.state.step))


def timeouts(params: ChainParams) -> dict[str, int]:
    """The round timeouts in force at the height being decided (docs/consensus.md, "Timeouts")."""
    return {name.removeprefix("timeout_").removesuffix("_ms"): getattr(params, name) for name in TIMEOUT_NAMES}


def describe(head: ChainHead, machine: Machine | None, started: bool, catching_up: bool,
             params: ChainParams) -> dict[str, Any]:
    """The `consensus` object of GET /v1/status; `params` are the chain's of the height being decided."""
    running = machine is not None and started
    return {
        "height": head.height + 1,
        "round": machine.state.round if running else -1,
        "step": STEP_NAMES[machine.state.step] if running else "waiting",
        "voting": machine is not None,
        "catching_up": catching_up,
        "timeouts_ms": timeouts(params),
    }


class StatusSender:
    """Sends the status to every peer when it changes (or when forced, at every status interval)."""

    def __init__(self) -> None:
        self._last: tuple | None = None

    def publish(self, net: Broadcaster, payload: tuple, force: bool = False) -> None:
        if force or payload != self._last:
            self._last = payload
            net.broadcast(wire.STATUS, payload)


class Metrics:
    """What this process committed and how long it took; rounds and timeouts."""

    def __init__(self) -> None:
        self.commits = 0
        self.txs_committed = 0
        self.rounds_last_height = 0
        self.commit_latency_ms = 0.0
        self.timeouts = 0
        self.tx_rate = TxRate()
        self.commit_latency = Histogram(LATENCY_BUCKETS_S)

    def committed(self, head: ChainHead, round_: int, txs: int, latency_s: float, execute_ms: float,
                  write_ms: float) -> None:
        self.commits += 1
        self.txs_committed += txs
        self.commit_latency_ms = latency_s * 1000
        self.commit_latency.observe(latency_s)
        self.tx_rate.record(txs)
        level = logging.INFO if txs else logging.DEBUG
        log.log(level, "committed block %d (round %d) with %d txs in %.0f ms: execute %.0f ms, write %.0f ms",
                head.height, round_, txs, latency_s * 1000, execute_ms, write_ms)
