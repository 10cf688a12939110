"""Canonical encoding (FORMAT.md §2): one value, exactly one byte string.

Two nodes can only agree on a hash if they agree on the bytes, so the decoder
must accept the canonical encoding of every allowed value and nothing else:
no wider integer or string header, no maps, floats or extensions, no
trailing or missing bytes, nothing oversize or nested too deep. And whatever
bytes arrive from the network, decoding fails only with EncodingError.
"""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor
from enum import IntEnum
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import encoding
from ledger.encoding import INT_MAX, INT_MIN, MAX_DECODE_BYTES, EncodingError, decode, encode

scalars = st.one_of(
    st.integers(INT_MIN, INT_MAX),
    st.binary(max_size=300),
    st.text(max_size=300),
    st.booleans(),
    st.none(),
)
values = st.recursive(scalars, lambda children: st.lists(children, max_size=20), max_leaves=40)


def as_decoded(value):
    """Decoded arrays are tuples."""
    if isinstance(value, list | tuple):
        return tuple(as_decoded(v) for v in value)
    return value


def rejected(data: bytes, **kwargs) -> bool:
    try:
        decode(data, **kwargs)
    except EncodingError:
        return True
    return False


# --- the one encoding -----------------------------------------------------------------


@given(values)
def test_every_allowed_value_round_trips(value):
    data = encode(value)
    assert decode(data) == as_decoded(value)
    assert encode(decode(data)) == data


@given(values)
def test_tuples_and_lists_encode_alike(value):
    assert encode(as_decoded(value)) == encode(value)


CANONICAL_FORMS = [
    (None, "c0"), (False, "c2"), (True, "c3"),
    (0, "00"), (127, "7f"), (128, "cc80"), (255, "ccff"), (256, "cd0100"), (65535, "cdffff"),
    (65536, "ce00010000"), (2**32 - 1, "ceffffffff"), (2**32, "cf0000000100000000"),
    (2**64 - 1, "cfffffffffffffffff"),
    (-1, "ff"), (-32, "e0"), (-33, "d0df"), (-128, "d080"), (-129, "d1ff7f"), (-32768, "d18000"),
    (-32769, "d2ffff7fff"), (-(2**31), "d280000000"), (-(2**31) - 1, "d3ffffffff7fffffff"),
    (-(2**63), "d38000000000000000"),
    ("", "a0"), ("a" * 31, "bf" + "61" * 31), ("a" * 32, "d920" + "61" * 32),
    ("a" * 255, "d9ff" + "61" * 255), ("a" * 256, "da0100" + "61" * 256), ("é", "a2c3a9"),
    (b"", "c400"), (b"\x01", "c40101"), (b"\x00" * 256, "c50100" + "00" * 256),
    ([], "90"), ([0] * 15, "9f" + "00" * 15), ([0] * 16, "dc0010" + "00" * 16),
]


@pytest.mark.parametrize(("value", "hex_"), CANONICAL_FORMS, ids=[h[:12] for _, h in CANONICAL_FORMS])
def test_each_value_has_the_smallest_form_of_format_md_table(value, hex_):
    assert encode(value).hex() == hex_
    assert decode(bytes.fromhex(hex_)) == as_decoded(value)


# --- non-canonical input is rejected -------------------------------------------------


def wider_int_forms(v: int) -> list[bytes]:
    """Every MessagePack integer encoding of v other than the smallest one."""
    forms = []
    for tag, fmt, lo, hi in (
        (0xCC, ">B", 0, 2**8 - 1), (0xCD, ">H", 0, 2**16 - 1), (0xCE, ">I", 0, 2**32 - 1),
        (0xCF, ">Q", 0, 2**64 - 1), (0xD0, ">b", -(2**7), 2**7 - 1), (0xD1, ">h", -(2**15), 2**15 - 1),
        (0xD2, ">i", -(2**31), 2**31 - 1), (0xD3, ">q", -(2**63), 2**63 - 1),
    ):
        if lo <= v <= hi:
            forms.append(bytes([tag]) + struct.pack(fmt, v))
    if -32 <= v <= 127:
        forms.append(struct.pack(">b", v))
    return [f for f in forms if f != encode(v)]


