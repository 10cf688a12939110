"""Payment requests: the `incoop:` URI a provider shows and a payer pays.

Format
======

    incoop:<address>?chain=<chain_id>&class=<class_id>[&amount=<n>][&ref=<reference>][&category=<category>]

* `incoop:` is the scheme, lower case in the canonical form (accepted in any
  case when parsing, as RFC 3986 asks of schemes). No `//` follows it and no
  `#fragment` may follow the parameters.
* `<address>` is the payee's account address (FORMAT.md, "Addresses"),
  checked with its checksum: a mistyped address is an error, never a payment
  to an account nobody holds.
* The parameters follow a `?`, separated by `&`, each written `name=value`:

  | name       | required | value                                                      |
  |------------|----------|------------------------------------------------------------|
  | `chain`    | yes      | the chain id, `[a-z0-9][a-z0-9-]{0,47}`; a wallet refuses a request for another chain |
  | `class`    | yes      | the credit class id, `[a-z0-9][a-z0-9-]{0,31}`              |
  | `amount`   | no       | minor units, a decimal integer from 1 to 2^63-1, no sign, no leading zeros, no decimal point; absent means the payer chooses |
  | `ref`      | no       | the payee's reference (an order number), 1 to 128 bytes of UTF-8, no control characters |
  | `category` | no       | the category of goods or services paid for, `[a-z0-9-]{1,32}` |

  Names are case sensitive. An unknown name, a name given twice, a parameter
  without `=`, an empty value, or an empty parameter (`&&`, a trailing `&`)
  is an error: a request that a wallet half understands is refused, not
  guessed at.
* Values are percent-encoded UTF-8 (RFC 3986). The canonical form encodes
  every byte outside the unreserved set `A-Z a-z 0-9 - . _ ~` as `%XX` with
  upper-case hex, so a space is `%20`, `&` is `%26`, `=` is `%3D`, `+` is
  `%2B` and `é` is `%C3%A9`. When parsing, lower-case hex is accepted, and so
  are the characters RFC 3986 allows unencoded in a query (`! $ ' ( ) * , ; :
  @ / ?`); a `+` is refused, because some encoders mean a space by it and
  others a plus, and a reference read the wrong way would not match the order.
  Anything else (a space, a non-ASCII character, a `%` not followed by two hex
  digits, bytes that are not UTF-8) is an error.
* The canonical form lists the parameters in the order of the table, leaves
  out the absent optional ones, and is at most 1024 characters; parsing
  accepts the parameters in any order. Formatting a parsed canonical request
  gives back the same text.

Example (a 12.50 payment in a class with 2 decimals):

    incoop:ic…?chain=incoop-devnet&class=welfare-2026&amount=1250&ref=order%2042&category=groceries

The amount is in minor units, so that a request never depends on how many
decimals the payer's wallet believes the class has; a wallet shows it with the
class's decimals (cli.common.format_amount).
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from ledger.address import AddressError, from_address
from ledger.fields import MAX_AMOUNT

SCHEME = "incoop"
MAX_URI_LEN = 1024
MAX_REF_BYTES = 128
"""The ledger's limit on a pay transaction's order reference (ledger.credits.MAX_MEMO)."""

CHAIN_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,47}")
"""genesis.document.CHAIN_ID_PATTERN (tests check that the two agree)."""
CLASS_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
"""ledger.credits.CLASS_ID (tests check that the two agree)."""
CATEGORY = re.compile(r"[a-z0-9-]{1,32}")
"""ledger.credit_rules.CATEGORY (tests check that the two agree)."""

PARAMETERS = ("chain", "class", "amount", "ref", "category")
"""Every parameter, in canonical order."""

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ALLOWED_RAW = frozenset(_UNRESERVED | set(b"!$'()*,;:@/?"))
_HEX = frozenset("0123456789abcdefABCDEF")


class PaymentRequestError(ValueError):
    """A request that cannot be formatted or parsed; the message is one line naming why."""


class PaymentRequest(NamedTuple):
    address: str
    chain_id: str
    class_id: str
    amount: int | None = None
    ref: str | None = None
    category: str | None = None

    def payee(self) -> bytes:
        """The payee's public key."""
        return from_address(self.address)


# --- checks shared by format and parse ----------------------------------------


def _check_address(address: object) -> str:
    if not isinstance(address, str) or not address:
        raise PaymentRequestError("the request has no address")
    try:
        from_address(address)
    except AddressError as exc:
        raise PaymentRequestError(f"bad address: {exc}") from None
    if address != address.strip():
        raise PaymentRequestError("bad address: it has spaces around it")
    return address


