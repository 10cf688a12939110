"""The API's connection limits (node/api_connections.py, node/api.py's middleware), each as the attack.

A real aiohttp server on a loopback port, served exactly as the node serves
its API (ApiSite, GuardedRequestHandler, the connection_state and error
middlewares), with short limits so that every deadline is seen firing:

- a connection that says nothing, or sends its head a byte at a time, is
  closed at the header deadline; a kept-alive one that stays idle at the idle
  deadline; a later request's first byte brings the header deadline forward;
- a body that does not arrive in time ends the request with 408 BODY_TIMEOUT,
  a handler that does not answer in time with 503 TIMEOUT;
- at the cap a new connection takes the place of the longest-waiting idle
  one; if every connection is busy it is answered 503 TOO_MANY_CONNECTIONS;
- junk on the port is answered with the contract's JSON 400 carrying at most
  a 64-byte escaped prefix, and logged in one short line, under a budget.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from node.api import create_app
from node.api_connections import ApiConnections, ApiSite, connection_state
from node.config import ApiConfig
from node.untrusted import PREFIX_BYTES

HEADER_S, IDLE_S, BODY_S = 0.4, 0.6, 0.4
SLACK_S = 1.0
GET = b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"


@dataclass
class Served:
    port: int
    connections: ApiConnections
    release: asyncio.Event  # lets /test/hold answer


@asynccontextmanager
async def serving(**limits: object) -> AsyncIterator[Served]:
    """The node's API stack with test limits, and two extra routes: one that holds a request open."""
    settings: dict = {"header_timeout_s": HEADER_S, "idle_timeout_s": IDLE_S, "body_timeout_s": BODY_S,
                      "request_timeout_s": 5.0}
    config = ApiConfig(port=0, **{**settings, **limits})
    app = create_app(config)
    release = asyncio.Event()

    async def hold(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"held": True})

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"bytes": len(await request.read())})

    app.router.add_get("/test/hold", hold)
    app.router.add_post("/test/echo", echo)
    app.middlewares.insert(0, connection_state)
    connections = ApiConnections(config)
    runner = web.AppRunner(app, **connections.handler_kwargs())
    await runner.setup()
    site = ApiSite(runner, connections, "127.0.0.1", 0)
    await site.start()
    try:
        yield Served(site.port, connections, release)
    finally:
        release.set()
        await runner.cleanup()


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 30))


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def closed_after(reader: asyncio.StreamReader, limit_s: float) -> float:
    """Seconds until the server closes the connection (reading and discarding whatever it sends)."""
    start = time.monotonic()
    async with asyncio.timeout(limit_s):
        while await reader.read(65536):
            pass
    return time.monotonic() - start


