"""Run the Shiprocket sandbox on its own, in the foreground, on 127.0.0.1.

    python -m infra.sandboxes.shiprocket --email api@example.in --password secret \
        [--port 8081] [--webhook-url http://127.0.0.1:8000/webhooks/shiprocket --webhook-api-key KEY]
"""

from __future__ import annotations

import argparse

from infra.sandboxes import serve_in_foreground
from infra.sandboxes.shiprocket.server import ShiprocketSandbox


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.sandboxes.shiprocket", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--email", required=True, help="the API user's email /auth/login accepts")
    parser.add_argument("--password", required=True)
    parser.add_argument("--pickup-location", action="append", default=None, help="a pickup nickname (repeatable)")
    parser.add_argument("--webhook-url", default=None, help="where tracking webhooks go")
    parser.add_argument("--webhook-api-key", default=None, help="sent verbatim in x-api-key")
    parser.add_argument("--token-lifetime-seconds", type=int, default=None, help="default: 10 days")
    args = parser.parse_args()
    sandbox = ShiprocketSandbox(
        email=args.email, password=args.password, pickup_locations=tuple(args.pickup_location or ("Primary",)),
        webhook_url=args.webhook_url, webhook_api_key=args.webhook_api_key, port=args.port,
        token_lifetime_seconds=args.token_lifetime_seconds,
    )
    serve_in_foreground(
        sandbox, "Shiprocket sandbox: API {sandbox.api_url}  control {sandbox.url}/_sandbox/state  (Ctrl-C stops)"
    )


if __name__ == "__main__":
    main()
