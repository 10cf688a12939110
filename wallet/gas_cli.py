"""`incoop gas …`: purchase groups (gruppi di acquisto) from the command line (FORMAT.md §6.6).

Opening a group takes two people, in two steps:

1. the **supplier** (the listing's provider) agrees the terms with the
   organiser and signs them: `incoop gas sign-terms --as SUPPLIER …` writes a
   terms file (JSON, below) holding the group's id, the organiser, the
   listing, the class, the minimum and maximum total quantity, the deadline,
   the price tiers and the supplier's signature over all of them
   (market/groups_terms.py);
2. the **organiser** (the key of an organisation's identity) opens the group
   with that file: `incoop gas open --as ORGANISER --terms FILE`. Nothing in
   it can be changed without the signature failing, and the wallet checks the
   signature, the chain and the organiser before it signs.

Members then `join` (their credits go into escrow at the top tier's price)
and may `leave` until the deadline; at the deadline the ledger itself
charges every member the price the group's total reached and refunds the
difference, or refunds everyone if the minimum was not reached. `status`
shows a group's fill and the tier reached so far.

The terms file:

    {"terms": "incoop/gas/terms/v1", "chain_id", "group", "organiser", "supplier", "listing", "class",
     "min_qty", "max_qty", "deadline_ms", "deadline" (for people; deadline_ms is what is signed),
     "tiers": [[min_total, unit_price], …] (unit prices in minor units), "signature"}
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cli.common import CliError, emit, parse_amount
from ledger.address import AddressError, from_address
from market.groups_terms import DOMAIN_GAS_TERMS, sign_terms, terms_ok, terms_payload
from wallet import market_reads as reads
from wallet.cli import (
    _account_of,
    _guard,
    _key_info,
    add_command,
    command_group,
)
from wallet.market_args import (
    class_id,
    client_and_classes,
    decimals_of,
    new_id,
    parse_id,
    parse_when,
    show_amount,
    show_time,
    signer,
    submit,
    wallet_names,
    who,
)
from wallet.txbuild import check_body, parse_address

MAX_QTY = 2**63 - 1
GROUP_STATUSES = ("open", "closing", "settled", "failed")
PAGE = 200
"""Rows asked of the node per request (the API's most)."""
MAX_SHOWN = 10_000


# --- the terms file -----------------------------------------------------------------------------------------


HexId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


class Terms(BaseModel):
    """A supplier's signed terms, as `sign-terms` writes them and `open` reads them."""

    model_config = ConfigDict(extra="forbid", strict=True)

    terms: Literal["incoop/gas/terms/v1"]
    chain_id: str
    group: HexId
    organiser: str
    supplier: str
    listing: HexId
    class_: Annotated[str, Field(alias="class")]
    min_qty: Annotated[int, Field(ge=1, le=MAX_QTY)]
    max_qty: Annotated[int, Field(ge=1, le=MAX_QTY)]
    deadline_ms: Annotated[int, Field(ge=0, le=MAX_QTY)]
    deadline: str = ""
    tiers: Annotated[list[tuple[int, int]], Field(min_length=1, max_length=8)]
    signature: Annotated[str, Field(pattern=r"^[0-9a-f]{128}$")]

    def body(self) -> tuple:
        """The `gas.open` body (FORMAT.md §6.6)."""
        return (bytes.fromhex(self.group), bytes.fromhex(self.listing), self.class_, self.min_qty, self.max_qty,
                self.deadline_ms, tuple((m, p) for m, p in self.tiers), bytes.fromhex(self.signature))

    def signed_by_supplier(self) -> bool:
        payload = terms_payload(bytes.fromhex(self.group), from_address(self.organiser), bytes.fromhex(self.listing),
                                self.class_, self.min_qty, self.max_qty, self.deadline_ms, tuple(self.tiers))
        return terms_ok(from_address(self.supplier), self.chain_id, payload, bytes.fromhex(self.signature))


def _read_terms(path: str) -> Terms:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text") from None
    where = "the terms on standard input" if path == "-" else path
    try:
        terms = Terms.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "the document"
        raise CliError(f"{where}: {field}: {first['msg']}") from None
    for name in ("organiser", "supplier"):
        try:
            from_address(getattr(terms, name))
        except AddressError as exc:
            raise CliError(f"{where}: {name}: {exc}") from None
    return terms


# --- small parsers ---------------------------------------------------------------------------------------


def _tiers(specs: list[str], decimals: int) -> list[tuple[int, int]]:
    """`--tier QUANTITY=PRICE`: from that total quantity on, each unit costs PRICE (in the class's units)."""
    if not specs:
        raise CliError("give at least one --tier QUANTITY=PRICE (e.g. --tier 10=3.20 --tier 20=2.90)")
    tiers = []
    for spec in specs:
        quantity, sep, price = spec.partition("=")
        if not sep or not quantity.strip().isdigit() or not 1 <= int(quantity) <= MAX_QTY:
            raise CliError(f"--tier {spec!r} must be QUANTITY=PRICE, e.g. 10=3.20")
        try:
            tiers.append((int(quantity), parse_amount(price, decimals)))
        except CliError as exc:
            raise CliError(f"--tier {spec}: {exc}") from None
    tiers.sort()
    for lower, higher in zip(tiers, tiers[1:], strict=False):
        if higher[0] == lower[0]:
            raise CliError(f"two tiers start at {lower[0]} units")
        if higher[1] >= lower[1]:
            raise CliError("each tier's price must be below the one before it (more units, a lower price)")
    return tiers


def _quantity(value: int, option: str) -> int:
    if not 1 <= value <= MAX_QTY:
        raise CliError(f"{option} must be at least 1")
    return value


def _tiers_text(tiers: list, decimals_text) -> str:
    return ", ".join(f"from {m} at {decimals_text(p)}" for m, p in tiers)


# --- sign-terms (the supplier), open (the organiser) ------------------------------------------------------------


@_guard
def cmd_sign_terms(args: argparse.Namespace) -> int:
    listing_id = parse_id(args.listing, "listing")
    cls = class_id(args.class_id)
    organiser = _account_of(args, args.organiser)
    max_qty = _quantity(args.max, "--max")
    client, classes = client_and_classes(args)
    decimals = decimals_of(classes, cls)
    tiers = _tiers(args.tier, decimals)
    min_qty = tiers[0][0] if args.min is None else _quantity(args.min, "--min")
    if tiers[0][0] != min_qty:
        raise CliError(f"the first tier must start at --min ({min_qty} units), not at {tiers[0][0]}")
    if min_qty > max_qty or tiers[-1][0] > max_qty:
        raise CliError(f"--max {max_qty} is below the minimum or a tier")
    deadline = parse_when(args.deadline, "--deadline")
    supplier = _key_info(args, args.signer).address
    listing = reads.found(client, f"no listing {listing_id.hex()}", client.market_listing, listing_id)
    if listing["provider"] != supplier:
        raise CliError(f"listing {listing_id.hex()} is {listing['provider']}'s: only its provider signs its terms")
    price = next((int(p["unit_price"]) for p in listing["prices"] if p["class"] == cls), None)
    if price is None:
        raise CliError(f"listing {listing_id.hex()} has no price in {cls}")
    if tiers[0][1] > price:
        raise CliError(f"the first tier's price is above the listing's {show_amount(classes, cls, price)}")
    if listing["quantity"] is not None and max_qty > int(listing["quantity"]):
        raise CliError(f"--max {max_qty} is more than the listing's {listing['quantity']} units left")
    chain_id = client.status()["chain_id"]
    group_id = new_id(args.group, "purchase group")
    out = Path(args.out) if args.out else None
    if out is not None and out.exists():
        raise CliError(f"{out} exists; not overwriting it")
    body = (group_id, listing_id, cls, min_qty, max_qty, deadline, tuple(tiers), bytes(64))
    check_body("gas.open", body)  # the ledger's own rules for the terms, before anything is signed
    key = signer(args)
    signature = sign_terms(key, chain_id, group_id, parse_address(organiser), listing_id, cls, min_qty, max_qty,
                           deadline, tuple(tiers))
    terms = {"terms": DOMAIN_GAS_TERMS, "chain_id": chain_id, "group": group_id.hex(), "organiser": organiser,
             "supplier": supplier, "listing": listing_id.hex(), "class": cls, "min_qty": min_qty, "max_qty": max_qty,
             "deadline_ms": deadline, "deadline": show_time(deadline), "tiers": [list(t) for t in tiers],
             "signature": signature.hex()}
    document = json.dumps(terms, indent=2) + "\n"
    if out is None:
        sys.stdout.write(document)
        return 0
    try:
        out.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror}") from None
    shown = _tiers_text(tiers, lambda p: show_amount(classes, cls, p))
    emit(args.json, {"file": str(out), **terms},
         f"signed the terms of purchase group {group_id.hex()} into {out}: {min_qty} to {max_qty} units of listing "
         f"{listing_id.hex()} until {show_time(deadline)}, {shown}\n"
         f"  the organiser opens it with: incoop gas open --as {args.organiser} --terms {out}")
    return 0


