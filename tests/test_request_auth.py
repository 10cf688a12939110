"""Signed API requests (keys/request_auth.py, FORMAT.md §19.3), with real Ed25519 signatures.

A signature vouches for one method, one request target, one body, one chain
and one moment: change any of them and it no longer verifies; outside the
±60 s window it is stale; within it, the same signed message twice is a
replay. Authentication remembers nothing; the replay memory is filled only
by what the caller remembers after authorising, and gives no key more than
its share. Every refusal carries its status and contract code.
"""

from __future__ import annotations

import pytest

from keys.request_auth import (
    H_ADDRESS,
    H_SIGNATURE,
    H_TIME,
    WINDOW_MS,
    AuthError,
    ReplayCache,
    authenticate_request,
    request_message,
    sign_request,
)
from ledger.address import to_address
from ledger.crypto import DOMAIN_API, SigningKey, sha256, signing_message, verify
from ledger.encoding import encode

CHAIN = "incoop-test"
NOW = 1_800_000_000_000
KEY = SigningKey(bytes(range(32)))
TARGET = "/v1/vault/records/00112233445566778899aabbccddeeff?x=1"
BODY = b'{"id": "00112233445566778899aabbccddeeff"}'


def signed(method="GET", target=TARGET, body=b"", time_ms=NOW, key=KEY, chain=CHAIN) -> dict[str, str]:
    return sign_request(key, chain, method, target, body, time_ms)


def verify_request(headers: dict, method: str, target: str, body: bytes, chain: str, now_ms: int,
                   replay: ReplayCache | None = None) -> bytes:
    """Authenticate, then (as the vault does once it has authorised the signer) remember; the signer."""
    request = authenticate_request(headers, method, target, body, chain, now_ms=now_ms)
    if replay is not None:
        replay.remember(request)
    return request.signer


def refused(status: int, code: str, headers: dict, method="GET", target=TARGET, body=b"", now=NOW, replay=None) -> AuthError:
    with pytest.raises(AuthError) as caught:
        verify_request(headers, method, target, body, CHAIN, now_ms=now, replay=replay)
    assert (caught.value.status, caught.value.code) == (status, code), caught.value.message
    assert caught.value.message
    return caught.value


def test_the_signed_bytes_are_the_documented_ones():
    message = request_message(CHAIN, "post", TARGET, BODY, NOW)
    assert message == signing_message(DOMAIN_API, CHAIN, encode(("POST", TARGET, sha256(BODY), NOW)))
    assert message == encode(("incoop/api/v1", CHAIN, encode(("POST", TARGET, sha256(BODY), NOW))))
    headers = signed("POST", body=BODY)
    assert headers[H_ADDRESS] == to_address(KEY.pubkey)
    assert headers[H_TIME] == str(NOW)
    assert verify(KEY.pubkey, message, bytes.fromhex(headers[H_SIGNATURE]))


def test_a_valid_request_names_its_signer():
    assert verify_request(signed(), "GET", TARGET, b"", CHAIN, now_ms=NOW) == KEY.pubkey
    assert verify_request(signed("POST", body=BODY), "POST", TARGET, BODY, CHAIN, now_ms=NOW) == KEY.pubkey
    assert verify_request(signed("DELETE"), "DELETE", TARGET, b"", CHAIN, now_ms=NOW + WINDOW_MS) == KEY.pubkey
    assert verify_request(signed(), "GET", TARGET, b"", CHAIN, now_ms=NOW - WINDOW_MS) == KEY.pubkey


@pytest.mark.parametrize(
    ("what", "method", "target", "body"),
    [
        ("the body", "POST", TARGET, BODY.replace(b"00", b"01", 1)),
        ("an empty body", "POST", TARGET, b""),
        ("the path", "POST", TARGET.replace("0011", "0012"), BODY),
        ("the query", "POST", TARGET.replace("x=1", "x=2"), BODY),
        ("the percent-encoding", "POST", TARGET.replace("/v1/", "/v%31/"), BODY),
        ("the method", "PUT", TARGET, BODY),
    ],
)
def test_a_tampered_request_does_not_verify(what, method, target, body):
    headers = signed("POST", body=BODY)
    refused(401, "UNAUTHENTICATED", headers, method, target, body)


def test_a_signature_for_another_chain_or_key_does_not_verify():
    refused(401, "UNAUTHENTICATED", signed(chain="incoop-other"))
    other = SigningKey(bytes(32))
    forged = dict(signed(key=other), **{H_ADDRESS: to_address(KEY.pubkey)})
    error = refused(401, "UNAUTHENTICATED", forged)
    assert "does not verify" in error.message


def test_a_signature_under_another_domain_does_not_verify():
    payload = encode(("GET", TARGET, sha256(b""), NOW))
    headers = signed()
    headers[H_SIGNATURE] = KEY.sign_for("incoop/tx/v1", CHAIN, payload).hex()
    refused(401, "UNAUTHENTICATED", headers)


