"""`incoop genesis new|validate`: write and check genesis documents for a real federation."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from cli.common import CliError, emit
from genesis.document import Genesis, GenesisError, load_genesis, modules_json, parse_genesis
from genesis.rules import RULES


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("genesis")  # its --help line: node/cli.py COMMANDS
    gsub = parser.add_subparsers(dest="genesis_command", metavar="ACTION")
    gsub.required = True

    new = gsub.add_parser("new", help="write a new genesis document")
    new.add_argument("--chain-id", required=True)
    new.add_argument("--time-ms", type=int, default=None, help="genesis time in ms since 1970 (default: now)")
    new.add_argument(
        "--validator", action="append", default=[], metavar="NAME=ADDRESS[,API[,P2P]]",
        help="a validator: its name, node key address, API and peer URLs (repeatable)",
    )
    new.add_argument(
        "--observer", action="append", default=[], metavar="NAME=ADDRESS[,P2P]",
        help="a registered non-voting node: its name, node key address and peer URL (repeatable)",
    )
    new.add_argument("--registrar", action="append", default=[], metavar="NAME=ADDRESS")
    new.add_argument(
        "--attester", action="append", default=[], metavar="NAME=ADDRESS:PATTERN[,PATTERN...]",
        help="who may attest what, e.g. acme=ic...:employee:acme or comune=ic...:resident:*,age:* (repeatable)",
    )
    new.add_argument("--issuer", action="append", default=[], metavar="NAME=ADDRESS")
    new.add_argument("--arbiter", action="append", default=[], metavar="NAME=ADDRESS",
                     help="an arbiter the marketplace's listings may name for their disputes (repeatable)")
    new.add_argument("--class", dest="classes", action="append", default=[], metavar="ID:NAME:ISSUER:DECIMALS")
    new.add_argument("--balance", action="append", default=[], metavar="ADDRESS:CLASS:AMOUNT_MINOR")
    new.add_argument("--out", required=True, help="file to write (refuses to overwrite)")
    new.add_argument("--json", action="store_true", help="print the result as JSON")
    new.set_defaults(func=cmd_new)

    check = gsub.add_parser("validate", help="check a genesis document and print its hash")
    check.add_argument("file")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_validate)


def _split(value: str, sep: str, parts: int, what: str) -> list[str]:
    items = value.split(sep, parts - 1)
    if len(items) != parts or not all(items):
        raise CliError(f"--{what} {value!r}: expected {parts} parts separated by {sep!r}")
    return items


def _member(value: str, what: str) -> dict:
    name, account = _split(value, "=", 2, what)
    return {"name": name, "account": account}


def _validator(value: str) -> dict:
    name, rest = _split(value, "=", 2, "validator")
    pubkey, *urls = rest.split(",")
    return {"name": name, "pubkey": pubkey, "api": urls[0] if urls else "", "p2p": urls[1] if len(urls) > 1 else ""}


def _observer(value: str) -> dict:
    name, rest = _split(value, "=", 2, "observer")
    pubkey, *urls = rest.split(",")
    return {"name": name, "pubkey": pubkey, "p2p": urls[0] if urls else ""}


def _attester(value: str) -> dict:
    name, rest = _split(value, "=", 2, "attester")
    account, patterns = _split(rest, ":", 2, "attester")
    return {"name": name, "account": account, "attributes": patterns.split(",")}


def cmd_new(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists():
        raise CliError(f"{out} exists; not overwriting it")
    try:
        classes = []
        for value in args.classes:
            cid, name, issuer, decimals = _split(value, ":", 4, "class")
            classes.append({"id": cid, "name": name, "issuer": issuer, "decimals": int(decimals)})
        balances = []
        for value in args.balance:
            account, cid, amount = _split(value, ":", 3, "balance")
            balances.append({"account": account, "class": cid, "amount": int(amount)})
    except ValueError as exc:
        raise CliError(f"not a whole number: {exc}") from exc
    doc = {
        "chain_id": args.chain_id,
        "genesis_time_ms": args.time_ms if args.time_ms is not None else int(time.time() * 1000),
        "modules": modules_json(RULES),  # this program's rules: FORMAT.md §14
        "validators": [_validator(v) for v in args.validator],
        "observers": [_observer(v) for v in args.observer],
        "credits": {
            "issuers": [_member(v, "issuer") for v in args.issuer],
            "classes": classes,
            "balances": balances,
        },
        "identity": {
            "registrars": [_member(v, "registrar") for v in args.registrar],
            "attesters": [_attester(v) for v in args.attester],
        },
        "market": {"arbiters": [_member(v, "arbiter") for v in args.arbiter]},
    }
    try:
        genesis = _validate(doc)
    except GenesisError as exc:
        raise CliError(str(exc)) from exc
    out.write_text(genesis.to_json(), encoding="utf-8")
    emit(args.json, {"file": str(out), "hash": genesis.hash().hex()}, f"wrote {out} (genesis hash {genesis.hash().hex()})")
    return 0


def _validate(doc: dict) -> Genesis:
    return parse_genesis(json.dumps(doc), RULES)


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        genesis = load_genesis(args.file, RULES)
    except GenesisError as exc:
        raise CliError(str(exc)) from exc
    data = {
        "chain_id": genesis.chain_id,
        "hash": genesis.hash().hex(),
        "modules": modules_json(genesis.rules),
        "validators": len(genesis.validators),
        "observers": len(genesis.observers),
        **{  # each section's lists, counted: {"credits": {"issuers": 1, "classes": 2, ...}, ...}
            module.name: {name: len(value) for name, value in section if isinstance(value, list)}
            for module, section in genesis.sections() if section is not None
        },
    }
    emit(args.json, data, f"{args.file}: valid genesis of chain {genesis.chain_id}, hash {data['hash']}")
    return 0
