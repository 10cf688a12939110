"""`incoop credits …`: an issuer's commands for credit classes (FORMAT.md §6.3).

create-class, issue, issue-batch (a payroll's CSV, with progress), accredit,
redeem (a provider), reclaim (after expiry), freeze/unfreeze, delegate/
undelegate, and report (the class's statement as a table, CSV or JSON).
Every signing command takes `--as KEY`, the wallet key that signs; every
failure is one line, never a traceback, and a script gets a non-zero exit.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from cli.common import CliError, emit, format_amount, parse_amount
from ledger import credit_rules, fields
from ledger.credit_txs import MAX_RECLAIM
from ledger.credits import CLASS_ID, MAX_DECIMALS, MAX_MEMO, MAX_NAME
from ledger.errors import TxError
from wallet.cli import (
    EXPIRY_WINDOW,
    _account_of,
    _Classes,
    _client,
    _guard,
    _key_info,
    _next_nonce,
    _unlock,
    add_command,
    command_group,
)
from wallet.client import NodeClient, NodeError
from wallet.identity_cli import _commit
from wallet.txbuild import BuildError, build_and_sign, parse_address

BATCH_CHUNK = 128
"""Issues per /v1/txs/batch request. Two chunks in flight stay within the default nonce gap (256)."""
HOLDERS_PAGE = 1000
BATCH_RETRIES = 6
TRANSIENT = ("MEMPOOL_FULL", "NONCE_TOO_FAR")
"""Refusals a busy node gives for now: the refused transactions of a chunk are submitted again."""


# --- small parsers -----------------------------------------------------------------------


def _time_ms(text: str, option: str, *, through_the_day: bool = False) -> int:
    """Block time in ms: a plain integer is ms since the epoch; else an ISO date or date-time (UTC if naive).

    A date alone names a whole day: with `through_the_day` (an end, exclusive) it is the start
    of the next day, so that `--valid-until 2027-12-31` still pays on the 31st.
    """
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"{option} must be an ISO date (2026-12-31, 2026-12-31T18:00:00+01:00) or ms, not {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if through_the_day and len(text) == len("2026-12-31"):
        moment += timedelta(days=1)
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


def _show_time(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _checked(call, *args):  # a ledger field rule, as the CLI's one-line error
    try:
        return call(*args)
    except TxError as exc:
        raise CliError(exc.message) from None


def _class_id(text: str) -> str:
    if not CLASS_ID.fullmatch(text):
        raise CliError(f"{text!r} is not a class id (lower-case letters, digits and '-', at most 32)")
    return text


def _signer(args: argparse.Namespace):
    _key_info(args, args.signer)  # a missing key is named before the password is asked for
    key, _ = _unlock(args, args.signer)
    return key


def _tx(args: argparse.Namespace, type_: str, body: tuple, text: str) -> int:
    client = _client(args)
    record = _commit(args, client, _signer(args), type_, body)
    where = f" at height {record['height']}" if record.get("height") else ""
    emit(args.json, record, f"{text}: {record['status']} {record['hash']}{where}")
    return 0


# --- create-class --------------------------------------------------------------------------


@_guard
def cmd_create_class(args: argparse.Namespace) -> int:
    class_id = _class_id(args.class_id)
    if not 0 <= args.decimals <= MAX_DECIMALS:
        raise CliError(f"--decimals must be from 0 to {MAX_DECIMALS}")
    name = _checked(fields.text, args.name or class_id, "--name", MAX_NAME)
    eligibility = tuple(sorted(set(args.eligible)))
    for attribute in eligibility:
        if not credit_rules.ATTRIBUTE.fullmatch(attribute) or len(attribute) > credit_rules.MAX_ATTRIBUTE:
            raise CliError(f"--eligible {attribute!r} is not an attribute (kind:value, e.g. employee:acme)")
    categories = tuple(sorted(set(args.category)))
    for category in categories:
        if not credit_rules.CATEGORY.fullmatch(category):
            raise CliError(f"--category {category!r} must be lower-case letters, digits and '-', at most 32")
    valid_from = _time_ms(args.valid_from, "--valid-from") if args.valid_from else 0
    valid_until = _time_ms(args.valid_until, "--valid-until", through_the_day=True) if args.valid_until else 0
    if valid_from and valid_until and valid_until <= valid_from:
        raise CliError("--valid-until must be after --valid-from")
    holder_cap = parse_amount(args.holder_cap, args.decimals) if args.holder_cap else 0
    budget = parse_amount(args.budget, args.decimals) if args.budget else 0
    description_hash = None
    if args.description_hash:
        try:
            description_hash = bytes.fromhex(args.description_hash)
        except ValueError:
            description_hash = b""
        if len(description_hash) != 32:
            raise CliError("--description-hash must be 64 hex characters (a SHA-256)")
    face_value = parse_amount(args.face_value, args.decimals) if args.face_value else 0
    voucher_cap = parse_amount(args.voucher_cap, args.decimals) if args.voucher_cap else 0
    if voucher_cap and not face_value:
        raise CliError("--voucher-cap needs --face-value (it caps a payment of several vouchers)")
    if voucher_cap and voucher_cap < face_value:
        raise CliError("--voucher-cap must be at least --face-value")
    transferability = credit_rules.SPEND_ONLY if args.spend_only else credit_rules.P2P
    body = (class_id, name, args.decimals, args.kind, eligibility, transferability, categories,
            valid_from, valid_until, holder_cap, budget, description_hash, face_value, voucher_cap)
    return _tx(args, "credits.create_class", body, f"class {class_id} created")


# --- issue, issue-batch -----------------------------------------------------------------------


@_guard
def cmd_issue(args: argparse.Namespace) -> int:
    class_id = _class_id(args.class_id)
    client = _client(args)
    decimals = int(_Classes(client).require(class_id)["decimals"])
    to = parse_address(_account_of(args, args.to), "holder address")
    amount = parse_amount(args.amount, decimals)
    reason = _checked(fields.text, args.reason, "--reason", MAX_MEMO)
    return _tx(args, "credits.issue", (class_id, to, amount, reason),
               f"issued {format_amount(amount, decimals)} {class_id}")


class _Row(NamedTuple):
    line: int
    address: str
    amount: int
    reason: str


def _read_rows(path: str, decimals: int) -> list[_Row]:
    """Every row checked before anything is signed: the first bad one refuses the whole file."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text") from None
    rows: list[_Row] = []
    reader = csv.reader(io.StringIO(text))
    try:
        for record in reader:
            line = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            cells = [cell.strip() for cell in record]
            if not rows and line == 1 and cells[0].lower() == "address":
                continue  # a header row
            if len(cells) not in (2, 3):
                raise CliError(f"{path} line {line}: expected address,amount,reason, got {len(cells)} columns")
            address, amount, reason = cells[0], cells[1], cells[2] if len(cells) == 3 else ""
            try:
                parse_address(address, "address")
                value = parse_amount(amount, decimals)
                fields.text(reason, "reason", MAX_MEMO)
            except CliError as exc:
                raise CliError(f"{path} line {line}: {exc}") from None
            except TxError as exc:
                raise CliError(f"{path} line {line}: {exc.message}") from None
            except BuildError as exc:  # a mistyped address
                raise CliError(f"{path} line {line}: {exc}") from None
            rows.append(_Row(line, address, value, reason))
    except csv.Error as exc:
        raise CliError(f"{path} line {reader.line_num}: not CSV: {exc}") from None
    if not rows:
        raise CliError(f"{path} has no rows (columns: address,amount,reason)")
    return rows


