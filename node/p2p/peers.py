"""Authenticated, persistent websocket connections between nodes, and gossip over them.

Everything here runs on the one asyncio loop of the node: the callbacks are
called on it, and `Peer.send` / `PeerManager.broadcast` must be called from
it. They never block: a frame goes into the connection's bounded queue and
that connection's writer task sends it, so a slow peer cannot stall the
caller (a full queue drops the connection instead, and the dialer reconnects).

Each connection: TLS when the listener has a certificate (wss://, node/tls.py;
the handshake below still proves who the peer is), websocket upgrade on
`GET /p2p`, the handshake of `node.p2p.handshake` (within the handshake
timeout, counted on the listener from the TCP accept), then frames of
`node.p2p.frames` both ways until either side closes. Received frames are
delivered to `on_message` one at a time in arrival order, so the handler
sees a peer's messages in the order the peer sent them.

Until a side has checked the other's key it reads frames of at most
MAX_HANDSHAKE_BYTES (node.p2p.readlimit), and the listener keeps inbound
connections that have not proved a key in a bounded pool (node.p2p.listener,
node.p2p.pending): what strangers can make a node hold is small and fixed
(docs/p2p.md).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
from yarl import URL

from keys.tls_client import describe_client_error
from ledger.address import to_address
from ledger.crypto import SigningKey, sha256
from node.p2p.backoff import Backoff
from node.p2p.frames import (
    KIND_GOODBYE,
    FrameError,
    decode_frame,
    encode_frame,
    goodbye_frame,
    goodbye_reason,
    read_goodbye,
)
from node.p2p.handshake import (
    MAX_HANDSHAKE_BYTES,
    HandshakeError,
    check_dialer_reply,
    check_listener_reply,
    dialer_ready,
    dialer_reply,
    listener_hello,
    listener_reply,
    new_challenge,
    read_dialer_ready,
    read_listener_hello,
)
from node.p2p.listener import GuardedServer, format_address, reserve_descriptors
from node.p2p.lograte import LogLimiter
from node.p2p.readlimit import UnsupportedAiohttp, client_protocol, raise_read_limit
from node.p2p.seen import SeenSet
from node.tls_site import tcp_site

log = logging.getLogger("incoop.p2p")

P2P_PATH = "/p2p"
HANDSHAKE_TIMEOUT_S = 5.0
"""From the TCP accept (listener) or the websocket open (dialer) to the end of the handshake."""
MAX_PENDING = 1024
"""Inbound connections that have not proved a key (node.p2p.pending); about 15 KB and a descriptor each."""
MAX_FRAME_BYTES = 32 * 1024 * 1024
"""The largest frame after the handshake (FORMAT.md §18.1)."""
CONNECT_TIMEOUT_S = 5.0
HEARTBEAT_S = 5.0
CLOSE_TIMEOUT_S = 2.0
STABLE_AFTER_S = 10.0
"""A connection that stayed up longer than this resets its dialer's back-off."""
SEND_QUEUE_FRAMES = 10_000
DRAIN_ON_STOP_S = 1.0
SEEN_CAPACITY = 100_000
NOT_ALLOWED = "not a validator or registered observer of this chain"


class P2PError(RuntimeError):
    """The peer-to-peer layer cannot do what was asked (port taken, bad peer URL, frame too big)."""


