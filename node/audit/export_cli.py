"""`incoop audit export`: a CSV statement of credit movements, for an auditor or an issuer's accounts.

The rows come from `node.audit.export` (a replay of the chain from genesis,
checked block by block); this module only turns options into a selection,
writes the CSV (to a file only once it is complete, so a failed export never
leaves a statement that looks whole) and reports progress and a summary.

Exit status, as `incoop audit verify`'s: 0 written; 1 the chain fails a check
on the way; 2 the export could not run (an unreadable genesis, an unreachable
node, a damaged data directory, a verification worker process that died).
With --json a failure is one JSON object too.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import TextIO

from cli.common import CliError, default_ca_file, emit
from genesis.document import GenesisError, load_genesis
from genesis.rules import RULES
from ledger.address import AddressError, from_address
from ledger.credits import CLASS_ID
from ledger.store import StoreError
from node.audit.export import (
    COLUMNS,
    DAY_MS,
    ExportError,
    Progress,
    Selection,
    Totals,
    day_start_ms,
    export_movements,
)
from node.audit.pipeline import INLINE_BELOW_BLOCKS, WorkerError, default_workers
from node.audit.source import SourceDamaged, SourceError, open_source
from node.audit.verify_cli import cannot_run

PROGRESS_INTERVAL_S = 1.0

_DESCRIPTION = """\
Write every credit movement of a class, of the classes of an issuer, or from
and to an account, as CSV: one row per movement, columns height, time (block
time, ISO 8601 UTC), tx_hash, type, from, to, class, amount, amount_minor,
reference. The amount is in the class's units (12.50), amount_minor the same
as an integer of base units (1250 in a class of 2 decimals). `from` is empty for issued credits, `to` for redeemed
and reclaimed ones. The reference is an issue's reason, a transfer's memo, a
payment's "category: order ref", a redemption's settlement ref. The chain is replayed from genesis and every block,
certificate and state root checked, so each amount is exactly what the chain
moved (a reclaim's too). Several filters narrow the selection together.
"""


def register(audit_sub: argparse._SubParsersAction) -> None:
    p = audit_sub.add_parser("export", help="write credit movements as CSV (a statement)", description=_DESCRIPTION)
    p.add_argument("--genesis", required=True, metavar="FILE", help="the chain's genesis document")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--node", metavar="URL", help="read blocks from any node's API (trusted for nothing)")
    source.add_argument("--data", metavar="DIR", help="read a node's data directory or home (never written)")
    p.add_argument("--ca-file", metavar="FILE", default=None,
                        help="CA certificates (PEM) an https:// --node is checked against (default: $INCOOP_CA_FILE)")
    p.add_argument("--class", dest="class_id", metavar="ID", help="movements of this class")
    p.add_argument("--issuer", metavar="ADDRESS", help="movements of the classes this issuer created")
    p.add_argument("--account", metavar="ADDRESS", help="movements from or to this account")
    p.add_argument("--from-height", type=int, default=1, metavar="H", help="first block height (default 1)")
    p.add_argument("--to-height", type=int, default=None, metavar="H", help="last block height (default: the head)")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="first UTC day of block time")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="last UTC day of block time (inclusive)")
    p.add_argument("--out", metavar="FILE.csv", help="write the CSV here (default: standard output)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help=f"verification worker processes, beside the replaying one (default: one per core, "
                        f"{default_workers()} here; none for a chain under {INLINE_BELOW_BLOCKS} blocks)")
    p.add_argument("--json", action="store_true", help="print a summary (rows, per class totals) as JSON; needs --out")
    p.set_defaults(func=cmd_export)


def _account(text: str, option: str) -> bytes:
    try:
        return from_address(text)
    except AddressError as exc:
        raise CliError(f"{option}: {exc}") from None


def _day(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    try:
        return day_start_ms(text)
    except ValueError:
        raise CliError(f"{option} must be a day as YYYY-MM-DD, not {text!r}") from None


def selection_from(args: argparse.Namespace) -> Selection:
    """The options as a Selection; a usage mistake is a CliError."""
    if args.class_id is None and args.issuer is None and args.account is None:
        raise CliError("give what to export: --class ID, --issuer ADDRESS or --account ADDRESS")
    if args.class_id is not None and not CLASS_ID.fullmatch(args.class_id):
        raise CliError(f"--class {args.class_id!r} is not a class id (lower case letters, digits and -, up to 32)")
    if args.from_height < 1:
        raise CliError("--from-height is at least 1 (genesis moves nothing)")
    if args.to_height is not None and args.to_height < args.from_height:
        raise CliError("--to-height is below --from-height")
    since = _day(args.since, "--since")
    until = _day(args.until, "--until")
    if since is not None and until is not None and until < since:
        raise CliError("--until is before --since")
    return Selection(
        class_id=args.class_id,
        issuer=None if args.issuer is None else _account(args.issuer, "--issuer"),
        account=None if args.account is None else _account(args.account, "--account"),
        from_height=args.from_height,
        to_height=args.to_height,
        since_ms=since,
        until_ms=None if until is None else until + DAY_MS,
    )


def progress_printer(stream: TextIO, interval: float = PROGRESS_INTERVAL_S) -> Callable[[Progress], None]:
    """`replayed H/STOP blocks` at most once per interval, so a short export prints nothing."""
    last = time.monotonic()

    def report(progress: Progress) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= interval:
            last = now
            print(f"replayed {progress.height}/{progress.stop} blocks", file=stream, flush=True)

    return report


def _write(rows_out: TextIO, args: argparse.Namespace, selection: Selection, totals: Totals) -> int:
    """Write the CSV; returns the last height replayed."""
    try:
        genesis = load_genesis(args.genesis, RULES)
        source = open_source(args.node, args.data, args.ca_file or default_ca_file())
    except (GenesisError, SourceError) as exc:
        raise cannot_run(args.json, str(exc), isinstance(exc, SourceDamaged)) from None
    replayed = 0
    show = progress_printer(sys.stderr)

    def progress(p: Progress) -> None:
        nonlocal replayed
        replayed = p.height
        show(p)

    try:
        writer = csv.DictWriter(rows_out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        with closing(export_movements(RULES, source, genesis, selection, progress, args.workers)) as movements:
            for movement in movements:
                writer.writerow(movement.row())
                totals.add(movement)
    except ExportError as exc:
        if args.json:
            emit(True, {"ok": False, "could_not_run": False, "message": str(exc)})
        raise CliError(str(exc)) from None
    except SourceError as exc:
        raise cannot_run(args.json, str(exc), isinstance(exc, SourceDamaged)) from None
    except WorkerError as exc:
        raise cannot_run(args.json, str(exc)) from None
    except StoreError as exc:  # the export's own scratch store (a full temporary disk)
        raise cannot_run(args.json, f"the export's scratch store failed: {exc}") from None
    finally:
        source.close()
    return replayed


def cmd_export(args: argparse.Namespace) -> int:
    selection = selection_from(args)
    if args.workers is not None and args.workers < 1:
        raise CliError("--workers must be at least 1")
    if args.json and args.out is None:
        raise CliError("--json prints the summary on standard output: give --out FILE.csv for the rows")
    totals = Totals(selection.account)
    if args.out is None:
        try:
            _write(sys.stdout, args, selection, totals)
            sys.stdout.flush()
        except BrokenPipeError:  # the reader stopped early (`| head`): not an error of the export
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush cannot fail again
        return 0
    out = Path(args.out)
    partial = out.with_name(out.name + ".partial")
    try:
        with open(partial, "w", encoding="utf-8", newline="") as rows_out:
            replayed = _write(rows_out, args, selection, totals)
        os.replace(partial, out)
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    summary = {"ok": True, **totals.as_json(), "out": str(out), "replayed_to_height": replayed}
    emit(args.json, summary, f"{totals.rows} movements written to {out} (chain replayed to height {replayed})")
    return 0
