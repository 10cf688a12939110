"""A QR Code encoder (ISO/IEC 18004): byte mode, versions 1-40, levels L/M/Q/H.

Written from the standard's description, for `incoop wallet request` to show a
payment request in a terminal without a third-party library. It encodes one
byte-mode segment (the text as UTF-8) and follows the standard step by step:

1. Data: mode indicator 0100, character count (8 bits in versions 1-9, 16 in
   10-40), the bytes, a terminator of up to four 0 bits, 0 bits to a byte
   boundary, then the pad codewords 11101100 and 00010001 alternately up to
   the version's data capacity. The version is the smallest that holds the
   data at the requested level.
2. Error correction: the data codewords are split into blocks (EC_BLOCKS, the
   standard's table of error correction characteristics), each block gets
   Reed-Solomon codewords over GF(256) with the field polynomial
   x^8+x^4+x^3+x^2+1 and the generator polynomial (x-a^0)(x-a^1)...(x-a^(n-1)).
   The final sequence is the data codewords interleaved block by block, then
   the EC codewords likewise, then the version's remainder bits (0).
3. The matrix: finder patterns with separators, timing patterns, alignment
   patterns (ALIGNMENT), the dark module, and the areas reserved for format and
   version information; the codeword bits are placed in two-module columns
   from the bottom right, upwards and downwards in turn, skipping column 6.
4. Masking: each of the eight masks is applied to the data modules, the format
   information (level and mask, BCH(15,5) with generator 10100110111, XORed
   with 101010000010010) and, from version 7, the version information
   (BCH(18,6) with generator 1111100100101) are written, and the symbol with
   the lowest penalty (rules N1-N4) is kept.

`encode` returns the matrix as rows of booleans (True = dark), without the
quiet zone; `render_terminal` and `render_ascii` draw it with one.
"""

from __future__ import annotations

import re
from typing import NamedTuple

LEVELS = ("L", "M", "Q", "H")
FORMAT_LEVEL_BITS = {"L": 0b01, "M": 0b00, "Q": 0b11, "H": 0b10}
"""The two error correction level bits of the format information."""
FORMAT_MASK = 0b101010000010010
FORMAT_GENERATOR = 0b10100110111
VERSION_GENERATOR = 0b1111100100101
MODE_BYTE = 0b0100
PAD_CODEWORDS = (0b11101100, 0b00010001)
MIN_VERSION, MAX_VERSION = 1, 40


class QrError(ValueError):
    """The text does not fit in a version 40 symbol, or an argument is out of range."""


class BlockSpec(NamedTuple):
    """One row of the error correction table: `ec` EC codewords per block, `count1`
    blocks of `data1` data codewords, then `count2` blocks of `data1 + 1`."""

    ec: int
    count1: int
    data1: int
    count2: int
    data2: int


def _row(ec: int, count1: int, data1: int, count2: int = 0, data2: int = 0) -> BlockSpec:
    return BlockSpec(ec, count1, data1, count2, data2)


