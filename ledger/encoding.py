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

import threading
from typing import Any

import msgpack

MAX_DECODE_BYTES = 4 * 1024 * 1024
"""Default ceiling on one decoded value; callers pass a tighter one where they can."""

INT_MIN = -(2**63)
INT_MAX = 2**64 - 1


class EncodingError(ValueError):
    """The bytes are not the canonical encoding of an allowed value."""


_SCALAR_TYPES = frozenset((int, bytes, str, bool, type(None)))
_ARRAY_TYPES = (tuple, list)
MAX_DEPTH = 32


def _check(value: Any) -> None:
    """Raise EncodingError unless `value` holds only allowed types, nested at most 32 deep.

    Integer range is not checked here: the MessagePack packer refuses an
    integer outside [-2**63, 2**64 - 1] (see `_pack`), and the unpacker can
    produce no other. Types are exact (`type(v) is int`), so a bool is a bool
    and a subclass of int, str or tuple (an IntEnum, a NamedTuple) is refused.
    """
    t = type(value)
    if t is tuple or t is list:
        _check_items(value, 1)
    elif t not in _SCALAR_TYPES:
        raise EncodingError(f"type {t.__name__} has no canonical encoding")


def _check_items(items: tuple | list, depth: int) -> None:
    """`_check` for the items of an array, which sit at `depth`.

    Scalars are the common case (a transaction body, a state record), so they
    are tested first, by one lookup of their exact type in a frozenset.
    """
    if not items:
        return
    if depth > MAX_DEPTH:
        raise EncodingError(f"nesting deeper than {MAX_DEPTH}")
    for item in items:
        t = type(item)
        if t in _SCALAR_TYPES:
            continue
        if t is tuple or t is list:
            _check_items(item, depth + 1)
        else:
            raise EncodingError(f"type {t.__name__} has no canonical encoding")


_local = threading.local()


def _pack(value: Any) -> bytes:
    """MessagePack bytes of a checked value, through this thread's reusable packer.

    `msgpack.packb` builds a Packer per call, which costs more than packing a
    small value; a Packer is not safe to share between threads, hence one per
    thread. With autoreset a Packer empties its buffer after each value and
    after a failed one.
    """
    try:
        packer = _local.packer
    except AttributeError:
        packer = _local.packer = msgpack.Packer(use_bin_type=True, strict_types=False, autoreset=True)
    try:
        return packer.pack(value)
    except OverflowError as exc:
        raise EncodingError("integer out of range") from exc
    except UnicodeEncodeError as exc:  # a str with a lone surrogate is not UTF-8
        raise EncodingError("string is not valid UTF-8") from exc


def encode(value: Any) -> bytes:
    """Canonical bytes of `value`; raises EncodingError for floats, maps and the like."""
    if type(value) is not int:  # an int, the commonest state value (a balance), needs no type check
        _check(value)
    return _pack(value)


def _no_ext(code: int, data: bytes) -> Any:
    raise EncodingError("extension types are not allowed")


def _no_map(pairs: Any) -> Any:
    raise EncodingError("maps are not allowed")


# Small values decoded before, by their bytes. The state transition decodes the
# same few records again and again (a class record per transfer, balances and
# nonces that many accounts share); decoding is a pure function of the bytes
# and a decoded value is immutable (tuples, ints, strings, bytes, bools, None),
# so handing out the earlier result is the same as decoding again. Only
# accepted values are kept; the memo is emptied when full.
_MEMO_MAX_VALUE_BYTES = 128
_MEMO_MAX_ENTRIES = 8192
_memo: dict[bytes, Any] = {}
_MISSING = object()


def decode(data: bytes, max_bytes: int = MAX_DECODE_BYTES) -> Any:
    """Decode canonical bytes; anything else raises EncodingError."""
    if type(data) is not bytes:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise EncodingError("expected bytes")
        data = bytes(data)
    if len(data) > max_bytes:
        raise EncodingError(f"encoded value larger than {max_bytes} bytes")
    if len(data) <= _MEMO_MAX_VALUE_BYTES:
        value = _memo.get(data, _MISSING)
        if value is _MISSING:
            value = _decode(data)
            if len(_memo) >= _MEMO_MAX_ENTRIES:
                _memo.clear()
            _memo[data] = value
        return value
    return _decode(data)


def _decode(data: bytes) -> Any:
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
    # The unpacker makes only allowed types but for floats and the timestamp
    # extension (-1, which bypasses ext_hook), and it has no depth limit of ours;
    # `_check` refuses those. Re-encode equality then gives every minimal-form rule.
    _check(value)
    if _pack(value) != data:
        raise EncodingError("not the canonical encoding")
    return value

