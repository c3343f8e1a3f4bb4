"""Notifications: what Bazaar tells users (order paid, shipped, refunded, payout sent)."""
