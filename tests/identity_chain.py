"""A one-validator chain with registrars, an attester and credits, for the identity tests.

Blocks go through build_block (the proposer's tests/chain_source.py Replica)
and apply_block (a follower that re-executes them), with real Ed25519
signatures, exactly as on a node.
"""

from __future__ import annotations

import json

from genesis.document import modules_json, parse_genesis
from genesis.rules import RULES
from identity.binding import sign_binding
from ledger import accounts
from ledger.address import to_address
from ledger.block import Block
from ledger.crypto import SigningKey
from ledger.errors import Code
from ledger.merkle import full_root
from ledger.rules import ChainRules
from ledger.state import DictState
from ledger.transition import apply_block
from ledger.tx import sign_tx
from tests.chain_source import Replica

CHAIN_ID = "test-identity"
T0 = 1_700_000_000_000
RECOVERY_DELAY = 3
CLASS = "eur"

VALIDATOR = SigningKey(bytes([0x60]) * 32)
REGISTRAR = SigningKey(bytes([0x61]) * 32)
REGISTRAR_2 = SigningKey(bytes([0x62]) * 32)
ATTESTER = SigningKey(bytes([0x63]) * 32)  # a cooperative: its members, and residency anywhere
ISSUER = SigningKey(bytes([0x64]) * 32)
ATTESTER_2 = SigningKey(bytes([0x65]) * 32)  # a municipality: residency only
KEYS = [SigningKey(bytes([0x70 + i]) * 32) for i in range(10)]  # people's accounts
OTHER_VALIDATORS = [SigningKey(bytes([0x50 + i]) * 32) for i in range(3)]
VALIDATORS = [VALIDATOR, *OTHER_VALIDATORS]
"""A four-validator set (VALIDATOR first) for the tests whose certificates carry a quorum of three."""
ATTESTER_PATTERNS = ["member:coop-a", "resident:*"]


def genesis_document() -> dict:
    return {
        "chain_id": CHAIN_ID,
        "genesis_time_ms": T0,
        "modules": modules_json(),
        "params": {"recovery_delay_blocks": RECOVERY_DELAY},
        "validators": [{"name": "v", "pubkey": to_address(VALIDATOR.pubkey)}],
        "credits": {
            "issuers": [{"name": "issuer", "account": to_address(ISSUER.pubkey)}],
            "classes": [{"id": CLASS, "name": "euro", "issuer": to_address(ISSUER.pubkey), "decimals": 2}],
            "balances": [{"account": to_address(k.pubkey), "class": CLASS, "amount": 1000} for k in KEYS[:4]],
        },
        "identity": {
            "registrars": [
                {"name": "Registrar One", "account": to_address(REGISTRAR.pubkey)},
                {"name": "Registrar Two", "account": to_address(REGISTRAR_2.pubkey)},
            ],
            "attesters": [
                {"name": "Coop A", "account": to_address(ATTESTER.pubkey), "attributes": ATTESTER_PATTERNS},
                {"name": "Comune B", "account": to_address(ATTESTER_2.pubkey), "attributes": ["resident:*"]},
            ],
        },
    }


class Chain(Replica):
    """A proposer's replica and a follower's state, kept in step: every block is built once (by VALIDATOR)
    and applied by both."""

    def __init__(self, doc: dict | None = None, rules: ChainRules = RULES):
        # a test may add a module of its own (its document then names that list)
        super().__init__(parse_genesis(json.dumps(doc or genesis_document()), rules), VALIDATOR.pubkey, rules)
        self.follower_state = DictState(dict(self.state.items))
        self.last_outcome = None

    @property
    def height(self) -> int:
        return self.head.height

    def nonce(self, key: SigningKey) -> int:
        return accounts.next_nonce(self.state, key.pubkey)

    def tx(self, key: SigningKey, type_: str, body: tuple, nonce: int | None = None):
        return sign_tx(key, CHAIN_ID, type_, self.nonce(key) if nonce is None else nonce, 10**9, body)

    def block(self, txs, time_ms: int | None = None, strangers: bool = False) -> Block:
        """Build a block of `txs` at `time_ms` (default: 1 s after the head), apply it on both states,
        return it. All must be admissible; with `strangers`, a transaction whose signer the chain
        does not know (FORMAT.md §8.1) is left out instead, and so are the later ones of that
        signer in the batch (their nonces counted on it)."""
        block, outcome, rejected = self.propose(txs, time_ms)
        if strangers:
            check_only_strangers_left_out(self.state, rejected)
        else:
            assert rejected == [], rejected
        follower = apply_block(self.rules, self.follower_state, self.tree, self.head, block, CHAIN_ID)
        assert follower.state_root == outcome.state_root
        self.commit(block, outcome)
        self.follower_state.apply(follower.state_changes)
        self.last_outcome = outcome
        return block

    def send(self, key: SigningKey, type_: str, body: tuple) -> int:
        """One transaction in its own block; its result code."""
        return self.block([self.tx(key, type_, body)]).results[0]

    def refused(self, key: SigningKey, type_: str, body: tuple) -> Code:
        """The admission code of a transaction no block may hold (build_block leaves it out)."""
        tx = self.tx(key, type_, body)
        block, _, rejected = self.propose([tx])
        assert block.txs == () and [t.hash for t, _ in rejected] == [tx.hash], rejected
        return rejected[0][1].code

    def empty_blocks(self, n: int) -> None:
        for _ in range(n):
            self.block([])

    def check_root(self) -> None:
        assert full_root(self.state.items.items()) == self.head.state_root
        assert self.follower_state.items == self.state.items


def check_only_strangers_left_out(state: DictState, rejected) -> None:
    """What build_block left out is a stranger's (UNKNOWN_SIGNER: no `acct/` before the block) or
    queued behind one of that signer's left-out transactions (NONCE_TOO_FAR)."""
    left_out: set[bytes] = set()
    for tx, error in rejected:
        if error.code == Code.UNKNOWN_SIGNER:
            assert not accounts.is_known(state, tx.signer)
        else:
            assert error.code == Code.NONCE_TOO_FAR and tx.signer in left_out, (tx, error)
        left_out.add(tx.signer)


def bind_sig(key: SigningKey, identity_id: bytes) -> bytes:
    return sign_binding(key, CHAIN_ID, identity_id)
