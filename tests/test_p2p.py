"""The peer-to-peer layer (node.p2p): real websockets on 127.0.0.1, no mocks.

Each test states the behaviour in its docstring. The async tests run with
`asyncio.run` inside plain test functions (the repo has no pytest-asyncio).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ledger.address import to_address
from ledger.crypto import SigningKey
from ledger.encoding import encode
from node.bench.attack import UPGRADE, SilentCrowd
from node.p2p import P2PError, Peer, PeerManager
from node.p2p.backoff import Backoff
from node.p2p.frames import FrameError, decode_frame, encode_frame, goodbye_frame, read_goodbye
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
from node.p2p.lograte import LogLimiter
from node.p2p.pending import PendingPool, address_group
from node.p2p.seen import SeenSet
from tests.p2p_attack import (
    JUNK,
    closed_by_peer,
    connect,
    frame_header,
    send_junk,
    send_oversized_frame,
    upgrade,
)

CHAIN = "incoop-test-p2p"
GOSSIP = 7
DIRECT = 8
BOOM = 9

pytestmark = pytest.mark.timeout(30)


def run(main: Callable[[], Awaitable[None]]) -> None:
    """Run one async test body on a fresh loop, bounded so that a hang fails instead of stalling."""

    async def bounded() -> None:
        async with asyncio.timeout(15):
            await main()

    asyncio.run(bounded())


async def until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll `predicate` until it holds; fail the test if it does not within `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def free_port() -> int:
    """A loopback port nobody listens on right now (for nodes that must dial each other's port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def url(port: int) -> str:
    return f"ws://127.0.0.1:{port}"


class Node:
    """A PeerManager plus a record of everything its callbacks saw.

    `allowed` is the set of keys it accepts (None: any key); with `relay`, it
    relays every gossip-kind message it delivers, as the consensus driver will.
    """

    def __init__(
        self,
        *,
        key: SigningKey | None = None,
        urls: Iterable[str] = (),
        allowed: set[bytes] | None = None,
        chain_id: str = CHAIN,
        port: int = 0,
        relay: bool = False,
        async_handler: bool = False,
        **kwargs: Any,
    ):
        self.key = key or SigningKey.generate()
        self.allowed = allowed
        self.relay = relay
        self.got: list[tuple[bytes, int, Any]] = []
        self.connects: list[Peer] = []
        self.disconnects: list[Peer] = []
        self.manager = PeerManager(
            self.key,
            chain_id,
            "127.0.0.1",
            port,
            list(urls),
            is_allowed=lambda k: self.allowed is None or k in self.allowed,
            on_message=self._async_message if async_handler else self._message,
            on_connect=self.connects.append,
            on_disconnect=self.disconnects.append,
            gossip_kinds=frozenset({GOSSIP}),
            **kwargs,
        )

    @property
    def pub(self) -> bytes:
        return self.key.pubkey

    def _message(self, peer: Peer, kind: int, payload: Any) -> None:
        if kind == BOOM:
            raise ValueError("handler bug")
        self.got.append((peer.pubkey, kind, payload))
        if self.relay and kind == GOSSIP:
            self.manager.broadcast(kind, payload, exclude=peer)

    async def _async_message(self, peer: Peer, kind: int, payload: Any) -> None:
        await asyncio.sleep(0)
        self._message(peer, kind, payload)

    def peer_keys(self) -> list[bytes]:
        return [p.pubkey for p in self.manager.peers()]

    def delivered(self, kind: int, payload: Any) -> int:
        return sum(1 for _, k, p in self.got if k == kind and p == payload)

    async def start(self) -> Node:
        await self.manager.start()
        return self

    async def stop(self) -> None:
        await self.manager.stop()


async def stop_all(*nodes: Node) -> None:
    for node in nodes:
        await node.stop()


async def raw_handshake(port: int, key: SigningKey, session: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
    """Open a websocket to a node and do the dialer's handshake with the pure functions only."""
    ws = await session.ws_connect(url(port) + "/p2p")
    challenge_l = read_listener_hello((await ws.receive()).data)
    challenge_d = new_challenge()
    await ws.send_bytes(dialer_reply(key, CHAIN, challenge_l, challenge_d))
    check_listener_reply((await ws.receive()).data, CHAIN, challenge_d, challenge_l)
    await ws.send_bytes(dialer_ready())
    return ws


async def closed_by_remote(ws: aiohttp.ClientWebSocketResponse) -> list[str]:
    """Read until the node closes the socket; the goodbye reasons it sent on the way."""
    reasons = []
    while True:
        msg = await asyncio.wait_for(ws.receive(), 5)
        if msg.type is aiohttp.WSMsgType.BINARY:
            reasons.append(read_goodbye(msg.data))
        elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
            return reasons
        else:
            raise AssertionError(f"unexpected {msg.type}")


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "incoop.p2p"]


# -- the pure handshake ------------------------------------------------------------------------


def _exchange(dialer: SigningKey, listener: SigningKey, dialer_chain: str = CHAIN):
    challenge_l = new_challenge()
    challenge_d = new_challenge()
    hello = listener_hello(challenge_l)
    reply_d = dialer_reply(dialer, dialer_chain, read_listener_hello(hello), challenge_d)
    reply_l = listener_reply(listener, CHAIN, challenge_d, challenge_l)
    return challenge_l, challenge_d, reply_d, reply_l


def test_handshake_valid_exchange_verifies_both_keys():
    """A dialer and a listener of the same chain each learn the other's proven key and challenge."""
    dialer, listener = SigningKey.generate(), SigningKey.generate()
    challenge_l, challenge_d, reply_d, reply_l = _exchange(dialer, listener)
    assert check_dialer_reply(reply_d, CHAIN, challenge_l) == (dialer.pubkey, challenge_d)
    assert check_listener_reply(reply_l, CHAIN, challenge_d, challenge_l) == listener.pubkey


def test_handshake_tampered_signature_fails():
    """Flipping one bit of either signature makes the check fail."""
    dialer, listener = SigningKey.generate(), SigningKey.generate()
    challenge_l, challenge_d, reply_d, reply_l = _exchange(dialer, listener)
    pub, chal, sig = _decode(reply_d)
    bad_d = encode((pub, chal, bytes([sig[0] ^ 1]) + sig[1:]))
    with pytest.raises(HandshakeError, match="signature"):
        check_dialer_reply(bad_d, CHAIN, challenge_l)
    pub, sig = _decode(reply_l)
    bad_l = encode((pub, sig[:-1] + bytes([sig[-1] ^ 0x80])))
    with pytest.raises(HandshakeError, match="signature"):
        check_listener_reply(bad_l, CHAIN, challenge_d, challenge_l)


def test_handshake_signature_of_one_role_is_not_valid_for_the_other():
    """A dialer's signature replayed as a listener's (same key, same challenges) fails: the role is signed."""
    key = SigningKey.generate()
    challenge_l, challenge_d = new_challenge(), new_challenge()
    pub, _chal, sig_d = _decode(dialer_reply(key, CHAIN, challenge_l, challenge_d))
    for d, l_ in ((challenge_d, challenge_l), (challenge_l, challenge_d)):
        with pytest.raises(HandshakeError, match="signature"):
            check_listener_reply(encode((pub, sig_d)), CHAIN, d, l_)


def test_handshake_for_another_chain_fails():
    """A signature made for another chain id does not verify on this chain, in either role."""
    dialer, listener = SigningKey.generate(), SigningKey.generate()
    challenge_l, challenge_d, reply_d, _ = _exchange(dialer, listener, dialer_chain="another-chain")
    with pytest.raises(HandshakeError, match="signature"):
        check_dialer_reply(reply_d, CHAIN, challenge_l)
    reply_l = listener_reply(listener, "another-chain", challenge_d, challenge_l)
    with pytest.raises(HandshakeError, match="signature"):
        check_listener_reply(reply_l, CHAIN, challenge_d, challenge_l)


def test_handshake_answer_to_another_challenge_fails():
    """A reply signed over an earlier challenge (a replay) does not verify against a fresh one."""
    dialer, listener = SigningKey.generate(), SigningKey.generate()
    _, _, reply_d, _ = _exchange(dialer, listener)
    with pytest.raises(HandshakeError, match="signature"):
        check_dialer_reply(reply_d, CHAIN, new_challenge())


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc1",
        encode((b"x" * 32,)),
        encode((b"x" * 31, b"c" * 32, b"s" * 64)),
        encode((b"x" * 32, b"c" * 32, "s" * 64)),
        encode([b"x" * 32, b"c" * 32]),
        b"\x93" + b"\xc4\x20" + b"x" * 32 + b"\xc4\x20" + b"c" * 32 + b"\xc5\x00\x40" + b"s" * 64,
    ],
    ids=["empty", "reserved-byte", "short-array", "short-key", "str-sig", "two-fields", "non-canonical"],
)
def test_handshake_malformed_dialer_reply_fails(data):
    """Anything but canonical [32-byte key, 32-byte challenge, 64-byte signature] is malformed."""
    with pytest.raises(HandshakeError, match="malformed"):
        check_dialer_reply(data, CHAIN, new_challenge())


