"""Suspended identities can receive but not spend: the ledger's spend guard.

`ledger.guards` lets a package refuse a spender without `ledger` importing
it. This guard refuses an account bound to an identity whose status is not
active (suspended, revoked, closed) with IDENTITY_NOT_ACTIVE; an account bound
to no identity is unaffected. It costs one get for an unbound account, two
for a bound one.

It also gives the credit rules what they need of the registry: whether an
account holds an attribute (for eligibility: an active identity with an
attestation that holds at the block height) and whether it is a registrar
(for federation-wide accreditation of providers).
"""

from __future__ import annotations

from identity.records import (
    ACTIVE,
    get_identity,
    has_attribute,
    identity_of,
    is_active,
    is_registrar,
)
from ledger.credit_rules import register_attribute_source, register_registrar_source
from ledger.errors import Code, TxError
from ledger.guards import register_spend_guard
from ledger.state import StateReader


def refuse_inactive_identity(state: StateReader, account: bytes) -> None:
    identity_id = identity_of(state, account)
    if identity_id is None:
        return
    identity = get_identity(state, identity_id)
    if identity is not None and identity.status != ACTIVE:
        raise TxError(Code.IDENTITY_NOT_ACTIVE, f"the account's identity is {identity.status}")


register_spend_guard(refuse_inactive_identity)


def holds_attribute(state: StateReader, account: bytes, attribute: str, height: int) -> bool:
    """Credit-class eligibility (ledger/credit_rules.py): an active identity attested `attribute` at `height`."""
    return is_active(state, account) and has_attribute(state, account, attribute, height)


register_attribute_source(holds_attribute)
register_registrar_source(is_registrar)
