"""Committed transactions per second: a devnet of real node processes, fed through the batch API.

Every transfer is signed before the clock starts. Several client threads post
batches (canonical MessagePack, `/v1/txs/batch`); each sender's transactions
always go to the same node, as a resident's wallet talks to its own node (a
node handed nonce n+1 before another node's gossip brought it nonce n parks
it, and a parked transaction may be evicted for room: docs/admission.md). A
batch item refused for "later" (the mempool or this client's share of it is full) is offered again a little
later, to the same node, as a well-behaved wallet would. A watcher follows the committed blocks of one
node. The figure is committed transactions / (last commit - first submission),
so the node's ingestion, verification, execution and fsync'd commits are all
inside it, and the client's signing is not.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass

from ledger.block import decode_raw_block
from node.bench.federation import LocalFederation, post_batch
from node.bench.workload import sender_keys, signed_transfers
from wallet.client import NodeClient

# refusals that say "later" (docs/admission.md), offered again; the API names the code (docs/api-contract.md)
LATER = frozenset({"MEMPOOL_FULL", "CLIENT_QUOTA"})
RETRY_AFTER_S = 0.05
POLL_S = 0.02


@dataclass
class ThroughputResult:
    validators: int
    accounts: int
    txs: int
    clients: int
    batch: int
    committed: int
    seconds: float
    committed_tx_per_s: float
    blocks: int
    refused: int  # refused for a reason other than a full mempool: must be 0
    home: str | None = None  # the devnet directory, when kept for the audit
    node_cpu_s: float = 0.0  # CPU time the validator processes used from the first submission to the last commit
    node_peak_rss_mb: float = 0.0  # the largest peak resident memory (VmHWM) of a validator process, read at the end


def _submit_all(urls: list[str], raws: list[bytes], senders: int, clients: int, batch: int,
                refused: list[str]) -> None:
    """Offer every transaction until each is accepted (or refused for good, which is counted).

    `raws` are nonce-major over `senders` senders (node/bench/workload.py), so sender j % senders signed
    raws[j]; its node is that sender's index modulo the number of nodes, and its batches reach it in
    nonce order (the clients take them first come, first served).
    """
    per_node: list[list[bytes]] = [[] for _ in urls]
    for j, raw in enumerate(raws):
        per_node[(j % senders) % len(urls)].append(raw)
    chunks: deque[tuple[str, list[bytes]]] = deque()
    for i in range(0, max(len(mine) for mine in per_node), batch):
        chunks.extend((url, mine[i:i + batch]) for url, mine in zip(urls, per_node, strict=True) if mine[i:i + batch])
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                if not chunks:
                    return
                url, chunk = chunks.popleft()
            results = post_batch(url, chunk)
            retry = []
            for raw, result in zip(chunk, results, strict=True):
                error = result.get("error")
                if error is None:
                    continue
                if error.get("code") in LATER:
                    retry.append(raw)
                else:
                    refused.append(json.dumps(error))
            if retry:
                time.sleep(RETRY_AFTER_S)
                with lock:
                    chunks.append((url, retry))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def throughput(validators: int = 1, accounts: int = 10_000, txs: int = 200_000, clients: int = 4,
               batch: int = 2_000, keep: bool = False, progress: bool = True) -> ThroughputResult:
    keys = sender_keys(accounts)
    fed = LocalFederation(validators, funded=[k.pubkey for k in keys], keep=keep)
    with fed:
        chain_id = fed.layout.genesis.chain_id
        urls = fed.layout.api_urls
        t0 = time.monotonic()
        raws = signed_transfers(chain_id, keys, txs)
        if progress:
            print(f"  {len(raws):,} transfers from {accounts:,} accounts signed in {time.monotonic() - t0:.1f} s",
                  file=sys.stderr, flush=True)
        watcher_client = NodeClient(urls[0])
        height = watcher_client.status()["height"]
        refused: list[str] = []
        committed = blocks = 0
        cpu_before = fed.cpu_seconds()
        started = time.monotonic()
        submitter = threading.Thread(target=_submit_all, args=(urls, raws, accounts, clients, batch, refused), daemon=True)
        submitter.start()
        last_commit = started
        last_report = started
        deadline = started + max(120.0, txs / 200)
        while committed < len(raws) - len(refused) and time.monotonic() < deadline:
            head = watcher_client.status()["height"]
            while height < head:
                height += 1
                block, _ = decode_raw_block(watcher_client.block_raw(height))
                committed += len(block.txs)
                blocks += 1
                last_commit = time.monotonic()
            now = time.monotonic()
            if progress and now - last_report >= 2:
                last_report = now
                print(f"  {validators} validator(s): {committed:,}/{len(raws):,} committed after {now - started:.0f} s"
                      f" ({committed / (now - started):,.0f} tx/s)", file=sys.stderr, flush=True)
            time.sleep(POLL_S)
        node_cpu_s = fed.cpu_seconds() - cpu_before  # to the last commit, give or take one watcher poll
        peak_rss = max(fed.peak_rss_mb())  # before the nodes stop: the peak of the whole run
        submitter.join(5)
        for line in refused[:10]:
            print(f"  refused: {line}", file=sys.stderr)
        seconds = last_commit - started
    return ThroughputResult(
        validators, accounts, txs, clients, batch, committed, round(seconds, 3),
        committed / max(seconds, 1e-9), blocks, len(refused), str(fed.layout.home) if keep else None,
        round(node_cpu_s, 1), round(peak_rss, 1),
    )
