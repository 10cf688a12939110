"""What `incoop market` and `incoop gas` share: ids, prices per class, durations and times, signing.

Everything a person types is checked here, naming the option, before a key is
unlocked; what the ledger checks again at admission (the body's field rules)
is checked once more by wallet/txbuild.py before signing, so a mistake never
reaches a node.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from datetime import UTC, datetime

from cli.common import CliError, emit, format_amount, parse_amount
from ledger.credits import CLASS_ID
from ledger.crypto import SigningKey
from wallet.cli import _Classes, _client, _key_info, _keystore, _unlock
from wallet.client import NodeClient
from wallet.credits_cli import _time_ms
from wallet.identity_cli import _commit

ID_LEN = 16
"""Listings, orders and purchase groups are named by 16 bytes the client draws (FORMAT.md §6.5.1, §6.6)."""

_UNITS_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
_DURATION = re.compile(r"([0-9]{1,12})([smhdw])")


# --- ids ------------------------------------------------------------------------------------------


def parse_id(text: str, what: str) -> bytes:
    """A listing's, order's or group's id as printed: 32 lower- or upper-case hex characters."""
    try:
        value = bytes.fromhex(text.strip())
    except ValueError:
        value = b""
    if len(value) != ID_LEN:
        raise CliError(f"{text!r} is not a {what} id ({2 * ID_LEN} hex characters)")
    return value


def new_id(given: str | None, what: str) -> bytes:
    """The id a new record gets: the one given (to retry safely with the same id), else 16 random bytes."""
    return parse_id(given, what) if given else os.urandom(ID_LEN)


# --- amounts and prices ------------------------------------------------------------------------


def class_id(text: str, option: str = "--class") -> str:
    if not CLASS_ID.fullmatch(text):
        raise CliError(f"{option} {text!r} is not a class id (lower-case letters, digits and '-', at most 32)")
    return text


def decimals_of(classes: _Classes, cls: str) -> int:
    return int(classes.require(cls)["decimals"])


def parse_prices(specs: list[str], classes: _Classes) -> tuple[tuple[str, int], ...]:
    """`--price CLASS=AMOUNT` (repeatable), each amount in its class's units: the body's prices,
    in ascending class id (FORMAT.md §6.5.1)."""
    if not specs:
        raise CliError("give at least one --price CLASS=AMOUNT (e.g. --price welfare-acme-2026=3.50)")
    prices: dict[str, int] = {}
    for spec in specs:
        cls, sep, amount = spec.partition("=")
        if not sep or not amount.strip():
            raise CliError(f"--price {spec!r} must be CLASS=AMOUNT, e.g. demo-eur=3.50")
        cls = class_id(cls.strip(), "--price")
        if cls in prices:
            raise CliError(f"--price names {cls} twice")
        try:
            prices[cls] = parse_amount(amount, decimals_of(classes, cls))
        except CliError as exc:
            raise CliError(f"--price {spec}: {exc}") from None
    return tuple(sorted(prices.items()))


def parse_share(text: str, decimals: int, option: str) -> int:
    """An amount that may be zero (a split that gives one side nothing), in the class's units."""
    stripped = text.strip()
    if stripped and set(stripped) <= set("0."):
        if stripped.count(".") > 1:
            raise CliError(f"{option}: not an amount: {text!r}")
        return 0
    try:
        return parse_amount(stripped, decimals)
    except CliError as exc:
        raise CliError(f"{option}: {exc}") from None


def show_amount(classes: _Classes, cls: str, amount: int) -> str:
    return f"{classes.format(cls, amount)} {cls}"


def show_decimal(amount: int, decimals: int) -> str:
    return format_amount(amount, decimals)


# --- durations and times -------------------------------------------------------------------------


def parse_duration(text: str, option: str) -> int:
    """A span of time in ms: 90s, 15m, 1h, 14d, 2w, or plain digits (ms)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    found = _DURATION.fullmatch(text)
    if not found:
        raise CliError(f"{option} must be a duration such as 90s, 15m, 1h, 14d, 2w (or ms), not {text!r}")
    return int(found[1]) * _UNITS_MS[found[2]]


def parse_when(text: str, option: str, *, through_the_day: bool = False) -> int:
    """A moment in block time (ms): +DURATION from now (this machine's clock; a devnet's block time
    follows the wall clock), an ISO date or date-time (UTC if naive), or ms since the epoch."""
    text = text.strip()
    if text.startswith("+"):
        return int(time.time() * 1000) + parse_duration(text[1:], option)
    return _time_ms(text, option, through_the_day=through_the_day)


def show_time(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def show_duration(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)):
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


# --- signing --------------------------------------------------------------------------------------


def signer(args: argparse.Namespace) -> SigningKey:
    """The `--as` key, unlocked; a key that is not in the wallet is named before a password is asked."""
    _key_info(args, args.signer)
    key, _ = _unlock(args, args.signer)
    return key


def submit(args: argparse.Namespace, client: NodeClient, key: SigningKey, type_: str, body: tuple,
           data: dict, text: str) -> dict:
    """Sign and submit; unless --no-wait, wait for the block and fail in one line unless the result is OK.
    Prints `data` (with the transaction's hash, status and height) or `text` and the commit."""
    record = _commit(args, client, key, type_, body)
    out = {**data, "hash": record["hash"], "status": record["status"], "height": record.get("height")}
    where = f" at height {record['height']}" if record.get("height") else ""
    done = "committed" if record["status"] == "committed" else "submitted (pending)"
    emit(args.json, out, f"{text}\n  {done} {record['hash']}{where}")
    return record


def client_and_classes(args: argparse.Namespace) -> tuple[NodeClient, _Classes]:
    client = _client(args)
    return client, _Classes(client)


# --- people -----------------------------------------------------------------------------------------


def wallet_names(args: argparse.Namespace) -> dict[str, str]:
    """address -> key name, for the keys of the local wallet: a listing's provider shows as `sait`."""
    return {info.address: info.label for info in _keystore(args).list()}


def who(address: str | None, names: dict[str, str]) -> str:
    if not address:
        return "-"
    return f"{names[address]} ({address})" if address in names else address