# ISO/IEC 18004, table "Error correction characteristics for QR Code": for each
# version, the levels L, M, Q, H as (EC codewords per block, blocks in group 1,
# data codewords per group 1 block, blocks in group 2, data codewords per group 2 block).
EC_BLOCKS: dict[int, dict[str, BlockSpec]] = {
    1: {"L": _row(7, 1, 19), "M": _row(10, 1, 16), "Q": _row(13, 1, 13), "H": _row(17, 1, 9)},
    2: {"L": _row(10, 1, 34), "M": _row(16, 1, 28), "Q": _row(22, 1, 22), "H": _row(28, 1, 16)},
    3: {"L": _row(15, 1, 55), "M": _row(26, 1, 44), "Q": _row(18, 2, 17), "H": _row(22, 2, 13)},
    4: {"L": _row(20, 1, 80), "M": _row(18, 2, 32), "Q": _row(26, 2, 24), "H": _row(16, 4, 9)},
    5: {"L": _row(26, 1, 108), "M": _row(24, 2, 43), "Q": _row(18, 2, 15, 2, 16), "H": _row(22, 2, 11, 2, 12)},
    6: {"L": _row(18, 2, 68), "M": _row(16, 4, 27), "Q": _row(24, 4, 19), "H": _row(28, 4, 15)},
    7: {"L": _row(20, 2, 78), "M": _row(18, 4, 31), "Q": _row(18, 2, 14, 4, 15), "H": _row(26, 4, 13, 1, 14)},
    8: {"L": _row(24, 2, 97), "M": _row(22, 2, 38, 2, 39), "Q": _row(22, 4, 18, 2, 19), "H": _row(26, 4, 14, 2, 15)},
    9: {"L": _row(30, 2, 116), "M": _row(22, 3, 36, 2, 37), "Q": _row(20, 4, 16, 4, 17), "H": _row(24, 4, 12, 4, 13)},
    10: {"L": _row(18, 2, 68, 2, 69), "M": _row(26, 4, 43, 1, 44), "Q": _row(24, 6, 19, 2, 20), "H": _row(28, 6, 15, 2, 16)},
    11: {"L": _row(20, 4, 81), "M": _row(30, 1, 50, 4, 51), "Q": _row(28, 4, 22, 4, 23), "H": _row(24, 3, 12, 8, 13)},
    12: {"L": _row(24, 2, 92, 2, 93), "M": _row(22, 6, 36, 2, 37), "Q": _row(26, 4, 20, 6, 21), "H": _row(28, 7, 14, 4, 15)},
    13: {"L": _row(26, 4, 107), "M": _row(22, 8, 37, 1, 38), "Q": _row(24, 8, 20, 4, 21), "H": _row(22, 12, 11, 4, 12)},
    14: {"L": _row(30, 3, 115, 1, 116), "M": _row(24, 4, 40, 5, 41), "Q": _row(20, 11, 16, 5, 17), "H": _row(24, 11, 12, 5, 13)},
    15: {"L": _row(22, 5, 87, 1, 88), "M": _row(24, 5, 41, 5, 42), "Q": _row(30, 5, 24, 7, 25), "H": _row(24, 11, 12, 7, 13)},
    16: {"L": _row(24, 5, 98, 1, 99), "M": _row(28, 7, 45, 3, 46), "Q": _row(24, 15, 19, 2, 20), "H": _row(30, 3, 15, 13, 16)},
    17: {"L": _row(28, 1, 107, 5, 108), "M": _row(28, 10, 46, 1, 47), "Q": _row(28, 1, 22, 15, 23), "H": _row(28, 2, 14, 17, 15)},
    18: {"L": _row(30, 5, 120, 1, 121), "M": _row(26, 9, 43, 4, 44), "Q": _row(28, 17, 22, 1, 23), "H": _row(28, 2, 14, 19, 15)},
    19: {"L": _row(28, 3, 113, 4, 114), "M": _row(26, 3, 44, 11, 45), "Q": _row(26, 17, 21, 4, 22), "H": _row(26, 9, 13, 16, 14)},
    20: {"L": _row(28, 3, 107, 5, 108), "M": _row(26, 3, 41, 13, 42), "Q": _row(30, 15, 24, 5, 25), "H": _row(28, 15, 15, 10, 16)},
    21: {"L": _row(28, 4, 116, 4, 117), "M": _row(26, 17, 42), "Q": _row(28, 17, 22, 6, 23), "H": _row(30, 19, 16, 6, 17)},
    22: {"L": _row(28, 2, 111, 7, 112), "M": _row(28, 17, 46), "Q": _row(30, 7, 24, 16, 25), "H": _row(24, 34, 13)},
    23: {"L": _row(30, 4, 121, 5, 122), "M": _row(28, 4, 47, 14, 48), "Q": _row(30, 11, 24, 14, 25), "H": _row(30, 16, 15, 14, 16)},
    24: {"L": _row(30, 6, 117, 4, 118), "M": _row(28, 6, 45, 14, 46), "Q": _row(30, 11, 24, 16, 25), "H": _row(30, 30, 16, 2, 17)},
    25: {"L": _row(26, 8, 106, 4, 107), "M": _row(28, 8, 47, 13, 48), "Q": _row(30, 7, 24, 22, 25), "H": _row(30, 22, 15, 13, 16)},
    26: {"L": _row(28, 10, 114, 2, 115), "M": _row(28, 19, 46, 4, 47), "Q": _row(28, 28, 22, 6, 23), "H": _row(30, 33, 16, 4, 17)},
    27: {"L": _row(30, 8, 122, 4, 123), "M": _row(28, 22, 45, 3, 46), "Q": _row(30, 8, 23, 26, 24), "H": _row(30, 12, 15, 28, 16)},
    28: {"L": _row(30, 3, 117, 10, 118), "M": _row(28, 3, 45, 23, 46), "Q": _row(30, 4, 24, 31, 25), "H": _row(30, 11, 15, 31, 16)},
    29: {"L": _row(30, 7, 116, 7, 117), "M": _row(28, 21, 45, 7, 46), "Q": _row(30, 1, 23, 37, 24), "H": _row(30, 19, 15, 26, 16)},
    30: {"L": _row(30, 5, 115, 10, 116), "M": _row(28, 19, 47, 10, 48), "Q": _row(30, 15, 24, 25, 25), "H": _row(30, 23, 15, 25, 16)},
    31: {"L": _row(30, 13, 115, 3, 116), "M": _row(28, 2, 46, 29, 47), "Q": _row(30, 42, 24, 1, 25), "H": _row(30, 23, 15, 28, 16)},
    32: {"L": _row(30, 17, 115), "M": _row(28, 10, 46, 23, 47), "Q": _row(30, 10, 24, 35, 25), "H": _row(30, 19, 15, 35, 16)},
    33: {"L": _row(30, 17, 115, 1, 116), "M": _row(28, 14, 46, 21, 47), "Q": _row(30, 29, 24, 19, 25), "H": _row(30, 11, 15, 46, 16)},
    34: {"L": _row(30, 13, 115, 6, 116), "M": _row(28, 14, 46, 23, 47), "Q": _row(30, 44, 24, 7, 25), "H": _row(30, 59, 16, 1, 17)},
    35: {"L": _row(30, 12, 121, 7, 122), "M": _row(28, 12, 47, 26, 48), "Q": _row(30, 39, 24, 14, 25), "H": _row(30, 22, 15, 41, 16)},
    36: {"L": _row(30, 6, 121, 14, 122), "M": _row(28, 6, 47, 34, 48), "Q": _row(30, 46, 24, 10, 25), "H": _row(30, 2, 15, 64, 16)},
    37: {"L": _row(30, 17, 122, 4, 123), "M": _row(28, 29, 46, 14, 47), "Q": _row(30, 49, 24, 10, 25), "H": _row(30, 24, 15, 46, 16)},
    38: {"L": _row(30, 4, 122, 18, 123), "M": _row(28, 13, 46, 32, 47), "Q": _row(30, 48, 24, 14, 25), "H": _row(30, 42, 15, 32, 16)},
    39: {"L": _row(30, 20, 117, 4, 118), "M": _row(28, 40, 47, 7, 48), "Q": _row(30, 43, 24, 22, 25), "H": _row(30, 10, 15, 67, 16)},
    40: {"L": _row(30, 19, 118, 6, 119), "M": _row(28, 18, 47, 31, 48), "Q": _row(30, 34, 24, 34, 25), "H": _row(30, 20, 15, 61, 16)},
}

