"""Make the repository's packages importable when pytest is run as `pytest`, not only `python -m pytest`;
hand the longest test files out first when the suite runs in several workers (scripts/test)."""

import sys
from pathlib import Path

import pytest

ROOT_PATH = Path(__file__).resolve().parent.parent
ROOT = str(ROOT_PATH)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

LONGEST_FIRST = (
    # Files measured as the longest (scripts/test, two cores), longest first. With `--dist loadfile
    # --no-loadscope-reorder`, pytest-xdist hands files out in collection order: a long file handed out
    # last would leave the other workers idle while it runs. The list only orders; a file missing from it
    # runs after these, in pytest's own order.
    "tests/functional/test_consensus_faults.py",
    "tests/functional/test_api_limits.py",
    "tests/functional/test_identity_flow.py",
    "tests/functional/test_consensus.py",
    "tests/test_devnet.py",
    "tests/test_bench.py",
    "tests/functional/test_backup.py",
    "tests/functional/test_api_contract.py",
    "tests/functional/test_welfare_year.py",
    "tests/functional/test_keys_at_rest.py",
    "tests/functional/test_p2p_attacks.py",
    "tests/functional/test_credits_cli.py",
    "tests/functional/test_audit_export.py",
    "tests/test_cli.py",
    "tests/functional/test_crash.py",
    "tests/functional/test_tls.py",
    "tests/functional/test_api.py",
    "tests/functional/test_admission_attacks.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def place(item: pytest.Item) -> int:
        try:
            return rank.get(item.path.relative_to(ROOT_PATH).as_posix(), len(rank))
        except ValueError:
            return len(rank)

    items.sort(key=place)  # stable: a file's tests keep their order
