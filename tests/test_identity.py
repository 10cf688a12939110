"""The identity registry on chain (FORMAT.md §6.4, §9), through build_block and apply_block.

With real signatures, on a chain with two registrars and two attesters:
1. A registrar registers an identity: the record, its tag and its keys'
   bindings are written together; the same tag at the other registrar is
   IDENTITY_DUPLICATE, and so is the tag of another (omocodic) spelling of
   the same codice fiscale; a non-registrar, a used id and a bound key are
   refused.
2. Keys: a current key adds (with the new key's binding signature), removes
   (never the last) and rotates keys; each refusal has its own code.
3. Recovery: the registrar's recovery completes only from its due height,
   replaces the whole key set and frees the old keys; a live key cancels it
   within the delay; a suspended identity's key cannot.
4. Status: a suspended identity's account cannot transfer credits but can
   receive them; revoked and closed are final.
5. Erasure clears the tag and the commitment and frees the tag for a new
   registration.
6. Attestations: only within the attester's rule, only for active
   identities, overwritten only by their attester; expiry makes
   `has_attribute` false.
7. Malformed bodies are MALFORMED at admission and never reach a block.
"""

from __future__ import annotations

import json

import pytest

from genesis.document import GenesisError, parse_genesis
from genesis.rules import RULES
from identity import records
from identity.binding import binding_message
from identity.records import (
    Attestation,
    Identity,
    get_attestation,
    get_identity,
    has_attribute,
    identity_of,
)
from identity.taxcode import uniqueness_tag
from ledger import chain, credits
from ledger.crypto import DOMAIN_BIND, DOMAIN_TX, SigningKey, signing_message
from ledger.encoding import decode, encode
from ledger.errors import Code, TxError
from ledger.transition import check_envelope
from tests.identity_chain import (
    ATTESTER,
    ATTESTER_2,
    CHAIN_ID,
    CLASS,
    ISSUER,
    KEYS,
    RECOVERY_DELAY,
    REGISTRAR,
    REGISTRAR_2,
    Chain,
    bind_sig,
    genesis_document,
)

SECRET = b"registrars' shared secret, test only"
CF = "RSSMRA85T10A562S"
TAG = uniqueness_tag(SECRET, CF)
TAG_2 = uniqueness_tag(SECRET, "01114601006")  # a partita IVA: a cooperative's
COMMITMENT = bytes([0xC0]) * 32
ID = bytes(range(16))
ID_2 = bytes(range(16, 32))
ID_3 = bytes(range(32, 48))
A, B, C, D, E, F = KEYS[:6]


def register(c: Chain, ident_id=ID, keys=(A,), tag=TAG, registrar=REGISTRAR, kind="person") -> int:
    return c.send(registrar, "identity.register", (ident_id, kind, tag, COMMITMENT, tuple(k.pubkey for k in keys)))


def ident(c: Chain, ident_id=ID) -> Identity:
    found = get_identity(c.state, ident_id)
    assert found is not None
    return found


def check_bindings(c: Chain) -> None:
    """identacct/ agrees with every identity's key list, and identtag/ with every tag."""
    bound, listed, tags, tag_index = {}, {}, {}, {}
    for key, raw in c.state.items.items():
        if key.startswith(records.PREFIX_ACCOUNT):
            bound[key[len(records.PREFIX_ACCOUNT):]] = decode(raw)
        elif key.startswith(records.PREFIX_IDENTITY):
            found = records.decode_identity(raw)
            assert list(found.keys) == sorted(found.keys) and 1 <= len(found.keys) <= records.MAX_KEYS
            for k in found.keys:
                assert k not in listed, "an account in two identities"
                listed[k] = key[len(records.PREFIX_IDENTITY):]
            if found.tag is not None:
                assert found.tag not in tags, "a tag in two identities"
                tags[found.tag] = key[len(records.PREFIX_IDENTITY):]
        elif key.startswith(records.PREFIX_TAG):
            tag_index[key[len(records.PREFIX_TAG):]] = decode(raw)
    assert bound == listed
    assert tag_index == tags
    c.check_root()


@pytest.fixture
def c() -> Chain:
    chain_ = Chain()
    assert register(chain_, keys=(A, B)) == Code.OK
    return chain_


# --- 1. registration ------------------------------------------------------------------------


