"""`incoop node backup`: a consistent copy of a node's data, taken while the node runs.

A backup is a directory (docs/operations.md, "Backups"):

    backup.json     what it holds: chain, genesis hash, head (height, block hash,
                    state root, time), when it was taken, every file's size and SHA-256
    data/           the LevelDB store
    vault/          the registrar's vault, when the node keeps one (vault.enabled)
    genesis.json    the chain's genesis
    config.json     the node's configuration, when it has one
    node_key.json   the node key, still encrypted (its password file is never copied)
    sign_state.bin  only when asked (--with-sign-state): restoring an old sign-state
                    over a newer one could make a validator sign twice

How the copy stays consistent while blocks commit: the store is first
snapshotted next to itself (node/store_copy.py, the audit's function: table
files hard-linked, which pins them against compaction, the manifest and logs
copied, retried until no compaction intervened), which takes a moment; the
staged files are then copied out at leisure, byte for byte, to the backup
directory, so that a backup on the same disk is still a copy and not a link
to the same sectors. The copy is opened once with LevelDB and given the
node's own start-up check (Store.check), so a backup that `node start` would
refuse is never reported as taken. It is written under OUT.partial and
renamed to OUT only when complete.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from genesis.document import GenesisError, load_genesis
from ledger.store import Store, StoreError
from ledger.transition import ChainHead
from node.config import CONFIG_FILE, ConfigError, NodeConfig, load_config
from node.store_copy import StoreCopyError, snapshot_leveldb

MANIFEST = "backup.json"
FORMAT = 1
DATA = "data"
VAULT = "vault"
GENESIS = "genesis.json"
NODE_KEY = "node_key.json"
SIGN_STATE = "sign_state.bin"
TOP_LEVEL = (DATA, VAULT, GENESIS, CONFIG_FILE, NODE_KEY, SIGN_STATE)
CHUNK = 1024 * 1024

Progress = Callable[[str, int, int], None]
"""(phase, bytes done, bytes in all) as a backup or restore goes; phase is 'copy' or 'verify'."""


class BackupError(RuntimeError):
    """The backup or restore cannot be done; the message says why, in one line."""


class BackupFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = Field(ge=0)
    sha256: str = Field(pattern="^[0-9a-f]{64}$")


class BackupManifest(BaseModel):
    """backup.json: what a backup is of and what it holds, so that a restore can check it first."""

    model_config = ConfigDict(extra="forbid")
    format: Literal[1]
    chain_id: str
    genesis_hash: str = Field(pattern="^[0-9a-f]{64}$")
    height: int = Field(ge=0)
    block_hash: str = Field(pattern="^[0-9a-f]{64}$")
    state_root: str = Field(pattern="^[0-9a-f]{64}$")
    block_time_ms: int = Field(ge=0)
    created: str
    vault: bool
    sign_state: bool
    files: dict[str, BackupFile]

    @field_validator("files")
    @classmethod
    def _inside(cls, files: dict[str, BackupFile]) -> dict[str, BackupFile]:
        """Every name is a plain relative path under one of the known entries: a restore writes nowhere else."""
        for name in files:
            path = PurePosixPath(name)
            if path.is_absolute() or ".." in path.parts or path.parts[0] not in TOP_LEVEL or str(path) != name:
                raise ValueError(f"{name!r} is not a file a backup holds")
        return files


# --- copying ----------------------------------------------------------------------------------------


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_file(src: Path, dest: Path, advance: Callable[[int], None]) -> str:
    """Copy bytes (never a link), keep the mode, fsync; returns the SHA-256 of what was written."""
    digest = hashlib.sha256()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as reader, open(dest, "xb") as writer:
        while chunk := reader.read(CHUNK):
            writer.write(chunk)
            digest.update(chunk)
            advance(len(chunk))
        writer.flush()
        os.fsync(writer.fileno())
    shutil.copymode(src, dest)
    return digest.hexdigest()


def files_under(root: Path) -> Iterator[Path]:
    """Regular files under `root`, in a stable order; anything else (a link, a socket) is refused."""
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise BackupError(f"{path} is neither a file nor a directory; not copying it")
        if path.is_file():
            yield path


def sha256_of(path: Path, advance: Callable[[int], None]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as reader:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            advance(len(chunk))
    return digest.hexdigest()


class Meter:
    """Bytes done of a known total, reported to `progress` (the CLI throttles what it prints)."""

    def __init__(self, phase: str, total: int, progress: Progress | None):
        self.phase, self.total, self.done, self.progress = phase, total, 0, progress

    def __call__(self, count: int) -> None:
        self.done += count
        if self.progress is not None:
            self.progress(self.phase, self.done, self.total)


# --- what a node home holds -----------------------------------------------------------------------------


def node_paths(home: Path, config: NodeConfig) -> dict[str, Path]:
    """Where each entry of a backup lives in this home, by its config (relative paths are under HOME)."""
    return {
        DATA: config.path(home, config.data_dir),
        VAULT: config.path(home, config.vault.dir),
        GENESIS: config.path(home, config.genesis_file),
        CONFIG_FILE: home / CONFIG_FILE,
        NODE_KEY: config.path(home, config.key_file),
        SIGN_STATE: config.path(home, config.sign_state_file),
    }


def load_home_config(home: Path) -> NodeConfig:
    try:
        return load_config(home)
    except ConfigError as exc:
        raise BackupError(str(exc)) from None


def _stage_tree(src: Path, dest: Path) -> None:
    """A directory holding LevelDB stores (the vault): each store snapshotted, other files copied."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in sorted(src.iterdir()):
        if entry.is_symlink():
            raise BackupError(f"{entry} is a symbolic link; not copying it")
        if entry.is_dir() and (entry / "CURRENT").exists():
            snapshot_leveldb(entry, dest / entry.name)
        elif entry.is_dir():
            _stage_tree(entry, dest / entry.name)
        elif entry.is_file():
            shutil.copy2(entry, dest / entry.name)


