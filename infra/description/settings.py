"""Service-wide settings every function receives as environment variables; typed and validated
at cold start by bazaar.platform.settings.Settings (add a field there when you add one here)."""

VERSION = "0.1.0"

# Per-client limits of the sensitive routes (docs/rate-limits.md; which route uses which is the
# table in bazaar.platform.ratelimit): per signed-in user (or the account a sign-in names), per
# source address, per fixed window. Addresses are shared (offices, carrier NAT), so their limits
# are the higher ones; 0 turns a check off. Each is given only to the function serving its route
# (`rate_limits`), not service-wide: a Lambda's environment holds 4 KB in all.
RATE_LIMITS: dict[str, str] = {
    "RATE_LIMIT_REGISTER": "per_user=3,per_ip=20,window_seconds=3600",
    "RATE_LIMIT_LOGIN": "per_user=10,per_ip=100,window_seconds=300",
    "RATE_LIMIT_LOGIN_MFA": "per_user=5,per_ip=50,window_seconds=300",
    "RATE_LIMIT_REFRESH": "per_user=0,per_ip=120,window_seconds=300",
    "RATE_LIMIT_CHECKOUT": "per_user=10,per_ip=100,window_seconds=300",
    "RATE_LIMIT_REFUND_REQUEST": "per_user=5,per_ip=50,window_seconds=3600",
    "RATE_LIMIT_ADMIN_REFUND": "per_user=60,per_ip=120,window_seconds=3600",
    "RATE_LIMIT_SCOUT_PAYOUT": "per_user=5,per_ip=30,window_seconds=3600",
}

SETTINGS: dict[str, str] = {
    "BAZAAR_VERSION": VERSION,
    "LOG_LEVEL": "INFO",
    "MAX_REQUEST_BODY_BYTES": str(64 * 1024),
    "STOCK_LOCK_EXPIRY_MINUTES": "15",
    "STOCK_CLEANUP_INTERVAL_MINUTES": "5",
    # How many units one customer may hold locked at once across unpaid orders, so one account
    # or bot cannot lock a whole product.
    "MAX_LOCKED_UNITS_PER_CUSTOMER": "20",
    "HEARTBEAT_INTERVAL_MINUTES": "5",
    "ORDER_HISTORY_RETENTION_DAYS": "400",
    # The settlement ledger (docs/payouts.md). Rates in basis points; the tax rates are the ones
    # in force when this was written, and an operator must confirm them before going live.
    "RETURN_WINDOW_DAYS": "7",
    "PLATFORM_FEE_BPS": "1000",
    "GATEWAY_FEE_BPS": "200",
    "GST_TCS_BPS": "50",
    "INCOME_TAX_TDS_BPS": "10",
    "SCOUT_BOUNTY_PAISE": "1000",
    "SELLER_MIN_PAYOUT_PAISE": "10000",
    "SCOUT_MIN_PAYOUT_PAISE": "50000",
    # Refund requests (docs/refunds.md): how long after delivery a shopper may ask, what is
    # approved without an admin, and how long a request waits for one before it expires.
    "REFUND_WINDOW_DAYS": "7",
    "REFUND_AUTO_APPROVE_PAISE": "50000",
    "REFUND_APPROVAL_TIMEOUT_SECONDS": str(3 * 24 * 3600),
    # The status poll asks RazorpayX about an open payout once nothing has been heard of it for
    # this long (webhooks normally come within seconds; a lost one must not leave it open).
    "PAYOUT_STATUS_POLL_AFTER_SECONDS": "120",
}


def rate_limits(*names: str) -> dict[str, str]:
    """The named limits, for a function's environment."""
    return {name: RATE_LIMITS[name] for name in names}
