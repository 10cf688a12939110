"""The federation's own rules: proposals, approvals by the validators, and the change at its height
(FORMAT.md §6.8).

Who governs the ledger is the current validator set: a validator proposes a
change (the set, a role, a chain parameter) for a stated future height; the
change is approved once more than two thirds of the current set have
approved it (the proposer's own proposal is its first approval), and it is
applied, as one atomic write, by the end-of-block step of the block before
the effective height, so that the effective block is the first one whose
header names the new set and whose certificate the new set signs. Openethereum
applied set changes at the voting transaction's inclusion and nodes disagreed
on when (docs: /work/shared/CONSENSUS.md, "Later, when governance changes the
validator set"); here the height is in the record, and everyone reads the set
from the state.

Every rule reads only the state, the block's height and the signer: no
clock. A change is checked when proposed and again when applied (another
change may have come first): a change that no longer applies is recorded as
failed with its code, and the state is untouched.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from governance import federation_records as rec
from governance.federation_records import APPLIED, APPROVED, EXPIRED, FAILED, PENDING, Proposal
from identity import records as identity_records
from ledger import accounts, chain, credits, fields
from ledger.deadlines import schedule_at_height
from ledger.encoding import encode
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext, TxType
from ledger.state import Overlay, StateReader
from market import records as market_records

# --- the change: its shape ----------------------------------------------------------------------


def _address(value: Any, field: str) -> str:
    address = fields.text(value, field, rec.MAX_ADDRESS, least=1)
    if rec.ADDRESS.fullmatch(address) is None:
        raise TxError(Code.MALFORMED, f"{field} must be a peer address ws://host:port or wss://host:port")
    return address


def parse_change(value: Any) -> tuple[Any, ...]:
    """The change array checked for shape (MALFORMED): FORMAT.md §6.8, "Changes"."""
    if type(value) is not tuple or not value or value[0] not in rec.KINDS:
        raise TxError(Code.MALFORMED, f"change must be an array whose first element is one of {', '.join(rec.KINDS)}")
    kind, args = value[0], value[1:]
    arity = {rec.ADD: 2, rec.REMOVE: 1, rec.REPLACE: 3, rec.SET_PARAM: 2, rec.AUTHORISE: 4, rec.REVOKE: 2}[kind]
    if len(args) != arity:
        raise TxError(Code.MALFORMED, f"a {kind} change has {arity} argument(s)")
    if kind == rec.ADD:
        return (kind, fields.pubkey(args[0], "pubkey"), _address(args[1], "address"))
    if kind == rec.REMOVE:
        return (kind, fields.pubkey(args[0], "pubkey"))
    if kind == rec.REPLACE:
        old, new = fields.pubkey(args[0], "old"), fields.pubkey(args[1], "new")
        if old == new:
            raise TxError(Code.MALFORMED, "a replacement names two different keys")
        return (kind, old, new, _address(args[2], "address"))
    if kind == rec.SET_PARAM:
        name, value_ = args
        if name not in rec.PARAM_BOUNDS:
            raise TxError(Code.MALFORMED, f"param must be one of {', '.join(rec.PARAM_BOUNDS)}")
        low, high = rec.PARAM_BOUNDS[name]
        if type(value_) is not int or not low <= value_ <= high:
            raise TxError(Code.MALFORMED, f"{name} must be an integer from {low} to {high}")
        return (kind, name, value_)
    role = args[0]
    if role not in rec.ROLES:
        raise TxError(Code.MALFORMED, f"role must be one of {', '.join(rec.ROLES)}")
    account = fields.pubkey(args[1], "account")
    if kind == rec.REVOKE:
        return (kind, role, account)
    name = fields.text(args[2], "name", rec.MAX_NAME, least=1)
    patterns = args[3]
    if type(patterns) is not tuple:
        raise TxError(Code.MALFORMED, "patterns must be an array")
    if role == "attester":
        if not 1 <= len(patterns) <= identity_records.MAX_PATTERNS or not all(identity_records.is_pattern(p) for p in patterns):
            raise TxError(Code.MALFORMED, f"an attester has 1 to {identity_records.MAX_PATTERNS} attribute patterns")
        if list(patterns) != sorted(set(patterns)):
            raise TxError(Code.MALFORMED, "patterns must be in ascending order, each once")
    elif patterns:
        raise TxError(Code.MALFORMED, "only an attester has patterns")
    return (kind, role, account, name, tuple(patterns))


# --- the change: whether it applies, and applying it -----------------------------------------------

_ROLE_KEY = {
    "registrar": identity_records.registrar_key,
    "issuer": credits.issuer_key,
    "attester": identity_records.attester_key,
    "arbiter": market_records.arbiter_key,
}


def check_change(state: StateReader, change: tuple[Any, ...]) -> None:
    """CHANGE_REFUSED unless the change applies to the state as it stands (FORMAT.md §6.8, "Set rules")."""
    kind = change[0]
    validators = chain.get_validators(state)
    if kind == rec.ADD:
        if change[1] in validators:
            raise TxError(Code.CHANGE_REFUSED, "the key is a validator already")
        if len(validators) >= rec.MAX_VALIDATORS:
            raise TxError(Code.CHANGE_REFUSED, f"the set has {rec.MAX_VALIDATORS} validators, the most allowed")
    elif kind == rec.REMOVE:
        if change[1] not in validators:
            raise TxError(Code.CHANGE_REFUSED, "the key is not a validator")
        if len(validators) - 1 < rec.MIN_VALIDATORS:
            raise TxError(Code.CHANGE_REFUSED, f"the set would have fewer than {rec.MIN_VALIDATORS} validator(s)")
    elif kind == rec.REPLACE:
        if change[1] not in validators:
            raise TxError(Code.CHANGE_REFUSED, "the key replaced is not a validator")
        if change[2] in validators:
            raise TxError(Code.CHANGE_REFUSED, "the new key is a validator already")
    elif kind == rec.SET_PARAM:
        problem = chain.params_problem(chain.get_params(state)._replace(**{change[1]: change[2]}))
        if problem is not None:
            raise TxError(Code.CHANGE_REFUSED, problem)
    else:
        held = state.get(_ROLE_KEY[change[1]](change[2])) is not None
        if kind == rec.AUTHORISE and held:
            raise TxError(Code.CHANGE_REFUSED, f"the account is a {change[1]} already")
        if kind == rec.REVOKE and not held:
            raise TxError(Code.CHANGE_REFUSED, f"the account is not a {change[1]}")


def apply_change(state: Overlay, change: tuple[Any, ...]) -> None:
    """The change written at once: a new set is one write of `sys/validators`, never a sequence."""
    check_change(state, change)
    kind = change[0]
    validators = chain.get_validators(state)
    if kind == rec.ADD:
        chain.set_validators(state, (*validators, change[1]))
        state.put(rec.peer_key(change[1]), encode((change[2],)))
        accounts.ensure_known(state, change[1])
    elif kind == rec.REMOVE:
        chain.set_validators(state, tuple(v for v in validators if v != change[1]))
        state.delete(rec.peer_key(change[1]))
    elif kind == rec.REPLACE:
        chain.set_validators(state, tuple(change[2] if v == change[1] else v for v in validators))
        state.delete(rec.peer_key(change[1]))
        state.put(rec.peer_key(change[2]), encode((change[3],)))
        accounts.ensure_known(state, change[2])
    elif kind == rec.SET_PARAM:
        chain.set_params(state, chain.get_params(state)._replace(**{change[1]: change[2]}))
    elif kind == rec.AUTHORISE:
        role, account, name, patterns = change[1:]
        value = identity_records.Attester(name, patterns).encode() if role == "attester" else encode((name,))
        state.put(_ROLE_KEY[role](account), value)
        accounts.ensure_known(state, account)
    else:
        state.delete(_ROLE_KEY[change[1]](change[2]))


# --- the transactions -----------------------------------------------------------------------------


class ProposeBody(NamedTuple):
    proposal_id: bytes
    change: tuple[Any, ...]
    effective_height: int


class ApproveBody(NamedTuple):
    proposal_id: bytes


def _proposal_id(value: Any) -> bytes:
    if type(value) is not bytes or len(value) != rec.ID_LEN:
        raise TxError(Code.MALFORMED, f"proposal_id must be {rec.ID_LEN} bytes")
    return value


def parse_propose(body: tuple) -> ProposeBody:
    proposal_id, change, effective_height = fields.expect_fields(body, ProposeBody._fields)
    return ProposeBody(_proposal_id(proposal_id), parse_change(change),
                       fields.uint(effective_height, "effective_height", 2**63 - 1))


def parse_approve(body: tuple) -> ApproveBody:
    (proposal_id,) = fields.expect_fields(body, ApproveBody._fields)
    return ApproveBody(_proposal_id(proposal_id))


def _require_validator(ctx: ExecContext) -> tuple[bytes, ...]:
    validators = chain.get_validators(ctx.state)
    if ctx.signer not in validators:
        raise TxError(Code.NOT_VALIDATOR)
    return validators


def _record_approval(ctx: ExecContext, proposal_id: bytes, proposal: Proposal, validators: tuple[bytes, ...]) -> None:
    """Add the signer's approval; approved once more than two thirds of the current set have approved."""
    approvals = tuple(sorted({*proposal.approvals, ctx.signer}))
    counted = sum(1 for a in approvals if a in validators)  # a validator since removed no longer counts
    status = APPROVED if counted >= chain.quorum(len(validators)) else PENDING
    ctx.state.put(rec.proposal_key(proposal_id), proposal._replace(approvals=approvals, status=status).encode())


