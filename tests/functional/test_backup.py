"""`incoop node backup` of running validators under load, and `incoop node restore` (issue 12, operations).

Scenario (four validators and one observer, real processes, the devnet's keys):
1. The validators commit a steady load of transfers (sent to validators 0
   to 2, so that killing validator 3 strands none). While they commit,
   validator 1 is backed up (`incoop node backup --json`) and validator 3
   too, with its sign-state (`--with-sign-state`). The chain keeps growing
   during and after the backups.
2. Validator 1's backup is restored into the observer's home, which keeps
   its own config and key: `incoop audit verify --data` passes on the
   restored home, at the backup's height and head block.
3. Started with no peers, the observer serves exactly the backup's head,
   the block every validator holds at that height; started again with its
   peers, it catches up by block sync, and every node agrees on every block.
4. A restore onto validator 2, which is running, is refused in one line and
   leaves its store untouched.
5. Validator 3 loses its disk's store (SIGKILL, data/ removed) after having
   signed more since its backup. The restore puts the store back and keeps
   the newer sign-state the home still has (byte for byte); validator 3
   starts and catches up; with validator 0 stopped, a block that needs its
   vote commits. Every node agrees, no committed transaction is lost,
   balances add up, and no evidence of double signing was recorded.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.config import load_config, write_config
from tests.functional.framework import (
    Devnet,
    SteadyLoad,
    assert_all_agree,
    assert_committed_everywhere,
    assert_conserved,
    incoop,
    running_devnet,
    wait_until,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def devnet(tmp_path: Path) -> Iterator[Devnet]:
    yield from running_devnet(tmp_path / "devnet", validators=4, observers=1)


def backup(devnet: Devnet, home: Path, out: Path, *extra: str) -> dict:
    proc = incoop(devnet, "node", "backup", "--home", str(home), "--out", str(out), "--json", *extra)
    assert "backup: copy " in proc.stderr  # progress, on stderr
    return json.loads(proc.stdout)


def restore(devnet: Devnet, source: Path, home: Path) -> dict:
    return json.loads(incoop(devnet, "node", "restore", "--from", str(source), "--home", str(home), "--json").stdout)


def set_peers(home: Path, peers: list[str] | None) -> None:
    config = load_config(home)
    config.peers = peers
    write_config(home, config)


def test_a_backup_taken_under_load_restores_to_a_node_that_serves_its_head(devnet: Devnet, tmp_path: Path) -> None:
    genesis = str(devnet.layout.home / "genesis.json")
    v1, v2, v3 = devnet.validators[1], devnet.validators[2], devnet.validators[3]
    observer = devnet.observers[0]

    # 1. backups while the validators commit
    v0 = devnet.validators[0]
    load = SteadyLoad(devnet, devnet.validators[:3], rate=40)
    load.start()
    devnet.wait_height(10, devnet.validators)
    taken = backup(devnet, v1.home, tmp_path / "v1-backup")
    own = backup(devnet, v3.home, tmp_path / "v3-backup", "--with-sign-state")
    assert taken["height"] >= 10 and taken["sign_state"] is False and own["sign_state"] is True
    assert taken["files"] == len(json.loads((tmp_path / "v1-backup" / "backup.json").read_text())["files"])
    assert not (tmp_path / "v1-backup" / "sign_state.bin").exists()
    devnet.wait_height(own["height"] + 10, devnet.validators)  # the chain went on during and after

    # 2. restore into the observer's home; the restored home passes the audit at the backup's head
    observer_key = (observer.home / "node_key.json").read_bytes()
    report = restore(devnet, tmp_path / "v1-backup", observer.home)
    assert (report["height"], report["block_hash"]) == (taken["height"], taken["block_hash"])
    assert report["copied"] == [] and report["replaced"] == []  # its own config, key and genesis stay
    assert (observer.home / "node_key.json").read_bytes() == observer_key
    audit = json.loads(incoop(devnet, "audit", "verify", "--genesis", genesis, "--data", str(observer.home),
                              "--json", "--quiet").stdout)
    assert audit["ok"] is True and audit["stored_state_compared"] is True
    assert (audit["height"], audit["head_hash"]) == (taken["height"], taken["block_hash"])

    # 3. alone, it serves the backup's head; with its peers, it catches up
    set_peers(observer.home, [])
    observer.start()
    status = observer.api.status()
    assert (status["height"], status["block_hash"]) == (taken["height"], taken["block_hash"])
    assert v2.api.block(taken["height"])["hash"] == taken["block_hash"]
    assert observer.stop() == 0
    set_peers(observer.home, None)
    observer.start()
    target = v2.api.status()["height"]
    observer.api.wait_height(target, timeout=60)

    # 4. never under a running node
    refused = incoop(devnet, "node", "restore", "--from", str(tmp_path / "v1-backup"), "--home", str(v2.home),
                     check=False)
    assert "a running process holds the store at" in refused.stderr and "stop the node" in refused.stderr
    assert not list(v2.home.glob("data.replaced-*")) and v2.alive()

    # 5. validator 3 loses its store; the restore keeps its newer sign-state
    v3.kill()
    sign_state = (v3.home / "sign_state.bin").read_bytes()
    shutil.rmtree(v3.home / "data")
    report = restore(devnet, tmp_path / "v3-backup", v3.home)
    assert report["sign_state"] == "kept" and report["height"] == own["height"]
    assert (v3.home / "sign_state.bin").read_bytes() == sign_state
    v3.start()
    v3.api.wait_height(v2.api.status()["height"], timeout=60)
    accepted = load.stop()
    v0.stop()  # three of four left: no block without validator 3's vote
    tx = devnet.transfer("anna", "marco", 9, devnet.targets_nonce("anna", [v1, v2, v3]))
    v1.api.submit(tx)
    v1.api.wait_committed(tx.hash, timeout=30)
    v0.start()
    committed = [*accepted, tx.hash]
    for node in devnet.running():
        wait_until(lambda n=node: n.api.tx(tx.hash)["status"] == "committed", 30, what=f"{node.home.name} to commit")
    assert_all_agree(devnet)
    assert_committed_everywhere(devnet, committed)
    assert_conserved(devnet)
    assert v0.api.get("/v1/evidence")["evidence"] == [], "a restored validator never signs twice"
