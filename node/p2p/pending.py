"""The bounded pool of inbound connections that have not proved a key yet (FORMAT.md §18.2).

A connection is pending from the moment it is accepted until its handshake
proves an allowed key; strangers must not be able to pile up such
connections, nor lock real peers out by holding them. The policy:

- at most `max_total` pending connections; a new one when the pool is full
  evicts the oldest connection of the address group (an IPv4 address, an
  IPv6 /64) that holds the most, so that a flood from one place churns its
  own connections and never a quiet address's;
- a new connection is never refused. Refusing it would let whoever holds the
  slots lock everyone else out (issue 12: 64 silent connections did), and
  any "protect the young ones" rule turns into the same lock-out, since an
  attacker re-opening at once grabs every slot the moment it frees. With
  eviction, an honest handshake only has to finish before `max_total` newer
  connections arrive from the flooding address; when that address is its
  own (every node of a devnet shares 127.0.0.1 with any local attacker) the
  pool's size is what buys the time, which is why there is no separate,
  smaller cap per address: it would only make that churn faster.

Pure bookkeeping, no sockets or clocks: node.p2p.listener closes what this
says to evict.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


def address_group(host: str) -> str:
    """The group a remote address counts in: the IPv4 address, or the /64 of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class PendingPool(Generic[T]):
    """Pending connections by address group, oldest first within each group."""

    def __init__(self, max_total: int):
        if max_total < 1:
            raise ValueError("max_total must be at least 1")
        self.max_total = max_total
        self._groups: dict[str, OrderedDict[T, int]] = {}  # group -> connection -> arrival number
        self._group_of: dict[T, str] = {}
        self._arrivals = itertools.count()

    def admit(self, conn: T, group: str) -> list[T]:
        """Add a new connection; the connections to close to make room for it."""
        if conn in self._group_of:
            raise ValueError("connection already pending")
        evicted = []
        if len(self._group_of) >= self.max_total:
            evicted.append(self._evict_oldest(self._largest_group()))
        self._groups.setdefault(group, OrderedDict())[conn] = next(self._arrivals)
        self._group_of[conn] = group
        return evicted

    def remove(self, conn: T) -> bool:
        """Forget a connection (proved its key, or closed); False if it was not pending."""
        group = self._group_of.pop(conn, None)
        if group is None:
            return False
        members = self._groups[group]
        del members[conn]
        if not members:
            del self._groups[group]
        return True

    def count(self, group: str) -> int:
        return len(self._groups.get(group, ()))

    def __contains__(self, conn: object) -> bool:
        return conn in self._group_of

    def __len__(self) -> int:
        return len(self._group_of)

    def _largest_group(self) -> str:
        """The group holding the most; among equals, the one whose oldest arrived first."""
        return min(self._groups, key=lambda g: (-len(self._groups[g]), next(iter(self._groups[g].values()))))

    def _evict_oldest(self, group: str) -> T:
        oldest = next(iter(self._groups[group]))
        self.remove(oldest)
        return oldest
