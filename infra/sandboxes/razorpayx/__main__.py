"""Run the RazorpayX sandbox on its own, in the foreground, on 127.0.0.1.

    python -m infra.sandboxes.razorpayx --key-id rzp_test_x --key-secret secret \
        [--account-number 2323230041626905] [--port 8300] [--balance-paise 1000000000] \
        [--webhook-url http://127.0.0.1:8000/webhooks/razorpayx --webhook-secret SECRET] \
        [--settle-delay-seconds 0.2] [--allowed-ip 127.0.0.1 ...]
"""

from __future__ import annotations

import argparse

from infra.sandboxes import serve_in_foreground
from infra.sandboxes.razorpayx.engine import DEFAULT_BALANCE_PAISE, DEFAULT_SETTLE_DELAY_SECONDS
from infra.sandboxes.razorpayx.server import RazorpayXSandbox


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.sandboxes.razorpayx", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--key-id", required=True, help="the API key id basic auth accepts")
    parser.add_argument("--key-secret", required=True)
    parser.add_argument("--account-number", default="2323230041626905",
                        help="the business account payouts are debited from")
    parser.add_argument("--balance-paise", type=int, default=DEFAULT_BALANCE_PAISE)
    parser.add_argument("--webhook-url", default=None, help="where payout webhooks go")
    parser.add_argument("--webhook-secret", default=None, help="signs X-Razorpay-Signature")
    parser.add_argument("--settle-delay-seconds", type=float, default=DEFAULT_SETTLE_DELAY_SECONDS,
                        help="how long a payout takes to settle")
    parser.add_argument("--allowed-ip", action="append", default=None,
                        help="allowlist this client address (repeatable); without it every address may call")
    args = parser.parse_args()
    sandbox = RazorpayXSandbox(
        key_id=args.key_id, key_secret=args.key_secret, account_number=args.account_number,
        webhook_secret=args.webhook_secret, webhook_url=args.webhook_url, port=args.port,
        balance_paise=args.balance_paise, settle_delay_seconds=args.settle_delay_seconds,
        allowed_ips=tuple(args.allowed_ip) if args.allowed_ip else None,
    )
    serve_in_foreground(
        sandbox, "RazorpayX sandbox: API {sandbox.api_url}  control {sandbox.url}/_sandbox/state  (Ctrl-C stops)"
    )


if __name__ == "__main__":
    main()