def test_register_writes_the_record_its_tag_and_its_key_bindings_together():
    c = Chain()
    assert register(c, keys=(B, A), kind="cooperative") == Code.OK
    keys = tuple(sorted((A.pubkey, B.pubkey)))
    assert ident(c) == Identity("cooperative", "active", REGISTRAR.pubkey, COMMITMENT, TAG, keys, 1, None)
    assert c.state.items[b"ident/" + ID] == encode(("cooperative", "active", REGISTRAR.pubkey, COMMITMENT, TAG, keys, 1, None))
    assert c.state.items[b"identtag/" + TAG] == encode(ID)
    assert identity_of(c.state, A.pubkey) == ID and identity_of(c.state, B.pubkey) == ID
    assert c.state.items[b"identacct/" + A.pubkey] == encode(ID)
    assert identity_of(c.state, C.pubkey) is None
    assert c.last_outcome.parties == (keys,), "the bound accounts' histories show the registration"
    check_bindings(c)


def test_the_same_tax_code_is_refused_at_another_registrar(c):
    assert register(c, ID_2, keys=(C,), registrar=REGISTRAR_2) == Code.IDENTITY_DUPLICATE
    assert register(c, ID_2, keys=(C,), tag=uniqueness_tag(SECRET, " rssmra85t10a562s ")) == Code.IDENTITY_DUPLICATE
    for spelling in ("RSSMRA85T10A56NH", "RSSMRAURTMLARSNL"):  # omocodia letters for the last digit, for all seven
        assert register(c, ID_2, keys=(C,), tag=uniqueness_tag(SECRET, spelling)) == Code.IDENTITY_DUPLICATE
    assert get_identity(c.state, ID_2) is None and identity_of(c.state, C.pubkey) is None
    assert register(c, ID_2, keys=(C,), tag=TAG_2, registrar=REGISTRAR_2, kind="cooperative") == Code.OK
    assert ident(c, ID_2).registrar == REGISTRAR_2.pubkey
    check_bindings(c)


@pytest.mark.parametrize("case, expected", [
    ("not a registrar", Code.NOT_REGISTRAR),
    ("id in use", Code.IDENTITY_EXISTS),
    ("key bound", Code.KEY_BOUND),
])
def test_register_refusals(c, case, expected):
    before = dict(c.state.items)
    if case == "not a registrar":
        result = register(c, ID_2, keys=(C,), tag=TAG_2, registrar=ATTESTER)
    elif case == "id in use":
        result = register(c, ID, keys=(C,), tag=TAG_2)
    else:
        result = register(c, ID_2, keys=(C, B), tag=TAG_2)
    assert result == expected
    changed = {k for k in set(before) | set(c.state.items) if before.get(k) != c.state.items.get(k)}
    assert all(k.startswith(b"acct/") for k in changed), "a refused transaction writes only its nonce"


# --- 7. malformed bodies ------------------------------------------------------------------------


SIG = bytes(64)
MALFORMED = {
    "identity.register": [
        (ID, "person", TAG, COMMITMENT),  # a field missing
        (ID[:15], "person", TAG, COMMITMENT, (A.pubkey,)),
        (ID, "robot", TAG, COMMITMENT, (A.pubkey,)),
        (ID, "person", TAG[:31], COMMITMENT, (A.pubkey,)),
        (ID, "person", None, COMMITMENT, (A.pubkey,)),
        (ID, "person", TAG, COMMITMENT, ()),
        (ID, "person", TAG, COMMITMENT, (A.pubkey, A.pubkey)),
        (ID, "person", TAG, COMMITMENT, tuple(k.pubkey for k in KEYS[:9])),
        (ID, "person", TAG, COMMITMENT, A.pubkey),
    ],
    "identity.add_key": [(ID, A.pubkey), (ID, A.pubkey[:31], SIG), (ID, A.pubkey, SIG[:63])],
    "identity.remove_key": [(ID,), ("id", A.pubkey)],
    "identity.rotate_key": [(ID, A.pubkey, A.pubkey, SIG), (ID, A.pubkey, B.pubkey)],
    "identity.recover_start": [(ID, b"")],
    "identity.recover_cancel": [(), (ID, ID)],
    "identity.recover_complete": [(ID + b"x",)],
    "identity.set_status": [(ID, "deceased"), (ID, 1)],
    "identity.erase": [(None,)],
    "attest.issue": [
        (ID, "member", 0), (ID, "Member:coop-a", 0), (ID, "member:coop a", 0),
        (ID, "member:" + "x" * 60, 0), (ID, "member:coop-a", -1), (ID, "member:coop-a", True),
    ],
    "attest.revoke": [(ID, "member:"), (ID,)],
}