@given(st.integers(INT_MIN, INT_MAX))
def test_an_integer_in_any_wider_form_is_rejected(v):
    for form in wider_int_forms(v):
        assert rejected(form), form.hex()


@given(st.text(max_size=100))
def test_a_string_in_a_wider_header_than_needed_is_rejected(s):
    raw = s.encode("utf-8")
    n = len(raw)
    wider = [b"\xd9" + bytes([n]) + raw, b"\xda" + struct.pack(">H", n) + raw, b"\xdb" + struct.pack(">I", n) + raw]
    for form in wider:
        if form != encode(s):
            assert rejected(form), form.hex()


@given(st.binary(max_size=100))
def test_bytes_in_a_wider_header_than_needed_are_rejected(b):
    for form in (b"\xc5" + struct.pack(">H", len(b)) + b, b"\xc6" + struct.pack(">I", len(b)) + b):
        assert rejected(form)


@given(st.lists(st.integers(0, 127), max_size=15))
def test_an_array_in_a_wider_header_than_needed_is_rejected(items):
    body = bytes(items)
    for form in (b"\xdc" + struct.pack(">H", len(items)) + body, b"\xdd" + struct.pack(">I", len(items)) + body):
        assert rejected(form)


@pytest.mark.parametrize(
    "hex_",
    [
        "80", "81a161a162", "de0000", "df00000000",  # maps, empty or not
        "ca3f800000", "cb3ff0000000000000",  # float 32 / float 64 (1.0)
        "d40100", "d5010000", "d6ff00000000", "d701" + "00" * 8, "d801" + "00" * 16,  # fixext, timestamp
        "c70101" + "00", "c8000101" + "00", "c900000001" + "01" + "00",  # ext 8/16/32
        "c1",  # never used
        "91" + "80",  # a map inside an array
        "92" + "01" + "cb3ff0000000000000", "91" + "91" + "ca3f800000",  # floats inside arrays
        "92" + "c0" + "d6ff00000000",  # a timestamp inside an array
    ],
)
def test_maps_floats_extensions_and_0xc1_are_rejected(hex_):
    assert rejected(bytes.fromhex(hex_))


@pytest.mark.parametrize("hex_", ["a1ff", "a2c080", "a3eda080", "a4f4908080"])
def test_strings_that_are_not_valid_utf8_are_rejected(hex_):
    """Invalid byte, overlong NUL, an encoded surrogate, a code point above U+10FFFF."""
    assert rejected(bytes.fromhex(hex_))


@given(values, st.binary(min_size=1, max_size=10))
def test_trailing_bytes_are_rejected(value, extra):
    assert rejected(encode(value) + extra)


@given(values, st.data())
def test_truncated_input_is_rejected(value, data):
    raw = encode(value)
    cut = data.draw(st.integers(0, len(raw) - 1))
    assert rejected(raw[:cut])


@given(values)
def test_input_longer_than_the_callers_limit_is_rejected(value):
    raw = encode(value)
    assert decode(raw, max_bytes=len(raw)) == as_decoded(value)
    assert rejected(raw, max_bytes=len(raw) - 1)


def test_input_longer_than_the_default_limit_is_rejected():
    big = b"\xc6" + struct.pack(">I", MAX_DECODE_BYTES) + bytes(MAX_DECODE_BYTES)
    assert rejected(big)
    assert decode(big, max_bytes=len(big)) == bytes(MAX_DECODE_BYTES)


def nested(depth: int, leaf):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def test_nesting_limit_is_depth_32_as_format_md_states():
    """The top value is depth 0; a value (array or scalar) deeper than 32 is invalid."""
    assert decode(b"\x91" * 32 + b"\x01") == as_decoded(nested(32, 1))  # the int at depth 32
    assert decode(b"\x91" * 32 + b"\x90") == as_decoded(nested(32, []))  # empty array at depth 32
    assert rejected(b"\x91" * 33 + b"\x01")
    assert rejected(b"\x91" * 33 + b"\x90")
    assert rejected(b"\x91" * 5000 + b"\x01")  # far past the MessagePack library's own stack
    with pytest.raises(EncodingError):
        encode(nested(33, 1))


