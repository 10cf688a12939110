"""`incoop wallet …` and `incoop tx …`: a resident's keys, balances, payments and raw transactions.

Every command takes --node, --wallet-dir and --json, and turns every expected
failure (a mistyped address, an unknown key, a wrong password, a node that is
down, a transaction the ledger refused) into a CliError, so that a person sees
one line saying what went wrong and a script sees a non-zero exit.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from cli.common import (
    CliError,
    default_ca_file,
    default_node,
    default_wallet_dir,
    emit,
    format_amount,
    parse_amount,
)
from keys.keystore import LABEL, KeyInfo, Keystore, KeystoreError, read_password
from ledger.address import ADDRESS_LEN, PREFIX, to_address
from ledger.crypto import SigningKey
from ledger.errors import TxError
from ledger.tx import Tx, decode_tx
from wallet.client import NodeClient, NodeError
from wallet.txbuild import (
    TRANSFER,
    BuildError,
    body_from_json,
    build_and_sign,
    parse_address,
    transfer_body,
)

EXPIRY_WINDOW = 1000
"""Blocks a transaction built by `wallet send` stays valid: long enough to wait out a slow round."""

DEFAULT_WAIT_S = 30.0
MAX_NONCE_BUMPS = 16
HISTORY_FORMAT = "H:I"


# --- plumbing shared by the commands ---------------------------------------------


def _guard(func: Callable[[argparse.Namespace], int | None]) -> Callable[[argparse.Namespace], int | None]:
    """Turn the wallet's own exceptions into CliError: one line, never a traceback."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int | None:
        try:
            return func(args)
        except (KeystoreError, BuildError) as exc:
            raise CliError(str(exc)) from None
        except NodeError as exc:
            raise CliError(str(exc) if exc.status == 0 else f"the node says {exc}") from None

    return run


def _client(args: argparse.Namespace) -> NodeClient:
    return NodeClient(args.node or default_node(), ca_file=getattr(args, "ca_file", None) or default_ca_file())


def _keystore(args: argparse.Namespace) -> Keystore:
    """The wallet; a folder other users can list is named in one warning line (docs/keys.md), once per command."""
    keystore = Keystore(args.wallet_dir or default_wallet_dir())
    warning = keystore.exposure()
    if warning and not getattr(args, "wallet_warned", False):
        args.wallet_warned = True
        print(f"incoop: warning: {warning}", file=sys.stderr)
    return keystore


def _key_info(args: argparse.Namespace, name: str) -> KeyInfo:
    keystore = _keystore(args)
    if not keystore.path_of(name).exists():
        raise CliError(f"no key named {name!r} in {keystore.directory}")
    return keystore.info(name)


def _unlock(args: argparse.Namespace, name: str) -> tuple[SigningKey, KeyInfo]:
    info = _key_info(args, name)
    password = read_password(args.password_file, prompt=f"Password for {name}: ")
    key = _keystore(args).unlock(name, password)
    return key, info


def _account_of(args: argparse.Namespace, who: str) -> str:
    """A key name in the wallet, or else an address typed in full (checked, never guessed)."""
    keystore = _keystore(args)
    if LABEL.fullmatch(who) and keystore.path_of(who).exists():
        return keystore.info(who).address
    if who.startswith(PREFIX) and len(who) == ADDRESS_LEN:
        parse_address(who)
        return who
    raise CliError(f"no key named {who!r} in {keystore.directory}, and not an address")


class _Classes:
    """Class metadata fetched once per command, for formatting amounts with their decimals."""

    def __init__(self, client: NodeClient):
        self.client = client
        self.cache: dict[str, dict | None] = {}

    def get(self, class_id: str) -> dict | None:
        if class_id not in self.cache:
            try:
                self.cache[class_id] = self.client.credit_class(class_id)
            except NodeError as exc:
                if exc.code != "NOT_FOUND":
                    raise
                self.cache[class_id] = None
        return self.cache[class_id]

    def require(self, class_id: str) -> dict:
        found = self.get(class_id)
        if found is None:
            raise CliError(f"no credit class {class_id!r} on the node at {self.client.base_url}")
        return found

    def format(self, class_id: str, amount: int) -> str:
        found = self.get(class_id)
        return str(amount) if found is None else format_amount(amount, int(found["decimals"]))


