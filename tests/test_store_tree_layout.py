"""A store written with the first state-tree record layout is converted in place (FORMAT.md §15, ledger/tree_layout.py).

The first layout stored an inner node as `0x01 ‖ hash`; the current one as
`0x01 ‖ left ‖ right`. A chain is written through the node's Store, and a
copy of it is rewritten into the first layout (what an earlier version's data
directory holds). Then:
1. the store opens and passes the start-up check, but its tree is refused for
   updates and proofs with one line that says what to do;
2. the conversion gives exactly the records a store of this version holds, and
   the converted store computes the same roots as the original;
3. a conversion cut short after some batches (a crash) leaves the store still
   marked outdated, and the next one finishes it with the same result;
4. an old record that names a hash its children do not have stops the
   conversion as damage, naming the state tree; the root stays unconverted.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import plyvel
import pytest

from ledger import tree_layout
from ledger.store import P_TREE, Store, StoreError, StoreFailure
from node.bench.chain import build_transfer_chain


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("layout") / "home"
    build_transfer_chain(home, accounts=400, txs=600, block_txs=150)
    return home


def tree_records(data: Path) -> dict[bytes, bytes]:
    db = plyvel.DB(str(data))
    try:
        return dict(db.iterator(prefix=P_TREE))
    finally:
        db.close()


def to_first_layout(data: Path) -> int:
    """Rewrite every inner record as the first layout had it, 0x01 ‖ its hash: an earlier version's data directory."""
    db = plyvel.DB(str(data))
    try:
        inner = [(k, v) for k, v in db.iterator(prefix=P_TREE) if v[:1] == b"\x01"]
        with db.write_batch() as batch:
            for key, record in inner:
                assert len(record) == 65
                batch.put(key, b"\x01" + hashlib.sha256(record).digest())
        return len(inner)
    finally:
        db.close()


@pytest.fixture
def old(home: Path, tmp_path: Path) -> tuple[Path, dict[bytes, bytes], int]:
    """A copy in the first layout, the records of the current layout it had, and how many inner records."""
    data = tmp_path / "data"
    shutil.copytree(home / "data", data)
    current = tree_records(data)
    return data, current, to_first_layout(data)


def test_an_old_layout_opens_and_passes_the_check_but_its_tree_is_refused(old) -> None:
    data, _, inner = old
    assert inner > 300
    with Store(data, create=False) as store:
        assert store.tree_layout_outdated
        head = store.check()  # the root record names the head's state root in either layout
        assert head.height == 4
        with pytest.raises(StoreError) as caught:
            store.tree.update([(b"k", b"v")])
        message = str(caught.value)
        assert "earlier version" in message and "start the node once" in message and "\n" not in message


def test_the_conversion_gives_exactly_the_current_records(old, home: Path, tmp_path: Path) -> None:
    data, current, inner = old
    with Store(data, create=False) as store:
        assert store.upgrade_tree_layout() == inner
        assert not store.tree_layout_outdated
        store.check()
        store.load_tree_top()
        changes = [(b"bal/new-%d" % i, b"%d" % i) for i in range(50)]
        converted = store.tree.update(changes)
    assert tree_records(data) == current
    with Store(home / "data", create=False) as original:
        assert original.tree.update(changes) == converted


def test_an_interrupted_conversion_is_finished_by_the_next(old, monkeypatch: pytest.MonkeyPatch) -> None:
    data, current, inner = old
    monkeypatch.setattr(tree_layout, "BATCH_RECORDS", 40)

    class Crash(Exception):
        pass

    written = []

    def crash_after_a_few_batches(done: int) -> None:
        written.append(done)
        if done >= 120:
            raise Crash

    with Store(data, create=False) as store:
        with pytest.raises(Crash):
            store.upgrade_tree_layout(crash_after_a_few_batches)
    records = tree_records(data)
    assert len(written) >= 3 and sum(1 for v in records.values() if len(v) == 33) == inner - written[-1]
    with Store(data, create=False) as store:
        assert store.tree_layout_outdated, "the root is converted last"
        assert store.upgrade_tree_layout() == inner - written[-1]
        assert not store.tree_layout_outdated
        store.check()
    assert tree_records(data) == current


def test_an_old_record_naming_a_wrong_hash_stops_the_conversion(old) -> None:
    data, _, _ = old
    db = plyvel.DB(str(data))
    deepest_inner = max(k for k, v in db.iterator(prefix=P_TREE) if len(v) == 33)
    db.put(deepest_inner, b"\x01" + bytes(32))
    db.close()
    with Store(data, create=False) as store:
        with pytest.raises(StoreFailure) as caught:
            store.upgrade_tree_layout()
        assert "the state tree" in str(caught.value) and "names a hash its children do not have" in str(caught.value)
        assert store.tree_layout_outdated
