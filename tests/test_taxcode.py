"""Tax codes, their canonical form and the uniqueness tag (identity/taxcode.py, FORMAT.md §6.4.4).

1. Published codici fiscali pass, and so does every omocodic spelling; the
   check character is recomputed by an independent transcription of the
   published tables (DM 23/12/1976).
2. The canonical form: every omocodic spelling of a code (all 128 of one,
   and a random one of any code, by property) canonicalises to the code with
   digits restored and one tag; the issue's three spellings of
   RSSMRA80A01H501U give one tag; FORMAT.md's worked example is what the
   code computes.
3. Each refusal is named in one line: wrong length, characters, shape
   (month letter, omocodia letter), day out of range, a day that does not
   exist (31 February, 31 April, 29 February of a year that is never leap),
   wrong check character; an 11-digit code's serial, office code and check
   digit.
4. A code must suit the record's kind: a person's is a codice fiscale, an
   organisation's an 11-digit code; and a person's must agree with the
   birth date (day, month, last two digits of the year; a woman's day +40;
   the century not compared).
5. Against python-stdnum as an independent oracle: every codice fiscale
   accepted here is valid for stdnum (ours is stricter only about the day),
   and an 11-digit code is accepted here exactly when stdnum's it.iva accepts it.
6. Normalisation: case and white space do not matter; a non-ASCII letter is
   refused rather than upper-cased into a Latin one.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import itertools
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from stdnum.it import codicefiscale as stdnum_cf
from stdnum.it import iva as stdnum_iva

from identity import records
from identity.taxcode import (
    ORGANISATIONS,
    PERSON,
    Birth,
    TaxCodeError,
    birth_of,
    canonical_tax_code,
    check_birth_date,
    check_codice_fiscale,
    check_partita_iva,
    check_tax_code,
    check_tax_code_for,
    codice_fiscale_check_char,
    normalise,
    uniqueness_tag,
)

SECRET = b"shared registrar secret"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# the published tables of the codice fiscale check character (DM 23/12/1976), transcribed here
ODD = {
    **{str(d): v for d, v in zip(range(10), (1, 0, 5, 7, 9, 13, 15, 17, 19, 21), strict=True)},
    "A": 1, "B": 0, "C": 5, "D": 7, "E": 9, "F": 13, "G": 15, "H": 17, "I": 19, "J": 21, "K": 2, "L": 4, "M": 18,
    "N": 20, "O": 11, "P": 3, "Q": 6, "R": 8, "S": 12, "T": 14, "U": 16, "V": 10, "W": 22, "X": 25, "Y": 24, "Z": 23,
}
EVEN = {**{str(d): d for d in range(10)}, **{chr(65 + i): i for i in range(26)}}
OMOCODIA = dict(zip("0123456789", "LMNPQRSTUV", strict=True))  # digit -> the letter that stands for it
SUBSTITUTABLE = (6, 7, 9, 10, 12, 13, 14)  # 0-based; 1-based 7, 8, 10, 11, 13, 14, 15
MONTHS = "ABCDEHLMPRST"


def reference_check_char(first15: str) -> str:
    total = sum(ODD[c] if i % 2 == 0 else EVEN[c] for i, c in enumerate(first15))
    return LETTERS[total % 26]


def with_check(first15: str) -> str:
    return first15 + reference_check_char(first15)


def omocodic(code: str, positions: tuple[int, ...]) -> str:
    """The spelling of `code` with the digits at `positions` replaced by their omocodia letters."""
    first15 = "".join(OMOCODIA[c] if i in positions else c for i, c in enumerate(code[:15]))
    return with_check(first15)


# published examples: Wikipedia's "Mario Rossi", python-stdnum's documentation (a man, a woman), the issue's code,
# a woman born in Rome, Giuseppe Verdi (Busseto, 10 October 1813)
PUBLISHED_CF = ["RSSMRA85T10A562S", "RCCMNL83S18D969H", "CNTCHR83T41D969D", "RSSMRA80A01H501U", "BNCLRA80A41H501D",
                "VRDGPP13R10B293P"]
# the issue's three spellings of one person's code (finding 7)
ISSUE_SPELLINGS = ["RSSMRA80A01H501U", "RSSMRA80A01H50MM", "RSSMRAULALMHRLMD"]
# published partite IVA: python-stdnum's documentation, a VIES example, and two from Oracle's tax validation
# documentation (office codes 096 and 999)
PUBLISHED_PIVA = ["00743110157", "01114601006", "03189950961", "00140869991"]


# --- 1. valid codes ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", PUBLISHED_CF)
def test_published_codici_fiscali_are_valid(code):
    assert code == with_check(code[:15]), "the check character as the published tables give it"
    assert check_codice_fiscale(code) == code
    assert check_tax_code(code) == code
    assert check_tax_code_for(PERSON, code) == code
    assert codice_fiscale_check_char(code[:15]) == reference_check_char(code[:15])


@pytest.mark.parametrize("code", ISSUE_SPELLINGS)
def test_the_issues_omocodic_spellings_are_valid_and_kept_as_issued(code):
    assert check_codice_fiscale(code) == code, "the record keeps the code as issued, letters and all"


def test_birth_is_read_through_omocodia_letters():
    assert birth_of("RSSMRAULALMHRLMD") == Birth(80, 1, 1, "M")
    assert birth_of("CNTCHR83T41D969D") == Birth(83, 12, 1, "F")
    assert birth_of(with_check("BNCLRA80A4MH501")) == Birth(80, 1, 1, "F"), "a woman's day 41 spelt 4M"


# --- 2. the canonical form and the tag --------------------------------------------------------


def test_the_issues_three_spellings_give_one_canonical_code_and_one_tag():
    assert {canonical_tax_code(code) for code in ISSUE_SPELLINGS} == {"RSSMRA80A01H501U"}
    assert len({uniqueness_tag(SECRET, code) for code in ISSUE_SPELLINGS}) == 1


def test_all_128_spellings_of_one_code_give_one_tag():
    base = "RSSMRA80A01H501U"
    spellings = {omocodic(base, subset) for n in range(8) for subset in itertools.combinations(SUBSTITUTABLE, n)}
    assert len(spellings) == 128
    for code in spellings:
        assert check_codice_fiscale(code) == code
        assert canonical_tax_code(code) == base
    assert {uniqueness_tag(SECRET, code) for code in spellings} == {uniqueness_tag(SECRET, base)}


def days_in(year2: int, month: int) -> int:
    """Days of the month in a year ending in year2 (29 February whenever some century has it)."""
    return 29 if month == 2 and year2 % 4 == 0 else (datetime.date(2001 + (month == 12), month % 12 + 1, 1)
                                                      - datetime.timedelta(days=1)).day


@st.composite
def codici_fiscali(draw) -> str:
    """A valid, digits-only codice fiscale: any surname/name letters, a real day, man or woman, any place."""
    names = "".join(draw(st.lists(st.sampled_from(LETTERS), min_size=6, max_size=6)))
    year2 = draw(st.integers(0, 99))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, days_in(year2, month)))
    woman = draw(st.booleans())
    place = draw(st.sampled_from(LETTERS)) + f"{draw(st.integers(0, 999)):03d}"
    return with_check(f"{names}{year2:02d}{MONTHS[month - 1]}{day + 40 * woman:02d}{place}")


@settings(max_examples=300, deadline=None)
@given(codici_fiscali(), st.sets(st.sampled_from(SUBSTITUTABLE)))
def test_every_omocodic_spelling_canonicalises_to_the_code_and_its_tag(code, positions):
    spelling = omocodic(code, tuple(positions))
    assert check_codice_fiscale(code) == code
    assert check_codice_fiscale(spelling) == spelling
    assert canonical_tax_code(spelling) == code
    assert canonical_tax_code(canonical_tax_code(spelling)) == code, "idempotent"
    assert uniqueness_tag(SECRET, spelling) == uniqueness_tag(SECRET, code)
    assert birth_of(spelling) == birth_of(code)


@settings(max_examples=200, deadline=None)
@given(codici_fiscali(), codici_fiscali())
def test_different_codes_give_different_tags(a, b):
    if a != b:
        assert uniqueness_tag(SECRET, a) != uniqueness_tag(SECRET, b)


def test_letters_outside_the_omocodia_positions_are_not_digits():
    """L..V at positions 1-6, 9 (a month: L = July) and 12 are the code's own letters: kept by the canonical form."""
    code = with_check("LMNPQR67L01L001")  # born in July (L), place L001: letters that look omocodic
    assert canonical_tax_code(code) == code
    assert canonical_tax_code(omocodic(code, SUBSTITUTABLE)) == code