def test_handshake_malformed_hello_fails():
    """The listener's hello is exactly [32 bytes]."""
    with pytest.raises(HandshakeError, match="malformed"):
        read_listener_hello(encode((b"x" * 16,)))
    with pytest.raises(HandshakeError, match="malformed"):
        read_listener_hello(encode_frame(0, "refused"))


def _decode(data: bytes) -> tuple:
    from ledger.encoding import decode

    return decode(data)


# -- frames, seen-set and back-off -----------------------------------------------------------------


def test_frames_accept_only_canonical_kind_payload_pairs():
    """A frame decodes only if it is canonical [int >= 0, value] within the size bound."""
    frame = encode_frame(5, (b"a", 1))
    assert decode_frame(frame, 1024) == (5, (b"a", 1))
    for bad in (encode(("5", 1)), encode((5,)), encode((-1, 1)), encode((True, 1)), b"\x92\x05\xd0\x01", frame + b"\x00"):
        with pytest.raises(FrameError):
            decode_frame(bad, 1024)
    with pytest.raises(FrameError, match="over the limit"):
        decode_frame(encode_frame(5, b"x" * 100), 50)


def test_seen_set_forgets_the_least_recently_seen():
    """The seen-set holds at most its capacity; seeing a hash again makes it the newest."""
    seen = SeenSet(2)
    assert seen.add(b"a") and seen.add(b"b")
    assert not seen.add(b"a")  # a is now newer than b
    assert seen.add(b"c")  # evicts b
    assert b"a" in seen and b"c" in seen and b"b" not in seen and len(seen) == 2