@pytest.mark.parametrize("type_, body", [(t, b) for t, bodies in MALFORMED.items() for b in bodies])
def test_a_malformed_body_is_refused_at_admission(type_, body):
    c = Chain()
    tx = c.tx(A, type_, body)
    with pytest.raises(TxError) as exc:
        check_envelope(RULES, c.state, tx, CHAIN_ID, 1)
    assert exc.value.code == Code.MALFORMED


# --- 2. keys ---------------------------------------------------------------------------------


def test_a_current_key_adds_a_key_that_signed_its_binding(c):
    assert c.send(A, "identity.add_key", (ID, C.pubkey, bind_sig(C, ID))) == Code.OK
    assert ident(c).keys == tuple(sorted((A.pubkey, B.pubkey, C.pubkey)))
    assert identity_of(c.state, C.pubkey) == ID
    assert c.last_outcome.parties == ((C.pubkey,),)
    check_bindings(c)


def test_the_binding_signature_is_over_the_bind_domain_chain_and_identity():
    message = binding_message(CHAIN_ID, ID, C.pubkey)
    assert message == signing_message(DOMAIN_BIND, CHAIN_ID, encode(("bind", ID, C.pubkey)))
    assert DOMAIN_BIND == "incoop/bind/v1"
    assert C.sign(message) == bind_sig(C, ID)


@pytest.mark.parametrize("name, signature", [
    ("signed by another key", lambda: bind_sig(D, ID)),
    ("for another identity", lambda: bind_sig(C, ID_2)),
    ("for another chain", lambda: C.sign(signing_message(DOMAIN_BIND, "other-chain", encode(("bind", ID, C.pubkey))))),
    ("under the tx domain", lambda: C.sign(signing_message(DOMAIN_TX, CHAIN_ID, encode(("bind", ID, C.pubkey))))),
])
def test_add_key_without_the_new_keys_consent_is_bad_binding(c, name, signature):
    assert c.send(A, "identity.add_key", (ID, C.pubkey, signature())) == Code.BAD_BINDING
    assert identity_of(c.state, C.pubkey) is None


def test_add_key_refusals(c):
    assert c.send(A, "identity.add_key", (ID_2, C.pubkey, bind_sig(C, ID_2))) == Code.UNKNOWN_IDENTITY
    assert c.send(C, "identity.add_key", (ID, C.pubkey, bind_sig(C, ID))) == Code.NOT_IDENTITY_KEY
    assert c.send(REGISTRAR, "identity.add_key", (ID, C.pubkey, bind_sig(C, ID))) == Code.NOT_IDENTITY_KEY
    assert c.send(A, "identity.add_key", (ID, B.pubkey, bind_sig(B, ID))) == Code.KEY_BOUND
    assert register(c, ID_2, keys=(D,), tag=TAG_2) == Code.OK
    assert c.send(A, "identity.add_key", (ID, D.pubkey, bind_sig(D, ID))) == Code.KEY_BOUND
    check_bindings(c)


def test_an_identity_has_at_most_eight_keys():
    c = Chain()
    assert register(c, keys=KEYS[:8]) == Code.OK
    assert c.send(A, "identity.add_key", (ID, KEYS[8].pubkey, bind_sig(KEYS[8], ID))) == Code.TOO_MANY_KEYS
    assert c.send(A, "identity.remove_key", (ID, KEYS[7].pubkey)) == Code.OK
    assert c.send(A, "identity.add_key", (ID, KEYS[8].pubkey, bind_sig(KEYS[8], ID))) == Code.OK
    assert len(ident(c).keys) == 8
    check_bindings(c)


def test_remove_key_frees_the_account_but_never_the_last_key(c):
    assert c.send(B, "identity.remove_key", (ID, C.pubkey)) == Code.KEY_NOT_FOUND
    assert c.send(B, "identity.remove_key", (ID, B.pubkey)) == Code.OK  # a key may remove itself
    assert ident(c).keys == (A.pubkey,) and identity_of(c.state, B.pubkey) is None
    assert b"identacct/" + B.pubkey not in c.state.items
    assert c.send(B, "identity.remove_key", (ID, A.pubkey)) == Code.NOT_IDENTITY_KEY
    assert c.send(A, "identity.remove_key", (ID, A.pubkey)) == Code.LAST_KEY
    check_bindings(c)
    assert register(c, ID_2, keys=(B,), tag=TAG_2) == Code.OK, "a freed account may join another identity"