def test_the_tag_is_hmac_sha256_of_the_canonical_code_under_the_secret():
    tag = uniqueness_tag(SECRET, "rss mra 85t10a562s")
    assert tag == hmac.new(SECRET, b"incoop/uniqueness/v1RSSMRA85T10A562S", hashlib.sha256).digest()
    assert len(tag) == 32
    assert tag == uniqueness_tag(SECRET, "RSSMRA85T10A562S"), "deterministic, whatever the spelling"
    assert tag != uniqueness_tag(SECRET + b"!", "RSSMRA85T10A562S"), "depends on the secret"
    assert tag == uniqueness_tag(SECRET, with_check("RSSMRA85T10A56N")), "an omocodic spelling is the same person"
    variant = with_check("RSSMRA85T10A56N")
    literal = hmac.new(SECRET, b"incoop/uniqueness/v1" + variant.encode(), hashlib.sha256).digest()
    assert uniqueness_tag(SECRET, variant) != literal, "never the HMAC of the literal omocodic spelling"
    assert uniqueness_tag(SECRET, "00743110157") != tag


def test_no_tag_for_an_invalid_code_or_without_a_secret():
    with pytest.raises(TaxCodeError):
        uniqueness_tag(SECRET, "RSSMRA85T10A562T")
    with pytest.raises(TaxCodeError):
        uniqueness_tag(SECRET, "RSSMRA80B31H501W")
    with pytest.raises(ValueError):
        uniqueness_tag(b"", "RSSMRA85T10A562S")


