"""Italian tax codes, their canonical form and the uniqueness tag (pure functions, no I/O).

One person, one identity: registrars derive a uniqueness tag from the
canonical form of the national tax code, under a secret they share and never
put on chain, and the ledger refuses a second registration with the same tag
at any registrar (FORMAT.md §6.4.4 is the normative text; this module is its
reference implementation).

- codice fiscale (a person): 16 characters. Characters 7-8 (year of birth),
  10-11 (day of birth, +40 for a woman) and 13-15 (place of birth) are digits
  that the Agenzia delle Entrate may replace by the omocodia letters
  L M N P Q R S T U V (standing for 0-9) to tell apart two people who would
  otherwise share a code; the 16th character is a check letter over the first
  15. One code therefore has up to 128 spellings that all pass the check; the
  canonical form restores the digits and recomputes the check letter, so all
  of them give one tag and one identity.
- partita IVA, or the numeric codice fiscale of an organisation (a
  cooperative, company, association, union or institution): 11 digits, a
  7-digit serial number, the 3-digit code of the office that issued it
  (`OFFICE_CODES`, FORMAT.md §6.4.4) and a Luhn check digit.

The code is validated before any tag is computed, so that a typo (caught by
the check character), an impossible date or a code of the wrong kind cannot
yield a fresh tag and with it a second identity. The check-character
arithmetic is python-stdnum's (`stdnum.it.codicefiscale`, `stdnum.luhn`);
the rules stdnum does not have (the canonical form, the strict day ranges,
person against organisation, agreement with the record's birth date) and the
one-line messages that name the fault are here.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from typing import Literal, NamedTuple

from stdnum import luhn
from stdnum.it.codicefiscale import calc_check_digit as _cf_check_digit

TAG_DOMAIN = b"incoop/uniqueness/v1"

PERSON = "person"
ORGANISATIONS = ("cooperative", "company", "association", "union", "institution")
"""The record kinds (identity.records.KINDS) that hold an 11-digit code instead of a codice fiscale."""

OMOCODIA_LETTERS = "LMNPQRSTUV"
"""The letters that stand for the digits 0..9 in an omocodic codice fiscale."""
OMOCODIA_POSITIONS = (6, 7, 9, 10, 12, 13, 14)
"""0-based positions of the digits that may be omocodia letters (1-based: 7, 8, 10, 11, 13, 14, 15)."""
MONTH_LETTERS = "ABCDEHLMPRST"
"""January..December."""
OFFICE_CODES = frozenset([f"{n:03d}" for n in range(1, 101)] + ["120", "121", "888", "999"])
"""Digits 8-10 of an 11-digit code: the issuing office of the Agenzia delle Entrate (FORMAT.md §6.4.4)."""

WHITE_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
"""Unicode's White_Space characters, the ones normalisation removes (FORMAT.md §6.4.4 step 1)."""

_TO_DIGIT = {letter: str(digit) for digit, letter in enumerate(OMOCODIA_LETTERS)}
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")
_DIGIT_OR_OMOCODIA = _DIGITS | frozenset(OMOCODIA_LETTERS)

# the shape of a codice fiscale: 0-based position ranges, what stands there, which characters may
_OMOCODIA_RULE = "a digit or an omocodia letter LMNPQRSTUV"
_SHAPE = (
    (0, 6, "a letter (from surname and name)", _LETTERS),
    (6, 8, f"{_OMOCODIA_RULE} (the year of birth)", _DIGIT_OR_OMOCODIA),
    (8, 9, f"a month letter {MONTH_LETTERS}", frozenset(MONTH_LETTERS)),
    (9, 11, f"{_OMOCODIA_RULE} (the day of birth)", _DIGIT_OR_OMOCODIA),
    (11, 12, "a letter (the place of birth)", _LETTERS),
    (12, 15, f"{_OMOCODIA_RULE} (the place of birth)", _DIGIT_OR_OMOCODIA),
    (15, 16, "a letter (the check character)", _LETTERS),
)


class TaxCodeError(ValueError):
    """The text is not a valid tax code (or not one for this record); the message says what is wrong."""


class Birth(NamedTuple):
    """What a codice fiscale says of its holder's birth. The century is not in the code."""

    year: int  # the last two digits of the year, 0..99
    month: int  # 1..12
    day: int  # 1..31, the day of the month (a woman's +40 already taken off)
    sex: Literal["M", "F"]