def test_rotate_key_replaces_one_key_with_its_consent(c):
    assert c.send(A, "identity.rotate_key", (ID, C.pubkey, D.pubkey, bind_sig(D, ID))) == Code.KEY_NOT_FOUND
    assert c.send(A, "identity.rotate_key", (ID, A.pubkey, B.pubkey, bind_sig(B, ID))) == Code.KEY_BOUND
    assert c.send(A, "identity.rotate_key", (ID, A.pubkey, D.pubkey, bind_sig(C, ID))) == Code.BAD_BINDING
    assert c.send(A, "identity.rotate_key", (ID, A.pubkey, D.pubkey, bind_sig(D, ID))) == Code.OK
    assert ident(c).keys == tuple(sorted((B.pubkey, D.pubkey)))
    assert identity_of(c.state, A.pubkey) is None and identity_of(c.state, D.pubkey) == ID
    assert c.last_outcome.parties == ((A.pubkey, D.pubkey),)
    assert c.send(A, "identity.rotate_key", (ID, B.pubkey, E.pubkey, bind_sig(E, ID))) == Code.NOT_IDENTITY_KEY
    check_bindings(c)


# --- 3. recovery ------------------------------------------------------------------------------


def test_recovery_completes_from_its_due_height_and_replaces_every_key(c):
    assert c.send(REGISTRAR, "identity.recover_start", (ID, E.pubkey)) == Code.OK
    start = c.height
    assert ident(c).recovery == (E.pubkey, start + RECOVERY_DELAY)
    assert c.last_outcome.parties == ((E.pubkey,),)
    assert identity_of(c.state, E.pubkey) is None, "not bound before completion"
    assert c.send(REGISTRAR, "identity.recover_start", (ID, F.pubkey)) == Code.RECOVERY_PENDING
    assert c.send(REGISTRAR, "identity.recover_complete", (ID,)) == Code.RECOVERY_NOT_DUE  # start + 2
    c.empty_blocks(start + RECOVERY_DELAY - c.height - 1)
    assert c.height + 1 == start + RECOVERY_DELAY
    assert c.send(REGISTRAR_2, "identity.recover_complete", (ID,)) == Code.NOT_IDENTITY_REGISTRAR
    assert c.height == start + RECOVERY_DELAY and ident(c).recovery is not None
    assert c.send(REGISTRAR, "identity.recover_complete", (ID,)) == Code.OK
    assert ident(c).keys == (E.pubkey,) and ident(c).recovery is None
    assert identity_of(c.state, A.pubkey) is None and identity_of(c.state, B.pubkey) is None
    assert identity_of(c.state, E.pubkey) == ID
    assert c.send(REGISTRAR, "identity.recover_complete", (ID,)) == Code.NO_RECOVERY
    check_bindings(c)


def test_recovery_not_due_one_block_before_the_delay():
    c = Chain()
    assert register(c, keys=(A,)) == Code.OK
    assert c.send(REGISTRAR, "identity.recover_start", (ID, E.pubkey)) == Code.OK
    due = ident(c).recovery[1]
    c.empty_blocks(due - 1 - c.height - 1)
    assert c.height + 1 == due - 1
    assert c.send(REGISTRAR, "identity.recover_complete", (ID,)) == Code.RECOVERY_NOT_DUE
    assert c.height + 1 == due
    assert c.send(REGISTRAR, "identity.recover_complete", (ID,)) == Code.OK


def test_a_live_key_cancels_a_recovery_within_the_delay(c):
    assert c.send(A, "identity.recover_cancel", (ID,)) == Code.NO_RECOVERY
    assert c.send(REGISTRAR, "identity.recover_start", (ID, E.pubkey)) == Code.OK
    assert c.send(C, "identity.recover_cancel", (ID,)) == Code.NOT_IDENTITY_KEY
    assert c.send(B, "identity.recover_cancel", (ID,)) == Code.OK
    assert ident(c).recovery is None
    c.empty_blocks(RECOVERY_DELAY)
    assert c.send(REGISTRAR, "identity.recover_complete", (ID,)) == Code.NO_RECOVERY
    assert ident(c).keys == tuple(sorted((A.pubkey, B.pubkey)))
    check_bindings(c)