def execute_propose(ctx: ExecContext, body: ProposeBody) -> None:
    validators = _require_validator(ctx)
    if ctx.state.get(rec.proposal_key(body.proposal_id)) is not None:
        raise TxError(Code.PROPOSAL_EXISTS)
    if not ctx.height + rec.MIN_LEAD_BLOCKS <= body.effective_height <= ctx.height + rec.MAX_LEAD_BLOCKS:
        raise TxError(Code.EFFECTIVE_HEIGHT_OUT_OF_RANGE,
                      f"effective_height must be {ctx.height + rec.MIN_LEAD_BLOCKS} to {ctx.height + rec.MAX_LEAD_BLOCKS}")
    opened = rec.open_count(ctx.state, ctx.signer)
    if opened >= rec.MAX_OPEN_PER_VALIDATOR:
        raise TxError(Code.TOO_MANY_OPEN_PROPOSALS)
    check_change(ctx.state, body.change)
    proposal = Proposal(ctx.signer, body.change, body.effective_height, (), PENDING, 0, ctx.height)
    ctx.state.put(rec.open_key(ctx.signer), encode((opened + 1,)))
    schedule_at_height(ctx.state, rec.MODULE_NAME, proposal.due_height, body.proposal_id)
    _record_approval(ctx, body.proposal_id, proposal, validators)