def test_format_md_worked_example_is_what_the_code_computes():
    """FORMAT.md §6.4.4 quotes the canonical form and the tags under the secret 00..1f: recomputed here."""
    text = (Path(__file__).resolve().parents[1] / "FORMAT.md").read_text(encoding="utf-8")
    section = text[text.index("#### 6.4.4"):text.index("#### 6.4.5")]
    secret = bytes(range(32))
    assert f"canonical = {canonical_tax_code('RSSMRAULALMHRLMD')}" in section
    for code in ISSUE_SPELLINGS:
        assert code in section
        assert f"tag = {uniqueness_tag(secret, code).hex()}" in section
    assert f"`tag = {uniqueness_tag(secret, '00743110157').hex()}`" in section
    first15 = "RSSMRA80A01H501"
    odd = sum(ODD[c] for c in first15[0::2])
    even = sum(EVEN[c] for c in first15[1::2])
    assert f"= {odd}" in section and f"= {even}" in section and f"({odd} + {even}) mod 26 = {(odd + even) % 26}" in section


# --- 3. refusals, each named --------------------------------------------------------------------


@pytest.mark.parametrize("code, message", [
    ("RSSMRA85T10A562", "has 16 characters, 'RSSMRA85T10A562' has 15"),
    ("RSSMRA85T10A562SS", "16 characters"),
    ("RSSMRA85T10A56-S", "only letters and digits"),
    ("RSSMRA85T10A56ÀS", "only letters and digits"),
    ("RSS1RA85T10A562S", "character 4 should be a letter"),
    ("RSSMRA85Z10A562S", "character 9 should be a month letter ABCDEHLMPRST, it is 'Z'"),
    ("RSSMRA85F10A562S", "month letter"),  # F is no month (E is May, H is June)
    ("RSSMRA85TX0A562S", "character 10 should be a digit or an omocodia letter"),  # X stands for no digit
    ("RSSMRAW5T10A562S", "character 7 should be a digit or an omocodia letter"),
    ("RSSMRA85T101562S", "character 12 should be a letter"),
    ("RSSMRA85T10A5K2S", "character 14 should be a digit or an omocodia letter"),
    ("RSSMRA85T10A5621", "character 16 should be a letter"),
    ("RSSMRA85T35A562S", "day of birth .* is 35: it must be 1-31 \\(41-71 for women\\)"),
    ("RSSMRA85T00A562S", "day of birth .* is 0"),
    ("RSSMRA85T40A562S", "day of birth .* is 40"),
    ("RSSMRA85T72A562S", "day of birth .* is 72"),
    ("RSSMRA85TVNA562S", "day of birth .* is 92"),  # 9 and 2 as omocodia letters: still read as a day
    ("RSSMRA80B31H501W", "31 February of a year ending in 80, and there is no such day"),
    ("RSSMRA80B30H501W", "30 February"),
    ("RSSMRA80B71H501W", "31 February"),  # a woman's 31 February
    ("RSSMRA81B29H501W", "29 February of a year ending in 81"),
    ("RSSMRA80D31H501W", "31 April"),
    ("RSSMRA80H31H501W", "31 June"),
    ("RSSMRA80P31H501W", "31 September"),
    ("RSSMRA80S31H501W", "31 November"),
    ("RSSMRA85T10A562T", "wrong check character .* it is T, it should be S"),
])
def test_a_bad_codice_fiscale_is_refused_with_what_is_wrong(code, message):
    with pytest.raises(TaxCodeError, match=message) as caught:
        check_codice_fiscale(code)
    assert "\n" not in str(caught.value), "one line"


