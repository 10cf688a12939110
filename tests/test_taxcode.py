"""Tax codes and the uniqueness tag (identity/taxcode.py).

1. Valid codici fiscali pass, including omocodia variants; the check
   character is recomputed by an independent transcription of the rule.
2. A wrong check character, a wrong length, wrong characters or an impossible
   day are refused with a message that says which.
3. Partita IVA: valid numbers pass, a wrong check digit is named.
4. Normalisation: case and spaces do not matter; the tag is deterministic,
   depends on the secret and on the code, and is 32 bytes of HMAC-SHA256.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.taxcode import (
    TaxCodeError,
    check_codice_fiscale,
    check_partita_iva,
    check_tax_code,
    codice_fiscale_check_char,
    normalise,
    uniqueness_tag,
)

SECRET = b"shared registrar secret"

# the published tables of the codice fiscale check character (DM 23/12/1976)
ODD = {
    **{str(d): v for d, v in zip(range(10), (1, 0, 5, 7, 9, 13, 15, 17, 19, 21), strict=True)},
    "A": 1, "B": 0, "C": 5, "D": 7, "E": 9, "F": 13, "G": 15, "H": 17, "I": 19, "J": 21, "K": 2, "L": 4, "M": 18,
    "N": 20, "O": 11, "P": 3, "Q": 6, "R": 8, "S": 12, "T": 14, "U": 16, "V": 10, "W": 22, "X": 25, "Y": 24, "Z": 23,
}
EVEN = {**{str(d): d for d in range(10)}, **{chr(65 + i): i for i in range(26)}}


def reference_check_char(first15: str) -> str:
    total = sum(ODD[c] if i % 2 == 0 else EVEN[c] for i, c in enumerate(first15))
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[total % 26]


VALID_CF = ["RSSMRA85T10A562S", "BNCLRA80A41H501D", "VRDGPP13R10B293P"]


def with_check(first15: str) -> str:
    return first15 + reference_check_char(first15)


@pytest.mark.parametrize("code", VALID_CF)
def test_valid_codici_fiscali(code):
    first15 = code[:15]
    assert code == with_check(first15), "the check character as the published tables give it"
    assert check_codice_fiscale(code) == code
    assert check_tax_code(code) == code
    assert codice_fiscale_check_char(first15) == reference_check_char(first15)


def test_the_well_known_example_code_is_valid_as_printed():
    assert check_codice_fiscale("RSSMRA85T10A562S") == "RSSMRA85T10A562S"


@pytest.mark.parametrize("first15", [
    "RSSMRA85T10A56N",  # omocodia: the last digit 2 -> N
    "RSSMRA85T10A5SN",  # the last two digits
    "RSSMRAURTMLASRN",  # every digit position replaced
    "BNCLRA80A4MH501",  # a woman's day 41 -> 4M
])
def test_omocodia_letters_are_accepted(first15):
    code = with_check(first15)
    assert check_codice_fiscale(code) == code


def test_a_wrong_check_character_is_refused_and_named():
    with pytest.raises(TaxCodeError, match=r"wrong check character .* it is T, it should be S"):
        check_codice_fiscale("RSSMRA85T10A562T")
    with pytest.raises(TaxCodeError, match="check character"):
        check_tax_code("rssmra85t10a562x")


@given(st.sampled_from(VALID_CF), st.integers(0, 14), st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
def test_a_single_changed_character_never_passes_silently(code, position, char):
    """Changing one character either breaks the shape or the check (or yields another valid code by design)."""
    changed = code[:position] + char + code[position + 1:]
    if changed == code:
        return
    try:
        check_codice_fiscale(changed)
    except TaxCodeError:
        return
    assert reference_check_char(changed[:15]) == changed[15]


@pytest.mark.parametrize("code, message", [
    ("RSSMRA85T10A562", "16 characters"),
    ("RSSMRA85T10A562SS", "16 characters"),
    ("RSSMRA85T10A56-S", "only letters and digits"),
    ("RSSMRA85T10A56ÀS", "only letters and digits"),
    ("RSS1RA85T10A562S", "not shaped like a codice fiscale"),
    ("RSSMRA85Z10A562S", "not shaped"),  # Z is no month
    ("RSSMRA85TX0A562S", "not shaped"),  # X is no omocodia letter
    ("RSSMRA85T35A562S", "day of birth"),
    ("RSSMRA85T00A562S", "day of birth"),
])
def test_wrong_shapes_are_refused_with_what_is_wrong(code, message):
    with pytest.raises(TaxCodeError, match=message):
        check_codice_fiscale(code)


@pytest.mark.parametrize("code", ["12345678903", "00743110157", "01114601006"])
def test_valid_partite_iva(code):
    assert check_partita_iva(code) == code
    assert check_tax_code(" " + code[:5] + " " + code[5:]) == code


@pytest.mark.parametrize("code, message", [
    ("12345678901", "wrong check digit .* it is 1, it should be 3"),
    ("1234567890", "11 digits"),
    ("1234567890A", "11 digits"),
    ("00000000000", "company number is zero"),
])
def test_invalid_partite_iva(code, message):
    with pytest.raises(TaxCodeError, match=message):
        check_partita_iva(code)


@pytest.mark.parametrize("text", ["", "ABC", "123456789012", "1234567890A", "RSSMRA85T10A562S1"])
def test_check_tax_code_names_both_forms_when_neither_fits(text):
    with pytest.raises(TaxCodeError, match="neither a codice fiscale .* nor a partita IVA|16 characters"):
        check_tax_code(text)


def test_normalisation():
    assert normalise(" rss mra 85t10 a562s\t") == "RSSMRA85T10A562S"
    assert check_tax_code("rssmra85t10a562s") == "RSSMRA85T10A562S"


def test_the_tag_is_hmac_sha256_of_the_normalised_code_under_the_secret():
    tag = uniqueness_tag(SECRET, "rss mra 85t10a562s")
    assert tag == hmac.new(SECRET, b"incoop/uniqueness/v1RSSMRA85T10A562S", hashlib.sha256).digest()
    assert len(tag) == 32
    assert tag == uniqueness_tag(SECRET, "RSSMRA85T10A562S"), "deterministic, whatever the spelling"
    assert tag != uniqueness_tag(SECRET + b"!", "RSSMRA85T10A562S"), "depends on the secret"
    assert tag != uniqueness_tag(SECRET, with_check("RSSMRA85T10A56N")), "an omocodia variant is another person"
    assert uniqueness_tag(SECRET, "12345678903") != tag


def test_no_tag_for_an_invalid_code_or_without_a_secret():
    with pytest.raises(TaxCodeError):
        uniqueness_tag(SECRET, "RSSMRA85T10A562T")
    with pytest.raises(ValueError):
        uniqueness_tag(b"", "RSSMRA85T10A562S")