async def response(reader: asyncio.StreamReader) -> tuple[int, dict]:
    """One HTTP/1.1 response with a Content-Length: (status, JSON body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    return status, json.loads(await reader.readexactly(length))


# --- deadlines ---------------------------------------------------------------------------------


def test_a_silent_connection_is_closed_at_the_header_deadline() -> None:
    async def test() -> None:
        async with serving() as served:
            reader, writer = await connect(served.port)
            waited = await closed_after(reader, HEADER_S + SLACK_S + 1)
            assert HEADER_S - 0.05 <= waited <= HEADER_S + SLACK_S
            assert served.connections.header_timeouts == 1 and len(served.connections) == 0
            writer.close()

    run(test)


def test_a_head_sent_a_byte_at_a_time_is_closed_at_the_header_deadline() -> None:
    """Slowloris: bytes keep coming, the head never completes in time; the deadline does not move."""
    async def test() -> None:
        async with serving() as served:
            reader, writer = await connect(served.port)
            start = time.monotonic()
            closed = asyncio.create_task(closed_after(reader, 5))
            for byte in b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                if closed.done():
                    break
                try:
                    writer.write(bytes([byte]))
                    await writer.drain()
                except ConnectionError:
                    break
                await asyncio.sleep(0.02)
            await closed
            assert time.monotonic() - start <= HEADER_S + SLACK_S
            assert served.connections.header_timeouts == 1
            writer.close()

    run(test)


def test_a_kept_alive_connection_is_closed_when_idle_and_a_late_head_is_bounded_too() -> None:
    async def test() -> None:
        async with serving() as served:
            # idle after an answer: closed at the idle deadline, not the header one
            reader, writer = await connect(served.port)
            writer.write(GET)
            assert (await response(reader))[0] == 200
            waited = await closed_after(reader, IDLE_S + SLACK_S + 1)
            assert IDLE_S - 0.05 <= waited <= IDLE_S + SLACK_S
            assert served.connections.idle_timeouts == 1
            writer.close()
            # a later request begun and stalled: the header deadline from its first byte comes first
            reader, writer = await connect(served.port)
            writer.write(GET)
            assert (await response(reader))[0] == 200
            await asyncio.sleep(0.1)
            writer.write(b"GE")
            waited = await closed_after(reader, IDLE_S + SLACK_S + 1)
            assert HEADER_S - 0.05 <= waited <= HEADER_S + SLACK_S < IDLE_S + 0.1 + SLACK_S
            assert served.connections.header_timeouts == 1
            writer.close()

    run(test)


def test_a_kept_alive_client_is_served_again_and_again() -> None:
    """The deadlines restart with each request: a steady client is never cut off."""
    async def test() -> None:
        async with serving() as served:
            reader, writer = await connect(served.port)
            for _ in range(5):
                writer.write(GET)
                assert (await response(reader))[0] == 200
                await asyncio.sleep(IDLE_S / 2)
            assert served.connections.idle_timeouts == served.connections.header_timeouts == 0
            writer.close()

    run(test)


def test_a_body_that_does_not_arrive_in_time_is_408() -> None:
    async def test() -> None:
        async with serving() as served:
            reader, writer = await connect(served.port)
            start = time.monotonic()
            writer.write(b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n" + b"x" * 10)
            status, body = await response(reader)
            assert (status, body["error"]["code"]) == (408, "BODY_TIMEOUT"), body
            assert BODY_S - 0.05 <= time.monotonic() - start <= BODY_S + SLACK_S
            await closed_after(reader, 10)  # the connection is not reused: the rest of the body never came
            writer.close()
            # a body that does come is served
            reader, writer = await connect(served.port)
            writer.write(b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000)
            assert await response(reader) == (200, {"bytes": 1000})
            writer.close()

    run(test)


def test_a_request_not_answered_in_time_is_503_timeout() -> None:
    async def test() -> None:
        async with serving(request_timeout_s=0.3) as served:
            reader, writer = await connect(served.port)
            start = time.monotonic()
            writer.write(b"GET /test/hold HTTP/1.1\r\nHost: x\r\n\r\n")
            status, body = await response(reader)
            assert (status, body["error"]["code"]) == (503, "TIMEOUT")
            assert 0.25 <= time.monotonic() - start <= 0.3 + SLACK_S
            writer.write(GET)  # the connection is still good for the next request
            assert (await response(reader))[0] == 200
            writer.close()

    run(test)


# --- the cap -------------------------------------------------------------------------------------


def test_at_the_cap_a_new_connection_takes_the_place_of_the_longest_idle() -> None:
    async def test() -> None:
        async with serving(max_connections=3) as served:
            idle = [await connect(served.port) for _ in range(3)]
            await asyncio.sleep(0.05)
            assert len(served.connections) == 3
            reader, writer = await connect(served.port)
            writer.write(GET)
            assert (await response(reader))[0] == 200
            assert await closed_after(idle[0][0], 0.2) < 0.2, "the oldest idle connection made room"
            assert served.connections.evicted == 1 and served.connections.refused == 0
            assert len(served.connections) == 3
            for _, w in (*idle, (reader, writer)):
                w.close()

    run(test)


def test_at_the_cap_with_every_connection_busy_a_new_one_is_refused_with_503() -> None:
    async def test() -> None:
        async with serving(max_connections=2) as served:
            busy = [await connect(served.port) for _ in range(2)]
            for _, writer in busy:
                writer.write(b"GET /test/hold HTTP/1.1\r\nHost: x\r\n\r\n")
            await asyncio.sleep(0.1)
            reader, writer = await connect(served.port)
            status, body = await response(reader)
            assert (status, body["error"]["code"]) == (503, "TOO_MANY_CONNECTIONS")
            assert served.connections.refused == 1 and served.connections.evicted == 0
            writer.close()
            # the busy ones were never disturbed, and are not cut by a deadline while their request runs
            await asyncio.sleep(HEADER_S + 0.1)
            served.release.set()
            for busy_reader, busy_writer in busy:
                assert await response(busy_reader) == (200, {"held": True})
                busy_writer.close()

    run(test)


def test_many_idle_and_slow_connections_do_not_keep_a_request_from_being_served() -> None:
    """200 silent and 200 slow-head connections against a cap of 100: a real request is still answered at once."""
    async def test() -> None:
        async with serving(max_connections=100) as served:
            idle = [await connect(served.port) for _ in range(200)]
            slow = [await connect(served.port) for _ in range(200)]
            for _, writer in slow:
                writer.write(b"GET / HTTP/1.1\r\n")
            await asyncio.sleep(0.05)
            start = time.monotonic()
            reader, writer = await connect(served.port)
            writer.write(GET)
            assert (await response(reader))[0] == 200
            assert time.monotonic() - start < 0.5
            writer.close()
            for r, w in (*idle, *slow):
                await closed_after(r, HEADER_S + SLACK_S + 1)
                w.close()
            assert len(served.connections) == 0
            c = served.connections
            assert c.evicted + c.header_timeouts + c.idle_timeouts == 400, vars(c)

    run(test)


# --- junk ------------------------------------------------------------------------------------------


def test_junk_is_answered_with_json_and_a_short_prefix_and_logged_in_one_short_line(caplog) -> None:
    junk = b"Z" * (128 * 1024)  # printable, so that an echo of it is easy to find
    sends = [junk, b"GET /" + junk + b" HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nX-Junk: " + junk + b"\r\n\r\n",
             os.urandom(128 * 1024)]

    async def test() -> None:
        async with serving() as served:
            for data in sends:
                reader, writer = await connect(served.port)
                writer.write(data)
                status, body = await response(reader)
                assert (status, body["error"]["code"]) == (400, "BAD_REQUEST"), body
                message = body["error"]["message"]
                assert "Z" * (PREFIX_BYTES + 1) not in message and len(message) <= 320, message
                writer.close()
            assert served.connections.malformed == len(sends)

    with caplog.at_level(logging.DEBUG):
        run(test)
    lines = [r.getMessage() for r in caplog.records]
    assert all("Z" * (PREFIX_BYTES + 1) not in line and len(line) < 400 and "\n" not in line for line in lines), lines
    assert sum("malformed HTTP request" in line for line in lines) == len(sends)
    assert not [r for r in caplog.records if r.exc_info], "no traceback for junk"


def test_a_flood_of_junk_writes_a_few_log_lines_not_one_per_request(caplog) -> None:
    async def test() -> None:
        async with serving() as served:
            for _ in range(50):
                reader, writer = await connect(served.port)
                writer.write(b"\x16\x03\x01 not http\r\n\r\n")
                assert (await response(reader))[0] == 400
                writer.close()
            assert served.connections.malformed == 50

    with caplog.at_level(logging.INFO, logger="incoop.api"):
        run(test)
    logged = [r.getMessage() for r in caplog.records if "malformed HTTP request" in r.getMessage()]
    assert len(logged) == 10, logged  # node.untrusted.LogBudget: 10 lines a minute


def test_an_unknown_path_is_named_by_its_prefix_only() -> None:
    """(The routes' own messages are checked against a real node: tests/functional/test_api_limits.py.)"""
    async def test() -> None:
        async with serving() as served:
            reader, writer = await connect(served.port)
            writer.write(b"GET /v1/" + b"p" * 8000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            status, body = await response(reader)
            assert (status, body["error"]["code"]) == (404, "NOT_FOUND")
            assert "p" * (PREFIX_BYTES + 1) not in body["error"]["message"], body
            assert "(+" in body["error"]["message"], "the message says the path was cut"
            writer.close()

    run(test)