def _final(client: NodeClient, tx_hash: str, timeout: float) -> dict:
    return client.wait_for_tx(tx_hash, timeout=timeout)


def _failure(row: _Row, code: str, message: str) -> dict:
    return {"line": row.line, "address": row.address, "amount": row.amount, "code": code, "message": message}


def _submit_chunk(args: argparse.Namespace, client: NodeClient, txs: list, waited: str | None) -> tuple[dict, dict]:
    """Submit one chunk, retrying what a busy node refused for now (a full mempool, too many
    pending): returns {index: hash} admitted and {index: error} still refused."""
    admitted: dict[int, str] = {}
    todo = list(range(len(txs)))
    refused: dict[int, dict] = {}
    for attempt in range(BATCH_RETRIES + 1):
        results = client.submit_batch([txs[i].raw for i in todo])
        refused = {}
        for i, result in zip(todo, results, strict=False):
            if "error" in result:
                refused[i] = result["error"]
            else:
                admitted[i] = txs[i].hash.hex()
        if not refused or attempt == BATCH_RETRIES or any(e.get("code") not in TRANSIENT for e in refused.values()):
            break
        # room comes as blocks commit: wait for the earlier chunk, else for our own admitted ones
        pending = [admitted[i] for i in sorted(admitted)]
        if waited is not None:
            _final(client, waited, args.timeout)
            waited = None
        elif pending:
            _final(client, pending[-1], args.timeout)
        time.sleep(min(0.2 * 2**attempt, 2.0))
        todo = sorted(refused)
    return admitted, refused


