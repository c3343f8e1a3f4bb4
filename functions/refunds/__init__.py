"""Entry points of the refunds context."""
