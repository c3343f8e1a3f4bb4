"""Entry points of the payouts context."""
