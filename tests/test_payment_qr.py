"""The QR code `incoop wallet request` draws holds exactly the request's URI.

The drawing is read back into modules (each character is two rows: a full block
both light, a space both dark, the half blocks one of each) and compared with
the symbol segno makes for the URI: a QR of another text, a cropped or shifted
symbol, or a missing quiet zone all fail.
"""

from __future__ import annotations

import segno

from wallet.pay_cli import draw_qr

URI = ("incoop:icaaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypwwpbpmu"
       "?chain=incoop-devnet&class=welfare-2026&amount=1250&ref=A-42%20%2F%20May&category=groceries")
CELLS = {"█": (False, False), "▀": (False, True), "▄": (True, False), " ": (True, True)}  # (top, bottom) dark


def read_back(drawing: str) -> list[list[bool]]:
    rows: list[list[bool]] = []
    for line in drawing.splitlines():
        top, bottom = zip(*(CELLS[ch] for ch in line), strict=True)
        rows += [list(top), list(bottom)]
    return rows


def expected(uri: str, border: int = 4) -> list[list[bool]]:
    matrix = [[bool(m) for m in row] for row in segno.make(uri, error="m", micro=False).matrix]
    width = len(matrix) + 2 * border
    quiet = [[False] * width for _ in range(border)]
    return quiet + [[False] * border + row + [False] * border for row in matrix] + quiet


def test_the_drawing_is_the_symbol_of_the_uri_with_its_quiet_zone() -> None:
    modules = read_back(draw_qr(URI))
    want = expected(URI)
    assert modules[: len(want)] == want
    assert len(modules) - len(want) in (0, 1), "an odd symbol ends in half a line of terminal background"


def test_another_text_draws_another_symbol() -> None:
    assert read_back(draw_qr(URI))[: len(expected(URI))] != expected(URI.replace("1250", "1251"))


def test_the_symbol_has_at_least_level_m() -> None:
    assert segno.make(URI, error="m", micro=False).error in ("M", "Q", "H")
