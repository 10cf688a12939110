"""Signed API requests: an account key vouches for one exact request, for a minute (FORMAT.md §19.3).

Headers:

    X-Incoop-Address    the signer's text address
    X-Incoop-Time       the signing time, milliseconds since the Unix epoch (decimal)
    X-Incoop-Signature  Ed25519 signature, 128 lower-case hex characters, over

        signing_message("incoop/api/v1", chain_id,
                        canonical([METHOD, target, SHA-256(body), time_ms]))

`target` is the request target exactly as sent on the request line: path and
query, percent-encoding as sent. The server refuses, in this order:

    401 UNAUTHENTICATED   a header missing or malformed
    403 FORBIDDEN         the claimed signer may do nothing here (`may_sign`; before any verification)
    401 UNAUTHENTICATED   the signature does not verify
    401 STALE_REQUEST     time_ms more than WINDOW_MS away from the node's clock
    403 FORBIDDEN         the signer may not do this (the caller decides: node/vault_api.py)
    401 REPLAYED_REQUEST  this signer signed this very message before, within the window
    429 TOO_MANY_REQUESTS the signer's share of the replay memory, or the memory, is full of
                          live entries (it never forgets one early)

`authenticate_request` does the first four and remembers nothing; the caller
authorises the signer, and only then `ReplayCache.remember` records the
request, so that a key with no business here never occupies the memory. The
memory holds (signer, message) pairs, not signatures, so that a second
signature of the same message (Ed25519 signers can make many) is a replay too.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ledger.address import AddressError, from_address, to_address
from ledger.crypto import DOMAIN_API, SigningKey, sha256, signing_message, verify
from ledger.encoding import encode

H_ADDRESS = "X-Incoop-Address"
H_TIME = "X-Incoop-Time"
H_SIGNATURE = "X-Incoop-Signature"
WINDOW_MS = 60_000
REPLAY_CACHE_MAX = 100_000

_TIME = re.compile(r"\d{1,19}")
_SIGNATURE = re.compile(r"[0-9a-f]{128}")
_METHOD = re.compile(r"[A-Z]{1,16}")


class AuthError(Exception):
    """A refused request: HTTP status, contract error code, one-line message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _unauthenticated(message: str) -> AuthError:
    return AuthError(401, "UNAUTHENTICATED", message)


def request_payload(method: str, target: str, body: bytes, time_ms: int) -> bytes:
    """canonical([METHOD, target, SHA-256(body), time_ms]): what the signature covers, under the domain."""
    return encode((method.upper(), target, sha256(bytes(body)), time_ms))


def request_message(chain_id: str, method: str, target: str, body: bytes, time_ms: int) -> bytes:
    return signing_message(DOMAIN_API, chain_id, request_payload(method, target, body, time_ms))


def sign_request(key: SigningKey, chain_id: str, method: str, target: str, body: bytes, time_ms: int) -> dict[str, str]:
    """The three headers for a request signed by `key`."""
    signature = key.sign(request_message(chain_id, method, target, body, time_ms))
    return {H_ADDRESS: to_address(key.pubkey), H_TIME: str(time_ms), H_SIGNATURE: signature.hex()}


@dataclass(frozen=True)
class SignedRequest:
    """A request whose signature verified and whose time is within the window (nothing remembered yet)."""

    signer: bytes
    time_ms: int
    now_ms: int
    replay_key: bytes  # SHA-256(signer || signing message): what the replay memory remembers