def test_the_signed_time_cannot_be_moved():
    headers = dict(signed(), **{H_TIME: str(NOW + 1)})
    refused(401, "UNAUTHENTICATED", headers)


def test_stale_requests_outside_the_window():
    error = refused(401, "STALE_REQUEST", signed(time_ms=NOW - WINDOW_MS - 1))
    assert "behind" in error.message
    error = refused(401, "STALE_REQUEST", signed(time_ms=NOW + WINDOW_MS + 1))
    assert "ahead" in error.message
    # a stale request with a bad signature is unauthenticated: STALE says "authentic but old"
    refused(401, "UNAUTHENTICATED", dict(signed(time_ms=NOW - 10 * WINDOW_MS), **{H_TIME: str(NOW - 10 * WINDOW_MS + 1)}))


def test_a_replay_within_the_window_is_refused():
    cache = ReplayCache()
    headers = signed()
    assert verify_request(headers, "GET", TARGET, b"", CHAIN, now_ms=NOW, replay=cache) == KEY.pubkey
    refused(401, "REPLAYED_REQUEST", headers, replay=cache)
    refused(401, "REPLAYED_REQUEST", headers, now=NOW + WINDOW_MS, replay=cache)
    # the same request signed a millisecond later is a new request
    assert verify_request(signed(time_ms=NOW + 1), "GET", TARGET, b"", CHAIN, now_ms=NOW, replay=cache) == KEY.pubkey
    # past the window the old one is stale, not a replay: the cache may forget it
    refused(401, "STALE_REQUEST", headers, now=NOW + WINDOW_MS + 1, replay=cache)


def test_another_signers_identical_request_is_not_a_replay():
    cache = ReplayCache()
    other = SigningKey(bytes(31) + b"\x01")
    verify_request(signed(), "GET", TARGET, b"", CHAIN, now_ms=NOW, replay=cache)
    assert verify_request(signed(key=other), "GET", TARGET, b"", CHAIN, now_ms=NOW, replay=cache) == other.pubkey


def test_a_bad_signature_does_not_enter_the_replay_memory():
    cache = ReplayCache()
    bad = dict(signed(), **{H_SIGNATURE: "00" * 64})
    refused(401, "UNAUTHENTICATED", bad, replay=cache)
    assert len(cache) == 0


def test_the_replay_memory_is_bounded_and_never_forgets_a_live_entry():
    cache = ReplayCache(max_entries=3)
    for i in range(3):
        verify_request(signed(time_ms=NOW + i), "GET", TARGET, b"", CHAIN, now_ms=NOW, replay=cache)
    refused(429, "TOO_MANY_REQUESTS", signed(time_ms=NOW + 3), replay=cache)
    assert len(cache) == 3
    # once the old ones are past the window they make room
    later = NOW + WINDOW_MS + 10
    assert verify_request(signed(time_ms=later), "GET", TARGET, b"", CHAIN, now_ms=later, replay=cache) == KEY.pubkey
    assert len(cache) == 1


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({H_ADDRESS: None}, "missing X-Incoop-Address"),
        ({H_TIME: None, H_SIGNATURE: None}, "missing X-Incoop-Time, X-Incoop-Signature"),
        ({H_ADDRESS: "ic" + "a" * 58}, "X-Incoop-Address"),
        ({H_ADDRESS: KEY.pubkey.hex()}, "X-Incoop-Address"),
        ({H_TIME: "-5"}, "X-Incoop-Time"),
        ({H_TIME: "1.5e12"}, "X-Incoop-Time"),
        ({H_TIME: "9" * 19}, "out of range"),
        ({H_SIGNATURE: "AB" * 64}, "X-Incoop-Signature"),
        ({H_SIGNATURE: "ab" * 63}, "X-Incoop-Signature"),
    ],
)
def test_missing_or_malformed_headers_are_unauthenticated(change, words):
    headers = signed()
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    error = refused(401, "UNAUTHENTICATED", headers)
    assert words in error.message


def test_format_md_section_19_example_is_what_the_code_computes():
    """FORMAT.md §19.3 quotes a signed request: recomputed here so it cannot drift."""
    from pathlib import Path

    from keys.request_auth import request_payload

    text = (Path(__file__).resolve().parents[1] / "FORMAT.md").read_text(encoding="utf-8")
    section = " ".join(text[text.index("### 19.3"):text.index("### 19.4")].split())
    target, time_ms = "/v1/vault/records/000102030405060708090a0b0c0d0e0f", 1_800_000_000_000
    headers = sign_request(KEY, "incoop-example", "GET", target, b"", time_ms)
    payload = request_payload("GET", target, b"", time_ms).hex()
    signature = headers[H_SIGNATURE]
    assert f"address `{headers[H_ADDRESS]}`" in section
    assert "payload " + " ".join(payload[i:i + 74] for i in range(0, len(payload), 74)) in section
    assert "signature " + signature[:64] + " " + signature[64:] in section


