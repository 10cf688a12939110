"""The QR encoder (wallet/qr.py) against ISO/IEC 18004.

Three kinds of evidence:
- known answers published for the algorithm: the generator polynomial for 10
  EC codewords, the EC codewords of the "HELLO WORLD" 1-M data codewords, the
  format information of every (level, mask) and version information strings,
  byte-mode capacities;
- the standard's structure on encoded symbols: size, finders, separators,
  timing, dark module, both copies of the format (and version) information;
- a small decoder written here from the standard, independently of the
  encoder's helpers (its own GF(256) arithmetic, masks, function-module map,
  zigzag reader): it reads the mask from the format information, reads the
  codewords, de-interleaves the blocks, checks that every block's Reed-Solomon
  syndromes are zero, and parses the byte-mode segment, so encode -> decode
  must round-trip at every level and across version boundaries.
"""

from __future__ import annotations

import random

import pytest

from wallet import qr

# --- known answers -------------------------------------------------------------

# The format information strings (after the XOR with 101010000010010), by level, mask 0..7.
FORMAT_TABLE = {
    "L": ["111011111000100", "111001011110011", "111110110101010", "111100010011101",
          "110011000101111", "110001100011000", "110110001000001", "110100101110110"],
    "M": ["101010000010010", "101000100100101", "101111001111100", "101101101001011",
          "100010111111001", "100000011001110", "100111110010111", "100101010100000"],
    "Q": ["011010101011111", "011000001101000", "011111100110001", "011101000000110",
          "010010010110100", "010000110000011", "010111011011010", "010101111101101"],
    "H": ["001011010001001", "001001110111110", "001110011100111", "001100111010000",
          "000011101100010", "000001001010101", "000110100001100", "000100000111011"],
}

VERSION_TABLE = {
    7: "000111110010010100",
    8: "001000010110111100",
    9: "001001101010011001",
    10: "001010010011010011",
    40: "101000110001101001",
}

# Byte-mode capacities (bytes) from the standard's capacity table, for spot checks of EC_BLOCKS.
BYTE_CAPACITY = {
    1: (17, 14, 11, 7), 2: (32, 26, 20, 14), 3: (53, 42, 32, 24), 4: (78, 62, 46, 34),
    5: (106, 84, 60, 44), 6: (134, 106, 74, 58), 7: (154, 122, 86, 64), 8: (192, 152, 108, 84),
    9: (230, 180, 130, 98), 10: (271, 213, 151, 119), 20: (858, 666, 482, 382),
    40: (2953, 2331, 1663, 1273),
}

HELLO_WORLD_1M_DATA = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17]
HELLO_WORLD_1M_EC = [196, 35, 39, 119, 235, 215, 231, 226, 93, 23]


def test_generator_polynomial_for_10_ec_codewords():
    # a^0 x^10 + a^251 x^9 + a^67 x^8 + a^46 x^7 + a^61 x^6 + a^118 x^5 + a^70 x^4 + a^64 x^3 + a^94 x^2 + a^32 x + a^45
    exponents = [0, 251, 67, 46, 61, 118, 70, 64, 94, 32, 45]
    assert qr.generator_polynomial(10) == [gf_pow2(e) for e in exponents]


def test_rs_codewords_of_the_hello_world_1m_block():
    assert qr.rs_remainder(HELLO_WORLD_1M_DATA, 10) == HELLO_WORLD_1M_EC


def test_hello_world_data_codewords_are_byte_mode_equivalents():
    # The published codewords are alphanumeric mode; ours are byte mode, so check what byte mode gives
    # for the same bytes by hand: 0100, count 11, the ASCII bytes, terminator, pads.
    bits = "0100" + format(11, "08b") + "".join(format(b, "08b") for b in b"HELLO WORLD") + "0000"
    expected = [int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)]
    expected += [236, 17, 236][: 16 - len(expected)]
    assert qr.data_codeword_sequence(b"HELLO WORLD", 1, "M") == expected


@pytest.mark.parametrize("level", qr.LEVELS)
def test_format_information_matches_the_standards_table(level):
    assert [format(qr.format_bits(level, mask), "015b") for mask in range(8)] == FORMAT_TABLE[level]


def test_format_information_of_m_with_mask_0():
    assert format(qr.format_bits("M", 0), "015b") == "101010000010010"


@pytest.mark.parametrize("version, bits", sorted(VERSION_TABLE.items()))
def test_version_information_matches_the_standards_table(version, bits):
    assert format(qr.version_bits(version), "018b") == bits


