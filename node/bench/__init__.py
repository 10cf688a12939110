"""Benchmarks (`scripts/bench`): figures as ratios to this machine's own Ed25519 verification rate R."""
