"""`incoop wallet request` and `incoop wallet pay`: paying a provider, by hand or from a payment request.

A provider prints a request (FORMAT.md §20: an `incoop:` URI and
its QR code); the payer's wallet reads it, checks it is for this chain, shows
what it is about to sign, and pays with `credits.pay`, which the ledger checks
against the class's rules (category, accreditation, validity, freeze).
"""

from __future__ import annotations

import argparse
import io
import sys

import segno

from cli.common import CliError, emit, format_amount, parse_amount
from ledger.address import to_address
from wallet.cli import (
    EXPIRY_WINDOW,
    _account_of,
    _Classes,
    _client,
    _guard,
    _key_info,
    _next_nonce,
    _password,
    _refused,
    _report,
    _unlock,
    _waiting,
)
from wallet.client import NodeError
from wallet.payment_request import (
    PaymentRequest,
    PaymentRequestError,
    format_request,
    parse_request,
)
from wallet.txbuild import build_and_sign, parse_address


@_guard
def cmd_request(args: argparse.Namespace) -> int:
    client = _client(args)
    chain_id = client.status()["chain_id"]
    payee = _account_of(args, args.to)
    amount = None
    if args.amount is not None:
        amount = parse_amount(args.amount, int(_Classes(client).require(args.class_id)["decimals"]))
    try:
        uri = format_request(PaymentRequest(payee, chain_id, args.class_id, amount, args.ref, args.category))
    except PaymentRequestError as exc:
        raise CliError(f"cannot make the request: {exc}") from None
    if args.json:
        emit(True, {"uri": uri})
        return 0
    print(uri)
    if not args.no_qr:
        print(draw_qr(uri), end="")
    return 0


def draw_qr(uri: str) -> str:
    """The URI as a QR code (FORMAT.md §20.4) in half-block characters, two modules per line.

    Drawn light-on-dark: the quiet zone and the light modules are full blocks, so a
    phone scans it from a terminal with a dark background, the common one.
    """
    out = io.StringIO()
    segno.make(uri, error="m", micro=False).terminal(out=out, compact=True)
    return out.getvalue()


def _request_from(args: argparse.Namespace, chain_id: str) -> PaymentRequest:
    """The payment to make: from --request, or from the options; options fill what a request leaves open."""
    if args.request:
        try:
            request = parse_request(args.request)
        except PaymentRequestError as exc:
            raise CliError(f"not a valid payment request: {exc}") from None
        if request.chain_id != chain_id:
            raise CliError(f"the request is for chain {request.chain_id!r}, the node is on {chain_id!r}")
        for name in ("to", "class_id"):
            if getattr(args, name):
                raise CliError(f"--{name.replace('_id', '')} comes from the request; leave it out")
        return request
    if not args.to or not args.class_id:
        raise CliError("give --request URI, or --to PROVIDER and --class ID")
    return PaymentRequest(args.to, chain_id, args.class_id)


@_guard
def cmd_pay(args: argparse.Namespace) -> int:
    info = _key_info(args, args.sender)
    client = _client(args)
    status = client.status()
    request = _request_from(args, status["chain_id"])
    provider = parse_address(_account_of(args, request.address), "provider address")
    credit_class = _Classes(client).require(request.class_id)
    decimals = int(credit_class["decimals"])
    amount = request.amount
    if args.amount is not None:
        typed = parse_amount(args.amount, decimals)
        if amount is not None and typed != amount:
            raise CliError(f"the request asks for {format_amount(amount, decimals)}, not {args.amount}")
        amount = typed
    if amount is None:
        raise CliError("the amount is missing: give --amount")
    category = request.category or args.category
    if not category:
        raise CliError("the category is missing: give --category (what the payment is for)")
    reference = request.ref or args.ref or ""
    if sys.stderr.isatty():  # a person sees what is signed; a script's stderr stays one line on failure
        print(f"paying {format_amount(amount, decimals)} {request.class_id} to {to_address(provider)} "
              f"for {category}{f' (ref {reference})' if reference else ''}", file=sys.stderr)
    key, _ = _unlock(args, args.sender)
    nonce = _next_nonce(client, info.address)
    tx = build_and_sign(key, status["chain_id"], "credits.pay", nonce, int(status["height"]) + EXPIRY_WINDOW,
                        (request.class_id, provider, amount, category, reference))
    try:
        client.submit_tx(tx.raw)
    except NodeError as exc:
        raise _refused(tx, exc) from None
    return _report(args, client, tx)


def register_wallet(wsub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `wallet request` and `wallet pay`."""
    p = wsub.add_parser("request", parents=[common], help="print a payment request (incoop: URI and QR code)")
    p.add_argument("--to", required=True, metavar="KEY", help="who is paid: a wallet key name or an address")
    p.add_argument("--class", dest="class_id", required=True, metavar="ID")
    p.add_argument("--amount", help="in the class's units, e.g. 12.50 (default: the payer chooses)")
    p.add_argument("--ref", help="the order reference the payment will carry")
    p.add_argument("--category", help="what is paid for (a category of the class)")
    p.add_argument("--no-qr", action="store_true", help="print the URI only")
    p.set_defaults(func=cmd_request)
    p = wsub.add_parser("pay", parents=[common], help="pay an accredited provider, by hand or from a request")
    p.add_argument("--from", dest="sender", required=True, metavar="KEY")
    p.add_argument("--request", metavar="URI", help="an incoop: payment request")
    p.add_argument("--to", metavar="PROVIDER", help="the provider (without --request)")
    p.add_argument("--class", dest="class_id", metavar="ID", help="the credit class (without --request)")
    p.add_argument("--amount", help="in the class's units (required unless the request names it)")
    p.add_argument("--category", help="what is paid for (required unless the request names it)")
    p.add_argument("--ref", help="the order reference (unless the request names it)")
    _password(p)
    _waiting(p)
    p.set_defaults(func=cmd_pay)
