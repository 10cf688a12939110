"""A one-validator chain with an agora: an admin, a moderator, three spaces and an identity with three keys.

Built on tests/credit_chain.py (identities IDS[0..3] of KEYS[0..3]: 0 and 1
members of coop-a, 0 and 2 residents of trento, 3 neither; blocks through
build_block and apply_block, a follower re-executing each), with what the
agora adds (FORMAT.md §6.7):

- ADMIN, an agora admin from the genesis section `agora.admins`;
  MODERATOR, named a moderator of every space by ADMIN;
- MULTI, a member of coop-a with three keys (TRIO), registered and attested
  in the setup: coop-a has three members (IDS[0], IDS[1], MULTI), the
  federation five active identities;
- spaces FED (the whole federation), COOP (`member:coop-a`) and TOWN
  (`resident:trento`), each with a support threshold of 2 within SUPPORT_WINDOW,
  a quorum of 600 ‰ and a pass share of 500 ‰ (more than half).
"""

from __future__ import annotations

from governance import records as rec
from governance.invariants import check_agora
from identity.invariants import check_identities
from ledger.address import to_address
from ledger.crypto import SigningKey, sha256
from ledger.errors import Code
from tests.credit_chain import IDS, CreditChain, check_books, credit_genesis_document
from tests.identity_chain import ATTESTER, KEYS, REGISTRAR

ADMIN = SigningKey(bytes([0x6C]) * 32)
MODERATOR = SigningKey(bytes([0x6D]) * 32)
A, B, C, D = KEYS[:4]  # A: member and resident, B: member, C: resident, D: neither
TRIO = KEYS[4:7]  # the three keys of MULTI
MULTI = bytes([0xA4]) * 16
SECOND = 1000
SUPPORT_WINDOW = 60 * SECOND
THRESHOLD, QUORUM, PASS = 2, 600, 500
YES_NO = ("yes", "no", "abstain")
CLASSES = ("eur", "welfare", "virtue", "other")


def space_id(name: str) -> bytes:
    return sha256(name.encode())[:16]


FED, COOP, TOWN = space_id("fed"), space_id("coop"), space_id("town")


def post_id(n: int) -> bytes:
    return bytes([0xC0, n >> 8, n & 0xFF]) + bytes(13)


def ballot_id(n: int) -> bytes:
    return bytes([0xB0, n >> 8, n & 0xFF]) + bytes(13)


def text_hash(text: str) -> bytes:
    return sha256(text.encode("utf-8"))


def agora_genesis_document() -> dict:
    doc = credit_genesis_document()
    doc["agora"] = {"admins": [{"name": "Agora della federazione", "account": to_address(ADMIN.pubkey)}]}
    return doc


def space_body(space: bytes, eligibility: str, threshold: int = THRESHOLD, window: int = SUPPORT_WINDOW,
               quorum: int = QUORUM, pass_share: int = PASS, moderators: tuple = (MODERATOR.pubkey,)) -> tuple:
    """An `agora.space` body (FORMAT.md §6.7)."""
    return (space, f"space {space.hex()[:6]}", eligibility, moderators, threshold, window, quorum, pass_share)


class AgoraChain(CreditChain):
    """The credit chain with the agora's genesis, MULTI registered and attested, and three spaces."""

    def __init__(self, doc: dict | None = None):
        super().__init__(doc or agora_genesis_document())
        self.setup_blocks.append(self.block([
            self.tx(REGISTRAR, "identity.register", (MULTI, "person", bytes([0xB9]) * 32, bytes(32),
                                                     tuple(k.pubkey for k in TRIO))),
            self.tx(ATTESTER, "attest.issue", (MULTI, "member:coop-a", 0)),
        ]))
        self.setup_blocks.append(self.block([
            self.tx(ADMIN, "agora.space", space_body(FED, ""), nonce=0),
            self.tx(ADMIN, "agora.space", space_body(COOP, "member:coop-a"), nonce=1),
            self.tx(ADMIN, "agora.space", space_body(TOWN, "resident:trento"), nonce=2),
        ]))
        assert all(r == Code.OK for b in self.setup_blocks for r in b.results)

    @property
    def time(self) -> int:
        return self.head.time_ms

    def post(self, n: int) -> rec.Post:
        found = rec.get_post(self.state, post_id(n))
        assert found is not None
        return found

    def ballot(self, n: int) -> rec.Ballot:
        found = rec.get_ballot(self.state, ballot_id(n))
        assert found is not None
        return found

    def vote_of(self, n: int, identity: bytes) -> rec.Vote | None:
        return rec.get_vote(self.state, ballot_id(n), identity)

    def votes(self, n: int) -> list[bytes]:
        """The identities with a vote record in ballot n."""
        prefix = rec.vote_key(ballot_id(n), b"")
        return sorted(k[len(prefix):] for k in self.state.items if k.startswith(prefix))

    def scan(self, prefix: bytes):
        items = self.state.items
        for key in sorted(k for k in items if k.startswith(prefix)):
            yield key, items[key]

    def check(self) -> None:
        """The books, the identity counters, the agora's invariants (the tally recount) and the follower."""
        check_books(self, CLASSES)
        check_identities(self.state, self.scan)
        check_agora(self.state, self.scan)
        self.check_root()

    # --- one step each, in its own block ---------------------------------------------------

    def new_proposal(self, n: int, space: bytes, key: SigningKey = A, text: str = "A bench in the square") -> int:
        return self.send(key, "agora.propose", (post_id(n), space, text_hash(text)))

    def supported(self, n: int, keys: tuple[SigningKey, ...]) -> None:
        """Supports of proposal n by each key, one block; all must succeed."""
        block = self.block([self.tx(k, "agora.support", (post_id(n),)) for k in keys])
        assert list(block.results) == [Code.OK] * len(keys), block.results

    def open_ballot(self, n: int, proposal: int, key: SigningKey = MODERATOR, options: tuple = YES_NO,
                    opens: int | None = None, closes: int = 60 * SECOND, reveal: int = 0) -> int:
        """A ballot on proposal `proposal`, opening at `opens` (default: now) and closing `closes` ms after
        the next block's time; `reveal` ms of reveal window after it (0: public)."""
        at = self.time + SECOND
        close_ms = at + closes
        body = (ballot_id(n), post_id(proposal), options, at if opens is None else opens, close_ms,
                close_ms + reveal if reveal else 0)
        return self.block([self.tx(key, "agora.ballot", body)], at).results[0]

    def vote(self, n: int, key: SigningKey, option: int) -> int:
        return self.send(key, "agora.vote", (ballot_id(n), option))


__all__ = ["ADMIN", "COOP", "FED", "MODERATOR", "MULTI", "PASS", "QUORUM", "SECOND", "SUPPORT_WINDOW", "THRESHOLD",
           "TOWN", "TRIO", "YES_NO", "A", "AgoraChain", "B", "C", "D", "IDS", "agora_genesis_document",
           "ballot_id", "post_id", "space_body", "text_hash"]
