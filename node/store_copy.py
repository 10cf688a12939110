"""A consistent copy of a LevelDB directory that a running node may be writing to.

Two commands need one: the audit reads a private copy of a live data
directory (node/audit/source.py), and `incoop node backup` stages one before
copying it out (node/backup.py). LevelDB's table files are immutable once
written, so they are hard-linked (the link keeps a table's bytes even after a
compaction deletes its name); the manifest, CURRENT and the logs change, so
they are copied. The copy is taken again if the node changed its file set
meanwhile, so the result is always a state LevelDB itself could have
recovered after a crash: its log may end in a torn record, which LevelDB
reads as the end of the log.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

TABLE_SUFFIXES = (".ldb", ".sst")
COPY_ATTEMPTS = 5


class StoreCopyError(RuntimeError):
    """No consistent copy could be taken (not a LevelDB directory, or it kept changing)."""


def _file_set(path: Path) -> dict[str, int]:
    out = {}
    for entry in os.scandir(path):
        if entry.is_file():
            out[entry.name] = entry.stat().st_size
    return out


def snapshot_leveldb(src: Path, dest: Path) -> None:
    """Copy a LevelDB directory that another process may be writing to, consistently.

    The copy is taken again if the set of files or the manifest's size changed
    while it was made (a compaction or a new log), since a manifest and logs
    from two moments could disagree on which writes tables hold. Tables are
    hard-linked when `dest` is on the same file system (a copy otherwise).
    """
    for _ in range(COPY_ATTEMPTS):
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        before = _file_set(src)
        if "CURRENT" not in before:
            raise StoreCopyError(f"{src} is not a LevelDB store (no CURRENT file)")
        try:
            for name in sorted(before):
                if name == "LOCK":
                    continue
                if name.endswith(TABLE_SUFFIXES):
                    try:
                        os.link(src / name, dest / name)
                    except OSError:
                        shutil.copy2(src / name, dest / name)
                else:
                    shutil.copy2(src / name, dest / name)
        except FileNotFoundError:
            continue  # removed by a compaction while we copied: take it again
        manifest_names = {n for n in before if n.startswith("MANIFEST-")}
        after = _file_set(src)
        unchanged_files = {n for n in after if n.endswith(TABLE_SUFFIXES)} == {
            n for n in before if n.endswith(TABLE_SUFFIXES)}
        unchanged_manifest = all(after.get(n) == before[n] for n in manifest_names)
        if unchanged_files and unchanged_manifest and (src / "CURRENT").read_bytes() == (dest / "CURRENT").read_bytes():
            return
    raise StoreCopyError(f"the store at {src} kept changing while it was copied; try again")
