"""The auditor: verify a chain from genesis, export statements (docs/audit.md)."""
