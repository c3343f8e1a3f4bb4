"""The local scheduler computes EventBridge's next fire times for rate and cron expressions."""

from datetime import UTC, datetime, timedelta

import pytest

from infra.local.scheduler import Cadence, UnsupportedExpression

AT = datetime(2026, 11, 23, 6, 47, 30, tzinfo=UTC)  # a Monday


def test_rate_fires_after_its_interval():
    assert Cadence.parse("rate(5 minutes)").next_after(AT) == AT + timedelta(minutes=5)
    assert Cadence.parse("rate(1 hour)").next_after(AT) == AT + timedelta(hours=1)


def test_cron_every_fifteen_minutes():
    assert Cadence.parse("cron(0/15 * * * ? *)").next_after(AT) == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def test_cron_weekdays_at_a_fixed_time():
    cadence = Cadence.parse("cron(30 2 ? * MON-FRI *)")
    assert cadence.next_after(AT) == datetime(2026, 11, 24, 2, 30, tzinfo=UTC)  # Tuesday
    friday_night = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    assert cadence.next_after(friday_night) == datetime(2026, 11, 30, 2, 30, tzinfo=UTC)  # Monday


def test_cron_month_names_and_lists():
    cadence = Cadence.parse("cron(0 0 1 JAN,JUL ? *)")
    assert cadence.next_after(AT) == datetime(2027, 1, 1, 0, 0, tzinfo=UTC)


def test_unsupported_cron_features_are_refused_not_guessed():
    with pytest.raises(UnsupportedExpression):
        Cadence.parse("cron(0 0 L * ? *)")
    with pytest.raises(UnsupportedExpression):
        Cadence.parse("cron(0 0 * *)")
