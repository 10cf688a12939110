"""Light proofs of a balance (FORMAT.md §21): a resident checks a balance without trusting the node.

A node answers "how much of class C does account A hold?" with a bundle: the
amount, Merkle proofs (§10.2) of the class record and of the balance entry
against the state root in the header of a committed block, that header, and
the block's commit certificate (§13.1). The wallet checks the certificate
against a validator set it trusts (from the genesis document it trusts), so a
node that lies about the balance must forge the signatures of a quorum of
validators to be believed.

The validator set lives in the state (`sys/validators`), so when governance
changes it, the bundle carries "validator-set updates": a certified header
whose state proves the next set, each verified with the set trusted so far.
The federation changes the set by vote (FORMAT.md §6.8); the node sends one
update per block that changed it (node/balance_proofs.py).

Pure: no I/O, no clock. `build_balance_proof` reads through the functions it
is given (the node passes reads of one LevelDB snapshot, tests a dict).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ledger.address import to_address
from ledger.block import (
    BlockFormatError,
    Certificate,
    Header,
    certificate_from_tuple,
    header_from_tuple,
    verify_precommit,
)
from ledger.chain import KEY_VALIDATORS, quorum, validators_hash
from ledger.credits import CLASS_ID, balance_key, class_key, decode_class
from ledger.crypto import HASH_LEN, PUBKEY_LEN
from ledger.encoding import EncodingError, decode, encode
from ledger.fields import MAX_AMOUNT
from ledger.merkle import StateTree, verify_proof

PROOF_VERSION = 1
MAX_PROOF_BYTES = 1024 * 1024
"""Far above a real bundle (a few KiB with 100 validators), low enough to decode untrusted input safely."""


class ProofRejected(ValueError):
    """The bundle does not prove the balance; the message says which check failed."""


class ProofFormatError(ProofRejected):
    """The bytes are not a well-formed balance proof bundle."""


class StateProof(NamedTuple):
    """A §10.2 proof: sibling hashes from the root down, and the leaf (kh, vh) reached, or None if empty."""

    siblings: tuple[bytes, ...]
    terminal: tuple[bytes, bytes] | None

    def as_tuple(self) -> tuple:
        return (tuple(self.siblings), None if self.terminal is None else tuple(self.terminal))

    def verify(self, root: bytes, key: bytes, value: bytes | None) -> bool:
        return verify_proof(root, key, value, self.siblings, self.terminal)


class ValidatorSetUpdate(NamedTuple):
    """A certified header whose post-state holds a new validator set: the set of the heights after it."""

    header: Header
    certificate: Certificate
    validators: tuple[bytes, ...]
    proof: StateProof  # of sys/validators = canonical(validators) under header.state_root

    def as_tuple(self) -> tuple:
        return (tuple(self.header), self.certificate.as_tuple(), tuple(self.validators), self.proof.as_tuple())


class BalanceProof(NamedTuple):
    """What `GET /v1/accounts/{address}/proof` proves, field by field in encoding order (§21)."""

    account: bytes
    class_id: str
    amount: int  # 0 when the balance key is absent
    class_record: bytes  # the value of class/<id>: its decimals and name, proven too
    class_proof: StateProof
    balance_proof: StateProof
    header: Header
    certificate: Certificate
    updates: tuple[ValidatorSetUpdate, ...] = ()

    def as_tuple(self) -> tuple:
        return (
            PROOF_VERSION,
            self.account,
            self.class_id,
            self.amount,
            self.class_record,
            self.class_proof.as_tuple(),
            self.balance_proof.as_tuple(),
            tuple(self.header),
            self.certificate.as_tuple(),
            tuple(u.as_tuple() for u in self.updates),
        )

    def encode(self) -> bytes:
        return encode(self.as_tuple())


class TrustedSet(NamedTuple):
    """Validators the verifier trusts to certify every block above `since_height` (genesis: 0)."""

    validators: tuple[bytes, ...]
    since_height: int = 0


class VerifiedBalance(NamedTuple):
    account: bytes
    class_id: str
    amount: int
    decimals: int
    class_name: str
    height: int
    time_ms: int
    block_hash: bytes
    signers: int  # trusted validators whose precommits certify the block
    validators: int  # size of the set that certified it


# --- building (the node) -------------------------------------------------------------


def prove_entry(tree: StateTree, key: bytes) -> StateProof:
    siblings, terminal = tree.prove(key)
    return StateProof(tuple(siblings), terminal)


def build_balance_proof(
    tree: StateTree,
    state_get: Callable[[bytes], bytes | None],
    header: Header,
    certificate: Certificate,
    account: bytes,
    class_id: str,
) -> BalanceProof | None:
    """The bundle for (account, class) at `header`, or None if the class does not exist there.

    `tree` and `state_get` MUST read the state whose root is `header.state_root`
    (one snapshot); a mixed read would make an honest node's proof fail.
    """
    class_record = state_get(class_key(class_id))
    if class_record is None:
        return None
    raw_amount = state_get(balance_key(account, class_id))
    amount = 0 if raw_amount is None else decode(raw_amount)
    return BalanceProof(
        account,
        class_id,
        amount,
        class_record,
        prove_entry(tree, class_key(class_id)),
        prove_entry(tree, balance_key(account, class_id)),
        header,
        certificate,
    )


# --- decoding untrusted bytes ----------------------------------------------------------


def _bytes(value: Any, length: int, what: str) -> bytes:
    if type(value) is not bytes or len(value) != length:
        raise ProofFormatError(f"{what} must be {length} bytes")
    return value


def _array(value: Any, what: str, length: int | None = None) -> tuple:
    if type(value) is not tuple or (length is not None and len(value) != length):
        raise ProofFormatError(f"{what} must be an array" + ("" if length is None else f" of {length}"))
    return value


def _state_proof(value: Any, what: str) -> StateProof:
    siblings, terminal = _array(value, what, 2)
    hashes = tuple(_bytes(s, HASH_LEN, f"a sibling of the {what}") for s in _array(siblings, f"{what} siblings"))
    if len(hashes) > 256:
        raise ProofFormatError(f"the {what} is deeper than 256")
    if terminal is None:
        return StateProof(hashes, None)
    kh, vh = _array(terminal, f"{what} terminal", 2)
    return StateProof(hashes, (_bytes(kh, HASH_LEN, "a key hash"), _bytes(vh, HASH_LEN, "a value hash")))


def _update(value: Any) -> ValidatorSetUpdate:
    header, certificate, validators, proof = _array(value, "a validator-set update", 4)
    keys = tuple(_bytes(v, PUBKEY_LEN, "a validator key") for v in _array(validators, "a validator set"))
    return ValidatorSetUpdate(
        header_from_tuple(header), certificate_from_tuple(certificate), keys, _state_proof(proof, "validator-set proof")
    )


def decode_balance_proof(raw: bytes) -> BalanceProof:
    """Parse the canonical bundle (§21.1); ProofFormatError says what is malformed."""
    try:
        value = decode(raw, MAX_PROOF_BYTES)
        fields = _array(value, "a balance proof", 10)
        version, account, class_id, amount, record, class_proof, balance_proof, header, certificate, updates = fields
        if version != PROOF_VERSION or type(version) is not int:
            raise ProofFormatError(f"unsupported balance proof version {version!r}")
        if type(class_id) is not str or not CLASS_ID.fullmatch(class_id):
            raise ProofFormatError("the class id is not a class id")
        if type(amount) is not int or not 0 <= amount <= MAX_AMOUNT:
            raise ProofFormatError(f"the amount must be an integer from 0 to {MAX_AMOUNT}")
        if type(record) is not bytes:
            raise ProofFormatError("the class record must be bytes")
        return BalanceProof(
            _bytes(account, PUBKEY_LEN, "the account"),
            class_id,
            amount,
            record,
            _state_proof(class_proof, "class proof"),
            _state_proof(balance_proof, "balance proof"),
            header_from_tuple(header),
            certificate_from_tuple(certificate),
            tuple(_update(u) for u in _array(updates, "the validator-set updates")),
        )
    except (EncodingError, BlockFormatError) as exc:
        raise ProofFormatError(f"malformed balance proof: {exc}") from None


# --- verifying (the wallet) --------------------------------------------------------------


def _short(digest: bytes) -> str:
    return digest.hex()[:16]


def check_certified(header: Header, certificate: Certificate, validators: tuple[bytes, ...], chain_id: str) -> int:
    """§13.1 against a trusted set, with messages for people; returns the number of signers.

    The same rule as ledger.block.verify_certificate, restated here because a
    light client's reader needs to know *which* promise the node broke.
    """
    height = header.height
    block_hash = header.hash()
    if certificate.height != height or certificate.block_hash != block_hash:
        raise ProofRejected(
            f"the certificate is for block {certificate.height} ({_short(certificate.block_hash)}), "
            f"not for the header of block {height} ({_short(block_hash)})"
        )
    members = set(validators)
    previous = b""
    for validator, signature in certificate.signatures:
        if validator == previous:
            raise ProofRejected(f"the certificate of block {height} names signer {to_address(validator)} twice")
        if validator < previous:
            raise ProofRejected(f"the certificate signers of block {height} are not in ascending order")
        previous = validator
        if validator not in members:
            raise ProofRejected(
                f"the certificate of block {height} is signed by {to_address(validator)}, not a trusted validator"
            )
        if not verify_precommit(chain_id, validator, height, certificate.round, block_hash, signature):
            raise ProofRejected(f"the certificate signature of {to_address(validator)} does not verify for block {height}")
    need = quorum(len(validators))
    have = len(certificate.signatures)
    if have < need:
        raise ProofRejected(f"certificate of block {height} has {have} of {len(validators)} trusted signatures, quorum is {need}")
    return have


def _check_header(header: Header, trusted: TrustedSet, chain_id: str, what: str) -> None:
    """Chain, height order and validator set of a header, before its certificate is looked at."""
    if header.chain_id != chain_id:
        raise ProofRejected(f"{what} {header.height} is of chain {header.chain_id!r}, not {chain_id!r}")
    if header.height <= trusted.since_height:
        raise ProofRejected(
            f"{what} {header.height} is not above height {trusted.since_height}, where the trusted validator set begins"
        )
    expected = validators_hash(trusted.validators)
    if header.validators_hash != expected:
        raise ProofRejected(
            f"{what} {header.height} names validator set {_short(header.validators_hash)}, "
            f"not the trusted set {_short(expected)}, and no certified validator-set update leads to it"
        )


def follow_update(trusted: TrustedSet, update: ValidatorSetUpdate, chain_id: str) -> TrustedSet:
    """One validator-set change: certified by the set trusted so far, the new set proven by its state."""
    header = update.header
    _check_header(header, trusted, chain_id, "validator-set update block")
    check_certified(header, update.certificate, trusted.validators, chain_id)
    validators = update.validators
    if not validators or len(set(validators)) != len(validators):
        raise ProofRejected(f"the validator set of update block {header.height} is empty or repeats a key")
    if not update.proof.verify(header.state_root, KEY_VALIDATORS, encode(tuple(validators))):
        raise ProofRejected(
            f"the validator-set proof does not match the state root of update block {header.height}"
        )
    return TrustedSet(tuple(validators), header.height)


def verify_balance_proof(
    bundle: BalanceProof, trusted: TrustedSet, chain_id: str, account: bytes, class_id: str
) -> VerifiedBalance:
    """§21.2, in order; raises ProofRejected naming the first check that fails."""
    if bundle.account != account:
        raise ProofRejected(f"the proof is for account {to_address(bundle.account)}, not {to_address(account)}")
    if bundle.class_id != class_id:
        raise ProofRejected(f"the proof is for class {bundle.class_id!r}, not {class_id!r}")
    for update in bundle.updates:
        trusted = follow_update(trusted, update, chain_id)
    header = bundle.header
    _check_header(header, trusted, chain_id, "block")
    signers = check_certified(header, bundle.certificate, trusted.validators, chain_id)
    root = header.state_root
    if not bundle.class_proof.verify(root, class_key(class_id), bundle.class_record):
        raise ProofRejected(f"the class record proof does not match the state root of block {header.height}")
    try:
        credit_class = decode_class(bundle.class_record)
    except (EncodingError, TypeError) as exc:  # only if the certified chain itself were broken
        raise ProofRejected(f"the proven class record of {class_id!r} does not decode: {exc}") from None
    if not 0 <= bundle.amount <= MAX_AMOUNT:
        raise ProofRejected(f"the amount {bundle.amount} is outside 0 … {MAX_AMOUNT}")
    value = None if bundle.amount == 0 else encode(bundle.amount)
    if not bundle.balance_proof.verify(root, balance_key(account, class_id), value):
        raise ProofRejected(f"balance proof does not match the state root of block {header.height}")
    return VerifiedBalance(
        account,
        class_id,
        bundle.amount,
        credit_class.decimals,
        credit_class.name,
        header.height,
        header.time_ms,
        header.hash(),
        signers,
        len(trusted.validators),
    )