@pytest.mark.parametrize("version", sorted(BYTE_CAPACITY))
def test_byte_capacities_match_the_standard(version):
    assert tuple(qr.byte_capacity(version, level) for level in qr.LEVELS) == BYTE_CAPACITY[version]


@pytest.mark.parametrize("version", range(1, 41))
def test_ec_table_fills_exactly_the_modules_left_for_data(version):
    # the codewords of every level add up to the symbol's data modules (the remainder bits are under 8)
    modules = len(data_modules(version))
    for level in qr.LEVELS:
        spec = qr.EC_BLOCKS[version][level]
        blocks = spec.count1 + spec.count2
        total = spec.count1 * spec.data1 + spec.count2 * spec.data2 + blocks * spec.ec
        assert total == modules // 8, (version, level)
        assert spec.count2 == 0 or spec.data2 == spec.data1 + 1
    assert modules % 8 == [0, 7, 7, 7, 7, 7, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 3, 3,
                           4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0][version - 1]


@pytest.mark.parametrize("version", range(2, 41))
def test_alignment_table_follows_the_standards_spacing(version):
    centres = qr.ALIGNMENT[version]
    size = 4 * version + 17
    assert len(centres) == version // 7 + 2
    assert centres[0] == 6 and centres[-1] == size - 7
    steps = {b - a for a, b in zip(centres[1:], centres[2:], strict=False)}
    assert len(steps) <= 1 and all(step % 2 == 0 for step in steps)


def test_smallest_version_is_chosen():
    assert qr.choose_version(14, "M") == 1
    assert qr.choose_version(15, "M") == 2
    assert qr.choose_version(2331, "M") == 40
    with pytest.raises(qr.QrError):
        qr.choose_version(2332, "M")
    with pytest.raises(qr.QrError):
        qr.encode("x" * 2954, "L")


def test_bad_arguments_are_refused():
    with pytest.raises(qr.QrError):
        qr.encode("x", "X")
    with pytest.raises(qr.QrError):
        qr.encode("x", "M", mask=8)
    with pytest.raises(qr.QrError):
        qr.encode("x" * 15, "M", version=1)


# --- an independent decoder ----------------------------------------------------------


def gf_mul_slow(a: int, b: int) -> int:
    """GF(256) product by shift and add, modulo x^8+x^4+x^3+x^2+1."""
    out = 0
    while b:
        if b & 1:
            out ^= a
        b >>= 1
        a <<= 1
        if a & 0x100:
            a ^= 0x11D
    return out


def gf_pow2(e: int) -> int:
    out = 1
    for _ in range(e):
        out = gf_mul_slow(out, 2)
    return out


# the test's own log/antilog tables, built with gf_mul_slow
_EXP = [1]
for _ in range(254):
    _EXP.append(gf_mul_slow(_EXP[-1], 2))
_LOG = {value: power for power, value in enumerate(_EXP)}
assert len(_LOG) == 255, "2 generates the multiplicative group"