def test_a_suspended_identitys_key_cannot_cancel_so_a_stolen_key_cannot_block_recovery(c):
    assert c.send(REGISTRAR, "identity.set_status", (ID, "suspended")) == Code.OK
    assert c.send(REGISTRAR, "identity.recover_start", (ID, E.pubkey)) == Code.OK
    assert c.send(A, "identity.recover_cancel", (ID,)) == Code.IDENTITY_NOT_ACTIVE
    c.empty_blocks(RECOVERY_DELAY)
    assert c.send(REGISTRAR, "identity.recover_complete", (ID,)) == Code.OK
    assert ident(c).keys == (E.pubkey,) and ident(c).status == "suspended"
    assert c.send(REGISTRAR, "identity.set_status", (ID, "active")) == Code.OK
    check_bindings(c)


def test_recovery_refusals(c):
    assert c.send(ATTESTER, "identity.recover_start", (ID, E.pubkey)) == Code.NOT_REGISTRAR
    assert c.send(REGISTRAR, "identity.recover_start", (ID_2, E.pubkey)) == Code.UNKNOWN_IDENTITY
    assert c.send(REGISTRAR_2, "identity.recover_start", (ID, E.pubkey)) == Code.NOT_IDENTITY_REGISTRAR
    assert c.send(REGISTRAR, "identity.recover_start", (ID, A.pubkey)) == Code.KEY_BOUND
    # the new key is bound elsewhere during the delay: completion refuses
    assert c.send(REGISTRAR, "identity.recover_start", (ID, E.pubkey)) == Code.OK
    assert register(c, ID_2, keys=(E,), tag=TAG_2) == Code.OK
    c.empty_blocks(RECOVERY_DELAY)
    assert c.send(REGISTRAR, "identity.recover_complete", (ID,)) == Code.KEY_BOUND
    assert ident(c).keys == tuple(sorted((A.pubkey, B.pubkey)))
    check_bindings(c)


# --- 4. status ----------------------------------------------------------------------------------


def test_a_suspended_identity_can_receive_but_not_spend(c):
    """A and B hold 1000 eur from genesis; C and D are bound to no identity."""
    assert c.send(A, "credits.transfer", (CLASS, C.pubkey, 10, "")) == Code.OK
    assert c.send(REGISTRAR, "identity.set_status", (ID, "suspended")) == Code.OK
    assert ident(c).status == "suspended"
    assert c.send(A, "credits.transfer", (CLASS, C.pubkey, 10, "")) == Code.IDENTITY_NOT_ACTIVE
    assert c.send(B, "credits.transfer", (CLASS, C.pubkey, 10, "")) == Code.IDENTITY_NOT_ACTIVE
    assert c.send(C, "credits.transfer", (CLASS, A.pubkey, 5, "")) == Code.OK  # it receives
    assert c.send(D, "credits.transfer", (CLASS, C.pubkey, 5, "")) == Code.OK  # unbound accounts unaffected
    assert credits.get_balance(c.state, A.pubkey, CLASS) == 995
    assert c.send(A, "identity.add_key", (ID, E.pubkey, bind_sig(E, ID))) == Code.IDENTITY_NOT_ACTIVE
    assert c.send(REGISTRAR, "identity.set_status", (ID, "active")) == Code.OK
    assert c.send(A, "credits.transfer", (CLASS, C.pubkey, 10, "")) == Code.OK
    assert credits.get_balance(c.state, A.pubkey, CLASS) == 985


