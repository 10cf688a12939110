"""Addresses (FORMAT.md §5): a typo is an error, never a transfer to nobody.

An address is `ic` + base32(pubkey || 4-byte checksum). Round trips must be
exact, and every single-character substitution (and every adjacent swap)
of a valid address must be refused: a changed data character breaks the
checksum (a 1 in 2^32 chance to slip through), a changed padding bit breaks
the canonical-form check, and anything outside the lower-case alphabet is
refused outright.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.address import ADDRESS_LEN, PREFIX, AddressError, from_address, to_address
from ledger.crypto import sha256

ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
REPLACEMENTS = ALPHABET + ALPHABET.upper() + "0189=-_ .é"

pubkeys = st.binary(min_size=32, max_size=32)


@given(pubkeys)
def test_address_round_trips_to_the_same_public_key(pubkey):
    assert from_address(to_address(pubkey)) == pubkey


@given(pubkeys)
def test_address_is_60_lower_case_characters_starting_with_ic(pubkey):
    address = to_address(pubkey)
    assert len(address) == ADDRESS_LEN == 60
    assert address.startswith(PREFIX)
    assert set(address[2:]) <= set(ALPHABET)


def test_checksum_is_the_first_four_bytes_of_the_tagged_hash():
    import base64

    pubkey = bytes(range(32))
    body = base64.b32decode(to_address(pubkey)[2:].upper() + "======")
    assert body == pubkey + sha256(b"incoop/address/v1" + pubkey)[:4]


@settings(max_examples=15, deadline=None)
@given(pubkeys)
def test_every_single_character_substitution_is_refused(pubkey):
    address = to_address(pubkey)
    for i, original in enumerate(address):
        for c in REPLACEMENTS:
            if c == original:
                continue
            typo = address[:i] + c + address[i + 1:]
            with pytest.raises(AddressError):
                from_address(typo)


@settings(max_examples=30)
@given(pubkeys)
def test_every_adjacent_swap_that_changes_the_text_is_refused(pubkey):
    address = to_address(pubkey)
    for i in range(len(address) - 1):
        swapped = address[:i] + address[i + 1] + address[i] + address[i + 2:]
        if swapped != address:
            with pytest.raises(AddressError):
                from_address(swapped)


@given(pubkeys)
def test_upper_case_and_missing_or_extra_characters_are_refused(pubkey):
    address = to_address(pubkey)
    for bad in (address.upper(), address[:-1], address + "a", address[1:], "x" + address[1:], address[2:]):
        with pytest.raises(AddressError):
            from_address(bad)


def test_non_zero_padding_bits_in_the_last_character_are_refused():
    """The last character holds 3 data bits and 2 zero bits; setting a zero bit is not canonical."""
    address = to_address(bytes(32))
    last = ALPHABET.index(address[-1])
    assert last & 0b11 == 0
    with pytest.raises(AddressError):
        from_address(address[:-1] + ALPHABET[last | 1])


def test_surrounding_white_space_is_ignored_as_format_md_says():
    address = to_address(bytes(32))
    assert from_address(f"  {address}\n") == bytes(32)
    assert from_address(f"\t\r\x0b\x0c{address} \r\n") == bytes(32)


@pytest.mark.parametrize("space", ["\u00a0", "\u2003", "\u200b", "\x1c"])
def test_only_ascii_white_space_is_stripped(space):
    """§5 names the six characters; a verifier in any language strips exactly those."""
    with pytest.raises(AddressError):
        from_address(f"{space}{to_address(bytes(32))}")


@pytest.mark.parametrize("value", [None, 42, b"ic" + b"a" * 58])
def test_non_strings_are_refused(value):
    with pytest.raises(AddressError):
        from_address(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("length", [0, 31, 33])
def test_only_32_byte_keys_have_an_address(length):
    with pytest.raises(AddressError):
        to_address(bytes(length))
