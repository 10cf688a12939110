"""`incoop audit verify`: verify a chain from genesis, trusting only the genesis file.

    incoop audit verify --genesis genesis.json --node http://host:8700     any node's API, trusted for nothing
    incoop audit verify --genesis genesis.json --data /var/lib/incoop      a node's HOME or data/, read-only

Progress goes to stderr about once a second; the summary (or, with --json, one
JSON object, whatever the outcome) to stdout. Exit status: 0 the chain
verifies; 1 it does not (the one error line names the block, the transaction
or signer, and the rule); 2 the command could not run (usage, an unreadable
genesis, an unreachable node or data directory, a damaged data directory, a
verification worker process that died: docs/audit.md says why damage is not
a verdict on the chain). Ctrl-C stops it with one line and status 130.
"""

from __future__ import annotations

import argparse
import sys
import time

from cli.common import CliError, default_ca_file, emit
from genesis.document import GenesisError, load_genesis
from genesis.rules import RULES
from ledger.store import StoreError
from node.audit.pipeline import INLINE_BELOW_BLOCKS
from node.audit.source import SourceDamaged, SourceError, open_source
from node.audit.verify import (
    AuditFailure,
    AuditReport,
    Progress,
    WorkerError,
    default_workers,
    verify_chain,
)
from node.runtime import tune_gc

EXIT_FAILED = 1
EXIT_CANNOT_RUN = 2
PROGRESS_INTERVAL_S = 1.0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "verify",
        help="verify every block, signature, certificate and balance from genesis",
        description=__doc__.split("\n\n")[0],
        epilog="exit status: 0 verified, 1 the chain breaks a rule, 2 the audit could not run (see docs/audit.md)",
    )
    parser.add_argument("--genesis", required=True, metavar="FILE", help="the genesis file you trust")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--node", metavar="URL", help="read blocks from this node's API (any node, untrusted)")
    where.add_argument("--data", metavar="DIR", help="read a node's HOME or data directory (read-only; may be running)")
    parser.add_argument("--ca-file", metavar="FILE", default=None,
                        help="CA certificates (PEM) an https:// --node is checked against (default: $INCOOP_CA_FILE)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help=f"verification worker processes, beside the replaying one (default: one per core, "
                             f"{default_workers()} here; none for a chain under {INLINE_BELOW_BLOCKS} blocks)")
    parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(func=cmd_verify)


class _ProgressLine:
    """'audit: block 1200/5000, 84,000 txs, 13,200 tx/s, ETA 12 s', at most once per interval."""

    def __init__(self, interval: float = PROGRESS_INTERVAL_S):
        self.interval = interval
        self.next_at = time.monotonic() + interval

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if now < self.next_at and p.height < p.target:
            return
        self.next_at = now + self.interval
        rate = p.txs / p.seconds if p.seconds > 0 else 0.0
        blocks_per_s = p.height / p.seconds if p.seconds > 0 else 0.0
        eta = (p.target - p.height) / blocks_per_s if blocks_per_s > 0 else 0.0
        print(f"audit: block {p.height:,}/{p.target:,}, {p.txs:,} txs, {rate:,.0f} tx/s, ETA {eta:,.0f} s",
              file=sys.stderr, flush=True)


def _summary(report: AuditReport) -> str:
    lines = [
        f"verified {report.blocks:,} blocks and {report.txs:,} transactions from genesis {report.genesis_hash}",
        f"  source:      {report.source}",
        f"  head:        height {report.height}, block {report.head_hash}",
        f"  state root:  {report.state_root}",
        f"  invariants:  {report.classes} credit classes balance, {report.identities} identities with unique tags "
        f"and keys, {report.evidence} evidence records"
        + ("" if "market" not in report.invariants else
           f", {report.invariants['market']:,} listings, orders and reviews agree with their escrow and ratings")
        + ("" if "agora" not in report.invariants else
           f", {report.invariants['agora']:,} posts and ballots agree with their supports and the recount of their votes")
        + ("" if "federation" not in report.invariants else
           f", {report.invariants['federation']:,} federation records (the validator set, peers, proposals) hold"),
        f"  stored state {'equals the replay' if report.stored_state_compared else 'not compared (API source)'}",
        f"  speed:       {report.seconds:,.1f} s, {report.tx_per_s:,.0f} tx/s with {report.threads} verification processes",
    ]
    return "\n".join(lines)


def cannot_run(as_json: bool, message: str, damaged: bool = False) -> CliError:
    """Exit status 2, one line; with --json also `{"ok": false, "could_not_run": true, "damaged", "message"}`."""
    if as_json:
        emit(True, {"ok": False, "could_not_run": True, "damaged": damaged, "message": message})
    return CliError(message, EXIT_CANNOT_RUN)


def cmd_verify(args: argparse.Namespace) -> int:
    if args.workers is not None and args.workers < 1:
        raise cannot_run(args.json, "--workers must be at least 1")
    try:
        genesis = load_genesis(args.genesis, RULES)
    except GenesisError as exc:
        raise cannot_run(args.json, str(exc)) from None
    try:
        source = open_source(args.node, args.data, args.ca_file or default_ca_file())
    except SourceError as exc:
        raise cannot_run(args.json, str(exc), isinstance(exc, SourceDamaged)) from None
    tune_gc()
    try:
        report = verify_chain(RULES, genesis, source, workers=args.workers,
                              progress=None if args.quiet else _ProgressLine())
    except AuditFailure as failure:
        if args.json:
            emit(True, {"ok": False, **failure.as_dict()})
        raise CliError(str(failure), EXIT_FAILED) from None
    except SourceDamaged as exc:
        raise cannot_run(args.json, str(exc), damaged=True) from None
    except SourceError as exc:
        raise cannot_run(args.json, f"cannot read {source.description}: {exc}") from None
    except WorkerError as exc:
        raise cannot_run(args.json, str(exc)) from None
    except StoreError as exc:  # the audit's own scratch store (a full temporary disk)
        raise cannot_run(args.json, f"the audit's scratch store failed: {exc}") from None
    finally:
        source.close()
    emit(args.json, {"ok": True, **report.as_dict()}, _summary(report))
    return 0
