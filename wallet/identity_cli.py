"""`incoop registrar …` and `incoop wallet identity …`: the identity registry from the command line.

A registrar registers a person or organisation in two places that must agree:
the personal record goes into its own node's vault (off chain), and the
registration transaction carries only a salted commitment to it and the
uniqueness tag (an HMAC of the tax code's canonical form under the
registrars' shared secret, so that every omocodic spelling of one codice
fiscale gives one tag: FORMAT.md §6.4.4). The record is checked first, the
tax code against its kind and its birth date, and refused in one line
naming the field before anything is written.
`register` writes the vault first, then submits; it reports success only once
the transaction is committed with result OK, and removes the vault record if
the chain refused it, so a refused registration leaves nothing behind.

`erase` goes the other way round: the chain forgets first (tag and commitment
cleared), then the vault record and its salt are deleted; run it again if the
second step failed, it resumes. It cannot be undone, so a person types the
identity id to confirm it (`--yes` for scripts; without a terminal and
without `--yes` it is refused before anything changes).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from cli.common import CliError, confirm, emit
from identity import records
from identity.binding import sign_binding
from identity.commitment import RecordError, parse_record
from identity.taxcode import TaxCodeError, uniqueness_tag
from keys.keystore import KeystoreError, read_private_file
from ledger.address import to_address
from ledger.crypto import SigningKey
from wallet.cli import (
    EXPIRY_WINDOW,
    _account_of,
    _client,
    _common,
    _guard,
    _key_info,
    _next_nonce,
    _password,
    _refused,
    _unlock,
    _waiting,
)
from wallet.client import NodeClient, NodeError
from wallet.txbuild import build_and_sign, parse_address

SECRET_ENV = "INCOOP_UNIQUENESS_SECRET_FILE"


def _identity_id(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != records.ID_LEN:
        raise CliError(f"{text!r} is not an identity id ({2 * records.ID_LEN} hex characters)")
    return value


def _secret(args: argparse.Namespace) -> bytes:
    path = args.secret_file or os.environ.get(SECRET_ENV)
    if not path:
        raise CliError(f"no uniqueness secret: give --secret-file or set {SECRET_ENV}")
    try:
        secret = read_private_file(path, "the uniqueness secret").strip()
    except KeystoreError as exc:
        raise CliError(str(exc)) from None
    if len(secret) < 32:
        raise CliError(f"the uniqueness secret in {path} is shorter than 32 bytes")
    return secret


def _signed_client(args: argparse.Namespace, key: SigningKey) -> NodeClient:
    plain = _client(args)
    return NodeClient(plain.base_url, signer=key, chain_id=plain.status()["chain_id"], ca_file=plain.ca_file)


def _commit(args: argparse.Namespace, client: NodeClient, key: SigningKey, type_: str, body: tuple) -> dict:
    """Sign with the account's next nonce and submit; unless --no-wait, wait for the block and
    raise CliError unless the result is OK. Returns what the node says of the transaction."""
    status = client.status()
    nonce = _next_nonce(client, _address(key))
    tx = build_and_sign(key, status["chain_id"], type_, nonce, status["height"] + EXPIRY_WINDOW, body)
    try:
        client.submit_tx(tx.raw)
    except NodeError as exc:
        raise _refused(tx, exc) from None
    if getattr(args, "no_wait", False):
        return {"hash": tx.hash.hex(), "status": "pending"}
    record = client.wait_for_tx(tx.hash.hex(), timeout=args.timeout)
    result = record.get("result") or record.get("error") or {}
    if record["status"] != "committed" or result.get("code") != "OK":
        where = f" at height {record['height']}" if record.get("height") else ""
        raise CliError(f"transaction {tx.hash.hex()} {record['status']}{where}: "
                       f"{result.get('code', '?')}: {result.get('message', '')}")
    return record


def _submit(args: argparse.Namespace, client: NodeClient, key: SigningKey, type_: str, body: tuple) -> int:
    record = _commit(args, client, key, type_, body)
    where = f" at height {record['height']}" if record.get("height") else ""
    emit(args.json, record, f"{record['status']} {record['hash']}{where}")
    return 0


def _address(key: SigningKey) -> str:
    return to_address(key.pubkey)


def _on_chain(client: NodeClient, identity_id: bytes) -> dict:
    try:
        return client.identity(identity_id)
    except NodeError as exc:
        if exc.code == "NOT_FOUND":
            raise CliError(f"no identity {identity_id.hex()} on the chain") from None
        raise


# --- incoop registrar ---------------------------------------------------------------


@_guard
def cmd_register(args: argparse.Namespace) -> int:
    try:
        data = json.loads(Path(args.record).read_text(encoding="utf-8"))
        record = parse_record(data)
    except OSError as exc:
        raise CliError(f"cannot read {args.record}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise CliError(f"{args.record} is not JSON: {exc.msg} at line {exc.lineno}") from None
    except (RecordError, TaxCodeError) as exc:
        raise CliError(f"{args.record}: {exc}") from None
    keys = [parse_address(_account_of(args, who), "key") for who in args.key]
    if not keys:
        raise CliError("give at least one --key: the account(s) the identity will sign with")
    tag = uniqueness_tag(_secret(args), record.tax_code)
    key, _ = _unlock(args, args.registrar)
    client = _signed_client(args, key)
    identity_id = os.urandom(records.ID_LEN)
    stored = client.vault_store(identity_id, record.model_dump(mode="json", exclude_none=True))
    commitment = bytes.fromhex(stored["commitment"])
    body = (identity_id, record.kind, tag, commitment, tuple(sorted(keys)))
    args.no_wait = False  # success is only reported for a committed registration
    try:
        committed = _commit(args, client, key, "identity.register", body)
    except (CliError, NodeError) as exc:
        try:
            client.vault_erase(identity_id)
            undone = "the vault record was removed again"
        except NodeError as undo:
            undone = f"and removing the vault record failed too ({undo}); erase {identity_id.hex()} by hand"
        raise CliError(f"registration refused: {exc}; {undone}") from None
    emit(args.json, {"id": identity_id.hex(), "tx": committed["hash"], "height": committed["height"]},
         f"identity {identity_id.hex()} registered at height {committed['height']}")
    return 0


def _registrar_tx(args: argparse.Namespace, type_: str, body: tuple) -> int:
    key, _ = _unlock(args, args.registrar)
    return _submit(args, _client(args), key, type_, body)


@_guard
def cmd_status(args: argparse.Namespace) -> int:
    status = {"suspend": records.SUSPENDED, "revoke": records.REVOKED, "reactivate": records.ACTIVE,
              "close": records.CLOSED}[args.registrar_command]
    return _registrar_tx(args, "identity.set_status", (_identity_id(args.id), status))


@_guard
def cmd_recover(args: argparse.Namespace) -> int:
    identity_id = _identity_id(args.id)
    if args.complete:
        return _registrar_tx(args, "identity.recover_complete", (identity_id,))
    if not args.new_key:
        raise CliError("give --new-key (to start a recovery) or --complete (once its delay has passed)")
    new_key = parse_address(_account_of(args, args.new_key), "new key")
    return _registrar_tx(args, "identity.recover_start", (identity_id, new_key))


@_guard
def cmd_attest(args: argparse.Namespace) -> int:
    identity_id = _identity_id(args.id)
    if args.revoke:
        return _registrar_tx(args, "attest.revoke", (identity_id, args.attribute))
    return _registrar_tx(args, "attest.issue", (identity_id, args.attribute, args.expiry_height))


@_guard
def cmd_erase(args: argparse.Namespace) -> int:
    identity_id = _identity_id(args.id)
    key, _ = _unlock(args, args.registrar)
    client = _signed_client(args, key)
    identity = _on_chain(client, identity_id)
    confirm(f"erase identity {identity_id.hex()[:12]}…", identity_id.hex(), args.yes,
            f"identity {identity_id.hex()} ({identity['kind']}, {identity['status']}, registrar "
            f"{identity['registrar']}): erasing clears its tag and commitment on chain and deletes its "
            "personal record and salt from the vault, for good (export it first to keep a copy).")
    if identity["tag"] is not None or identity["commitment"] is not None:
        args.no_wait = False
        _commit(args, client, key, "identity.erase", (identity_id,))
    try:
        client.vault_erase(identity_id)
    except NodeError as exc:
        if exc.code != "NOT_FOUND":
            raise CliError(f"the chain has forgotten {identity_id.hex()}, but the vault erasure failed: {exc}; "
                           "run erase again") from None
    emit(args.json, {"id": identity_id.hex(), "erased": True},
         f"identity {identity_id.hex()} erased: tag and commitment cleared on chain, record and salt deleted")
    return 0


def _write_export(args: argparse.Namespace, document: dict, identity_id: bytes) -> int:
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if args.out:
        out = Path(args.out)
        if out.exists():
            raise CliError(f"{out} exists; not overwriting it")
        out.write_text(text, encoding="utf-8")
        out.chmod(0o600)
        emit(args.json, {"id": identity_id.hex(), "file": str(out)}, f"wrote {out}")
    else:
        print(text, end="")
    return 0


@_guard
def cmd_export(args: argparse.Namespace) -> int:
    identity_id = _identity_id(args.id)
    key, _ = _unlock(args, args.registrar)
    return _write_export(args, _signed_client(args, key).vault_export(identity_id), identity_id)


# --- incoop wallet identity -------------------------------------------------------------


def _own_identity(client: NodeClient, address: str) -> bytes:
    found = client.account(address).get("identity")
    if found is None:
        raise CliError(f"{address} is not bound to any identity")
    return bytes.fromhex(found)


@_guard
def cmd_show(args: argparse.Namespace) -> int:
    client = _client(args)
    address = _account_of(args, args.who)
    identity = _on_chain(client, _own_identity(client, address))
    if args.json:
        emit(True, identity)
        return 0
    lines = [f"identity {identity['id']} ({identity['kind']}, {identity['status']}), registrar {identity['registrar']}"]
    lines += [f"  key {k}" for k in identity["keys"]]
    if identity["recovery"]:
        lines.append(f"  recovery pending: key {identity['recovery']['new_key']} from height "
                     f"{identity['recovery']['due_height']} (cancel with: incoop wallet identity cancel-recovery)")
    for att in identity["attestations"]:
        expiry = f" until height {att['expiry_height']}" if att["expiry_height"] else ""
        lines.append(f"  {att['attribute']} attested by {att['attester']}{expiry}{'' if att['valid'] else ' (expired)'}")
    print("\n".join(lines))
    return 0


@_guard
def cmd_add_key(args: argparse.Namespace) -> int:
    client = _client(args)
    info = _key_info(args, args.sender)
    identity_id = _own_identity(client, info.address)
    key, _ = _unlock(args, args.sender)
    new_key, _ = _unlock(args, args.new)
    binding = sign_binding(new_key, client.status()["chain_id"], identity_id)
    if args.replace:
        old = parse_address(_account_of(args, args.replace), "key to replace")
        return _submit(args, client, key, "identity.rotate_key", (identity_id, old, new_key.pubkey, binding))
    return _submit(args, client, key, "identity.add_key", (identity_id, new_key.pubkey, binding))


@_guard
def cmd_remove_key(args: argparse.Namespace) -> int:
    client = _client(args)
    info = _key_info(args, args.sender)
    identity_id = _own_identity(client, info.address)
    gone = parse_address(_account_of(args, args.key), "key to remove")
    key, _ = _unlock(args, args.sender)
    return _submit(args, client, key, "identity.remove_key", (identity_id, gone))


@_guard
def cmd_cancel_recovery(args: argparse.Namespace) -> int:
    client = _client(args)
    info = _key_info(args, args.sender)
    identity_id = _own_identity(client, info.address)
    key, _ = _unlock(args, args.sender)
    return _submit(args, client, key, "identity.recover_cancel", (identity_id,))


@_guard
def cmd_my_record(args: argparse.Namespace) -> int:
    """GDPR art. 15/20: the subject's own record, from its registrar's node (--node)."""
    client = _client(args)
    info = _key_info(args, args.sender)
    identity_id = _own_identity(client, info.address)
    key, _ = _unlock(args, args.sender)
    return _write_export(args, _signed_client(args, key).vault_export(identity_id), identity_id)


# --- parsers ------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    """Add `registrar` to the `incoop` parser."""
    common = _common()
    registrar = sub.add_parser("registrar")  # its --help line: node/cli.py COMMANDS
    rsub = registrar.add_subparsers(dest="registrar_command", metavar="REGISTRAR_COMMAND")
    rsub.required = True

    def command(name: str, help_text: str, func, waits: bool = True) -> argparse.ArgumentParser:
        p = rsub.add_parser(name, parents=[common], help=help_text)
        p.add_argument("--as", dest="registrar", required=True, metavar="KEY",
                       help="the wallet key that signs (the registrar's, or an attester's)")
        _password(p)
        if waits:
            _waiting(p)
        p.set_defaults(func=func)
        return p

    p = command("register", "check a personal record, keep it in the vault, register the identity on chain", cmd_register)
    p.add_argument("--record", required=True, metavar="FILE", help="the personal record (JSON: kind, name, tax_code, ...)")
    p.add_argument("--key", action="append", default=[], metavar="KEY",
                   help="an account the identity signs with: a wallet key name or an address (repeatable)")
    p.add_argument("--secret-file", metavar="FILE", help=f"the registrars' uniqueness secret (default: ${SECRET_ENV})")
    for name, text in (("suspend", "suspend an identity: its accounts can receive but not spend"),
                       ("revoke", "revoke an identity for good"),
                       ("reactivate", "make a suspended identity active again"),
                       ("close", "close an identity (deceased, dissolved)")):
        command(name, text, cmd_status).add_argument("id", help="the identity id")
    p = command("recover", "bind a new key to an identity whose keys are lost, after the recovery delay", cmd_recover)
    p.add_argument("id")
    p.add_argument("--new-key", metavar="KEY", help="start: the key to bind (a wallet key name or an address)")
    p.add_argument("--complete", action="store_true", help="finish a recovery whose delay has passed")
    p = command("attest", "attest an attribute of an identity (member:<coop>, employee:<company>, ...)", cmd_attest)
    p.add_argument("id")
    p.add_argument("attribute")
    p.add_argument("--expiry-height", type=int, default=0, metavar="H", help="the last height it holds (default: none)")
    p.add_argument("--revoke", action="store_true", help="revoke an attestation this key issued")
    p = command("erase", "GDPR erasure: clear tag and commitment on chain, delete the record and salt", cmd_erase)
    p.add_argument("id")
    p.add_argument("--yes", action="store_true",
                   help="do not ask to type the id first (for scripts; without a terminal it is required)")
    p = command("export", "the record, salt and identity as JSON (GDPR art. 15/20)", cmd_export, waits=False)
    p.add_argument("id")
    p.add_argument("--out", metavar="FILE", help="write to FILE (mode 0600) instead of standard output")


def register_wallet(wsub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `wallet identity …`."""
    identity = wsub.add_parser("identity", help="your identity: show it, add or remove keys, cancel a recovery")
    isub = identity.add_subparsers(dest="identity_command", metavar="IDENTITY_COMMAND")
    isub.required = True
    p = isub.add_parser("show", parents=[common], help="the identity a key or address belongs to")
    p.add_argument("who", help="a wallet key name or an address")
    p.set_defaults(func=cmd_show)
    p = isub.add_parser("add-key", parents=[common], help="bind another wallet key (a new device) to your identity")
    p.add_argument("--from", dest="sender", required=True, metavar="KEY", help="a key already in the identity")
    p.add_argument("--new", required=True, metavar="KEY", help="the wallet key to bind (it signs its consent)")
    p.add_argument("--replace", metavar="KEY", help="rotate: the key it replaces")
    _password(p)
    _waiting(p)
    p.set_defaults(func=cmd_add_key)
    p = isub.add_parser("remove-key", parents=[common], help="unbind a key from your identity (never the last)")
    p.add_argument("--from", dest="sender", required=True, metavar="KEY")
    p.add_argument("--key", required=True, metavar="KEY", help="the key to remove (a wallet key name or an address)")
    _password(p)
    _waiting(p)
    p.set_defaults(func=cmd_remove_key)
    p = isub.add_parser("cancel-recovery", parents=[common], help="cancel a recovery you did not ask for")
    p.add_argument("--from", dest="sender", required=True, metavar="KEY")
    _password(p)
    _waiting(p)
    p.set_defaults(func=cmd_cancel_recovery)
    p = isub.add_parser("record", parents=[common], help="your personal record from your registrar's node (--node)")
    p.add_argument("--from", dest="sender", required=True, metavar="KEY")
    p.add_argument("--out", metavar="FILE", help="write to FILE (mode 0600) instead of standard output")
    _password(p)
    p.set_defaults(func=cmd_my_record)
