"""Chains in memory, shared by the tests that build, replay or audit blocks without a node.

- `Replica`: one node's view of a chain, from its genesis alone: a state, the
  records of its state tree and its head. `propose` is the proposer's
  build_block, `apply` a validator's (or the auditor's) apply_block, and both
  run on exactly what a node runs them on (FORMAT.md §8, §12.2), with real
  Ed25519 signatures.
- `ListSource`: a chain source (node/audit/source.py) over raw blocks held in a
  list, claiming a genesis hash and a head: what an untrusted node's API would
  serve the auditor, and what a test tampers with.
- `certificate`, `commit_to_store`: a block's commit certificate signed by the
  given validators, and a block built and committed on a node's store
  (ledger/store.py) as its one validator would; `one_class_genesis`, the
  smallest chain with credits to move.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from genesis.document import Genesis, load_genesis, modules_json, parse_genesis
from genesis.rules import RULES
from ledger.address import to_address
from ledger.block import Block, Certificate, decode_raw_block, sign_precommit
from ledger.crypto import SigningKey
from ledger.merkle import StateTree
from ledger.rules import ChainRules
from ledger.state import DictState
from ledger.store import Store
from ledger.transition import BlockOutcome, ChainHead, apply_block, build_block
from ledger.tx import Tx
from node.audit.source import DataDirSource
from node.audit.verify import AuditReport, verify_chain


def one_class_genesis(chain_id: str, validator: SigningKey, issuer: SigningKey, amount: int = 10_000,
                      time_ms: int = 1_700_000_000_000) -> Genesis:
    """One validator and one class, `eur` (2 decimals), whose issuer holds `amount` from genesis."""
    issuer_address = to_address(issuer.pubkey)
    return parse_genesis(json.dumps({
        "chain_id": chain_id,
        "genesis_time_ms": time_ms,
        "modules": modules_json(),
        "validators": [{"name": "v", "pubkey": to_address(validator.pubkey)}],
        "credits": {
            "issuers": [{"name": "issuer", "account": issuer_address}],
            "classes": [{"id": "eur", "name": "Euro", "issuer": issuer_address, "decimals": 2}],
            "balances": [{"account": issuer_address, "class": "eur", "amount": amount}],
        },
    }))


class Replica:
    """One node's state, state-tree records and head, from genesis; blocks by `proposer` one second apart
    unless a time is given."""

    def __init__(self, genesis: Genesis, proposer: bytes, rules: ChainRules = RULES):
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        self.proposer = proposer
        self.rules = rules
        self.state = DictState(genesis.initial_state())
        self.nodes: dict[bytes, bytes] = {}
        self.tree = StateTree(self.nodes.get)
        _, writes = self.tree.update(sorted(self.state.items.items()))
        self.commit_tree(writes)
        self.head = ChainHead(0, genesis.hash(), self.tree.root(), genesis.genesis_time_ms)

    def commit_tree(self, writes: dict[bytes, bytes | None]) -> None:
        for position, record in writes.items():
            if record is None:
                self.nodes.pop(position, None)
            else:
                self.nodes[position] = record

    def propose(self, txs: Sequence[Tx], time_ms: int | None = None) -> tuple[Block, BlockOutcome, list]:
        """build_block on this replica (nothing committed): the block, its outcome, what was left out."""
        return build_block(self.rules, self.state, self.tree, self.head, self.chain_id, self.proposer,
                           time_ms or self.head.time_ms + 1000, list(txs))

    def commit(self, block: Block, outcome: BlockOutcome) -> None:
        """Take a block's outcome into the state and the tree; the block becomes the head."""
        self.state.apply(outcome.state_changes)
        self.commit_tree(outcome.tree_writes)
        h = block.header
        self.head = ChainHead(h.height, h.hash(), h.state_root, h.time_ms)

    def apply(self, block: Block) -> BlockOutcome:
        """Re-execute a block (apply_block refuses an invalid one) and commit it."""
        outcome = apply_block(self.rules, self.state, self.tree, self.head, block, self.chain_id)
        self.commit(block, outcome)
        return outcome


class ListSource:
    """A chain source over raw blocks in memory (index 0 is height 1; None is a block the source lacks),
    claiming a genesis hash and a head (by default the last block's)."""

    description = "a list of raw blocks"

    def __init__(self, genesis_hash: bytes, raws: list[bytes | None], head: ChainHead | None = None):
        self.raws = raws
        self.claimed_genesis = genesis_hash
        self.claimed_head = head

    def head_height(self) -> int:
        return self.head().height

    def head(self) -> ChainHead:
        if self.claimed_head is not None:
            return self.claimed_head
        block, _ = decode_raw_block(self.raws[-1])
        return ChainHead(block.header.height, block.hash(), block.header.state_root, block.header.time_ms)

    def genesis_hash(self) -> bytes:
        return self.claimed_genesis

    def raw_blocks(self, start: int, stop: int) -> Iterator[tuple[int, bytes | None]]:
        for height in range(start, stop + 1):
            yield height, self.raws[height - 1]

    def close(self) -> None:
        pass


def certificate(block: Block, chain_id: str, signers: Sequence[SigningKey], round_: int = 0) -> Certificate:
    """The block's commit certificate: a precommit of each signer, in the order of their keys."""
    height, block_hash = block.header.height, block.hash()
    return Certificate(height, round_, block_hash, tuple(
        (k.pubkey, sign_precommit(k, chain_id, height, round_, block_hash))
        for k in sorted(signers, key=lambda k: k.pubkey)))


def commit_to_store(store: Store, chain_id: str, validator: SigningKey, txs: Sequence[Tx], time_ms: int | None = None,
                    reexecute: bool = False, rules: ChainRules = RULES) -> tuple[Block, Certificate, ChainHead]:
    """Build a block of `txs` (all admissible) on the store's head as its one validator, certify it and
    commit it: the block, its certificate and the new head. With `reexecute`, apply_block re-executes
    the block on the store's state first, as a follower would, and must reach the same state root."""
    head = store.head()
    block, outcome, rejected = build_block(rules, store.state, store.tree, head, chain_id, validator.pubkey,
                                           time_ms or head.time_ms + 1000, list(txs))
    assert not rejected, rejected
    if reexecute:
        assert apply_block(rules, store.state, store.tree, head, block, chain_id).state_root == outcome.state_root
    cert = certificate(block, chain_id, [validator])
    return block, cert, store.commit_block(block, cert, outcome)


def audit_home(home: Path, genesis: Genesis | None = None, workers: int = 1) -> AuditReport:
    """`incoop audit verify --data HOME` in process: against the home's genesis.json unless one is given."""
    source = DataDirSource(home)
    try:
        return verify_chain(RULES, genesis or load_genesis(home / "genesis.json"), source, workers=workers)
    finally:
        source.close()
