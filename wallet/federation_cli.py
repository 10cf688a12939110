"""`incoop governance …`: the federation's own rules from the command line (FORMAT.md §6.8).

A validator proposes a change — a validator added (with its peer address),
removed or replaced, a role authorised or revoked, a chain parameter set —
for an effective height at least three blocks ahead; the other validators
approve it; once more than two thirds of the current set have approved, the
ledger applies it at the end of the block before the effective height, so
that the effective block is the first the new set certifies. What was
proposed and where it stands: `incoop governance proposals`, `validators`.

Every signing command takes `--as KEY`, checks first that the key is a
validator (the ledger would refuse with NOT_VALIDATOR and the nonce would
be spent), waits for the block and prints the result or fails in one line
with the ledger's code. A new proposal's id is drawn at random and printed
(`--id` gives one, to retry safely).
"""

from __future__ import annotations

import argparse

from cli.common import CliError, emit
from governance import federation as rules
from governance import federation_records as rec
from ledger.address import to_address
from ledger.errors import TxError
from wallet.cli import (
    _account_of,
    _client,
    _guard,
    add_command,
    command_group,
)
from wallet.market_args import new_id, parse_id, signer, submit
from wallet.txbuild import parse_address

DEFAULT_LEAD = 10
"""Blocks between now and the effective height when neither --at-height nor --in is given."""
MAX_SHOWN = 1000


def _key(args: argparse.Namespace, who: str, option: str) -> bytes:
    return parse_address(_account_of(args, who), option)


def _effective(args: argparse.Namespace, client) -> int:
    head = int(client.status()["height"])
    if args.at_height is not None:
        if args.at_height < head + rec.MIN_LEAD_BLOCKS + 1:
            raise CliError(f"--at-height must be at least {head + rec.MIN_LEAD_BLOCKS + 1}: the chain is at height "
                           f"{head}, and a change takes effect at least {rec.MIN_LEAD_BLOCKS} blocks after its proposal")
        return args.at_height
    lead = DEFAULT_LEAD if args.in_blocks is None else args.in_blocks
    if not rec.MIN_LEAD_BLOCKS + 1 <= lead <= rec.MAX_LEAD_BLOCKS:
        raise CliError(f"--in must be from {rec.MIN_LEAD_BLOCKS + 1} to {rec.MAX_LEAD_BLOCKS} blocks")
    return head + lead


def _must_be_validator(client, key) -> None:
    address = to_address(key.pubkey)
    if address not in {v["address"] for v in client.governance_validators()["validators"]}:
        raise CliError(f"{address} is not a validator of the current set: only validators propose and approve")


def _propose(args: argparse.Namespace, change: tuple, what: str) -> int:
    try:
        change = rules.parse_change(change)
    except TxError as exc:
        raise CliError(exc.message) from None
    client = _client(args)
    key = signer(args)
    _must_be_validator(client, key)
    proposal_id = new_id(args.id, "proposal")
    effective = _effective(args, client)
    submit(args, client, key, "federation.propose", (proposal_id, change, effective),
           {"proposal": proposal_id.hex(), "effective_height": effective, "change": list(change[:1])},
           f"proposal {proposal_id.hex()}: {what}, effective at height {effective}; "
           f"the other validators approve it with `incoop governance approve {proposal_id.hex()}`")
    return 0


@_guard
def cmd_propose_validator(args: argparse.Namespace) -> int:
    if args.add:
        if not args.peer:
            raise CliError("--add needs --peer ws://HOST:PORT, the new validator's peer address")
        key = _key(args, args.add, "--add")
        return _propose(args, (rec.ADD, key, args.peer), f"add validator {args.add}")
    if args.remove:
        if args.peer or args.with_key:
            raise CliError("--remove takes neither --peer nor --with")
        return _propose(args, (rec.REMOVE, _key(args, args.remove, "--remove")), f"remove validator {args.remove}")
    if not args.with_key or not args.peer:
        raise CliError("--replace needs --with NEW_KEY and --peer ws://HOST:PORT")
    return _propose(args, (rec.REPLACE, _key(args, args.replace, "--replace"), _key(args, args.with_key, "--with"),
                           args.peer), f"replace validator {args.replace} with {args.with_key}")


@_guard
def cmd_propose_param(args: argparse.Namespace) -> int:
    if not args.value.isdigit():
        raise CliError(f"the value of {args.name} must be a whole number")
    return _propose(args, (rec.SET_PARAM, args.name, int(args.value)), f"set {args.name} to {args.value}")


@_guard
def cmd_authorise(args: argparse.Namespace) -> int:
    account = _key(args, args.account, "--account")
    if args.revoke:
        if args.name or args.pattern:
            raise CliError("--revoke takes neither --name nor --pattern")
        return _propose(args, (rec.REVOKE, args.role, account), f"revoke {args.role} {args.account}")
    if not args.name:
        raise CliError("give --name, the name the role is listed under")
    patterns = tuple(sorted(set(args.pattern or ())))
    return _propose(args, (rec.AUTHORISE, args.role, account, args.name, patterns),
                    f"authorise {args.account} as {args.role} {args.name!r}")


