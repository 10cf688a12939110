"""Per-account records: the nonce that makes every signed transaction usable once."""

from __future__ import annotations

from ledger.encoding import decode, encode
from ledger.state import Overlay, StateReader

PREFIX_ACCOUNT = b"acct/"


def account_key(account: bytes) -> bytes:
    return PREFIX_ACCOUNT + account


def next_nonce(state: StateReader, account: bytes) -> int:
    """The nonce the account's next transaction must carry (0 for a new account)."""
    raw = state.get(account_key(account))
    return 0 if raw is None else decode(raw)[0]


def consume_nonce(state: Overlay, account: bytes, nonce: int) -> None:
    state.put(account_key(account), encode((nonce + 1,)))
