"""A fault-injecting TCP relay between nodes, so multi-node tests can partition a network.

Every directed peer link i→j of a test network goes through its own relay
listener: node i dials `ws://127.0.0.1:<relay port>` instead of node j's p2p
port, and the relay forwards raw TCP bytes to node j. Because the relay sits
on the wire and not inside the nodes, a partition test exercises exactly the
code a real network failure would: the node sees its connection drop and its
redials fail, and nothing in the node knows it is under test.

A link names one TCP direction of *dialing*, not of traffic: a websocket
connection i→j carries messages both ways, so cutting i→j stops both
directions of the connection node i dialed, while j→i (the connection node j
dialed) is a separate link. `partition` therefore cuts both links between
groups.

A cut is abrupt on purpose: live connections are aborted at once (the peers
see a reset or EOF, and whatever was in flight is lost, as on a real network)
and new connections are accepted and closed straight away, so a node's redial
fails quickly instead of hanging. The listener itself stays open, so the port
is not taken by something else while the link is down. When either end of a
relayed connection closes, the relay flushes what it holds for that end's peer
and closes both (no TCP half-close: websocket peers never use it).

The relay runs its own asyncio loop in a daemon thread so that plain
synchronous pytest tests (which also drive node processes and HTTP) can call
it; every public method hands its work to that loop and waits for it, so all
relay state is touched by one thread only.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

LinkKey = tuple[int, int]

# How long a public call waits for the relay's loop. Generous: a call only fails on a bug or a
# wedged loop, and a clear error beats a test that hangs until pytest-timeout.
CALL_TIMEOUT_S = 10.0
# Read size per chunk. Big enough that a 1 MiB payload is a few dozen chunks, small enough that a
# delayed link delivers a steady stream rather than one lump.
CHUNK_BYTES = 64 * 1024
# Bytes a direction may hold while waiting out a link's delay before it stops reading; bounds the
# memory a fast sender can pile up behind a slow link (TCP backpressure then reaches the sender).
# Counted in bytes, not chunks, so small reads do not turn the delay into a bandwidth cap.
MAX_QUEUED_BYTES = 8 * 1024 * 1024


@dataclass
class _Stats:
    """Counters of one link, kept for the life of the relay (a cut or heal does not reset them)."""

    connections: int = 0  # accepted and forwarded to the destination
    refused: int = 0  # accepted while the link was cut, closed at once
    failed: int = 0  # accepted, but the destination did not answer (node down)
    bytes_to_dst: int = 0  # from the dialing node to the dialed one
    bytes_to_src: int = 0  # the replies

    def as_dict(self, open_now: int) -> dict[str, int]:
        return {
            "connections": self.connections,
            "refused": self.refused,
            "failed": self.failed,
            "open": open_now,
            "bytes_forwarded": self.bytes_to_dst + self.bytes_to_src,
            "bytes_to_dst": self.bytes_to_dst,
            "bytes_to_src": self.bytes_to_src,
        }


@dataclass(eq=False)
class _Pipe:
    """One direction of a connection: chunks read and not yet sent, each with the time it is due."""

    queue: asyncio.Queue[tuple[float, bytes] | None] = field(default_factory=asyncio.Queue)
    queued_bytes: int = 0
    space: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(eq=False)
class _Conn:
    """One relayed TCP connection: the dialer's end, the destination's end and the task serving both."""

    task: asyncio.Task[None]
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None

    def abort(self) -> None:
        """Drop both ends now, without flushing: a cut loses what was in flight, like a real one."""
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.transport.abort()
        self.task.cancel()


@dataclass(eq=False)
class _Link:
    src: int
    dst: int
    dst_host: str
    dst_port: int
    server: asyncio.Server | None = None
    port: int = 0
    delay_s: float = 0.0
    stats: _Stats = field(default_factory=_Stats)
    conns: set[_Conn] = field(default_factory=set)


class Relay:
    """Runs its own asyncio loop in a daemon thread, so tests (plain sync pytest) can drive it.

    Cut rules, and how they combine (a link is cut if any rule cuts it):
    - `cut(src, dst)` cuts one directed link;
    - `isolate(node)` cuts every link from or to `node`;
    - `partition(*groups)` cuts every link between two different groups. Nodes
      named in no group keep every link: a partition only speaks about the
      nodes it names, so `partition([0], [1])` in a five-node network leaves
      nodes 2, 3 and 4 connected to everyone. A new `partition` replaces the
      previous one; `cut` and `isolate` add up;
    - `heal()` drops every rule.
    Rules apply to links made later too, and to every connection: the live ones
    are aborted when a rule starts to cut their link.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._links: dict[LinkKey, _Link] = {}
        self._cut_links: set[LinkKey] = set()
        self._isolated: set[int] = set()
        self._group_of: dict[int, int] = {}  # node -> index of its partition group

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the relay's loop thread; links can be made once this returns."""
        if self._stopped:
            raise RuntimeError("a stopped relay cannot be restarted; make a new one")
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                # A dst_host given by name is resolved in the default executor: join its threads too.
                loop.run_until_complete(loop.shutdown_default_executor())
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="relay-loop", daemon=True)
        self._thread.start()
        if not ready.wait(CALL_TIMEOUT_S):
            raise RuntimeError("relay loop did not start")

    def stop(self) -> None:
        """Close every listener and connection, stop the loop and join its thread. Idempotent.

        Everything is closed and awaited on the loop before it stops, so no task is
        left pending and no socket is left to the garbage collector.
        """
        if self._stopped:
            return
        self._stopped = True
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(CALL_TIMEOUT_S)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CALL_TIMEOUT_S)

    def __enter__(self) -> Relay:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT_S) -> T:
        """Run `coro` on the relay's loop and return its result (for helpers that need a loop)."""
        if self._loop is None or self._stopped:
            coro.close()
            raise RuntimeError("relay is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # --- links ----------------------------------------------------------------------------

    def link(self, src: int, dst: int, dst_port: int, dst_host: str = "127.0.0.1") -> int:
        """Open the listener of link src→dst, forwarding to (dst_host, dst_port); return its port.

        One listener per (src, dst): asking again for the same destination returns the
        same port, so setting up a network can be written without bookkeeping.
        """
        return self.run(self._link(src, dst, dst_port, dst_host))

    def port(self, src: int, dst: int) -> int:
        """The listening port of link src→dst (KeyError if it was never made)."""
        return self.run(self._port(src, dst))

    def url(self, src: int, dst: int) -> str:
        """The peer URL node `src` should dial to reach node `dst` through the relay."""
        return f"ws://127.0.0.1:{self.port(src, dst)}"

    # --- faults ---------------------------------------------------------------------------

    def partition(self, *groups: Iterable[int]) -> None:
        """Cut every link between two different groups, both ways; links inside a group keep working.

        Nodes named in no group keep every link. Replaces any earlier partition.
        """
        group_of: dict[int, int] = {}
        for index, group in enumerate(groups):
            for node in group:
                if node in group_of and group_of[node] != index:
                    raise ValueError(f"node {node} is in two partition groups")
                group_of[node] = index
        self.run(self._set_rules(group_of=group_of))

    def isolate(self, node: int) -> None:
        """Cut every link from or to `node` (a node that lost its network)."""
        self.run(self._set_rules(isolate=node))

    def cut(self, src: int, dst: int) -> None:
        """Cut the one directed link src→dst, and its live connections (both directions of them)."""
        self.run(self._set_rules(cut=(src, dst)))

    def heal(self) -> None:
        """Restore every link: drop all cuts, isolations and the partition."""
        self.run(self._heal())

    def is_cut(self, src: int, dst: int) -> bool:
        """Whether link src→dst is cut now (also for a link not made yet)."""
        return self.run(self._is_cut_async(src, dst))

    def delay_ms(self, src: int, dst: int, ms: float) -> None:
        """Delay every chunk forwarded on link src→dst by `ms`, each way; 0 removes the delay.

        It is latency, not a bandwidth cap: chunks are delayed in a pipeline, so a
        round trip over the link gains 2 × ms and a stream still flows at full speed.
        The new delay applies to chunks read from now on.
        """
        if ms < 0:
            raise ValueError("delay must be >= 0 ms")
        self.run(self._set_delay(src, dst, ms / 1000.0))

    def stats(self) -> dict[tuple[int, int], dict[str, int]]:
        """Per link: connections, refused, failed, open, bytes_forwarded (+ per direction)."""
        return self.run(self._stats())

    # --- on the loop ------------------------------------------------------------------------

    def _cuts(self, key: LinkKey) -> bool:
        src, dst = key
        if key in self._cut_links or src in self._isolated or dst in self._isolated:
            return True
        if src in self._group_of and dst in self._group_of:
            return self._group_of[src] != self._group_of[dst]
        return False

    async def _is_cut_async(self, src: int, dst: int) -> bool:
        return self._cuts((src, dst))

    async def _port(self, src: int, dst: int) -> int:
        return self._links[(src, dst)].port

    async def _link(self, src: int, dst: int, dst_port: int, dst_host: str) -> int:
        existing = self._links.get((src, dst))
        if existing is not None:
            if (existing.dst_host, existing.dst_port) != (dst_host, dst_port):
                raise ValueError(
                    f"link {src}->{dst} already forwards to {existing.dst_host}:{existing.dst_port}"
                )
            return existing.port
        link = _Link(src, dst, dst_host, dst_port)

        async def on_accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._serve(link, reader, writer)

        link.server = await asyncio.start_server(on_accept, "127.0.0.1", 0)
        link.port = link.server.sockets[0].getsockname()[1]
        self._links[(src, dst)] = link
        return link.port

    async def _set_rules(
        self,
        group_of: dict[int, int] | None = None,
        isolate: int | None = None,
        cut: LinkKey | None = None,
    ) -> None:
        if group_of is not None:
            self._group_of = group_of
        if isolate is not None:
            self._isolated.add(isolate)
        if cut is not None:
            self._cut_links.add(cut)
        for key, link in self._links.items():
            if self._cuts(key):
                for conn in list(link.conns):
                    conn.abort()

    async def _heal(self) -> None:
        self._cut_links.clear()
        self._isolated.clear()
        self._group_of = {}

    async def _set_delay(self, src: int, dst: int, seconds: float) -> None:
        self._links[(src, dst)].delay_s = seconds

    async def _stats(self) -> dict[LinkKey, dict[str, int]]:
        return {key: link.stats.as_dict(len(link.conns)) for key, link in self._links.items()}

    async def _shutdown(self) -> None:
        servers = [link.server for link in self._links.values() if link.server is not None]
        for server in servers:
            server.close()
        conns = [conn for link in self._links.values() for conn in link.conns]
        for conn in conns:
            conn.abort()
        # The serving tasks remove themselves from their link; wait for them so none is pending
        # when the loop closes ("Task was destroyed but it is pending").
        await asyncio.gather(*(conn.task for conn in conns), return_exceptions=True)
        for server in servers:
            await server.wait_closed()
        # A connection accepted just before its listener closed starts its task a loop turn
        # later (and refuses itself, as the relay is stopped); let such stragglers finish, and
        # cancel whatever is still left (say a coroutine given to `run` that outlived its call).
        stragglers = asyncio.all_tasks() - {asyncio.current_task()}
        if stragglers:
            _, left = await asyncio.wait(stragglers, timeout=1.0)
            for t in left:
                t.cancel()
            await asyncio.gather(*left, return_exceptions=True)

    async def _serve(
        self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve one accepted connection of `link`: refuse it, or pump bytes both ways until either end closes."""
        task = asyncio.current_task()
        assert task is not None
        if self._cuts((link.src, link.dst)) or self._stopped:
            link.stats.refused += 1
            writer.transport.abort()
            return
        conn = _Conn(task, writer)
        link.conns.add(conn)
        try:
            try:
                up_reader, conn.upstream = await asyncio.open_connection(
                    link.dst_host, link.dst_port
                )
            except OSError:
                link.stats.failed += 1
                return
            link.stats.connections += 1
            await _pump_both(link, reader, writer, up_reader, conn.upstream)
        except asyncio.CancelledError:
            pass  # cut or stop: conn.abort() already dropped both ends
        finally:
            link.conns.discard(conn)
            for end in (writer, conn.upstream):
                if end is not None:
                    end.close()
                    with contextlib.suppress(Exception, asyncio.CancelledError):
                        await end.wait_closed()


async def _pump_both(
    link: _Link,
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    """Forward both directions until one of them ends, then return (the caller closes both ends).

    Each direction is a reader task feeding a queue and a sender task draining it,
    so a link's delay is a pipeline of due times (latency) rather than a sleep per
    chunk (which would cap throughput at one chunk per delay).
    """

    def count_up(n: int) -> None:
        link.stats.bytes_to_dst += n

    def count_down(n: int) -> None:
        link.stats.bytes_to_src += n

    to_dst, to_src = _Pipe(), _Pipe()
    readers = {
        asyncio.create_task(_read_into(link, client_reader, to_dst)),
        asyncio.create_task(_read_into(link, up_reader, to_src)),
    }
    senders = {
        asyncio.create_task(_send_from(to_dst, up_writer, count_up)),
        asyncio.create_task(_send_from(to_src, client_writer, count_down)),
    }
    pending = readers | senders
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            # A reader that met EOF has queued its end mark and returns normally; its sender
            # then flushes what was queued and ends the connection. Anything else (a sender
            # done, a read error) ends it now.
            if any(t in senders or t.cancelled() or t.exception() is not None for t in done):
                break
    finally:
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def _read_into(link: _Link, reader: asyncio.StreamReader, pipe: _Pipe) -> None:
    """Read chunks and queue each with the time it is due to be sent; queue None at EOF."""
    while True:
        while pipe.queued_bytes >= MAX_QUEUED_BYTES:
            pipe.space.clear()
            await pipe.space.wait()
        chunk = await reader.read(CHUNK_BYTES)
        if not chunk:
            pipe.queue.put_nowait(None)
            return
        pipe.queued_bytes += len(chunk)
        pipe.queue.put_nowait((time.monotonic() + link.delay_s, chunk))


async def _send_from(
    pipe: _Pipe, writer: asyncio.StreamWriter, count: Callable[[int], None]
) -> None:
    """Write queued chunks once due, in order, until the end mark."""
    while True:
        item = await pipe.queue.get()
        if item is None:
            return
        due, chunk = item
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        writer.write(chunk)
        await writer.drain()
        count(len(chunk))
        pipe.queued_bytes -= len(chunk)
        pipe.space.set()
