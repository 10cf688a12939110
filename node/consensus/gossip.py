"""Gossip by what each peer is known to have: which proposals and votes go to which peer, and when to ask.

docs/consensus.md, "Gossip and relaying". Relaying every message to every peer
made a federation of n validators send about n^3 frames per block (each of the
2n + 1 messages of a height passed on by each node to each peer). Here a message
goes to a peer only when that peer is not known to have it and has said it needs
it, so a block costs about n^2 frames: the signer's own message to each peer, the
status changes, and the repair of what was really lost.

What a node knows of a peer (`PeerView`), for its current height and the one
before (anything else is dropped when a height begins):

- its position (height, round, step), from its STATUS;
- per (height, round), which proposal and votes it has, as three bitmasks over
  the height's validator list (bit i: validator i): learnt from the messages it
  sent us, the ones we sent it, and its HAS announcements;
- the rounds it asked about (an open request: it lacked something there).

A node asks with a HAS `[height, round, proposal?, prevote bits, precommit bits]`
(node/consensus/wire.py) that says what it has of one round; the peer answers at
once with the messages of that round (and of its own current or deciding round)
that the HAS does not list, and, while the request is open (until the asker's
position changes), passes on each such message that reaches it later. A node
asks only when it has reason to think something is missing:

1. a vote for a block whose proposal it lacks: it asks the peer that sent the vote;
2. a peer's STATUS shows that peer further on (a later height, round or step): the
   peer moved on what had reached it, and the same should have reached this node
   about as soon. It asks the first such peer at once (one per position of its
   own), and, once it has not moved for `BEHIND_GRACE_MS`, every peer further on
   (once per position of the peer);
3. at a status interval, if its own position has not changed since the last one:
   it asks every validator peer (a pull: each answers with only what is missing).

Everything is bounded by the validator set: only a validator of the height may
ask (an observer's or stranger's HAS is ignored and counted), bitmasks are n bits,
rounds per height per peer are capped (`MAX_ROUNDS`), open requests per peer are
capped (`MAX_OPEN`), and the messages held for answers are those of the current
and the previous height, which the node holds anyway.

This module does no I/O: the driver (node/consensus/height.py) and the simulation
(node/bench/sim.py) call it and send what it says, so the simulation measures the
node's own gossip. Peers are named by their node key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

PROPOSAL, PREVOTE, PRECOMMIT = 0, 1, 2  # the slots of a round: the proposal and the two vote types
BEHIND_GRACE_MS = 100.0  # a peer further on: ask it after this long without moving (it may be messages in flight)
MAX_ROUNDS = 32  # rounds of one height whose masks are kept per peer (the highest)
MAX_OPEN = 4  # open requests kept per peer (the newest)


class Key(NamedTuple):
    """One proposal or vote of a height: (height, round, slot, the signer's place in the validator list)."""

    height: int
    round: int
    slot: int
    index: int


class Has(NamedTuple):
    """What a node has of one round: bitmasks of the proposal (the proposer's bit) and of the two vote types."""

    height: int
    round: int
    masks: tuple[int, int, int]


def bits_to_bytes(mask: int, n: int) -> bytes:
    """Bit i of the mask is bit (i mod 8) of byte i div 8; ceil(n / 8) bytes (FORMAT.md §18.3, HAS)."""
    return mask.to_bytes((n + 7) // 8, "little")


def bytes_to_bits(raw: bytes, n: int) -> int | None:
    """The mask of `raw`, or None unless it has ceil(n / 8) bytes and no bit at or above n."""
    if len(raw) != (n + 7) // 8:
        return None
    mask = int.from_bytes(raw, "little")
    return mask if mask >> n == 0 else None


class PeerView:
    """What one peer is known to have (see the module docstring); reset when it connects again."""

    __slots__ = ("position", "known", "open", "asked_at")

    def __init__(self) -> None:
        self.position: tuple[int, int, int] | None = None
        self.known: dict[tuple[int, int], list[int]] = {}
        self.open: list[tuple[int, int]] = []
        self.asked_at: tuple[int, int, int] | None = None  # its position when this node last asked it

    def masks(self, height: int, round_: int) -> list[int]:
        masks = self.known.get((height, round_))
        if masks is None:
            masks = self.known[(height, round_)] = [0, 0, 0]
            rounds = sorted(r for h, r in self.known if h == height)
            for r in rounds[:-MAX_ROUNDS]:
                del self.known[(height, r)]
        return masks

    def has(self, key: Key) -> bool:
        masks = self.known.get((key.height, key.round))
        return masks is not None and bool(masks[key.slot] >> key.index & 1)

    def mark(self, key: Key) -> None:
        self.masks(key.height, key.round)[key.slot] |= 1 << key.index

    def prune(self, low: int, high: int) -> None:
        self.known = {hr: m for hr, m in self.known.items() if low <= hr[0] <= high}
        self.open = [hr for hr in self.open if low <= hr[0] <= high]


class _Height:
    """The messages of one height this node holds, to answer requests, and what it has per round."""

    __slots__ = ("height", "validators", "index", "held", "mine", "decided_round")

    def __init__(self, height: int, validators: tuple[bytes, ...]):
        self.height = height
        self.validators = validators
        self.index = {v: i for i, v in enumerate(validators)}
        self.held: dict[int, dict[Key, Any]] = {}  # round -> key -> payload
        self.mine: dict[int, list[int]] = {}  # round -> masks
        self.decided_round: int | None = None


class Gossip:
    def __init__(self) -> None:
        self._current: _Height | None = None
        self._previous: _Height | None = None
        self.views: dict[bytes, PeerView] = {}
        self._asking: set[bytes] = set()  # peers with an open request
        self._gap_asked: set[int] = set()  # rounds of the current height already asked about for a proposal
        self._quick_asked: tuple[int, int, int] | None = None  # this node's position at its last ask in the grace
        # counters for /metrics and the simulation
        self.stats = {"asked": 0, "answered": 0, "passed_on": 0, "ignored": 0}

    # --- heights -------------------------------------------------------------------------------

    @property
    def height(self) -> int:
        return self._current.height if self._current is not None else 0

    def begin(self, height: int, validators: tuple[bytes, ...], decided_round: int | None = None) -> None:
        """A new height: the one before is kept (with the round that decided it, if known) for laggards."""
        previous = self._current
        if previous is not None and previous.height == height - 1:
            previous.decided_round = decided_round
            self._previous = previous
        else:
            self._previous = None
        self._current = _Height(height, tuple(validators))
        self._gap_asked = set()
        for view in self.views.values():
            view.prune(height - 1, height)
        self._asking = {peer for peer in self._asking if self.views[peer].open}

    def _at(self, height: int) -> _Height | None:
        for h in (self._current, self._previous):
            if h is not None and h.height == height:
                return h
        return None

    def key(self, height: int, round_: int, slot: int, signer: bytes) -> Key | None:
        """The key of a message of the current or previous height; None if the signer is not its validator."""
        h = self._at(height)
        index = h.index.get(signer) if h is not None else None
        return None if index is None else Key(height, round_, slot, index)

    def is_validator(self, height: int, peer: bytes) -> bool:
        h = self._at(height)
        return h is not None and peer in h.index

    def _view(self, peer: bytes) -> PeerView:
        view = self.views.get(peer)
        if view is None:
            view = self.views[peer] = PeerView()
        return view

    def connected(self, peer: bytes) -> None:
        """A new connection: nothing is known of what the peer has."""
        self.views[peer] = PeerView()
        self._asking.discard(peer)

    # --- messages ------------------------------------------------------------------------------

    def _hold(self, key: Key, payload: Any) -> bool:
        h = self._at(key.height)
        if h is None:
            return False
        held = h.held.setdefault(key.round, {})
        if key in held:
            return False
        held[key] = payload
        h.mine.setdefault(key.round, [0, 0, 0])[key.slot] |= 1 << key.index
        return True

    def own(self, key: Key, payload: Any, peers: Iterable[bytes]) -> None:
        """This node signed it and sent it to every peer."""
        self._hold(key, payload)
        for peer in peers:
            self._view(peer).mark(key)

    def received(self, peer: bytes, key: Key, payload: Any) -> list[bytes]:
        """A checked message from `peer`: the peers to pass it on to (those with an open request that lack it,
        but never its own signer)."""
        self._view(peer).mark(key)
        if not self._hold(key, payload):
            return []
        h = self._at(key.height)
        signer = h.validators[key.index] if h is not None else None
        targets = []
        for other in sorted(self._asking):
            view = self.views[other]
            if other not in (peer, signer) and (key.height, key.round) in view.open and not view.has(key):
                view.mark(key)
                targets.append(other)
        self.stats["passed_on"] += len(targets)
        return targets

    def holds(self, key: Key) -> bool:
        h = self._at(key.height)
        return h is not None and key in h.held.get(key.round, {})

    # --- asking --------------------------------------------------------------------------------

    def has(self, height: int, round_: int) -> Has | None:
        """What this node has of (height, round), to ask with."""
        h = self._at(height)
        if h is None:
            return None
        return Has(height, round_, tuple(h.mine.get(round_, (0, 0, 0))))  # type: ignore[arg-type]

    def gap(self, height: int, round_: int) -> Has | None:
        """A vote for a block whose proposal this node lacks: ask (once per round of the current height)."""
        if self._current is None or height != self._current.height or round_ in self._gap_asked:
            return None
        self._gap_asked.add(round_)
        self.stats["asked"] += 1
        return self.has(height, round_)

    def on_status(self, peer: bytes, position: tuple[int, int, int], ours: tuple[int, int, int],
                  still_ms: float) -> Has | None:
        """A validator peer's STATUS: remember its position; a Has to ask it with if it is further on and
        this node has not moved for BEHIND_GRACE_MS (`still_ms`), once per position of the peer."""
        view = self._view(peer)
        if view.position != position:
            view.position = position
            view.open = []  # it moved: what it asked for before is no longer what it needs
            self._asking.discard(peer)
        if position <= ours or position[0] > ours[0] + 1 or ours[1] < 0 or view.asked_at == position:
            return None  # two heights ahead is block sync's work (sync.py)
        if still_ms < BEHIND_GRACE_MS:
            # the peer moved on what reached it by then, and the same reached this node about as soon, unless
            # it was lost: ask this one peer now, and the others only once the grace has passed
            if self._quick_asked == ours:
                return None
            self._quick_asked = ours
        view.asked_at = position
        self.stats["asked"] += 1
        return self.has(ours[0], ours[1])

    def stuck(self, ours: tuple[int, int, int]) -> Has | None:
        """At a status interval with the position unchanged since the last one: what to ask every peer."""
        if ours[1] < 0:
            return None
        self.stats["asked"] += 1
        return self.has(ours[0], ours[1])

    # --- answering -----------------------------------------------------------------------------

    def answer(self, peer: bytes, has: Has, our_round: int) -> list[tuple[Key, Any]]:
        """A peer's request: the messages of its round, and of this node's current (or deciding) round,
        that it lacks. Only a validator of that height may ask; anything else is ignored."""
        h = self._at(has.height)
        if h is None or peer not in h.index:
            self.stats["ignored"] += 1
            return []
        view = self._view(peer)
        # the request is the peer's own word on this round: what it does not list, it lacks, whatever this
        # node sent it before (a copy may have been lost, or be on its way: then the answer is a duplicate)
        view.masks(has.height, has.round)[:] = has.masks
        if h is self._current:
            other = our_round
            if (has.height, has.round) not in view.open:
                view.open = [*view.open, (has.height, has.round)][-MAX_OPEN:]
                self._asking.add(peer)
        else:
            other = h.decided_round if h.decided_round is not None else has.round
        out = []
        for round_ in sorted({has.round, other}):
            for key, payload in h.held.get(round_, {}).items():
                if not view.has(key):
                    view.mark(key)
                    out.append((key, payload))
        self.stats["answered"] += len(out)
        return out

    def proposal_index(self, height: int, round_: int) -> int | None:
        """The proposer's place in the list: proposer(h, r) = validators[(h + r) mod n] (docs/consensus.md)."""
        h = self._at(height)
        return None if h is None or not h.validators else (height + round_) % len(h.validators)

    def size(self, height: int) -> int | None:
        h = self._at(height)
        return None if h is None else len(h.validators)