# ISO/IEC 18004, Annex E: row/column coordinates of the alignment pattern centres.
ALIGNMENT: dict[int, tuple[int, ...]] = {
    1: (),
    2: (6, 18), 3: (6, 22), 4: (6, 26), 5: (6, 30), 6: (6, 34),
    7: (6, 22, 38), 8: (6, 24, 42), 9: (6, 26, 46), 10: (6, 28, 50),
    11: (6, 30, 54), 12: (6, 32, 58), 13: (6, 34, 62),
    14: (6, 26, 46, 66), 15: (6, 26, 48, 70), 16: (6, 26, 50, 74), 17: (6, 30, 54, 78),
    18: (6, 30, 56, 82), 19: (6, 30, 58, 86), 20: (6, 34, 62, 90),
    21: (6, 28, 50, 72, 94), 22: (6, 26, 50, 74, 98), 23: (6, 30, 54, 78, 102),
    24: (6, 28, 54, 80, 106), 25: (6, 32, 58, 84, 110), 26: (6, 30, 58, 86, 114),
    27: (6, 34, 62, 90, 118),
    28: (6, 26, 50, 74, 98, 122), 29: (6, 30, 54, 78, 102, 126), 30: (6, 26, 52, 78, 104, 130),
    31: (6, 30, 56, 82, 108, 134), 32: (6, 34, 60, 86, 112, 138), 33: (6, 30, 58, 86, 114, 142),
    34: (6, 34, 62, 90, 118, 146),
    35: (6, 30, 54, 78, 102, 126, 150), 36: (6, 24, 50, 76, 102, 128, 154),
    37: (6, 28, 54, 80, 106, 132, 158), 38: (6, 32, 58, 84, 110, 136, 162),
    39: (6, 26, 54, 82, 110, 138, 166), 40: (6, 30, 58, 86, 114, 142, 170),
}