@_guard
def cmd_issue_batch(args: argparse.Namespace) -> int:
    class_id = _class_id(args.class_id)
    client = _client(args)
    decimals = int(_Classes(client).require(class_id)["decimals"])
    rows = _read_rows(args.file, decimals)
    chunk = max(1, min(args.chunk, BATCH_CHUNK))
    info = _key_info(args, args.signer)
    key = _signer(args)
    status = client.status()
    expiry = int(status["height"]) + EXPIRY_WINDOW
    nonce = _next_nonce(client, info.address)
    hashes: dict[int, str] = {}  # row index -> hash of its admitted transaction
    failed: list[dict] = []
    chunk_last: list[str] = []
    gap = None  # the row index of the first nonce the node refused for good
    for start in range(0, len(rows), chunk):
        if len(chunk_last) >= 2:  # keep at most two chunks pending: the mempool's nonce gap
            _final(client, chunk_last[-2], args.timeout)
        part = rows[start:start + chunk]
        txs = [build_and_sign(key, status["chain_id"], "credits.issue", nonce + start + i, expiry,
                              (class_id, parse_address(row.address), row.amount, row.reason))
               for i, row in enumerate(part)]
        admitted, refused = _submit_chunk(args, client, txs, chunk_last[-1] if chunk_last else None)
        hashes.update({start + i: h for i, h in admitted.items()})
        for i, error in sorted(refused.items()):
            failed.append(_failure(part[i], error.get("code", "?"), error.get("message", "")))
        print(f"issued {len(hashes)}/{len(rows)}", file=sys.stderr, flush=True)
        if refused:
            gap = start + min(refused)
            break
        chunk_last.append(txs[-1].hash.hex())
    stuck = set()
    if gap is not None:
        # admitted after a refused nonce, they wait for it: they commit if the key's next
        # transaction takes that nonce, so they are reported, never silently counted as failed
        stuck = {i for i in hashes if i > gap}
        for i in sorted(stuck):
            failed.append(_failure(rows[i], "PENDING_BEHIND_GAP",
                                   f"pending behind the refused nonce {nonce + gap}: it commits if that nonce is "
                                   "used again; check before issuing it anew"))
        failed += [_failure(row, "NOT_SUBMITTED", "not submitted after an earlier refusal")
                   for row in rows[start + len(part):]]
    if args.no_wait:
        emit(args.json, {"class": class_id, "rows": len(rows), "submitted": len(hashes), "failed": len(failed),
                         "failures": failed, "hashes": [hashes[i] for i in sorted(hashes)]},
             f"submitted {len(hashes)} of {len(rows)} issues of {class_id} (pending)")
        if failed:
            raise CliError(f"{len(failed)} of {len(rows)} issues were not admitted")
        return 0
    settled = sorted(i for i in hashes if i not in stuck)
    if settled:  # one account's transactions commit in nonce order: once the last is final, all are
        _final(client, hashes[settled[-1]], args.timeout)
    ok = issued = 0
    for i in settled:
        record = _final(client, hashes[i], args.timeout)
        result = record.get("result") or record.get("error") or {}
        if record["status"] == "committed" and result.get("code") == "OK":
            ok += 1
            issued += rows[i].amount
        else:
            failed.append(_failure(rows[i], result.get("code", "?"), result.get("message", "")))
    failed.sort(key=lambda f: f["line"])
    summary = {"class": class_id, "rows": len(rows), "ok": ok, "failed": len(failed), "failures": failed,
               "submitted": len(hashes), "issued": issued}
    lines = [f"{ok} of {len(rows)} issues of {class_id} OK ({format_amount(issued, decimals)} issued), "
             f"{len(failed)} failed"]
    lines += [f"  line {f['line']}: {f['address']} {format_amount(f['amount'], decimals)}: {f['code']}: {f['message']}"
              for f in failed]
    emit(args.json, summary, "\n".join(lines))
    if failed:
        raise CliError(f"{len(failed)} of {len(rows)} issues failed")
    return 0