@pytest.mark.parametrize("final", ["revoked", "closed"])
def test_revoked_and_closed_are_final(c, final):
    assert c.send(REGISTRAR, "identity.recover_start", (ID, E.pubkey)) == Code.OK
    assert c.send(REGISTRAR_2, "identity.set_status", (ID, final)) == Code.NOT_IDENTITY_REGISTRAR
    assert c.send(ISSUER, "identity.set_status", (ID, final)) == Code.NOT_REGISTRAR
    assert c.send(REGISTRAR, "identity.set_status", (ID, final)) == Code.OK
    assert ident(c).status == final and ident(c).recovery is None, "a final status drops a pending recovery"
    for status in ("active", "suspended", "revoked", "closed"):
        assert c.send(REGISTRAR, "identity.set_status", (ID, status)) == Code.IDENTITY_FINAL
    assert c.send(REGISTRAR, "identity.recover_start", (ID, E.pubkey)) == Code.IDENTITY_FINAL
    assert c.send(A, "credits.transfer", (CLASS, C.pubkey, 1, "")) == Code.IDENTITY_NOT_ACTIVE
    assert c.send(A, "identity.remove_key", (ID, B.pubkey)) == Code.IDENTITY_NOT_ACTIVE
    assert register(c, ID_2, keys=(A,), tag=TAG_2) == Code.KEY_BOUND, "its keys stay bound"


# --- 5. erasure ----------------------------------------------------------------------------------


def test_erase_clears_tag_and_commitment_and_frees_the_tag(c):
    assert c.send(REGISTRAR_2, "identity.erase", (ID,)) == Code.NOT_IDENTITY_REGISTRAR
    assert c.send(REGISTRAR, "identity.erase", (ID,)) == Code.OK
    erased = ident(c)
    assert erased.tag is None and erased.commitment is None and erased.status == "closed"
    assert b"identtag/" + TAG not in c.state.items
    assert not any(TAG in v or COMMITMENT in v for v in c.state.items.values()), "nothing on chain holds them"
    assert c.send(REGISTRAR, "identity.erase", (ID,)) == Code.ALREADY_ERASED
    assert register(c, ID_2, keys=(C,), tag=TAG, registrar=REGISTRAR_2) == Code.OK
    assert ident(c, ID_2).tag == TAG
    check_bindings(c)


def test_erasing_a_revoked_identity_keeps_it_revoked(c):
    assert c.send(REGISTRAR, "identity.set_status", (ID, "revoked")) == Code.OK
    assert c.send(REGISTRAR, "identity.erase", (ID,)) == Code.OK
    assert ident(c).status == "revoked" and ident(c).tag is None


# --- 6. attestations ------------------------------------------------------------------------------


def test_an_attester_attests_within_its_rule(c):
    assert c.send(ATTESTER, "attest.issue", (ID, "member:coop-a", 0)) == Code.OK
    assert get_attestation(c.state, ID, "member:coop-a") == Attestation(ATTESTER.pubkey, c.height, 0)
    assert c.state.items[b"attest/" + ID + b"member:coop-a"] == encode((ATTESTER.pubkey, c.height, 0))
    assert has_attribute(c.state, ID, "member:coop-a", 10**9)
    assert has_attribute(c.state, A.pubkey, "member:coop-a", 10**9), "by one of its accounts"
    assert not has_attribute(c.state, C.pubkey, "member:coop-a", 10**9)
    assert not has_attribute(c.state, ID, "member:coop-b", 10**9)
    assert c.send(ATTESTER, "attest.issue", (ID, "resident:trento", 0)) == Code.OK  # the prefix rule


@pytest.mark.parametrize("signer, attribute", [
    (ATTESTER, "member:coop-b"),  # another cooperative's members
    (ATTESTER, "member:coop-aa"),  # an exact pattern is not a prefix
    (ATTESTER, "employee:coop-a"),
    (ATTESTER_2, "member:coop-a"),
    (REGISTRAR, "resident:trento"),  # a registrar is not an attester unless genesis says so
    (A, "member:coop-a"),
])
def test_an_attester_outside_its_rule_is_refused(c, signer, attribute):
    assert c.send(signer, "attest.issue", (ID, attribute, 0)) == Code.ATTESTER_NOT_ALLOWED
    assert get_attestation(c.state, ID, attribute) is None


def test_an_expired_attestation_no_longer_counts(c):
    assert c.send(ATTESTER, "attest.issue", (ID, "member:coop-a", c.height + 1)) == Code.EXPIRY_NOT_AFTER_HEIGHT
    expiry = c.height + 3
    assert c.send(ATTESTER, "attest.issue", (ID, "member:coop-a", expiry)) == Code.OK
    assert has_attribute(c.state, A.pubkey, "member:coop-a", expiry)
    assert not has_attribute(c.state, A.pubkey, "member:coop-a", expiry + 1)
    assert not has_attribute(c.state, ID, "member:coop-a", expiry + 1)