def execute_approve(ctx: ExecContext, body: ApproveBody) -> None:
    validators = _require_validator(ctx)
    proposal = rec.get_proposal(ctx.state, body.proposal_id)
    if proposal is None:
        raise TxError(Code.UNKNOWN_PROPOSAL)
    if proposal.status != PENDING or ctx.height >= proposal.due_height:
        raise TxError(Code.PROPOSAL_CLOSED)
    if ctx.signer in proposal.approvals:
        raise TxError(Code.ALREADY_APPROVED)
    _record_approval(ctx, body.proposal_id, proposal, validators)


def _change_parties(change: tuple[Any, ...]) -> tuple[bytes, ...]:
    return tuple(x for x in change if type(x) is bytes)


PROPOSE = TxType("federation.propose", parse_propose, execute_propose, lambda b: _change_parties(b.change))
APPROVE = TxType("federation.approve", parse_approve, execute_approve)
TYPES = (PROPOSE, APPROVE)


# --- the end-of-block step ----------------------------------------------------------------------


def end_block(ctx: ExecContext, item: bytes) -> None:
    """At `effective_height − 1`: an approved proposal's change applied, a pending one expired."""
    proposal = rec.get_proposal(ctx.state, item) if len(item) == rec.ID_LEN else None
    if proposal is None:
        raise TxError(Code.UNKNOWN_PROPOSAL, f"not a proposal's due item: {item.hex()}")  # only this module writes them
    if proposal.status == PENDING:
        final = proposal._replace(status=EXPIRED)
    else:
        scratch = ctx.state.child()
        try:
            apply_change(scratch, proposal.change)
        except TxError as exc:
            final = proposal._replace(status=FAILED, outcome=int(exc.code))
        else:
            scratch.merge_into_parent()
            final = proposal._replace(status=APPLIED)
    ctx.state.put(rec.proposal_key(item), final.encode())
    left = rec.open_count(ctx.state, proposal.proposer) - 1
    if left:
        ctx.state.put(rec.open_key(proposal.proposer), encode((left,)))
    else:
        ctx.state.delete(rec.open_key(proposal.proposer))


__all__ = ["APPLIED", "APPROVED", "EXPIRED", "FAILED", "PENDING", "TYPES", "end_block", "check_change", "apply_change"]
