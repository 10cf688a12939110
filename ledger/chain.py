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
    """The chain's parameters (FORMAT.md §9 `sys/params`, §14.2 *params*), changed only by a federation
    `set-param` (§6.8) from its effective height.

    The last five are the consensus round timeouts (docs/consensus.md, "Timeouts"): chain parameters, so
    that every validator of a height waits the same, and the federation changes them by vote.
    """

    max_block_txs: int = 5000
    max_block_bytes: int = 8 * 1024 * 1024
    max_tx_bytes: int = 16 * 1024
    max_nonce_gap: int = 256
    recovery_delay_blocks: int = 100  # blocks between a registrar's recovery start and its completion
    max_due_per_block: int = 1000  # items each module's end-of-block step takes per block (ledger/deadlines.py)
    timeout_propose_ms: int = 1000  # base of the propose timeout
    timeout_prevote_ms: int = 500  # base of the prevote timeout
    timeout_precommit_ms: int = 500  # base of the precommit timeout
    timeout_delta_ms: int = 500  # added per round to each base
    timeout_max_ms: int = 10_000  # the cap, whatever the round

    def canonical(self) -> tuple[int, ...]:
        """The encoded array (FORMAT.md §9): the first six, then the five timeouts only if one of them is not
        its default, so that the parameters of a chain that never set a timeout (every genesis written
        before they were parameters) keep their bytes, their state root and their genesis hash."""
        if self[TIMEOUTS_AT:] == _DEFAULT_TIMEOUTS:
            return tuple(self[:TIMEOUTS_AT])
        return tuple(self)

    def encode(self) -> bytes:
        return encode(self.canonical())

    def timeout_ms(self, step: int, round_: int) -> int:
        """The timeout of a step (0 propose, 1 prevote, 2 precommit) in a round: base + round × delta, capped."""
        base = (self.timeout_propose_ms, self.timeout_prevote_ms, self.timeout_precommit_ms)[step]
        return min(base + round_ * self.timeout_delta_ms, self.timeout_max_ms)


TIMEOUTS_AT = 6  # the index of the first timeout in ChainParams
TIMEOUT_NAMES = ChainParams._fields[TIMEOUTS_AT:]
_DEFAULT_TIMEOUTS = tuple(ChainParams()[TIMEOUTS_AT:])


# Each parameter's range, in genesis (FORMAT.md §14.2) and in a `set-param` (§6.8) alike. The timeouts'
# floors keep a vote from halting the chain for good: every timeout grows by at least 1 ms a round up to a
# cap of at least one second, so the rounds come to outlast any network delay below that cap.
PARAM_BOUNDS: dict[str, tuple[int, int]] = {
    "max_block_txs": (1, 100_000),
    "max_block_bytes": (1024, 64 * 1024 * 1024),
    "max_tx_bytes": (256, 1024 * 1024),
    "max_nonce_gap": (1, 100_000),
    "recovery_delay_blocks": (1, 10_000_000),
    "max_due_per_block": (1, 1_000_000),
    "timeout_propose_ms": (10, 600_000),
    "timeout_prevote_ms": (10, 600_000),
    "timeout_precommit_ms": (10, 600_000),
    "timeout_delta_ms": (1, 600_000),
    "timeout_max_ms": (1000, 3_600_000),
}


def params_problem(params: ChainParams) -> str | None:
    """What makes a set of parameters unusable together, or None (FORMAT.md §6.8 "Set rules", §14.2)."""
    if params.max_tx_bytes > params.max_block_bytes:
        return "max_tx_bytes would exceed max_block_bytes"
    return timeouts_problem(params)


def timeouts_problem(params: ChainParams) -> str | None:
    """A base timeout above the cap would never be waited for: refused (FORMAT.md §6.8, §14.2)."""
    for name in TIMEOUT_NAMES[:3]:
        if getattr(params, name) > params.timeout_max_ms:
            return f"{name} would exceed timeout_max_ms"
    return None


def params_fault(raw: bytes) -> str | None:
    """Why a stored `sys/params` value is not one the rules can write, or None (an audit invariant,
    FORMAT.md §9): 6 or 11 integers in their ranges, in the one encoding `ChainParams.canonical` gives."""
    try:
        fields = decode(raw)
        params = ChainParams(*fields)
    except (ValueError, TypeError):
        return "does not decode as 6 or 11 parameters"
    if len(fields) not in (TIMEOUTS_AT, len(ChainParams._fields)) or any(type(f) is not int for f in fields):
        return "is not 6 or 11 integers"
    for name, (low, high) in PARAM_BOUNDS.items():
        if not low <= getattr(params, name) <= high:
            return f"{name} {getattr(params, name)} is outside {low} … {high}"
    if params.encode() != raw:
        return "is not in its canonical form (the timeouts written out at their defaults)"
    return timeouts_problem(params)


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