def test_backoff_grows_to_the_cap_with_jitter_and_resets():
    """Delays double from 0.2 s up to 5 s, each in the upper half of its ceiling; reset starts over."""
    backoff = Backoff()
    delays = [backoff.next() for _ in range(10)]
    ceilings = [0.2, 0.4, 0.8, 1.6, 3.2, 5, 5, 5, 5, 5]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    backoff.reset()
    assert 0.1 <= backoff.next() <= 0.2


# -- live nodes ------------------------------------------------------------------------------------


def test_two_nodes_connect_and_exchange_messages_both_ways():
    """B dials A; both see one peer with the other's key (B outbound, A inbound), messages flow both
    ways in order, sync and async handlers alike, and stop() leaves no task behind."""

    async def main() -> None:
        a = await Node(async_handler=True).start()
        b = await Node(urls=[url(a.manager.port)]).start()
        try:
            await until(lambda: a.peer_keys() == [b.pub] and b.peer_keys() == [a.pub], what="connection")
            [pa], [pb] = a.manager.peers(), b.manager.peers()
            assert (pa.outbound, pb.outbound) == (False, True)
            assert pb.address == f"127.0.0.1:{a.manager.port}"
            assert pa.status is None and a.connects == [pa] and b.connects == [pb]
            for i in range(50):
                assert pb.send(DIRECT, (i, b"from b"))
            assert pa.send(DIRECT, "from a")
            await until(lambda: len(a.got) == 50 and len(b.got) == 1, what="messages")
            assert a.got == [(b.pub, DIRECT, (i, b"from b")) for i in range(50)]
            assert b.got == [(a.pub, DIRECT, "from a")]
            stats = a.manager.stats()
            assert stats["frames_in"] == 50 and stats["frames_out"] == 1 and stats["peers"] == 1
            assert stats["bytes_in"] == sum(len(encode_frame(DIRECT, (i, b"from b"))) for i in range(50))
        finally:
            await stop_all(b, a)
        assert a.disconnects == [pa] and b.disconnects == [pb]
        assert asyncio.all_tasks() == {asyncio.current_task()}

    run(main)


def test_dialer_not_allowed_is_refused_by_the_listener(caplog):
    """A listener refuses a dialer whose key it does not allow: no Peer on either side, the
    listener counts and logs the refusal naming the key, the dialer logs the reason it was given."""
    caplog.set_level(logging.INFO, logger="incoop.p2p")

    async def main() -> None:
        a_key, b_key = SigningKey.generate(), SigningKey.generate()
        a = await Node(key=a_key, allowed={a_key.pubkey}).start()
        b = await Node(key=b_key, urls=[url(a.manager.port)], allowed={a_key.pubkey, b_key.pubkey}).start()
        try:
            await until(lambda: a.manager.stats()["refused"] >= 1, what="refusal")
            await until(lambda: any("refused by the peer" in w for w in warnings(caplog)), what="dialer log")
            await asyncio.sleep(0.3)
            assert a.connects == b.connects == [] and a.peer_keys() == b.peer_keys() == []
            assert b.manager.stats()["refused"] == 0
        finally:
            await stop_all(b, a)
        logged = warnings(caplog)
        assert any(to_address(b_key.pubkey) in w and "not a validator or registered observer" in w for w in logged)
        assert any("refused by the peer: not a validator or registered observer" in w for w in logged)

    run(main)


def test_listener_not_allowed_is_dropped_by_the_dialer(caplog):
    """A dialer that does not allow the listener's key drops it after the handshake: the dialer never
    reports a Peer, counts and logs the refusal, and the listener ends up with no peer either."""
    caplog.set_level(logging.INFO, logger="incoop.p2p")

    async def main() -> None:
        a = await Node().start()
        b = await Node(urls=[url(a.manager.port)], allowed=set()).start()
        try:
            await until(lambda: b.manager.stats()["refused"] >= 1, what="refusal")
            await until(lambda: a.peer_keys() == [] and len(a.connects) == len(a.disconnects), what="listener drop")
            assert b.connects == [] and b.peer_keys() == []
        finally:
            await stop_all(b, a)
        assert any(to_address(a.pub) in w and "not a validator" in w for w in warnings(caplog))

    run(main)


def test_peer_signing_for_another_chain_is_refused(caplog):
    """A node of another chain id cannot connect, even with a key the listener allows."""
    caplog.set_level(logging.INFO, logger="incoop.p2p")

    async def main() -> None:
        a = await Node().start()
        b = await Node(urls=[url(a.manager.port)], chain_id="another-chain").start()
        try:
            await until(lambda: a.manager.stats()["refused"] >= 1, what="refusal")
            await asyncio.sleep(0.2)
            assert a.connects == b.connects == []
        finally:
            await stop_all(b, a)
        assert any("bad handshake signature" in w for w in warnings(caplog))

    run(main)


