"""Free loopback ports for local devnets (tests, benchmarks)."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port_block(count: int = 2) -> int:
    """A port p with p .. p + count - 1 free on loopback (devnet node i uses p + 2i and p + 2i + 1).

    Chosen below the kernel's ephemeral range: a port from that range can be taken as the source
    port of some outgoing connection while its node is down (or not yet up), and the node then
    fails with "address already in use".
    """
    low, _ = _ephemeral_range()
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(10_000, max(10_001, low - count))
        sockets = []
        try:
            for offset in range(count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return port
    raise RuntimeError(f"no block of {count} free loopback ports")