class ReplayCache:
    """Signed requests accepted within the window, each forgotten once its time is outside it; bounded.

    `max_entries` bounds the whole memory and `max_per_signer` (if set) what
    one key may hold of it, so that one key cannot fill it for the others.
    A full memory refuses (429) rather than forget a live entry early, since
    a forgotten entry could be replayed. Only requests already authorised
    are remembered (node/vault_api.py), so a stranger never enters it.
    """

    def __init__(self, window_ms: int = WINDOW_MS, max_entries: int = REPLAY_CACHE_MAX,
                 max_per_signer: int | None = None):
        self.window_ms = window_ms
        self.max_entries = max_entries
        self.max_per_signer = max_per_signer
        self._until: dict[bytes, tuple[int, bytes]] = {}  # replay key -> (last live ms, signer)
        self._expiry: list[tuple[int, bytes]] = []  # heap of (last live ms, replay key)
        self._per_signer: dict[bytes, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._until)

    def held_by(self, signer: bytes) -> int:
        return self._per_signer.get(signer, 0)

    def _forget_expired(self, now_ms: int) -> None:
        while self._expiry and self._expiry[0][0] < now_ms:
            _, key = heapq.heappop(self._expiry)
            _, signer = self._until.pop(key)
            left = self._per_signer[signer] - 1
            if left:
                self._per_signer[signer] = left
            else:
                del self._per_signer[signer]

    def remember(self, request: SignedRequest) -> None:
        """Record an authorised request; AuthError if it was seen, or if its key's share or the memory is full."""
        with self._lock:
            self._forget_expired(request.now_ms)
            if request.replay_key in self._until:
                raise AuthError(401, "REPLAYED_REQUEST", "this signed request was already received; sign each request afresh")
            if self.max_per_signer is not None and self.held_by(request.signer) >= self.max_per_signer:
                raise AuthError(429, "TOO_MANY_REQUESTS", f"this key has {self.max_per_signer} signed requests within "
                                                          "the replay window, its share; retry later")
            if len(self._until) >= self.max_entries:
                raise AuthError(429, "TOO_MANY_REQUESTS", "too many signed requests within the replay window; retry later")
            until = request.time_ms + self.window_ms
            self._until[request.replay_key] = (until, request.signer)
            heapq.heappush(self._expiry, (until, request.replay_key))
            self._per_signer[request.signer] = self.held_by(request.signer) + 1


def authenticate_request(
    headers: Mapping[str, str],
    method: str,
    target: str,
    body: bytes,
    chain_id: str,
    now_ms: int | None = None,
    window_ms: int = WINDOW_MS,
    may_sign: Callable[[bytes], bool] | None = None,
) -> SignedRequest:
    """The signed request if its signature verifies and its time is fresh; AuthError otherwise.

    `may_sign`, if given, is asked about the claimed signer once the headers
    parse and before the signature is verified: a key that could not be
    allowed anything is refused (403) without spending a verification on it.
    Remembers nothing: the caller authorises the signer for this request and
    only then calls `ReplayCache.remember` (FORMAT.md §19.3).
    """
    address, time_text, signature_hex = headers.get(H_ADDRESS), headers.get(H_TIME), headers.get(H_SIGNATURE)
    if address is None or time_text is None or signature_hex is None:
        missing = [h for h, v in ((H_ADDRESS, address), (H_TIME, time_text), (H_SIGNATURE, signature_hex)) if v is None]
        raise _unauthenticated(f"this request must be signed: missing {', '.join(missing)}")
    try:
        signer = from_address(address.strip())
    except AddressError as exc:
        raise _unauthenticated(f"{H_ADDRESS}: {exc}") from None
    if not _TIME.fullmatch(time_text.strip()):
        raise _unauthenticated(f"{H_TIME} is milliseconds since the Unix epoch, a decimal integer")
    time_ms = int(time_text.strip())
    if time_ms >= 2**63:
        raise _unauthenticated(f"{H_TIME} is out of range")
    if not _SIGNATURE.fullmatch(signature_hex.strip()):
        raise _unauthenticated(f"{H_SIGNATURE} is 128 lower-case hex characters")
    if not _METHOD.fullmatch(method):
        raise _unauthenticated("unsupported method")
    if may_sign is not None and not may_sign(signer):
        raise AuthError(403, "FORBIDDEN", "this key may not use this service")
    message = request_message(chain_id, method, target, body, time_ms)
    if not verify(signer, message, bytes.fromhex(signature_hex.strip())):
        raise _unauthenticated("the request signature does not verify (wrong key, chain, method, path, body or time)")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    skew = time_ms - now
    if abs(skew) > window_ms:
        raise AuthError(401, "STALE_REQUEST", f"the request's time is {abs(skew) / 1000:.1f} s {'ahead of' if skew > 0 else 'behind'} "
                                              f"the node's clock; the window is ±{window_ms / 1000:g} s (check the clock)")
    return SignedRequest(signer, time_ms, now, hashlib.sha256(signer + message).digest())
