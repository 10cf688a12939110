"""Attestations: an attester vouches for one attribute of an identity.

`attest.issue` and `attest.revoke` (FORMAT.md §6.4). Who may attest what is a
rule in state, `attester/<account>` = [name, [pattern, ...]] (genesis now,
governance later): a company attests only `employee:<itself>`, a municipality
only `resident:<itself>`. One record per (identity, attribute), so that a
credit rule's or a ballot's check is a single get (`records.has_attribute`). Each attribute's records are counted
(`idcount/attr/`) so that a ballot's electorate is one get (FORMAT.md §6.7).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from identity.records import (
    ACTIVE,
    MAX_ATTRIBUTE,
    Attestation,
    add_to_count,
    attestation_key,
    attribute_count_key,
    get_attestation,
    get_attester,
    get_identity,
    is_attribute,
    may_attest,
)
from identity.txs import identity_id
from ledger import fields
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext, TxType


def attribute(value: Any, field: str = "attribute") -> str:
    if not is_attribute(value):
        raise TxError(Code.MALFORMED, f"{field} must match [a-z0-9-]+:[a-z0-9+._-]+ in at most {MAX_ATTRIBUTE} bytes")
    return value


class IssueBody(NamedTuple):
    id: bytes
    attribute: str
    expiry_height: int  # the last height at which it holds; 0 = no expiry


def _parse_issue(body: tuple) -> IssueBody:
    ident_id, attr, expiry = fields.expect_fields(body, IssueBody._fields)
    return IssueBody(identity_id(ident_id), attribute(attr), fields.uint(expiry, "expiry_height"))


def _execute_issue(ctx: ExecContext, body: IssueBody) -> None:
    if not may_attest(get_attester(ctx.state, ctx.signer), body.attribute):
        raise TxError(Code.ATTESTER_NOT_ALLOWED, f"the signer may not attest {body.attribute}")
    identity = get_identity(ctx.state, body.id)
    if identity is None:
        raise TxError(Code.UNKNOWN_IDENTITY)
    if identity.status != ACTIVE:
        raise TxError(Code.IDENTITY_NOT_ACTIVE, f"the identity is {identity.status}")
    if body.expiry_height != 0 and body.expiry_height <= ctx.height:
        raise TxError(Code.EXPIRY_NOT_AFTER_HEIGHT, f"expiry {body.expiry_height} is not after height {ctx.height}")
    existing = get_attestation(ctx.state, body.id, body.attribute)
    if existing is not None and existing.attester != ctx.signer and existing.holds_at(ctx.height):
        raise TxError(Code.NOT_ATTESTATION_ISSUER)
    if existing is None:
        add_to_count(ctx.state, attribute_count_key(body.attribute), 1)
    ctx.state.put(attestation_key(body.id, body.attribute), Attestation(ctx.signer, ctx.height, body.expiry_height).encode())


class RevokeBody(NamedTuple):
    id: bytes
    attribute: str


def _parse_revoke(body: tuple) -> RevokeBody:
    ident_id, attr = fields.expect_fields(body, RevokeBody._fields)
    return RevokeBody(identity_id(ident_id), attribute(attr))


def _execute_revoke(ctx: ExecContext, body: RevokeBody) -> None:
    existing = get_attestation(ctx.state, body.id, body.attribute)
    if existing is None:
        raise TxError(Code.ATTESTATION_NOT_FOUND)
    if existing.attester != ctx.signer:
        raise TxError(Code.NOT_ATTESTATION_ISSUER)
    ctx.state.delete(attestation_key(body.id, body.attribute))
    add_to_count(ctx.state, attribute_count_key(body.attribute), -1)


ISSUE = TxType("attest.issue", _parse_issue, _execute_issue)
REVOKE = TxType("attest.revoke", _parse_revoke, _execute_revoke)