def _refused(tx: Tx, exc: NodeError) -> CliError | NodeError:
    if exc.status == 0:
        return exc
    return CliError(f"the node refused transaction {tx.hash.hex()}: {exc.code}: {exc.message}")


def _submit_and_report(args: argparse.Namespace, client: NodeClient, tx: Tx) -> int:
    try:
        client.submit_tx(tx.raw)
    except NodeError as exc:
        raise _refused(tx, exc) from None
    return _report(args, client, tx)


def _report(args: argparse.Namespace, client: NodeClient, tx: Tx) -> int:
    """Unless --no-wait, wait for the block and turn a failed result into a non-zero exit."""
    tx_hash = tx.hash.hex()
    if args.no_wait:
        emit(args.json, {"hash": tx_hash, "status": "pending"}, f"submitted {tx_hash} (pending)")
        return 0
    record = client.wait_for_tx(tx_hash, timeout=args.timeout)
    if record["status"] == "rejected":
        error = record.get("error") or {}
        raise CliError(f"transaction {tx_hash} rejected: {error.get('code', '?')}: {error.get('message', '')}")
    result = record.get("result") or {}
    code = result.get("code", "?")
    if code != "OK":
        raise CliError(
            f"transaction {tx_hash} failed at height {record.get('height')}: {code}: {result.get('message', '')}"
        )
    emit(
        args.json,
        {"hash": tx_hash, "status": "committed", "height": record.get("height"), "index": record.get("index"), "result": result},
        f"committed {tx_hash} at height {record.get('height')}: {code}",
    )
    return 0


# --- wallet ----------------------------------------------------------------------


@_guard
def cmd_new(args: argparse.Namespace) -> int:
    keystore = _keystore(args)
    if keystore.path_of(args.name).exists():
        raise CliError(f"a key named {args.name!r} already exists in {keystore.directory}")
    password = read_password(args.password_file, prompt=f"Password for new key {args.name}: ", confirm=True)
    info = keystore.create(args.name, password)
    emit(args.json, {"name": info.label, "address": info.address, "path": str(info.path)}, info.address)
    return 0


@_guard
def cmd_list(args: argparse.Namespace) -> int:
    keys = _keystore(args).list()
    data = [{"name": k.label, "address": k.address} for k in keys]
    width = max((len(k.label) for k in keys), default=0)
    text = "\n".join(f"{k.label:<{width}}  {k.address}" for k in keys) or f"no keys in {_keystore(args).directory}"
    emit(args.json, data, text)
    return 0


@_guard
def cmd_address(args: argparse.Namespace) -> int:
    info = _key_info(args, args.name)
    emit(args.json, {"name": info.label, "address": info.address}, info.address)
    return 0


def _expiry_order(row: dict) -> tuple:
    """Soonest expiry first; classes that never expire last; then by class id."""
    until = row.get("valid_until_ms")
    return (until is None, until or 0, row["class"])


