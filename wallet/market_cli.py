"""`incoop market …`: the marketplace from the command line (FORMAT.md §6.5).

A provider publishes a listing with a price per unit in each credit class it
accepts (`--price CLASS=AMOUNT`, in the class's units), updates, pauses,
resumes or withdraws it; a buyer orders, paying into an escrow the ledger
holds; the provider accepts or declines; the buyer cancels (before
acceptance), confirms (the provider is paid) or disputes (within the return
window); the listing's arbiter decides a dispute with any split; the buyer of
a completed order reviews it and may erase the text later. What nobody does
in time the ledger does at the end of a block: an order not accepted in 72 h
expires (refunded), one whose window passed is released to the provider.

Every signing command takes `--as KEY`, waits for the block and prints the
result (or fails in one line with the ledger's code); the id of a new
listing or order is drawn at random and printed (`--id` gives one, to retry
safely). Reads go through the node's API (NodeClient, wallet/client.py; paging and a missing record: wallet/market_reads.py).
"""

from __future__ import annotations

import argparse
import functools

from cli.common import CliError, emit
from ledger import credit_rules, fields
from ledger.errors import TxError
from market import listings as listing_rules
from market import orders as order_rules
from market import reviews as review_rules
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
    parse_duration,
    parse_id,
    parse_prices,
    parse_share,
    parse_when,
    show_amount,
    show_duration,
    show_time,
    signer,
    submit,
    wallet_names,
    who,
)
from wallet.txbuild import parse_address

DELIVERY = ("pickup", "delivery", "appointment")
LISTING_STATUSES = ("active", "paused", "withdrawn")
ORDER_STATUSES = ("placed", "accepted", "disputed", "confirmed", "released", "decided", "declined", "cancelled",
                  "expired")
COMPLETED = ("confirmed", "released", "decided")
PAGE = 200
"""Rows asked of the node per request (the API's most)."""
MAX_SHOWN = 10_000


def _checked(call, *args):  # a ledger field rule as the CLI's one-line error (its message names the option)
    try:
        return call(*args)
    except TxError as exc:
        raise CliError(exc.message) from None


def _content_hash(text: str | None) -> bytes | None:
    if text is None or text.lower() == "none":
        return None
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != 32:
        raise CliError("--content-hash must be 64 hex characters (e.g. the SHA-256 of the text or image), or none")
    return value


def _return_window(text: str) -> int:
    window = parse_duration(text, "--return-window")
    if not listing_rules.MIN_RETURN_WINDOW_MS <= window <= listing_rules.MAX_RETURN_WINDOW_MS:
        raise CliError("--return-window must be from 1h to 90d")
    return window


def _window(args: argparse.Namespace, start: int, end: int) -> tuple[int, int]:
    """--valid-from/--valid-until over the given defaults; '0' opens that side."""
    if args.valid_from is not None:
        start = 0 if args.valid_from.strip() == "0" else parse_when(args.valid_from, "--valid-from")
    if args.valid_until is not None:
        end = 0 if args.valid_until.strip() == "0" else parse_when(args.valid_until, "--valid-until",
                                                                     through_the_day=True)
    if start and end and end <= start:
        raise CliError("--valid-until must be after --valid-from")
    return start, end


def _quantity(text: str) -> int:
    if not text.isdigit() or int(text) > listing_rules.MAX_QUANTITY:
        raise CliError(f"--quantity must be a whole number of units from 0 to {listing_rules.MAX_QUANTITY}")
    return int(text)


# --- listings: publish, update, pause, resume, withdraw ---------------------------------------------


MAX_ARBITERS = 1000
"""Arbiters read to check --arbiter: a federation names a handful (genesis section `market.arbiters`)."""


def _arbiter(args: argparse.Namespace, client) -> str:
    """--arbiter if the chain authorised it (checked before signing: the ledger would refuse the listing
    with NOT_ARBITER and the nonce would be spent); without it, the chain's arbiter if it has only one."""
    arbiters, _ = reads.pages(lambda after: client.market_arbiters(limit=PAGE, after=after), "arbiters",
                              MAX_ARBITERS, cursor_of="address")
    named = ", ".join(f"{a['name']} ({a['address']})" for a in arbiters[:5]) or "none"
    if args.arbiter:
        given = _account_of(args, args.arbiter)
        if given not in {a["address"] for a in arbiters}:
            raise CliError(f"--arbiter {args.arbiter} is not an authorised arbiter; the chain's are {named}")
        return given
    if len(arbiters) != 1:
        raise CliError(f"give --arbiter: the chain's arbiters are {named}")
    return arbiters[0]["address"]


