"""Result and rejection codes: one table, shared by the ledger, the API and FORMAT.md.

Codes below 100 are execution results recorded in a block (the transaction
was included and consumed its nonce). Codes from 100 are admission
rejections: such a transaction never enters a block.
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
    SELF_TRANSFER = 8
    EVIDENCE_INVALID = 9
    EVIDENCE_EXISTS = 10
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


MESSAGES = {
    Code.OK: "ok",
    Code.INSUFFICIENT_BALANCE: "the balance does not cover the amount",
    Code.UNKNOWN_CLASS: "no credit class with this id",
    Code.NOT_ISSUER: "only the class issuer may do this",
    Code.AMOUNT_OVERFLOW: "the amount would overflow the class supply or a balance",
    Code.CLASS_EXISTS: "a credit class with this id already exists",
    Code.NOT_AUTHORISED_ISSUER: "the signer is not an authorised issuer",
    Code.SELF_TRANSFER: "sender and recipient are the same account",
    Code.EVIDENCE_INVALID: "the two votes do not prove that a validator signed conflicting votes",
    Code.EVIDENCE_EXISTS: "evidence of this offence is already recorded",
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