class Peer:
    """One authenticated live connection; the application's handle to talk to that node."""

    def __init__(self, manager: PeerManager, ws: Any, pubkey: bytes, address: str, outbound: bool):
        self.pubkey = pubkey
        self.address = address
        self.outbound = outbound
        self.connected_at = time.monotonic()
        self.status: Any = None
        self._manager = manager
        self._ws = ws
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(manager._send_queue_frames)
        self._closing = False
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self._ended = asyncio.Event()

    def send(self, kind: int, payload: Any) -> bool:
        """Queue one frame; False if the connection is closed or was just dropped as too slow.

        Raises ValueError for kind < 1 (0 is the reserved goodbye), EncodingError for a
        payload with no canonical encoding, P2PError for a frame over max_frame_bytes.
        """
        return self._enqueue(self._manager._frame(kind, payload))

    def close(self, reason: str = "closed by the application") -> None:
        """Drop this connection (e.g. a misbehaving peer); it sends the reason as a goodbye.

        The dialer of the connection (this node or the other) will reconnect after its back-off.
        """
        self._close(reason)

    @property
    def closed(self) -> bool:
        return self._closing

    async def wait_closed(self) -> None:
        """Return once the connection has ended and on_disconnect has run."""
        await self._ended.wait()

    def __str__(self) -> str:
        return f"{to_address(self.pubkey)} at {self.address}"

    def __repr__(self) -> str:
        direction = "outbound" if self.outbound else "inbound"
        return f"Peer({to_address(self.pubkey)}, {self.address}, {direction})"

    # -- internals, driven by PeerManager -----------------------------------------------------

    def _enqueue(self, frame: bytes) -> bool:
        if self._closing:
            return False
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("closing connection to peer %s: send queue full, the peer is too slow", self)
            self._close("send queue full", goodbye=False)
            return False
        return True

    def _start_writer(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def _write_loop(self) -> None:
        stats = self._manager._stats
        while True:
            frame = await self._queue.get()
            try:
                await self._ws.send_bytes(frame)
            except Exception as exc:  # the socket went away under us; the reader notices too
                log.info("connection to peer %s lost while sending: %s", self, exc)
                self._close("", goodbye=False)
                return
            stats["frames_out"] += 1
            stats["bytes_out"] += len(frame)

    def _close(self, reason: str, goodbye: bool = True, code: int = aiohttp.WSCloseCode.OK) -> None:
        """Stop sending, forget the peer as live at once, and close the socket in the background."""
        if self._closing:
            return
        self._closing = True
        self._manager._forget(self)
        self._closer = asyncio.get_running_loop().create_task(self._shutdown(reason if goodbye else None, code))

    async def _shutdown(self, goodbye: str | None, code: int) -> None:
        writer = self._writer
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()
            await asyncio.wait([writer])
        ws = self._ws
        if goodbye is not None and not ws.closed:
            try:
                await asyncio.wait_for(ws.send_bytes(goodbye_frame(goodbye)), CLOSE_TIMEOUT_S)
            except Exception:  # best effort: the peer may already be gone
                pass
        try:
            await ws.close(code=code)
        except Exception:
            pass


class _Refused(Exception):
    """We refuse the other side of a handshake; str is the reason."""

    def __init__(self, reason: str, pubkey: bytes | None = None):
        super().__init__(reason)
        self.pubkey = pubkey


class _RefusedByPeer(Exception):
    """The other side refused us or dropped the handshake; str is what we know of why."""


class _SelfDial(Exception):
    """The listener proved it holds our own key: the URL points at this node."""


class PeerManager:
    """The node's peer-to-peer layer: a listener, one dialer per peer URL, and the live peers.

    At most one live connection per peer key: if both nodes dial each other at
    once, both keep the connection dialed by the node with the smaller public
    key (bytes order) and close the other, so the two sides agree without
    talking about it.

    Gossip: kinds in `gossip_kinds` are deduplicated by the SHA-256 of the frame
    (canonical, so one message has one hash): a frame already sent or delivered
    is dropped on receipt. The layer never relays: the handler validates and
    calls `broadcast(kind, payload, exclude=peer)`, so invalid messages go no
    further than the node that received them.
    """

    def __init__(
        self,
        key: SigningKey,
        chain_id: str,
        host: str,
        port: int,
        peer_urls: list[str],
        is_allowed: Callable[[bytes], bool],
        on_message: Callable[[Peer, int, Any], Awaitable[None] | None],
        on_connect: Callable[[Peer], None] | None = None,
        on_disconnect: Callable[[Peer], None] | None = None,
        gossip_kinds: frozenset[int] = frozenset(),
        max_frame_bytes: int = MAX_FRAME_BYTES,
        *,
        send_queue_frames: int = SEND_QUEUE_FRAMES,
        seen_capacity: int = SEEN_CAPACITY,
        server_ssl: ssl.SSLContext | None = None,
        client_ssl: ssl.SSLContext | None = None,
        handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S,
        max_pending: int = MAX_PENDING,
    ):
        """`server_ssl`: the listener speaks only TLS (node/tls.py); `client_ssl`: how wss:// peer URLs
        are checked (None: the system's CA store)."""
        if KIND_GOODBYE in gossip_kinds:
            raise ValueError("kind 0 is the reserved goodbye, it cannot be a gossip kind")
        self.key = key
        self.chain_id = chain_id
        self.host = host
        self._requested_port = port
        self._urls = [peer_url(u) for u in peer_urls]
        self._is_allowed = is_allowed
        self._on_message = on_message
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._gossip_kinds = frozenset(gossip_kinds)
        if max_frame_bytes < MAX_HANDSHAKE_BYTES:
            raise ValueError(f"max_frame_bytes must be at least the handshake's {MAX_HANDSHAKE_BYTES}")
        self._max_frame_bytes = max_frame_bytes
        self._handshake_timeout_s = handshake_timeout_s
        self._max_pending = max_pending
        self._send_queue_frames = send_queue_frames
        self._seen = SeenSet(seen_capacity)
        self._server_ssl = server_ssl
        self._client_ssl: ssl.SSLContext | bool = client_ssl if client_ssl is not None else True
        self._live: dict[bytes, Peer] = {}
        self._announced: dict[bytes, Peer] = {}  # on_connect called, on_disconnect not yet
        self._url_keys: dict[str, bytes] = {}
        self._handshaking: set[web.WebSocketResponse] = set()
        self._dialers: list[asyncio.Task[None]] = []
        self._runner: web.ServerRunner | None = None
        self._server: GuardedServer | None = None
        self._session: aiohttp.ClientSession | None = None
        self._port = 0
        self._stopping = False
        self._stats = dict.fromkeys(
            ("frames_in", "frames_out", "bytes_in", "bytes_out", "refused", "duplicates", "evicted",
             "handshake_timeouts", "oversized_frames"), 0
        )
        self._quiet = LogLimiter(log)  # for what strangers can trigger at will

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on (host, port) and start dialing every peer URL; P2PError if the port is taken."""
        if self._runner is not None:
            raise P2PError("the peer manager is already started")
        reserve_descriptors(self._max_pending)
        server = GuardedServer(
            self._handle_inbound, handshake_timeout_s=self._handshake_timeout_s, max_pending=self._max_pending,
            stats=self._stats, limiter=self._quiet,
        )
        runner = web.ServerRunner(server, shutdown_timeout=CLOSE_TIMEOUT_S)
        await runner.setup()
        site = tcp_site(runner, self.host, self._requested_port, self._server_ssl)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise P2PError(
                f"cannot listen for peers on {self.host}:{self._requested_port}: {exc.strerror or exc}"
            ) from exc
        self._runner = runner
        self._server = server
        self._port = runner.addresses[0][1]
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT_S, sock_connect=CONNECT_TIMEOUT_S)
        )
        loop = asyncio.get_running_loop()
        self._dialers = [loop.create_task(self._dial_loop(url)) for url in self._urls]
        log.info("listening for peers on %s:%d%s, dialing %d peer(s)", self.host, self._port,
                 " (TLS)" if self._server_ssl is not None else "", len(self._urls))

    async def stop(self) -> None:
        """Say goodbye to every peer, stop dialing, close the listener; returns with no task left behind."""
        if self._runner is None or self._stopping:
            return
        self._stopping = True
        # a clean stop sends what is already queued (a transaction a client was told is pending,
        # a vote): wait a moment for the writers to empty their queues before saying goodbye
        deadline = time.monotonic() + DRAIN_ON_STOP_S
        while any(not p._queue.empty() for p in self._live.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for peer in list(self._live.values()):
            peer._close("node shutting down")
        for task in self._dialers:
            task.cancel()
        await asyncio.gather(*self._dialers, return_exceptions=True)
        if self._server is not None:
            self._server.drop_all()
        for ws in list(self._handshaking):
            await ws.close()
        await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        log.info("peer-to-peer layer stopped")

    # -- the application's side ---------------------------------------------------------------------

    def dial(self, url: str) -> bool:
        """Start keeping a connection to one more peer URL (a validator's address learnt from the state,
        FORMAT.md §6.8); False if it is dialed already or the layer is not running."""
        url = peer_url(url)
        if self._runner is None or self._stopping or url in self._urls:
            return False
        self._urls.append(url)
        self._dialers.append(asyncio.get_running_loop().create_task(self._dial_loop(url)))
        log.info("dialing peer %s, learnt from the chain's state", url)
        return True

    def drop_disallowed(self) -> int:
        """Close the connections of peers no longer allowed (a validator removed by vote that is not an
        observer); how many were closed. Their dialers keep trying and are refused at the handshake."""
        dropped = 0
        for peer in list(self._live.values()):
            if not self._allowed(peer.pubkey):
                peer.close("no longer a validator or observer of this chain")
                dropped += 1
        return dropped

    @property
    def port(self) -> int:
        """The bound listening port (the real one when constructed with port 0)."""
        return self._port

    def peers(self) -> list[Peer]:
        """The live authenticated peers, sorted by public key."""
        return sorted(self._live.values(), key=lambda p: p.pubkey)

    def get(self, pubkey: bytes) -> Peer | None:
        """The live peer with that node key, if connected."""
        return self._live.get(pubkey)

    def broadcast(self, kind: int, payload: Any, exclude: Peer | None = None) -> int:
        """Queue one frame to every live peer but `exclude`; the number of peers it was queued to.

        The frame is encoded once. A gossip kind is recorded as seen first, so
        that the copies coming back from other peers are dropped.
        """
        frame = self._frame(kind, payload)
        if kind in self._gossip_kinds:
            self._seen.add(sha256(frame))
        skip = exclude.pubkey if exclude is not None else None
        return sum(1 for peer in self.peers() if peer.pubkey != skip and peer._enqueue(frame))

    def forget(self, kind: int, payload: Any) -> None:
        """Un-see a gossip message, so that the next copy any peer sends is delivered again.

        For a handler that could not use a message yet and did not keep it (say a
        vote for a height far ahead): without this, repeats of it within the
        seen window would be dropped before reaching the handler.
        """
        self._seen.discard(sha256(encode_frame(kind, payload)))

    def stats(self) -> dict[str, int]:
        """Counters for /metrics (docs/p2p.md): frames and bytes in and out (after handshakes),
        handshakes this node refused, gossip duplicates dropped, unauthenticated connections
        evicted or timed out, frames refused as too large; and two gauges: live peers and
        pending (unauthenticated) inbound connections."""
        pending = self._server.pending if self._server is not None else 0
        return {**self._stats, "peers": len(self._live), "pending_handshakes": pending}

    # -- frames -------------------------------------------------------------------------------------

    def _frame(self, kind: int, payload: Any) -> bytes:
        if type(kind) is not int or kind < 1:
            raise ValueError("an application kind is an integer >= 1 (0 is the reserved goodbye)")
        frame = encode_frame(kind, payload)
        if len(frame) > self._max_frame_bytes:
            raise P2PError(f"a frame of {len(frame)} bytes is over max_frame_bytes ({self._max_frame_bytes})")
        return frame

    async def _read_loop(self, peer: Peer) -> None:
        ws = peer._ws
        while not peer._closing:
            msg = await ws.receive()
            if peer._closing:
                return
            if msg.type is WSMsgType.BINARY:
                if not await self._on_frame(peer, msg.data):
                    return
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                log.info("peer %s disconnected", peer)
                return
            elif msg.type is WSMsgType.ERROR:
                if _too_big(msg.data):
                    self._stats["oversized_frames"] += 1
                log.warning("closing connection to peer %s: %s", peer, _describe_ws_error(msg.data))
                return
            else:
                log.warning("closing connection to peer %s: not a binary frame (%s)", peer, msg.type.name)
                peer._close("malformed frame: not binary", code=aiohttp.WSCloseCode.UNSUPPORTED_DATA)
                return

    async def _on_frame(self, peer: Peer, data: bytes) -> bool:
        """Deliver one received frame; False once the connection must end."""
        self._stats["frames_in"] += 1
        self._stats["bytes_in"] += len(data)
        try:
            kind, payload = decode_frame(data, self._max_frame_bytes)
        except FrameError as exc:
            log.warning("closing connection to peer %s: %s", peer, exc)
            peer._close(f"malformed frame: {exc}", code=aiohttp.WSCloseCode.PROTOCOL_ERROR)
            return False
        if kind == KIND_GOODBYE:
            log.info("peer %s closed the connection: %s", peer, goodbye_reason(payload))
            peer._close("", goodbye=False)
            return False
        if kind in self._gossip_kinds and not self._seen.add(sha256(data)):
            self._stats["duplicates"] += 1
            return True
        try:
            result = self._on_message(peer, kind, payload)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("the handler failed on a kind %d message from peer %s", kind, peer)
        return True

    # -- one connection, whichever side dialed --------------------------------------------------------

    async def _serve(self, peer: Peer) -> None:
        """Register the authenticated connection, read it until it ends, then clean up."""
        try:
            if self._register(peer):
                await self._read_loop(peer)
        finally:
            peer._close("", goodbye=False)
            if peer._closer is not None:
                await asyncio.wait([peer._closer])
            self._disconnected(peer)
            peer._ended.set()

    def _keeps(self, peer: Peer) -> bool:
        """Whether `peer` is the connection both sides keep: the one dialed by the smaller key."""
        return peer.outbound == (self.key.pubkey < peer.pubkey)

    def _register(self, peer: Peer) -> bool:
        existing = self._live.get(peer.pubkey)
        if existing is not None:
            if self._keeps(peer) and not self._keeps(existing):
                log.info("peer %s: keeping the new connection, closing the duplicate at %s", peer, existing.address)
                existing._close("duplicate connection")
            else:
                log.info("peer %s: already connected at %s, closing the duplicate", peer, existing.address)
                peer._close("duplicate connection")
                return False
        previous = self._announced.get(peer.pubkey)
        if previous is not None:  # so that connect/disconnect alternate per key
            self._disconnected(previous)
        self._live[peer.pubkey] = peer
        self._announced[peer.pubkey] = peer
        peer._start_writer()
        log.info("connected to peer %s (%s)", peer, "outbound" if peer.outbound else "inbound")
        if self._on_connect is not None:
            try:
                self._on_connect(peer)
            except Exception:
                log.exception("on_connect failed for peer %s", peer)
        return True

    def _forget(self, peer: Peer) -> None:
        if self._live.get(peer.pubkey) is peer:
            del self._live[peer.pubkey]

    def _disconnected(self, peer: Peer) -> None:
        if self._announced.get(peer.pubkey) is not peer:
            return
        del self._announced[peer.pubkey]
        if self._on_disconnect is not None:
            try:
                self._on_disconnect(peer)
            except Exception:
                log.exception("on_disconnect failed for peer %s", peer)

    def _allowed(self, pubkey: bytes) -> bool:
        try:
            return bool(self._is_allowed(pubkey))
        except Exception:
            log.exception("is_allowed failed for %s; refusing it", to_address(pubkey))
            return False

    # -- listener side ---------------------------------------------------------------------------

    async def _handle_inbound(self, request: web.BaseRequest) -> web.StreamResponse:
        """One inbound connection's request: the websocket upgrade, the handshake, then serving the peer."""
        server = self._server
        assert server is not None
        protocol = request.protocol
        deadline = server.deadline(protocol)
        if deadline is None or self._stopping:  # evicted or timed out while its request came in
            server.drop(protocol)
            return web.Response(status=503)
        if request.method != "GET" or request.path != P2P_PATH:
            response = web.Response(status=404, text="not found: this is a p2p port (GET /p2p)\n")
            response.force_close()
            return response
        ws = web.WebSocketResponse(
            heartbeat=HEARTBEAT_S, max_msg_size=MAX_HANDSHAKE_BYTES + 1, timeout=CLOSE_TIMEOUT_S, compress=False
        )
        try:
            await ws.prepare(request)
        except ConnectionError:  # closed, or evicted, before the upgrade could be answered
            server.drop(protocol)
            return web.Response(status=503)  # aiohttp finds the connection gone and says nothing
        address = _peername(request)
        self._handshaking.add(ws)
        try:
            pubkey = await self._accept(ws, protocol, address, deadline)
        except _Refused as refusal:
            await self._refuse(ws, address, str(refusal), refusal.pubkey)
            return ws
        except TimeoutError:
            self._stats["handshake_timeouts"] += 1
            await self._refuse(ws, address, "handshake timed out", None)
            return ws
        except _Oversized as exc:
            server.drop(protocol)  # at once: no goodbye owed, and the rest of the frame is never read
            self._quiet.log("oversized", logging.WARNING, "closed a p2p connection from %s before its handshake: %s",
                            address, exc)
            return ws
        except (_RefusedByPeer, ConnectionError) as exc:  # closed by the other side, or evicted
            server.drop(protocol)
            log.debug("connection from %s ended during the handshake: %s", address, exc or type(exc).__name__)
            return ws
        finally:
            self._handshaking.discard(ws)
        if pubkey is None or self._stopping:
            await ws.close()
            return ws
        await self._serve(Peer(self, ws, pubkey, address, outbound=False))
        return ws

    async def _accept(self, ws: web.WebSocketResponse, protocol: Any, address: str, deadline: float) -> bytes | None:
        """The listener's handshake: the dialer's proven key, or None if the dialer is this node.

        No timer of its own until the key is proven: the listener's server closes a
        connection that is still pending at `deadline`, and `receive` then ends.
        """
        assert self._server is not None
        challenge_l = new_challenge()
        await ws.send_bytes(listener_hello(challenge_l))
        data = await self._receive_handshake(ws)
        try:
            pubkey, challenge_d = check_dialer_reply(data, self.chain_id, challenge_l)
        except HandshakeError as exc:
            raise _Refused(str(exc)) from None
        reply = listener_reply(self.key, self.chain_id, challenge_d, challenge_l)
        if pubkey == self.key.pubkey:
            # Answer anyway: our own dialer then proves it reached itself and stops dialing it.
            await ws.send_bytes(reply)
            log.info("connection from %s is this node dialing itself; closing it", address)
            return None
        if not self._allowed(pubkey):
            raise _Refused(NOT_ALLOWED, pubkey)
        if not self._server.authenticated(protocol):
            raise _RefusedByPeer("closed before its key was checked")
        # Proven and allowed: full-size frames from now on. The dialer sends nothing before our reply.
        _raise_read_limit(ws, protocol, self._max_frame_bytes)
        await ws.send_bytes(reply)
        async with asyncio.timeout_at(deadline):
            data = await self._receive_handshake(ws)
        reason = read_goodbye(data)
        if reason is not None:
            log.info("peer %s at %s refused this node: %s", to_address(pubkey), address, reason)
            raise _RefusedByPeer(reason)
        try:
            read_dialer_ready(data)
        except HandshakeError as exc:
            raise _Refused(str(exc), pubkey) from None
        return pubkey

    async def _refuse(self, ws: Any, address: str, reason: str, pubkey: bytes | None) -> None:
        """Count and log the refusal, tell the other side why in a goodbye, and close."""
        self._stats["refused"] += 1
        who = to_address(pubkey) if pubkey is not None else "(key not proven)"
        # a proven key gets its own topic, so that junk handshakes do not hide a misconfigured member
        topic = "refused key" if pubkey is not None else "refused"
        self._quiet.log(topic, logging.WARNING, "refused peer %s at %s: %s", who, address, reason)
        try:
            if not ws.closed:
                await asyncio.wait_for(ws.send_bytes(goodbye_frame(reason)), CLOSE_TIMEOUT_S)
        except Exception:
            pass
        await ws.close(code=aiohttp.WSCloseCode.POLICY_VIOLATION)

    async def _receive_handshake(self, ws: Any) -> bytes:
        """The next handshake message; _Oversized, _RefusedByPeer or _Refused if there is none."""
        msg = await ws.receive()
        if msg.type is WSMsgType.BINARY:
            return msg.data
        if msg.type is WSMsgType.ERROR and _too_big(msg.data):
            self._stats["oversized_frames"] += 1
            raise _Oversized(f"a frame over the {MAX_HANDSHAKE_BYTES}-byte limit before the handshake")
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            raise _RefusedByPeer("connection closed during the handshake")
        raise _Refused("malformed handshake message (not a binary frame)")

    # -- dialer side -----------------------------------------------------------------------------

    async def _dial_loop(self, url: str) -> None:
        """Keep one connection to `url` up until stop(), backing off between attempts."""
        backoff = Backoff()
        last_failure: str | None = None
        first = True
        while not self._stopping:
            if not first:
                await asyncio.sleep(backoff.next())
            first = False
            known = self._url_keys.get(url)
            live = self._live.get(known) if known is not None else None
            if live is not None:  # already connected to that node (maybe it dialed us)
                await live.wait_closed()
                continue
            try:
                peer = await self._dial_once(url)
            except _SelfDial:
                log.info("peer URL %s is this node itself; not dialing it again", url)
                return
            except _DialFailed as exc:
                failure = str(exc)
                level = logging.DEBUG if failure == last_failure else exc.level
                log.log(level, "peer %s: %s; retrying with back-off", url, failure)
                last_failure = failure
                continue
            last_failure = None
            if peer is not None and time.monotonic() - peer.connected_at > STABLE_AFTER_S:
                backoff.reset()

    async def _dial_once(self, url: str) -> Peer | None:
        """One attempt: connect, handshake, serve until the connection ends; the Peer it was."""
        assert self._session is not None
        target = URL(url)
        address = f"{target.host}:{target.port}"
        try:
            ws = await asyncio.wait_for(
                self._session.ws_connect(
                    url,
                    heartbeat=HEARTBEAT_S,
                    max_msg_size=MAX_HANDSHAKE_BYTES + 1,  # until the listener's key is checked
                    timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT_S),
                    autoping=True,
                    ssl=self._client_ssl,
                ),
                CONNECT_TIMEOUT_S,
            )
        except aiohttp.ClientSSLError as exc:  # a certificate the CA does not vouch for, or not TLS at all
            tls_problem = describe_client_error(exc.os_error, "plain ws:// rather than wss://",
                                                "is the peer's CA in tls.ca_file?") or str(exc)
            raise _DialFailed(f"cannot connect: {tls_problem}", logging.WARNING) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            if isinstance(exc, aiohttp.ClientConnectorError):  # its str shows the SSLContext object of a wss:// URL
                exc = exc.os_error
            raise _DialFailed(f"cannot connect ({type(exc).__name__}: {exc})", logging.INFO) from None
        try:
            try:
                pubkey = await asyncio.wait_for(self._initiate(ws), self._handshake_timeout_s)
            except _Refused as refusal:
                await self._refuse(ws, address, str(refusal), refusal.pubkey)
                raise _DialFailed(f"we refused it: {refusal}", logging.DEBUG) from None
            except TimeoutError:
                await self._refuse(ws, address, "handshake timed out", None)
                raise _DialFailed("handshake timed out", logging.DEBUG) from None
            except _RefusedByPeer as exc:
                raise _DialFailed(f"refused by the peer: {exc}", logging.WARNING) from None
            except _Oversized as exc:
                raise _DialFailed(f"closed: {exc}", logging.WARNING) from None
            self._url_keys[url] = pubkey
            if self._stopping:
                return None
            peer = Peer(self, ws, pubkey, address, outbound=True)
            await self._serve(peer)
            return peer
        finally:
            if not ws.closed:
                await ws.close()

    async def _initiate(self, ws: aiohttp.ClientWebSocketResponse) -> bytes:
        """The dialer's handshake: the listener's proven and allowed key."""
        data = await self._receive_handshake(ws)
        try:
            challenge_l = read_listener_hello(data)
        except HandshakeError as exc:
            reason = read_goodbye(data)
            if reason is not None:
                raise _RefusedByPeer(reason) from None
            raise _Refused(str(exc)) from None
        challenge_d = new_challenge()
        await ws.send_bytes(dialer_reply(self.key, self.chain_id, challenge_l, challenge_d))
        data = await self._receive_handshake(ws)
        reason = read_goodbye(data)
        if reason is not None:
            raise _RefusedByPeer(reason)
        try:
            pubkey = check_listener_reply(data, self.chain_id, challenge_d, challenge_l)
        except HandshakeError as exc:
            raise _Refused(str(exc)) from None
        if pubkey == self.key.pubkey:
            raise _SelfDial()
        if not self._allowed(pubkey):
            raise _Refused(NOT_ALLOWED, pubkey)
        # Proven and allowed: full-size frames from now on. The listener sends nothing before "ready".
        _raise_read_limit(ws, client_protocol(ws), self._max_frame_bytes)
        await ws.send_bytes(dialer_ready())
        return pubkey