def normalise(text: str) -> str:
    """White space removed and letters upper-cased; TaxCodeError for a character outside ASCII.

    ASCII is checked before upper-casing, so that no other script's letter
    (`ß`, `ﬁ`) can turn into Latin ones on the way.
    """
    compact = "".join(c for c in str(text) if c not in WHITE_SPACE)
    if not compact.isascii():
        raise TaxCodeError(f"a tax code holds only letters and digits (A-Z, 0-9): {compact!r} does not")
    return compact.upper()


def codice_fiscale_check_char(first15: str) -> str:
    """The check letter of the first 15 characters of a codice fiscale (DM 23/12/1976's tables)."""
    return _cf_check_digit(first15)


def partita_iva_check_digit(first10: str) -> str:
    """The check digit of the first 10 digits of a partita IVA (Luhn)."""
    return luhn.calc_check_digit(first10)


def _digits(chars: str) -> str:
    return "".join(_TO_DIGIT.get(c, c) for c in chars)


def _day_exists(year2: int, month: int, day: int) -> bool:
    """Whether day/month exists in a year ending in `year2`, in the 1900s or the 2000s.

    Only 29 February depends on the century, and only for 00: 1900 was not a
    leap year, 2000 was; a code cannot tell them apart, so it is accepted.
    """
    for century in (1900, 2000):
        try:
            datetime.date(century + year2, month, day)
            return True
        except ValueError:
            continue
    return False


def birth_of(code: str) -> Birth:
    """The date and sex of birth a valid codice fiscale holds (omocodia letters read as digits)."""
    cf = check_codice_fiscale(code)
    return _birth(cf)


def _birth(cf: str) -> Birth:
    day = int(_digits(cf[9:11]))
    return Birth(int(_digits(cf[6:8])), MONTH_LETTERS.index(cf[8]) + 1, day - 40 if day > 40 else day,
                 "F" if day > 40 else "M")


def check_codice_fiscale(code: str) -> str:
    """The normalised code if it is a valid codice fiscale; TaxCodeError naming the fault otherwise.

    The omocodia letters the code may hold are kept: this is the person's code
    as issued (the one a record keeps); `canonical_tax_code` gives the form the
    tag is taken over.
    """
    cf = normalise(code)
    if len(cf) != 16:
        raise TaxCodeError(f"a codice fiscale has 16 characters, {cf!r} has {len(cf)}")
    if not cf.isalnum():
        raise TaxCodeError(f"a tax code holds only letters and digits (A-Z, 0-9): {cf!r} does not")
    for start, end, rule, allowed in _SHAPE:
        wrong = next((i for i in range(start, end) if cf[i] not in allowed), None)
        if wrong is not None:
            raise TaxCodeError(f"{cf!r} is not shaped like a codice fiscale: character {wrong + 1} should be "
                               f"{rule}, it is {cf[wrong]!r}")
    coded_day = int(_digits(cf[9:11]))
    if not (1 <= coded_day <= 31 or 41 <= coded_day <= 71):
        raise TaxCodeError(f"the day of birth in {cf!r} is {coded_day}: it must be 1-31 (41-71 for women)")
    birth = _birth(cf)
    if not _day_exists(birth.year, birth.month, birth.day):
        raise TaxCodeError(f"the date of birth in {cf!r} is {birth.day} {_MONTH_NAMES[birth.month - 1]} of a year "
                           f"ending in {birth.year:02d}, and there is no such day")
    expected = codice_fiscale_check_char(cf[:15])
    if cf[15] != expected:
        raise TaxCodeError(f"wrong check character in codice fiscale {cf!r}: it is {cf[15]}, it should be {expected}")
    return cf


def check_partita_iva(code: str) -> str:
    """The normalised number if it is a valid 11-digit code (partita IVA, or an organisation's numeric
    codice fiscale); TaxCodeError naming the fault otherwise."""
    piva = normalise(code)
    if len(piva) != 11 or not all(c in _DIGITS for c in piva):
        raise TaxCodeError(f"a partita IVA is 11 digits, {piva!r} is not")
    if piva[:7] == "0000000":
        raise TaxCodeError(f"{piva!r} is not a partita IVA: its serial number (digits 1-7) is zero")
    if piva[7:10] not in OFFICE_CODES:
        raise TaxCodeError(f"{piva!r} is not a partita IVA: digits 8-10 are the issuing office, 001-100, 120, "
                           f"121, 888 or 999, not {piva[7:10]}")
    expected = partita_iva_check_digit(piva[:10])
    if piva[10] != expected:
        raise TaxCodeError(f"wrong check digit in partita IVA {piva!r}: it is {piva[10]}, it should be {expected}")
    return piva