def _check_identifier(value: object, name: str, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise PaymentRequestError(f"bad {name}: {value!r} does not match {pattern.pattern}")
    return value


def _check_amount(value: object) -> int:
    if type(value) is not int or not 0 < value <= MAX_AMOUNT:
        raise PaymentRequestError(f"bad amount: {value!r} is not an integer from 1 to {MAX_AMOUNT}")
    return value


def _check_ref(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise PaymentRequestError("bad ref: it is empty (leave it out instead)")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_REF_BYTES:
        raise PaymentRequestError(f"bad ref: longer than {MAX_REF_BYTES} bytes of UTF-8")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PaymentRequestError("bad ref: it is not valid Unicode text") from None
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise PaymentRequestError("bad ref: it contains a control character")
    return value


def _check(req: PaymentRequest) -> PaymentRequest:
    _check_address(req.address)
    _check_identifier(req.chain_id, "chain", CHAIN_ID)
    _check_identifier(req.class_id, "class", CLASS_ID)
    if req.amount is not None:
        _check_amount(req.amount)
    if req.ref is not None:
        _check_ref(req.ref)
    if req.category is not None:
        _check_identifier(req.category, "category", CATEGORY)
    return req


# --- percent-encoding ----------------------------------------------------------


def _encode_value(value: str) -> str:
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in value.encode("utf-8"))


def _decode_value(name: str, raw: str) -> str:
    out = bytearray()
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "%":
            hex_digits = raw[i + 1:i + 3]
            if len(hex_digits) != 2 or not set(hex_digits) <= _HEX:
                raise PaymentRequestError(f"bad {name}: '%' must be followed by two hex digits")
            out.append(int(hex_digits, 16))
            i += 3
            continue
        if ch == "+":
            raise PaymentRequestError(f"bad {name}: '+' is ambiguous; write %20 for a space or %2B for a plus")
        if ord(ch) >= 128 or ord(ch) not in _ALLOWED_RAW:
            raise PaymentRequestError(f"bad {name}: {ch!r} must be percent-encoded")
        out.append(ord(ch))
        i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise PaymentRequestError(f"bad {name}: the percent-encoded bytes are not UTF-8") from None


# --- the two directions -------------------------------------------------------------


def format_request(req: PaymentRequest) -> str:
    """The canonical URI of a request; PaymentRequestError if a field is invalid."""
    _check(req)
    params = [("chain", req.chain_id), ("class", req.class_id)]
    if req.amount is not None:
        params.append(("amount", str(req.amount)))
    if req.ref is not None:
        params.append(("ref", req.ref))
    if req.category is not None:
        params.append(("category", req.category))
    query = "&".join(f"{name}={_encode_value(value)}" for name, value in params)
    return f"{SCHEME}:{req.address}?{query}"


def _parse_amount(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise PaymentRequestError(f"bad amount: {text!r} is not a whole number of minor units")
    if text.startswith("0"):
        raise PaymentRequestError(f"bad amount: {text!r} is zero or has leading zeros")
    if len(text) > len(str(MAX_AMOUNT)) or int(text) > MAX_AMOUNT:
        raise PaymentRequestError(f"bad amount: larger than {MAX_AMOUNT}")
    return int(text)


def parse_request(text: str) -> PaymentRequest:
    """The request a URI carries; PaymentRequestError names the first thing wrong with it."""
    if not isinstance(text, str):
        raise PaymentRequestError("a payment request is text")
    text = text.strip()
    if len(text) > MAX_URI_LEN:
        raise PaymentRequestError(f"the request is longer than {MAX_URI_LEN} characters")
    scheme, colon, rest = text.partition(":")
    if not colon or scheme.lower() != SCHEME:
        raise PaymentRequestError(f"not a payment request: it must start with '{SCHEME}:'")
    if rest.startswith("//"):
        raise PaymentRequestError(f"no '//' after '{SCHEME}:': the address follows the colon")
    if "#" in rest:
        raise PaymentRequestError("a payment request has no '#' fragment")
    address, question, query = rest.partition("?")
    if not address:
        raise PaymentRequestError("the request has no address")
    _check_address(address)
    values: dict[str, str] = {}
    if query:
        for part in query.split("&"):
            if not part:
                raise PaymentRequestError("empty parameter (a stray '&')")
            name, equals, raw = part.partition("=")
            if not equals:
                raise PaymentRequestError(f"parameter {name!r} has no '=value'")
            if name not in PARAMETERS:
                raise PaymentRequestError(f"unknown parameter {name!r} (known: {', '.join(PARAMETERS)})")
            if name in values:
                raise PaymentRequestError(f"parameter {name!r} appears more than once")
            if not raw:
                raise PaymentRequestError(f"parameter {name!r} is empty")
            values[name] = _decode_value(name, raw)
    for name in ("chain", "class"):
        if name not in values:
            raise PaymentRequestError(f"missing parameter {name!r}")
    amount = values.get("amount")
    req = PaymentRequest(
        address=address,
        chain_id=values["chain"],
        class_id=values["class"],
        amount=None if amount is None else _parse_amount(amount),
        ref=values.get("ref"),
        category=values.get("category"),
    )
    return _check(req)