def gf_mul_fast(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[(_LOG[a] + _LOG[b]) % 255]


def syndromes(codewords: list[int], count: int) -> list[int]:
    """c(a^i) for i < count, c's coefficients highest power first (Horner)."""
    out = []
    for i in range(count):
        x = _EXP[i]
        value = 0
        for c in codewords:
            value = gf_mul_fast(value, x) ^ c
        out.append(value)
    return out


MASKS = [
    lambda r, c: (r + c) % 2 == 0,
    lambda r, c: r % 2 == 0,
    lambda r, c: c % 3 == 0,
    lambda r, c: (r + c) % 3 == 0,
    lambda r, c: (r // 2 + c // 3) % 2 == 0,
    lambda r, c: ((r * c) % 2) + ((r * c) % 3) == 0,
    lambda r, c: (((r * c) % 2) + ((r * c) % 3)) % 2 == 0,
    lambda r, c: (((r + c) % 2) + ((r * c) % 3)) % 2 == 0,
]


def alignment_centres(version: int) -> list[int]:
    """Annex E's positions, computed: evenly spaced (even steps) back from size-7 to 6."""
    if version == 1:
        return []
    count = version // 7 + 2
    last = 4 * version + 10
    if version == 32:
        step = 26
    else:
        step = (last - 6 + (count - 1) - 1) // (count - 1)
        step += step % 2
    return [6] + [last - step * k for k in range(count - 2, -1, -1)]


def function_modules(version: int) -> set[tuple[int, int]]:
    n = 4 * version + 17
    out: set[tuple[int, int]] = set()
    # finders, separators and the format areas: the 9x9, 9x8 and 8x9 corners
    out |= {(r, c) for r in range(9) for c in range(9)}
    out |= {(r, c) for r in range(9) for c in range(n - 8, n)}
    out |= {(r, c) for r in range(n - 8, n) for c in range(9)}
    out |= {(6, i) for i in range(n)} | {(i, 6) for i in range(n)}
    centres = alignment_centres(version)
    for r0 in centres:
        for c0 in centres:
            if (r0, c0) in ((6, 6), (6, n - 7), (n - 7, 6)):
                continue
            out |= {(r0 + dr, c0 + dc) for dr in range(-2, 3) for dc in range(-2, 3)}
    if version >= 7:
        out |= {(r, c) for r in range(6) for c in range(n - 11, n - 8)}
        out |= {(r, c) for r in range(n - 11, n - 8) for c in range(6)}
    return out


def data_modules(version: int) -> list[tuple[int, int]]:
    """Data module positions in reading order: two-column strips from the right, up then down."""
    n = 4 * version + 17
    skip = function_modules(version)
    lefts = [c for c in range(n - 2, 6, -2)] + [4, 2, 0]
    order = []
    for k, left in enumerate(lefts):
        rows = range(n - 1, -1, -1) if k % 2 == 0 else range(n)
        for r in rows:
            for c in (left + 1, left):
                if (r, c) not in skip:
                    order.append((r, c))
    return order


def bits_of(matrix, cells) -> str:
    return "".join("1" if matrix[r][c] else "0" for r, c in cells)


def format_cells(n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Where the 15 format bits are, most significant first, in each copy."""
    first = [(8, c) for c in (0, 1, 2, 3, 4, 5, 7, 8)] + [(r, 8) for r in (7, 5, 4, 3, 2, 1, 0)]
    second = [(r, 8) for r in range(n - 1, n - 8, -1)] + [(8, c) for c in range(n - 8, n)]
    return first, second


def version_cells(n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Where the 18 version bits are, most significant first: bottom left, top right."""
    bl = [(n - 11 + i % 3, i // 3) for i in range(17, -1, -1)]
    tr = [(c, r) for r, c in bl]
    return bl, tr


def read_format(matrix) -> tuple[str, int]:
    first, second = format_cells(len(matrix))
    a, b = bits_of(matrix, first), bits_of(matrix, second)
    assert a == b, "the two copies of the format information differ"
    for level, row in FORMAT_TABLE.items():
        if a in row:
            return level, row.index(a)
    raise AssertionError(f"format information {a} is not in the standard's table")


def decode(matrix) -> str:
    n = len(matrix)
    version = (n - 17) // 4
    assert n == 4 * version + 17
    level, mask = read_format(matrix)
    if version >= 7:
        bl, tr = version_cells(n)
        assert bits_of(matrix, bl) == bits_of(matrix, tr)
        assert int(bits_of(matrix, bl), 2) >> 12 == version
    cells = data_modules(version)
    bits = "".join(
        "1" if matrix[r][c] != MASKS[mask](r, c) else "0" for r, c in cells
    )
    codewords = [int(bits[i:i + 8], 2) for i in range(0, len(bits) - len(bits) % 8, 8)]
    spec = qr.EC_BLOCKS[version][level]
    sizes = [spec.data1] * spec.count1 + [spec.data2] * spec.count2
    blocks: list[list[int]] = [[] for _ in sizes]
    pos = 0
    for i in range(max(sizes)):
        for b, size in enumerate(sizes):
            if i < size:
                blocks[b].append(codewords[pos])
                pos += 1
    for _ in range(spec.ec):
        for block in blocks:
            block.append(codewords[pos])
            pos += 1
    assert pos == len(codewords)
    for block in blocks:
        assert syndromes(block, spec.ec) == [0] * spec.ec, "a block fails its Reed-Solomon check"
    data = [cw for block, size in zip(blocks, sizes, strict=True) for cw in block[:size]]
    stream = "".join(format(cw, "08b") for cw in data)
    assert stream[:4] == "0100", "not byte mode"
    width = 8 if version <= 9 else 16
    length = int(stream[4:4 + width], 2)
    start = 4 + width
    payload = bytes(int(stream[start + 8 * i:start + 8 * i + 8], 2) for i in range(length))
    rest = stream[start + 8 * length:]
    # the count field ends 4 bits into a byte, so there is always room for the 4-bit terminator,
    # which also brings the stream to a byte boundary; pad codewords fill the rest
    assert rest[:4] == "0000", "terminator"
    pads = [int(rest[i:i + 8], 2) for i in range(4, len(rest), 8)]
    assert pads == [(236, 17)[i % 2] for i in range(len(pads))], "padding is not 11101100 00010001"
    return payload.decode("utf-8")


# --- structure of encoded symbols ------------------------------------------------------


FINDER = [
    "1111111",
    "1000001",
    "1011101",
    "1011101",
    "1011101",
    "1000001",
    "1111111",
]


@pytest.mark.parametrize("text, level, version", [
    ("a", "M", 1), ("x" * 100, "L", 5), ("x" * 130, "H", 11), ("incoop" * 40, "Q", 13),
])
def test_symbol_structure(text, level, version):
    m = qr.encode(text, level)
    n = len(m)
    assert n == 4 * version + 17 and all(len(row) == n for row in m)
    for top, left in ((0, 0), (0, n - 7), (n - 7, 0)):
        got = ["".join("1" if m[top + r][left + c] else "0" for c in range(7)) for r in range(7)]
        assert got == FINDER
    # separators: light, between finders and the rest
    for i in range(8):
        assert not m[7][i] and not m[i][7]
        assert not m[7][n - 1 - i] and not m[i][n - 8]
        assert not m[n - 8][i] and not m[n - 1 - i][7]
    for i in range(8, n - 8):
        assert m[6][i] == (i % 2 == 0)
        assert m[i][6] == (i % 2 == 0)
    assert m[n - 8][8], "the dark module"
    level_read, _ = read_format(m)
    assert level_read == level
    if version >= 7:
        bl, tr = version_cells(n)
        assert bits_of(m, bl) == bits_of(m, tr) == VERSION_TABLE.get(version, format(qr.version_bits(version), "018b"))


def test_alignment_patterns_are_where_annex_e_puts_them():
    m = qr.encode("a" * 200, "M")  # version 10: centres 6, 28, 50
    assert qr.ALIGNMENT[10] == (6, 28, 50)
    for r0, c0 in ((6, 28), (28, 6), (28, 28), (28, 50), (50, 28), (50, 50)):
        for dr in range(-2, 3):
            for dc in range(-2, 3):
                assert m[r0 + dr][c0 + dc] == (max(abs(dr), abs(dc)) != 1)


@pytest.mark.parametrize("version", range(2, 41))
def test_alignment_table_agrees_with_the_computed_positions(version):
    assert list(qr.ALIGNMENT[version]) == alignment_centres(version)


def test_chosen_mask_has_the_lowest_penalty():
    text = "incoop:payment-request-penalty"
    chosen = qr.encode(text, "M")
    scores = [qr.penalty(qr.encode(text, "M", mask=k)) for k in range(8)]
    assert qr.penalty(chosen) == min(scores)
    assert read_format(chosen)[1] == scores.index(min(scores))


def test_penalty_rules_on_small_known_matrices():
    light = [[False] * 5 for _ in range(5)]
    # N1: 10 lines of 5 -> 10 * 3; N2: 16 blocks -> 48; N4: 0% dark -> 10 * 10 = 100
    assert qr.penalty(light) == 30 + 48 + 100
    checker = [[(r + c) % 2 == 0 for c in range(4)] for r in range(4)]
    # no runs, no 2x2 blocks, 8 of 16 dark
    assert qr.penalty(checker) == 0
    row = [True, False, True, True, True, False, True, False, False, False, False]
    pattern = [row] + [[(r + c) % 2 == 0 for c in range(11)] for r in range(1, 11)]
    # the finder-like row scores 40, plus its run of 4 light modules scores nothing
    base = [[(r + c) % 2 == 0 for c in range(11)] for r in range(11)]
    assert qr.penalty(pattern) - qr.penalty(base) >= 40


# --- round trips through the decoder ------------------------------------------------------

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789 :?&=%-_.éü€日"


def _text(rng: random.Random, nbytes: int) -> str:
    out = ""
    while len(out.encode("utf-8")) < nbytes:
        ch = rng.choice(ALPHABET)
        if len((out + ch).encode("utf-8")) <= nbytes:
            out += ch
        else:
            out += "x"
    return out


def _boundary_lengths(level: str, top: int) -> list[int]:
    caps = [qr.byte_capacity(v, level) for v in range(1, 41)]
    lengths = {1, 2, 3, 7, 64, top}
    for cap in caps:
        if cap <= top:
            lengths |= {cap, cap + 1}
    return sorted(n for n in lengths if n <= top)


@pytest.mark.parametrize("level", qr.LEVELS)
def test_encode_decode_round_trips_across_versions(level):
    rng = random.Random(f"qr-{level}")
    versions = set()
    for nbytes in _boundary_lengths(level, 300):
        text = _text(rng, nbytes)
        m = qr.encode(text, level)
        version = (len(m) - 17) // 4
        assert version == qr.choose_version(len(text.encode("utf-8")), level)
        assert decode(m) == text, (level, nbytes)
        versions.add(version)
    assert len(versions) >= 8  # the lengths cross version boundaries (and version 7's version information)


@pytest.mark.parametrize("mask", range(8))
def test_every_mask_decodes(mask):
    for version in (1, 7):
        m = qr.encode(f"mask{mask}", "H", version=version, mask=mask)
        assert read_format(m) == ("H", mask)
        assert decode(m) == f"mask{mask}"


def test_a_large_version_round_trips():
    text = _text(random.Random(40), 1000)
    m = qr.encode(text, "L")
    assert len(m) == 4 * qr.choose_version(len(text.encode("utf-8")), "L") + 17
    assert decode(m) == text


def test_a_corrupted_codeword_is_caught_by_the_decoders_rs_check():
    m = qr.encode("incoop", "M")
    r, c = data_modules(1)[0]
    m[r][c] = not m[r][c]
    with pytest.raises(AssertionError, match="Reed-Solomon"):
        decode(m)


def test_a_payment_request_fits_and_round_trips():
    from ledger.address import to_address
    from wallet.payment_request import PaymentRequest, format_request

    uri = format_request(PaymentRequest(to_address(bytes(32)), "incoop-devnet", "welfare-2026",
                                        1250, "ordine 42 · caffè", "groceries"))
    m = qr.encode(uri)
    assert decode(m) == uri


# --- rendering ---------------------------------------------------------------------------


def test_render_terminal_uses_half_blocks_two_rows_per_line():
    m = qr.encode("incoop")
    n = len(m)
    out = qr.render_terminal(m, quiet_zone=4)
    lines = out.splitlines()
    assert len(lines) == (n + 8 + 1) // 2
    assert all(len(line) == n + 8 for line in lines)
    assert set(out) <= set(" \u2580\u2584\u2588\n")
    assert lines[0] == " " * (n + 8) and lines[-1] == " " * (n + 8)
    # line 2 holds rows 4 and 5 of the padded symbol: the finder's top edge and its second row
    assert lines[2][4] == "\u2588" and lines[2][5] == "\u2580"
    # inverting swaps the ink: quiet zone becomes full blocks
    inverted = qr.render_terminal(m, quiet_zone=4, invert=True).splitlines()
    assert inverted[0] == "\u2588" * (n + 8)
    # odd heights keep the last row's bottom half light
    assert qr.render_terminal([[True]], quiet_zone=0) == "\u2580\n"
    assert qr.render_terminal([[True]], quiet_zone=0, invert=True) == "\u2584\n"


def test_render_terminal_read_back_gives_the_matrix():
    m = qr.encode("read back", "Q")
    lines = qr.render_terminal(m, quiet_zone=1).splitlines()
    top = {"\u2580": True, "\u2588": True, " ": False, "\u2584": False}
    bottom = {"\u2584": True, "\u2588": True, " ": False, "\u2580": False}
    rows = []
    for line in lines:
        rows.append([top[ch] for ch in line])
        rows.append([bottom[ch] for ch in line])
    padded = rows[:len(m) + 2]
    assert [row[1:-1] for row in padded[1:-1]] == m


def test_render_terminal_ansi_wraps_every_line_in_dark_on_light():
    lines = qr.render_terminal(qr.encode("a"), ansi=True).splitlines()
    assert all(line.startswith(qr.ANSI_DARK_ON_LIGHT) and line.endswith(qr.ANSI_RESET) for line in lines)


def test_render_ascii():
    m = qr.encode("a")
    out = qr.render_ascii(m, quiet_zone=2)
    lines = out.splitlines()
    assert len(lines) == len(m) + 4
    assert lines[2] == "    " + "".join("##" if x else "  " for x in m[0]) + "    "
    assert set(out) <= {"#", " ", "\n"}
