"""The federation module's invariants (FORMAT.md §9, "Federation invariants"), checked by the auditor.

- the validator set is 1 to MAX_VALIDATORS distinct 32-byte keys;
- every peer address in the state is a current validator's;
- every proposal decodes, with a known status; one not final still has its
  due item at `effective_height − 1` (so the end-of-block step will reach it);
  its approvals are ascending and include its proposer; only a failed one has
  a non-zero outcome;
- each validator's open count is the number of its proposals not final;
- `sys/params` holds parameters in their ranges, in their one encoding (a `set-param` writes it).
"""

from __future__ import annotations

from collections import Counter

from governance import federation_records as rec
from ledger import chain
from ledger.deadlines import BY_HEIGHT
from ledger.encoding import EncodingError
from ledger.invariants import InvariantBroken, StateScan
from ledger.state import StateReader

CHECK = "federation"


def _due(state: StateReader, at: int, item: bytes) -> bool:
    return state.get(BY_HEIGHT + rec.MODULE_NAME.encode() + b"/" + at.to_bytes(8, "big") + item) is not None


def check_federation(state: StateReader, scan: StateScan, chain_id: str = "", height: int = 0) -> int:
    """The set, the peers, every proposal and open count; returns how many records were checked."""
    validators = chain.get_validators(state)
    if not rec.MIN_VALIDATORS <= len(validators) <= rec.MAX_VALIDATORS or len(set(validators)) != len(validators) \
            or any(type(v) is not bytes or len(v) != 32 for v in validators):
        raise InvariantBroken(CHECK, f"the validator set has {len(validators)} keys, repeats or malformed keys")
    raw_params = state.get(chain.KEY_PARAMS)
    fault = None if raw_params is None else chain.params_fault(raw_params)
    if fault is not None:
        raise InvariantBroken(CHECK, f"sys/params {fault}")
    count = 1
    for key, _ in scan(rec.PREFIX_PEER):
        if key[len(rec.PREFIX_PEER):] not in validators:
            raise InvariantBroken(CHECK, f"a peer address for {key[len(rec.PREFIX_PEER):].hex()}, not a validator")
        count += 1
    open_by: Counter[bytes] = Counter()
    for key, raw in scan(rec.PREFIX_PROPOSAL):
        proposal_id = key[len(rec.PREFIX_PROPOSAL):]
        try:
            proposal = rec.decode_proposal(raw)
        except (EncodingError, TypeError, ValueError, IndexError) as exc:
            raise InvariantBroken(CHECK, f"proposal {proposal_id.hex()}: the record does not decode: {exc}") from None
        if proposal.status not in rec.STATUSES:
            raise InvariantBroken(CHECK, f"proposal {proposal_id.hex()}: unknown status {proposal.status!r}")
        if list(proposal.approvals) != sorted(set(proposal.approvals)) or proposal.proposer not in proposal.approvals:
            raise InvariantBroken(CHECK, f"proposal {proposal_id.hex()}: approvals unordered or without its proposer")
        if proposal.status not in rec.FINAL:
            open_by[proposal.proposer] += 1
            if not _due(state, proposal.due_height, proposal_id):
                raise InvariantBroken(CHECK, f"proposal {proposal_id.hex()} is {proposal.status} with no due item")
        if (proposal.status == rec.FAILED) != (proposal.outcome != 0):
            raise InvariantBroken(CHECK, f"proposal {proposal_id.hex()}: outcome {proposal.outcome} with status "
                                         f"{proposal.status}")
        count += 1
    for key, _ in scan(rec.PREFIX_OPEN):
        validator = key[len(rec.PREFIX_OPEN):]
        stored = rec.open_count(state, validator)
        if stored != open_by.pop(validator, 0):
            raise InvariantBroken(CHECK, f"validator {validator.hex()}: open count {stored} is not its open proposals")
    if open_by:
        raise InvariantBroken(CHECK, "a validator with open proposals has no open count")
    return count