def test_gossip_is_delivered_once_per_node_in_a_triangle():
    """A broadcasts a gossip message to B and C, which relay it to each other: each delivers it
    exactly once and the copies that come back are dropped; a non-gossip kind is not deduplicated."""

    async def main() -> None:
        c = await Node(relay=True).start()
        b = await Node(relay=True, urls=[url(c.manager.port)]).start()
        a = await Node(relay=True, urls=[url(b.manager.port), url(c.manager.port)]).start()
        nodes = (a, b, c)
        try:
            await until(lambda: all(len(n.manager.peers()) == 2 for n in nodes), what="triangle")
            assert a.manager.broadcast(GOSSIP, (b"vote", 1)) == 2
            await until(lambda: b.delivered(GOSSIP, (b"vote", 1)) and c.delivered(GOSSIP, (b"vote", 1)))
            # B and C relayed to each other (and back to A was excluded): those copies are dropped.
            await until(lambda: b.manager.stats()["duplicates"] + c.manager.stats()["duplicates"] == 2,
                        what="the relayed copies")
            await asyncio.sleep(0.2)
            assert [n.delivered(GOSSIP, (b"vote", 1)) for n in nodes] == [0, 1, 1]
            # A handler that forgets a message gets the next copy of it again.
            c.manager.forget(GOSSIP, (b"vote", 1))
            assert a.manager.broadcast(GOSSIP, (b"vote", 1)) == 2
            await until(lambda: c.delivered(GOSSIP, (b"vote", 1)) == 2, what="the forgotten message again")
            await asyncio.sleep(0.2)
            assert [n.delivered(GOSSIP, (b"vote", 1)) for n in nodes] == [0, 1, 2]
            for _ in range(2):
                a.manager.broadcast(DIRECT, b"same bytes")
            await until(lambda: b.delivered(DIRECT, b"same bytes") == 2 and c.delivered(DIRECT, b"same bytes") == 2)
        finally:
            await stop_all(a, b, c)

    run(main)


def test_reconnects_to_a_restarted_peer_on_the_same_port():
    """When B's node stops and a new one starts on the same port, A notices and reconnects in seconds."""

    async def main() -> None:
        b_key = SigningKey.generate()
        b = await Node(key=b_key).start()
        port = b.manager.port
        a = await Node(urls=[url(port)]).start()
        try:
            await until(lambda: a.peer_keys() == [b_key.pubkey], what="first connection")
            await b.stop()
            await until(lambda: a.peer_keys() == [] and len(a.disconnects) == 1, what="disconnect")
            await asyncio.sleep(0.3)
            b = await Node(key=b_key, port=port).start()
            await until(lambda: a.peer_keys() == [b_key.pubkey] and b.peer_keys() == [a.pub], timeout=6,
                        what="reconnection")
            assert len(a.connects) == 2
        finally:
            await stop_all(a, b)

    run(main)


def test_both_sides_dialing_keep_exactly_one_connection(caplog):
    """A and B dial each other at once: each ends with one peer, the connection dialed by the
    smaller key, on both sides, and it stays up."""
    caplog.set_level(logging.INFO, logger="incoop.p2p")

    async def main() -> None:
        pa, pb = free_port(), free_port()
        a = Node(port=pa, urls=[url(pb)])
        b = Node(port=pb, urls=[url(pa)])
        await asyncio.gather(a.start(), b.start())
        try:
            await until(lambda: a.peer_keys() == [b.pub] and b.peer_keys() == [a.pub], what="connection")
            await asyncio.sleep(1.0)
            [peer_a], [peer_b] = a.manager.peers(), b.manager.peers()
            assert peer_a.outbound == (a.pub < b.pub)
            assert peer_b.outbound == (b.pub < a.pub)
            assert len(a.connects) - len(a.disconnects) == 1 == len(b.connects) - len(b.disconnects)
            assert peer_a.send(DIRECT, "still up") and peer_b.send(DIRECT, "both ways")
            await until(lambda: b.got and a.got, what="messages on the surviving connection")
            assert a.manager.peers() == [peer_a] and b.manager.peers() == [peer_b]
        finally:
            await stop_all(a, b)
        assert any("duplicate" in r.getMessage() for r in caplog.records), "no duplicate connection was formed"

    run(main)


def test_a_node_dialing_itself_stops_dialing_that_url(caplog):
    """A peer URL that leads back to the node itself is recognised by the key and dialed no more."""
    caplog.set_level(logging.INFO, logger="incoop.p2p")

    async def main() -> None:
        port = free_port()
        a = await Node(port=port, urls=[url(port)]).start()
        try:
            await until(lambda: any("is this node itself" in r.getMessage() for r in caplog.records), what="self")
            assert a.peer_keys() == [] and a.connects == []
        finally:
            await a.stop()

    run(main)


@pytest.mark.parametrize(
    "frame, reason",
    [
        (b"\x92\x08\xd0\x05", "does not decode"),  # [8, 5] with 5 as a non-minimal int8
        (encode(("eight", 5)), "not [kind, payload]"),
        (encode((8,)), "not [kind, payload]"),
        (b"\x92\x08\x05\x00", "does not decode"),  # trailing byte
        (encode_frame(8, b"x" * 5000), "size limit"),  # over max_frame_bytes=4096
    ],
    ids=["non-canonical", "kind-not-int", "one-element", "trailing", "oversize"],
)
def test_a_bad_frame_closes_only_that_connection(caplog, frame, reason):
    """After a real handshake, a malformed or oversize frame closes that connection with a WARNING
    naming the peer's address; the node keeps serving its other peers."""
    caplog.set_level(logging.INFO, logger="incoop.p2p")

    async def main() -> None:
        a = await Node(max_frame_bytes=4096).start()
        b = await Node(urls=[url(a.manager.port)]).start()
        intruder = SigningKey.generate()
        try:
            async with aiohttp.ClientSession() as session:
                ws = await raw_handshake(a.manager.port, intruder, session)
                await until(lambda: intruder.pubkey in a.peer_keys() and b.pub in a.peer_keys(), what="peers")
                [mine] = [p for p in a.manager.peers() if p.pubkey == intruder.pubkey]
                await ws.send_bytes(frame)
                await closed_by_remote(ws)
            await until(lambda: a.peer_keys() == [b.pub], what="the bad connection dropped")
            assert b.manager.peers()[0].send(DIRECT, "still served")
            await until(lambda: a.delivered(DIRECT, "still served") == 1, what="the other peer served")
            assert a.got == [(b.pub, DIRECT, "still served")]
        finally:
            await stop_all(b, a)
        assert any(reason in w and mine.address in w for w in warnings(caplog)), warnings(caplog)

    run(main)


