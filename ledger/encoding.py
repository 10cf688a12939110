"""Canonical MessagePack: one value, exactly one byte string.

Everything that is hashed or signed goes through `encode`, and everything that
arrives from outside goes through `decode`. The decoder accepts a byte string
only if re-encoding the decoded value gives the very same bytes, so that two
nodes can never disagree on a hash because one of them kept a non-minimal
integer, a map, a float or trailing garbage (FORMAT.md, "Canonical encoding").

Allowed values: integers in [-2**63, 2**64 - 1], byte strings, UTF-8 strings,
arrays (tuples or lists), booleans and nil. Decoded arrays are tuples.
"""

from __future__ import annotations

from typing import Any

import msgpack

MAX_DECODE_BYTES = 4 * 1024 * 1024
"""Default ceiling on one decoded value; callers pass a tighter one where they can."""

INT_MIN = -(2**63)
INT_MAX = 2**64 - 1


class EncodingError(ValueError):
    """The bytes are not the canonical encoding of an allowed value."""


_packer_kwargs = {"use_bin_type": True, "strict_types": False, "autoreset": True}


def _check(value: Any, depth: int = 0) -> None:
    if depth > 32:
        raise EncodingError("nesting deeper than 32")
    t = type(value)
    if t is int:
        if not INT_MIN <= value <= INT_MAX:
            raise EncodingError("integer out of range")
    elif t is bytes or t is str or t is bool or value is None:
        return
    elif t is tuple or t is list:
        for item in value:
            _check(item, depth + 1)
    else:
        raise EncodingError(f"type {t.__name__} has no canonical encoding")


def encode(value: Any) -> bytes:
    """Canonical bytes of `value`; raises EncodingError for floats, maps and the like."""
    _check(value)
    try:
        return msgpack.packb(value, **_packer_kwargs)
    except UnicodeEncodeError as exc:  # a str with a lone surrogate is not UTF-8
        raise EncodingError("string is not valid UTF-8") from exc


def _no_ext(code: int, data: bytes) -> Any:
    raise EncodingError("extension types are not allowed")


def _no_map(pairs: Any) -> Any:
    raise EncodingError("maps are not allowed")


def decode(data: bytes, max_bytes: int = MAX_DECODE_BYTES) -> Any:
    """Decode canonical bytes; anything else raises EncodingError."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise EncodingError("expected bytes")
    data = bytes(data)
    if len(data) > max_bytes:
        raise EncodingError(f"encoded value larger than {max_bytes} bytes")
    if not data:
        raise EncodingError("empty input")
    try:
        value = msgpack.unpackb(
            data,
            raw=False,
            use_list=False,
            strict_map_key=True,
            object_pairs_hook=_no_map,
            ext_hook=_no_ext,
        )
    except EncodingError:
        raise
    except msgpack.ExtraData as exc:
        raise EncodingError("trailing bytes after the value") from exc
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise EncodingError(f"not valid MessagePack: {exc}") from exc
    _check(value)
    if msgpack.packb(value, **_packer_kwargs) != data:
        raise EncodingError("not the canonical encoding")
    return value

