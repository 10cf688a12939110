"""Signed API requests: an account key vouches for one exact request, for a minute (FORMAT.md §19.3).

Headers:

    X-Incoop-Address    the signer's text address
    X-Incoop-Time       the signing time, milliseconds since the Unix epoch (decimal)
    X-Incoop-Signature  Ed25519 signature, 128 lower-case hex characters, over

        signing_message("incoop/api/v1", chain_id,
                        canonical([METHOD, target, SHA-256(body), time_ms]))

`target` is the request target exactly as sent on the request line: path and
query, percent-encoding as sent. The server refuses, in this order:

    401 UNAUTHENTICATED   a header missing or malformed, or the signature does not verify
    401 STALE_REQUEST     time_ms more than WINDOW_MS away from the node's clock
    401 REPLAYED_REQUEST  this signer signed this very message before, within the window
    429 TOO_MANY_REQUESTS the replay memory is full of live entries (never forgets one early)

Who may do what (403 FORBIDDEN) is the caller's business: `verify_request`
only says who signed. Its replay memory remembers (signer, message) pairs,
not signatures, so that a second signature of the same message (Ed25519
signers can make many) is a replay too.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping

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


class ReplayCache:
    """Signed messages seen within the window, each forgotten once its time is outside it; bounded."""

    def __init__(self, window_ms: int = WINDOW_MS, max_entries: int = REPLAY_CACHE_MAX):
        self.window_ms = window_ms
        self.max_entries = max_entries
        self._expiry: OrderedDict[bytes, int] = OrderedDict()  # insertion order; expiry is not monotonic
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def _forget_expired(self, now_ms: int) -> None:
        expired = [k for k, until in self._expiry.items() if until < now_ms]
        for k in expired:
            del self._expiry[k]

    def remember(self, key: bytes, time_ms: int, now_ms: int) -> None:
        """Record `key` (signed at time_ms); AuthError if it was seen, or if the memory is full."""
        with self._lock:
            while self._expiry and next(iter(self._expiry.values())) < now_ms:  # oldest first, roughly
                self._expiry.popitem(last=False)
            until = self._expiry.get(key)
            if until is not None and until >= now_ms:
                raise AuthError(401, "REPLAYED_REQUEST", "this signed request was already received; sign each request afresh")
            if len(self._expiry) >= self.max_entries:
                self._forget_expired(now_ms)
                if len(self._expiry) >= self.max_entries:
                    raise AuthError(429, "TOO_MANY_REQUESTS", "too many signed requests within the replay window; retry later")
            self._expiry[key] = time_ms + self.window_ms


def verify_request(
    headers: Mapping[str, str],
    method: str,
    target: str,
    body: bytes,
    chain_id: str,
    now_ms: int | None = None,
    replay: ReplayCache | None = None,
    window_ms: int = WINDOW_MS,
) -> bytes:
    """The signer's public key if the request is signed, fresh and new; AuthError otherwise."""
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
    message = request_message(chain_id, method, target, body, time_ms)
    if not verify(signer, message, bytes.fromhex(signature_hex.strip())):
        raise _unauthenticated("the request signature does not verify (wrong key, chain, method, path, body or time)")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    skew = time_ms - now
    if abs(skew) > window_ms:
        raise AuthError(401, "STALE_REQUEST", f"the request's time is {abs(skew) / 1000:.1f} s {'ahead of' if skew > 0 else 'behind'} "
                                              f"the node's clock; the window is ±{window_ms / 1000:g} s (check the clock)")
    if replay is not None:
        replay.remember(hashlib.sha256(signer + message).digest(), time_ms, now)
    return signer
