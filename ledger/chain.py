"""Chain-wide records in the state: the validator set and the parameters.

They live in the state (and so under the state root) so that governance can
change them by transaction and an auditor can check every certificate against
the validator set of its height.
"""

from __future__ import annotations

from typing import NamedTuple

from ledger.crypto import sha256
from ledger.encoding import decode, encode
from ledger.state import Overlay, StateReader

KEY_VALIDATORS = b"sys/validators"
KEY_PARAMS = b"sys/params"
KEY_OBSERVERS = b"sys/observers"


class ChainParams(NamedTuple):
    max_block_txs: int = 5000
    max_block_bytes: int = 8 * 1024 * 1024
    max_tx_bytes: int = 16 * 1024
    max_nonce_gap: int = 256
    recovery_delay_blocks: int = 100  # blocks between a registrar's recovery start and its completion
    max_due_per_block: int = 1000  # items each module's end-of-block step takes per block (ledger/deadlines.py)

    def encode(self) -> bytes:
        return encode(tuple(self))


def get_params(state: StateReader) -> ChainParams:
    raw = state.get(KEY_PARAMS)
    return ChainParams() if raw is None else ChainParams(*decode(raw))


def set_params(state: Overlay, params: ChainParams) -> None:
    state.put(KEY_PARAMS, params.encode())


def get_validators(state: StateReader) -> tuple[bytes, ...]:
    raw = state.get(KEY_VALIDATORS)
    return () if raw is None else decode(raw)


def set_validators(state: Overlay, validators: tuple[bytes, ...]) -> None:
    if not validators or len(set(validators)) != len(validators):
        raise ValueError("the validator set must be non-empty and without repeats")
    state.put(KEY_VALIDATORS, encode(tuple(validators)))


def get_observers(state: StateReader) -> tuple[bytes, ...]:
    """Registered observer nodes: non-voting keys that validators accept as peers."""
    raw = state.get(KEY_OBSERVERS)
    return () if raw is None else decode(raw)


def set_observers(state: Overlay, observers: tuple[bytes, ...]) -> None:
    if len(set(observers)) != len(observers):
        raise ValueError("an observer key appears twice")
    state.put(KEY_OBSERVERS, encode(tuple(sorted(observers))))


def validators_hash(validators: tuple[bytes, ...]) -> bytes:
    return sha256(encode(tuple(validators)))


def proposer(validators: tuple[bytes, ...], height: int, round_: int) -> bytes:
    """docs/consensus.md, "Terms": proposer(h, r) = validators[(h + r) mod n]."""
    return validators[(height + round_) % len(validators)]


def quorum(n: int) -> int:
    """Signatures needed: more than two thirds of n, i.e. floor(2n/3) + 1."""
    return (2 * n) // 3 + 1
