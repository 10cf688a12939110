"""Issue 12, findings 1 and 2, as the attacks: no one outside the federation can fill the mempool or
write to the chain, and a resident's payment goes through while they try (docs/admission.md).

Real node processes on loopback, driven through the API and the `incoop` CLI
as an attacker and a resident would. The attacker posts from other loopback
addresses (127.0.0.2, 127.0.0.3, …: as many "machines" as it likes) so that
the node's per-client share applies to it and not to the resident, who uses
127.0.0.1 as `incoop` does.

1. Stranger flood (finding 2): 4,000 fresh keys, one transfer each, in one
   batch. Every one is refused UNKNOWN_SIGNER, none costs a signature check;
   no block and no state gains anything from them (head block, the chain's
   transaction count, the state root all as before but for the resident's
   payment); the resident's `incoop wallet send` commits.
2. Parking flood (finding 1), first as filed: 100 keys the chain knows and
   funds send nonces 1…25 (skipping 0) with expiry 2^63 − 1: all refused
   EXPIRY_TOO_FAR, before any signature is verified. Then the
   best an attacker can do within the rules: the same, with an expiry in
   reach, from ten addresses: each address fills its share (CLIENT_QUOTA
   beyond); once the parked budget is full, a key holding fewer takes the
   room of the keys holding the most, so no key is refused while another
   holds more than one more (MEMPOOL_FULL); a resident's payment that
   reaches the node before its predecessor waits behind its gap all the same
   and commits once the gap is filled; the resident's includable payment is
   admitted and committed (parked transactions never take an includable
   one's place), its latency printed beside an unloaded one; once their
   time is up the parked ones are gone, none ever reached a block, and the
   metrics count each refusal and eviction.
3. Check-tx: an account the chain knows but that holds no credits (a
   registrar) sends credits: refused at once with INSUFFICIENT_BALANCE by
   `incoop wallet send` (one line, non-zero exit), and no block holds it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.address import to_address
from ledger.crypto import SigningKey
from ledger.tx import Tx
from node.bench import attack
from node.bench.attack import parking_txs, stranger_txs
from node.bench.workload import sender_keys
from node.config import MempoolConfig
from node.devnet_layout import DEMO_CLASS
from tests.functional.framework import Devnet, incoop, running_devnet, wait_until

STRANGERS = 4000
ATTACKERS = 100
PARKED_NONCES = range(1, 26)  # 1…25: nonce 0 never sent, so none can ever be included
POOL = 2000
PARKED = 1000
PARKED_TTL_S = 10.0  # longer than the flood takes on a loaded machine, so that no parked one expires before the checks
ATTACK_ADDRESSES = [f"127.0.0.{i}" for i in range(2, 12)]  # ten "machines"
NEVER = 2**63 - 1


def attacker_keys() -> list[SigningKey]:
    return sender_keys(ATTACKERS, seed=b"attacker")


def post_batch_from(devnet: Devnet, source: str, txs: list[Tx]) -> list[dict]:
    """POST /v1/txs/batch from a given loopback address, as another machine would."""
    return attack.post_batch_from(devnet.node.url, source, [tx.raw for tx in txs])


def metrics(devnet: Devnet) -> dict[str, float]:
    """The /metrics samples by their full name (labels included)."""
    return attack.parse_metrics(devnet.api.get_raw("/metrics").decode())


def committed_txs(devnet: Devnet) -> list[str]:
    """The hash of every transaction in every committed block: what the chain holds for ever."""
    head = devnet.api.status()["height"]
    return [tx["hash"] for h in range(1, head + 1) for tx in devnet.api.block(h)["txs"]]


def send(devnet: Devnet, amount: str = "0.01") -> tuple[float, str]:
    """anna pays marco with `incoop wallet send` (it waits for the block): the seconds it took, its output."""
    started = time.monotonic()
    proc = incoop(devnet, "wallet", "send", "--from", "anna", "--to", to_address(devnet.pubkey("marco")),
                  "--class", DEMO_CLASS, "--amount", amount)
    elapsed = time.monotonic() - started
    assert "committed" in proc.stdout and ": OK" in proc.stdout, proc.stdout
    return elapsed, proc.stdout


def submit_to_commit(devnet: Devnet) -> float:
    """marco pays anna through the API: seconds from submission to the node reporting it committed (the
    node's own share of a payment's latency; `send` adds the CLI's start, key unlocking and queries)."""
    tx = devnet.transfer("marco", "anna", 1, devnet.api.account(devnet.pubkey("marco"))["pending_nonce"])
    started = time.monotonic()
    devnet.api.submit(tx)
    assert devnet.api.wait_committed(tx.hash)["result"]["code"] == "OK"
    return time.monotonic() - started


@pytest.fixture
def devnet(tmp_path: Path) -> Iterator[Devnet]:
    keys = attacker_keys()
    yield from running_devnet(
        tmp_path / "devnet", funded=[k.pubkey for k in keys],
        # the share per client: the default, a tenth of max_txs
        mempool=MempoolConfig(max_txs=POOL, max_parked=PARKED, parked_ttl_s=PARKED_TTL_S),
    )


def test_a_stranger_flood_writes_nothing_and_a_resident_still_pays(devnet: Devnet) -> None:
    api = devnet.api
    unloaded, _ = send(devnet)
    unloaded_node = submit_to_commit(devnet)
    before = set(committed_txs(devnet))
    committed_by_then = metrics(devnet)["incoop_txs_committed_total"]
    status = api.status()
    expiry = status["height"] + 1000
    flood = stranger_txs(devnet.chain_id, STRANGERS, devnet.pubkey("anna"), expiry)  # fresh keys, one each

    started = time.monotonic()
    results = post_batch_from(devnet, ATTACK_ADDRESSES[0], flood)
    flood_s = time.monotonic() - started
    assert {r["error"]["code"] for r in results} == {"UNKNOWN_SIGNER"}, results[:3]
    assert api.status()["mempool_size"] == 0

    latency, out = send(devnet)
    node_s = submit_to_commit(devnet)
    print(f"\nstranger flood: {STRANGERS:,} transactions refused in {flood_s:.2f} s; "
          f"the resident's wallet send took {latency:.2f} s (unloaded: {unloaded:.2f} s): {out.strip()}; "
          f"submission to commit {node_s * 1000:.0f} ms (unloaded: {unloaded_node * 1000:.0f} ms)")

    after = committed_txs(devnet)
    assert len(after) == len(before) + 2, "the chain holds the residents' two payments and nothing of the flood"
    stranger_hashes = {tx.hash.hex() for tx in flood}
    assert not stranger_hashes & set(after)
    for tx in flood[:20]:
        assert api.account(tx.signer)["nonce"] == 0 and api.get(f"/v1/accounts/{to_address(tx.signer)}/txs")["txs"] == []
    seen = metrics(devnet)
    assert seen['incoop_mempool_refused_total{source="api",reason="UNKNOWN_SIGNER"}'] == STRANGERS
    assert seen["incoop_txs_committed_total"] == committed_by_then + 2  # the node committed those, no other


def test_a_parking_flood_is_refused_or_evicted_and_a_resident_still_pays(devnet: Devnet) -> None:
    api = devnet.api
    keys = attacker_keys()
    unloaded, _ = send(devnet)
    unloaded_node = submit_to_commit(devnet)
    before = set(committed_txs(devnet))

    # as filed: nonces from 1 that never expire
    never = parking_txs(devnet.chain_id, keys, PARKED_NONCES, devnet.pubkey("anna"), NEVER)
    codes = [r["error"]["code"] for r in post_batch_from(devnet, ATTACK_ADDRESSES[0], never)]
    assert codes == ["EXPIRY_TOO_FAR"] * len(never)
    assert api.status()["mempool_size"] == 0

    # within the rules, from ten machines: each fills its share of the pool (CLIENT_QUOTA beyond); once the
    # parked budget is full, a key holding fewer takes room from the keys holding the most (MEMPOOL_FULL when
    # the shares are even)
    expiry = api.status()["height"] + 1000
    flood = parking_txs(devnet.chain_id, keys, PARKED_NONCES, devnet.pubkey("anna"), expiry)
    share = POOL // 10
    admitted = 0
    refused: dict[str, int] = {}
    full_keys: set[bytes] = set()
    for i, source in enumerate(ATTACK_ADDRESSES):
        batch = flood[i * share:(i + 1) * share + 50]  # 50 over its share
        for j, (tx, result) in enumerate(zip(batch, post_batch_from(devnet, source, batch), strict=True)):
            code = result.get("error", {}).get("code")
            # the first 50 were the last address's 50 over its share: those its own evictions let in are copies
            assert code in (None, "CLIENT_QUOTA", "MEMPOOL_FULL") or (code == "DUPLICATE" and i and j < 50), result
            if code == "DUPLICATE":
                continue
            if code is None:
                admitted += 1
            else:
                refused[code] = refused.get(code, 0) + 1
                if code == "MEMPOOL_FULL":
                    full_keys.add(tx.signer)
    seen = metrics(devnet)
    assert (seen["incoop_mempool_size"], seen["incoop_mempool_parked"]) == (PARKED, PARKED)
    made_room = seen['incoop_mempool_evicted_total{reason="parked_share"}']
    assert admitted == PARKED + made_room and made_room > 0 and refused["MEMPOOL_FULL"] > 0
    assert seen['incoop_mempool_evicted_total{reason="parked_ttl"}'] == 0, \
        f"the flood took longer than the parked TTL ({PARKED_TTL_S:g} s): the shares below are not the flood's"
    held: dict[bytes, int] = {}
    for tx in flood:
        if api.tx(tx.hash)["status"] == "pending":
            held[tx.signer] = held.get(tx.signer, 0) + 1
    refused_shares = [held.get(key, 0) for key in full_keys]
    assert max(held.values()) <= min(refused_shares) + 1, "a key was refused while another held more than one more"

    # a resident whose second payment reaches the node before the first: it waits behind its gap, as
    # without the flood, taking the room of the largest share
    nonce = api.account(devnet.pubkey("marco"))["pending_nonce"]
    second = devnet.transfer("marco", "anna", 1, nonce + 1)
    assert api.submit(second)["status"] == "pending"
    latency, out = send(devnet)  # includable: the parked ones never take its place
    node_s = submit_to_commit(devnet)  # marco's nonce: fills his gap, and the second follows it
    assert api.wait_committed(second.hash)["result"]["code"] == "OK"
    print(f"\nparking flood: the node holds {PARKED:,} parked transactions from {len(ATTACK_ADDRESSES)} addresses, "
          f"made room {made_room:.0f} times and refused {sum(refused.values()):,}; the resident's wallet send took "
          f"{latency:.2f} s (unloaded: {unloaded:.2f} s): {out.strip()}; submission to commit "
          f"{node_s * 1000:.0f} ms (unloaded: {unloaded_node * 1000:.0f} ms)")

    wait_until(lambda: api.status()["mempool_size"] == 0, timeout=PARKED_TTL_S + 10, what="the parked to be evicted")
    seen = metrics(devnet)
    evicted = seen['incoop_mempool_evicted_total{reason="parked_ttl"}'] + seen[
        'incoop_mempool_evicted_total{reason="parked_share"}']
    assert evicted == admitted  # every one of the flood's went: one of them made room for marco's parked payment
    assert seen['incoop_mempool_refused_total{source="api",reason="EXPIRY_TOO_FAR"}'] == len(never)
    assert seen['incoop_mempool_refused_total{source="api",reason="CLIENT_QUOTA"}'] == refused["CLIENT_QUOTA"]
    assert seen['incoop_mempool_refused_total{source="api",reason="MEMPOOL_FULL"}'] == refused["MEMPOOL_FULL"]
    gone = api.tx(flood[0].hash)
    assert gone["status"] == "rejected" and gone["error"]["code"] == "EVICTED"
    after = committed_txs(devnet)
    assert len(after) == len(before) + 3, "only the residents' three payments reached a block"
    for key in keys[:10]:
        assert api.account(key.pubkey)["nonce"] == 0


def test_a_known_account_without_credits_is_refused_at_admission_and_never_reaches_a_block(devnet: Devnet) -> None:
    api = devnet.api
    comune = devnet.pubkey("comune")  # a registrar and attester: known to the chain, holds no credits
    before = committed_txs(devnet)
    height = api.status()["height"]
    proc = incoop(devnet, "wallet", "send", "--from", "comune", "--to", to_address(devnet.pubkey("anna")),
                  "--class", DEMO_CLASS, "--amount", "1.00", check=False)
    assert "INSUFFICIENT_BALANCE" in proc.stderr and "refused" in proc.stderr, proc.stderr
    api.wait_height(height + 2)  # blocks go on (heartbeats); none takes it
    assert committed_txs(devnet) == before
    assert api.account(comune)["nonce"] == 0 and api.status()["mempool_size"] == 0
    assert metrics(devnet)['incoop_mempool_refused_total{source="api",reason="INSUFFICIENT_BALANCE"}'] == 1