@_guard
def cmd_approve(args: argparse.Namespace) -> int:
    proposal_id = parse_id(args.proposal, "proposal")
    client = _client(args)
    proposal = client.governance_proposal(proposal_id)
    if proposal["status"] != "pending":
        raise CliError(f"proposal {proposal_id.hex()} is {proposal['status']}: it takes no more approvals")
    key = signer(args)
    _must_be_validator(client, key)
    record = submit(args, client, key, "federation.approve", (proposal_id,), {"proposal": proposal_id.hex()},
                    f"proposal {proposal_id.hex()} approved by you")
    if record["status"] == "committed" and not args.json:
        now = client.governance_proposal(proposal_id)
        print(f"  it is {now['status']}, with {len(now['approvals'])} approval(s); "
              f"effective at height {now['effective_height']}")
    return 0


def _change_text(p: dict) -> str:
    return " ".join(str(x) for x in p["change"])


@_guard
def cmd_proposals(args: argparse.Namespace) -> int:
    client = _client(args)
    found: list[dict] = []
    after = None
    while len(found) < MAX_SHOWN:
        page = client.governance_proposals(status=args.status, limit=200, after=after)
        found += page["proposals"]
        after = page["next"]
        if after is None:
            break
    lines = [f"{len(found)} proposal(s)" + (f" {args.status}" if args.status else "")]
    lines += [f"  {p['id']}  {p['status']:<8}  effective {p['effective_height']:>8}  "
              f"{len(p['approvals'])} approval(s)  {_change_text(p)}"
              + (f"  (refused: code {p['outcome']})" if p["outcome"] else "") for p in found]
    emit(args.json, {"proposals": found}, "\n".join(lines))
    return 0


@_guard
def cmd_validators(args: argparse.Namespace) -> int:
    answer = _client(args).governance_validators()
    lines = [f"{len(answer['validators'])} validator(s) for height {answer['height'] + 1}, quorum {answer['quorum']}"]
    lines += [f"  {v['address']}" + (f"  {v['peer']}" if v["peer"] else "") for v in answer["validators"]]
    emit(args.json, answer, "\n".join(lines))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `governance` to the `incoop` parser."""
    gsub, common = command_group(sub, "governance")

    def command(name: str, help_text: str, func, signs: bool = True, proposes: bool = False) -> argparse.ArgumentParser:
        p = add_command(gsub, common, name, help_text, func, signs, signer_help="the validator key that signs")
        if proposes:
            p.add_argument("--id", metavar="HEX", help="the proposal's id (32 hex characters; default: random)")
            when = p.add_mutually_exclusive_group()
            when.add_argument("--at-height", type=int, metavar="H", help="the effective height: the first block "
                                                                          "the change applies to")
            when.add_argument("--in", dest="in_blocks", type=int, metavar="N",
                              help=f"the effective height N blocks from now (default {DEFAULT_LEAD})")
        return p

    p = command("propose-validator", "propose adding, removing or replacing a validator", cmd_propose_validator,
                proposes=True)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--add", metavar="KEY|ADDRESS", help="the new validator's key")
    which.add_argument("--remove", metavar="KEY|ADDRESS", help="the validator to remove")
    which.add_argument("--replace", metavar="KEY|ADDRESS", help="the validator to replace (see --with)")
    p.add_argument("--with", dest="with_key", metavar="KEY|ADDRESS", help="the key that replaces it")
    p.add_argument("--peer", metavar="URL", help="the new validator's peer address, ws://HOST:PORT or wss://…")

    p = command("propose-param", "propose setting a chain parameter", cmd_propose_param, proposes=True)
    p.add_argument("name", choices=tuple(rec.PARAM_BOUNDS), help="the parameter")
    p.add_argument("value", help="its new value (a whole number)")

    p = command("authorise", "propose authorising (or, with --revoke, revoking) a registrar, issuer, attester or "
                             "arbiter", cmd_authorise, proposes=True)
    p.add_argument("--role", choices=rec.ROLES, required=True)
    p.add_argument("--account", required=True, metavar="KEY|ADDRESS")
    p.add_argument("--name", help="the name it is listed under (1 to 64 bytes)")
    p.add_argument("--pattern", action="append", metavar="ATTR",
                   help="an attester's attribute pattern, e.g. member:coop-a or resident:* (repeatable)")
    p.add_argument("--revoke", action="store_true", help="revoke the role instead")

    p = command("approve", "approve a pending proposal", cmd_approve)
    p.add_argument("proposal", metavar="ID", help="the proposal's id")

    p = command("proposals", "the federation's proposals with their status", cmd_proposals, signs=False)
    p.add_argument("--status", choices=rec.STATUSES, help="only proposals of this status")

    command("validators", "the validator set, its quorum and peer addresses", cmd_validators, signs=False)
