"""The identity module's declaration (ledger/rules.py): its types, codes, state keys and what it
offers the rules of other modules (the spend guard, attributes, registrars)."""

from __future__ import annotations

from identity import attest, records, txs
from identity.genesis import IdentityGenesis
from identity.guard import holds_attribute, refuse_inactive_identity
from identity.invariants import check_identities
from ledger.errors import Code
from ledger.rules import Module

MODULE = Module(
    name="identity",
    version=1,
    doc="people and organisations, their keys, recovery, erasure, attestations of attributes",
    tx_types=(txs.REGISTER, txs.ADD_KEY, txs.REMOVE_KEY, txs.ROTATE_KEY, txs.RECOVER_START, txs.RECOVER_CANCEL,
              txs.RECOVER_COMPLETE, txs.SET_STATUS, txs.ERASE, attest.ISSUE, attest.REVOKE),
    codes=(
        Code.NOT_REGISTRAR, Code.IDENTITY_EXISTS, Code.IDENTITY_DUPLICATE, Code.KEY_BOUND, Code.UNKNOWN_IDENTITY,
        Code.NOT_IDENTITY_KEY, Code.NOT_IDENTITY_REGISTRAR, Code.IDENTITY_NOT_ACTIVE, Code.IDENTITY_FINAL,
        Code.TOO_MANY_KEYS, Code.LAST_KEY, Code.KEY_NOT_FOUND, Code.BAD_BINDING, Code.RECOVERY_PENDING,
        Code.NO_RECOVERY, Code.RECOVERY_NOT_DUE, Code.ALREADY_ERASED, Code.ATTESTER_NOT_ALLOWED,
        Code.ATTESTATION_NOT_FOUND, Code.NOT_ATTESTATION_ISSUER, Code.EXPIRY_NOT_AFTER_HEIGHT,
    ),
    prefixes=(records.PREFIX_IDENTITY, records.PREFIX_TAG, records.PREFIX_ACCOUNT, records.PREFIX_ATTESTATION,
              records.PREFIX_ATTESTER, records.PREFIX_REGISTRAR, records.PREFIX_COUNT),
    spend_guards=(refuse_inactive_identity,),
    attribute_sources=(holds_attribute,),
    registrar_sources=(records.is_registrar,),
    genesis=IdentityGenesis,
    invariants=check_identities,
)
