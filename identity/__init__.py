"""The identity registry (issue 4): identities, keys, recovery, attestations.

Importing this package registers every identity transaction type with the
ledger (`identity.*`, `attest.*`) and the spend guard that stops a suspended
identity's accounts from spending. The on-chain records and their cheap reads
are in `identity.records`; tax-code checks and the uniqueness tag in
`identity.taxcode`.
"""

from identity import attest, guard, txs  # noqa: F401  (registers the transaction types and the spend guard)
