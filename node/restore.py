"""`incoop node restore`: put a backup (node/backup.py) in place in a node home, never under a running node.

Everything is checked before anything in the home changes: the backup's
manifest and every file's SHA-256, that no process holds the home's store
(LevelDB's LOCK), that the home's genesis, if it has one, is the backup's
chain, and that its sign-state can be read. Then the store is copied next to
its place (DATA.restoring), synced, the existing store moved aside as
DATA.replaced-<time> (never deleted: it is the operator's to remove), and the
copy renamed into place. The vault, when the backup holds one and the home
enables one but has none, the same way: unlike the chain, which the node can
fetch again from its peers, a vault exists nowhere else, so a home's own
(newer) vault is never replaced; a damaged one is moved away by hand first
(docs/operations.md, "Restoring").

What is the home's own stays: its config.json, node key and genesis are
copied from the backup only where the home has none. The sign-state is the
newer of the home's and the backup's (docs/operations.md, "Restoring a
validator"): an older one would let this validator sign again at heights it
already signed, which is double signing.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from genesis.document import GenesisError, load_genesis
from node.backup import (
    DATA,
    GENESIS,
    NODE_KEY,
    SIGN_STATE,
    VAULT,
    BackupError,
    BackupManifest,
    Meter,
    Progress,
    copy_file,
    fsync_dir,
    load_home_config,
    node_paths,
    open_checked,
    read_manifest,
    verify_backup,
)
from node.config import CONFIG_FILE
from node.consensus.signstate import SignState, SignStateError


@dataclass
class RestoreReport:
    home: str
    chain_id: str
    height: int
    block_hash: str
    backup_created: str
    replaced: list[str] = field(default_factory=list)  # what was moved aside, where to
    copied: list[str] = field(default_factory=list)  # genesis, config, node key taken from the backup
    sign_state: str = "none"  # kept (the home's, newer), restored (the backup's), none
    vault: str = "not in the backup"  # restored, kept (the home has one), not in the backup, not enabled here
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_locked(store: Path) -> bool:
    """True while a process holds this LevelDB directory (LevelDB takes an fcntl lock on its LOCK file)."""
    lock = store / "LOCK"
    if not lock.is_file():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _stores_under(path: Path) -> list[Path]:
    if not path.is_dir():
        return []
    return [p.parent for p in path.rglob("CURRENT")]


def _signed_position(path: Path) -> tuple[int, int, int] | None:
    try:
        last = SignState(path).last
    except SignStateError as exc:
        raise BackupError(f"{exc}; the restore will not choose between it and the backup's") from None
    return None if last is None else last.position()


def restore_backup(backup: Path, home: Path, progress: Progress | None = None) -> RestoreReport:
    """Check `backup`, then put it in place in `home` (created if missing); one-line BackupError otherwise."""
    manifest = read_manifest(backup)
    if home.exists() and not home.is_dir():
        raise BackupError(f"{home} is not a directory")
    report = RestoreReport(str(home), manifest.chain_id, manifest.height, manifest.block_hash, manifest.created)
    if (home / CONFIG_FILE).is_file() or CONFIG_FILE not in manifest.files:
        config = load_home_config(home)  # the home's own, or the defaults
    else:
        config = load_home_config(backup)
    paths = node_paths(home, config)
    _refuse_running(paths[DATA], paths[VAULT])
    _check_genesis(paths[GENESIS], manifest)
    verify_backup(backup, manifest, progress)
    sign_state_action = _sign_state_action(backup, paths[SIGN_STATE], manifest)
    has_vault = paths[VAULT].is_dir() and any(paths[VAULT].iterdir())
    restore_vault = manifest.vault and config.vault.enabled and not has_vault
    if manifest.vault and not config.vault.enabled:
        report.vault = "not enabled in this home"
    elif manifest.vault and has_vault:
        report.vault = "kept (the home has one)"

    home.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    trees = [(DATA, paths[DATA])] + ([(VAULT, paths[VAULT])] if restore_vault else [])
    staged = [(name, target, target.with_name(target.name + ".restoring")) for name, target in trees]
    try:
        _copy_trees(backup, manifest, staged, progress)
        for _, target, restoring in staged:
            if target.exists():
                aside = target.with_name(f"{target.name}.replaced-{stamp}")
                os.rename(target, aside)
                report.replaced.append(f"{target} -> {aside}")
            os.rename(restoring, target)
            fsync_dir(target.parent)
    except OSError as exc:
        raise BackupError(f"cannot restore into {home}: {exc.strerror} ({exc.filename})") from None
    finally:
        for _, _, restoring in staged:
            shutil.rmtree(restoring, ignore_errors=True)
    if restore_vault:
        report.vault = "restored"

    for name, target in ((CONFIG_FILE, home / CONFIG_FILE), (GENESIS, paths[GENESIS]), (NODE_KEY, paths[NODE_KEY])):
        if name in manifest.files and not target.exists():
            _copy_small(backup / name, target)
            report.copied.append(name)
    if sign_state_action == "restored":
        paths[SIGN_STATE].unlink(missing_ok=True)
        _copy_small(backup / SIGN_STATE, paths[SIGN_STATE])
    report.sign_state = sign_state_action if sign_state_action != "none" else (
        "kept" if paths[SIGN_STATE].exists() else "none")
    if report.sign_state == "none" and config.role == "validator":
        report.warnings.append("this validator has no sign-state: start it as an observer until it has caught up "
                               "(docs/operations.md, \"Restoring a validator\")")
    if not paths[NODE_KEY].exists():
        report.warnings.append(f"no node key at {paths[NODE_KEY]}: put the node's key there before starting it")
    password_file = config.key_password_file and config.path(home, config.key_password_file)
    if password_file and not password_file.exists():
        report.warnings.append(f"no key password file at {password_file} (a backup never holds it): put it there "
                               "before starting the node")

    _genesis_hash, head = open_checked(paths[DATA])
    if head.height != manifest.height or head.block_hash.hex() != manifest.block_hash:
        raise BackupError(f"the restored store's head (height {head.height}) is not the backup's "
                          f"(height {manifest.height}); the store was changed while it was restored")
    return report


def _refuse_running(data: Path, vault: Path) -> None:
    for store in [data, *_stores_under(vault)]:
        if is_locked(store):
            raise BackupError(f"a running process holds the store at {store}: stop the node before restoring")


def _check_genesis(path: Path, manifest: BackupManifest) -> None:
    if not path.exists():
        return
    try:
        genesis_hash = load_genesis(path).hash().hex()
    except GenesisError as exc:
        raise BackupError(f"the home's genesis: {exc}") from None
    if genesis_hash != manifest.genesis_hash:
        raise BackupError(f"the backup is of another chain ({manifest.chain_id}, genesis {manifest.genesis_hash[:16]}…) "
                          f"than this home's {path} (genesis {genesis_hash[:16]}…)")


def _sign_state_action(backup: Path, target: Path, manifest: BackupManifest) -> str:
    """'restored' if the backup's sign-state is newer than the home's (or the home has none); else 'none'."""
    if not manifest.sign_state:
        return "none"
    theirs = _signed_position(backup / SIGN_STATE)
    ours = _signed_position(target) if target.exists() else None
    if theirs is not None and (ours is None or theirs > ours):
        return "restored"
    return "none"


def _copy_trees(backup: Path, manifest: BackupManifest, staged: list[tuple[str, Path, Path]],
                progress: Progress | None) -> None:
    chosen = {name: restoring for name, _, restoring in staged}
    files = [(name, info) for name, info in sorted(manifest.files.items()) if name.split("/", 1)[0] in chosen]
    meter = Meter("copy", sum(info.size for _, info in files), progress)
    for _, restoring in chosen.items():
        shutil.rmtree(restoring, ignore_errors=True)
        restoring.mkdir(parents=True, mode=0o700)
    for name, _ in files:
        top, _, rest = name.partition("/")
        copy_file(backup / name, chosen[top] / rest, meter)
    for restoring in chosen.values():
        for directory in sorted({p.parent for p in restoring.rglob("*") if p.is_file()}, key=lambda p: -len(p.parts)):
            fsync_dir(directory)


def _copy_small(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    copy_file(src, dest, lambda _: None)
    fsync_dir(dest.parent)
