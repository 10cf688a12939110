"""Payment requests (FORMAT.md §20): the `incoop:` URI.

A request that round-trips must come back unchanged and canonical; a request
with anything wrong in it (a mistyped address above all) must be refused with
one line that names the problem, never half understood.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.address import to_address
from ledger.fields import MAX_AMOUNT
from wallet.payment_request import (
    CATEGORY,
    CHAIN_ID,
    CLASS_ID,
    MAX_REF_BYTES,
    PaymentRequest,
    PaymentRequestError,
    format_request,
    parse_request,
)

PUBKEY = bytes(range(32))
ADDRESS = to_address(PUBKEY)
BASE = f"incoop:{ADDRESS}?chain=incoop-devnet&class=welfare-2026"
FULL = BASE + "&amount=1250&ref=order%2042&category=groceries"
DOC = Path(__file__).resolve().parent.parent / "FORMAT.md"


def test_minimal_request_round_trips():
    req = parse_request(BASE)
    assert req == PaymentRequest(ADDRESS, "incoop-devnet", "welfare-2026")
    assert req.amount is None and req.ref is None and req.category is None
    assert format_request(req) == BASE


def test_full_request_round_trips_and_names_the_payee():
    req = parse_request(FULL)
    assert req == PaymentRequest(ADDRESS, "incoop-devnet", "welfare-2026", 1250, "order 42", "groceries")
    assert req.payee() == PUBKEY
    assert format_request(req) == FULL


@pytest.mark.parametrize("optional", [
    {"amount": 1}, {"ref": "x"}, {"category": "food"},
    {"amount": MAX_AMOUNT, "category": "a" * 32}, {"ref": "r" * MAX_REF_BYTES, "amount": 7},
])
def test_any_subset_of_optional_parameters_round_trips(optional):
    req = PaymentRequest(ADDRESS, "c", "k", **optional)
    text = format_request(req)
    assert parse_request(text) == req
    assert format_request(parse_request(text)) == text


def test_canonical_order_is_fixed_and_parse_accepts_any_order():
    shuffled = f"incoop:{ADDRESS}?category=groceries&ref=order%2042&amount=1250&class=welfare-2026&chain=incoop-devnet"
    req = parse_request(shuffled)
    assert format_request(req) == FULL
    names = re.findall(r"[?&]([a-z]+)=", FULL)
    assert names == ["chain", "class", "amount", "ref", "category"]


def test_scheme_is_case_insensitive_when_parsing_but_lower_case_when_formatted():
    assert format_request(parse_request("INCOOP:" + BASE[len("incoop:"):])) == BASE


def test_surrounding_whitespace_of_a_pasted_request_is_ignored():
    assert format_request(parse_request(f"  {FULL}\n")) == FULL


@pytest.mark.parametrize("ref, encoded", [
    ("order 42", "order%2042"),
    ("a&b=c", "a%26b%3Dc"),
    ("1+1", "1%2B1"),
    ("caffè", "caff%C3%A8"),
    ("50%", "50%25"),
    ("A-42 / May?#", "A-42%20%2F%20May%3F%23"),
    ("日本", "%E6%97%A5%E6%9C%AC"),
    ("~._-", "~._-"),
])
def test_reference_is_percent_encoded_utf8(ref, encoded):
    text = format_request(PaymentRequest(ADDRESS, "c", "k", ref=ref))
    assert text.endswith(f"&ref={encoded}")
    assert parse_request(text).ref == ref


def test_lower_case_hex_and_rfc3986_query_characters_are_accepted():
    req = parse_request(BASE + "&ref=caff%c3%a8:@/!$'()*,;?")
    assert req.ref == "caffè:@/!$'()*,;?"
    assert format_request(req) == BASE + "&ref=caff%C3%A8%3A%40%2F%21%24%27%28%29%2A%2C%3B%3F"


ref_texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40,
).filter(lambda s: len(s.encode("utf-8")) <= MAX_REF_BYTES)


@settings(max_examples=100, deadline=None)
@given(ref=ref_texts, amount=st.none() | st.integers(1, MAX_AMOUNT))
def test_any_valid_reference_and_amount_round_trip(ref, amount):
    req = PaymentRequest(ADDRESS, "incoop-devnet", "welfare-2026", amount, ref, "food")
    text = format_request(req)
    assert text.isascii()
    assert parse_request(text) == req
    assert format_request(parse_request(text)) == text


def _addr_typo() -> str:
    # change one character of the address body: the checksum must catch it
    i = 20
    other = "a" if ADDRESS[i] != "a" else "b"
    return ADDRESS[:i] + other + ADDRESS[i + 1:]


MALFORMED = [
    ("", "must start with 'incoop:'"),
    (FULL.replace("incoop:", "bitcoin:"), "must start with 'incoop:'"),
    (FULL.replace("incoop:", "incoop"), "must start with 'incoop:'"),
    (FULL.replace("incoop:", "incoop://"), "no '//'"),
    (FULL + "#frag", "no '#' fragment"),
    ("incoop:?chain=x&class=y", "no address"),
    (f"incoop:{_addr_typo()}?chain=x&class=y", "checksum does not match"),
    (f"incoop:{ADDRESS[:-1]}?chain=x&class=y", "not an incoop address"),
    (f"incoop:{ADDRESS.upper()}?chain=x&class=y", "not an incoop address"),
    (f"incoop:{ADDRESS}", "missing parameter 'chain'"),
    (f"incoop:{ADDRESS}?", "missing parameter 'chain'"),
    (f"incoop:{ADDRESS}?class=k", "missing parameter 'chain'"),
    (f"incoop:{ADDRESS}?chain=c", "missing parameter 'class'"),
    (BASE + "&memo=x", "unknown parameter 'memo'"),
    (BASE + "&Amount=5", "unknown parameter 'Amount'"),
    (BASE + "&chain=other", "parameter 'chain' appears more than once"),
    (BASE + "&amount=1&amount=1", "parameter 'amount' appears more than once"),
    (BASE + "&", "empty parameter"),
    (BASE + "&&amount=1", "empty parameter"),
    (BASE + "&amount", "parameter 'amount' has no '=value'"),
    (BASE + "&ref=", "parameter 'ref' is empty"),
    (BASE + "&amount=0", "bad amount"),
    (BASE + "&amount=-5", "bad amount"),
    (BASE + "&amount=12.50", "bad amount"),
    (BASE + "&amount=1e3", "bad amount"),
    (BASE + "&amount=0012", "leading zeros"),
    (BASE + f"&amount={MAX_AMOUNT + 1}", "bad amount: larger than"),
    (BASE + "&amount=" + "9" * 400, "bad amount: larger than"),
    (BASE + "&amount=%31%32", None),  # percent-encoded digits are still digits: accepted
    (BASE + "&amount=١٢", "bad amount"),  # non-ASCII digits, raw: refused before int() sees them
    (BASE + "&amount=%D9%A1", "bad amount"),  # Arabic-Indic digit one, percent-encoded
    (BASE + "&ref=" + "x" * (MAX_REF_BYTES + 1), "longer than 128 bytes"),
    (BASE + "&ref=" + "%C3%A8" * 65, "longer than 128 bytes"),
    (BASE + "&ref=a b", "' ' must be percent-encoded"),
    (BASE + "&ref=caffè", "'è' must be percent-encoded"),
    (BASE + "&ref=1+1", "'+' is ambiguous"),
    (BASE + "&ref=50%", "'%' must be followed by two hex digits"),
    (BASE + "&ref=50%2", "'%' must be followed by two hex digits"),
    (BASE + "&ref=%zz", "'%' must be followed by two hex digits"),
    (BASE + "&ref=%FF", "not UTF-8"),
    (BASE + "&ref=%0A", "control character"),
    (BASE + "&ref=a%1Bb", "control character"),
    (BASE + "&category=Food", "bad category"),
    (BASE + "&category=" + "a" * 33, "bad category"),
    (BASE + "&category=a_b", "bad category"),
    (f"incoop:{ADDRESS}?chain=Dev&class=k", "bad chain"),
    (f"incoop:{ADDRESS}?chain=-dev&class=k", "bad chain"),
    (f"incoop:{ADDRESS}?chain=c&class=" + "k" * 33, "bad class"),
    (f"incoop:{ADDRESS}?chain=c&class=-k", "bad class"),
    (BASE + "&ref=" + "a" * 1100, "longer than 1024 characters"),
]


@pytest.mark.parametrize("text, message", MALFORMED)
def test_malformed_requests_are_refused_with_a_one_line_reason(text, message):
    if message is None:
        assert parse_request(text).amount == 12
        return
    with pytest.raises(PaymentRequestError) as info:
        parse_request(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_every_single_character_change_to_the_address_is_refused():
    body_start = len("incoop:")
    refused = 0
    for i in range(len("ic"), len(ADDRESS)):
        for other in "a7z":
            if ADDRESS[i] == other:
                continue
            text = BASE[:body_start + i] + other + BASE[body_start + i + 1:]
            with pytest.raises(PaymentRequestError, match="address"):
                parse_request(text)
            refused += 1
    assert refused > 100


@pytest.mark.parametrize("req, message", [
    (PaymentRequest("", "c", "k"), "no address"),
    (PaymentRequest(ADDRESS[:-1] + "x", "c", "k"), "bad address"),
    (PaymentRequest(" " + ADDRESS, "c", "k"), "bad address"),
    (PaymentRequest(ADDRESS, "", "k"), "bad chain"),
    (PaymentRequest(ADDRESS, "c", "K"), "bad class"),
    (PaymentRequest(ADDRESS, "c", "k", amount=0), "bad amount"),
    (PaymentRequest(ADDRESS, "c", "k", amount=MAX_AMOUNT + 1), "bad amount"),
    (PaymentRequest(ADDRESS, "c", "k", amount=True), "bad amount"),
    (PaymentRequest(ADDRESS, "c", "k", amount="5"), "bad amount"),
    (PaymentRequest(ADDRESS, "c", "k", ref=""), "bad ref"),
    (PaymentRequest(ADDRESS, "c", "k", ref="è" * 65), "bad ref"),
    (PaymentRequest(ADDRESS, "c", "k", ref="a\nb"), "control character"),
    (PaymentRequest(ADDRESS, "c", "k", ref="\ud800"), "bad ref"),
    (PaymentRequest(ADDRESS, "c", "k", category="Food"), "bad category"),
])
def test_format_refuses_what_parse_would_refuse(req, message):
    with pytest.raises(PaymentRequestError, match=message):
        format_request(req)


def test_patterns_agree_with_the_ledger():
    from genesis.document import CHAIN_ID_PATTERN
    from ledger.credit_rules import CATEGORY as LEDGER_CATEGORY
    from ledger.credits import CLASS_ID as LEDGER_CLASS_ID
    from ledger.credits import MAX_MEMO

    assert f"^{CHAIN_ID.pattern}$" == CHAIN_ID_PATTERN
    assert CLASS_ID.pattern == LEDGER_CLASS_ID.pattern
    assert CATEGORY.pattern == LEDGER_CATEGORY.pattern
    assert MAX_REF_BYTES == MAX_MEMO


def test_the_documented_example_parses_as_described():
    example = next(line.strip() for line in DOC.read_text().splitlines() if line.strip().startswith("incoop:ic"))
    req = parse_request(example)
    assert req == PaymentRequest(ADDRESS, "incoop-devnet", "welfare-2026", 1250, "A-42 / May", "groceries")
    assert format_request(req) == example
