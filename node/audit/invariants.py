"""The global invariants of FORMAT.md §9, checked by scanning a replayed state.

Re-execution already proves every block followed the rules one transaction at
a time; these checks state what must hold of the result as a whole, so that a
bug in a transition rule (or a rule an auditor reimplemented differently)
shows up as a named broken invariant rather than not at all:

- credits: every balance is 1 … 2^63 − 1 of an existing class; every class's
  books balance, `issued = held + redeemed + reclaimed`; the per-holder issue
  totals and per-provider redemption totals add up to the books; caps hold;
- identity: accounts and identities agree both ways (`ident/` keys ↔
  `identacct/`), uniqueness tags are one per identity both ways (`ident/`
  tag ↔ `identtag/`), every attestation's identity exists;
- accounts: every balance holder and every bound key is known (`acct/`, §8.1);
- evidence: every record sits under the key of the offence its first vote
  names and proves it (§13.3).

The scan streams the state in key order: one running total per class is all
it keeps; cross-references are point reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from identity import records as idr
from ledger import accounts, credits
from ledger import credit_rules as rules
from ledger.address import to_address
from ledger.encoding import EncodingError, decode, encode
from ledger.evidence import PREFIX_EVIDENCE, decode_record, evidence_key
from ledger.fields import MAX_AMOUNT
from ledger.state import StateReader
from ledger.votes import EvidenceInvalid, check_evidence

StateScan = Callable[[bytes], Iterator[tuple[bytes, bytes]]]


class InvariantBroken(ValueError):
    """One invariant does not hold; `check` names which family (books, balance, identity, evidence)."""

    def __init__(self, check: str, message: str, account: bytes | None = None):
        super().__init__(message)
        self.check = check
        self.message = message
        self.account = account


def _value(raw: bytes, key: bytes, check: str) -> Any:
    try:
        return decode(raw)
    except EncodingError as exc:
        raise InvariantBroken(check, f"state entry {key!r} is not canonical: {exc}") from None


def _amount(raw: bytes, key: bytes, check: str) -> int:
    value = _value(raw, key, check)
    if type(value) is not int or not 0 < value <= MAX_AMOUNT:
        raise InvariantBroken(check, f"state entry {key!r} holds {value!r}, not an amount of 1 … 2^63 − 1")
    return value


def _class_totals(scan: StateScan, prefix: bytes, check: str) -> dict[str, int]:
    """Sum the `prefix ‖ class_id ‖ "/" ‖ …` entries per class (class ids never hold "/")."""
    totals: dict[str, int] = {}
    for key, raw in scan(prefix):
        class_id = key[len(prefix):].split(b"/", 1)[0].decode("ascii", "replace")
        totals[class_id] = totals.get(class_id, 0) + _amount(raw, key, check)
    return totals


def check_credits(state: StateReader, scan: StateScan) -> int:
    """Balances and books of every class; returns the number of classes."""
    held: dict[str, int] = {}
    for key, raw in scan(credits.PREFIX_BALANCE):
        rest = key[len(credits.PREFIX_BALANCE):]
        holder, class_id = rest[:32], rest[32:].decode("ascii", "replace")
        amount = _amount(raw, key, "balance")
        if state.get(credits.class_key(class_id)) is None:
            raise InvariantBroken("balance", f"{to_address(holder)} holds {amount} of class {class_id!r}, which does not exist",
                                  holder)
        if not accounts.is_known(state, holder):
            raise InvariantBroken("balance", f"{to_address(holder)} holds {amount} of class {class_id!r} but has no "
                                             "account record (acct/)", holder)
        held[class_id] = held.get(class_id, 0) + amount
    issued_to = _class_totals(scan, rules.PREFIX_ISSUED, "books")
    redeemed_by = _class_totals(scan, rules.PREFIX_REDEEMED, "books")
    count = 0
    for key, raw in scan(credits.PREFIX_CLASS):
        class_id = key[len(credits.PREFIX_CLASS):].decode("ascii", "replace")
        try:
            record = credits.decode_class(raw)
        except (EncodingError, TypeError, ValueError) as exc:
            raise InvariantBroken("books", f"class {class_id}: the record does not decode: {exc}") from None
        total = held.get(class_id, 0)
        if record.issued != total + record.redeemed + record.reclaimed:
            raise InvariantBroken(
                "books",
                f"class {class_id}: the books do not balance: issued {record.issued} ≠ held {total} + redeemed "
                f"{record.redeemed} + reclaimed {record.reclaimed}",
            )
        if record.budget and record.issued > record.budget:
            raise InvariantBroken("books", f"class {class_id}: issued {record.issued} exceeds its budget {record.budget}")
        if record.holder_cap and issued_to.get(class_id, 0) != record.issued:
            raise InvariantBroken("books", f"class {class_id}: per-holder issue totals sum to "
                                           f"{issued_to.get(class_id, 0)}, the books say issued {record.issued}")
        if redeemed_by.get(class_id, 0) != record.redeemed:
            raise InvariantBroken("books", f"class {class_id}: per-provider redemptions sum to "
                                           f"{redeemed_by.get(class_id, 0)}, the books say redeemed {record.redeemed}")
        count += 1
    for key, raw in scan(rules.PREFIX_ISSUED):
        class_id = key[len(rules.PREFIX_ISSUED):].split(b"/", 1)[0].decode("ascii", "replace")
        record = credits.get_class(state, class_id)
        if record is None or not record.holder_cap:
            raise InvariantBroken("books", f"a per-holder issue total of class {class_id!r}, which has no holder cap")
        if _amount(raw, key, "books") > record.holder_cap:
            holder = key[-32:]
            raise InvariantBroken("books", f"class {class_id}: {to_address(holder)} was issued more than the holder cap "
                                           f"{record.holder_cap}", holder)
    return count


def check_identities(state: StateReader, scan: StateScan) -> int:
    """Keys ↔ accounts and tags ↔ identities agree both ways; returns the number of identities."""
    count = 0
    for key, raw in scan(idr.PREFIX_IDENTITY):
        identity_id = key[len(idr.PREFIX_IDENTITY):]
        try:
            ident = idr.decode_identity(raw)
        except (EncodingError, TypeError, ValueError) as exc:
            raise InvariantBroken("identity", f"identity {identity_id.hex()}: the record does not decode: {exc}") from None
        for account in ident.keys:
            if state.get(idr.account_key(account)) != encode(identity_id):
                raise InvariantBroken("identity", f"key {to_address(account)} of identity {identity_id.hex()} is not "
                                                  "bound to it (identacct/)", account)
        if ident.tag is not None and state.get(idr.tag_key(ident.tag)) != encode(identity_id):
            raise InvariantBroken("identity", f"the uniqueness tag {ident.tag.hex()} of identity {identity_id.hex()} "
                                              "belongs to another identity (identtag/)")
        count += 1
    for key, raw in scan(idr.PREFIX_ACCOUNT):
        account = key[len(idr.PREFIX_ACCOUNT):]
        owner = _identity_of(state, raw, key)
        if owner is None or account not in owner[1].keys:
            raise InvariantBroken("identity", f"account {to_address(account)} is bound to an identity that does not "
                                              "hold it as a key", account)
        if not accounts.is_known(state, account):
            raise InvariantBroken("identity", f"account {to_address(account)} is bound to an identity but has no "
                                              "account record (acct/)", account)
    for key, raw in scan(idr.PREFIX_TAG):
        tag = key[len(idr.PREFIX_TAG):]
        owner = _identity_of(state, raw, key)
        if owner is None or owner[1].tag != tag:
            raise InvariantBroken("identity", f"the uniqueness tag {tag.hex()} points to an identity that does not "
                                              "carry it (two identities for one tag?)")
    for key, _ in scan(idr.PREFIX_ATTESTATION):
        identity_id = key[len(idr.PREFIX_ATTESTATION):][: idr.ID_LEN]
        if state.get(idr.identity_key(identity_id)) is None:
            raise InvariantBroken("identity", f"an attestation of identity {identity_id.hex()}, which does not exist")
    return count


def _identity_of(state: StateReader, raw: bytes, key: bytes) -> tuple[bytes, idr.Identity] | None:
    identity_id = _value(raw, key, "identity")
    if type(identity_id) is not bytes:
        return None
    record = state.get(idr.identity_key(identity_id))
    return None if record is None else (identity_id, idr.decode_identity(record))


def check_evidence_records(state: StateReader, scan: StateScan, chain_id: str, height: int) -> int:
    """Each record proves the offence its key names; returns the number of records."""
    count = 0
    for key, raw in scan(PREFIX_EVIDENCE):
        try:
            record = decode_record(raw)
        except (EncodingError, TypeError, ValueError) as exc:
            raise InvariantBroken("evidence", f"evidence record {key.hex()} does not decode: {exc}") from None
        a, b = record.vote_a, record.vote_b
        if key != evidence_key(a.validator, a.height, a.round, a.type):
            raise InvariantBroken("evidence", f"evidence record {key.hex()} is filed under another offence than its votes")
        if not 0 < record.included_height <= height:
            raise InvariantBroken("evidence", f"evidence record {key.hex()} names inclusion height {record.included_height}")
        try:
            # Membership in the validator set was checked when the block that included it was re-executed.
            check_evidence(a, b, chain_id, (a.validator,))
        except EvidenceInvalid as exc:
            raise InvariantBroken("evidence", f"evidence against {to_address(a.validator)} does not prove an offence: "
                                              f"{exc}", a.validator) from None
        count += 1
    return count
