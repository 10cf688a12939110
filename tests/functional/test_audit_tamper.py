"""`incoop audit verify` against a real federation's chain, then against tampered copies of it.

Scenario (four validators, the devnet's demo keys):
1. The federation registers anna's identity and issues her demo-eur; anna
   sends marco a batch of transfers (several land in one block); a steady
   load of transfers between anna and marco runs for a few seconds.
2. While the federation runs, the audit passes through the command line
   both from node 0's API and from node 1's HOME (a live data directory).
3. The federation stops. Node 1's data directory is copied once per case
   and the copy is tampered with directly in LevelDB (FORMAT.md §15 keys),
   the way someone with the disk but without the validators' keys could:
   a flipped byte in a stored block, a replaced transaction signature,
   certificate signatures dropped below quorum, two transactions swapped, a
   balance changed in the stored state, and a block rewritten (a transfer's
   amount changed and re-signed by its sender, whose key the test holds)
   with every later header re-hashed into a consistent chain. Each is
   caught at the right block with the right check and message.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import plyvel
import pytest

from genesis.document import Genesis, load_genesis
from genesis.rules import RULES
from ledger.block import Block, Certificate, decode_raw_block, encode_raw_block, tx_root
from ledger.credits import balance_key
from ledger.crypto import SigningKey
from ledger.encoding import decode, encode
from ledger.store import Store
from ledger.transition import apply_block, build_block
from ledger.tx import decode_tx, sign_tx
from node.audit.source import DataDirSource
from node.audit.verify import AuditFailure, AuditReport, verify_chain
from node.devnet_layout import DEMO_CLASS
from tests.functional.framework import (
    FAR_EXPIRY,
    Devnet,
    SteadyLoad,
    incoop,
    running_devnet,
    wait_until,
)

pytestmark = pytest.mark.timeout(180)

BATCH = 6


class Chain(NamedTuple):
    devnet: Devnet
    genesis_path: Path
    genesis: Genesis
    pristine: Path  # a stopped validator's HOME, never written to by the tests
    height: int
    batch_height: int  # a block whose first two transactions are anna's transfers


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    yield from running_devnet(tmp_path_factory.mktemp("audit") / "devnet", validators=4)


def play(devnet: Devnet) -> None:
    federation, anna = devnet.keys["federation"], devnet.keys["anna"]
    api = devnet.api
    setup = [
        sign_tx(federation, devnet.chain_id, "identity.register", devnet.next_nonce("federation"), FAR_EXPIRY,
                (os.urandom(16), "person", os.urandom(32), os.urandom(32), (anna.pubkey,))),
        sign_tx(federation, devnet.chain_id, "credits.issue", devnet.next_nonce("federation") + 1, FAR_EXPIRY,
                (DEMO_CLASS, anna.pubkey, 5_000, "audit test")),
    ]
    assert all("error" not in r for r in api.submit_batch(setup))
    for tx in setup:
        assert api.wait_committed(tx.hash)["result"]["code"] == "OK"
    first = devnet.next_nonce("anna")
    batch = [devnet.transfer("anna", "marco", 10 + i, first + i, memo=f"batch {i}") for i in range(BATCH)]
    assert all("error" not in r for r in api.submit_batch(batch))
    for tx in batch:
        api.wait_committed(tx.hash)
    load = SteadyLoad(devnet, devnet.validators, rate=40)
    load.start()
    wait_until(lambda: len(load.accepted) >= 80, timeout=20, what="80 transfers under load")
    accepted = load.stop()
    for tx_hash in accepted[-5:]:  # admitted by any of the validators, in turn
        api.wait_committed(tx_hash, timeout=30, elsewhere=True)


@pytest.fixture(scope="module")
def chain(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Chain:
    play(devnet)
    genesis_path = devnet.layout.home / "genesis.json"
    live = verify_live(devnet, genesis_path)
    for node in devnet.nodes:
        if node.alive():
            node.stop()
    pristine = tmp_path_factory.mktemp("pristine") / "home"
    shutil.copytree(devnet.validators[1].home / "data", pristine / "data")
    with Store(pristine / "data", create=False) as store:
        height = store.head().height
        batch_height = next(h for h in range(1, height + 1) if anna_sends_twice(store, h, devnet.pubkey("anna")))
    assert height >= live
    return Chain(devnet, genesis_path, load_genesis(genesis_path), pristine, height, batch_height)


def anna_sends_twice(store: Store, height: int, anna: bytes) -> bool:
    txs = [decode_tx(raw) for raw in decode_raw_block(store.raw_block(height))[0].txs[:2]]
    return len(txs) == 2 and all(tx.signer == anna and tx.type == "credits.transfer" for tx in txs)


def verify_live(devnet: Devnet, genesis_path: Path) -> int:
    """Step 2: the running federation verifies from an API and from a live data directory."""
    api = json.loads(incoop(devnet, "audit", "verify", "--genesis", str(genesis_path), "--node", devnet.nodes[0].url,
                            "--json").stdout)
    assert api["ok"] is True and api["height"] > 0 and api["txs"] >= BATCH + 2
    assert api["identities"] == 1 and api["classes"] == 1 and api["stored_state_compared"] is False
    data = incoop(devnet, "audit", "verify", "--genesis", str(genesis_path), "--data", str(devnet.validators[1].home))
    assert "stored state equals the replay" in data.stdout
    assert data.stderr.startswith("audit: block ")
    return api["height"]


# --- tampering tools: what someone holding the disk (not the validators' keys) can do -------------


class Copy:
    """A copy of the pristine HOME opened with plyvel, for one case."""

    def __init__(self, chain: Chain, tmp_path: Path):
        self.home = tmp_path / "tampered"
        shutil.copytree(chain.pristine, self.home)
        self.db = plyvel.DB(str(self.home / "data"))

    def raw(self, height: int) -> bytes:
        return self.db.get(b"b" + height.to_bytes(8, "big"))

    def block(self, height: int) -> tuple[Block, Certificate]:
        return decode_raw_block(self.raw(height))

    def put(self, height: int, block: Block, certificate: Certificate) -> None:
        self.db.put(b"b" + height.to_bytes(8, "big"), encode_raw_block(block, certificate))

    def close(self) -> None:
        self.db.close()


@pytest.fixture
def copy(chain: Chain, tmp_path: Path) -> Iterator[Copy]:
    tampered = Copy(chain, tmp_path)
    try:
        yield tampered
    finally:
        tampered.close()


def audit(chain: Chain, copy: Copy) -> AuditReport:
    copy.close()
    source = DataDirSource(copy.home)
    try:
        return verify_chain(RULES, chain.genesis, source, workers=2)
    finally:
        source.close()


def audit_fails(chain: Chain, copy: Copy) -> AuditFailure:
    with pytest.raises(AuditFailure) as caught:
        audit(chain, copy)
    return caught.value


def cli_fails(chain: Chain, copy: Copy) -> tuple[str, dict]:
    """The audit through the command line: the one error line, and the --json verdict."""
    copy.close()
    args = ("audit", "verify", "--genesis", str(chain.genesis_path), "--data", str(copy.home), "--quiet")
    line = incoop(chain.devnet, *args, check=False).stderr.strip()
    verdict = json.loads(incoop(chain.devnet, *args, "--json", check=False).stdout)
    assert verdict["ok"] is False
    return line, verdict


def with_txs(block: Block, txs: tuple[bytes, ...]) -> Block:
    return block._replace(txs=txs, header=block.header._replace(tx_root=tx_root(txs)))


# --- the untampered chain -------------------------------------------------------------------------


def test_the_stopped_chain_verifies_from_its_data_directory(chain: Chain, copy: Copy) -> None:
    report = audit(chain, copy)
    assert (report.height, report.identities) == (chain.height, 1)
    assert report.stored_state_compared and report.txs >= 80 + BATCH


# --- each tampering is caught ---------------------------------------------------------------------


def test_a_flipped_byte_in_a_stored_transaction_is_caught_at_its_block(chain: Chain, copy: Copy) -> None:
    h = chain.batch_height
    raw = copy.raw(h)
    signature = decode_tx(copy.block(h)[0].txs[1]).signature
    at = raw.index(signature) + 10
    copy.db.put(b"b" + h.to_bytes(8, "big"), raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1:])
    failure = audit_fails(chain, copy)
    assert (failure.check, failure.height) == ("tx_root", h)  # the header commits to the transactions' bytes
    assert "tx_root does not match the block's transactions" in failure.message


def test_a_flipped_byte_in_a_block_structure_fails_to_decode(chain: Chain, copy: Copy) -> None:
    raw = copy.raw(chain.batch_height)
    copy.db.put(b"b" + chain.batch_height.to_bytes(8, "big"), bytes([raw[0] ^ 0x01]) + raw[1:])
    failure = audit_fails(chain, copy)
    assert (failure.check, failure.height) == ("decode", chain.batch_height)


def test_a_replaced_transaction_signature_names_the_transaction_and_its_signer(chain: Chain, copy: Copy) -> None:
    h = chain.batch_height
    block, certificate = copy.block(h)
    value = list(decode(block.txs[1]))
    value[7] = SigningKey.generate().sign(b"valid-looking")
    forged = encode(tuple(value))
    copy.put(h, with_txs(block, (block.txs[0], forged, *block.txs[2:])), certificate)
    failure = audit_fails(chain, copy)
    assert (failure.check, failure.height, failure.tx_index) == ("tx_signature", h, 1)
    assert failure.signer == chain.devnet.pubkey("anna") and failure.tx_hash == decode_tx(forged).hash


def test_certificate_signatures_below_quorum_are_caught_through_the_cli(chain: Chain, copy: Copy) -> None:
    h = chain.batch_height
    block, certificate = copy.block(h)
    copy.put(h, block, certificate._replace(signatures=certificate.signatures[:2]))
    line, verdict = cli_fails(chain, copy)
    assert line.startswith(f"incoop: audit failed at block {h}: certificate has 2 signatures, a quorum is 3")
    assert (verdict["check"], verdict["height"]) == ("certificate", h)


def test_swapped_transactions_break_the_tx_root(chain: Chain, copy: Copy) -> None:
    h = chain.batch_height
    block, certificate = copy.block(h)
    copy.put(h, block._replace(txs=(block.txs[1], block.txs[0], *block.txs[2:])), certificate)
    failure = audit_fails(chain, copy)
    assert (failure.check, failure.height) == ("tx_root", h)


def test_swapped_transactions_with_a_fixed_tx_root_break_the_certificate(chain: Chain, copy: Copy) -> None:
    h = chain.batch_height
    block, certificate = copy.block(h)
    copy.put(h, with_txs(block, (block.txs[1], block.txs[0], *block.txs[2:])), certificate)
    failure = audit_fails(chain, copy)
    assert (failure.check, failure.height) == ("certificate", h)
    assert "certificate is for another block" in failure.message


def test_a_changed_stored_balance_is_named_by_its_key_through_the_cli(chain: Chain, copy: Copy) -> None:
    key = balance_key(chain.devnet.pubkey("marco"), DEMO_CLASS)
    stored = copy.db.get(b"s" + key)
    copy.db.put(b"s" + key, encode(decode(stored) + 100_000))
    line, verdict = cli_fails(chain, copy)
    assert line.startswith(f"incoop: audit failed at block {chain.height}: stored state entry bal/{key[4:].hex()}")
    assert (verdict["check"], verdict["height"]) == ("stored_state", chain.height)


def test_a_rewritten_block_with_every_later_header_rehashed_fails_at_its_certificate(chain: Chain, copy: Copy) -> None:
    """The forger changes one of anna's transfers (re-signed with her key), re-executes the chain from there to
    get consistent results, state roots, tx roots and prev_hash links, and keeps the old certificate signatures
    (it cannot make new ones): the audit stops at the rewritten block."""
    h = chain.batch_height
    forge_from(copy, chain, h, chain.devnet.keys["anna"])
    failure = audit_fails(chain, copy)
    assert (failure.check, failure.height) == ("certificate", h)
    assert "does not verify" in failure.message and failure.signer in chain.devnet.validator_keys()


def forge_from(copy: Copy, chain: Chain, height: int, sender: SigningKey) -> None:
    """Rewrite block `height` (its second transaction's amount doubled) and re-hash every later block."""
    chain_id, genesis = chain.genesis.chain_id, chain.genesis
    with tempfile.TemporaryDirectory() as scratch, Store(Path(scratch) / "db", sync=False) as replay:
        head = replay.init_genesis(genesis.hash(), genesis.initial_state(), genesis.genesis_time_ms)
        for h in range(1, height):
            block, certificate = copy.block(h)
            head = replay.commit_block(block, certificate, apply_block(RULES, replay.state, replay.tree, head, block, chain_id))
        for h in range(height, chain.height + 1):
            block, certificate = copy.block(h)
            txs = [decode_tx(raw) for raw in block.txs]
            if h == height:
                original = txs[1]
                body = (*original.body[:2], original.body[2] * 2, original.body[3])
                txs[1] = sign_tx(sender, chain_id, original.type, original.nonce, original.expiry, body)
            forged, outcome, rejected = build_block(RULES, replay.state, replay.tree, head, chain_id, block.header.proposer,
                                                    block.header.time_ms, txs)
            assert rejected == [] and forged.header.time_ms == block.header.time_ms
            forged_certificate = certificate._replace(block_hash=forged.hash())
            head = replay.commit_block(forged, forged_certificate, outcome)
            copy.put(h, forged, forged_certificate)
    stored_head = decode(copy.db.get(b"mhead"))
    assert head.height == stored_head[0] and head.state_root != stored_head[2], "the rewrite changed later state roots"
