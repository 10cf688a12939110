"""The ledger core: encoding, keys, transactions, state, blocks and the state transition.

Imports nothing from the other incoop packages; they register their
transaction handlers with `ledger.handlers`.
"""
