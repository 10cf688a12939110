"""The identity registry: identities, keys, recovery, attestations.

Its declaration for the chain's rules is `identity.module.MODULE`; the
on-chain records and their cheap reads are in `identity.records`; tax-code
checks and the uniqueness tag in `identity.taxcode`; the registrar's private
vault in `identity.vault`. Importing the package registers nothing.
"""
