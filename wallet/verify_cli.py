"""`incoop wallet verify-balance`: a balance checked against the genesis validators, not the node's word.

A resident should not have to trust their cooperative's node to know what
they hold. The node answers with a light proof (FORMAT.md §21); this command
checks it with `ledger.lightproof` against the validator set of a genesis
file the resident trusts, and says either the proven balance or, in one line,
which promise the node broke.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from cli.common import CliError, emit, format_amount
from genesis.document import Genesis, GenesisError, load_genesis
from ledger.address import from_address
from ledger.lightproof import (
    BalanceProof,
    ProofFormatError,
    ProofRejected,
    TrustedSet,
    VerifiedBalance,
    decode_balance_proof,
    verify_balance_proof,
)
from wallet.cli import _account_of, _client, _guard
from wallet.client import NodeClient

HASH_PREFIX = 16


def trusted_set(genesis: Genesis) -> TrustedSet:
    """The validators of height 1, straight from the trusted genesis document."""
    return TrustedSet(tuple(from_address(v.pubkey) for v in genesis.validators), 0)


def _bundle(answer: object) -> BalanceProof:
    """The canonical bundle out of the node's JSON; anything else is a malformed answer."""
    proof = answer.get("proof") if isinstance(answer, dict) else None
    if not isinstance(proof, str):
        raise ProofFormatError("the answer carries no proof")
    try:
        raw = bytes.fromhex(proof)
    except ValueError:
        raise ProofFormatError("the proof is not hex") from None
    return decode_balance_proof(raw)


def _genesis_note(client: NodeClient, genesis_hash: str) -> str | None:
    """A sanity remark only: the proof stands or falls on the trusted validators, whatever the node says here."""
    claimed = client.status().get("genesis_hash")
    if claimed == genesis_hash:
        return None
    return f"the node reports genesis {str(claimed)[:HASH_PREFIX]}, not the file's {genesis_hash[:HASH_PREFIX]}"


def _describe(verified: VerifiedBalance, address: str, genesis_hash: str, updates: int) -> str:
    when = datetime.fromtimestamp(verified.time_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    amount = format_amount(verified.amount, verified.decimals)
    # a set changed by vote (FORMAT.md §6.8) is reached from the genesis set through certified updates (§21)
    followed = "" if updates == 0 else f", reached from them through {updates} certified validator-set update(s)"
    return (
        f"balance of {address} in {verified.class_id}: {amount} at block {verified.height} ({when}), "
        f"proved against {verified.signers} of {verified.validators} validators of genesis {genesis_hash[:HASH_PREFIX]}"
        f"{followed}"
    )


@_guard
def cmd_verify_balance(args: argparse.Namespace) -> int:
    try:
        genesis = load_genesis(args.genesis)
    except GenesisError as exc:
        raise CliError(str(exc)) from None
    genesis_hash = genesis.hash().hex()
    address = _account_of(args, args.account)
    client = _client(args)
    answer = client.account_proof(address, args.class_id)
    note = _genesis_note(client, genesis_hash)
    try:
        bundle = _bundle(answer)
        verified = verify_balance_proof(
            bundle, trusted_set(genesis), genesis.chain_id, from_address(address), args.class_id
        )
    except ProofRejected as exc:
        reason = str(exc) if note is None else f"{exc} ({note})"
        raise CliError(f"the node's answer does not prove the balance: {reason}") from None
    if note is not None:
        print(f"incoop: warning: {note}", file=sys.stderr)
    data = {
        "address": address,
        "class": verified.class_id,
        "amount": verified.amount,
        "decimals": verified.decimals,
        "formatted": format_amount(verified.amount, verified.decimals),
        "height": verified.height,
        "time_ms": verified.time_ms,
        "block_hash": verified.block_hash.hex(),
        "signers": verified.signers,
        "validators": verified.validators,
        "set_updates": len(bundle.updates),
        "genesis_hash": genesis_hash,
    }
    emit(args.json, data, _describe(verified, address, genesis_hash, len(bundle.updates)))
    return 0


def register_wallet(wsub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `wallet verify-balance`."""
    p = wsub.add_parser(
        "verify-balance", parents=[common], help="prove a balance against the genesis validators, without trusting the node"
    )
    p.add_argument("account", metavar="NAME|ADDRESS")
    p.add_argument("--class", dest="class_id", required=True, metavar="ID")
    p.add_argument("--genesis", required=True, metavar="FILE", help="the genesis document you trust")
    p.set_defaults(func=cmd_verify_balance)