def size_of(version: int) -> int:
    return 4 * version + 17


def data_codewords(version: int, level: str) -> int:
    spec = EC_BLOCKS[version][level]
    return spec.count1 * spec.data1 + spec.count2 * spec.data2


def total_codewords(version: int) -> int:
    """Codewords (data + EC) the version holds, from the table (level L; every level agrees)."""
    spec = EC_BLOCKS[version]["L"]
    return data_codewords(version, "L") + (spec.count1 + spec.count2) * spec.ec


def count_bits(version: int) -> int:
    """Length of the byte-mode character count indicator."""
    return 8 if version <= 9 else 16


def byte_capacity(version: int, level: str) -> int:
    """Bytes one byte-mode segment can carry."""
    return (data_codewords(version, level) * 8 - 4 - count_bits(version)) // 8


# --- GF(256) and Reed-Solomon ---------------------------------------------------------

_FIELD_POLY = 0x11D  # x^8 + x^4 + x^3 + x^2 + 1
_EXP = [0] * 512
_LOG = [0] * 256


def _init_field() -> None:
    value = 1
    for power in range(255):
        _EXP[power] = value
        _LOG[value] = power
        value <<= 1
        if value & 0x100:
            value ^= _FIELD_POLY
    for power in range(255, 512):
        _EXP[power] = _EXP[power - 255]


_init_field()


def gf_mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def generator_polynomial(degree: int) -> list[int]:
    """Coefficients of (x - a^0)(x - a^1)...(x - a^(degree-1)), highest power first (leading 1)."""
    poly = [1]
    for i in range(degree):
        root = _EXP[i]
        nxt = poly + [0]
        for j, coef in enumerate(poly):
            nxt[j + 1] ^= gf_mul(coef, root)
        poly = nxt
    return poly


def rs_remainder(data: bytes | list[int], ec_count: int) -> list[int]:
    """The EC codewords of one block: data(x) * x^ec_count mod generator(x)."""
    gen = generator_polynomial(ec_count)
    rem = [0] * ec_count
    for byte in data:
        factor = byte ^ rem[0]
        rem = rem[1:] + [0]
        if factor:
            for j in range(ec_count):
                rem[j] ^= gf_mul(gen[j + 1], factor)
    return rem


# --- data codewords, blocks, interleaving --------------------------------------------------


def choose_version(length: int, level: str) -> int:
    for version in range(MIN_VERSION, MAX_VERSION + 1):
        if length <= byte_capacity(version, level):
            return version
    raise QrError(f"{length} bytes do not fit in a QR code at level {level} "
                  f"(at most {byte_capacity(MAX_VERSION, level)})")