@_guard
def cmd_publish(args: argparse.Namespace) -> int:
    title = _checked(fields.text, args.title, "--title", listing_rules.MAX_TITLE, 1)
    description = _checked(fields.text, args.description, "--description", listing_rules.MAX_DESCRIPTION)
    if not credit_rules.CATEGORY.fullmatch(args.category):
        raise CliError(f"--category {args.category!r} must be lower-case letters, digits and '-', at most 32")
    if (args.quantity is None) == (not args.service):
        raise CliError("give --quantity N (goods: units in stock) or --service (no stock)")
    quantity = None if args.service else _quantity(args.quantity)
    window = _return_window(args.return_window)
    valid_from, valid_until = _window(args, 0, 0)
    client, classes = client_and_classes(args)
    arbiter = parse_address(_arbiter(args, client), "arbiter address")
    prices = parse_prices(args.price, classes)
    listing_id = new_id(args.id, "listing")
    key = signer(args)
    body = (listing_id, title, description, _content_hash(args.content_hash), args.category, prices, quantity,
            args.delivery, valid_from, valid_until, window, arbiter)
    shown = ", ".join(show_amount(classes, cls, price) for cls, price in prices)
    stock = "a service" if quantity is None else f"{quantity} units"
    submit(args, client, key, "market.list", body, {"listing": listing_id.hex()},
           f"listing {listing_id.hex()} published: {title} ({args.category}, {stock}) at {shown} a unit")
    return 0


@_guard
def cmd_update(args: argparse.Namespace) -> int:
    listing_id = parse_id(args.listing, "listing")
    client, classes = client_and_classes(args)
    current = reads.found(client, f"no listing {listing_id.hex()}", client.market_listing, listing_id)
    if current["provider"] != _key_info(args, args.signer).address:
        raise CliError(f"listing {listing_id.hex()} is {current['provider']}'s, not {args.signer}'s")
    prices = parse_prices(args.price, classes) if args.price else tuple(
        (p["class"], int(p["unit_price"])) for p in current["prices"])
    if args.quantity is not None and current["quantity"] is None:
        raise CliError("a service has no stock: --quantity is for goods (a listing's kind never changes)")
    quantity = current["quantity"] if args.quantity is None else _quantity(args.quantity)
    description = current["description"] if args.description is None else _checked(
        fields.text, args.description, "--description", listing_rules.MAX_DESCRIPTION)
    content = current.get("content_hash")
    content_hash = (bytes.fromhex(content) if content else None) if args.content_hash is None \
        else _content_hash(args.content_hash)
    valid_from, valid_until = _window(args, int(current["valid_from_ms"]), int(current["valid_until_ms"] or 0))
    key = signer(args)
    body = (listing_id, prices, quantity, description, content_hash, valid_from, valid_until)
    shown = ", ".join(show_amount(classes, cls, price) for cls, price in prices)
    stock = "a service" if quantity is None else f"{quantity} units left"
    submit(args, client, key, "market.update", body, {"listing": listing_id.hex()},
           f"listing {listing_id.hex()} updated: {shown} a unit, {stock}")
    return 0


@_guard
def cmd_listing_status(args: argparse.Namespace) -> int:
    listing_id = parse_id(args.listing, "listing")
    client, _ = client_and_classes(args)
    done = {"pause": "paused", "resume": "active again", "withdraw": "withdrawn (for good)"}[args.market_command]
    submit(args, client, signer(args), f"market.{args.market_command}", (listing_id,), {"listing": listing_id.hex()},
           f"listing {listing_id.hex()} {done}")
    return 0


# --- orders ------------------------------------------------------------------------------------------


