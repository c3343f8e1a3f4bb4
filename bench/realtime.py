"""Benchmark (prints, asserts nothing): how long an order's state change takes to reach the
dashboards watching it over WebSocket, with 200 clients connected to the local stack's realtime
API (a stack this script starts and stops itself).

    make bench-realtime            # or: python bench/realtime.py [clients] [orders]

The clients: 10 admin dashboards (every order's changes reach each) and 190 shopper tabs, 10 per
shopper. Orders are checked out and paid one after another by the shoppers in turn, through the
PhonePe sandbox, so each order's OrderPlaced and OrderPaid frames reach that shopper's 10 tabs and
the 10 admin tabs. Latency is a frame's arrival at the client minus the instant its change was
committed (the event's `occurred_at`, same machine clock): the outbox's stream poll, the
dispatcher, the realtime queue's poll, the worker and one PostToConnection per connection. The
local twin's pollers and single-machine Lambda workers make it an upper bound on the path's own
cost, not a figure for the cloud."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from infra.local.stack import LocalConfig, LocalStack  # noqa: E402
from tests.conftest import login  # noqa: E402
from tests.live import LiveSocket  # noqa: E402
from tests.paid_orders import PaidOrders  # noqa: E402
from tests.shop import Shopper  # noqa: E402

ADMIN_TABS = 10
TABS_PER_SHOPPER = 10


def main(clients: int = 200, orders: int = 20) -> None:
    config = LocalConfig.for_tests(Path(tempfile.mkdtemp(prefix="bench-realtime-")))
    with LocalStack(config) as stack:
        admin = login(stack.url, **stack.accounts["admin"])["access_token"]
        shoppers = [Shopper(stack, f"Bench Shopper {n}") for n in range((clients - ADMIN_TABS) // TABS_PER_SHOPPER)]
        started = time.monotonic()
        admins = [LiveSocket(stack, admin) for _ in range(ADMIN_TABS)]
        tabs = {s.user_id: [LiveSocket(stack, s.token) for _ in range(TABS_PER_SHOPPER)] for s in shoppers}
        connected = len(admins) + sum(map(len, tabs.values()))
        connect_seconds = time.monotonic() - started
        try:
            shops = [PaidOrders(stack, customer=(s.token, s.user_id)) for s in shoppers]
            # One order first, not measured: every function on the path starts cold once.
            warm_up = shops[0].new(1)["order_id"]
            _wait_for(admins[:1], [warm_up], 2)
            order_ids = [shops[n % len(shops)].new(1)["order_id"] for n in range(orders)]
            watchers = admins + [tab for ts in tabs.values() for tab in ts]
            # OrderPlaced + OrderPaid per order, on the shopper's tabs and the admins'.
            _wait_for(watchers, order_ids, 2 * orders * (ADMIN_TABS + TABS_PER_SHOPPER))
            latencies = _latencies(watchers, order_ids)
        finally:
            for socket in [*admins, *(t for ts in tabs.values() for t in ts)]:
                socket.close()
    print("\n== bench-realtime ==")
    print(f"clients connected        {connected} ({ADMIN_TABS} admin, {connected - ADMIN_TABS} shopper tabs) "
          f"in {connect_seconds:.1f} s")
    print(f"orders                   {orders} (checked out and paid; 2 state changes each)")
    print(f"frames measured          {sum(map(len, latencies.values()))} of {2 * orders * (ADMIN_TABS + TABS_PER_SHOPPER)} expected")
    if latencies:
        spreads = [max(v) - min(v) for v in latencies.values()]
        ms = sorted(x * 1000 for v in latencies.values() for x in v)
        print(f"change -> push  p50      {statistics.median(ms):.0f} ms")
        print(f"change -> push  p99      {ms[min(len(ms) - 1, int(len(ms) * 0.99))]:.0f} ms")
        print(f"change -> push  max      {ms[-1]:.0f} ms")
        print(f"fan-out (first -> last tab of one change)  p50 {statistics.median(spreads) * 1000:.0f} ms, "
              f"max {max(spreads) * 1000:.0f} ms")


def _wait_for(watchers: list[LiveSocket], order_ids: list[str], frames: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while sum(map(len, _latencies(watchers, order_ids).values())) < frames and time.monotonic() < deadline:
        time.sleep(0.2)


def _latencies(watchers: list[LiveSocket], order_ids: list[str]) -> dict[str, list[float]]:
    """Seconds from each change's commit to each frame of it arriving, by event id."""
    wanted = set(order_ids)
    found: dict[str, list[float]] = {}
    for socket in watchers:
        for frame, arrived in zip(list(socket.frames), list(socket.arrived_at), strict=False):
            if frame.get("type") == "order.updated" and frame.get("order_id") in wanted and \
                    frame.get("event_type") in ("OrderPlaced", "OrderPaid"):
                committed = datetime.fromisoformat(frame["occurred_at"].replace("Z", "+00:00")).timestamp()
                found.setdefault(frame["event_id"], []).append(arrived - committed)
    return found


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
