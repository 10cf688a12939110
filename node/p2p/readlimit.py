"""Raise a websocket's largest accepted frame once the handshake has proved the peer's key.

A connection starts with a read limit of MAX_HANDSHAKE_BYTES (FORMAT.md
§18.1): aiohttp's frame reader compares the length a frame *declares* in its
header with the limit before it buffers any of the frame's bytes (aiohttp
3.14.1 and later), so a stranger's 30 MiB frame costs its header and the
connection, not 30 MiB. Once the key is proven, the full frame limit applies.

aiohttp fixes the limit when the websocket opens and offers no public way to
change it, so this module swaps the connection's reader for a new one with
the larger limit. That is safe only where the old reader holds no bytes of a
frame in progress; the handshake (node.p2p.handshake) is ordered so that the
other side has nothing in flight at the two moments this is called. A peer
that sends early anyway has its stream cut mid-frame and is closed as
malformed, which harms only that peer.

The attributes used are aiohttp 3.14's (pyproject.toml pins the series);
`UnsupportedAiohttp` says so clearly instead of failing somewhere deeper if
they change, and the p2p tests exercise the swap on both sides.
"""

from __future__ import annotations

from typing import Any


class UnsupportedAiohttp(RuntimeError):
    """The installed aiohttp does not have the reader attributes this module relies on."""


def raise_read_limit(ws: Any, protocol: Any, max_frame_bytes: int) -> None:
    """Let `ws` (server or client websocket) accept frames of up to `max_frame_bytes` from now on.

    `protocol` is the connection's aiohttp protocol: `request.protocol` on the
    listener's side, `ws._conn.protocol` (see `client_protocol`) on the dialer's.
    """
    old = getattr(protocol, "_payload_parser", None)
    queue = getattr(ws, "_reader", None)
    if old is None or queue is None or getattr(ws, "_parser", old) is not old:
        raise UnsupportedAiohttp("this aiohttp has no swappable websocket reader; install aiohttp 3.14.x")
    # aiohttp refuses a frame whose length is >= its max_msg_size: + 1 makes the bound inclusive
    new = type(old)(queue, max_frame_bytes + 1, compress=False, decode_text=True)
    protocol._payload_parser = new
    if hasattr(ws, "_parser"):  # aiohttp >= 3.14.4: the websocket keeps the reader alive while it drains
        ws._parser = new


def client_protocol(ws: Any) -> Any:
    """The aiohttp protocol under a client websocket (the dialer's side)."""
    connection = getattr(ws, "_conn", None)
    if connection is None or connection.protocol is None:
        raise UnsupportedAiohttp("this aiohttp's client websocket has no connection; install aiohttp 3.14.x")
    return connection.protocol
