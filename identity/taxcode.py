"""Italian tax codes and the uniqueness tag (pure functions, no I/O).

One person, one identity: registrars derive a uniqueness tag from the
normalised national tax code, under a secret they share and never put on
chain, and the ledger refuses a second registration with the same tag at any
registrar. The code is validated first, so that a typo (caught by the check
character) cannot yield a fresh tag and with it a second identity.

- codice fiscale: 16 characters. Positions 7-8, 10-11 and 13-15 are digits
  that may be replaced by the omocodia letters L M N P Q R S T U V (0-9) when
  two people would otherwise share a code; the 16th character is a check
  letter over the first 15.
- partita IVA: 11 digits, the last a Luhn-style check digit.
"""

from __future__ import annotations

import hashlib
import hmac
import re

TAG_DOMAIN = b"incoop/uniqueness/v1"

_OMOCODIA = "LMNPQRSTUV"  # the letters that stand for 0..9
_OMOCODIA_POSITIONS = (6, 7, 9, 10, 12, 13, 14)  # 0-based positions of digits that may be letters
_MONTHS = "ABCDEHLMPRST"
_D = "[0-9LMNPQRSTUV]"
_CF_SHAPE = re.compile(f"[A-Z]{{6}}{_D}{{2}}[{_MONTHS}]{_D}{{2}}[A-Z]{_D}{{3}}[A-Z]")

# the value of a character in an odd (1st, 3rd, ...) position; digits count as A..J
_ODD = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", (
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
), strict=True))


class TaxCodeError(ValueError):
    """The text is not a valid tax code; the message says what is wrong."""


def normalise(text: str) -> str:
    """Upper-case, with every space (and other white space) removed."""
    return "".join(str(text).split()).upper()


def _char_value(char: str, odd: bool) -> int:
    letter = chr(ord("A") + int(char)) if char.isdigit() else char
    return _ODD[letter] if odd else ord(letter) - ord("A")


def codice_fiscale_check_char(first15: str) -> str:
    """The check letter of the first 15 characters of a codice fiscale."""
    total = sum(_char_value(c, odd=(i % 2 == 0)) for i, c in enumerate(first15))
    return chr(ord("A") + total % 26)


def check_codice_fiscale(code: str) -> str:
    """The normalised code if it is a valid codice fiscale; TaxCodeError naming the fault otherwise."""
    cf = normalise(code)
    if len(cf) != 16:
        raise TaxCodeError(f"a codice fiscale has 16 characters, {cf!r} has {len(cf)}")
    if not cf.isascii() or not cf.isalnum():
        raise TaxCodeError(f"a codice fiscale holds only letters and digits: {cf!r}")
    if not _CF_SHAPE.fullmatch(cf):
        raise TaxCodeError(
            f"{cf!r} is not shaped like a codice fiscale: 6 letters, 2 digits, a month letter "
            f"({_MONTHS}), 2 digits, a letter, 3 digits, a check letter (digits may be omocodia letters)"
        )
    day = int("".join(str(_OMOCODIA.index(c)) if c in _OMOCODIA else c for c in cf[9:11]))
    if not (1 <= day <= 31 or 41 <= day <= 71):
        raise TaxCodeError(f"the day of birth in {cf!r} is {day}: it must be 1-31 (41-71 for women)")
    expected = codice_fiscale_check_char(cf[:15])
    if cf[15] != expected:
        raise TaxCodeError(f"wrong check character in codice fiscale {cf!r}: it is {cf[15]}, it should be {expected}")
    return cf


def partita_iva_check_digit(first10: str) -> str:
    total = 0
    for i, c in enumerate(first10):
        d = int(c)
        if i % 2 == 1:  # 2nd, 4th, ... digit: doubled, minus 9 if above 9
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def check_partita_iva(code: str) -> str:
    """The normalised number if it is a valid partita IVA; TaxCodeError naming the fault otherwise."""
    piva = normalise(code)
    if len(piva) != 11 or not (piva.isascii() and piva.isdigit()):
        raise TaxCodeError(f"a partita IVA is 11 digits, {piva!r} is not")
    if piva[:7] == "0000000":
        raise TaxCodeError(f"{piva!r} is not a partita IVA: its company number is zero")
    expected = partita_iva_check_digit(piva[:10])
    if piva[10] != expected:
        raise TaxCodeError(f"wrong check digit in partita IVA {piva!r}: it is {piva[10]}, it should be {expected}")
    return piva


def check_tax_code(text: str) -> str:
    """A codice fiscale (16 characters) or a partita IVA (11 digits), told apart by shape; normalised."""
    code = normalise(text)
    if len(code) == 16:
        return check_codice_fiscale(code)
    if len(code) == 11 and code.isascii() and code.isdigit():
        return check_partita_iva(code)
    raise TaxCodeError(
        f"{code!r} is neither a codice fiscale (16 letters and digits) nor a partita IVA (11 digits): "
        f"it has {len(code)} characters"
    )


def uniqueness_tag(secret: bytes, text: str) -> bytes:
    """HMAC-SHA256(secret, b"incoop/uniqueness/v1" || normalised code): 32 bytes.

    The code is validated first (TaxCodeError if it is not a valid tax code).
    The secret is shared by the registrars and never on chain, so the tag
    reveals nothing to whoever reads the chain, and cannot be brute-forced
    over the small space of tax codes without it.
    """
    if not isinstance(secret, bytes | bytearray) or not secret:
        raise ValueError("the uniqueness secret must be non-empty bytes")
    code = check_tax_code(text)
    return hmac.new(bytes(secret), TAG_DOMAIN + code.encode("ascii"), hashlib.sha256).digest()
