"""The peer handshake as pure functions: build and check each of its three messages.

Both ends prove they hold their node key for *this* chain by signing the
other side's fresh challenge (docs/consensus.md, "Gossip and relaying": peers are authenticated by their
node keys). The signatures go through `SigningKey.sign_for` and
`ledger.crypto.verify` under DOMAIN_PEER, so the chain id is inside every
signed message and a node of another chain fails here, and the role tag
("dialer"/"listener") inside the transcript stops a signature of one role
from being replayed as the other.

    listener -> dialer    [challenge_l]
    dialer   -> listener  [dialer_pubkey, challenge_d, sig_d]
                          sig_d over ["dialer", challenge_l, challenge_d, dialer_pubkey]
    listener -> dialer    [listener_pubkey, sig_l]
                          sig_l over ["listener", challenge_d, challenge_l, listener_pubkey]
    dialer   -> listener  []   ("ready": the dialer has checked the listener's key)

Until a side has checked the other's proof it reads frames of at most
MAX_HANDSHAKE_BYTES, so that a stranger cannot make it buffer a large frame
(FORMAT.md §18.1). Each side raises its limit right after checking the proof,
at a moment when the other side has nothing in flight: the listener before it
sends its reply (the dialer waits for that reply), the dialer before it sends
"ready" (the listener sends nothing before "ready"). Without the last message
the listener's first frames could reach the dialer while it still read with
the small limit.

No sockets here, so every refusal path is testable on its own; `node.p2p.peers`
moves these bytes and decides what is allowed.
"""

from __future__ import annotations

import os
from typing import Any

from ledger.crypto import (
    DOMAIN_PEER,
    PUBKEY_LEN,
    SIGNATURE_LEN,
    SigningKey,
    signing_message,
    verify,
)
from ledger.encoding import EncodingError, decode, encode

CHALLENGE_LEN = 32
MAX_HANDSHAKE_BYTES = 1024
"""The largest frame either side reads before it has checked the other's key (FORMAT.md §18.1).

The handshake's messages are 35, 135, 101 and 1 bytes, and the largest
goodbye (200 characters of 4-byte UTF-8) is 805 bytes: anything bigger is
not part of a handshake.
"""


class HandshakeError(ValueError):
    """The other side's handshake message is malformed or its signature does not verify.

    `str(error)` is the reason, written to be logged as is.
    """


def new_challenge() -> bytes:
    """32 fresh random bytes: the signature over them cannot have been recorded earlier."""
    return os.urandom(CHALLENGE_LEN)


def dialer_transcript(challenge_l: bytes, challenge_d: bytes, dialer_pubkey: bytes) -> bytes:
    """The canonical bytes the dialer signs (under DOMAIN_PEER and the chain id)."""
    return encode(("dialer", challenge_l, challenge_d, dialer_pubkey))


def listener_transcript(challenge_d: bytes, challenge_l: bytes, listener_pubkey: bytes) -> bytes:
    """The canonical bytes the listener signs (under DOMAIN_PEER and the chain id)."""
    return encode(("listener", challenge_d, challenge_l, listener_pubkey))


# -- step 1: listener hello --------------------------------------------------------------


def listener_hello(challenge_l: bytes) -> bytes:
    return encode((challenge_l,))


def read_listener_hello(data: bytes) -> bytes:
    """The listener's challenge; HandshakeError if the message is not `[32 bytes]`."""
    (challenge_l,) = _fields(data, 1)
    _need_bytes(challenge_l, CHALLENGE_LEN, "challenge")
    return challenge_l


# -- step 2: dialer reply ----------------------------------------------------------------


def dialer_reply(key: SigningKey, chain_id: str, challenge_l: bytes, challenge_d: bytes) -> bytes:
    """`[dialer_pubkey, challenge_d, sig_d]`, answering the listener's challenge."""
    sig = key.sign_for(DOMAIN_PEER, chain_id, dialer_transcript(challenge_l, challenge_d, key.pubkey))
    return encode((key.pubkey, challenge_d, sig))


def check_dialer_reply(data: bytes, chain_id: str, challenge_l: bytes) -> tuple[bytes, bytes]:
    """(dialer_pubkey, challenge_d) once sig_d verifies; HandshakeError otherwise.

    Only shape and signature: whether that key may connect is the caller's
    question, asked after this so that a refusal names a key proven to be held.
    """
    pubkey, challenge_d, sig = _fields(data, 3)
    _need_bytes(pubkey, PUBKEY_LEN, "public key")
    _need_bytes(challenge_d, CHALLENGE_LEN, "challenge")
    _need_bytes(sig, SIGNATURE_LEN, "signature")
    message = signing_message(DOMAIN_PEER, chain_id, dialer_transcript(challenge_l, challenge_d, pubkey))
    if not verify(pubkey, message, sig):
        raise HandshakeError("bad handshake signature (another chain id, or not the key's holder)")
    return pubkey, challenge_d


# -- step 3: listener reply --------------------------------------------------------------


def listener_reply(key: SigningKey, chain_id: str, challenge_d: bytes, challenge_l: bytes) -> bytes:
    """`[listener_pubkey, sig_l]`, answering the dialer's challenge."""
    sig = key.sign_for(DOMAIN_PEER, chain_id, listener_transcript(challenge_d, challenge_l, key.pubkey))
    return encode((key.pubkey, sig))


def check_listener_reply(data: bytes, chain_id: str, challenge_d: bytes, challenge_l: bytes) -> bytes:
    """listener_pubkey once sig_l verifies; HandshakeError otherwise (shape and signature only)."""
    pubkey, sig = _fields(data, 2)
    _need_bytes(pubkey, PUBKEY_LEN, "public key")
    _need_bytes(sig, SIGNATURE_LEN, "signature")
    message = signing_message(DOMAIN_PEER, chain_id, listener_transcript(challenge_d, challenge_l, pubkey))
    if not verify(pubkey, message, sig):
        raise HandshakeError("bad handshake signature (another chain id, or not the key's holder)")
    return pubkey


# -- step 4: dialer ready ---------------------------------------------------------------


def dialer_ready() -> bytes:
    """`[]`: the dialer has checked the listener's key and reads full-size frames from now on."""
    return encode(())


def read_dialer_ready(data: bytes) -> None:
    """HandshakeError unless `data` is the canonical empty array."""
    _fields(data, 0)


# -- shapes --------------------------------------------------------------------------------


def _fields(data: Any, count: int) -> tuple[Any, ...]:
    if not isinstance(data, bytes | bytearray):
        raise HandshakeError("malformed handshake message (not a binary frame)")
    try:
        value = decode(bytes(data), max_bytes=MAX_HANDSHAKE_BYTES)
    except EncodingError as exc:
        raise HandshakeError(f"malformed handshake message ({exc})") from None
    if type(value) is not tuple or len(value) != count:
        raise HandshakeError(f"malformed handshake message (expected an array of {count})")
    return value


def _need_bytes(value: Any, length: int, what: str) -> None:
    if type(value) is not bytes or len(value) != length:
        raise HandshakeError(f"malformed handshake message ({what} is not {length} bytes)")
