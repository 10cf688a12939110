"""Per-account records: the nonce that makes every signed transaction usable once, and the
record that makes an account known to the chain (FORMAT.md §8.1, §9).

`acct/ ‖ pubkey` = `[next_nonce]`. Its presence is what "known" means: a
transaction is admissible only if its signer has one. The record is created
(as `[0]`) wherever an account becomes known — genesis for every role and
balance holder, a credit arriving at it, a key bound to an identity, an
issuance delegated to it (`ensure_known`) — and written with the next nonce by
every transaction the account signs. It is never deleted, so a key the chain
once knew stays known (its history and nonce must stay readable).
"""

from __future__ import annotations

from ledger.encoding import decode, encode
from ledger.state import Overlay, StateReader

PREFIX_ACCOUNT = b"acct/"
_NEW_ACCOUNT = encode((0,))


def account_key(account: bytes) -> bytes:
    return PREFIX_ACCOUNT + account


def known_nonce(state: StateReader, account: bytes) -> int | None:
    """The account's next nonce, or None if the chain does not know it (no `acct/` record)."""
    raw = state.get(account_key(account))
    return None if raw is None else decode(raw)[0]


def is_known(state: StateReader, account: bytes) -> bool:
    return state.get(account_key(account)) is not None


def next_nonce(state: StateReader, account: bytes) -> int:
    """The nonce the account's next transaction must carry (0 for a new or unknown account)."""
    nonce = known_nonce(state, account)
    return 0 if nonce is None else nonce


def ensure_known(state: Overlay, account: bytes) -> None:
    """Make the account known (`acct/` = `[0]`) unless it already is: FORMAT.md §9, who writes `acct/`."""
    key = account_key(account)
    if state.get(key) is None:
        state.put(key, _NEW_ACCOUNT)


def consume_nonce(state: Overlay, account: bytes, nonce: int) -> None:
    state.put(account_key(account), encode((nonce + 1,)))
