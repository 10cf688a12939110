"""Result and rejection codes: one table, shared by the ledger, the API and FORMAT.md.

Codes below 100, and from 200 to 299 (a second block, opened when 1–99
were all taken), are execution results recorded in a block (the transaction
was included and consumed its nonce): `is_execution`. Codes from 100 to 199
are admission rejections: such a transaction never enters a block. 107, 108 and 111–113
are the mempool's alone (a node's limits, docs/admission.md), never a chain
rule; the others are the envelope rules of FORMAT.md §8.1.
"""

from __future__ import annotations

from enum import IntEnum


class Code(IntEnum):
    OK = 0
    # execution results (recorded in blocks)
    INSUFFICIENT_BALANCE = 1
    UNKNOWN_CLASS = 2
    NOT_ISSUER = 3
    AMOUNT_OVERFLOW = 4
    CLASS_EXISTS = 5
    NOT_AUTHORISED_ISSUER = 6
    VOUCHER_CAP_EXCEEDED = 7
    SELF_TRANSFER = 8
    EVIDENCE_INVALID = 9
    EVIDENCE_EXISTS = 10
    # identity registry and attestations (identity/)
    NOT_REGISTRAR = 11
    IDENTITY_EXISTS = 12
    IDENTITY_DUPLICATE = 13
    KEY_BOUND = 14
    UNKNOWN_IDENTITY = 15
    NOT_IDENTITY_KEY = 16
    NOT_IDENTITY_REGISTRAR = 17
    IDENTITY_NOT_ACTIVE = 18
    IDENTITY_FINAL = 19
    TOO_MANY_KEYS = 20
    LAST_KEY = 21
    KEY_NOT_FOUND = 22
    BAD_BINDING = 23
    RECOVERY_PENDING = 24
    NO_RECOVERY = 25
    RECOVERY_NOT_DUE = 26
    ALREADY_ERASED = 27
    ATTESTER_NOT_ALLOWED = 28
    ATTESTATION_NOT_FOUND = 29
    NOT_ATTESTATION_ISSUER = 30
    EXPIRY_NOT_AFTER_HEIGHT = 31
    # credit class rules and movements (ledger/credit_txs.py, credit_ops.py)
    NOT_TRANSFERABLE = 32
    NOT_ELIGIBLE = 33
    CLASS_NOT_YET_VALID = 34
    CLASS_EXPIRED = 35
    HOLDER_CAP_EXCEEDED = 36
    BUDGET_EXCEEDED = 37
    HOLDER_FROZEN = 38
    NOT_FROZEN = 39
    WRONG_CATEGORY = 40
    NOT_ACCREDITED = 41
    NOT_ACCREDITOR = 42
    TOO_MANY_CATEGORIES = 43
    NOT_PROVIDER = 44
    RECLAIM_BEFORE_EXPIRY = 45
    NOT_DELEGATED = 46
    ESCROW_EXISTS = 47
    UNKNOWN_ESCROW = 48
    FACE_VALUE_NOT_COVERED = 49
    # the marketplace (market/): listings, orders, reviews
    LISTING_EXISTS = 50
    UNKNOWN_LISTING = 51
    NOT_LISTING_OWNER = 52
    LISTING_WITHDRAWN = 53
    LISTING_NOT_ACTIVE = 54
    LISTING_NOT_PAUSED = 55
    LISTING_NOT_OPEN = 56
    CLASS_NOT_ACCEPTED = 57
    QUANTITY_UNAVAILABLE = 58
    LISTING_KIND_MISMATCH = 59
    NOT_ARBITER = 60
    ORDER_EXISTS = 61
    UNKNOWN_ORDER = 62
    NOT_ORDER_PARTY = 63
    WRONG_ORDER_STATUS = 64
    ACCEPT_WINDOW_CLOSED = 65
    DISPUTE_WINDOW_CLOSED = 66
    DECISION_OVER_TOTAL = 67
    REVIEW_EXISTS = 68
    UNKNOWN_REVIEW = 69
    # purchase groups (market/groups.py, FORMAT.md §6.6)
    GROUP_EXISTS = 70
    UNKNOWN_GROUP = 71
    NOT_ORGANISATION = 72
    LISTING_UNAVAILABLE = 73
    TIER_ABOVE_PRICE = 75
    DEADLINE_PASSED = 76
    GROUP_FULL = 77
    NOT_COMMITTED = 78
    BAD_TERMS_SIGNATURE = 79
    # agora (governance/, FORMAT.md §6.7)
    AGORA_NOT_ADMIN = 80
    SPACE_EXISTS = 81
    UNKNOWN_SPACE = 82
    NOT_SPACE_ELIGIBLE = 83
    POST_EXISTS = 84
    UNKNOWN_POST = 85
    POST_NOT_VISIBLE = 86
    NOT_POST_AUTHOR = 87
    NOT_MODERATOR = 88
    NOT_A_PROPOSAL = 89
    ALREADY_SUPPORTED = 90
    SUPPORT_WINDOW_CLOSED = 91
    SUPPORTS_NOT_REACHED = 92
    BALLOT_EXISTS = 93
    UNKNOWN_BALLOT = 94
    BALLOT_WINDOW = 95
    WRONG_BALLOT_MODE = 96
    UNKNOWN_OPTION = 97
    NO_COMMITMENT = 98
    REVEAL_MISMATCH = 99
    # admission rejections (never in a block)
    MALFORMED = 100
    BAD_SIGNATURE = 101
    WRONG_CHAIN = 102
    BAD_NONCE = 103
    EXPIRED = 104
    UNKNOWN_TYPE = 105
    TOO_LARGE = 106
    DUPLICATE = 107
    MEMPOOL_FULL = 108
    NONCE_TOO_FAR = 109
    UNKNOWN_SIGNER = 110
    # mempool policy and the node's own limits (never a chain rule; docs/admission.md)
    EXPIRY_TOO_FAR = 111
    CLIENT_QUOTA = 112
    EVICTED = 113
    # execution results, second block (recorded in blocks): participatory budgets (governance/budgets.py), 200-219
    BUDGET_EXISTS = 200
    UNKNOWN_BUDGET = 201
    BUDGET_WINDOW = 202
    PROJECT_EXISTS = 203
    UNKNOWN_PROJECT = 204
    TOO_MANY_PROJECTS = 205
    OVER_BUDGET = 206
    TOO_MANY_OWN_PROJECTS = 207
    # the federation's own rules (governance/federation*.py, FORMAT.md §6.8): execution results, in the
    # second block of them (200-299) because 1-99 is full: 220-239
    NOT_VALIDATOR = 220
    PROPOSAL_EXISTS = 221
    UNKNOWN_PROPOSAL = 222
    ALREADY_APPROVED = 223
    PROPOSAL_CLOSED = 224
    EFFECTIVE_HEIGHT_OUT_OF_RANGE = 225
    CHANGE_REFUSED = 226
    TOO_MANY_OPEN_PROPOSALS = 227


