"""Fixtures of the e2e tests that need a stack of their own: the payouts stack, whose return
window is 0 days (the settlement schedule, fired by hand, decides when it has passed), whose
scout minimum is one bounty and whose status poll does not wait for a payout to go quiet. Module-scoped: each module using it starts and stops its own."""

from __future__ import annotations

from dataclasses import replace

import pytest

from infra.description import SERVICE
from infra.local.stack import LocalConfig, LocalStack
from tests.conftest import login
from tests.payees import Control


@pytest.fixture(scope="module")
def payouts_stack(tmp_path_factory):
    # The return window is 0 days here (the schedule decides when it has passed); the scout's
    # minimum is low enough for one bounty; the status poll, fired by hand, asks about every open
    # payout at once.
    service = replace(SERVICE, settings={**SERVICE.settings, "RETURN_WINDOW_DAYS": "0",
                                         "SCOUT_MIN_PAYOUT_PAISE": "1000", "SCOUT_BOUNTY_PAISE": "1000",
                                         "PAYOUT_STATUS_POLL_AFTER_SECONDS": "0"})
    running = LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("payouts-state")), service).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def payouts_admin(payouts_stack) -> str:
    return login(payouts_stack.url, **payouts_stack.accounts["admin"])["access_token"]


@pytest.fixture
def razorpayx(payouts_stack):
    """The stack's RazorpayX sandbox, with no fault or outcome left over from another test."""
    control = Control(payouts_stack.sandbox("razorpayx").url)
    control.post("reset")
    return control