def test_empty_input_and_non_bytes_are_rejected():
    assert rejected(b"")
    with pytest.raises(EncodingError):
        decode("c0")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [1.0, {"a": 1}, {1, 2}, bytearray(b"x"), 2**64, INT_MIN - 1, "\ud800", [object()], [[1.5]]],
    ids=["float", "dict", "set", "bytearray", "2^64", "below -2^63", "lone surrogate", "object", "nested float"],
)
def test_encode_refuses_what_has_no_canonical_encoding_with_encoding_error(value):
    with pytest.raises(EncodingError):
        encode(value)


class Pair(NamedTuple):
    a: int
    b: int


class Small(IntEnum):
    ONE = 1


@pytest.mark.parametrize("value", [Pair(1, 2), [Pair(1, 2)], Small.ONE, (1, Small.ONE)], ids=["namedtuple", "nested namedtuple", "intenum", "nested intenum"])
def test_encode_takes_exact_types_only_never_subclasses(value):
    """A NamedTuple or an IntEnum must be turned into a tuple or an int on purpose (`tuple(record)`)."""
    with pytest.raises(EncodingError):
        encode(value)


def test_a_refused_value_leaves_nothing_behind_for_the_next_encoding():
    for bad in ((1, 2**64), ("a", "\ud800"), [b"x", 1.5]):
        with pytest.raises(EncodingError):
            encode(bad)
        assert encode(5) == b"\x05"
        assert encode([1, "a"]) == bytes.fromhex("9201a161")


def test_threads_encoding_at_once_each_get_their_own_bytes():
    """Encoders are per thread (a MessagePack packer is not safe to share): the mempool verifies in a pool."""
    values = [(i, "x" * (i % 40), bytes([i % 256]) * (i % 70), [i, [i]]) for i in range(400)]
    expected = [encode(v) for v in values]

    def work(offset: int) -> bool:
        order = values[offset:] + values[:offset]
        want = expected[offset:] + expected[:offset]
        return all(encode(v) == w for _ in range(5) for v, w in zip(order, want, strict=True))

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(work, range(0, 400, 25)))


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_decoding_arbitrary_bytes_never_raises_anything_but_encoding_error(data):
    try:
        value = decode(data)
    except EncodingError:
        return
    assert encode(value) == data  # whatever is accepted is canonical


@settings(max_examples=300)
@given(values, st.data())
def test_a_mutated_canonical_encoding_decodes_to_a_canonical_value_or_is_rejected(value, data):
    raw = bytearray(encode(value))
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] = data.draw(st.integers(0, 255))
    try:
        decoded = decode(bytes(raw))
    except EncodingError:
        return
    assert encode(decoded) == bytes(raw)


# --- the memo of small decoded values -------------------------------------------------------


def test_a_value_decoded_again_is_the_same_and_limits_still_apply():
    """Small values are remembered by their bytes; the caller's size limit is checked every time."""
    raw = encode([1, "eur", b"\x00" * 32])
    assert decode(raw) == decode(raw) == (1, "eur", b"\x00" * 32)
    assert rejected(raw, max_bytes=len(raw) - 1)
    assert decode(raw, max_bytes=len(raw)) == (1, "eur", b"\x00" * 32)


@pytest.mark.parametrize("hex_", ["cb3ff0000000000000", "cc01", "92", "0101", "d6ff00000000"])
def test_rejected_bytes_are_rejected_again(hex_):
    """Only accepted values are remembered: asking twice never turns a rejection into a value."""
    assert rejected(bytes.fromhex(hex_))
    assert rejected(bytes.fromhex(hex_))


def test_the_memo_stays_bounded():
    for i in range(3 * encoding._MEMO_MAX_ENTRIES):
        decode(encode(i))
    assert len(encoding._memo) <= encoding._MEMO_MAX_ENTRIES
    assert decode(encode(12345)) == 12345