def is_execution(code: int) -> bool:
    """An execution result (FORMAT.md §7): OK, 1–99 or 200–299; a block records only these."""
    return 0 <= code < 100 or 200 <= code < 300


MESSAGES = {
    Code.OK: "ok",
    Code.INSUFFICIENT_BALANCE: "the balance does not cover the amount",
    Code.UNKNOWN_CLASS: "no credit class with this id",
    Code.NOT_ISSUER: "only the class issuer may do this",
    Code.AMOUNT_OVERFLOW: "the amount would overflow the class supply or a balance",
    Code.CLASS_EXISTS: "a credit class with this id already exists",
    Code.NOT_AUTHORISED_ISSUER: "the signer is not an authorised issuer",
    Code.VOUCHER_CAP_EXCEEDED: "the payment uses more vouchers than the class's cumulative cap allows",
    Code.SELF_TRANSFER: "sender and recipient are the same account",
    Code.EVIDENCE_INVALID: "the two votes do not prove that a validator signed conflicting votes",
    Code.EVIDENCE_EXISTS: "evidence of this offence is already recorded",
    Code.NOT_REGISTRAR: "the signer is not an authorised registrar",
    Code.IDENTITY_EXISTS: "an identity with this id already exists",
    Code.IDENTITY_DUPLICATE: "an identity with this uniqueness tag is already registered",
    Code.KEY_BOUND: "the key is already bound to an identity",
    Code.UNKNOWN_IDENTITY: "no identity with this id",
    Code.NOT_IDENTITY_KEY: "the signer is not a current key of the identity",
    Code.NOT_IDENTITY_REGISTRAR: "the signer is not the identity's registrar",
    Code.IDENTITY_NOT_ACTIVE: "the identity is not active",
    Code.IDENTITY_FINAL: "the identity is revoked or closed; that is final",
    Code.TOO_MANY_KEYS: "the identity already has the most keys allowed",
    Code.LAST_KEY: "the identity's last key cannot be removed",
    Code.KEY_NOT_FOUND: "the key is not one of the identity's keys",
    Code.BAD_BINDING: "the new key's binding signature does not verify",
    Code.RECOVERY_PENDING: "a recovery of this identity is already pending",
    Code.NO_RECOVERY: "no recovery of this identity is pending",
    Code.RECOVERY_NOT_DUE: "the recovery delay has not passed yet",
    Code.ALREADY_ERASED: "the identity was already erased",
    Code.ATTESTER_NOT_ALLOWED: "the signer may not attest this attribute",
    Code.ATTESTATION_NOT_FOUND: "no attestation of this attribute for this identity",
    Code.NOT_ATTESTATION_ISSUER: "the attestation was issued by another attester",
    Code.EXPIRY_NOT_AFTER_HEIGHT: "the expiry height must be 0 or after the current height",
    Code.NOT_TRANSFERABLE: "the class is spend-only: holders may not transfer it",
    Code.NOT_ELIGIBLE: "the holder lacks an attribute the class requires",
    Code.CLASS_NOT_YET_VALID: "the class's validity window has not opened yet",
    Code.CLASS_EXPIRED: "the class's validity window has ended",
    Code.HOLDER_CAP_EXCEEDED: "the issue would exceed the class's per-holder cap",
    Code.BUDGET_EXCEEDED: "the issue would exceed the class's budget",
    Code.HOLDER_FROZEN: "the holder is frozen in this class",
    Code.NOT_FROZEN: "the holder is not frozen in this class",
    Code.WRONG_CATEGORY: "the class may not pay for this category",
    Code.NOT_ACCREDITED: "the provider is not accredited for this category",
    Code.NOT_ACCREDITOR: "the signer is neither a registrar nor an authorised issuer",
    Code.TOO_MANY_CATEGORIES: "the accreditation would hold too many categories",
    Code.NOT_PROVIDER: "the signer is not a provider accredited for the class",
    Code.RECLAIM_BEFORE_EXPIRY: "the class has not expired yet",
    Code.NOT_DELEGATED: "the operator holds no such delegation",
    Code.ESCROW_EXISTS: "an escrow lot with this id already exists",
    Code.UNKNOWN_ESCROW: "no escrow lot with this id",
    Code.FACE_VALUE_NOT_COVERED: "a voucher pays only for its full face value: the amount is not whole vouchers",
    Code.LISTING_EXISTS: "a listing with this id already exists",
    Code.UNKNOWN_LISTING: "no listing with this id",
    Code.NOT_LISTING_OWNER: "only the listing's provider may do this",
    Code.LISTING_WITHDRAWN: "the listing was withdrawn; that is final",
    Code.LISTING_NOT_ACTIVE: "the listing is not active",
    Code.LISTING_NOT_PAUSED: "the listing is not paused",
    Code.LISTING_NOT_OPEN: "the listing is outside its validity window",
    Code.CLASS_NOT_ACCEPTED: "the listing does not accept this credit class",
    Code.QUANTITY_UNAVAILABLE: "the listing has fewer units left than ordered",
    Code.LISTING_KIND_MISMATCH: "a service has no quantity (nil) and goods have one (an integer)",
    Code.NOT_ARBITER: "the account is not an authorised arbiter, or not this order's arbiter",
    Code.ORDER_EXISTS: "an order with this id already exists",
    Code.UNKNOWN_ORDER: "no order with this id",
    Code.NOT_ORDER_PARTY: "the signer is not (or may not be) the party of the order who does this",
    Code.WRONG_ORDER_STATUS: "the order's status does not allow this",
    Code.ACCEPT_WINDOW_CLOSED: "the order was not accepted in time: it expires",
    Code.DISPUTE_WINDOW_CLOSED: "the buyer's window to dispute the order has closed",
    Code.DECISION_OVER_TOTAL: "the decision gives the provider more than the order's total",
    Code.REVIEW_EXISTS: "the order already has a review",
    Code.UNKNOWN_REVIEW: "the order has no review",
    Code.GROUP_EXISTS: "a purchase group with this id already exists",
    Code.UNKNOWN_GROUP: "no purchase group with this id",
    Code.NOT_ORGANISATION: "the signer is not the account of an organisation's identity",
    Code.LISTING_UNAVAILABLE: "the listing does not exist, is not active or is outside its validity window",
    Code.TIER_ABOVE_PRICE: "a price tier is above the listing's unit price",
    Code.DEADLINE_PASSED: "the purchase group's deadline has passed",
    Code.GROUP_FULL: "the quantity would pass the group's maximum (at opening: the listing's stock)",
    Code.NOT_COMMITTED: "the signer has no commitment in this purchase group",
    Code.BAD_TERMS_SIGNATURE: "the supplier's signature of the group's terms does not verify",
    Code.AGORA_NOT_ADMIN: "the signer is not an agora admin (genesis `agora.admins`)",
    Code.SPACE_EXISTS: "a space with this id already exists",
    Code.UNKNOWN_SPACE: "no space with this id",
    Code.NOT_SPACE_ELIGIBLE: "the signer's identity may not take part in this space (none, not active, or not attested)",
    Code.POST_EXISTS: "a proposal or comment with this id already exists",
    Code.UNKNOWN_POST: "no proposal or comment with this id",
    Code.POST_NOT_VISIBLE: "the proposal or comment is erased or hidden",
    Code.NOT_POST_AUTHOR: "the signer is not a key of the post's author",
    Code.NOT_MODERATOR: "the signer is not a moderator of the space (nor, to open a ballot, the proposal's author)",
    Code.NOT_A_PROPOSAL: "supports and ballots are for proposals, not comments",
    Code.ALREADY_SUPPORTED: "the signer's identity already supports this proposal",
    Code.SUPPORT_WINDOW_CLOSED: "the proposal's window for supports has closed",
    Code.SUPPORTS_NOT_REACHED: "the proposal has fewer supports than the space's threshold",
    Code.BALLOT_EXISTS: "a ballot with this id exists, or the proposal already has one",
    Code.UNKNOWN_BALLOT: "no ballot with this id",
    Code.BALLOT_WINDOW: "the ballot does not take this now: a vote outside its voting window, a reveal outside its reveal window",
    Code.WRONG_BALLOT_MODE: "a plain vote on a commit-reveal ballot, or a commitment or reveal on a public one",
    Code.UNKNOWN_OPTION: "the ballot has no such option",
    Code.NO_COMMITMENT: "the signer's identity has no unrevealed commitment in this ballot",
    Code.REVEAL_MISMATCH: "the option and salt do not match the identity's commitment",
    Code.MALFORMED: "the transaction is malformed",
    Code.BAD_SIGNATURE: "the signature does not verify",
    Code.WRONG_CHAIN: "the transaction is for another chain",
    Code.BAD_NONCE: "the nonce was already used",
    Code.EXPIRED: "the transaction expired",
    Code.UNKNOWN_TYPE: "unknown transaction type",
    Code.TOO_LARGE: "the transaction is too large",
    Code.DUPLICATE: "the transaction is already pending",
    Code.MEMPOOL_FULL: "the mempool is full, try again later",
    Code.NONCE_TOO_FAR: "the nonce is too far ahead of the account's next nonce",
    Code.UNKNOWN_SIGNER: "the chain does not know the signer: no credit, role or identity ever reached this key",
    Code.EXPIRY_TOO_FAR: "the expiry is further ahead than this node keeps transactions",
    Code.CLIENT_QUOTA: "this client holds its share of the mempool already, try again later",
    Code.EVICTED: "the transaction was evicted from the mempool",
    Code.BUDGET_EXISTS: "a participatory budget with this id already exists",
    Code.UNKNOWN_BUDGET: "no participatory budget with this id",
    Code.BUDGET_WINDOW: "the budget does not take this now (projects before submit_until_ms, selections from then "
                        "until closes_ms)",
    Code.PROJECT_EXISTS: "this proposal is already a project of the budget",
    Code.UNKNOWN_PROJECT: "no such project in this budget",
    Code.TOO_MANY_PROJECTS: "the budget has as many projects as it may have",
    Code.OVER_BUDGET: "the selected projects ask more than the budget",
    Code.TOO_MANY_OWN_PROJECTS: "the submitter's identity has as many projects in this budget as one identity may",
    Code.NOT_VALIDATOR: "the signer is not a validator of the current set",
    Code.PROPOSAL_EXISTS: "a federation proposal with this id already exists",
    Code.UNKNOWN_PROPOSAL: "no federation proposal with this id",
    Code.ALREADY_APPROVED: "the signer has already approved this proposal",
    Code.PROPOSAL_CLOSED: "the proposal takes no more approvals: approved, final, or past its last approval height",
    Code.EFFECTIVE_HEIGHT_OUT_OF_RANGE: "the effective height is too close (or too far) from the current height",
    Code.CHANGE_REFUSED: "the change does not apply to the current state (see the detail)",
    Code.TOO_MANY_OPEN_PROPOSALS: "the validator already has the most open proposals allowed",
}


class TxError(Exception):
    """A transaction failed a check; `code` says which."""

    def __init__(self, code: Code, detail: str = ""):
        self.code = Code(code)
        self.detail = detail
        super().__init__(detail or MESSAGES[self.code])

    @property
    def message(self) -> str:
        return self.detail or MESSAGES[self.code]