@_guard
def cmd_open(args: argparse.Namespace) -> int:
    terms = _read_terms(args.terms)
    organiser = _key_info(args, args.signer).address
    if terms.organiser != organiser:
        raise CliError(f"these terms were signed for organiser {terms.organiser}, not {args.signer} ({organiser})")
    if not terms.signed_by_supplier():
        raise CliError(f"the supplier's signature does not match these terms: they were changed after "
                       f"{terms.supplier} signed them, or are for another chain")
    client, classes = client_and_classes(args)
    chain_id = client.status()["chain_id"]
    if terms.chain_id != chain_id:
        raise CliError(f"the terms are for chain {terms.chain_id!r}, the node is on {chain_id!r}")
    body = terms.body()
    check_body("gas.open", body)
    key = signer(args)
    shown = _tiers_text(terms.tiers, lambda p: show_amount(classes, terms.class_, p))
    submit(args, client, key, "gas.open", body, {"group": terms.group, "listing": terms.listing},
           f"purchase group {terms.group} open on listing {terms.listing} until {show_time(terms.deadline_ms)}: "
           f"{terms.min_qty} to {terms.max_qty} units in {terms.class_}, {shown}")
    return 0


# --- join, leave (the members) ---------------------------------------------------------------------------------


@_guard
def cmd_join(args: argparse.Namespace) -> int:
    group_id = parse_id(args.group, "purchase group")
    quantity = _quantity(args.quantity, "--quantity")
    client, classes = client_and_classes(args)
    group = reads.found(client, f"no purchase group {group_id.hex()}", client.gas_group, group_id)
    key = signer(args)
    cls = group["class"]
    submit(args, client, key, "gas.join", (group_id, quantity), {"group": group_id.hex(), "quantity": quantity},
           f"{args.signer} committed {quantity} units to purchase group {group_id.hex()}: "
           f"{show_amount(classes, cls, quantity * int(group['top_price']))} held in escrow at the top price; at the "
           f"deadline ({show_time(group['deadline_ms'])}) the price the group reached is charged and the rest refunded")
    return 0