@_guard
def cmd_order(args: argparse.Namespace) -> int:
    listing_id = parse_id(args.listing, "listing")
    cls = class_id(args.class_id)
    if not 1 <= args.quantity <= listing_rules.MAX_QUANTITY:
        raise CliError(f"--quantity must be from 1 to {listing_rules.MAX_QUANTITY}")
    client, classes = client_and_classes(args)
    listing = reads.found(client, f"no listing {listing_id.hex()}", client.market_listing, listing_id)
    price = next((int(p["unit_price"]) for p in listing["prices"] if p["class"] == cls), None)
    if price is None:
        accepted = ", ".join(p["class"] for p in listing["prices"])
        raise CliError(f"listing {listing_id.hex()} does not accept {cls} (it accepts {accepted})")
    order_id = new_id(args.id, "order")
    key = signer(args)
    total = price * args.quantity
    submit(args, client, key, "market.order", (order_id, listing_id, cls, args.quantity),
           {"order": order_id.hex(), "listing": listing_id.hex(), "class": cls, "quantity": args.quantity,
            "unit_price": price, "total": total},
           f"order {order_id.hex()} placed: {args.quantity} × {listing['title']} = {show_amount(classes, cls, total)}, "
           f"held in escrow until the provider accepts (72 h) or declines")
    return 0


def _order_tx(args: argparse.Namespace, type_: str, body: tuple, text: str) -> int:
    client, _ = client_and_classes(args)
    submit(args, client, signer(args), type_, body, {"order": body[0].hex()}, text)
    return 0


@_guard
def cmd_order_step(args: argparse.Namespace) -> int:
    """accept, decline, cancel, confirm: the order's id is the whole body."""
    order_id = parse_id(args.order, "order")
    text = {
        "accept": "accepted: the buyer's window to confirm or dispute has begun",
        "decline": "declined: the buyer was refunded",
        "cancel": "cancelled: you were refunded",
        "confirm": "confirmed: the provider was paid",
    }[args.market_command]
    return _order_tx(args, f"market.{args.market_command}", (order_id,), f"order {order_id.hex()} {text}")


@_guard
def cmd_dispute(args: argparse.Namespace) -> int:
    order_id = parse_id(args.order, "order")
    reason = _checked(fields.text, args.reason, "--reason", order_rules.MAX_REASON, 1)
    return _order_tx(args, "market.dispute", (order_id, reason),
                     f"order {order_id.hex()} disputed: its arbiter decides")


@_guard
def cmd_decide(args: argparse.Namespace) -> int:
    order_id = parse_id(args.order, "order")
    reason = _checked(fields.text, args.reason, "--reason", order_rules.MAX_REASON, 1)
    client, classes = client_and_classes(args)
    order = reads.found(client, f"no order {order_id.hex()}", client.market_order, order_id)
    cls, total = order["class"], int(order["total"])
    to_provider = parse_share(args.to_provider, decimals_of(classes, cls), "--to-provider")
    if to_provider > total:
        raise CliError(f"--to-provider {args.to_provider} is more than the order's total, {show_amount(classes, cls, total)}")
    key = signer(args)
    submit(args, client, key, "market.decide", (order_id, to_provider, reason),
           {"order": order_id.hex(), "to_provider": to_provider, "to_buyer": total - to_provider},
           f"order {order_id.hex()} decided: {show_amount(classes, cls, to_provider)} to the provider, "
           f"{show_amount(classes, cls, total - to_provider)} back to the buyer")
    return 0


# --- reviews -------------------------------------------------------------------------------------------


@_guard
def cmd_review(args: argparse.Namespace) -> int:
    order_id = parse_id(args.order, "order")
    if args.rating not in review_rules.RATINGS:
        raise CliError("--rating must be from 1 to 5")
    text = _checked(fields.text, args.text, "--text", review_rules.MAX_TEXT)
    return _order_tx(args, "market.review", (order_id, args.rating, text),
                     f"order {order_id.hex()} reviewed: {args.rating} of 5")


@_guard
def cmd_erase_review(args: argparse.Namespace) -> int:
    order_id = parse_id(args.order, "order")
    return _order_tx(args, "market.erase_review", (order_id,),
                     f"the text of your review of order {order_id.hex()} is erased; its rating still counts")


# --- reads: list, show, orders --------------------------------------------------------------------------


def _prices_text(listing: dict, classes) -> str:
    return ", ".join(show_amount(classes, p["class"], int(p["unit_price"])) for p in listing["prices"])