# --- accredit, redeem, reclaim, freeze, delegate --------------------------------------------------


@_guard
def cmd_accredit(args: argparse.Namespace) -> int:
    provider = parse_address(_account_of(args, args.provider), "provider address")
    categories = tuple(sorted(set(args.category)))
    if not categories:
        raise CliError("give at least one --category")
    for category in categories:
        if not credit_rules.CATEGORY.fullmatch(category):
            raise CliError(f"--category {category!r} must be lower-case letters, digits and '-', at most 32")
    type_ = "credits.revoke_accreditation" if args.revoke else "credits.accredit"
    verb = "accreditation revoked" if args.revoke else "accredited"
    return _tx(args, type_, (provider, categories), f"{args.provider} {verb} for {', '.join(categories)}")


@_guard
def cmd_redeem(args: argparse.Namespace) -> int:
    class_id = _class_id(args.class_id)
    decimals = int(_Classes(_client(args)).require(class_id)["decimals"])
    amount = parse_amount(args.amount, decimals)
    reference = _checked(fields.text, args.settlement_ref, "--settlement-ref", MAX_MEMO)
    return _tx(args, "credits.redeem", (class_id, amount, reference),
               f"redeemed {format_amount(amount, decimals)} {class_id}")


def _holders(client: NodeClient, class_id: str) -> list[dict]:
    holders: list[dict] = []
    after = None
    while True:
        page = client.class_holders(class_id, limit=HOLDERS_PAGE, after=after)
        holders += page["holders"]
        after = page.get("next")
        if not after:
            return holders


@_guard
def cmd_reclaim(args: argparse.Namespace) -> int:
    class_id = _class_id(args.class_id)
    client = _client(args)
    credit_class = _Classes(client).require(class_id)
    decimals = int(credit_class["decimals"])
    if not credit_class.get("expired"):
        until = credit_class.get("valid_until_ms")
        raise CliError(f"{class_id} has not expired ({'it never does' if not until else 'valid until ' + _show_time(until)}); "
                       "reclaim comes after expiry")
    holders = [h for h in _holders(client, class_id) if args.include_providers or not h.get("provider")]
    if not holders:
        emit(args.json, {"class": class_id, "holders": 0, "reclaimed": 0, "txs": []}, f"nothing to reclaim in {class_id}")
        return 0
    key = _signer(args)
    chunk = max(1, min(args.chunk, MAX_RECLAIM))
    records = []
    for start in range(0, len(holders), chunk):
        part = holders[start:start + chunk]
        body = (class_id, tuple(sorted(parse_address(h["address"]) for h in part)))
        records.append(_commit(args, client, key, "credits.reclaim", body))
        print(f"reclaimed {start + len(part)}/{len(holders)} holders", file=sys.stderr, flush=True)
    total = sum(int(h["amount"]) for h in holders)  # as listed; a committed sweep reads the books instead
    if not getattr(args, "no_wait", False):
        total = int(client.credit_class(class_id)["reclaimed"]) - int(credit_class["reclaimed"])
    emit(args.json, {"class": class_id, "holders": len(holders), "reclaimed": total,
                     "txs": [r["hash"] for r in records]},
         f"reclaimed {format_amount(total, decimals)} {class_id} from {len(holders)} holders in {len(records)} transactions")
    return 0


