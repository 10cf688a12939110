"""Pending transactions: admitted once, checked once, verified once, offered to blocks fairly.

Admission (docs/admission.md) runs, cheapest first:

1. the envelope rules of `ledger.transition.check_envelope` (FORMAT.md §8.1) —
   size, chain, a signer the chain knows (UNKNOWN_SIGNER), expiry — except
   that a nonce may run ahead of the account's committed one by up to
   `max_pending_per_account` (and the chain's `max_nonce_gap`), so that a
   wallet can send several transactions without waiting for each block;
2. this node's limits (node.config.MempoolConfig): an expiry horizon
   (EXPIRY_TOO_FAR), a share of the pool per API client (CLIENT_QUOTA), the
   pool's size (MEMPOOL_FULL);
3. the signature, verified exactly once here: `verified()` hands a live view
   of the pending hashes to `build_block` and `apply_block`, which then skip
   re-verification (the rule is the same `ledger.crypto.verify`);
4. check-tx, as CometBFT's CheckTx: the type's execution rules run against
   the committed state overlaid with the signer's earlier pending
   transactions, in nonce order; a transaction that fails is refused with
   its result code and never reaches a block. The check advises, the block
   decides: execution in a block stays authoritative.

Each account's pending transactions are a contiguous run from its committed
nonce, which blocks may take, and possibly "parked" ones behind a gap, which
they may not. The two have separate budgets (`max_txs`, `max_parked`), so
that parked transactions can never crowd out includable ones. The run is checked in order on a per-account overlay (`_View`),
kept across blocks and extended one transaction at a time, so that a check
costs one execution; a commit that touches the account marks the overlay
dirty, and a dirty overlay that refuses is rebuilt from the committed state
before the refusal stands. A parked transaction is checked against the run
before it, and again, in order, when the gap is filled. Parked transactions
are evicted after `parked_ttl_s` and relayed to peers only once they become
includable.

Every mutation happens on one thread (the node's event loop). Batch admission
splits in two: `prepare_batch` (decode, stateless checks, the known-signer
check, signatures in a thread pool, no mutation) and `admit_prepared`
(sequential, on the loop).
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from typing import Any, NamedTuple

from ledger import accounts, chain
from ledger.errors import MESSAGES, Code, TxError
from ledger.rules import ChainRules
from ledger.state import Overlay, StateReader
from ledger.transition import check_tx
from ledger.tx import Tx, decode_tx
from node.config import MempoolConfig
from node.txworkers import MIN_BATCH, TxWorkers

DEFAULT_REJECTED_MEMORY = 10_000
_VERIFY_CHUNK = 64
_ADMIT_SLICE = 256  # batch items admitted between two turns of the event loop

# where a transaction came from, for the quota and the refusal metrics
API = "api"
GOSSIP = "gossip"
NODE = "node"  # the node's own (evidence of a double vote)


def wall_ms() -> int:
    """The node's clock, as the time a check-tx assumes for the next block (a block's time is its proposer's clock)."""
    return time.time_ns() // 1_000_000


# a refusal after which the nonce is taken all the same (by a pending or a committed transaction)
_NONCE_TAKEN = frozenset({Code.DUPLICATE, Code.BAD_NONCE})
# refusals that say "later": a transaction behind one of them is told the same, so that a client retries both
_TRY_LATER = frozenset({Code.MEMPOOL_FULL, Code.CLIENT_QUOTA, Code.NONCE_TOO_FAR})


def _behind(nonce: int, refused: TxError) -> TxError:
    """The refusal of a transaction that follows, in its batch, a refused one of the same signer."""
    code = refused.code if refused.code in _TRY_LATER else Code.NONCE_TOO_FAR
    return TxError(code, f"follows nonce {nonce} of this batch, which was refused ({refused.code.name}): "
                         "it would wait behind that gap")


class Rejection(NamedTuple):
    code: Code
    message: str


class Prepared(NamedTuple):
    """One batch item on its way in: the decoded tx (None if undecodable), its fate so far, its parsed body."""

    tx: Tx | None
    signature_ok: bool
    error: TxError | None
    body: Any = None