@pytest.mark.parametrize("first15", ["RSSMRA80B29H501", "RSSMRA00B29H501", "RSSMRA80B69H501", "RSSMRA80A31H501",
                                     "RSSMRA80T31H501", "RSSMRA80S30H501", "RSSMRAULBNVHRLM"])
def test_days_that_exist_are_accepted(first15):
    """29 February of a year ending in 80 or 00 (2000 was leap), a woman's 29 February, 31 January, 31 December."""
    code = with_check(first15)
    assert check_codice_fiscale(code) == code


@given(st.sampled_from(PUBLISHED_CF), st.integers(0, 14), st.sampled_from(LETTERS + "0123456789"))
def test_a_single_changed_character_never_passes(code, position, char):
    """A typo breaks the shape, the date or the check: where a character may stand, no two have one weight."""
    changed = code[:position] + char + code[position + 1:]
    if changed != code:
        with pytest.raises(TaxCodeError):
            check_codice_fiscale(changed)


@pytest.mark.parametrize("code", PUBLISHED_PIVA)
def test_published_partite_iva_are_valid(code):
    assert check_partita_iva(code) == code
    assert check_tax_code(" " + code[:5] + " " + code[5:]) == code
    assert canonical_tax_code(code) == code


@pytest.mark.parametrize("office", ["001", "050", "100", "120", "121", "888", "999"])
def test_every_office_code_of_the_agenzia_is_accepted(office):
    first10 = "1234567" + office
    code = first10 + reference_luhn(first10)
    assert check_partita_iva(code) == code


@pytest.mark.parametrize("office", ["000", "101", "110", "119", "122", "500", "887", "998"])
def test_an_office_code_of_no_office_is_refused(office):
    first10 = "1234567" + office
    with pytest.raises(TaxCodeError, match=f"digits 8-10 are the issuing office, 001-100, 120, 121, 888 or 999, "
                                           f"not {office}"):
        check_partita_iva(first10 + reference_luhn(first10))


def reference_luhn(first10: str) -> str:
    """The partita IVA check digit as the rule is published: odd positions added, even ones doubled (less 9)."""
    total = 0
    for i, c in enumerate(first10):
        d = int(c)
        total += d if i % 2 == 0 else (2 * d - 9 if 2 * d > 9 else 2 * d)
    return str((10 - total % 10) % 10)


@pytest.mark.parametrize("code, message", [
    ("00743110158", "wrong check digit .* it is 8, it should be 7"),
    ("1234567890", "11 digits"),
    ("1234567890A", "11 digits"),
    ("00000000000", "serial number .* is zero"),
    ("12345678903", "not 890"),  # a well-formed Luhn number of no office
])
def test_a_bad_partita_iva_is_refused_with_what_is_wrong(code, message):
    with pytest.raises(TaxCodeError, match=message):
        check_partita_iva(code)


@pytest.mark.parametrize("text", ["", "ABC", "123456789012", "1234567890A", "RSSMRA85T10A562S1"])
def test_check_tax_code_names_both_forms_when_neither_fits(text):
    with pytest.raises(TaxCodeError, match="neither a codice fiscale .* nor a partita IVA|16 characters"):
        check_tax_code(text)


# --- 4. the record's kind and birth date -----------------------------------------------------------


def test_the_kinds_are_the_registrys():
    assert (PERSON, *ORGANISATIONS) == records.KINDS


@pytest.mark.parametrize("code", PUBLISHED_PIVA + ["80012000826"])
def test_a_person_with_an_11_digit_code_is_refused(code):
    with pytest.raises(TaxCodeError, match="a person's tax code is the 16-character codice fiscale"):
        check_tax_code_for(PERSON, code)


@pytest.mark.parametrize("kind", ORGANISATIONS)
def test_an_organisation_needs_an_11_digit_code(kind):
    assert check_tax_code_for(kind, "00743110157") == "00743110157"
    with pytest.raises(TaxCodeError, match=f"the tax code of a {kind} is its 11-digit partita IVA"):
        check_tax_code_for(kind, "RSSMRA80A01H501U")
    with pytest.raises(TaxCodeError, match="issuing office"):
        check_tax_code_for(kind, "12345678903")


