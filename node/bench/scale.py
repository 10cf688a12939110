"""Scale: what one more order of magnitude of accounts costs a node, in commit time and memory.

For each size a child process builds a store whose genesis funds that many
accounts (a real genesis document and `Store.init_genesis`, so the state is
exactly a node's), then a fresh child opens it as a node does and commits
blocks of the same transfers from the same senders to randomly chosen funded
accounts, timing each block from build to durable commit (`build_block` +
`commit_block`, fsync'd). The second child's peak RSS is the node's state
path's memory with that many accounts: the store's caches, the tree update,
the block. (It leaves out the API and peer layers, whose memory does not grow
with the number of accounts.)

    python -m node.bench.scale --accounts 1000000 --json    one size, as the runner calls it
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from genesis.document import Genesis, modules_json, parse_genesis
from genesis.rules import RULES
from ledger.address import to_address
from ledger.block import Certificate, sign_precommit
from ledger.crypto import SigningKey, sha256
from ledger.store import Store
from ledger.transition import build_block
from ledger.tx import decode_tx
from node.bench.workload import sender_keys, transfer
from node.devnet_layout import DEMO_CLASS
from node.runtime import tune_gc

CHAIN_ID = "incoop-bench-scale"
T0 = 1_700_000_000_000
VALIDATOR = SigningKey(sha256(b"incoop-bench-scale-validator"))
ISSUER = SigningKey(sha256(b"incoop-bench-scale-issuer"))
BALANCE = 1_000_000


@dataclass
class ScaleResult:
    accounts: int
    block_txs: int
    blocks: int
    build_s: float  # seconds to build the store (not part of any target)
    commit_ms_median: float
    commit_ms_max: float
    rss_mb: float  # peak resident memory of the process that committed the blocks
    # what was resident after the last block, before the store closed (the peak's make-up: RSS stays near its peak):
    rss_file_mb: float = 0.0  # LevelDB's table files, mapped read-only: page cache the kernel may reclaim
    rss_anon_mb: float = 0.0  # the process's heap: Python objects, LevelDB's block cache and write buffers
    rss_shmem_mb: float = 0.0  # the state tree's top levels (anonymous shared maps, ledger/tree_top.py)
    state_changes_per_block: int = 0  # state entries a block changed
    tree_writes_per_block: int = 0  # tree records it rewrote: the changed paths below the root


def _filler(i: int) -> bytes:
    return sha256(b"incoop-bench-scale-account" + i.to_bytes(4, "big"))


def _genesis(accounts: int, senders: list[SigningKey]) -> Genesis:
    sender_set = {k.pubkey for k in senders}
    funded = [k.pubkey for k in senders] + [a for a in map(_filler, range(accounts - len(senders))) if a not in sender_set]
    return parse_genesis(json.dumps({
        "chain_id": CHAIN_ID,
        "genesis_time_ms": T0,
        "modules": modules_json(RULES),
        "params": {"max_block_txs": 100_000},
        "validators": [{"name": "v", "pubkey": to_address(VALIDATOR.pubkey)}],
        "credits": {
            "issuers": [{"name": "issuer", "account": to_address(ISSUER.pubkey)}],
            "classes": [{"id": DEMO_CLASS, "name": "bench", "issuer": to_address(ISSUER.pubkey), "decimals": 2}],
            "balances": [{"account": to_address(a), "class": DEMO_CLASS, "amount": BALANCE} for a in funded],
        },
    }), RULES)


def build_store(path: Path, accounts: int, block_txs: int) -> None:
    g = _genesis(accounts, sender_keys(block_txs))
    with Store(path) as store:
        store.init_genesis(g.hash(), g.initial_state(), T0)
        # into tables, as a node's store is after running a while: otherwise the committing process
        # would first replay the genesis batch from LevelDB's log, a peak of memory no running node has
        store.db.compact_range()


def commit_blocks(path: Path, accounts: int, block_txs: int, blocks: int) -> dict:
    """Seconds per block, peak RSS and its make-up, changes and tree writes per block; the first block
    warms the caches and is not counted."""
    senders = sender_keys(block_txs)
    rng = random.Random(7)
    times = []
    changes = writes = 0
    with Store(path, create=False) as store:
        for b in range(blocks + 1):
            txs = [decode_tx(transfer(CHAIN_ID, k, _filler(rng.randrange(accounts - block_txs)), b))
                   for k in senders]
            verified = frozenset(tx.hash for tx in txs)  # a node verified them at admission
            head = store.head()
            started = time.perf_counter()
            block, outcome, rejected = build_block(RULES, store.state, store.tree, head, CHAIN_ID, VALIDATOR.pubkey,
                                                   head.time_ms + 1000, txs, verified)
            assert not rejected and all(r == 0 for r in outcome.results), "a bench transfer failed"
            block_hash = block.hash()
            cert = Certificate(block.header.height, 0, block_hash,
                               ((VALIDATOR.pubkey, sign_precommit(VALIDATOR, CHAIN_ID, block.header.height, 0,
                                                                  block_hash)),))
            store.commit_block(block, cert, outcome)
            if b:
                times.append(time.perf_counter() - started)
                changes += len(outcome.state_changes)
                writes += len(outcome.tree_writes)
        resident = _resident_mb()
    return {"times": times, "rss_mb": _peak_rss_mb(), **resident,
            "state_changes_per_block": changes // max(blocks, 1), "tree_writes_per_block": writes // max(blocks, 1)}


def _self_status_mb() -> dict[str, float]:
    """The fields of /proc/self/status given in kB (Linux), in MB of 2^20 bytes; none elsewhere."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        field, _, rest = line.partition(":")
        value = rest.split()
        if len(value) == 2 and value[1] == "kB":
            out[field] = int(value[0]) / 1024
    return out


