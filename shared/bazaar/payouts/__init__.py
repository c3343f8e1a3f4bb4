"""Payouts: paying sellers and scouts what they have earned, through a payouts provider (RazorpayX)."""