def _stock(listing: dict) -> str:
    return "a service" if listing["quantity"] is None else f"{listing['quantity']} left"


def _limit(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= MAX_SHOWN:
        raise CliError(f"--limit must be from 1 to {MAX_SHOWN}")
    return args.limit


@_guard
def cmd_list(args: argparse.Namespace) -> int:
    want = _limit(args)
    client, classes = client_and_classes(args)
    provider = _account_of(args, args.provider) if args.provider else None
    status = None if args.status == "all" else args.status
    listings, following = reads.pages(lambda after: client.market_listings(
        category=args.category, provider=provider, class_id=args.class_id, words=args.words, status=status,
        limit=min(want, PAGE), after=after), "listings", want, args.after)
    names = {} if args.json else wallet_names(args)

    def text(listing: dict) -> list[str]:
        state = "" if listing["status"] == "active" else f" · {listing['status']}"
        return [f"{listing['id']}  {listing['title']}",
                f"    {listing['category']} · {listing['delivery']} · {_stock(listing)} · {_prices_text(listing, classes)}"
                f" · by {names.get(listing['provider'], listing['provider'])}{state}"]

    return reads.show_page(args.json, "listings", listings, following, text, "no listings")


def _listing_text(listing: dict, reviews: dict | None, classes, names: dict[str, str]) -> list[str]:
    rating = (reviews or {}).get("rating") or {"count": 0}
    tenths = rating.get("mean_tenths")
    stars = f"rated {tenths // 10}.{tenths % 10} of 5 by {rating['count']} buyers" if rating["count"] and tenths \
        else "no reviews yet"
    valid = ", ".join(part for part in (
        f"from {show_time(listing['valid_from_ms'])}" if listing["valid_from_ms"] else "",
        f"until {show_time(listing['valid_until_ms'])}" if listing["valid_until_ms"] else "") if part) or "always"
    orderable = "" if listing.get("orderable", True) or listing["status"] != "active" else ", outside its window"
    lines = [f"listing {listing['id']} ({listing['status']}{orderable})", f"  {listing['title']}"]
    if listing["description"]:
        lines.append(f"  {listing['description']}")
    lines += [
        f"  provider   {who(listing['provider'], names)}; {stars}",
        f"  category   {listing['category']}, {listing['delivery']}",
        f"  prices     {_prices_text(listing, classes)} a unit",
        f"  stock      {_stock(listing)}",
        f"  open       {valid}",
        f"  terms      {show_duration(int(listing['return_window_ms']))} to confirm or dispute once accepted; "
        f"disputes decided by {who(listing['arbiter'], names)}",
    ]
    if listing.get("content_hash"):
        lines.append(f"  content    {listing['content_hash']}")
    for review in (reviews or {}).get("reviews", [])[:10]:
        text = review.get("text")
        said = "(text erased)" if text is None else (f'"{text}"' if text else "")
        lines.append(f"  review     {review['rating']}/5 {said} (order {review['order']})")
    return lines


def _order_text(order: dict, classes, names: dict[str, str]) -> list[str]:
    cls = order["class"]
    unit = show_amount(classes, cls, int(order["unit_price"]))
    lines = [
        f"order {order['id']} ({order['status']})",
        f"  listing    {order['listing']}",
        f"  buyer      {who(order['buyer'], names)}",
        f"  provider   {who(order['provider'], names)}",
        f"  amount     {order['quantity']} × {unit} = {show_amount(classes, cls, int(order['total']))}",
        f"  placed     {show_time(order['placed_ms'])}",
    ]
    deadline = show_time(order.get("deadline_ms"))
    if order["status"] == "placed":
        lines.append(f"  deadline   {deadline}: the provider accepts by then, else the buyer is refunded")
    elif order["status"] == "accepted":
        lines.append(f"  deadline   {deadline}: the buyer confirms or disputes by then, else the provider is paid")
    if order.get("open"):  # placed, accepted or disputed: its total is in escrow until a final step
        lines.append(f"  escrow     {show_amount(classes, cls, int(order['escrow']['amount']))} held")
    lines.append(f"  arbiter    {who(order['arbiter'], names)}")
    if order.get("dispute"):
        lines.append(f"  dispute    \"{order['dispute']}\"")
    decision = order.get("decision")
    if decision:
        to_provider = int(decision["to_provider"])
        lines.append(f"  decision   {show_amount(classes, cls, to_provider)} to the provider, "
                     f"{show_amount(classes, cls, int(order['total']) - to_provider)} back: \"{decision['reason']}\"")
    review = order.get("review")
    if review:
        said = "(text erased)" if review["text"] is None else (f'"{review["text"]}"' if review["text"] else "")
        lines.append(f"  review     {review['rating']}/5 {said}")
    return lines


@_guard
def cmd_show(args: argparse.Namespace) -> int:
    """A listing (with its provider's rating and reviews), or an order: ids never collide."""
    record_id = parse_id(args.id, "listing or order").hex()
    client, classes = client_and_classes(args)
    try:
        listing = reads.found(client, f"no listing {record_id}", client.market_listing, record_id)
    except CliError:
        # not a listing: an order, or nothing (one line)
        order = reads.found(client, f"no listing or order {record_id}", client.market_order, record_id)
        if args.json:
            emit(True, {"order": order})
        else:
            print("\n".join(_order_text(order, classes, wallet_names(args))))
        return 0
    reviews = client.market_reviews(listing["provider"], limit=10)
    if args.json:
        emit(True, {"listing": listing, "rating": reviews.get("rating"), "reviews": reviews.get("reviews", [])})
    else:
        print("\n".join(_listing_text(listing, reviews, classes, wallet_names(args))))
    return 0


@_guard
def cmd_orders(args: argparse.Namespace) -> int:
    """An account's orders (as buyer and as provider, or one role), or a listing's: one list, one cursor."""
    want = _limit(args)
    client, classes = client_and_classes(args)
    account = _account_of(args, args.who) if args.who else None
    if args.role and not account:
        raise CliError("--role needs the account: incoop market orders KEY|ADDRESS --role buyer")
    listing = parse_id(args.listing, "listing").hex() if args.listing else None
    mine = {(args.role or "account"): account} if account else {}
    orders, following = reads.pages(lambda after: client.market_orders(
        listing=listing, status=args.status, limit=min(want, PAGE), after=after, **mine), "orders", want, args.after)
    names = {} if args.json else wallet_names(args)

    def text(order: dict) -> list[str]:
        side = "bought from" if order["buyer"] == account else "sold to"
        other = order["provider"] if side == "bought from" else order["buyer"]
        return [f"{order['id']}  {order['status']:<9}  {order['quantity']} × "
                f"{show_amount(classes, order['class'], int(order['unit_price']))} = "
                f"{show_amount(classes, order['class'], int(order['total']))}  "
                f"{side} {names.get(other, other)}"]

    return reads.show_page(args.json, "orders", orders, following, text, "no orders")


# --- the parser --------------------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    """Add `market` to the `incoop` parser."""
    command = functools.partial(add_command, *command_group(sub, "market"))

    def window(p: argparse.ArgumentParser) -> None:
        p.add_argument("--valid-from", metavar="WHEN", help="block time it opens: ISO date or date-time (UTC), ms, "
                                                             "or +DURATION from now (0: open)")
        p.add_argument("--valid-until", metavar="WHEN", help="block time it closes (an ISO date: through that day; "
                                                              "0: never)")

    p = command("list", "search listings: by category, provider, class, words of the title", cmd_list, signs=False)
    p.add_argument("--category", metavar="C")
    p.add_argument("--provider", metavar="KEY|ADDRESS")
    p.add_argument("--class", dest="class_id", metavar="ID", help="only listings that accept this class")
    p.add_argument("--words", metavar="TEXT", help="every word must be in the title (any case)")
    p.add_argument("--status", choices=(*LISTING_STATUSES, "all"), default="active", help="default: active")
    p.add_argument("--limit", type=int, default=50, help="how many listings (default 50)")
    p.add_argument("--after", metavar="CURSOR", help="the next page: the 'more' a previous page printed")

    p = command("show", "a listing with its provider's reviews, or an order", cmd_show, signs=False)
    p.add_argument("id", metavar="ID", help="a listing's or an order's id")

    p = command("publish", "offer goods or a service at a price per unit in each class you accept", cmd_publish)
    p.add_argument("--title", required=True, help="1 to 80 bytes")
    p.add_argument("--description", default="", help="up to 500 bytes")
    p.add_argument("--content-hash", metavar="HEX", help="SHA-256 of a longer text or an image kept off chain")
    p.add_argument("--category", required=True, metavar="C", help="what it is (a class must pay for it)")
    p.add_argument("--price", action="append", default=[], metavar="CLASS=AMOUNT",
                   help="price per unit in a class, in its units, e.g. welfare-acme-2026=3.50 (repeatable)")
    p.add_argument("--quantity", metavar="N", help="goods: units in stock")
    p.add_argument("--service", action="store_true", help="a service: no stock")
    p.add_argument("--delivery", choices=DELIVERY, required=True)
    window(p)
    p.add_argument("--return-window", required=True, metavar="DURATION",
                   help="once you accept, how long the buyer has to confirm or dispute: 1h to 90d (e.g. 14d)")
    p.add_argument("--arbiter", metavar="KEY|ADDRESS",
                   help="an authorised arbiter for disputes (default: the chain's, if it has only one)")
    p.add_argument("--id", metavar="HEX", help="the listing's id (default: drawn at random)")

    p = command("update", "change a listing's prices, stock, description or validity (the rest is kept)", cmd_update)
    p.add_argument("listing", metavar="LISTING")
    p.add_argument("--price", action="append", default=[], metavar="CLASS=AMOUNT",
                   help="the new prices, all of them (repeatable; default: unchanged)")
    p.add_argument("--quantity", metavar="N", help="units left (goods)")
    p.add_argument("--description")
    p.add_argument("--content-hash", metavar="HEX|none")
    window(p)

    for name, text in (("pause", "stop taking orders for a while"), ("resume", "take orders again"),
                       ("withdraw", "withdraw a listing for good (orders placed carry on)")):
        command(name, text, cmd_listing_status).add_argument("listing", metavar="LISTING")

    p = command("order", "buy: the total goes into escrow until the provider accepts or declines", cmd_order)
    p.add_argument("listing", metavar="LISTING")
    p.add_argument("--class", dest="class_id", required=True, metavar="ID", help="the credit class you pay in")
    p.add_argument("--quantity", type=int, default=1, help="units (default 1)")
    p.add_argument("--id", metavar="HEX", help="the order's id (default: drawn at random)")

    for name, text in (("accept", "the provider accepts an order"),
                       ("decline", "the provider declines an order: the buyer is refunded"),
                       ("cancel", "the buyer cancels an order not accepted yet: refunded"),
                       ("confirm", "the buyer confirms delivery: the provider is paid")):
        command(name, text, cmd_order_step).add_argument("order", metavar="ORDER")

    p = command("dispute", "the buyer disputes an accepted order within its window", cmd_dispute)
    p.add_argument("order", metavar="ORDER")
    p.add_argument("--reason", required=True, help="1 to 280 bytes")

    p = command("decide", "the arbiter decides a dispute: any split of the total", cmd_decide)
    p.add_argument("order", metavar="ORDER")
    p.add_argument("--to-provider", required=True, metavar="AMOUNT",
                   help="what the provider gets, in the class's units (0 to the total); the rest goes back")
    p.add_argument("--reason", required=True, help="1 to 280 bytes")

    p = command("orders", "an account's orders (as buyer and as provider), or a listing's", cmd_orders, signs=False)
    p.add_argument("who", nargs="?", metavar="KEY|ADDRESS")
    p.add_argument("--role", choices=("buyer", "provider"))
    p.add_argument("--listing", metavar="LISTING")
    p.add_argument("--status", choices=ORDER_STATUSES)
    p.add_argument("--limit", type=int, default=50, help="how many orders (default 50)")
    p.add_argument("--after", metavar="CURSOR", help="the next page: the 'more' a previous page printed")

    p = command("review", "the buyer of a completed order rates it (once)", cmd_review)
    p.add_argument("order", metavar="ORDER")
    p.add_argument("--rating", type=int, required=True, help="1 to 5")
    p.add_argument("--text", default="", help="up to 280 bytes (you may erase it later)")

    p = command("erase-review", "erase your review's text (GDPR); its rating still counts", cmd_erase_review)
    p.add_argument("order", metavar="ORDER")