def test_authentication_alone_remembers_nothing():
    """A request that verifies but is then not authorised must leave no trace (FORMAT.md §19.3)."""
    cache = ReplayCache(max_entries=3)
    headers = signed()
    for _ in range(10):
        assert authenticate_request(headers, "GET", TARGET, b"", CHAIN, now_ms=NOW).signer == KEY.pubkey
    assert len(cache) == 0
    verify_request(headers, "GET", TARGET, b"", CHAIN, now_ms=NOW, replay=cache)
    assert len(cache) == 1


def test_one_key_gets_only_its_share_of_the_memory():
    cache = ReplayCache(max_entries=10, max_per_signer=3)
    other = SigningKey(bytes(31) + b"\x02")
    for i in range(3):
        verify_request(signed(time_ms=NOW + i), "GET", TARGET, b"", CHAIN, now_ms=NOW, replay=cache)
    error = refused(429, "TOO_MANY_REQUESTS", signed(time_ms=NOW + 3), replay=cache)
    assert "share" in error.message
    assert cache.held_by(KEY.pubkey) == 3 and len(cache) == 3
    # another key still has its own share
    for i in range(3):
        assert verify_request(signed(time_ms=NOW + i, key=other), "GET", TARGET, b"", CHAIN, now_ms=NOW, replay=cache) == other.pubkey
    # the first key's share comes back as its requests leave the window, one by one:
    # a millisecond past the first one's window, exactly one more fits
    later = NOW + WINDOW_MS + 1
    assert verify_request(signed(time_ms=later), "GET", TARGET, b"", CHAIN, now_ms=later, replay=cache) == KEY.pubkey
    refused(429, "TOO_MANY_REQUESTS", signed(time_ms=later + 1), now=later, replay=cache)
    assert cache.held_by(KEY.pubkey) == 3 and cache.held_by(other.pubkey) == 2  # its first left too


def test_the_memory_forgets_in_expiry_order_whatever_the_arrival_order():
    """Requests signed up to 60 s ahead or behind arrive in any order; each leaves exactly when its window ends."""
    cache = ReplayCache(max_entries=3)
    for offset in (WINDOW_MS, -WINDOW_MS, 0):  # ahead, behind, now
        verify_request(signed(time_ms=NOW + offset), "GET", TARGET, b"", CHAIN, now_ms=NOW, replay=cache)
    refused(429, "TOO_MANY_REQUESTS", signed(time_ms=NOW + 1), replay=cache)
    # 1 ms later the one signed 60 s behind has left; the other two are still replays
    now = NOW + 1
    verify_request(signed(time_ms=NOW + 1), "GET", TARGET, b"", CHAIN, now_ms=now, replay=cache)
    refused(401, "REPLAYED_REQUEST", signed(time_ms=NOW + WINDOW_MS), now=now, replay=cache)
    refused(401, "REPLAYED_REQUEST", signed(time_ms=NOW), now=now, replay=cache)
    assert len(cache) == 3


def test_a_key_that_may_do_nothing_is_refused_before_its_signature_is_verified():
    stranger = SigningKey(bytes(31) + b"\x03")
    allowed = {KEY.pubkey}
    asked = []

    def may_sign(signer: bytes) -> bool:
        asked.append(signer)
        return signer in allowed

    for headers in (signed(key=stranger), dict(signed(key=stranger), **{H_SIGNATURE: "00" * 64})):
        with pytest.raises(AuthError) as caught:
            authenticate_request(headers, "GET", TARGET, b"", CHAIN, now_ms=NOW, may_sign=may_sign)
        assert (caught.value.status, caught.value.code) == (403, "FORBIDDEN")
    # a key that may sign is verified as usual: a bad signature is still 401
    with pytest.raises(AuthError) as caught:
        authenticate_request(dict(signed(), **{H_SIGNATURE: "00" * 64}), "GET", TARGET, b"", CHAIN, now_ms=NOW, may_sign=may_sign)
    assert caught.value.code == "UNAUTHENTICATED"
    assert authenticate_request(signed(), "GET", TARGET, b"", CHAIN, now_ms=NOW, may_sign=may_sign).signer == KEY.pubkey
    # malformed headers are 401 before anyone is asked
    with pytest.raises(AuthError) as caught:
        authenticate_request({H_ADDRESS: "nope", H_TIME: str(NOW), H_SIGNATURE: "00" * 64}, "GET", TARGET, b"", CHAIN,
                             now_ms=NOW, may_sign=may_sign)
    assert caught.value.code == "UNAUTHENTICATED"
    assert asked == [stranger.pubkey, stranger.pubkey, KEY.pubkey, KEY.pubkey]
