"""`make demo`: one order's whole life against the running `make up`, printed step by step with
the order's status: a seller lists a product, a shopper checks out and pays on the PhonePe
sandbox, the parcel is scanned to delivered at the Shiprocket sandbox, the return window passes,
the seller is paid out through the RazorpayX sandbox; then a second order is refunded through the
approval workflow, an admin approving it.

    make up ARGS="--return-window-days 0"     # in one terminal (the window passes at once)
    make demo                                 # in another; or: python bench/demo.py [--api URL]

On a stack with the stock 7-day return window, the payout step says so and the refund still runs."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from bench.lifecycle import Endpoints, Lifecycle, LifecycleError, pay_out, settle  # noqa: E402


def demo(endpoints: Endpoints, say=print, settle_seconds: float = 60) -> dict:
    """One life; returns what it ended with (the tests run this too)."""
    started = time.monotonic()

    def step(line: str) -> None:
        say(f"[{time.monotonic() - started:5.1f} s] {line}")

    life = Lifecycle(endpoints, say=step)
    sold = life.checkout()["order_id"]
    life.pay(sold)
    life.deliver(sold)
    payout = None
    try:
        settle(endpoints.api, [(life, sold)], seconds=settle_seconds)
        step(f"order {sold}: return window passed, the sale is on the seller's earnings")
        [payout] = pay_out(endpoints.api, [life])
        life.payout_done(payout, sold)
    except LifecycleError:
        step(f"order {sold}: return window still open on this stack (start it with "
             "`make up ARGS=\"--return-window-days 0\"` to see the payout)")
    returned = life.checkout()["order_id"]
    life.pay(returned)
    life.deliver(returned, step_by_step=False)
    refund = life.refund(returned)
    step("done")
    return {"sold": sold, "sold_status": life.status(sold), "payout": payout,
            "returned": returned, "returned_status": life.status(returned), "refund": refund}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--accounts", type=Path, default=ROOT / ".bazaar" / "local-accounts.json")
    args = parser.parse_args()
    if not args.accounts.exists():
        sys.exit(f"{args.accounts} not found: start the local stack first (make up)")
    try:
        demo(Endpoints.from_accounts_file(args.accounts, api=args.api))
    except LifecycleError as error:
        sys.exit(f"demo stopped: {error}")


if __name__ == "__main__":
    main()
