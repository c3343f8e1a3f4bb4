"""Run the PhonePe sandbox on its own (the local stack starts one itself):

    python -m infra.sandboxes.phonepe [--port 8100] [--credentials creds.json] [--webhook-url URL]

Without --credentials it makes up a merchant and prints the credentials to configure a client with.
"""

from __future__ import annotations

import argparse
import json
import secrets
from dataclasses import asdict
from pathlib import Path

from infra.sandboxes import serve_in_foreground
from infra.sandboxes.phonepe import Credentials, PhonePeSandbox


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.sandboxes.phonepe", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--credentials", type=Path, help="JSON with the fields of the `phonepe` secret")
    parser.add_argument("--webhook-url", help="where v2 webhooks go (the dashboard setting)")
    parser.add_argument("--token-ttl", type=int, default=300, help="OAuth token lifetime in seconds")
    args = parser.parse_args()
    if args.credentials:
        credentials = Credentials.from_secret(json.loads(args.credentials.read_text()))
    else:
        credentials = Credentials(
            merchant_id="BAZAARUAT", client_id="BAZAAR_UAT_CLIENT", client_secret=secrets.token_urlsafe(24),
            client_version="1", salt_key=secrets.token_hex(16), salt_index="1",
            webhook_username="bazaar_local", webhook_password=secrets.token_hex(8),
        )
    sandbox = PhonePeSandbox(credentials, port=args.port, token_ttl_seconds=args.token_ttl,
                             webhook_url=args.webhook_url, log=print)
    serve_in_foreground(
        sandbox,
        "PhonePe sandbox on {sandbox.url} (control API: {sandbox.url}/_sandbox)\n"
        + json.dumps(asdict(credentials), indent=2).replace("{", "{{").replace("}", "}}"),
    )


if __name__ == "__main__":
    main()