class _DialFailed(Exception):
    """One dial attempt ended before a connection was up; `level` is how loudly to log it."""

    def __init__(self, message: str, level: int):
        super().__init__(message)
        self.level = level


class _Oversized(Exception):
    """The other side sent a frame over the pre-handshake limit; str says so."""


def _raise_read_limit(ws: Any, protocol: Any, max_frame_bytes: int) -> None:
    try:
        raise_read_limit(ws, protocol, max_frame_bytes)
    except UnsupportedAiohttp as exc:
        raise P2PError(str(exc)) from None


def peer_url(url: str) -> str:
    """`url` with the path /p2p added when it has none; P2PError unless it is a ws:// or wss:// URL."""
    try:
        parsed = URL(url)
    except (TypeError, ValueError) as exc:
        raise P2PError(f"bad peer URL {url!r}: {exc}") from None
    if parsed.scheme not in ("ws", "wss") or not parsed.host:
        raise P2PError(f"bad peer URL {url!r}: expected ws://host:port or wss://host:port")
    if parsed.path in ("", "/"):
        parsed = parsed.with_path(P2P_PATH)
    return str(parsed)


def _peername(request: web.BaseRequest) -> str:
    peername = request.transport.get_extra_info("peername") if request.transport else None
    if not peername:
        return request.remote or "unknown"
    return format_address(peername[0], peername[1])


def _too_big(exc: Any) -> bool:
    return isinstance(exc, aiohttp.WebSocketError) and exc.code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG


def _describe_ws_error(exc: Any) -> str:
    if _too_big(exc):
        return f"frame over the size limit ({exc})"
    return f"websocket error ({exc})"
