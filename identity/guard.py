"""What the identity module offers other modules' rules (ledger/rules.py), declared in identity/module.py.

The spend guard: suspended identities can receive but not spend. It refuses
an account bound to an identity whose status is not active (suspended,
revoked, closed) with IDENTITY_NOT_ACTIVE; an account bound to no identity is
unaffected. It costs one get for an unbound account, two for a bound one.

The attribute source: whether an account holds an attribute (credit-class
eligibility, ballots: an active identity with an attestation that holds at
the block height). Whether an account is a registrar (federation-wide
accreditation of providers) is `identity.records.is_registrar`.
"""

from __future__ import annotations

from identity.records import (
    ACTIVE,
    get_identity,
    has_attribute,
    identity_of,
    is_active,
)
from ledger.errors import Code, TxError
from ledger.state import StateReader


def refuse_inactive_identity(state: StateReader, account: bytes) -> None:
    identity_id = identity_of(state, account)
    if identity_id is None:
        return
    identity = get_identity(state, identity_id)
    if identity is not None and identity.status != ACTIVE:
        raise TxError(Code.IDENTITY_NOT_ACTIVE, f"the account's identity is {identity.status}")


def holds_attribute(state: StateReader, account: bytes, attribute: str, height: int) -> bool:
    """Credit-class eligibility (ledger/credit_rules.py): an active identity attested `attribute` at `height`."""
    return is_active(state, account) and has_attribute(state, account, attribute, height)