class _View:
    """The committed state with an account's contiguous pending run executed on it, in nonce order."""

    __slots__ = ("overlay", "dirty")

    def __init__(self, overlay: Overlay):
        self.overlay = overlay
        self.dirty = False  # a commit touched the account since it was built


class ParkedShares:
    """How many parked transactions each signer holds, and which signer holds the most, in O(1).

    Signers are kept in buckets by count; `top` only moves down past emptied buckets, so a change
    costs O(1) amortised. Among signers holding as many, the one that reached that count first is
    the heaviest (insertion order of the bucket): deterministic, and the longest-standing holder pays.
    """

    __slots__ = ("count", "buckets", "top")

    def __init__(self) -> None:
        self.count: dict[bytes, int] = {}
        self.buckets: dict[int, dict[bytes, None]] = {}
        self.top = 0

    def add(self, signer: bytes) -> None:
        n = self.count.get(signer, 0)
        if n:
            self._leave(signer, n)
        self.count[signer] = n + 1
        self.buckets.setdefault(n + 1, {})[signer] = None
        self.top = max(self.top, n + 1)

    def remove(self, signer: bytes) -> None:
        n = self.count[signer]
        self._leave(signer, n)
        if n == 1:
            del self.count[signer]
        else:
            self.count[signer] = n - 1
            self.buckets.setdefault(n - 1, {})[signer] = None
        while self.top and not self.buckets.get(self.top):
            self.top -= 1

    def _leave(self, signer: bytes, n: int) -> None:
        bucket = self.buckets[n]
        del bucket[signer]
        if not bucket:
            del self.buckets[n]

    def heaviest(self) -> bytes | None:
        bucket = self.buckets.get(self.top)
        return next(iter(bucket)) if bucket else None

    def would_make_room(self, signer: bytes) -> bool:
        """Whether the heaviest holds more than `signer` would after one more: then one of the heaviest's
        makes room. (Read off the loop too: a race only lets a transaction on to admission, which decides.)"""
        return self.top > self.count.get(signer, 0) + 1


