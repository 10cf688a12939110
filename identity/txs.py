"""The identity transactions: registration, keys, recovery, status and erasure.

Each type is a parse (the body's shape, at admission: a malformed body never
reaches a block) and an execute that checks everything first, raising one
precise result code, and only then writes (FORMAT.md §6.4). Who may do what:

- a registrar registers, starts and completes a recovery, sets the status and
  erases, and only for the identities it registered;
- a current key of an *active* identity adds, removes and rotates keys and
  cancels a recovery. A suspended identity's keys can do none of this, so a
  registrar that suspends an identity whose key was stolen can recover it
  without the thief cancelling the recovery.

The bindings `identacct/` and `identtag/` are written in the same
transaction as the identity record, so they can never disagree with it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from identity.binding import binding_ok
from identity.records import (
    ACTIVE,
    ACTIVE_COUNT_KEY,
    CLOSED,
    COMMITMENT_LEN,
    FINAL_STATUSES,
    ID_LEN,
    KINDS,
    MAX_KEYS,
    REVOKED,
    STATUSES,
    TAG_LEN,
    Identity,
    account_key,
    add_to_count,
    get_identity,
    identity_key,
    identity_of,
    is_registrar,
    tag_key,
)
from ledger import accounts, chain, fields
from ledger.crypto import SIGNATURE_LEN
from ledger.encoding import encode
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext, TxType
from ledger.state import Overlay

# --- field rules (MALFORMED at admission) ---------------------------------------------------


def identity_id(value: Any, field: str = "id") -> bytes:
    if type(value) is not bytes or len(value) != ID_LEN:
        raise TxError(Code.MALFORMED, f"{field} must be {ID_LEN} bytes")
    return value


def _fixed_bytes(value: Any, field: str, length: int) -> bytes:
    if type(value) is not bytes or len(value) != length:
        raise TxError(Code.MALFORMED, f"{field} must be {length} bytes")
    return value


def _choice(value: Any, field: str, options: tuple[str, ...]) -> str:
    if type(value) is not str or value not in options:
        raise TxError(Code.MALFORMED, f"{field} must be one of {', '.join(options)}")
    return value


def _key_list(value: Any) -> tuple[bytes, ...]:
    if type(value) is not tuple or not 1 <= len(value) <= MAX_KEYS:
        raise TxError(Code.MALFORMED, f"keys must be an array of 1 to {MAX_KEYS} keys")
    keys = tuple(fields.pubkey(k, f"keys[{i}]") for i, k in enumerate(value))
    if len(set(keys)) != len(keys):
        raise TxError(Code.MALFORMED, "keys must not repeat a key")
    return keys


# --- execution helpers ------------------------------------------------------------------


def _load(ctx: ExecContext, ident_id: bytes) -> Identity:
    identity = get_identity(ctx.state, ident_id)
    if identity is None:
        raise TxError(Code.UNKNOWN_IDENTITY)
    return identity


def _as_key_holder(ctx: ExecContext, ident_id: bytes) -> Identity:
    """The identity, if the signer is one of its current keys and it is active."""
    identity = _load(ctx, ident_id)
    if ctx.signer not in identity.keys:
        raise TxError(Code.NOT_IDENTITY_KEY)
    if identity.status != ACTIVE:
        raise TxError(Code.IDENTITY_NOT_ACTIVE, f"the identity is {identity.status}")
    return identity


def _as_registrar(ctx: ExecContext, ident_id: bytes) -> Identity:
    """The identity, if the signer is an authorised registrar and the one that registered it."""
    if not is_registrar(ctx.state, ctx.signer):
        raise TxError(Code.NOT_REGISTRAR)
    identity = _load(ctx, ident_id)
    if identity.registrar != ctx.signer:
        raise TxError(Code.NOT_IDENTITY_REGISTRAR)
    return identity


def _not_final(identity: Identity) -> None:
    if identity.status in FINAL_STATUSES:
        raise TxError(Code.IDENTITY_FINAL, f"the identity is {identity.status}")


def _unbound(ctx: ExecContext, key: bytes, allowed: bytes | None = None) -> None:
    bound = identity_of(ctx.state, key)
    if bound is not None and bound != allowed:
        raise TxError(Code.KEY_BOUND, f"key {key.hex()} is already bound to an identity")


def _binding(ctx: ExecContext, ident_id: bytes, key: bytes, signature: bytes) -> None:
    if not binding_ok(ctx.chain_id, ident_id, key, signature):
        raise TxError(Code.BAD_BINDING)


def _store(state: Overlay, ident_id: bytes, identity: Identity) -> None:
    state.put(identity_key(ident_id), identity._replace(keys=tuple(sorted(identity.keys))).encode())


def _count_status_change(state: Overlay, before: str, after: str) -> None:
    """Keep `idcount/active` the number of active identities (FORMAT.md §9)."""
    if before != after and ACTIVE in (before, after):
        add_to_count(state, ACTIVE_COUNT_KEY, 1 if after == ACTIVE else -1)


def _bind(state: Overlay, key: bytes, ident_id: bytes) -> None:
    """Every binding (register, add_key, rotate_key, recover_complete) also makes the key known to
    the chain, so that its holder may sign (FORMAT.md §8.1, §9)."""
    state.put(account_key(key), encode(ident_id))
    accounts.ensure_known(state, key)


def _unbind(state: Overlay, key: bytes) -> None:
    state.delete(account_key(key))


# --- identity.register ------------------------------------------------------------------


class RegisterBody(NamedTuple):
    id: bytes
    kind: str
    tag: bytes
    commitment: bytes
    keys: tuple[bytes, ...]


def _parse_register(body: tuple) -> RegisterBody:
    ident_id, kind, tag, commitment, keys = fields.expect_fields(body, RegisterBody._fields)
    return RegisterBody(
        identity_id(ident_id),
        _choice(kind, "kind", KINDS),
        _fixed_bytes(tag, "tag", TAG_LEN),
        _fixed_bytes(commitment, "commitment", COMMITMENT_LEN),
        _key_list(keys),
    )


def _execute_register(ctx: ExecContext, body: RegisterBody) -> None:
    if not is_registrar(ctx.state, ctx.signer):
        raise TxError(Code.NOT_REGISTRAR)
    if get_identity(ctx.state, body.id) is not None:
        raise TxError(Code.IDENTITY_EXISTS)
    if ctx.state.get(tag_key(body.tag)) is not None:
        raise TxError(Code.IDENTITY_DUPLICATE)
    keys = tuple(sorted(body.keys))
    for key in keys:
        _unbound(ctx, key)
    _store(ctx.state, body.id, Identity(body.kind, ACTIVE, ctx.signer, body.commitment, body.tag, keys, ctx.height, None))
    add_to_count(ctx.state, ACTIVE_COUNT_KEY, 1)
    ctx.state.put(tag_key(body.tag), encode(body.id))
    for key in keys:
        _bind(ctx.state, key, body.id)


# --- identity.add_key / remove_key / rotate_key ------------------------------------------


class AddKeyBody(NamedTuple):
    id: bytes
    new_key: bytes
    binding_signature: bytes


def _parse_add_key(body: tuple) -> AddKeyBody:
    ident_id, new_key, signature = fields.expect_fields(body, AddKeyBody._fields)
    return AddKeyBody(
        identity_id(ident_id), fields.pubkey(new_key, "new_key"), _fixed_bytes(signature, "binding_signature", SIGNATURE_LEN)
    )


def _execute_add_key(ctx: ExecContext, body: AddKeyBody) -> None:
    identity = _as_key_holder(ctx, body.id)
    _unbound(ctx, body.new_key)
    if len(identity.keys) >= MAX_KEYS:
        raise TxError(Code.TOO_MANY_KEYS, f"an identity has at most {MAX_KEYS} keys")
    _binding(ctx, body.id, body.new_key, body.binding_signature)
    _store(ctx.state, body.id, identity._replace(keys=(*identity.keys, body.new_key)))
    _bind(ctx.state, body.new_key, body.id)


class RemoveKeyBody(NamedTuple):
    id: bytes
    key: bytes


def _parse_remove_key(body: tuple) -> RemoveKeyBody:
    ident_id, key = fields.expect_fields(body, RemoveKeyBody._fields)
    return RemoveKeyBody(identity_id(ident_id), fields.pubkey(key, "key"))


def _execute_remove_key(ctx: ExecContext, body: RemoveKeyBody) -> None:
    identity = _as_key_holder(ctx, body.id)
    if body.key not in identity.keys:
        raise TxError(Code.KEY_NOT_FOUND)
    if len(identity.keys) == 1:
        raise TxError(Code.LAST_KEY)
    _store(ctx.state, body.id, identity._replace(keys=tuple(k for k in identity.keys if k != body.key)))
    _unbind(ctx.state, body.key)


class RotateKeyBody(NamedTuple):
    id: bytes
    old_key: bytes
    new_key: bytes
    binding_signature: bytes


def _parse_rotate_key(body: tuple) -> RotateKeyBody:
    ident_id, old_key, new_key, signature = fields.expect_fields(body, RotateKeyBody._fields)
    parsed = RotateKeyBody(
        identity_id(ident_id),
        fields.pubkey(old_key, "old_key"),
        fields.pubkey(new_key, "new_key"),
        _fixed_bytes(signature, "binding_signature", SIGNATURE_LEN),
    )
    if parsed.old_key == parsed.new_key:
        raise TxError(Code.MALFORMED, "old_key and new_key must differ")
    return parsed


def _execute_rotate_key(ctx: ExecContext, body: RotateKeyBody) -> None:
    identity = _as_key_holder(ctx, body.id)
    if body.old_key not in identity.keys:
        raise TxError(Code.KEY_NOT_FOUND)
    _unbound(ctx, body.new_key)
    _binding(ctx, body.id, body.new_key, body.binding_signature)
    keys = tuple(body.new_key if k == body.old_key else k for k in identity.keys)
    _store(ctx.state, body.id, identity._replace(keys=keys))
    _unbind(ctx.state, body.old_key)
    _bind(ctx.state, body.new_key, body.id)


# --- recovery ---------------------------------------------------------------------------


class RecoverStartBody(NamedTuple):
    id: bytes
    new_key: bytes


def _parse_recover_start(body: tuple) -> RecoverStartBody:
    ident_id, new_key = fields.expect_fields(body, RecoverStartBody._fields)
    return RecoverStartBody(identity_id(ident_id), fields.pubkey(new_key, "new_key"))


def _execute_recover_start(ctx: ExecContext, body: RecoverStartBody) -> None:
    identity = _as_registrar(ctx, body.id)
    _not_final(identity)
    if identity.recovery is not None:
        raise TxError(Code.RECOVERY_PENDING)
    _unbound(ctx, body.new_key)
    due = ctx.height + chain.get_params(ctx.state).recovery_delay_blocks
    _store(ctx.state, body.id, identity._replace(recovery=(body.new_key, due)))


class IdOnlyBody(NamedTuple):
    id: bytes


def _parse_id_only(body: tuple) -> IdOnlyBody:
    (ident_id,) = fields.expect_fields(body, IdOnlyBody._fields)
    return IdOnlyBody(identity_id(ident_id))


def _execute_recover_cancel(ctx: ExecContext, body: IdOnlyBody) -> None:
    identity = _as_key_holder(ctx, body.id)
    if identity.recovery is None:
        raise TxError(Code.NO_RECOVERY)
    _store(ctx.state, body.id, identity._replace(recovery=None))


def _execute_recover_complete(ctx: ExecContext, body: IdOnlyBody) -> None:
    identity = _as_registrar(ctx, body.id)
    _not_final(identity)
    if identity.recovery is None:
        raise TxError(Code.NO_RECOVERY)
    new_key, due = identity.recovery
    if ctx.height < due:
        raise TxError(Code.RECOVERY_NOT_DUE, f"the recovery may complete from height {due}")
    _unbound(ctx, new_key, allowed=body.id)  # bound elsewhere since the start: refuse
    _store(ctx.state, body.id, identity._replace(keys=(new_key,), recovery=None))
    for key in identity.keys:
        if key != new_key:
            _unbind(ctx.state, key)
    _bind(ctx.state, new_key, body.id)


# --- status and erasure -----------------------------------------------------------------


class SetStatusBody(NamedTuple):
    id: bytes
    status: str


def _parse_set_status(body: tuple) -> SetStatusBody:
    ident_id, status = fields.expect_fields(body, SetStatusBody._fields)
    return SetStatusBody(identity_id(ident_id), _choice(status, "status", STATUSES))


def _execute_set_status(ctx: ExecContext, body: SetStatusBody) -> None:
    identity = _as_registrar(ctx, body.id)
    _not_final(identity)
    recovery = None if body.status in FINAL_STATUSES else identity.recovery
    _store(ctx.state, body.id, identity._replace(status=body.status, recovery=recovery))
    _count_status_change(ctx.state, identity.status, body.status)


def _execute_erase(ctx: ExecContext, body: IdOnlyBody) -> None:
    """GDPR art. 17 on chain: drop the commitment and the tag; the identity stays, closed."""
    identity = _as_registrar(ctx, body.id)
    if identity.tag is None and identity.commitment is None:
        raise TxError(Code.ALREADY_ERASED)
    status = REVOKED if identity.status == REVOKED else CLOSED
    _store(ctx.state, body.id, identity._replace(status=status, commitment=None, tag=None, recovery=None))
    _count_status_change(ctx.state, identity.status, status)
    if identity.tag is not None:
        ctx.state.delete(tag_key(identity.tag))


# --- the types ------------------------------------------------------------

REGISTER = TxType("identity.register", _parse_register, _execute_register, lambda b: tuple(sorted(b.keys)))
ADD_KEY = TxType("identity.add_key", _parse_add_key, _execute_add_key, lambda b: (b.new_key,))
REMOVE_KEY = TxType("identity.remove_key", _parse_remove_key, _execute_remove_key, lambda b: (b.key,))
ROTATE_KEY = TxType("identity.rotate_key", _parse_rotate_key, _execute_rotate_key, lambda b: (b.old_key, b.new_key))
RECOVER_START = TxType("identity.recover_start", _parse_recover_start, _execute_recover_start, lambda b: (b.new_key,))
RECOVER_CANCEL = TxType("identity.recover_cancel", _parse_id_only, _execute_recover_cancel)
RECOVER_COMPLETE = TxType("identity.recover_complete", _parse_id_only, _execute_recover_complete)
SET_STATUS = TxType("identity.set_status", _parse_set_status, _execute_set_status)
ERASE = TxType("identity.erase", _parse_id_only, _execute_erase)