def test_attestation_refusals_and_overwrites(c):
    assert c.send(ATTESTER, "attest.issue", (ID_2, "member:coop-a", 0)) == Code.UNKNOWN_IDENTITY
    assert c.send(ATTESTER_2, "attest.issue", (ID, "resident:trento", 0)) == Code.OK
    assert c.send(ATTESTER, "attest.issue", (ID, "resident:trento", 0)) == Code.NOT_ATTESTATION_ISSUER
    assert c.send(ATTESTER_2, "attest.issue", (ID, "resident:trento", 100)) == Code.OK  # its own: overwritten
    assert get_attestation(c.state, ID, "resident:trento").expiry_height == 100
    assert c.send(ATTESTER, "attest.revoke", (ID, "resident:trento")) == Code.NOT_ATTESTATION_ISSUER
    assert c.send(ATTESTER_2, "attest.revoke", (ID, "resident:trento")) == Code.OK
    assert get_attestation(c.state, ID, "resident:trento") is None
    assert c.send(ATTESTER_2, "attest.revoke", (ID, "resident:trento")) == Code.ATTESTATION_NOT_FOUND
    assert c.send(REGISTRAR, "identity.set_status", (ID, "suspended")) == Code.OK
    assert c.send(ATTESTER, "attest.issue", (ID, "member:coop-a", 0)) == Code.IDENTITY_NOT_ACTIVE


def test_an_expired_attestation_may_be_replaced_by_another_permitted_attester(c):
    expiry = c.height + 2
    assert c.send(ATTESTER_2, "attest.issue", (ID, "resident:trento", expiry)) == Code.OK
    assert c.height + 1 == expiry  # it still holds at its expiry height
    assert c.send(ATTESTER, "attest.issue", (ID, "resident:trento", 0)) == Code.NOT_ATTESTATION_ISSUER
    assert c.send(ATTESTER, "attest.issue", (ID, "resident:trento", 0)) == Code.OK  # after its expiry height
    assert get_attestation(c.state, ID, "resident:trento").attester == ATTESTER.pubkey


# --- genesis and parameters -------------------------------------------------------------------------


def test_genesis_writes_attesters_and_the_recovery_delay():
    c = Chain()
    assert records.get_attester(c.state, ATTESTER.pubkey) == records.Attester("Coop A", ("member:coop-a", "resident:*"))
    assert c.state.items[b"attester/" + ATTESTER.pubkey] == encode(("Coop A", ("member:coop-a", "resident:*")))
    assert chain.get_params(c.state).recovery_delay_blocks == RECOVERY_DELAY
    assert records.is_registrar(c.state, REGISTRAR.pubkey) and not records.is_registrar(c.state, ATTESTER.pubkey)
    assert chain.ChainParams().recovery_delay_blocks == 100


@pytest.mark.parametrize("attributes", [[], ["member"], ["*"], ["member*"], ["Member:x"], ["member:x", "member:x"]])
def test_genesis_refuses_a_bad_attester_rule(attributes):
    doc = genesis_document()
    doc["identity"]["attesters"][0]["attributes"] = attributes
    with pytest.raises(GenesisError):
        parse_genesis(json.dumps(doc))


def test_genesis_refuses_a_zero_recovery_delay_and_a_repeated_attester():
    doc = genesis_document()
    doc["params"]["recovery_delay_blocks"] = 0
    with pytest.raises(GenesisError, match="recovery_delay_blocks"):
        parse_genesis(json.dumps(doc))
    doc = genesis_document()
    doc["identity"]["attesters"].append(dict(doc["identity"]["attesters"][0]))
    with pytest.raises(GenesisError, match="attester"):
        parse_genesis(json.dumps(doc))


def test_pattern_rules():
    assert records.pattern_covers("resident:*", "resident:trento")
    assert records.pattern_covers("member:coop-*", "member:coop-x")
    assert not records.pattern_covers("member:coop-a", "member:coop-ab")
    assert records.is_attribute("age:65+") and not records.is_attribute("age:")
    assert not records.is_attribute("x:" + "y" * 63)


def test_has_attribute_is_false_for_unknown_accounts_and_bad_attributes(c):
    assert not has_attribute(c.state, SigningKey(bytes([0x99]) * 32).pubkey, "member:coop-a", 1)
    assert not has_attribute(c.state, ID, "not an attribute", 1)