def test_a_peer_too_slow_to_read_is_dropped():
    """A peer that stops reading fills its bounded send queue; the node drops it instead of growing."""

    async def main() -> None:
        a = await Node(send_queue_frames=8).start()
        slow = SigningKey.generate()
        try:
            async with aiohttp.ClientSession() as session:
                ws = await raw_handshake(a.manager.port, slow, session)  # never reads again
                await until(lambda: a.peer_keys() == [slow.pubkey], what="connection")
                [peer] = a.manager.peers()
                chunk = b"x" * 256 * 1024
                for _ in range(2000):
                    if not peer.send(DIRECT, chunk):
                        break
                    await asyncio.sleep(0)
                else:
                    raise AssertionError("the send queue never filled")
                assert peer.closed and a.peer_keys() == [] and not peer.send(DIRECT, b"more")
                await until(lambda: a.disconnects == [peer], what="disconnect")
                await ws.close()
        finally:
            await a.stop()

    run(main)


def test_a_failing_handler_is_logged_and_the_connection_stays_up(caplog):
    """An exception in on_message is logged with its traceback; later messages are still delivered."""
    caplog.set_level(logging.INFO, logger="incoop.p2p")

    async def main() -> None:
        a = await Node().start()
        b = await Node(urls=[url(a.manager.port)]).start()
        try:
            await until(lambda: b.peer_keys() == [a.pub], what="connection")
            [peer] = b.manager.peers()
            assert peer.send(BOOM, "explode") and peer.send(DIRECT, "after")
            await until(lambda: a.delivered(DIRECT, "after") == 1, what="delivery after the failure")
            assert b.manager.peers() == [peer] and len(a.connects) == 1
        finally:
            await stop_all(b, a)
        failures = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
        assert failures and "handler bug" in str(failures[0].exc_info[1])

    run(main)


def test_sending_checks_kind_and_size():
    """Kind 0 is reserved and a frame over max_frame_bytes is refused at the sender, not on the wire."""

    async def main() -> None:
        a = await Node(max_frame_bytes=1024).start()
        try:
            with pytest.raises(ValueError, match="reserved"):
                a.manager.broadcast(0, "x")
            with pytest.raises(P2PError, match="max_frame_bytes"):
                a.manager.broadcast(DIRECT, b"x" * 2000)
            assert a.manager.broadcast(DIRECT, b"nobody") == 0
        finally:
            await a.stop()

    run(main)


def test_a_taken_port_is_one_clear_error():
    """Starting on a port already in use raises P2PError naming the address."""

    async def main() -> None:
        a = await Node().start()
        try:
            b = Node(port=a.manager.port)
            with pytest.raises(P2PError, match=f"cannot listen for peers on 127.0.0.1:{a.manager.port}"):
                await b.start()
        finally:
            await a.stop()
        assert asyncio.all_tasks() == {asyncio.current_task()}

    run(main)


def test_peer_urls_get_the_p2p_path_and_bad_ones_are_rejected():
    """`ws://host:port` means `ws://host:port/p2p`; a URL that is not ws:// is a P2PError at construction."""
    from node.p2p.peers import peer_url

    assert peer_url("ws://127.0.0.1:8701") == "ws://127.0.0.1:8701/p2p"
    assert peer_url("ws://127.0.0.1:8701/") == "ws://127.0.0.1:8701/p2p"
    assert peer_url("wss://node.example:8443/custom") == "wss://node.example:8443/custom"
    with pytest.raises(P2PError, match="bad peer URL"):
        Node(urls=["http://127.0.0.1:8701"])


# -- bounded resources against strangers (issue 12, docs/p2p.md) ------------------------------------


def test_pending_pool_when_full_evicts_the_oldest_of_the_address_holding_the_most():
    """A full pool admits every new connection and evicts the oldest connection of the largest group,
    never a lone connection from a quiet address; among equal groups, the one with the older connection."""
    pool: PendingPool[str] = PendingPool(max_total=4)
    assert pool.admit("quiet", "10.0.0.9") == []
    for name in ("x1", "x2", "x3"):
        assert pool.admit(name, "10.0.0.1") == []
    assert pool.admit("x4", "10.0.0.1") == ["x1"]
    assert pool.admit("y1", "10.0.0.2") == ["x2"]
    assert pool.admit("y2", "10.0.0.2") == ["x3"]  # 10.0.0.1 (x4) and 10.0.0.2 (y1) are equal: x3 is older
    assert pool.admit("y3", "10.0.0.2") == ["y1"]
    assert "quiet" in pool and len(pool) == 4 and pool.count("10.0.0.2") == 2
    assert pool.remove("y3") and not pool.remove("y3") and len(pool) == 3
    with pytest.raises(ValueError):
        pool.admit("quiet", "10.0.0.9")
    with pytest.raises(ValueError):
        PendingPool(max_total=0)