def check_tax_code(text: str) -> str:
    """A codice fiscale (16 characters) or an 11-digit code, told apart by shape; normalised and valid."""
    code = normalise(text)
    if len(code) == 16:
        return check_codice_fiscale(code)
    if len(code) == 11 and all(c in _DIGITS for c in code):
        return check_partita_iva(code)
    raise TaxCodeError(
        f"{code!r} is neither a codice fiscale (16 letters and digits) nor a partita IVA (11 digits): "
        f"it has {len(code)} characters"
    )


def check_tax_code_for(kind: str, text: str) -> str:
    """The normalised, valid tax code of a record of this kind: a person's is a codice fiscale,
    an organisation's the 11-digit partita IVA or numeric codice fiscale."""
    code = normalise(text)
    if kind == PERSON:
        if len(code) == 11 and all(c in _DIGITS for c in code):
            raise TaxCodeError(f"a person's tax code is the 16-character codice fiscale; {code!r} is an 11-digit "
                               "code (a partita IVA or an organisation's codice fiscale)")
        return check_codice_fiscale(code)
    if kind in ORGANISATIONS:
        if len(code) == 16:
            raise TaxCodeError(f"the tax code of a {kind} is its 11-digit partita IVA or numeric codice fiscale; "
                               f"{code!r} is shaped like a person's codice fiscale")
        return check_partita_iva(code)
    raise TaxCodeError(f"no tax code rule for the kind {kind!r}")


def check_birth_date(code: str, birth_date: datetime.date | str) -> None:
    """TaxCodeError unless the codice fiscale's date of birth agrees with `birth_date`.

    Day and month must be equal (a woman's coded day is the day + 40), and so
    must the last two digits of the year; the century is not in the code, so
    it is not compared (FORMAT.md §6.4.4).
    """
    date = birth_date if isinstance(birth_date, datetime.date) else datetime.date.fromisoformat(birth_date)
    cf = check_codice_fiscale(code)
    birth = _birth(cf)
    if (date.year % 100, date.month, date.day) != (birth.year, birth.month, birth.day):
        raise TaxCodeError(f"{date.isoformat()} does not agree with the codice fiscale {cf!r}, which gives "
                           f"{birth.day} {_MONTH_NAMES[birth.month - 1]} of a year ending in {birth.year:02d}")


def canonical_tax_code(text: str) -> str:
    """The one form of a valid tax code that the uniqueness tag is taken over (FORMAT.md §6.4.4).

    An 11-digit code is its own canonical form. A codice fiscale has every
    omocodia letter at characters 7, 8, 10, 11, 13, 14 and 15 replaced by the
    digit it stands for, and its check character recomputed:
    RSSMRA80A01H50MM and RSSMRAULALMHRLMD both become RSSMRA80A01H501U.
    """
    code = check_tax_code(text)
    if len(code) == 11:
        return code
    first15 = "".join(_TO_DIGIT.get(c, c) if i in OMOCODIA_POSITIONS else c for i, c in enumerate(code[:15]))
    return first15 + codice_fiscale_check_char(first15)


def uniqueness_tag(secret: bytes, text: str) -> bytes:
    """HMAC-SHA256(secret, b"incoop/uniqueness/v1" || canonical tax code): 32 bytes.

    The code is validated first (TaxCodeError if it is not a valid tax code),
    then put in canonical form, so every omocodic spelling of one codice
    fiscale gives one tag. The secret is shared by the registrars and never on
    chain, so the tag reveals nothing to whoever reads the chain, and cannot be
    brute-forced over the small space of tax codes without it.
    """
    if not isinstance(secret, bytes | bytearray) or not secret:
        raise ValueError("the uniqueness secret must be non-empty bytes")
    code = canonical_tax_code(text)
    return hmac.new(bytes(secret), TAG_DOMAIN + code.encode("ascii"), hashlib.sha256).digest()