def test_an_unknown_kind_has_no_rule():
    with pytest.raises(TaxCodeError, match="no tax code rule"):
        check_tax_code_for("alien", "RSSMRA80A01H501U")


@pytest.mark.parametrize("code, date", [
    ("RSSMRA80A01H501U", "1980-01-01"),
    ("RSSMRAULALMHRLMD", "1980-01-01"),  # every digit an omocodia letter
    ("CNTCHR83T41D969D", "1983-12-01"),  # a woman: coded day 41
    ("RSSMRA80A01H501U", "1880-01-01"),  # the century is not in the code
    (with_check("RSSMRA00B29H501"), "2000-02-29"),
])
def test_the_code_agrees_with_its_birth_date(code, date):
    check_birth_date(code, date)
    check_birth_date(code, datetime.date.fromisoformat(date))


@pytest.mark.parametrize("code, date", [
    ("RSSMRA80A01H501U", "1980-01-02"),  # day
    ("RSSMRA80A01H501U", "1980-02-01"),  # month
    ("RSSMRA80A01H501U", "1981-01-01"),  # year
    ("CNTCHR83T41D969D", "1983-12-11"),  # a woman's day read without the 40 taken off would be 41
    ("RSSMRAULALMHRLMD", "1980-01-11"),
])
def test_a_birth_date_that_disagrees_is_refused(code, date):
    with pytest.raises(TaxCodeError, match=f"{date} does not agree with the codice fiscale '{code}', which gives "):
        check_birth_date(code, date)


# --- 5. python-stdnum as an independent oracle ----------------------------------------------------

SHAPE_CHARS = [LETTERS] * 6 + ["0123456789LMNPQRSTUV"] * 2 + [MONTHS] + ["0123456789LMNPQRSTUV"] * 2 + [LETTERS] \
    + ["0123456789LMNPQRSTUV"] * 3


@st.composite
def shaped_codes(draw) -> str:
    """16 characters of the right shape, any day, half the time with the right check character."""
    first15 = "".join(draw(st.sampled_from(chars)) for chars in SHAPE_CHARS)
    return first15 + (reference_check_char(first15) if draw(st.booleans()) else draw(st.sampled_from(LETTERS)))


def _accepted(check, code) -> bool:
    try:
        check(code)
        return True
    except TaxCodeError:
        return False


@settings(max_examples=1000, deadline=None)
@given(shaped_codes())
@example("RSSMRA80B31H501W")
@example("RSSMRA80A81H501U")
def test_stdnum_accepts_every_codice_fiscale_accepted_here(code):
    ours = _accepted(check_codice_fiscale, code)
    day = int("".join(str("LMNPQRSTUV".index(c)) if c in "LMNPQRSTUV" else c for c in code[9:11]))
    if ours:
        assert stdnum_cf.is_valid(code)
    elif stdnum_cf.is_valid(code):
        assert not (1 <= day <= 31 or 41 <= day <= 71), "stdnum reads day 81-91 as 1-11 (day % 40); ours refuses"


@settings(max_examples=1000, deadline=None)
@given(st.text("0123456789", min_size=11, max_size=11))
@example("00743110157")
@example("12345678903")
def test_an_11_digit_code_is_accepted_exactly_when_stdnum_accepts_it(code):
    assert _accepted(check_partita_iva, code) == stdnum_iva.is_valid(code)


# --- 6. normalisation ---------------------------------------------------------------------------------


def test_normalisation():
    assert normalise(" rss mra 85t10 a562s\t") == "RSSMRA85T10A562S"
    assert normalise("rssmra85t10a562s\u00a0\u2003") == "RSSMRA85T10A562S", "Unicode white space too"
    assert check_tax_code("rssmra85t10a562s") == "RSSMRA85T10A562S"


@pytest.mark.parametrize("text", ["rssmra80a01h50ß", "RSSMRA80A01H501\u0131", "\uff32SSMRA80A01H501U"])
def test_a_character_outside_ascii_is_refused_not_folded(text):
    """`ß`.upper() is 'SS' and a dotless ı upper-cases to I: neither may make a code out of another script."""
    with pytest.raises(TaxCodeError, match="only letters and digits"):
        check_tax_code(text)


def test_only_unicode_white_space_is_removed():
    """U+001C..U+001F count as space to Python's str.split, not to Unicode: another implementation keeps them."""
    with pytest.raises(TaxCodeError, match="17 characters"):
        check_tax_code("RSSMRA80A01H501U\x1c")
    with pytest.raises(TaxCodeError, match="only letters and digits"):
        check_tax_code("RSSMRA80A01H501\x1f")
