"""The shortcuts of the hot path, each against the slow form it replaces.

The state transition cuts corners for speed where the result is provably the
same: a transaction's signed bytes are cut from its wire bytes instead of
being encoded again, reads through stacked overlays are one loop instead of
one call per layer, the decoder remembers small values it has decoded, and a
caller that verified signatures in bulk says so with a container that costs
O(1) per lookup. Each test states the equivalence and would catch a shortcut
that drifts from it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.crypto import DOMAIN_TX, SigningKey, signing_message, verify
from ledger.encoding import INT_MAX, INT_MIN, encode
from ledger.sigbatch import EitherVerified, verified_hashes
from ledger.state import DictState, Overlay
from ledger.tx import MAX_NONCE, decode_tx, sign_tx

KEY = SigningKey(bytes([0x51]) * 32)

scalars = st.one_of(
    st.integers(INT_MIN, INT_MAX), st.binary(max_size=80), st.text(max_size=40), st.booleans(), st.none()
)
bodies = st.lists(st.recursive(scalars, lambda c: st.lists(c, max_size=4), max_leaves=12), max_size=8)


# --- the signed bytes of a transaction ------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.text(min_size=1, max_size=40),
    st.text(max_size=300),
    st.integers(0, MAX_NONCE),
    st.integers(0, MAX_NONCE),
    bodies,
)
def test_signed_bytes_cut_from_the_wire_equal_the_unsigned_array_encoded_again(type_, chain_id, nonce, expiry, body):
    """FORMAT.md §6.1: the signature covers canonical(unsigned), whatever the fields' sizes."""
    tx = sign_tx(KEY, chain_id, type_, nonce, expiry, tuple(body))
    assert tx.unsigned_bytes() == encode(tx.unsigned())
    assert tx.signing_bytes() == signing_message(DOMAIN_TX, chain_id, encode(tx.unsigned()))
    assert tx.signature_ok()


def test_a_signature_over_other_bytes_fails_through_the_cut_as_well():
    tx = sign_tx(KEY, "c", "credits.transfer", 0, 9, ("eur", bytes(32), 1, ""))
    other = sign_tx(KEY, "c", "credits.transfer", 1, 9, ("eur", bytes(32), 1, ""))
    forged = decode_tx(tx.raw[:-64] + other.signature)  # tx's fields, other's signature
    assert not forged.signature_ok()
    assert verify(KEY.pubkey, forged.signing_bytes(), tx.signature)


# --- reads through stacked overlays ---------------------------------------------------------


def chained_get(layer: Overlay, key: bytes) -> bytes | None:
    """The definition: a layer's own write if it has one, else whatever the layer below says."""
    while isinstance(layer, Overlay):
        if key in layer.writes:
            return layer.writes[key]
        layer = layer.base
    return layer.get(key)


operations = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from([b"a", b"b", b"c", b"d"]), st.one_of(st.none(), st.binary(max_size=3))),
    max_size=30,
)


@given(operations)
def test_a_read_through_three_layers_is_what_the_chain_of_layers_says(ops):
    """Writes and deletes in any layer, in any order, also after the upper layers were made."""
    base = DictState({b"a": b"0", b"b": b"0"})
    block = Overlay(base)
    scratch = block.child()
    layers = [block, scratch, scratch.child()]
    for level, key, value in ops:
        if value is None:
            layers[level].delete(key)
        else:
            layers[level].put(key, value)
        for layer in layers:
            for k in (b"a", b"b", b"c", b"d"):
                assert layer.get(k) == chained_get(layer, k)


def test_a_merged_layer_shows_through_to_layers_made_before_the_merge():
    block = Overlay(DictState({b"k": b"old"}))
    reader = block.child()
    scratch = block.child()
    scratch.put(b"k", b"new")
    assert reader.get(b"k") == b"old"
    scratch.merge_into_parent()
    assert reader.get(b"k") == b"new" == block.get(b"k")


# --- signatures verified in bulk ---------------------------------------------------------------


def test_bulk_verification_finds_exactly_the_good_signatures_in_threads_or_not():
    good = [sign_tx(KEY, "c", "credits.transfer", n, 9, ("eur", bytes(32), 1, "")) for n in range(150)]
    forged = [decode_tx(tx.raw[:-1] + bytes([tx.raw[-1] ^ 1])) for tx in good[:20]]
    txs = forged[:10] + good + forged[10:]
    with ThreadPoolExecutor(2) as executor:
        threaded = verified_hashes(txs, executor, chunk=16)
    assert threaded == verified_hashes(txs) == {tx.hash for tx in good}


def test_either_verified_answers_for_both_containers_without_copying():
    first, second = {b"a"}, {b"b"}
    either = EitherVerified(first, second)
    second.add(b"c")
    assert b"a" in either and b"b" in either and b"c" in either and b"d" not in either