@_guard
def cmd_freeze(args: argparse.Namespace) -> int:
    class_id = _class_id(args.class_id)
    holder = parse_address(_account_of(args, args.holder), "holder address")
    done = {"freeze": "frozen", "unfreeze": "unfrozen"}[args.credits_command]
    return _tx(args, f"credits.{args.credits_command}", (class_id, holder), f"{args.holder} {done} in {class_id}")


@_guard
def cmd_delegate(args: argparse.Namespace) -> int:
    scope = _class_id(args.class_id) if args.class_id else credit_rules.ANY_CLASS
    operator = parse_address(_account_of(args, args.operator), "operator address")
    shown = "all your classes" if scope == credit_rules.ANY_CLASS else scope
    done = {"delegate": "may issue", "undelegate": "may no longer issue"}[args.credits_command]
    return _tx(args, f"credits.{args.credits_command}", (scope, operator), f"{args.operator} {done} for {shown}")


# --- report ----------------------------------------------------------------------------------------


def _statement_data(statement: dict) -> dict:
    credit_class = statement["class"]
    return {
        **statement,
        "issued": credit_class["issued"],
        "redeemed": credit_class["redeemed"],
        # what is in escrow (open orders, purchase-group commitments) is issued and not held by anyone yet
        "balanced": credit_class["issued"] == statement["held"] + statement.get("escrowed", 0) + credit_class["redeemed"]
        + statement["reclaimed"],
    }


@_guard
def cmd_report(args: argparse.Namespace) -> int:
    class_id = _class_id(args.class_id)
    client = _client(args)
    try:
        statement = client.class_statement(class_id)
    except NodeError as exc:
        if exc.code == "NOT_FOUND":
            raise CliError(f"no credit class {class_id!r} on the node at {client.base_url}") from None
        raise
    data = _statement_data(statement)
    credit_class = statement["class"]
    decimals = int(credit_class["decimals"])

    def units(value: int) -> str:
        return format_amount(int(value), decimals)

    rows = [("total", "issued", data["issued"]), ("total", "held", statement["held"]),
            ("total", "escrowed", statement.get("escrowed", 0)), ("total", "redeemed", data["redeemed"]),
            ("total", "reclaimed", statement["reclaimed"])]
    rows += [("spent", s["category"], s["amount"]) for s in statement["spent"]]
    rows += [("redeemed_by", r["provider"], r["amount"]) for r in statement["redeemed_by"]]
    if args.json:
        emit(True, data)
    elif args.csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["section", "name", "amount", "amount_minor"])
        writer.writerows([(section, name, units(amount), amount) for section, name, amount in rows])
        sys.stdout.write(out.getvalue())
    else:
        state = "expired" if credit_class["expired"] else "valid"
        lines = [
            f"{class_id}  {credit_class['name']}  ({credit_class['kind']}, {credit_class['transferability']})",
            f"issuer     {credit_class['issuer']}",
            f"validity   from {_show_time(credit_class['valid_from_ms']) if credit_class['valid_from_ms'] else 'the start'}"
            f" until {_show_time(credit_class['valid_until_ms']) if credit_class['valid_until_ms'] else 'never'} ({state})",
            f"pays for   {', '.join(credit_class['categories']) or 'any category'}",
        ]
        width = max(len(name) for _, name, _ in rows) + 2
        section = None
        for kind, name, amount in rows:
            if kind != section and kind != "total":
                lines.append("spent per category" if kind == "spent" else "redeemed per provider")
            section = kind
            indent = "" if kind == "total" else "  "
            lines.append(f"{indent}{name:<{width - len(indent)}}  {units(amount):>16}")
        if not data["balanced"]:
            lines.append("WARNING: the books do not balance (issued != held + escrowed + redeemed + reclaimed)")
        print("\n".join(lines))
    return 0