def _validity(row: dict) -> str:
    until = row.get("valid_until_ms")
    if until is None:
        return "no expiry"
    day = datetime.fromtimestamp(until / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"expired {day}" if row.get("expired") else f"until {day}"


@_guard
def cmd_balance(args: argparse.Namespace) -> int:
    address = _account_of(args, args.account)
    client = _client(args)
    account = client.account(address)
    classes = _Classes(client)
    rows = []
    for entry in account.get("balances", []):
        found = classes.get(entry["class"]) or {}
        decimals = int(found.get("decimals", 0))
        rows.append(
            {
                "class": entry["class"],
                "amount": entry["amount"],
                "decimals": decimals,
                "formatted": format_amount(int(entry["amount"]), decimals),
                "name": found.get("name"),
                "issuer": found.get("issuer"),
                "kind": found.get("kind"),
                "transferability": found.get("transferability"),
                "categories": found.get("categories", []),
                "valid_from_ms": found.get("valid_from_ms"),
                "valid_until_ms": found.get("valid_until_ms"),
                "expired": found.get("expired", False),
            }
        )
    rows.sort(key=_expiry_order)
    data = {"address": address, "nonce": account.get("nonce", 0), "balances": rows}
    lines = [address, f"nonce {data['nonce']}"]
    width = max((len(r["class"]) for r in rows), default=0)
    amount_width = max((len(r["formatted"]) for r in rows), default=0)
    for r in rows:
        spend = ", ".join(r["categories"]) or "anything"
        mode = "spend only at accredited providers" if r["transferability"] == "spend_only" else "transferable"
        lines.append(f"{r['class']:<{width}}  {r['formatted']:>{amount_width}}  {r['kind'] or '?'}  {_validity(r)}  "
                     f"for {spend} ({mode}); issuer {r['issuer'] or '?'}")
    if not rows:
        lines.append("no credits")
    emit(args.json, data, "\n".join(lines))
    return 0


def _next_nonce(client: NodeClient, address: str) -> int:
    """The nonce after the account's pending transactions on this node."""
    account = client.account(address)
    return int(account.get("pending_nonce", account["nonce"]))


@_guard
def cmd_send(args: argparse.Namespace) -> int:
    info = _key_info(args, args.sender)
    to_address_text = _account_of(args, args.to)
    to = parse_address(to_address_text, "recipient address")
    if to_address_text == info.address:
        raise CliError("sender and recipient are the same account")
    client = _client(args)
    status = client.status()
    credit_class = _Classes(client).require(args.class_id)
    amount = parse_amount(args.amount, int(credit_class["decimals"]))
    nonce = args.nonce if args.nonce is not None else _next_nonce(client, info.address)
    key, _ = _unlock(args, args.sender)
    body = transfer_body(args.class_id, to, amount, args.memo)
    expiry = int(status["height"]) + EXPIRY_WINDOW
    for _attempt in range(MAX_NONCE_BUMPS + 1):
        tx = build_and_sign(key, status["chain_id"], TRANSFER, nonce, expiry, body)
        try:
            client.submit_tx(tx.raw)
            break
        except NodeError as exc:
            # Another client of the same key (or another node's mempool) may have
            # taken this nonce between asking and submitting: step over it
            # (DUPLICATE), or catch up with what a block committed (BAD_NONCE).
            if args.nonce is not None or exc.code not in ("DUPLICATE", "BAD_NONCE"):
                raise _refused(tx, exc) from None
            if exc.code == "BAD_NONCE":
                nonce = max(nonce + 1, _next_nonce(client, info.address))
            else:
                nonce += 1
    else:
        raise CliError(f"{MAX_NONCE_BUMPS} transactions of {args.sender} are pending already; wait for them or give --nonce")
    return _report(args, client, tx)


class Movement(NamedTuple):
    """One history entry as a person reads it: who moved what to whom, and why."""

    direction: str  # sent, received, issued, paid, redeemed, reclaimed, other
    class_id: str
    amount: int | None
    counterparty: str
    reference: str


def movement(tx: dict, address: str) -> Movement:
    """Read a credit transaction's body (FORMAT.md §6.3) from the account's side."""
    body = tx.get("body") or []
    kind = tx.get("type", "")
    signer = tx.get("signer", "")
    if kind.endswith(".end_block"):
        return _effect_movement(tx, address)
    if kind in ("credits.transfer", "credits.issue") and len(body) == 4:
        class_id, to, amount, note = body
        if kind == "credits.issue":
            return Movement("issued", class_id, int(amount), to if signer == address else signer, note)
        if signer == address:
            return Movement("sent", class_id, int(amount), to, note)
        return Movement("received", class_id, int(amount), signer, note)
    if kind == "credits.pay" and len(body) == 5:
        class_id, provider, amount, category, order_ref = body
        reference = f"{category}: {order_ref}" if order_ref else category
        if signer == address:
            return Movement("paid", class_id, int(amount), provider, reference)
        return Movement("received", class_id, int(amount), signer, reference)
    if kind == "credits.redeem" and len(body) == 3:
        class_id, amount, settlement = body
        return Movement("redeemed", class_id, int(amount), "", settlement)
    if kind == "credits.reclaim" and len(body) == 2:
        return Movement("reclaimed", body[0], None, signer, "")
    return Movement("other", "", None, "", kind)


def _effect_movement(entry: dict, address: str) -> Movement:
    """An end-of-block effect's entry (FORMAT.md §15): what its movements brought the account (a payout at
    an order's deadline, a purchase group's charge or refund), net."""
    moves = entry.get("moves") or []
    if not moves:
        return Movement("other", "", None, "", entry.get("type", ""))
    net = sum(int(m["amount"]) for m in moves if m.get("to") == address)
    net -= sum(int(m["amount"]) for m in moves if m.get("from") == address)
    first = moves[0]
    reference = f"{first.get('kind')}, {first.get('reference')}" if first.get("reference") else str(first.get("kind"))
    return Movement("received" if net >= 0 else "sent", str(first.get("class", "")), abs(net), "", reference)


def _where(entry: dict) -> str:
    """The transaction of a history entry, or the end-of-block effect (which has no hash: nobody signed it)."""
    if "hash" in entry:
        return f"tx {entry['hash']}"
    return f"effect {entry.get('module')} {entry.get('item')}"


def _describe(tx: dict, address: str, classes: _Classes) -> str:
    """One line a person can read: who paid whom how much."""
    m = movement(tx, address)
    if m.direction == "other":
        return f"{tx.get('type')} {json.dumps(tx.get('body') or [])}"
    shown = f"{classes.format(m.class_id, m.amount)} {m.class_id}" if m.amount is not None else m.class_id
    preposition = {"sent": "to", "paid": "to", "issued": "to", "received": "from", "reclaimed": "by"}.get(m.direction)
    text = f"{m.direction} {shown}" + (f" {preposition} {m.counterparty}" if preposition and m.counterparty else "")
    return text + (f" ({m.reference})" if m.reference else "")


HISTORY_CSV_COLUMNS = ("height", "index", "hash", "type", "result", "direction", "class", "amount", "amount_minor",
                       "counterparty", "reference")


def _history_rows(client: NodeClient, address: str, args: argparse.Namespace) -> tuple[list[dict], str | None]:
    """Up to --limit matching transactions, newest first, reading as many pages as the filters need."""
    rows: list[dict] = []
    before = args.before
    while len(rows) < args.limit:
        page = client.account_txs(address, limit=200 if (args.class_id or args.type) else args.limit, before=before)
        for tx in page.get("txs", []):
            if args.type and tx.get("type") != args.type:
                continue
            if args.class_id and movement(tx, address).class_id != args.class_id:
                continue
            rows.append(tx)
            if len(rows) == args.limit:
                return rows, f"{tx['height']}:{tx['index']}"
        before = page.get("next")
        if not before:
            return rows, None
    return rows, before


@_guard
def cmd_history(args: argparse.Namespace) -> int:
    address = _account_of(args, args.account)
    if args.before is not None:
        height, sep, index = args.before.partition(":")
        if not (sep and height.isdigit() and index.isdigit()):
            raise CliError(f"--before must be {HISTORY_FORMAT} (height:index), not {args.before!r}")
    if not 1 <= args.limit <= 10_000:
        raise CliError("--limit must be from 1 to 10000")
    client = _client(args)
    rows, more = _history_rows(client, address, args)
    classes = _Classes(client)
    if args.csv:
        return _history_csv(args.csv, rows, address, classes)
    lines = []
    for tx in rows:
        code = (tx.get("result") or {}).get("code", "?")
        lines.append(f"{tx['height']}:{tx['index']}  {code}  {_describe(tx, address, classes)}  {_where(tx)}")
    if more:
        lines.append(f"more: --before {more}")
    emit(args.json, {"address": address, "txs": rows, "next": more}, "\n".join(lines) or "no transactions")
    return 0


def _history_csv(target: str, rows: list[dict], address: str, classes: _Classes) -> int:
    """Movements as CSV, to a file or '-' for standard output.

    `amount` is in the class's units as every command reads them (12.50), `amount_minor`
    the exact integer the chain holds (1250).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HISTORY_CSV_COLUMNS)
    for tx in rows:
        m = movement(tx, address)
        shown = "" if m.amount is None or not m.class_id else classes.format(m.class_id, m.amount)
        writer.writerow([tx["height"], tx["index"], tx.get("hash", ""), tx.get("type"), (tx.get("result") or {}).get("code", ""),
                         m.direction, m.class_id, shown, "" if m.amount is None else m.amount, m.counterparty,
                         m.reference])
    if target == "-":
        sys.stdout.write(buffer.getvalue())
        return 0
    out = Path(target)
    if out.exists():
        raise CliError(f"{out} exists; not overwriting it")
    out.write_text(buffer.getvalue(), encoding="utf-8")
    print(f"wrote {len(rows)} movements to {out}")
    return 0


# --- tx ------------------------------------------------------------------------------


@_guard
def cmd_tx_sign(args: argparse.Namespace) -> int:
    if args.form == "transfer":
        missing = [flag for flag, value in (("--to", args.to), ("--class", args.class_id), ("--amount-minor", args.amount_minor)) if value is None]
        if missing:
            raise CliError(f"tx sign transfer needs {', '.join(missing)}")
        type_ = TRANSFER
        body = transfer_body(args.class_id, parse_address(args.to, "recipient address"), args.amount_minor, args.memo)
    else:
        if args.type is None or args.body is None:
            raise CliError("tx sign needs --type and --body (or the form: tx sign transfer --to … --class … --amount-minor …)")
        type_ = args.type
        body = body_from_json(args.body)
    key, info = _unlock(args, args.sender)
    tx = build_and_sign(key, args.chain_id, type_, args.nonce, args.expiry, body)
    try:
        Path(args.out).write_bytes(tx.raw)
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror}") from None
    data = {
        "hash": tx.hash.hex(),
        "out": args.out,
        "type": type_,
        "signer": to_address(key.pubkey),
        "nonce": args.nonce,
        "expiry": args.expiry,
        "chain_id": args.chain_id,
        "size": len(tx.raw),
    }
    emit(args.json, data, tx.hash.hex())
    return 0


@_guard
def cmd_tx_submit(args: argparse.Namespace) -> int:
    try:
        raw = Path(args.file).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}") from None
    try:
        tx = decode_tx(raw)
    except TxError as exc:
        raise CliError(f"{args.file} is not a signed transaction: {exc.message}") from None
    return _submit_and_report(args, _client(args), tx)


# --- the parser ------------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--node", metavar="URL", default=None, help="the node's API (default: $INCOOP_NODE or http://127.0.0.1:8700)")
    common.add_argument("--ca-file", metavar="FILE", default=None,
                        help="CA certificates (PEM) an https:// node is checked against (default: $INCOOP_CA_FILE, else the system's)")
    common.add_argument("--wallet-dir", metavar="DIR", default=None, help="the key directory (default: $INCOOP_WALLET or ~/.incoop/wallet)")
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    return common


def _password(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--password-file", metavar="FILE", help="read the password from FILE (else $INCOOP_PASSWORD, else a prompt)")


def _waiting(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-wait", action="store_true", help="return once the node accepted the tx, without waiting for a block")
    parser.add_argument("--timeout", type=float, default=DEFAULT_WAIT_S, metavar="S", help="seconds to wait for the commit (default %(default)s)")


def command_group(sub: argparse._SubParsersAction, name: str
                  ) -> tuple[argparse._SubParsersAction, argparse.ArgumentParser]:
    """`incoop NAME`'s list of subcommands (its --help line: node/cli.py COMMANDS) and the options every one
    of them takes (node, wallet folder, --json)."""
    group = sub.add_parser(name)
    commands = group.add_subparsers(dest=f"{name}_command", metavar=f"{name.upper()}_COMMAND")
    commands.required = True
    return commands, _common()


def add_command(commands: argparse._SubParsersAction, common: argparse.ArgumentParser, name: str, help_text: str,
                func: Any, signs: bool = True, waits: bool = True,
                signer_help: str = "the wallet key that signs") -> argparse.ArgumentParser:
    """One subcommand. One that signs names its key (--as) and takes the password options and, unless it
    only writes a signed file, the wait for the block."""
    p = commands.add_parser(name, parents=[common], help=help_text)
    if signs:
        p.add_argument("--as", dest="signer", required=True, metavar="KEY", help=signer_help)
        _password(p)
        if waits:
            _waiting(p)
    p.set_defaults(func=func)
    return p


def register(sub: argparse._SubParsersAction) -> None:
    """Add `wallet` and `tx` to the `incoop` parser."""
    common = _common()

    wallet = sub.add_parser("wallet")  # its --help line: node/cli.py COMMANDS
    wsub = wallet.add_subparsers(dest="wallet_command", metavar="WALLET_COMMAND")
    wsub.required = True

    p = wsub.add_parser("new", parents=[common], help="create a new encrypted key")
    p.add_argument("name")
    _password(p)
    p.set_defaults(func=cmd_new)

    p = wsub.add_parser("list", parents=[common], help="list the keys in the wallet")
    p.set_defaults(func=cmd_list)

    p = wsub.add_parser("address", parents=[common], help="print a key's address")
    p.add_argument("name")
    p.set_defaults(func=cmd_address)

    p = wsub.add_parser("balance", parents=[common], help="balances and next nonce of a key or address")
    p.add_argument("account", metavar="NAME|ADDRESS")
    p.set_defaults(func=cmd_balance)

    p = wsub.add_parser("send", parents=[common], help="transfer credits")
    p.add_argument("--from", dest="sender", required=True, metavar="NAME")
    p.add_argument("--to", required=True, metavar="NAME|ADDRESS", help="a key in this wallet, or an address")
    p.add_argument("--class", dest="class_id", required=True, metavar="ID")
    p.add_argument("--amount", required=True, help="in the class's units, e.g. 12.50")
    p.add_argument("--memo", default="", metavar="TEXT")
    p.add_argument("--nonce", type=int, default=None, help="override the nonce the node reports")
    _password(p)
    _waiting(p)
    p.set_defaults(func=cmd_send)

    p = wsub.add_parser("history", parents=[common], help="transactions of a key or address, newest first")
    p.add_argument("account", metavar="NAME|ADDRESS")
    p.add_argument("--limit", type=int, default=20, help="how many matching transactions (default 20, at most 10000)")
    p.add_argument("--before", metavar=HISTORY_FORMAT, help="continue below this height:index")
    p.add_argument("--class", dest="class_id", metavar="ID", help="only movements of this credit class")
    p.add_argument("--type", metavar="TYPE", help="only this transaction type, e.g. credits.pay")
    p.add_argument("--csv", metavar="FILE", help="export as CSV to FILE ('-' for standard output)")
    p.set_defaults(func=cmd_history)

    from wallet import identity_cli, pay_cli, verify_cli  # they build on this module's helpers

    identity_cli.register_wallet(wsub, common)
    pay_cli.register_wallet(wsub, common)
    verify_cli.register_wallet(wsub, common)

    tx = sub.add_parser("tx")  # its --help line: node/cli.py COMMANDS
    tsub = tx.add_subparsers(dest="tx_command", metavar="TX_COMMAND")
    tsub.required = True

    p = tsub.add_parser("sign", parents=[common], help="sign a transaction offline and write its bytes")
    p.add_argument("form", nargs="?", choices=["transfer"], help="a shortcut form instead of --type/--body")
    p.add_argument("--from", dest="sender", required=True, metavar="NAME")
    p.add_argument("--type", help="transaction type, e.g. credits.transfer")
    p.add_argument("--body", metavar="JSON", help='the body as a JSON array; keys as addresses, bytes as "0x…"')
    p.add_argument("--to", metavar="ADDRESS")
    p.add_argument("--class", dest="class_id", metavar="ID")
    p.add_argument("--amount-minor", type=int, metavar="N", help="amount in minor units (e.g. cents)")
    p.add_argument("--memo", default="", metavar="TEXT")
    p.add_argument("--nonce", type=int, required=True)
    p.add_argument("--expiry", type=int, required=True, metavar="HEIGHT")
    p.add_argument("--chain-id", required=True, metavar="ID")
    p.add_argument("--out", required=True, metavar="FILE")
    _password(p)
    p.set_defaults(func=cmd_tx_sign)

    p = tsub.add_parser("submit", parents=[common], help="submit a signed transaction file")
    p.add_argument("file")
    _waiting(p)
    p.set_defaults(func=cmd_tx_submit)
