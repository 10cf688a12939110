"""The node's side of a light proof: a balance bundle read from one consistent LevelDB snapshot.

The consensus driver commits a block on an executor thread while the API
serves requests. The tree nodes, the state values, the head and the raw block
must all be read from the same committed state, or an honest node would hand
out a proof that does not match its own header. A LevelDB snapshot pins one
version of the database: every read below goes through it (Store.read_view,
which verifies checksums and stops the node on a damaged store).

When the federation changed the validator set (FORMAT.md §6.8), the bundle
carries one update per change below the head: the block that wrote the new
set, its certificate (by the set before it) and the proof of `sys/validators`
under its state root, kept by the store when the block was committed (`v`
records, FORMAT.md §15), so that a wallet trusting the genesis set follows
every change to the set that certified the head.
"""

from __future__ import annotations

from ledger.block import decode_raw_block
from ledger.encoding import decode
from ledger.lightproof import BalanceProof, StateProof, ValidatorSetUpdate, build_balance_proof
from ledger.merkle import StateTree
from ledger.store import K_HEAD, P_BLOCK, P_STATE, P_TREE, Store


class NoCommittedBlock(LookupError):
    """The chain is still at genesis: no block, so no certificate to prove against."""


def balance_proof_at_head(store: Store, account: bytes, class_id: str) -> BalanceProof | None:
    """The bundle against the head block (its header's state root is the head state); None for an unknown class."""
    with store.read_view() as snapshot:
        height = decode(snapshot.get(K_HEAD))[0]
        if height == 0:
            raise NoCommittedBlock("no block is committed yet, so there is no certificate to prove a balance with")
        block, certificate = decode_raw_block(snapshot.get(P_BLOCK + height.to_bytes(8, "big")))
        tree = StateTree(lambda position: snapshot.get(P_TREE + position))
        bundle = build_balance_proof(
            tree, lambda key: snapshot.get(P_STATE + key), block.header, certificate, account, class_id
        )
        if bundle is None:
            return None
        updates = []
        # the blocks below the head that changed the set (FORMAT.md §21.1): their records and blocks are written
        # once, with the block, so reading them beside the snapshot gives the same bytes as through it
        for changed, record in store.validator_set_changes(height - 1):
            update_block, update_certificate = decode_raw_block(snapshot.get(P_BLOCK + changed.to_bytes(8, "big")))
            validators, (siblings, terminal) = decode(record)
            updates.append(ValidatorSetUpdate(update_block.header, update_certificate, tuple(validators),
                                              StateProof(tuple(siblings), None if terminal is None else tuple(terminal))))
        return bundle._replace(updates=tuple(updates))