def data_codeword_sequence(payload: bytes, version: int, level: str) -> list[int]:
    """Mode, count, bytes, terminator, padding: exactly the version's data codewords."""
    capacity = data_codewords(version, level) * 8
    bits: list[int] = []

    def put(value: int, width: int) -> None:
        bits.extend((value >> shift) & 1 for shift in range(width - 1, -1, -1))

    put(MODE_BYTE, 4)
    put(len(payload), count_bits(version))
    for byte in payload:
        put(byte, 8)
    if len(bits) > capacity:
        raise QrError(f"{len(payload)} bytes do not fit in version {version}-{level}")
    bits.extend([0] * min(4, capacity - len(bits)))
    bits.extend([0] * (-len(bits) % 8))
    codewords = [int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8)]
    pad = 0
    while len(codewords) < capacity // 8:
        codewords.append(PAD_CODEWORDS[pad % 2])
        pad += 1
    return codewords


def split_blocks(data: list[int], version: int, level: str) -> list[list[int]]:
    spec = EC_BLOCKS[version][level]
    blocks = []
    pos = 0
    for count, length in ((spec.count1, spec.data1), (spec.count2, spec.data2)):
        for _ in range(count):
            blocks.append(data[pos:pos + length])
            pos += length
    assert pos == len(data)
    return blocks


def interleave(blocks: list[list[int]]) -> list[int]:
    out = []
    for i in range(max(len(block) for block in blocks)):
        out.extend(block[i] for block in blocks if i < len(block))
    return out


def final_codewords(payload: bytes, version: int, level: str) -> list[int]:
    """Data codewords then EC codewords, both interleaved across the blocks."""
    spec = EC_BLOCKS[version][level]
    blocks = split_blocks(data_codeword_sequence(payload, version, level), version, level)
    ec_blocks = [rs_remainder(block, spec.ec) for block in blocks]
    return interleave(blocks) + interleave(ec_blocks)


# --- format and version information -------------------------------------------------------


def _bch_remainder(value: int, generator: int) -> int:
    degree = generator.bit_length() - 1
    value <<= degree
    while value.bit_length() > degree:
        value ^= generator << (value.bit_length() - 1 - degree)
    return value


def format_bits(level: str, mask: int) -> int:
    """The 15 format information bits (before placement) for a level and mask."""
    data = (FORMAT_LEVEL_BITS[level] << 3) | mask
    return ((data << 10) | _bch_remainder(data, FORMAT_GENERATOR)) ^ FORMAT_MASK


def version_bits(version: int) -> int:
    """The 18 version information bits, for versions 7 and up."""
    return (version << 12) | _bch_remainder(version, VERSION_GENERATOR)


# --- the matrix -----------------------------------------------------------------------


