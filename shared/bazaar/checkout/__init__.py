"""Checkout: locking a cart's stock into an order awaiting payment; deducting or releasing it."""
