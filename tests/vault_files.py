"""Reading a vault directory as an attacker with a copy of the disk would: every file, every form of an id."""

from __future__ import annotations

from pathlib import Path


def id_forms(identity_id: bytes) -> dict[str, bytes]:
    """Every form in which a file could name an id: raw (LevelDB tables, MANIFEST), hex in either case,
    and as LevelDB's LOG writes keys (printable bytes as they are, every other byte as backslash-x-NN)."""
    escaped = b"".join(bytes([c]) if 0x20 <= c <= 0x7E else b"\\x%02x" % c for c in identity_id)
    return {"raw": identity_id, "hex": identity_id.hex().encode(), "HEX": identity_id.hex().upper().encode(),
            "escaped": escaped}


def files_naming(directory: Path, identity_id: bytes) -> list[str]:
    """'file: form' for every file under `directory` that holds the id in one of its forms."""
    return [f"{p.relative_to(directory)}: {form}" for p in sorted(Path(directory).rglob("*")) if p.is_file()
            for form, needle in id_forms(identity_id).items() if needle in p.read_bytes()]