@_guard
def cmd_leave(args: argparse.Namespace) -> int:
    group_id = parse_id(args.group, "purchase group")
    client, _ = client_and_classes(args)
    submit(args, client, signer(args), "gas.leave", (group_id,), {"group": group_id.hex()},
           f"{args.signer} left purchase group {group_id.hex()}: the commitment was refunded")
    return 0


# --- status -------------------------------------------------------------------------------------------------


def price_reached(group: dict, quantity: int) -> int:
    """The unit price of the last tier whose min_total ≤ quantity; 0 below the minimum (FORMAT.md §6.6)."""
    if quantity < int(group["min_qty"]):
        return 0
    return [int(t["unit_price"]) for t in group["tiers"] if int(t["min_total"]) <= quantity][-1]


def _group_text(group: dict, commitments: list[dict], classes, names: dict[str, str]) -> list[str]:
    cls = group["class"]
    committed = int(group["committed_qty"])
    lines = [
        f"purchase group {group['id']} ({group['status']})",
        f"  organiser  {who(group['organiser'], names)}",
        f"  supplier   {who(group['provider'], names)}, listing {group['listing']} ({group['category']})",
        f"  deadline   {show_time(group['deadline_ms'])}",
        f"  quantity   {committed} committed by {group['members']} members; minimum {group['min_qty']}, "
        f"maximum {group['max_qty']}",
    ]
    for tier in group["tiers"]:
        start = int(tier["min_total"])
        mark = "  <- reached" if price_reached(group, committed) == int(tier["unit_price"]) else ""
        lines.append(f"  tier       from {start} units: {show_amount(classes, cls, int(tier['unit_price']))} a unit{mark}")
    if group["status"] == "open":
        following = next((int(t["min_total"]) for t in group["tiers"] if int(t["min_total"]) > committed), None)
        if committed < int(group["min_qty"]):
            lines.append(f"  so far     {int(group['min_qty']) - committed} more units to reach the minimum; "
                         "below it at the deadline everyone is refunded")
        elif following is not None:
            lines.append(f"  so far     {following - committed} more units to reach the next tier")
    elif int(group.get("unit_price") or 0):
        lines.append(f"  settled at {show_amount(classes, cls, int(group['unit_price']))} a unit")
    for commitment in commitments:
        lines.append(f"  member     {who(commitment['member'], names)}: {commitment['quantity']} units, "
                     f"{show_amount(classes, cls, int(commitment['escrowed']))} in escrow")
    return lines


