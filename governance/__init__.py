"""Proposals, ballots, validator-set and parameter changes (later issues)."""
