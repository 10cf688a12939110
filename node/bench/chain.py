"""A long chain of credit transfers, built fast and in-process, for the audit benchmark.

The audit benchmark needs a chain of hundreds of thousands of transactions,
far more than a devnet commits in a benchmark's time budget. This builds the
same thing a federation would have written, without the network: a genesis
with funded accounts and four validators, blocks made by the proposer's own
`build_block`, each with a certificate of three real precommit signatures,
committed through the node's `Store.commit_block`. The result is a node HOME
(`genesis.json` and `data/`) that `incoop audit verify --data` reads like any
other.

Transactions are signed in a thread pool (PyNaCl releases the GIL), round by
round: in round r every account sends its nonce-r transfer of 1 minor unit to
the next account, so balances never run out.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from genesis.document import Genesis, modules_json, parse_genesis
from genesis.rules import RULES
from ledger.address import to_address
from ledger.block import Certificate, sign_precommit
from ledger.chain import quorum
from ledger.credit_txs import TRANSFER
from ledger.crypto import SigningKey
from ledger.store import Store
from ledger.transition import build_block
from ledger.tx import Tx, sign_tx

CHAIN_ID = "incoop-bench"
CLASS_ID = "bench-eur"
GENESIS_TIME_MS = 1_767_225_600_000  # 2026-01-01
BLOCK_INTERVAL_MS = 1000
ACCOUNT_BALANCE = 1_000_000
VALIDATOR_KEYS = tuple(SigningKey(bytes([0xB0 + i]) * 32) for i in range(4))
ISSUER_KEY = SigningKey(bytes([0xBF]) * 32)
_SIGN_CHUNK = 1000


class ChainStats(NamedTuple):
    height: int
    txs: int
    accounts: int
    seconds: float
    head_hash: bytes
    state_root: bytes


def account_key(index: int) -> SigningKey:
    """The deterministic key of benchmark account `index` (the same on every run)."""
    return SigningKey(b"bench" + index.to_bytes(4, "big") + bytes(23))


def genesis_document(keys: list[SigningKey]) -> dict:
    issuer = to_address(ISSUER_KEY.pubkey)
    return {
        "chain_id": CHAIN_ID,
        "genesis_time_ms": GENESIS_TIME_MS,
        "modules": modules_json(RULES),
        "params": {"max_block_txs": 100_000, "max_block_bytes": 64 * 1024 * 1024},
        "validators": [{"name": f"v{i}", "pubkey": to_address(k.pubkey)} for i, k in enumerate(VALIDATOR_KEYS)],
        "credits": {
            "issuers": [{"name": "bench issuer", "account": issuer}],
            "classes": [{"id": CLASS_ID, "name": "Bench euro", "issuer": issuer, "decimals": 2}],
            "balances": [{"account": to_address(k.pubkey), "class": CLASS_ID, "amount": ACCOUNT_BALANCE}
                         for k in keys],
        },
    }


def _sign_range(keys: list[SigningKey], start: int, stop: int) -> list[Tx]:
    n = len(keys)
    out = []
    for i in range(start, stop):
        sender = i % n
        body = (CLASS_ID, keys[(sender + 1) % n].pubkey, 1, "")
        out.append(sign_tx(keys[sender], CHAIN_ID, TRANSFER.name, i // n, 2**40, body))
    return out


def _certificate(height: int, block_hash: bytes) -> Certificate:
    signers = sorted(VALIDATOR_KEYS[: quorum(len(VALIDATOR_KEYS))], key=lambda k: k.pubkey)
    return Certificate(
        height, 0, block_hash, tuple((k.pubkey, sign_precommit(k, CHAIN_ID, height, 0, block_hash)) for k in signers)
    )


def build_transfer_chain(home: str | Path, accounts: int, txs: int, block_txs: int = 5000) -> tuple[Path, ChainStats]:
    """Write HOME/genesis.json and HOME/data/ holding `txs` transfers among `accounts` accounts.

    Returns the genesis path and what was built. HOME/data must not exist yet.
    """
    if accounts < 2 or txs < 0 or block_txs < 1:
        raise ValueError("need at least two accounts, txs >= 0 and block_txs >= 1")
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    if (home / "data").exists():
        raise FileExistsError(f"{home / 'data'} already exists")
    started = time.monotonic()
    keys = [account_key(i) for i in range(accounts)]
    genesis: Genesis = parse_genesis(json.dumps(genesis_document(keys)), RULES)
    genesis_path = home / "genesis.json"
    genesis_path.write_text(genesis.to_json(), encoding="utf-8")
    proposer = VALIDATOR_KEYS[0].pubkey
    with Store(home / "data", sync=False) as store, ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        head = store.init_genesis(genesis.hash(), genesis.initial_state(), genesis.genesis_time_ms)
        starts = iter(range(0, txs, _SIGN_CHUNK))
        # signed ahead by at most a window, not the whole chain: a million signed transactions held at
        # once would be gigabytes of memory (the restart benchmark builds such a chain)
        window = max(2 * (os.cpu_count() or 2), 2 * block_txs // _SIGN_CHUNK + 2)
        pending: deque[Future[list[Tx]]] = deque()

        def sign_ahead() -> None:
            while len(pending) < window:
                start = next(starts, None)
                if start is None:
                    return
                pending.append(pool.submit(_sign_range, keys, start, min(start + _SIGN_CHUNK, txs)))

        sign_ahead()
        queue: list[Tx] = []
        while pending:
            queue.extend(pending.popleft().result())
            sign_ahead()
            while len(queue) >= block_txs or (not pending and queue):
                batch, queue = queue[:block_txs], queue[block_txs:]
                verified = {tx.hash for tx in batch}  # signed just now by this process
                block, outcome, rejected = build_block(
                    RULES, store.state, store.tree, head, CHAIN_ID, proposer, head.time_ms + BLOCK_INTERVAL_MS, batch, verified
                )
                if rejected:
                    raise RuntimeError(f"the builder made an inadmissible transaction: {rejected[0][1]}")
                head = store.commit_block(block, _certificate(block.header.height, block.hash()), outcome)
    stats = ChainStats(head.height, txs, accounts, time.monotonic() - started, head.block_hash, head.state_root)
    return genesis_path, stats
