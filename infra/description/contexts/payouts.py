"""Payouts: sellers and scouts are paid what the settlement ledger says they have earned, through
RazorpayX. Every call to RazorpayX leaves from one fixed address the merchant allowlists on the
RazorpayX dashboard."""

from infra.description.model import Secret

# The only RazorpayX API host (RazorpayX has no separate test host: test keys select test mode).
# The local twin swaps it for its RazorpayX sandbox's address (infra/sandboxes/razorpayx).
RAZORPAYX_API = {"RAZORPAYX_BASE_URL": "https://api.razorpay.com/v1"}

SECRETS = (
    Secret(
        name="razorpayx",
        purpose="RazorpayX API key (id and secret, HTTP basic auth), the webhook secret that signs "
        "X-Razorpay-Signature, and the business account number payouts are debited from.",
        fields=("key_id", "key_secret", "webhook_secret", "account_number"),
        # Identifiers, not secrets: fixed locally so logs and the sandbox read the same.
        local_values={"key_id": "rzp_test_bazaarlocal", "account_number": "2323230041626905"},
    ),
)
