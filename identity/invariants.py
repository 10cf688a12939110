"""The identity module's invariants (FORMAT.md §9, "Identity invariants"), checked by the auditor:
accounts and identities agree both ways (`ident/` keys ↔ `identacct/`), uniqueness tags are one per
identity both ways (`ident/` tag ↔ `identtag/`), every bound key is a known account, every
attestation's identity exists."""

from __future__ import annotations

from identity import records as idr
from ledger import accounts
from ledger.address import to_address
from ledger.encoding import EncodingError, encode
from ledger.invariants import InvariantBroken, StateScan, value_of
from ledger.state import StateReader


def check_identities(state: StateReader, scan: StateScan, chain_id: str = "", height: int = 0) -> int:
    """Keys ↔ accounts and tags ↔ identities agree both ways; returns the number of identities."""
    count = active = 0
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
        active += ident.status == idr.ACTIVE
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
    holders: dict[bytes, int] = {}
    for key, _ in scan(idr.PREFIX_ATTESTATION):
        identity_id = key[len(idr.PREFIX_ATTESTATION):][: idr.ID_LEN]
        if state.get(idr.identity_key(identity_id)) is None:
            raise InvariantBroken("identity", f"an attestation of identity {identity_id.hex()}, which does not exist")
        attribute = key[len(idr.PREFIX_ATTESTATION) + idr.ID_LEN:]
        holders[attribute] = holders.get(attribute, 0) + 1
    _check_counters(scan, active, holders)
    return count


def _check_counters(scan: StateScan, active: int, holders: dict[bytes, int]) -> None:
    """`idcount/active` and every `idcount/attr/ ‖ attribute` equal the recount; no counter of 0 is stored."""
    expected = {idr.ACTIVE_COUNT_KEY: active} if active else {}
    expected.update((idr.PREFIX_ATTRIBUTE_COUNT + attribute, n) for attribute, n in holders.items())
    stored = {key: value_of(raw, key, "identity") for key, raw in scan(idr.PREFIX_COUNT)}
    if stored != expected:
        wrong = sorted(k for k in stored.keys() | expected.keys() if stored.get(k) != expected.get(k))
        raise InvariantBroken("identity", "the identity counters disagree with a recount: " + ", ".join(
            f"{k.decode('ascii', 'replace')} is {stored.get(k, 0)}, counted {expected.get(k, 0)}" for k in wrong))


def _identity_of(state: StateReader, raw: bytes, key: bytes) -> tuple[bytes, idr.Identity] | None:
    identity_id = value_of(raw, key, "identity")
    if type(identity_id) is not bytes:
        return None
    record = state.get(idr.identity_key(identity_id))
    return None if record is None else (identity_id, idr.decode_identity(record))


