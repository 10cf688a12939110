"""The marketplace (FORMAT.md §6.5): listings of the federation's providers, orders paid into escrow
by the ledger, disputes decided by authorised arbiters, reviews; its declaration is market/module.py,
its records and their reads market/records.py. Purchase groups (module "gas") buy from the same
listings (market/listings_record.py)."""
