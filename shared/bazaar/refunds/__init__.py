"""Refund requests and the refund-approval workflow (docs/refunds.md)."""
