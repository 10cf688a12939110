"""What every agora transaction shares: its field rules and the eligibility check (FORMAT.md §6.7)."""

from __future__ import annotations

from typing import Any

from governance import records as rec
from governance.records import Space
from identity.records import ACTIVE, get_identity, has_attribute, identity_of
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext


def fixed_bytes(value: Any, field: str, length: int) -> bytes:
    if type(value) is not bytes or len(value) != length:
        raise TxError(Code.MALFORMED, f"{field} must be {length} bytes")
    return value


def record_id(value: Any, field: str) -> bytes:
    return fixed_bytes(value, field, rec.ID_LEN)


def permille(value: Any, field: str) -> int:
    if type(value) is not int or not 0 <= value <= rec.PERMILLE:
        raise TxError(Code.MALFORMED, f"{field} must be an integer from 0 to {rec.PERMILLE} (per mille)")
    return value


def load_space(ctx: ExecContext, space_id: bytes) -> Space:
    space = rec.get_space(ctx.state, space_id)
    if space is None:
        raise TxError(Code.UNKNOWN_SPACE)
    return space


def signer_identity(ctx: ExecContext) -> bytes | None:
    """The id of the identity the signing key is bound to, or None."""
    return identity_of(ctx.state, ctx.signer)


def eligible_identity(ctx: ExecContext, space: Space) -> bytes:
    """The signer's identity, if it may take part in `space` at this block: bound to the key, active, and
    (unless the space is the whole federation's) holding the space's attribute at the block's height."""
    identity_id = signer_identity(ctx)
    identity = None if identity_id is None else get_identity(ctx.state, identity_id)
    if identity_id is None or identity is None:
        raise TxError(Code.NOT_SPACE_ELIGIBLE, "the signer's key is bound to no identity")
    if identity.status != ACTIVE:
        raise TxError(Code.NOT_SPACE_ELIGIBLE, f"the signer's identity is {identity.status}")
    if space.eligibility and not has_attribute(ctx.state, identity_id, space.eligibility, ctx.height):
        raise TxError(Code.NOT_SPACE_ELIGIBLE, f"the signer's identity does not hold {space.eligibility} now")
    return identity_id


def is_moderator(space: Space, account: bytes) -> bool:
    return account in space.moderators
