"""Compare what a data directory stores with what the auditor's replay computed.

A node answers balance and proof queries from its stored state (`s` records)
and state tree (`n` records), and history queries from its indexes (`h`
block hashes, `t` transaction places, `x` per-account history), not from its
blocks (FORMAT.md §15). Blocks that verify say nothing about those records: a
node whose state was edited on disk serves wrong balances from a valid chain.
So, after the replay, the two stores are walked side by side in key order and
the first difference is named. The history index holds an entry per
transaction and per end-of-block effect that moved an account's credits (the
effect's movements are its value, FORMAT.md §15): the replay writes both with
the same `commit_block`, so a payout at a deadline removed from, added to or
altered in a data directory is a difference like any other.
Both walks stream; nothing is held beyond the current pair of entries. The
walk reads every entry with its checksum verified, so a damaged block of the
data directory is a `StoreFailure` here, never a difference.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from ledger.address import to_address
from ledger.crypto import PUBKEY_LEN
from ledger.store import P_HASH, P_HISTORY, P_STATE, P_TREE, P_TX, Store

COMPARED = (
    (P_STATE, "state", "stored_state"),
    (P_TREE, "tree", "stored_tree"),
    (P_HASH, "block-hash index", "stored_index"),
    (P_TX, "transaction index", "stored_index"),
    (P_HISTORY, "history index", "stored_index"),
)


class StoredDifference(NamedTuple):
    check: str  # the audit check: stored_state, stored_tree or stored_index
    what: str
    key: bytes  # the state key, tree position or index key, without the store prefix
    stored: bytes | None
    replayed: bytes | None

    def describe(self) -> str:
        if self.stored is None:
            found = "is missing from the data directory"
        elif self.replayed is None:
            found = f"is in the data directory ({self.stored.hex()[:64]}) but not in the replayed {self.what}"
        else:
            found = f"holds {self.stored.hex()[:64]}, the replay computed {self.replayed.hex()[:64]}"
        if self.what == "state":
            return f"stored {self.what} entry {_show(self.key)} {found}"
        return f"stored {self.what} entry {self.key.hex()} {found}{_history_place(self.what, self.key)}"


def _history_place(what: str, key: bytes) -> str:
    """Whose history entry, at which block and position (a transaction's, or past them an effect's)."""
    if what != "history index" or len(key) != PUBKEY_LEN + 12:
        return ""
    height = int.from_bytes(key[PUBKEY_LEN:PUBKEY_LEN + 8], "big")
    index = int.from_bytes(key[PUBKEY_LEN + 8:], "big")
    return f" (account {to_address(key[:PUBKEY_LEN])}, block {height}, entry {index})"


def _show(key: bytes) -> str:
    """A state key as people read it: its ASCII prefix, then hex (keys are prefix ‖ binary fields)."""
    cut = next((i + 1 for i, b in enumerate(key) if b == ord("/")), 0)
    head = key[:cut]
    if cut and all(32 <= b < 127 for b in head):
        return head.decode("ascii") + key[cut:].hex()
    return key.hex()


def _first_difference(stored: Iterator[tuple[bytes, bytes]], replayed: Iterator[tuple[bytes, bytes]], check: str,
                      what: str) -> StoredDifference | None:
    end = (None, None)
    a, b = next(stored, end), next(replayed, end)
    while a != end or b != end:
        if b == end or (a != end and a[0] < b[0]):
            return StoredDifference(check, what, a[0], a[1], None)
        if a == end or b[0] < a[0]:
            return StoredDifference(check, what, b[0], None, b[1])
        if a[1] != b[1]:
            return StoredDifference(check, what, a[0], a[1], b[1])
        a, b = next(stored, end), next(replayed, end)
    return None


def compare_stores(stored: Store, replayed: Store) -> StoredDifference | None:
    """The first state entry, tree record or index record where the two stores differ; None if they agree."""
    for prefix, what, check in COMPARED:
        difference = _first_difference(stored.entries(prefix), replayed.entries(prefix), check, what)
        if difference is not None:
            return difference
    return None
