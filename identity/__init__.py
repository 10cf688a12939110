"""The identity registry (issue 4)."""