def _resident_mb() -> dict[str, float]:
    """Resident memory now by kind, zeros where /proc/self/status does not say."""
    status = _self_status_mb()
    return {"rss_file_mb": status.get("RssFile", 0.0), "rss_anon_mb": status.get("RssAnon", 0.0),
            "rss_shmem_mb": status.get("RssShmem", 0.0)}


def _peak_rss_mb() -> float:
    peak = _self_status_mb().get("VmHWM")
    if peak is not None:
        return peak
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale(accounts: int, block_txs: int = 5000, blocks: int = 5) -> ScaleResult:
    """One size, each step in a fresh process, so that the commit's RSS is not the builder's."""
    with tempfile.TemporaryDirectory(prefix="incoop-bench-scale-") as tmp:
        path = Path(tmp) / "data"
        started = time.monotonic()
        _child(["build", str(path), str(accounts), str(block_txs)])
        build_s = time.monotonic() - started
        out = _child(["commit", str(path), str(accounts), str(block_txs), str(blocks)])
    times = out["times"]
    return ScaleResult(accounts, block_txs, blocks, round(build_s, 1), round(statistics.median(times) * 1000, 1),
                       round(max(times) * 1000, 1), round(out["rss_mb"], 1), round(out["rss_file_mb"], 1),
                       round(out["rss_anon_mb"], 1), round(out["rss_shmem_mb"], 1), out["state_changes_per_block"],
                       out["tree_writes_per_block"])


def _child(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-m", "node.bench.scale", "--step", *args],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"scale step {args[0]} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout or "{}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node.bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--block-txs", type=int, default=5000)
    parser.add_argument("--blocks", type=int, default=5)
    args = parser.parse_args(argv)
    if args.step:
        kind, path, accounts, block_txs, *rest = args.step
        if kind == "build":
            build_store(Path(path), int(accounts), int(block_txs))
            print("{}")
        else:
            tune_gc()  # as a node does
            print(json.dumps(commit_blocks(Path(path), int(accounts), int(block_txs), int(rest[0]))))
        return 0
    print(json.dumps(scale(args.accounts, args.block_txs, args.blocks).__dict__, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
