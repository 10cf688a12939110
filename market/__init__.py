"""Listings, escrow and purchase groups (issue 5 onwards)."""
