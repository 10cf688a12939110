"""The federation the end-to-end browser tests use: four validators with the devnet's demo data.

Exactly what `scripts/devnet` shows a person (node/devnet_seed.py: residents,
providers and their listings, a purchase group, the agora's spaces and a
participatory budget), on free loopback ports with the suite's fast timings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from node.devnet_seed import seed_demo
from tests.functional.framework import Devnet, make_devnet


@dataclass
class Demo:
    devnet: Devnet
    identities: dict[str, str]  # demo label -> identity id (hex), as seed_demo made them

    @property
    def url(self) -> str:
        return self.devnet.node.url


def demo_federation(directory: Path, validators: int = 4) -> Iterator[Demo]:
    """Fixture body: the seeded federation, killed afterwards; log tails printed for a failed test."""
    devnet = make_devnet(directory, validators=validators, demo_federation=True)
    try:
        devnet.start_all(devnet.validators)
        yield Demo(devnet, seed_demo(devnet.layout))
    finally:
        devnet.cleanup()
        devnet.print_logs()