@_guard
def cmd_status(args: argparse.Namespace) -> int:
    client, classes = client_and_classes(args)
    names = wallet_names(args)
    if not 1 <= args.limit <= MAX_SHOWN:
        raise CliError(f"--limit must be from 1 to {MAX_SHOWN}")
    if args.group:
        group_id = parse_id(args.group, "purchase group").hex()
        group = reads.found(client, f"no purchase group {group_id}", client.gas_group, group_id)
        commitments, _ = reads.pages(lambda after: client.gas_commitments(group_id, limit=PAGE, after=after),
                                     "commitments", cursor_of="member")
        if args.json:
            emit(True, {**group, "commitments": commitments})
        else:
            print("\n".join(_group_text(group, commitments, classes, names)))
        return 0
    organiser = _account_of(args, args.organiser) if args.organiser else None
    listing = parse_id(args.listing, "listing").hex() if args.listing else None
    groups, following = reads.pages(lambda after: client.gas_groups(
        status=args.status, listing=listing, organiser=organiser, limit=min(args.limit, PAGE), after=after),
        "groups", args.limit, args.after)
    return reads.show_page(args.json, "groups", groups, following, lambda g: [
        f"{g['id']}  {g['status']:<7}  {g['committed_qty']} units committed of {g['min_qty']} to {g['max_qty']}, "
        f"{g['members']} members, in {g['class']}, until {show_time(g['deadline_ms'])}  "
        f"by {names.get(g['organiser'], g['organiser'])}"], "no purchase groups")


# --- the parser -------------------------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    """Add `gas` to the `incoop` parser."""
    command = functools.partial(add_command, *command_group(sub, "gas"))

    p = command("sign-terms", "the supplier signs a purchase group's terms on its listing, for the organiser",
                cmd_sign_terms, waits=False)
    p.add_argument("--listing", required=True, metavar="LISTING")
    p.add_argument("--organiser", required=True, metavar="KEY|ADDRESS", help="who will open the group")
    p.add_argument("--class", dest="class_id", required=True, metavar="ID", help="the class the members pay in")
    p.add_argument("--tier", action="append", default=[], metavar="QUANTITY=PRICE",
                   help="from this total quantity on, this price per unit in the class's units (repeatable)")
    p.add_argument("--min", type=int, metavar="N", help="the total the group must reach to buy (default: the first tier's)")
    p.add_argument("--max", type=int, required=True, metavar="N", help="the most units the group may take")
    p.add_argument("--deadline", required=True, metavar="WHEN",
                   help="when commitments stop and the group settles: ISO date-time (UTC), ms, or +DURATION (+7d)")
    p.add_argument("--group", metavar="HEX", help="the group's id (default: drawn at random)")
    p.add_argument("--out", metavar="FILE", help="write the signed terms here (default: standard output)")

    p = command("open", "the organiser opens a purchase group with the terms its supplier signed", cmd_open)
    p.add_argument("--terms", required=True, metavar="FILE", help="the file `gas sign-terms` wrote ('-': standard input)")

    p = command("join", "commit units to a purchase group (paid into escrow now; join again to add)", cmd_join)
    p.add_argument("group", metavar="GROUP")
    p.add_argument("--quantity", type=int, required=True, metavar="N")

    p = command("leave", "withdraw your commitment before the deadline (refunded)", cmd_leave)
    p.add_argument("group", metavar="GROUP")

    p = command("status", "a purchase group's fill and tiers, or the groups", cmd_status, signs=False)
    p.add_argument("group", nargs="?", metavar="GROUP")
    p.add_argument("--organiser", metavar="KEY|ADDRESS")
    p.add_argument("--listing", metavar="LISTING")
    p.add_argument("--status", choices=GROUP_STATUSES)
    p.add_argument("--limit", type=int, default=50, help="how many groups (default 50)")
    p.add_argument("--after", metavar="CURSOR", help="the next page: the 'more' a previous page printed")