def test_address_groups_are_ipv4_addresses_and_ipv6_64s():
    assert address_group("127.0.0.1") == "127.0.0.1"
    assert address_group("::ffff:10.1.2.3") == "10.1.2.3"
    assert address_group("2001:db8:1:2:aaaa::1") == address_group("2001:db8:1:2:bbbb::7") == "2001:db8:1:2::/64"
    assert address_group("2001:db8:1:3::1") != address_group("2001:db8:1:2::1")
    assert address_group("fe80::1%eth0") == "fe80::/64"


def test_log_limiter_writes_one_line_per_interval_and_counts_the_rest(caplog):
    """Lines a stranger can trigger: the first is written, the next within the interval are counted
    and their number goes with the next line written."""
    caplog.set_level(logging.INFO, logger="incoop.p2p.test")
    now = [0.0]
    limiter = LogLimiter(logging.getLogger("incoop.p2p.test"), interval_s=10, clock=lambda: now[0])
    assert limiter.log("refused", logging.WARNING, "refused %s", "a")
    assert not limiter.log("refused", logging.WARNING, "refused %s", "b")
    assert limiter.log("timeout", logging.WARNING, "timeout %s", "c")  # another topic
    now[0] = 9.9
    assert not limiter.log("refused", logging.WARNING, "refused %s", "d")
    now[0] = 10.0
    assert limiter.log("refused", logging.WARNING, "refused %s", "e")
    assert [r.getMessage() for r in caplog.records] == [
        "refused a", "timeout c", "refused e (and 2 more like it since the last such line)"]


def test_every_handshake_message_fits_the_pre_handshake_limit():
    """The limit is taken from the real sizes: the three signed messages, "ready" and the largest goodbye."""
    key, challenge = SigningKey.generate(), new_challenge()
    messages = [listener_hello(challenge), dialer_reply(key, CHAIN, challenge, challenge),
                listener_reply(key, CHAIN, challenge, challenge), dialer_ready(), goodbye_frame("\U0001f600" * 500)]
    assert max(len(m) for m in messages) <= MAX_HANDSHAKE_BYTES
    assert dialer_ready() == b"\x90"
    read_dialer_ready(dialer_ready())
    for bad in (encode((1,)), encode_frame(5, "x"), b"\x91\xc0", b""):
        with pytest.raises(HandshakeError, match="malformed"):
            read_dialer_ready(bad)


def test_config_defaults_are_the_peer_managers_and_bad_limits_are_refused():
    from pydantic import ValidationError

    from node.config import NodeConfig
    from node.p2p import peers

    config = NodeConfig()
    assert (config.p2p_handshake_timeout_s, config.p2p_max_pending) == (peers.HANDSHAKE_TIMEOUT_S, peers.MAX_PENDING)
    for bad in ({"p2p_handshake_timeout_s": 0}, {"p2p_max_pending": 0}):
        with pytest.raises(ValidationError):
            NodeConfig(**bad)


def pending(node: Node) -> int:
    return node.manager.stats()["pending_handshakes"]


def test_a_frame_over_the_handshake_limit_is_refused_at_its_header(caplog):
    """Before the handshake a frame may be 1024 bytes; one that declares 30 MiB closes the connection
    after its header, before the node reads the payload, and is counted; the node still serves peers."""
    caplog.set_level(logging.INFO, logger="incoop.p2p")

    async def main() -> None:
        a = await Node().start()
        port = a.manager.port
        try:
            declared = 30 * 1024 * 1024
            sent, closed = await asyncio.to_thread(send_oversized_frame, port, declared, 5.0)
            assert closed and sent < declared // 4, f"the node took {sent} bytes of the frame"
            await until(lambda: a.manager.stats()["oversized_frames"] == 1, what="the count")
            # exactly at the limit is read (and refused as a malformed handshake), one more byte is not
            for size, oversized in ((MAX_HANDSHAKE_BYTES, 1), (MAX_HANDSHAKE_BYTES + 1, 2)):
                sock = await asyncio.to_thread(upgrade, port)
                sock.sendall(frame_header(size) + b"\x00" * size)
                assert await asyncio.to_thread(closed_by_peer, sock, 5.0)
                sock.close()
                await until(lambda o=oversized: a.manager.stats()["oversized_frames"] == o, what="the count")
            assert a.manager.stats()["refused"] == 1
            await until(lambda: pending(a) == 0, what="nothing pending")
            b = await Node(urls=[url(port)]).start()
            await until(lambda: a.peer_keys() == [b.pub], what="a real peer")
            await b.stop()
        finally:
            await a.stop()
        assert any("before its handshake: a frame over the 1024-byte limit" in w for w in warnings(caplog))

    run(main)


