"""`python -m infra.verify --url https://… [--admin-token …]`: the smoke suite against a
deployment, printed as a table (or JSON with --json). Exits 0 only when no check failed."""

from __future__ import annotations

import argparse
import json
import os
import sys

from infra.verify.checks import Options, Outcome, Result, run

# The admin token may come from the environment, so it is not on the command line for all to see.
ADMIN_TOKEN_VARIABLE = "BAZAAR_VERIFY_ADMIN_TOKEN"


def parse(argv: list[str] | None = None) -> tuple[Options, bool]:
    parser = argparse.ArgumentParser(prog="python -m infra.verify", description=__doc__)
    parser.add_argument("--url", required=True, help="the API's base URL (the stack's ApiUrl output)")
    parser.add_argument("--admin-token", default=os.environ.get(ADMIN_TOKEN_VARIABLE) or None,
                        help=f"an admin's access token (or ${ADMIN_TOKEN_VARIABLE}); without it the "
                        "admin checks are skipped")
    parser.add_argument("--allowed-origin", help="an origin the stage allows (CORS_ALLOWED_ORIGINS); "
                        "without it the allowed-origin check is skipped")
    parser.add_argument("--webhook-url", help="the base URL the webhook paths are appended to (default: --url)")
    parser.add_argument("--webhook", action="append", default=[], metavar="PROVIDER=URL",
                        help="one provider's whole webhook URL (a function URL); repeatable")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per request (default 15)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    webhook_urls = {}
    for given in args.webhook:
        provider, separator, url = given.partition("=")
        if not separator or not url:
            parser.error(f"--webhook wants PROVIDER=URL, not {given!r}")
        webhook_urls[provider] = url
    options = Options(url=args.url, admin_token=args.admin_token, allowed_origin=args.allowed_origin,
                      webhook_url=args.webhook_url, webhook_urls=webhook_urls, timeout_seconds=args.timeout)
    return options, args.json


def table(results: list[Result]) -> str:
    width = max(len(r.name) for r in results)
    lines = [f"{'check'.ljust(width)}  result  reason", f"{'-' * width}  ------  ------"]
    lines += [f"{r.name.ljust(width)}  {r.outcome.value.ljust(6)}  {r.reason}" for r in results]
    return "\n".join(lines)


def summary(results: list[Result]) -> str:
    counts = {o: sum(r.outcome is o for r in results) for o in Outcome}
    verdict = "FAILED" if counts[Outcome.FAIL] else "PASSED"
    return (f"{verdict}: {len(results)} checks, {counts[Outcome.PASS]} passed, {counts[Outcome.FAIL]} failed, "
            f"{counts[Outcome.SKIP]} skipped")


def main(argv: list[str] | None = None) -> int:
    options, as_json = parse(argv)
    results = run(options)
    ok = not any(r.outcome is Outcome.FAIL for r in results)
    if as_json:
        print(json.dumps({"url": options.url, "passed": ok,
                          "checks": [{"name": r.name, "result": r.outcome.value, "reason": r.reason}
                                     for r in results]}, indent=2))
    else:
        print(f"verifying {options.url}")
        print(table(results))
        print(summary(results))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