def _mask_fn(mask: int):
    return (
        lambda i, j: (i + j) % 2 == 0,
        lambda i, j: i % 2 == 0,
        lambda i, j: j % 3 == 0,
        lambda i, j: (i + j) % 3 == 0,
        lambda i, j: (i // 2 + j // 3) % 2 == 0,
        lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
        lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
        lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
    )[mask]


class _Symbol:
    def __init__(self, version: int):
        self.version = version
        self.size = size_of(version)
        self.dark = [[False] * self.size for _ in range(self.size)]
        self.function = [[False] * self.size for _ in range(self.size)]
        self._function_patterns()

    def set(self, row: int, col: int, dark: bool) -> None:
        self.dark[row][col] = dark
        self.function[row][col] = True

    def _function_patterns(self) -> None:
        n = self.size
        for top, left in ((0, 0), (0, n - 7), (n - 7, 0)):
            # finder 7x7 plus its one-module light separator (clipped at the edges)
            for r in range(-1, 8):
                for c in range(-1, 8):
                    row, col = top + r, left + c
                    if 0 <= row < n and 0 <= col < n:
                        ring = max(abs(r - 3), abs(c - 3))
                        self.set(row, col, ring != 2 and ring != 4)
        for i in range(8, n - 8):
            self.set(6, i, i % 2 == 0)
            self.set(i, 6, i % 2 == 0)
        centres = ALIGNMENT[self.version]
        last = n - 7
        for row in centres:
            for col in centres:
                if (row, col) in ((6, 6), (6, last), (last, 6)):
                    continue  # under a finder pattern
                for r in range(-2, 3):
                    for c in range(-2, 3):
                        self.set(row + r, col + c, max(abs(r), abs(c)) != 1)
        # reserved for format information (written later), and the dark module
        for i in range(9):
            if i != 6:  # (6, 8) and (8, 6) belong to the timing patterns
                self.set(8, i, False)
                self.set(i, 8, False)
        for i in range(8):
            self.set(8, n - 1 - i, False)
            self.set(n - 1 - i, 8, False)
        self.set(n - 8, 8, True)
        if self.version >= 7:
            bits = version_bits(self.version)
            for i in range(18):
                dark = bool((bits >> i) & 1)
                a, b = n - 11 + i % 3, i // 3
                self.set(a, b, dark)  # bottom left
                self.set(b, a, dark)  # top right

    def place_data(self, codewords: list[int]) -> None:
        n = self.size
        bits = [(cw >> shift) & 1 for cw in codewords for shift in range(7, -1, -1)]
        index = 0
        upward = True
        right = n - 1
        while right >= 1:
            if right == 6:
                right = 5  # the vertical timing pattern is not part of any column pair
            rows = range(n - 1, -1, -1) if upward else range(n)
            for row in rows:
                for col in (right, right - 1):
                    if self.function[row][col]:
                        continue
                    if index < len(bits):
                        self.dark[row][col] = bool(bits[index])
                        index += 1
                    # else: a remainder bit, light
            upward = not upward
            right -= 2
        assert index == len(bits), "codewords do not fill the symbol"

    def masked(self, mask: int, level: str) -> list[list[bool]]:
        n = self.size
        fn = _mask_fn(mask)
        out = [
            [self.dark[r][c] ^ (not self.function[r][c] and fn(r, c)) for c in range(n)]
            for r in range(n)
        ]
        bits = format_bits(level, mask)
        for i in range(15):
            dark = bool((bits >> i) & 1)
            # first copy, around the top-left finder
            if i < 6:
                out[i][8] = dark
            elif i == 6:
                out[7][8] = dark
            elif i == 7:
                out[8][8] = dark
            elif i == 8:
                out[8][7] = dark
            else:
                out[8][14 - i] = dark
            # second copy, split between the top-right and bottom-left finders
            if i < 8:
                out[8][n - 1 - i] = dark
            else:
                out[n - 15 + i][8] = dark
        return out


_RUN = re.compile(r"0{5,}|1{5,}")
_FINDER_LIKE = re.compile(r"(?=10111010000|00001011101)")


def penalty(matrix: list[list[bool]]) -> int:
    """The standard's mask evaluation, lower is better.

    N1: 3 + (length - 5) for each run of five or more same-coloured modules in a row or column;
    N2: 3 for each 2x2 block of one colour (blocks may overlap);
    N3: 40 for each 1:1:3:1:1 finder-like pattern with four light modules on one side
        (1011101 0000 or 0000 1011101) in a row or column, within the symbol;
    N4: 10 for each whole 5% by which the share of dark modules differs from 50%.
    """
    n = len(matrix)
    rows = ["".join("1" if m else "0" for m in row) for row in matrix]
    columns = ["".join(col) for col in zip(*rows, strict=True)]
    score = 0
    for line in rows + columns:
        score += sum(3 + len(run) - 5 for run in _RUN.findall(line))
        score += 40 * len(_FINDER_LIKE.findall(line))
    as_ints = [int(row, 2) for row in rows]
    inner = (1 << (n - 1)) - 1  # positions with a right-hand neighbour
    for upper, lower in zip(as_ints, as_ints[1:], strict=False):
        vertical = ~(upper ^ lower)
        horizontal = ~(upper ^ (upper >> 1))
        score += 3 * (vertical & (vertical >> 1) & horizontal & inner).bit_count()
    dark = sum(row.count("1") for row in rows)
    total = n * n
    score += 10 * (abs(dark * 20 - total * 10) // total)
    return score


def encode(text: str, ecc: str = "M", *, version: int | None = None, mask: int | None = None) -> list[list[bool]]:
    """The QR symbol of `text` (byte mode, UTF-8): rows of modules, True = dark, no quiet zone.

    The version is the smallest that fits unless given; the mask is the one with
    the lowest penalty unless given. QrError if the text does not fit.
    """
    if ecc not in LEVELS:
        raise QrError(f"error correction level must be one of {', '.join(LEVELS)}")
    payload = text.encode("utf-8")
    if version is None:
        version = choose_version(len(payload), ecc)
    elif not MIN_VERSION <= version <= MAX_VERSION:
        raise QrError(f"version must be from {MIN_VERSION} to {MAX_VERSION}")
    elif len(payload) > byte_capacity(version, ecc):
        raise QrError(f"{len(payload)} bytes do not fit in version {version}-{ecc}")
    if mask is not None and not 0 <= mask <= 7:
        raise QrError("mask must be from 0 to 7")
    symbol = _Symbol(version)
    symbol.place_data(final_codewords(payload, version, ecc))
    if mask is not None:
        return symbol.masked(mask, ecc)
    candidates = [symbol.masked(m, ecc) for m in range(8)]
    return min(candidates, key=penalty)


# --- rendering ----------------------------------------------------------------------


def _with_quiet_zone(matrix: list[list[bool]], quiet_zone: int) -> list[list[bool]]:
    if quiet_zone < 0:
        raise QrError("the quiet zone cannot be negative")
    width = len(matrix[0]) + 2 * quiet_zone if matrix else 2 * quiet_zone
    blank = [False] * width
    rows = [list(blank) for _ in range(quiet_zone)]
    rows += [[False] * quiet_zone + list(row) + [False] * quiet_zone for row in matrix]
    rows += [list(blank) for _ in range(quiet_zone)]
    return rows


_HALF_BLOCKS = {(False, False): " ", (True, False): "\u2580", (False, True): "\u2584", (True, True): "\u2588"}

ANSI_DARK_ON_LIGHT = "\x1b[30;107m"
ANSI_RESET = "\x1b[0m"


def render_terminal(matrix: list[list[bool]], quiet_zone: int = 4, *, invert: bool = False, ansi: bool = False) -> str:
    """The symbol in Unicode half blocks, two module rows per line, one column per module.

    Glyphs are drawn in the terminal's foreground colour, so the result reads as
    dark on light only if the foreground is darker than the background. By
    default the ink marks dark modules (a light-background terminal); `invert`
    inks the light modules instead, for the usual light-on-dark terminal; `ansi`
    wraps every line in black-on-white colour codes so that it reads right on any
    terminal that understands them (only when writing to a tty).
    """
    rows = _with_quiet_zone(matrix, quiet_zone)
    if invert:
        rows = [[not m for m in row] for row in rows]
    if len(rows) % 2:
        rows.append([invert] * len(rows[0]) if rows else [])
    lines = []
    for top, bottom in zip(rows[0::2], rows[1::2], strict=True):
        line = "".join(_HALF_BLOCKS[pair] for pair in zip(top, bottom, strict=True))
        lines.append(f"{ANSI_DARK_ON_LIGHT}{line}{ANSI_RESET}" if ansi else line)
    return "\n".join(lines) + "\n"


def render_ascii(matrix: list[list[bool]], quiet_zone: int = 4, *, dark: str = "##", light: str = "  ") -> str:
    """The symbol in plain ASCII, one line per module row, two characters per module."""
    rows = _with_quiet_zone(matrix, quiet_zone)
    return "".join("".join(dark if m else light for m in row) + "\n" for row in rows)
