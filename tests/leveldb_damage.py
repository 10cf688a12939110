"""Damage one LevelDB data block on disk, as a failing disk or a bad copy would (test helper).

How: the store is compacted, so that every entry lives in table files of one
level, written by one manual compaction in key order (file numbers rising with
the keys). LevelDB's `approximate_size(b"", key)` is then the sum of the sizes
of the table files before the one holding `key`, plus the offset in that file
of the data block holding it (its index entry's block handle). A few bytes a
little way into that block are inverted: the block's CRC32C no longer matches,
while the file's footer, index and every other block stay intact, so LevelDB
opens the store and only a read of that block fails.

Without checksum verification such a read may still "succeed": a flipped
literal byte inside a snappy-compressed block decodes to a different value
without complaint. That is why every store read verifies checksums
(ledger/store.py), and why `damage_block_holding` checks its own work by
reading the key back with verification.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import plyvel

FLIP_AT = 8  # bytes into the block: past its start, far from the 5-byte trailer of any real block
FLIP_LEN = 4


def _tables(path: Path) -> list[Path]:
    return sorted(path.glob("*.ldb"), key=lambda p: int(p.stem))


def damage_block_holding(path: str | Path, key: bytes) -> Path:
    """Invert bytes inside the data block that holds `key`; returns the damaged table file.

    The store must be closed (no process holds it). Raises AssertionError if
    the damage did not make a verified read of `key` fail.
    """
    path = Path(path)
    db = plyvel.DB(str(path))
    try:
        assert db.get(key) is not None, f"{key!r} is not in the store"
        db.compact_range()
        offset = db.approximate_size(b"", key)
    finally:
        db.close()
    for table in _tables(path):
        size = table.stat().st_size
        if offset < size:
            break
        offset -= size
    else:
        raise AssertionError(f"no table file holds offset {offset} of {key!r}")
    data = bytearray(table.read_bytes())
    assert offset + FLIP_AT + FLIP_LEN < len(data) - 48, "the block would reach the table's footer"
    for i in range(offset + FLIP_AT, offset + FLIP_AT + FLIP_LEN):
        data[i] ^= 0xFF
    table.write_bytes(bytes(data))
    assert_unreadable(path, key)
    return table


def assert_unreadable(path: Path, key: bytes) -> None:
    db = plyvel.DB(str(path))
    try:
        db.get(key, verify_checksums=True)
    except plyvel.CorruptionError:
        return
    finally:
        db.close()
    raise AssertionError(f"the damage did not reach the block holding {key!r}")


def tampered_copy(home: Path, tmp_path: Path, key: bytes, value: bytes | None) -> Path:
    """A copy of a stopped node's home whose store has `key` set to `value` (deleted with None)."""
    copy = tmp_path / "copy"
    shutil.copytree(home, copy)
    db = plyvel.DB(str(copy / "data"))
    if value is None:
        db.delete(key)
    else:
        db.put(key, value)
    db.close()
    return copy
