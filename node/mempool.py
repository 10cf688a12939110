"""Pending transactions: admitted once, verified once, offered to blocks fairly.

Admission runs the same envelope rules as `ledger.transition.check_envelope`
with one difference: a nonce may run ahead of the account's committed nonce by
up to `params.max_nonce_gap`, so that a wallet can send several transactions
without waiting for each block. A signature is verified exactly once, here;
`verified()` hands a live view of those hashes to `build_block` and
`apply_block`, which then skip
re-verification (the rule is the same `ledger.crypto.verify`, so nothing that
would fail in a block can pass here).

Every mutation happens on one thread (the node's event loop). Batch admission
splits in two: `prepare_batch` (decode, stateless checks, signatures in a
thread pool, no mutation) and `admit` (sequential, on the loop).
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from typing import NamedTuple

import identity  # noqa: F401  (registers the identity and attestation transaction types)
import ledger.credits  # noqa: F401  (registers the credit transaction types)
from ledger import accounts, chain
from ledger.errors import Code, TxError
from ledger.handlers import lookup
from ledger.state import StateReader
from ledger.tx import Tx, decode_tx

DEFAULT_REJECTED_MEMORY = 10_000
_VERIFY_CHUNK = 64


class Rejection(NamedTuple):
    code: Code
    message: str


class Prepared(NamedTuple):
    """One batch item on its way in: the decoded tx (None if undecodable) and its fate so far."""

    tx: Tx | None
    signature_ok: bool
    error: TxError | None


class Mempool:
    """Pending transactions by hash and by (signer, nonce); bounded."""

    def __init__(
        self,
        state: StateReader,
        chain_id: str,
        max_txs: int,
        rejected_memory: int = DEFAULT_REJECTED_MEMORY,
    ):
        self.state = state
        self.chain_id = chain_id
        self.max_txs = max_txs
        self._by_hash: dict[bytes, Tx] = {}
        # signer -> {nonce: tx}; insertion order of signers is the fairness order
        self._by_account: dict[bytes, dict[int, Tx]] = {}
        # signer -> the account's committed next nonce as last seen
        self._base: dict[bytes, int] = {}
        # (expiry, hash) of pending txs, stale entries skipped lazily: expiry costs O(expired), not O(pool)
        self._expiries: list[tuple[int, bytes]] = []
        self._rejected: OrderedDict[bytes, Rejection] = OrderedDict()
        self._rejected_memory = rejected_memory
        # called with each newly admitted tx: the consensus driver gossips it and may start a height
        self.on_admit: list[Callable[[Tx], None]] = []

    def __len__(self) -> int:
        return len(self._by_hash)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._by_hash

    # --- admission ---------------------------------------------------------------

    def check_static(self, tx: Tx) -> None:
        """The checks that need no ordering against other admissions (safe off the loop)."""
        params = chain.get_params(self.state)
        if len(tx.raw) > params.max_tx_bytes:
            raise TxError(Code.TOO_LARGE)
        if tx.chain_id != self.chain_id:
            raise TxError(Code.WRONG_CHAIN, f"transaction is for chain {tx.chain_id!r}, this is {self.chain_id!r}")
        lookup(tx.type).parse(tx.body)

    def admit(self, tx: Tx, next_height: int, signature_ok: bool | None = None) -> None:
        """Add a decoded transaction or raise TxError; `signature_ok` is a prior verification."""
        if tx.hash in self._by_hash:
            raise TxError(Code.DUPLICATE)
        if signature_ok is None:
            self.check_static(tx)
        if tx.expiry < next_height:
            raise TxError(Code.EXPIRED, f"transaction expired at height {tx.expiry}")
        committed = self._sync_base(tx.signer)
        gap = chain.get_params(self.state).max_nonce_gap
        if tx.nonce < committed:
            raise TxError(Code.BAD_NONCE, f"nonce {tx.nonce}, the account's next nonce is {committed}")
        if tx.nonce >= committed + gap:
            raise TxError(
                Code.NONCE_TOO_FAR,
                f"nonce {tx.nonce}, the account's next nonce is {committed} and at most {gap} may be pending",
            )
        queue = self._by_account.get(tx.signer)
        if queue is not None and tx.nonce in queue:
            raise TxError(Code.DUPLICATE, f"another transaction with nonce {tx.nonce} is already pending")
        if len(self._by_hash) >= self.max_txs:
            raise TxError(Code.MEMPOOL_FULL)
        # the most expensive check last, so that cheap rejections cost little
        if signature_ok is None:
            signature_ok = tx.signature_ok()
        if not signature_ok:
            raise TxError(Code.BAD_SIGNATURE)
        self._by_hash[tx.hash] = tx
        self._by_account.setdefault(tx.signer, {})[tx.nonce] = tx
        heapq.heappush(self._expiries, (tx.expiry, tx.hash))
        if len(self._expiries) > 2 * len(self._by_hash) + 1024:
            self._expiries = [(t.expiry, h) for h, t in self._by_hash.items()]
            heapq.heapify(self._expiries)
        self._rejected.pop(tx.hash, None)
        for listener in self.on_admit:
            listener(tx)

    def admit_raw(self, raw: bytes, next_height: int) -> Tx:
        tx = decode_tx(raw, chain.get_params(self.state).max_tx_bytes)
        self.admit(tx, next_height)
        return tx

    def prepare_batch(self, raws: Sequence[bytes | TxError], executor: Executor | None = None) -> list[Prepared]:
        """Decode, check statelessly and verify signatures in parallel; mutates nothing.

        PyNaCl releases the GIL inside libsodium, so a thread pool verifies on
        every core. An item that is already a TxError (say, bad hex) passes
        through. Feed the result to `admit_prepared` on the loop thread.
        """
        max_tx_bytes = chain.get_params(self.state).max_tx_bytes
        out: list[Prepared] = []
        to_verify: list[int] = []
        for raw in raws:
            if isinstance(raw, TxError):
                out.append(Prepared(None, False, raw))
                continue
            try:
                tx = decode_tx(raw, max_tx_bytes)
            except TxError as exc:
                out.append(Prepared(None, False, exc))
                continue
            try:
                self.check_static(tx)
            except TxError as exc:
                out.append(Prepared(tx, False, exc))
                continue
            to_verify.append(len(out))
            out.append(Prepared(tx, False, None))
        chunks = [to_verify[i:i + _VERIFY_CHUNK] for i in range(0, len(to_verify), _VERIFY_CHUNK)]

        def verify_chunk(indexes: list[int]) -> list[bool]:
            return [out[i].tx.signature_ok() for i in indexes]  # type: ignore[union-attr]

        results = executor.map(verify_chunk, chunks) if executor is not None else map(verify_chunk, chunks)
        for indexes, oks in zip(chunks, results, strict=True):
            for i, ok in zip(indexes, oks, strict=True):
                out[i] = out[i]._replace(signature_ok=ok)
        return out

    def admit_prepared(self, prepared: Iterable[Prepared], next_height: int) -> list[Prepared]:
        """Admit a prepared batch in order; each item comes back with its error, if any."""
        out: list[Prepared] = []
        for item in prepared:
            if item.error is None:
                try:
                    self.admit(item.tx, next_height, signature_ok=item.signature_ok)  # type: ignore[arg-type]
                except TxError as exc:
                    item = item._replace(error=exc)
            out.append(item)
        return out

    def _sync_base(self, signer: bytes) -> int:
        """The committed next nonce, dropping pending txs a commit has made stale."""
        committed = accounts.next_nonce(self.state, signer)
        if self._base.get(signer, -1) < committed:
            self._base[signer] = committed
            queue = self._by_account.get(signer)
            if queue:
                for nonce in [n for n in queue if n < committed]:
                    self._forget(queue[nonce])
        return committed

    # --- block building ---------------------------------------------------------------

    def candidates(self) -> Iterator[Tx]:
        """Round-robin over accounts (longest-waiting first), each in nonce order.

        Only an account's contiguous run from its committed nonce is offered:
        a transaction behind a gap could not be included and waits.
        """
        active = [(queue, self._base.get(signer, 0)) for signer, queue in self._by_account.items()]
        offset = 0
        while active:
            still = []
            for queue, base in active:
                tx = queue.get(base + offset)
                if tx is not None:
                    yield tx
                    still.append((queue, base))
            active = still
            offset += 1

    def next_free_nonce(self, signer: bytes) -> int:
        """The nonce a wallet should use next: after the account's contiguous pending run."""
        nonce = self._sync_base(signer)
        queue = self._by_account.get(signer, {})
        while nonce in queue:
            nonce += 1
        return nonce

    def verified(self) -> Container[bytes]:
        """Hashes whose signatures were verified at admission (every pending one).

        A live view of the pending hashes, not a copy: O(1) to make and to ask,
        where a frozenset cost a pass over the whole pool per block. It stays
        sound while the pool changes under it (even from the loop thread while
        a block is applied in another): a hash is pending only after its
        signature verified, so whatever the view holds at a lookup was verified;
        a tx dropped meanwhile is merely verified again.
        """
        return self._by_hash.keys()

    def remove_committed(self, txs: Iterable[Tx]) -> None:
        for tx in txs:
            pending = self._by_hash.get(tx.hash)
            if pending is not None:
                self._forget(pending)
            queue = self._by_account.get(tx.signer)
            if queue is None:
                continue
            if self._base.get(tx.signer, 0) <= tx.nonce:
                self._base[tx.signer] = tx.nonce + 1
            # another tx with the same (signer, nonce) can never be included now
            if tx.nonce in queue:
                used = TxError(Code.BAD_NONCE, f"nonce {tx.nonce} was used by a committed transaction")
                self.drop(queue[tx.nonce], used)

    def drop(self, tx: Tx, error: TxError) -> None:
        """Remove a transaction a block refused, and remember why for GET /v1/txs/{hash}."""
        if tx.hash in self._by_hash:
            self._forget(self._by_hash[tx.hash])
        self._rejected[tx.hash] = Rejection(error.code, error.message)
        self._rejected.move_to_end(tx.hash)
        while len(self._rejected) > self._rejected_memory:
            self._rejected.popitem(last=False)

    def evict_expired(self, next_height: int) -> int:
        """Drop transactions that can no longer enter the next block; returns how many."""
        dropped = 0
        while self._expiries and self._expiries[0][0] < next_height:
            expiry, tx_hash = heapq.heappop(self._expiries)
            tx = self._by_hash.get(tx_hash)
            if tx is not None:
                self.drop(tx, TxError(Code.EXPIRED, f"transaction expired at height {expiry}"))
                dropped += 1
        return dropped

    def rejection(self, tx_hash: bytes) -> Rejection | None:
        return self._rejected.get(tx_hash)

    def _forget(self, tx: Tx) -> None:
        del self._by_hash[tx.hash]
        queue = self._by_account[tx.signer]
        del queue[tx.nonce]
        if not queue:
            del self._by_account[tx.signer]
            self._base.pop(tx.signer, None)
