"""A person at a terminal, for commands that ask before they act (`registrar erase`, `devnet --reset`).

Such a command reads its answer only from a terminal (without one it
refuses), so the tests give it a real pseudo-terminal as its standard input
with the person's answer already typed, as the kernel's line discipline
would hold it until the program reads a line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def typed_at_terminal(answer: str) -> Iterator[int]:
    """The terminal end of a new pseudo-terminal with `answer` and Enter typed, to pass as a child's stdin.

    Both ends stay open until the block ends: keep the child inside it until it has read its answer.
    """
    controller, terminal = os.openpty()
    try:
        os.write(controller, (answer + "\n").encode())
        yield terminal
    finally:
        os.close(terminal)
        os.close(controller)