# --- the parser ------------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    """Add `credits` to the `incoop` parser."""
    command = functools.partial(add_command, *command_group(sub, "credits"))

    p = command("create-class", "create a credit class with its rules (an authorised issuer)", cmd_create_class)
    p.add_argument("class_id", metavar="CLASS")
    p.add_argument("--name", help="a human name (default: the class id)")
    p.add_argument("--kind", choices=credit_rules.KINDS, default="community")
    p.add_argument("--eligible", action="append", default=[], metavar="ATTR",
                   help="an attribute every holder must have, e.g. employee:acme (repeatable)")
    p.add_argument("--spend-only", action="store_true", help="holders may only pay accredited providers (default: p2p)")
    p.add_argument("--category", action="append", default=[], metavar="C",
                   help="a category it pays for (repeatable; none: any category)")
    p.add_argument("--valid-from", metavar="DATE|MS", help="block time it starts (ISO date, from 00:00 UTC; date-time; or ms)")
    p.add_argument("--valid-until", metavar="DATE|MS", help="block time it expires (ISO date: valid through that day, UTC; date-time; or ms)")
    p.add_argument("--holder-cap", metavar="AMOUNT", help="most ever issued to one holder, in units")
    p.add_argument("--budget", metavar="AMOUNT", help="most ever issued in the class, in units")
    p.add_argument("--decimals", type=int, default=2)
    p.add_argument("--description-hash", metavar="HEX", help="SHA-256 of a description document")
    p.add_argument("--face-value", metavar="AMOUNT",
                   help="a voucher class: each payment is one voucher of this value, in units (FORMAT.md §6.3)")
    p.add_argument("--voucher-cap", metavar="AMOUNT",
                   help="with --face-value: a payment may use several vouchers up to this total, e.g. 258.23")

    p = command("issue", "issue credits to an eligible holder (the issuer or an operator)", cmd_issue)
    p.add_argument("--class", dest="class_id", required=True, metavar="ID")
    p.add_argument("--to", required=True, metavar="KEY|ADDRESS")
    p.add_argument("--amount", required=True, help="in the class's units, e.g. 12.50")
    p.add_argument("--reason", default="", help="the reason code, e.g. welfare plan 2026")

    p = command("issue-batch", "issue from a CSV of address,amount,reason (e.g. a payroll)", cmd_issue_batch)
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--class", dest="class_id", required=True, metavar="ID")
    p.add_argument("--chunk", type=int, default=BATCH_CHUNK, help=f"transactions per request (at most {BATCH_CHUNK})")

    p = command("accredit", "accredit a provider for categories (or --revoke)", cmd_accredit)
    p.add_argument("provider", metavar="PROVIDER")
    p.add_argument("--category", action="append", default=[], metavar="C", required=True)
    p.add_argument("--revoke", action="store_true", help="revoke these categories instead")

    p = command("redeem", "a provider returns credits to the issuer, settled in euro off chain", cmd_redeem)
    p.add_argument("--class", dest="class_id", required=True, metavar="ID")
    p.add_argument("--amount", required=True, help="in the class's units")
    p.add_argument("--settlement-ref", required=True, metavar="REF", help="the off-chain settlement reference")

    p = command("reclaim", "after expiry, take back the balances of a class's holders", cmd_reclaim)
    p.add_argument("class_id", metavar="CLASS")
    p.add_argument("--include-providers", action="store_true",
                   help="reclaim accredited providers' balances too (default: they keep them to redeem)")
    p.add_argument("--chunk", type=int, default=MAX_RECLAIM, help=f"holders per transaction (at most {MAX_RECLAIM})")

    for name, text in (("freeze", "freeze one holder of a class (fraud)"), ("unfreeze", "unfreeze a holder")):
        p = command(name, text, cmd_freeze)
        p.add_argument("class_id", metavar="CLASS")
        p.add_argument("holder", metavar="HOLDER")

    for name, text in (("delegate", "let an operator account issue for you"), ("undelegate", "withdraw a delegation")):
        p = command(name, text, cmd_delegate)
        p.add_argument("operator", metavar="OPERATOR")
        p.add_argument("--class", dest="class_id", metavar="ID", help="one class (default: all your classes)")

    p = command("report", "a class's statement: issued, held, spent per category, redeemed per provider",
                cmd_report, signs=False)
    p.add_argument("class_id", metavar="CLASS")
    p.add_argument("--csv", action="store_true", help="CSV: section,name,amount,amount_minor")
