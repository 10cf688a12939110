"""`incoop credits` without a node: dates, the payroll CSV's checks, and how mistakes look."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.common import CliError
from ledger.address import to_address
from ledger.crypto import SigningKey
from node.cli import main
from wallet.credits_cli import _read_rows, _time_ms

ADDRESS = to_address(SigningKey(bytes(32)).pubkey)


def test_times_are_ms_or_iso_dates_in_utc_unless_zoned() -> None:
    assert _time_ms("1798761600000", "--valid-until") == 1798761600000
    assert _time_ms("2027-01-01", "--valid-until") == 1798761600000
    assert _time_ms("2027-01-01T01:00:00+01:00", "--valid-until") == 1798761600000
    assert _time_ms("2027-01-01T00:00:00Z", "--valid-until") == 1798761600000
    with pytest.raises(CliError, match="--valid-until must be an ISO date"):
        _time_ms("tomorrow", "--valid-until")


def test_an_end_date_alone_is_valid_through_that_day() -> None:
    """`--valid-until 2026-12-31` must still pay on New Year's Eve: the end is 2027-01-01 00:00 UTC, exclusive."""
    assert _time_ms("2026-12-31", "--valid-until", through_the_day=True) == 1798761600000
    assert _time_ms("2026-12-31T18:00:00Z", "--valid-until", through_the_day=True) == 1798740000000
    assert _time_ms("1798761600000", "--valid-until", through_the_day=True) == 1798761600000


def write(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "rows.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return str(path)


def test_rows_take_a_header_blank_lines_and_an_optional_reason(tmp_path: Path) -> None:
    rows = _read_rows(write(tmp_path, f"address,amount,reason\n{ADDRESS},12.5,plan\n\n{ADDRESS}, 3 \n"), 2)
    assert [(r.line, r.address, r.amount, r.reason) for r in rows] == [(2, ADDRESS, 1250, "plan"), (4, ADDRESS, 300, "")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{ADDRESS},1,a\n{ADDRESS},1.234,b\n", "line 2: amount 1.234 has more than 2 decimals"),
        (f"{ADDRESS},1,a\n{ADDRESS[:-1]}q,1,b\n", "line 2: bad address"),
        (f"{ADDRESS},0,a\n", "line 1: the amount must be positive"),
        (f"{ADDRESS},1,{'x' * 129}\n", "line 1: reason must be a string of at most 128 bytes"),
        (f"{ADDRESS},1,a,extra\n", "line 1: expected address,amount,reason, got 4 columns"),
        ("address,amount,reason\n", "has no rows"),
        (b"\xff\xfe", "is not UTF-8"),
    ],
)
def test_the_first_bad_row_refuses_the_file_by_its_line(tmp_path: Path, text: str | bytes, message: str) -> None:
    with pytest.raises(CliError, match=message):
        _read_rows(write(tmp_path, text), 2)


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="cannot read"):
        _read_rows(str(tmp_path / "nope.csv"), 2)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["create-class", "Bad_Id"], "is not a class id"),
        (["create-class", "ok", "--decimals", "9"], "--decimals must be from 0 to 6"),
        (["create-class", "ok", "--eligible", "employee"], "is not an attribute"),
        (["create-class", "ok", "--valid-from", "2027-01-02", "--valid-until", "2027-01-01"], "must be after"),
        (["create-class", "ok", "--budget", "-3"], "not an amount"),
        (["create-class", "ok", "--description-hash", "abcd"], "64 hex characters"),
        (["accredit", "somebody", "--category", "food"], "no key named 'somebody'"),
    ],
)
def test_mistakes_are_caught_before_the_node_is_asked(capsys, tmp_path, monkeypatch, argv, message) -> None:
    monkeypatch.setenv("INCOOP_WALLET", str(tmp_path / "wallet"))
    monkeypatch.setenv("INCOOP_NODE", "http://127.0.0.1:9")  # nothing listens there
    status = main(["credits", *argv, "--as", "federation"])
    out, err = capsys.readouterr()
    assert status != 0 and out == ""
    assert err.startswith("incoop: ") and err.count("\n") == 1 and message in err, err
