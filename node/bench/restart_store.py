"""The restart benchmark's store: a million committed transactions, built once and kept between runs.

node/bench/chain.py's transfer chain (transactions signed by their senders,
blocks made by the proposer's `build_block`, each with a certificate,
committed through `Store.commit_block` into LevelDB), then followed by the
node's own agora cursor (`AgoraTexts.catch_up`, as a running node does after
every block) and compacted: what a node that had committed those blocks
would hold. Building it takes minutes, so it is kept under the cache folder
(`bench-out/cache/` by default) in a directory named by a hash of the code
that writes it (every module of the state transition and the store, the
chain builder, this file) and of its sizes: a change to any of them builds it
again, and the older copy is removed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import plyvel

from ledger.store import Store
from node.agora_texts import AgoraTexts
from node.bench.chain import build_transfer_chain
from node.bench.compaction import compact_all

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = ROOT / "bench-out" / "cache"
CODE = ("ledger", "genesis", "identity", "market", "governance", "node/bench/chain.py", "node/bench/compaction.py",
        "node/bench/restart_store.py", "node/agora_texts.py")
"""What writes the cached store (relative to the repository): its key is a hash of these files' bytes."""
RESTART_TXS = 1_000_000
ACCOUNTS = 10_000
BLOCK_TXS = 10_000


def code_key(txs: int, accounts: int, block_txs: int, root: Path = ROOT) -> str:
    """A hash of every file that writes the cached store, of its sizes and of the LevelDB binding."""
    digest = hashlib.sha256(f"{txs} {accounts} {block_txs} {sys.version_info[:2]} "
                            f"{plyvel.__version__} {plyvel.__leveldb_version__}\n".encode())
    for name in CODE:
        path = root / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def dir_bytes(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())


def settle(data: Path) -> int:
    """Make a freshly built store what a node that committed its blocks would hold: the agora's cursor
    followed to the head by the node's own code (a running node does it after every block), then every
    record compacted into tables. Returns the head height."""
    with Store(data, create=False) as store:
        head = store.head().height
        AgoraTexts(store, mempool=()).catch_up(most=head)  # no pending texts: the mempool is never asked
        compact_all(store)
    return head


def cached_chain(cache: Path, txs: int = RESTART_TXS, accounts: int = ACCOUNTS, block_txs: int = BLOCK_TXS,
                 say: Callable[[str], None] = lambda text: None) -> tuple[Path, dict, float | None]:
    """(chain home with genesis.json and data/, its meta, seconds spent building or None if cached)."""
    key = code_key(txs, accounts, block_txs)
    name = f"restart-{txs}"
    home = cache / f"{name}-{key}"
    meta_path = home / "meta.json"
    if meta_path.exists():
        return home, json.loads(meta_path.read_text()), None
    cache.mkdir(parents=True, exist_ok=True)
    for stale in cache.glob(f"{name}-*"):  # another code's store (or a build cut short): never read again
        shutil.rmtree(stale, ignore_errors=True)
    say(f"restart: building a store of {txs:,} transfers among {accounts:,} accounts in blocks of {block_txs:,} "
        f"(kept in {cache} for later runs)")
    started = time.monotonic()
    building = cache / f"{name}-{key}.building"
    _, stats = build_transfer_chain(building, accounts, txs, block_txs)
    height = settle(building / "data")
    built_s = time.monotonic() - started
    meta = {"txs": stats.txs, "accounts": accounts, "block_txs": block_txs, "height": height, "key": key,
            "head_hash": stats.head_hash.hex(), "built_s": round(built_s, 1),
            "store_bytes": dir_bytes(building / "data")}
    (building / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    building.rename(home)
    return home, meta, built_s
