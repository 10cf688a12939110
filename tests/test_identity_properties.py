"""Hypothesis properties of the identity registry (issue 4, "What must be shown").

After any sequence of blocks of identity transactions (register, add, remove,
rotate, recover start/cancel/complete, status, erase) from two registrars
over a few ids, tags and keys, with real signatures, executed by a proposer
and re-executed by a follower:
1. no account is bound to two identities: `identacct/` agrees with every
   identity's key list, both ways, and every key list is sorted, 1..8 keys;
2. the tags in `ident/` records are unique and `identtag/` indexes exactly them;
3. the follower reaches the same state and the state root is the definition's;
4. a key that was never bound signs nothing into a block (UNKNOWN_SIGNER,
   FORMAT.md §8.1); once bound it stays known.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from identity.records import get_identity, identity_of
from identity.taxcode import uniqueness_tag
from ledger.errors import Code
from tests.identity_chain import KEYS, REGISTRAR, REGISTRAR_2, Chain, bind_sig
from tests.test_identity import COMMITMENT, check_bindings

REGISTRARS = [REGISTRAR, REGISTRAR_2]
IDS = [bytes([i]) * 16 for i in range(3)]
TAGS = [uniqueness_tag(b"secret", code) for code in ("RSSMRA85T10A562S", "01114601006", "00743110157")]
POOL = KEYS[:5]
STATUSES = ["active", "suspended", "revoked", "closed"]

reg = st.integers(0, len(REGISTRARS) - 1)
ident = st.integers(0, len(IDS) - 1)
key = st.integers(0, len(POOL) - 1)
which = st.integers(0, 2 * len(POOL))  # an index for _pick
key_ops = [
    st.tuples(st.just("add_key"), which, ident, which),
    st.tuples(st.just("remove_key"), which, ident, which),
    st.tuples(st.just("rotate_key"), which, ident, which, which),
    st.tuples(st.just("recover_cancel"), which, ident),
    st.tuples(st.just("recover_start"), which, ident, which),
    st.tuples(st.just("recover_complete"), which, ident),
]
op = st.one_of(
    *key_ops,  # these twice as likely as the rest
    st.tuples(st.just("register"), reg, ident, st.integers(0, len(TAGS) - 1), st.sets(key, min_size=1, max_size=3)),
    st.tuples(st.just("add_key"), which, ident, which),
    st.tuples(st.just("remove_key"), which, ident, which),
    st.tuples(st.just("rotate_key"), which, ident, which, which),
    st.tuples(st.just("recover_start"), which, ident, which),
    st.tuples(st.just("recover_cancel"), which, ident),
    st.tuples(st.just("recover_complete"), which, ident),
    st.tuples(st.just("set_status"), which, ident, st.sampled_from(["active", "suspended", *STATUSES])),
    st.tuples(st.just("erase"), which, ident),
)
START = [("register", 0, 0, 0, {0}), ("register", 1, 1, 1, {1})]
"""Every run starts with two identities, at different registrars, so that most operations have a target."""
# each block: its transactions, then a few empty blocks (so that recoveries fall due)
blocks = st.lists(st.tuples(st.lists(op, max_size=6), st.integers(0, 4)), min_size=1, max_size=8)


BY_PUBKEY = {k.pubkey: k for k in POOL}
REGISTRAR_BY_PUBKEY = {r.pubkey: r for r in REGISTRARS}


def _pick(c: Chain, ident_id: bytes, index: int):
    """A key by index: one of the identity's current keys two times in three, else any key of the pool."""
    found = get_identity(c.state, ident_id)
    if found is not None and index % 3 != 0:
        return BY_PUBKEY[found.keys[index % len(found.keys)]]
    return POOL[index % len(POOL)]


def _pick_new(c: Chain, index: int):
    """A key by index: a key bound to no identity two times in three (if any), else any key of the pool."""
    free = [k for k in POOL if identity_of(c.state, k.pubkey) is None]
    if free and index % 3 != 0:
        return free[index % len(free)]
    return POOL[index % len(POOL)]


def to_tx(c: Chain, pending: dict, step: tuple):
    kind, who, i, *rest = step
    ident_id = IDS[i]
    if kind == "register":
        tag, keys = rest
        signer, body = REGISTRARS[who], (ident_id, "person", TAGS[tag], COMMITMENT, tuple(POOL[k].pubkey for k in sorted(keys)))
    elif kind in ("recover_start", "recover_complete", "set_status", "erase"):
        found = get_identity(c.state, ident_id)
        registrars = ([REGISTRAR_BY_PUBKEY[found.registrar]] if found else []) + REGISTRARS
        signer = registrars[who % len(registrars)]
        if kind == "recover_start":
            body = (ident_id, _pick_new(c, rest[0]).pubkey)
        elif kind == "set_status":
            body = (ident_id, rest[0])
        else:
            body = (ident_id,)
    else:
        signer = _pick(c, ident_id, who)
        if kind == "add_key":
            new = _pick_new(c, rest[0])
            body = (ident_id, new.pubkey, bind_sig(new, ident_id))
        elif kind == "remove_key":
            body = (ident_id, _pick(c, ident_id, rest[0]).pubkey)
        elif kind == "rotate_key":
            old, new = _pick(c, ident_id, rest[0]), _pick_new(c, rest[1])
            if new is old:  # a body with old == new is malformed: never in a block
                new = POOL[(POOL.index(old) + 1) % len(POOL)]
            body = (ident_id, old.pubkey, new.pubkey, bind_sig(new, ident_id))
        else:
            body = (ident_id,)
    nonce = c.nonce(signer) + pending.get(signer.pubkey, 0)
    pending[signer.pubkey] = pending.get(signer.pubkey, 0) + 1
    return c.tx(signer, f"identity.{kind}", body, nonce=nonce)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks)
def test_no_account_in_two_identities_and_no_tag_twice_after_any_sequence(plan):
    c = Chain()
    c.block([to_tx(c, {}, step) for step in START])
    assert c.last_outcome.state_changes, "both identities registered"
    ok = 0
    for steps, idle in plan:
        pending: dict[bytes, int] = {}
        block = c.block([to_tx(c, pending, step) for step in steps], strangers=True)
        ok += sum(1 for r in block.results if r == Code.OK)
        check_bindings(c)
        c.empty_blocks(idle)
    target(ok)  # steer the search toward sequences where many transactions succeed


def test_the_property_sees_successes_not_only_refusals():
    """A fixed sequence through the same helpers: registrations, key changes and a recovery succeed."""
    c = Chain()
    first = [("register", 0, 0, 0, {0, 1}), ("register", 1, 1, 0, {2}), ("register", 1, 1, 1, {2})]
    pending: dict[bytes, int] = {}
    block = c.block([to_tx(c, pending, step) for step in first])
    assert list(block.results) == [Code.OK, Code.IDENTITY_DUPLICATE, Code.OK]
    then = [("add_key", 1, 0, 1), ("rotate_key", 1, 1, 1, 2)]  # POOL[3] and POOL[4] are free
    block = c.block([to_tx(c, {}, step) for step in then])
    assert list(block.results) == [Code.OK, Code.OK]
    assert get_identity(c.state, IDS[0]).keys == tuple(sorted(k.pubkey for k in (POOL[0], POOL[1], POOL[4])))
    assert get_identity(c.state, IDS[1]).keys == (POOL[3].pubkey,)
    block = c.block([to_tx(c, {}, ("recover_start", 0, 0, 1))])  # the only free key: POOL[2], rotated out
    assert list(block.results) == [Code.OK]
    assert get_identity(c.state, IDS[0]).recovery[0] == POOL[2].pubkey
    check_bindings(c)
