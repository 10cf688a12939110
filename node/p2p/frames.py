"""The frame format after the handshake: canonical MessagePack of `[kind, payload]`.

Decoding goes through `ledger.encoding.decode`, which refuses any
non-canonical byte string, so that the gossip seen-set (keyed by the hash of
the frame's bytes) sees one message as one hash whoever relayed it.
"""

from __future__ import annotations

from typing import Any

from ledger.encoding import EncodingError, decode, encode

KIND_GOODBYE = 0
"""Reserved: `[0, "reason"]` is the last frame a side sends before closing on purpose."""

MAX_REASON_CHARS = 200


class FrameError(ValueError):
    """A received frame that is not canonical `[int >= 0, value]` within the size bound."""


def encode_frame(kind: int, payload: Any) -> bytes:
    """The wire bytes of one frame; EncodingError if the payload has no canonical encoding."""
    return encode((kind, payload))


def decode_frame(data: bytes, max_bytes: int) -> tuple[int, Any]:
    """(kind, payload) of a received frame; FrameError says what is wrong with it."""
    if len(data) > max_bytes:
        raise FrameError(f"frame of {len(data)} bytes is over the limit of {max_bytes}")
    try:
        value = decode(data, max_bytes=max_bytes)
    except EncodingError as exc:
        raise FrameError(f"frame does not decode: {exc}") from None
    if type(value) is not tuple or len(value) != 2 or type(value[0]) is not int or value[0] < 0:
        raise FrameError("frame is not [kind, payload] with a non-negative integer kind")
    return value[0], value[1]


def goodbye_frame(reason: str) -> bytes:
    return encode_frame(KIND_GOODBYE, reason[:MAX_REASON_CHARS])


def goodbye_reason(payload: Any) -> str:
    """The reason text of a goodbye payload, made safe to log whatever the peer sent."""
    if type(payload) is not str:
        return "(no reason given)"
    return payload[:MAX_REASON_CHARS].encode("unicode_escape").decode("ascii")


def read_goodbye(data: bytes) -> str | None:
    """The reason if `data` is a goodbye frame (a refusal in place of a handshake reply), else None."""
    try:
        kind, payload = decode_frame(data, 4096)
    except FrameError:
        return None
    return goodbye_reason(payload) if kind == KIND_GOODBYE else None