def test_after_the_handshake_large_frames_flow_both_ways():
    """Each side raises its limit once it has checked the other's key: 1 MiB frames go both ways, and
    a frame of exactly max_frame_bytes is delivered."""

    async def main() -> None:
        a = await Node().start()
        b = await Node(urls=[url(a.manager.port)]).start()
        small_a = await Node(max_frame_bytes=4096).start()
        small_b = await Node(max_frame_bytes=4096, urls=[url(small_a.manager.port)]).start()
        try:
            await until(lambda: b.peer_keys() == [a.pub] and small_b.peer_keys() == [small_a.pub], what="connections")
            big = b"x" * (1 << 20)
            assert a.manager.peers()[0].send(DIRECT, big) and b.manager.peers()[0].send(DIRECT, big)
            await until(lambda: a.delivered(DIRECT, big) == 1 and b.delivered(DIRECT, big) == 1, what="1 MiB frames")
            exact = b"y" * (4096 - len(encode_frame(DIRECT, b"y" * 4000)) + 4000)
            assert len(encode_frame(DIRECT, exact)) == 4096
            assert small_a.manager.peers()[0].send(DIRECT, exact) and small_b.manager.peers()[0].send(DIRECT, exact)
            await until(lambda: small_a.delivered(DIRECT, exact) == 1 and small_b.delivered(DIRECT, exact) == 1,
                        what="frames of exactly the limit")
        finally:
            await stop_all(b, a, small_b, small_a)

    run(main)


def test_a_dialer_reads_only_small_frames_until_the_listener_proves_its_key():
    """A listener that answers the upgrade with a 2 KiB frame instead of its hello is dropped by the
    dialer as oversized: no peer."""

    async def main() -> None:
        async def fake_listener(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await ws.send_bytes(b"\x00" * 2048)
            await ws.receive()
            return ws

        app = web.Application()
        app.router.add_get("/p2p", fake_listener)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        fake_port = runner.addresses[0][1]
        b = await Node(urls=[url(fake_port)]).start()
        try:
            await until(lambda: b.manager.stats()["oversized_frames"] >= 1, what="the oversized hello")
            assert b.peer_keys() == [] and b.connects == []
        finally:
            await b.stop()
            await runner.cleanup()

    run(main)


def test_the_listener_sends_nothing_before_the_dialer_is_ready():
    """After the listener's reply, the dialer still reads with the small limit until it sends "ready":
    the listener reports no peer and sends no frame before it; after it, large frames come through."""

    async def main() -> None:
        a = await Node().start()
        dialer = SigningKey.generate()
        try:
            async with aiohttp.ClientSession() as session:
                ws = await session.ws_connect(url(a.manager.port) + "/p2p", max_msg_size=MAX_HANDSHAKE_BYTES + 1)
                challenge_l = read_listener_hello((await ws.receive()).data)
                challenge_d = new_challenge()
                await ws.send_bytes(dialer_reply(dialer, CHAIN, challenge_l, challenge_d))
                check_listener_reply((await ws.receive()).data, CHAIN, challenge_d, challenge_l)
                await asyncio.sleep(0.3)
                assert a.connects == [] and a.peer_keys() == []
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(ws.receive(), 0.2)
                await ws.send_bytes(dialer_ready())
                await until(lambda: a.peer_keys() == [dialer.pubkey], what="the peer after ready")
                assert a.manager.stats()["pending_handshakes"] == 0
                await ws.close()
        finally:
            await a.stop()

    run(main)


def test_a_handshake_not_completed_in_time_is_closed(caplog):
    """With a 0.5 s handshake timeout: a silent TCP connection, one stuck in its HTTP headers, a
    websocket that never answers the hello, and a proven dialer that never says "ready" are each
    closed within the timeout (counted from the accept), and the pool is empty again."""
    caplog.set_level(logging.INFO, logger="incoop.p2p")

    async def main() -> None:
        a = await Node(handshake_timeout_s=0.5).start()
        port = a.manager.port
        try:
            slow_headers = await asyncio.to_thread(connect, port)
            slow_headers.sendall(b"GET /p2p HTTP/1.1\r\nHost: x\r\n")
            sockets = [await asyncio.to_thread(connect, port), slow_headers, await asyncio.to_thread(upgrade, port)]
            await until(lambda: pending(a) == 3, what="three pending")
            started = asyncio.get_running_loop().time()
            results = await asyncio.gather(*(asyncio.to_thread(closed_by_peer, s, 3.0) for s in sockets))
            elapsed = asyncio.get_running_loop().time() - started
            assert results == [True, True, True] and elapsed < 1.5, (results, elapsed)
            for s in sockets:
                s.close()
            async with aiohttp.ClientSession() as session:
                ws = await session.ws_connect(url(port) + "/p2p")
                challenge_l = read_listener_hello((await ws.receive()).data)
                challenge_d = new_challenge()
                await ws.send_bytes(dialer_reply(SigningKey.generate(), CHAIN, challenge_l, challenge_d))
                await ws.receive()  # the listener's reply; we never send "ready"
                assert await closed_by_remote(ws) == ["handshake timed out"]
            stats = a.manager.stats()
            assert stats["handshake_timeouts"] == 4 and stats["refused"] == 1 and pending(a) == 0, stats
            assert a.connects == []
        finally:
            await a.stop()
        assert any("no handshake within 0.5 s" in w for w in warnings(caplog))

    run(main)


def test_a_new_connection_evicts_the_oldest_pending_one():
    """With four pending slots, a fifth silent websocket closes the oldest at once; a real peer arriving
    while the slots are full still connects."""

    async def main() -> None:
        a = await Node(max_pending=4).start()
        port = a.manager.port
        try:
            crowd = [await asyncio.to_thread(upgrade, port) for _ in range(4)]
            await until(lambda: pending(a) == 4, what="four pending")
            crowd.append(await asyncio.to_thread(upgrade, port))
            assert await asyncio.to_thread(closed_by_peer, crowd[0], 2.0), "the oldest was not evicted"
            assert not await asyncio.to_thread(closed_by_peer, crowd[1], 0.2)
            assert a.manager.stats()["evicted"] == 1 and pending(a) == 4
            b = await Node(urls=[url(port)]).start()
            await until(lambda: a.peer_keys() == [b.pub], what="the real peer")
            assert a.manager.stats()["evicted"] == 2
            await b.stop()
            for s in crowd:
                s.close()
        finally:
            await a.stop()

    run(main)


@pytest.mark.timeout(60)
def test_silent_connections_re_opened_without_end_never_lock_a_real_peer_out(caplog):
    """A thousand silent connections from the peer's own address (half websockets waiting in the
    handshake, half bare TCP), each re-opened the moment it is closed, against a pool of 512: the
    pool churns, a real peer still connects, twice, and nothing logs an error or a traceback."""
    caplog.set_level(logging.INFO)

    async def main() -> None:
        a = await Node(max_pending=512).start()
        port = a.manager.port
        crowds = [SilentCrowd(port, 500, upgrade=True, limit_s=40), SilentCrowd(port, 500, upgrade=False, limit_s=40)]
        for crowd in crowds:
            crowd.start()
        try:
            await until(lambda: a.manager.stats()["evicted"] >= 1000, timeout=20, what="the crowd churning")
            b_key = SigningKey.generate()
            for _ in range(2):
                b = await Node(key=b_key, urls=[url(port)]).start()
                await until(lambda: a.peer_keys() == [b_key.pubkey], timeout=30, what="the real peer")
                await b.stop()
                await until(lambda: a.peer_keys() == [], what="the disconnect")
            assert pending(a) <= 512 and sum(c.opened for c in crowds) > 1000  # re-opened after evictions
        finally:
            for crowd in crowds:
                await asyncio.to_thread(crowd.stop)
            await a.stop()

    async def bounded() -> None:
        async with asyncio.timeout(55):
            await main()

    asyncio.run(bounded())
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors[:3]]
    churn = [r.getMessage() for r in caplog.records if "to admit a newer one" in r.getMessage()]
    assert 1 <= len(churn) <= 6, churn  # one line per 10 s, however many evictions