# --- taking a backup ----------------------------------------------------------------------------


def take_backup(home: Path, out: Path, *, with_sign_state: bool = False,
                progress: Progress | None = None) -> BackupManifest:
    """Copy HOME's store (and vault, genesis, config, encrypted key) to a new directory OUT."""
    if not home.is_dir():
        raise BackupError(f"no node home directory at {home}")
    config = load_home_config(home)
    paths = node_paths(home, config)
    data = paths[DATA]
    if not (data / "CURRENT").exists():
        raise BackupError(f"no store at {data} (the node has never run, or data_dir points elsewhere)")
    if out.exists():
        raise BackupError(f"{out} exists; a backup is always written to a new directory")
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        raise BackupError(f"{partial} exists: another backup is being written there, or one failed (remove it)")
    if not paths[GENESIS].is_file():
        raise BackupError(f"no genesis file at {paths[GENESIS]}")
    if with_sign_state and not paths[SIGN_STATE].is_file():
        raise BackupError(f"--with-sign-state: there is no sign-state at {paths[SIGN_STATE]}")
    vault = config.vault.enabled and paths[VAULT].is_dir()
    # staged next to the store, so that its tables can be hard-linked (one file system)
    try:
        staging = Path(tempfile.mkdtemp(prefix=".incoop-backup-", dir=data.parent))
    except OSError as exc:
        raise BackupError(f"cannot stage the copy in {data.parent}: {exc.strerror} (run as the node's user)") from None
    try:
        try:
            snapshot_leveldb(data, staging / DATA)
            if vault:
                _stage_tree(paths[VAULT], staging / VAULT)
        except StoreCopyError as exc:
            raise BackupError(str(exc)) from None
        for name in (GENESIS, CONFIG_FILE, NODE_KEY) + ((SIGN_STATE,) if with_sign_state else ()):
            if paths[name].is_file():
                shutil.copy2(paths[name], staging / name)
        partial.mkdir(mode=0o700, parents=True)
        _copy_out(staging, partial, progress)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise BackupError(f"cannot write the backup: {exc.strerror} ({exc.filename})") from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    try:
        manifest = _describe(partial, with_sign_state, vault, progress)
        (partial / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
        fsync_dir(partial)
        os.rename(partial, out)
        fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def _copy_out(staging: Path, dest: Path, progress: Progress | None) -> None:
    files = list(files_under(staging))
    meter = Meter("copy", sum(f.stat().st_size for f in files), progress)
    for path in files:
        copy_file(path, dest / path.relative_to(staging), meter)
    for directory in sorted({p.parent for p in files}, key=lambda p: len(p.parts), reverse=True):
        fsync_dir(dest / directory.relative_to(staging))


def open_checked(data: Path) -> tuple[bytes, ChainHead]:
    """Open a copied store as `node start` would and run its start-up check: (genesis hash, head)."""
    try:
        with Store(data, create=False) as store:
            return store.genesis()[0], store.check()
    except StoreError as exc:
        raise BackupError(f"the copied store does not open as a node's would: {exc}") from None


def _describe(backup: Path, with_sign_state: bool, vault: bool, progress: Progress | None) -> BackupManifest:
    genesis_hash, head = open_checked(backup / DATA)
    try:
        genesis = load_genesis(backup / GENESIS)
    except GenesisError as exc:
        raise BackupError(f"the node's genesis file: {exc}") from None
    if genesis.hash() != genesis_hash:
        raise BackupError(f"the store follows genesis {genesis_hash.hex()[:16]}…, the node's genesis file is "
                          f"{genesis.hash().hex()[:16]}…")
    files = list(files_under(backup))
    meter = Meter("verify", sum(f.stat().st_size for f in files), progress)
    described = {str(PurePosixPath(*f.relative_to(backup).parts)): BackupFile(size=f.stat().st_size,
                                                                             sha256=sha256_of(f, meter))
                 for f in files}
    return BackupManifest(
        format=FORMAT, chain_id=genesis.chain_id, genesis_hash=genesis_hash.hex(), height=head.height,
        block_hash=head.block_hash.hex(), state_root=head.state_root.hex(), block_time_ms=head.time_ms,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), vault=vault, sign_state=with_sign_state,
        files=described,
    )


# --- reading a backup ------------------------------------------------------------------------------------


def read_manifest(backup: Path) -> BackupManifest:
    path = backup / MANIFEST
    try:
        return BackupManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{backup} is not a backup (no {MANIFEST}; an interrupted one ends in .partial)") from None
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise BackupError(f"{path} is not a backup manifest ({where}: {first['msg']})") from None


def verify_backup(backup: Path, manifest: BackupManifest, progress: Progress | None = None) -> None:
    """Every file the manifest lists is there with its size and SHA-256 (a damaged backup is never restored)."""
    meter = Meter("verify", sum(f.size for f in manifest.files.values()), progress)
    for name, expected in sorted(manifest.files.items()):
        path = backup / name
        if path.is_symlink() or not path.is_file():
            raise BackupError(f"the backup is incomplete: {name} is missing")
        if path.stat().st_size != expected.size or sha256_of(path, meter) != expected.sha256:
            raise BackupError(f"the backup is damaged: {name} is not the file that was backed up (SHA-256 differs)")