class Mempool:
    """Pending transactions by hash and by (signer, nonce); bounded, per account and per client."""

    def __init__(
        self,
        rules: ChainRules,
        state: StateReader,
        chain_id: str,
        config: MempoolConfig | None = None,
        rejected_memory: int = DEFAULT_REJECTED_MEMORY,
        clock: Callable[[], float] = time.monotonic,
        now_ms: Callable[[], int] = wall_ms,
    ):
        """`clock` times parked transactions (node-local); `now_ms` is the block time a check assumes."""
        self.rules = rules
        self.state = state
        self.chain_id = chain_id
        self.config = config or MempoolConfig()
        self.max_txs = self.config.max_txs
        self._clock = clock
        self._now_ms = now_ms
        self._by_hash: dict[bytes, Tx] = {}
        self._bodies: dict[bytes, Any] = {}
        # signer -> {nonce: tx}; insertion order of signers is the fairness order
        self._by_account: dict[bytes, dict[int, Tx]] = {}
        # signer -> the account's committed next nonce as last seen
        self._base: dict[bytes, int] = {}
        # signer -> the first nonce after its contiguous run [base, run_end); pending nonces above it are parked
        self._run_end: dict[bytes, int] = {}
        # hash -> when it became parked (self._clock), oldest first
        self._parked: OrderedDict[bytes, float] = OrderedDict()
        # each signer's share of the parked budget, to make room from the largest (docs/admission.md)
        self._shares = ParkedShares()
        self._views: dict[bytes, _View] = {}
        # hash -> the API client that submitted it; client -> how many it holds
        self._client_of: dict[bytes, str] = {}
        self._per_client: Counter[str] = Counter()
        # (expiry, hash) of pending txs, stale entries skipped lazily: expiry costs O(expired), not O(pool)
        self._expiries: list[tuple[int, bytes]] = []
        self._rejected: OrderedDict[bytes, Rejection] = OrderedDict()
        self._rejected_memory = rejected_memory
        # for /metrics: refusals by (source, code name), evictions by reason
        self.refused: Counter[tuple[str, str]] = Counter()
        self.evicted: Counter[str] = Counter()
        # called with each transaction that becomes includable (admitted contiguous, or a parked one whose
        # gap was filled): the consensus driver gossips it and may start a height
        self.on_admit: list[Callable[[Tx], None]] = []

    def __len__(self) -> int:
        return len(self._by_hash)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._by_hash

    @property
    def parked(self) -> int:
        """Transactions waiting behind a nonce gap."""
        return len(self._parked)

    # --- admission ---------------------------------------------------------------

    def check_static(self, tx: Tx) -> Any:
        """The checks that need no ordering against other admissions (safe off the loop); the parsed body.

        The known-signer check is here so that a stranger's transaction costs a state read, never a
        signature verification nor an execution.
        """
        params = chain.get_params(self.state)
        if len(tx.raw) > params.max_tx_bytes:
            raise TxError(Code.TOO_LARGE)
        if tx.chain_id != self.chain_id:
            raise TxError(Code.WRONG_CHAIN, f"transaction is for chain {tx.chain_id!r}, this is {self.chain_id!r}")
        if not accounts.is_known(self.state, tx.signer):
            raise TxError(Code.UNKNOWN_SIGNER)
        return self.rules.parse(tx.type, tx.body)

    def check_expiry(self, tx: Tx, next_height: int) -> None:
        """Not expired, and not expiring further ahead than this node keeps transactions."""
        if tx.expiry < next_height:
            raise TxError(Code.EXPIRED, f"transaction expired at height {tx.expiry}")
        horizon = self.config.max_expiry_blocks
        if tx.expiry - next_height > horizon:
            raise TxError(Code.EXPIRY_TOO_FAR, f"expiry {tx.expiry} is more than {horizon} blocks after the next "
                                               f"height {next_height}")

    def admit(
        self,
        tx: Tx,
        next_height: int,
        signature_ok: bool | None = None,
        body: Any = None,
        source: str = API,
        client: str | None = None,
    ) -> None:
        """Add a decoded transaction or raise TxError; `signature_ok` is a prior verification (then
        `body` is the parsed body, or None to parse it again). `client` is the API client's address."""
        try:
            self._admit(tx, next_height, signature_ok, body, client)
        except TxError as exc:
            self.refused[(source, exc.code.name)] += 1
            raise

    def _admit(self, tx: Tx, next_height: int, signature_ok: bool | None, body: Any, client: str | None) -> None:
        if tx.hash in self._by_hash:
            raise TxError(Code.DUPLICATE)
        if signature_ok is None:
            body = self.check_static(tx)
        elif body is None:
            body = self.rules.parse(tx.type, tx.body)
        self.check_expiry(tx, next_height)
        committed = self._sync_base(tx.signer)
        if committed is None:
            raise TxError(Code.UNKNOWN_SIGNER)
        window = min(chain.get_params(self.state).max_nonce_gap, self.config.max_pending_per_account)
        if tx.nonce < committed:
            raise TxError(Code.BAD_NONCE, f"nonce {tx.nonce}, the account's next nonce is {committed}")
        if tx.nonce >= committed + window:
            raise TxError(
                Code.NONCE_TOO_FAR,
                f"nonce {tx.nonce}, the account's next nonce is {committed} and at most {window} may be pending",
            )
        queue = self._by_account.get(tx.signer)
        if queue is not None and tx.nonce in queue:
            raise TxError(Code.DUPLICATE, f"another transaction with nonce {tx.nonce} is already pending")
        self._refuse_if_full(tx.nonce == self._run_end.get(tx.signer, committed), tx.signer)
        if client is not None and self._per_client[client] >= self.config.client_quota():
            raise TxError(Code.CLIENT_QUOTA, f"this client holds {self._per_client[client]} pending transactions, "
                                             f"its share of this node's mempool")
        # the expensive checks last, so that cheap refusals cost little
        if signature_ok is None:
            signature_ok = tx.signature_ok()
        if not signature_ok:
            raise TxError(Code.BAD_SIGNATURE)
        view, layer = self._check_tx(tx, body, next_height, committed)
        self._refuse_if_full(layer is not None, tx.signer)  # a rebuild of the view may have parked it after all
        self._insert(tx, body, client, next_height, committed, view, layer)

    def _refuse_if_full(self, includable: bool, signer: bytes) -> None:
        """Includable and parked transactions have budgets of their own: a parked one never takes an
        includable one's place (nor is an includable one ever evicted for room). A full parked budget
        makes room from the signer holding the most of it, if that is more than `signer` would hold."""
        if includable:
            if len(self._by_hash) - len(self._parked) >= self.max_txs:
                raise TxError(Code.MEMPOOL_FULL, f"the mempool holds {self.max_txs} includable transactions")
        elif len(self._parked) >= self.config.max_parked and not self._evict_parked_ttl():
            if not self._evict_for(signer):
                raise TxError(Code.MEMPOOL_FULL, f"the mempool holds {self.config.max_parked} transactions behind "
                                                 "nonce gaps; send the missing nonce first")

    def admit_raw(self, raw: bytes, next_height: int, source: str = API, client: str | None = None) -> Tx:
        try:
            tx = decode_tx(raw, chain.get_params(self.state).max_tx_bytes)
        except TxError as exc:
            self.refused[(source, exc.code.name)] += 1
            raise
        self.admit(tx, next_height, source=source, client=client)
        return tx

    def prepare_batch(
        self, raws: Sequence[bytes | TxError], executor: Executor | None = None, next_height: int | None = None,
        workers: TxWorkers | None = None,
    ) -> list[Prepared]:
        """Decode, check statelessly and verify signatures in parallel; mutates nothing.

        With `workers` (node/txworkers.py) and at least `MIN_BATCH` items, decoding and verification
        run in worker processes; otherwise decoding runs here and verification in `executor`'s threads (PyNaCl releases the
        GIL inside libsodium). Either way the order of the checks is the same. An item that is
        already a TxError (say, bad hex) passes through. A stranger's transaction, and with
        `next_height` one whose expiry is out of reach, is refused before its signature is verified
        (admission checks the expiry again). Feed the result to `admit_prepared` on the loop thread.
        """
        if workers is not None and len(raws) >= MIN_BATCH:
            with workers.turn():
                return self._prepare(raws, executor, next_height, workers)
        return self._prepare(raws, executor, next_height, None)

    def _prepare(self, raws: Sequence[bytes | TxError], executor: Executor | None, next_height: int | None,
                 workers: TxWorkers | None) -> list[Prepared]:
        max_tx_bytes = chain.get_params(self.state).max_tx_bytes
        out: list[Prepared] = []
        to_verify: list[int] = []
        decoded = self._decode_all(raws, max_tx_bytes, workers)
        for raw, tx in zip(raws, decoded, strict=True):
            if isinstance(raw, TxError):
                out.append(Prepared(None, False, raw))
                continue
            if isinstance(tx, TxError):
                out.append(Prepared(None, False, tx))
                continue
            try:
                body = self.check_static(tx)
                if next_height is not None:
                    self.check_expiry(tx, next_height)
                self._refuse_before_verifying(tx)
            except TxError as exc:
                out.append(Prepared(tx, False, exc))
                continue
            to_verify.append(len(out))
            out.append(Prepared(tx, False, None, body))
        if workers is not None:
            verdicts = workers.verify([(out[i].tx.signer, out[i].tx.raw) for i in to_verify])  # type: ignore[union-attr]
            for i, ok in zip(to_verify, verdicts, strict=True):
                out[i] = out[i]._replace(signature_ok=bool(ok))
            return out
        chunks = [to_verify[i:i + _VERIFY_CHUNK] for i in range(0, len(to_verify), _VERIFY_CHUNK)]

        def verify_chunk(indexes: list[int]) -> list[bool]:
            return [out[i].tx.signature_ok() for i in indexes]  # type: ignore[union-attr]

        results = executor.map(verify_chunk, chunks) if executor is not None else map(verify_chunk, chunks)
        for indexes, oks in zip(chunks, results, strict=True):
            for i, ok in zip(indexes, oks, strict=True):
                out[i] = out[i]._replace(signature_ok=ok)
        return out

    @staticmethod
    def _decode_all(raws: Sequence[bytes | TxError], max_tx_bytes: int,
                    workers: TxWorkers | None) -> list[Tx | TxError | None]:
        """Each item decoded (None for an item that is already a TxError), here or in the workers."""
        if workers is None:
            out: list[Tx | TxError | None] = []
            for raw in raws:
                if isinstance(raw, TxError):
                    out.append(None)
                    continue
                try:
                    out.append(decode_tx(raw, max_tx_bytes))
                except TxError as exc:
                    out.append(exc)
            return out
        present = [raw for raw in raws if not isinstance(raw, TxError)]
        fields = iter(workers.decode(present, max_tx_bytes))
        out = []
        for raw in raws:
            if isinstance(raw, TxError):
                out.append(None)
                continue
            got = next(fields)
            # (code, message) of a refusal, or the fields of Tx with `raw` left out (node/txworkers.py)
            out.append(TxError(got[0], got[1]) if len(got) == 2 else Tx(*got[:8], bytes(raw), got[8]))
        return out

    def _refuse_before_verifying(self, tx: Tx) -> None:
        """The refusals admission would certainly make, read without mutating anything (this runs off
        the loop): a copy already pending, a nonce outside the window, no room for it. A flood of
        re-sent or parked transactions then costs a lookup each, not a signature verification each;
        admission checks everything again in order, so a race only ever lets more through to it."""
        if tx.hash in self._by_hash:
            raise TxError(Code.DUPLICATE)
        committed = accounts.known_nonce(self.state, tx.signer)
        if committed is None:
            raise TxError(Code.UNKNOWN_SIGNER)
        base = max(committed, self._base.get(tx.signer, committed))
        window = min(chain.get_params(self.state).max_nonce_gap, self.config.max_pending_per_account)
        if tx.nonce < base:
            raise TxError(Code.BAD_NONCE, f"nonce {tx.nonce}, the account's next nonce is {base}")
        if tx.nonce >= base + window:
            raise TxError(Code.NONCE_TOO_FAR, f"nonce {tx.nonce}, the account's next nonce is {base} and at most "
                                              f"{window} may be pending")
        queue = self._by_account.get(tx.signer)
        if queue is not None and tx.nonce in queue:
            raise TxError(Code.DUPLICATE, f"another transaction with nonce {tx.nonce} is already pending")
        if tx.nonce == self._run_end.get(tx.signer, base):
            if len(self._by_hash) - len(self._parked) >= self.max_txs:
                raise TxError(Code.MEMPOOL_FULL, f"the mempool holds {self.max_txs} includable transactions")
        elif len(self._parked) >= self.config.max_parked:
            try:
                oldest = next(iter(self._parked.values()), None)
            except RuntimeError:  # the loop changed it under this thread: leave the call to admission
                return
            if (oldest is not None and oldest > self._clock() - self.config.parked_ttl_s
                    and not self._shares.would_make_room(tx.signer)):
                raise TxError(Code.MEMPOOL_FULL, f"the mempool holds {self.config.max_parked} transactions behind "
                                                 "nonce gaps; send the missing nonce first")

    def admit_prepared(
        self, prepared: Iterable[Prepared], next_height: int, source: str = API, client: str | None = None
    ) -> list[Prepared]:
        """Admit a prepared batch in order; each item comes back with its error, if any.

        A batch is an ordered submission: once one of a signer's transactions is refused and its nonce
        stays free, the signer's later nonces in the batch are refused too (`_behind`), rather than
        left waiting behind the gap, where the next transaction to take that nonce would unexpectedly
        make them includable (and an issuer re-running the rest of a payroll would pay it twice).
        """
        return list(self._admit_each(prepared, next_height, source, client))

    async def admit_prepared_async(
        self, prepared: Iterable[Prepared], next_height: int, source: str = API, client: str | None = None
    ) -> list[Prepared]:
        """`admit_prepared`, giving the event loop a turn every few hundred transactions: checking a
        10,000-transaction batch costs a few hundred milliseconds, which votes should not wait for."""
        out: list[Prepared] = []
        for item in self._admit_each(prepared, next_height, source, client):
            out.append(item)
            if len(out) % _ADMIT_SLICE == 0:
                await asyncio.sleep(0)
        return out

    def _admit_each(
        self, prepared: Iterable[Prepared], next_height: int, source: str, client: str | None
    ) -> Iterator[Prepared]:
        gaps: dict[bytes, tuple[int, TxError]] = {}  # signer -> the lowest refused nonce left free, and why
        for item in prepared:
            tx = item.tx
            if item.error is None and tx is not None and tx.signer in gaps and tx.nonce > gaps[tx.signer][0]:
                item = item._replace(error=_behind(*gaps[tx.signer]))
            if item.error is None:
                try:
                    self.admit(tx, next_height, item.signature_ok, item.body, source, client)  # type: ignore[arg-type]
                except TxError as exc:
                    item = item._replace(error=exc)
            else:
                self.refused[(source, item.error.code.name)] += 1
            if tx is not None and item.error is not None and item.error.code not in _NONCE_TAKEN:
                if tx.signer not in gaps or tx.nonce < gaps[tx.signer][0]:
                    gaps[tx.signer] = (tx.nonce, item.error)
            yield item

    # --- check-tx ------------------------------------------------------------------------

    def _execute(self, overlay: Overlay, tx: Tx, body: Any, height: int) -> tuple[Code, Overlay]:
        """Run the transaction's execution rules on a new layer over `overlay` (merge it to keep them)."""
        layer = overlay.child()
        return check_tx(self.rules, layer, tx, body, self.chain_id, height, self._now_ms()), layer

    def _view(self, signer: bytes, height: int) -> _View:
        """The account's checked overlay, built from the committed state if there is none: its
        contiguous run executed in order. A pending transaction that now fails is dropped with its
        code (the ones after it wait behind the gap). Kept only while the account has pending ones."""
        view = self._views.get(signer)
        if view is not None:
            return view
        view = _View(Overlay(self.state))
        base = self._base.get(signer, 0)
        queue = self._by_account.get(signer, {})
        for nonce in range(base, self._run_end.get(signer, base)):
            pending = queue[nonce]
            code, layer = self._execute(view.overlay, pending, self._bodies[pending.hash], height)
            if code != Code.OK:
                self.evicted["check_failed"] += 1
                self.drop(pending, TxError(code, f"no longer passes its check: {MESSAGES[code]}"))
                break
            layer.merge_into_parent()
        if signer in self._by_account:
            self._views[signer] = view
        return view

    def _check_tx(self, tx: Tx, body: Any, height: int, committed: int) -> tuple[_View, Overlay | None]:
        """Refuse with the execution code if the transaction fails against the signer's pending state.

        Returns the account's view and, if the transaction is includable (next after the run), the
        layer of its writes, for `_insert` to merge into the view. A parked one is checked on a
        throw-away layer over the run before it, and again in order once its gap is filled. A dirty
        view (a commit touched the account) that refuses is rebuilt once before the refusal stands.
        """
        for attempt in (0, 1):
            view = self._view(tx.signer, height)  # a rebuild may drop pending ones: includable is decided after
            includable = tx.nonce == self._run_end.get(tx.signer, committed)
            code, layer = self._execute(view.overlay, tx, body, height)
            if code == Code.OK:
                return view, layer if includable else None
            if attempt == 0 and view.dirty:
                self._views.pop(tx.signer, None)
                continue
            raise TxError(code)
        raise AssertionError("unreachable")

    # --- bookkeeping -------------------------------------------------------------------

    def _insert(self, tx: Tx, body: Any, client: str | None, next_height: int, committed: int, view: _View,
                layer: Overlay | None) -> None:
        signer = tx.signer
        self._by_hash[tx.hash] = tx
        self._bodies[tx.hash] = body
        queue = self._by_account.setdefault(signer, {})
        queue[tx.nonce] = tx
        self._run_end.setdefault(signer, self._base.setdefault(signer, committed))
        self._views.setdefault(signer, view)
        if client is not None:
            self._client_of[tx.hash] = client
            self._per_client[client] += 1
        heapq.heappush(self._expiries, (tx.expiry, tx.hash))
        if len(self._expiries) > 2 * len(self._by_hash) + 1024:
            self._expiries = [(t.expiry, h) for h, t in self._by_hash.items()]
            heapq.heapify(self._expiries)
        self._rejected.pop(tx.hash, None)
        if layer is not None:
            assert tx.nonce == self._run_end[signer] and self._views[signer] is view
            layer.merge_into_parent()
            self._run_end[signer] = tx.nonce + 1
            self._announce(tx)
            self._promote(signer, next_height)
        else:
            self._park(tx, self._clock())

    def _promote(self, signer: bytes, height: int) -> None:
        """Parked transactions right after the run join it, each checked in order on the account's view."""
        queue = self._by_account.get(signer)
        while queue:
            nonce = self._run_end[signer]
            tx = queue.get(nonce)
            if tx is None:
                return
            code, layer = self._execute(self._views[signer].overlay, tx, self._bodies[tx.hash], height)
            if code != Code.OK:
                self.evicted["check_failed"] += 1
                self.drop(tx, TxError(code, f"failed its check once its nonce gap was filled: {MESSAGES[code]}"))
                return
            layer.merge_into_parent()
            self._unpark(tx)
            self._run_end[signer] = nonce + 1
            self._announce(tx)

    def _announce(self, tx: Tx) -> None:
        for listener in self.on_admit:
            listener(tx)

    def _sync_base(self, signer: bytes) -> int | None:
        """The committed next nonce (None: the chain does not know the signer), dropping pending txs a
        commit has made stale."""
        committed = accounts.known_nonce(self.state, signer)
        if committed is not None and self._base.get(signer, -1) < committed:
            self._advance(signer, committed)
        return committed

    def _advance(self, signer: bytes, committed: int) -> None:
        """The account's committed nonce moved to `committed`: what is below is gone (committed, here or
        elsewhere); the run starts there, taking in parked transactions that are now next."""
        self._base[signer] = committed
        queue = self._by_account.get(signer)
        if not queue:
            return
        for nonce in [n for n in queue if n < committed]:
            self._forget(queue[nonce])
        if signer not in self._by_account:
            return
        if self._run_end.get(signer, committed) < committed:
            self._run_end[signer] = committed
            self._views.pop(signer, None)  # txs it held were replaced by others' commits
        while (tx := queue.get(self._run_end[signer])) is not None:
            # another node committed the gap's filler: these join the run unchecked, and the view is
            # built again (checking them in order) at the account's next admission
            self._views.pop(signer, None)
            self._unpark(tx)
            self._run_end[signer] += 1
            self._announce(tx)
        if self._run_end[signer] == committed:
            self._views.pop(signer, None)  # nothing of the run is left: its writes are all committed

    def _forget(self, tx: Tx, gap: bool = False) -> None:
        """Remove a pending transaction. With `gap` (dropped or evicted, not committed), the ones after it
        in the account's run can no longer be included: they become parked and the view is rebuilt."""
        signer = tx.signer
        del self._by_hash[tx.hash]
        self._bodies.pop(tx.hash, None)
        self._unpark(tx)
        client = self._client_of.pop(tx.hash, None)
        if client is not None:
            self._per_client[client] -= 1
            if not self._per_client[client]:
                del self._per_client[client]
        queue = self._by_account[signer]
        del queue[tx.nonce]
        if not queue:
            del self._by_account[signer]
            self._base.pop(signer, None)
            self._run_end.pop(signer, None)
            self._views.pop(signer, None)
            return
        if gap and tx.nonce < self._run_end[signer]:
            self._run_end[signer] = tx.nonce
            self._views.pop(signer, None)
            now = self._clock()
            for nonce in sorted(n for n in queue if n > tx.nonce):
                self._park(queue[nonce], now)

    def _park(self, tx: Tx, since: float) -> None:
        if tx.hash not in self._parked:
            self._shares.add(tx.signer)
        self._parked[tx.hash] = since

    def _unpark(self, tx: Tx) -> None:
        if self._parked.pop(tx.hash, None) is not None:
            self._shares.remove(tx.signer)

    # --- eviction ----------------------------------------------------------------------

    def _evict_for(self, signer: bytes) -> bool:
        """Make room in the full parked budget for one more of `signer`'s: evict the newest (highest
        nonce) parked transaction of the signer holding the most, if it holds more than `signer` would
        after. So a few funded keys can never hold the whole budget against everyone else; only as many
        keys as the budget has slots could (docs/admission.md, "Parked transactions")."""
        heaviest = self._shares.heaviest() if self._shares.would_make_room(signer) else None
        if heaviest is None:
            return False
        queue = self._by_account[heaviest]
        newest = queue[max(queue)]  # the highest pending nonce is parked: the heaviest holds parked ones
        self.evicted["parked_share"] += 1
        self.drop(newest, TxError(Code.EVICTED, "made room behind nonce gaps for an account holding fewer "
                                                "(this account held the most)"))
        return True

    def _evict_parked_ttl(self) -> int:
        deadline = self._clock() - self.config.parked_ttl_s
        dropped = 0
        while self._parked:
            tx_hash, since = next(iter(self._parked.items()))
            if since > deadline:
                break
            self.evicted["parked_ttl"] += 1
            self.drop(self._by_hash[tx_hash], TxError(
                Code.EVICTED, f"waited behind a nonce gap for more than {self.config.parked_ttl_s:g} s"))
            dropped += 1
        return dropped

    def evict_expired(self, next_height: int) -> int:
        """Drop transactions that can no longer enter the next block; returns how many."""
        dropped = 0
        while self._expiries and self._expiries[0][0] < next_height:
            expiry, tx_hash = heapq.heappop(self._expiries)
            tx = self._by_hash.get(tx_hash)
            if tx is not None:
                self.evicted["expired"] += 1
                self.drop(tx, TxError(Code.EXPIRED, f"transaction expired at height {expiry}"))
                dropped += 1
        return dropped

    def evict_stale(self, next_height: int) -> int:
        """After a commit: the expired, and the parked whose time is up. Returns how many went."""
        return self.evict_expired(next_height) + self._evict_parked_ttl()

    # --- block building ---------------------------------------------------------------

    def candidates(self) -> Iterator[Tx]:
        """Round-robin over accounts (longest-waiting first), each in nonce order.

        Only an account's contiguous run from its committed nonce is offered:
        a transaction behind a gap could not be included and waits. One
        account's many transactions take one place per round, so a sender
        that floods the pool delays only itself.
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
        nonce = self._sync_base(signer) or 0
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

    def remove_committed(self, txs: Iterable[Tx], parties: Iterable[tuple[bytes, ...]] = ()) -> None:
        """A block committed `txs`; `parties` (the block outcome's, per tx) are the other accounts they
        touched. Those accounts' check overlays are marked dirty: an incoming credit, a freeze."""
        touched: set[bytes] = set()
        for tx in txs:
            touched.add(tx.signer)
            pending = self._by_hash.get(tx.hash)
            if pending is not None:
                self._forget(pending)
            queue = self._by_account.get(tx.signer)
            if queue is None:
                continue
            # another tx with the same (signer, nonce) can never be included now
            if tx.nonce in queue:
                used = TxError(Code.BAD_NONCE, f"nonce {tx.nonce} was used by a committed transaction")
                self.drop(queue[tx.nonce], used)
            if tx.signer in self._by_account and self._base.get(tx.signer, 0) <= tx.nonce:
                self._advance(tx.signer, tx.nonce + 1)
        for accounts_touched in parties:
            touched.update(accounts_touched)
        for account in touched:
            view = self._views.get(account)
            if view is not None:
                view.dirty = True

    def drop(self, tx: Tx, error: TxError) -> None:
        """Remove a transaction a block refused (or that was evicted), and remember why for GET /v1/txs/{hash}."""
        if tx.hash in self._by_hash:
            self._forget(self._by_hash[tx.hash], gap=True)
        self._rejected[tx.hash] = Rejection(error.code, error.message)
        self._rejected.move_to_end(tx.hash)
        while len(self._rejected) > self._rejected_memory:
            self._rejected.popitem(last=False)

    def rejection(self, tx_hash: bytes) -> Rejection | None:
        return self._rejected.get(tx_hash)