def test_other_requests_to_the_p2p_port_get_404_and_closed_connections_leave_nothing():
    """Only GET /p2p is served; after a run of failed connections no pending entry, handshake or
    connection is left on the node."""

    async def main() -> None:
        a = await Node(handshake_timeout_s=1.0).start()
        port = a.manager.port
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/v1/status") as resp:
                    assert resp.status == 404
                for _ in range(5):
                    ws = await session.ws_connect(url(port) + "/p2p")
                    await ws.receive()
                    await ws.send_bytes(b"\xc1")
                    await closed_by_remote(ws)
            await until(lambda: pending(a) == 0 and not a.manager._handshaking
                        and not a.manager._server.connections, what="nothing left")
            assert a.manager.stats()["refused"] == 5
        finally:
            await a.stop()

    run(main)


def test_connections_reset_right_after_their_upgrade_request_log_no_error(caplog):
    """A stranger that sends the upgrade request and resets the connection at once, a hundred times:
    the node answers nothing, logs no error or traceback (aiohttp would log one per connection if
    the handler let the failed upgrade through), and keeps nothing."""
    caplog.set_level(logging.INFO)

    def reset_after_request(port: int) -> None:
        for _ in range(100):
            sock = connect(port)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.sendall(UPGRADE.format(port=port, key="dGhlIHNhbXBsZSBub25jZQ==").encode())
            sock.close()

    async def main() -> None:
        a = await Node().start()
        try:
            await asyncio.to_thread(reset_after_request, a.manager.port)
            await until(lambda: pending(a) == 0 and not a.manager._server.connections, what="nothing left")
            b = await Node(urls=[url(a.manager.port)]).start()
            await until(lambda: a.peer_keys() == [b.pub], what="a real peer")
            await b.stop()
        finally:
            await a.stop()

    run(main)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors[:3]]


def test_junk_on_the_p2p_port_is_neither_echoed_nor_logged(caplog):
    """128 KiB of junk four ways (binary, a long target, a long header, 5,000 headers): each answer
    is a short 400 that quotes none of it, the log holds one short line for all four and none of the
    junk, and nothing is logged as an error."""
    caplog.set_level(logging.DEBUG)

    async def main() -> None:
        a = await Node().start()
        try:
            for name, junk in JUNK.items():
                answer = await asyncio.to_thread(send_junk, a.manager.port, junk)
                assert answer.split(b" ", 2)[1] == b"400" and len(answer) < 300, (name, answer[:300])
                assert b"AAAA" not in answer and b"BBBB" not in answer and b"\\x00\\xff" not in answer
            await until(lambda: pending(a) == 0, what="nothing pending")
        finally:
            await a.stop()

    run(main)
    written = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert sum(len(m) for m in written) < 2000 and max(len(m) for m in written) < 300, written
    assert [m for m in written if "malformed HTTP request" in m] == [
        "answered 400 to a malformed HTTP request on the p2p port from 127.0.0.1 (BadHttpMethod)"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not [r for r in caplog.records if "AAAA" in r.getMessage() or "BBBB" in r.getMessage()]
