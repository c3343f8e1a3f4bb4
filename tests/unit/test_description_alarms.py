"""The alarms the description derives and declares: one per function's errors and throttles and
per table's throttles, the API, health, payment and stock-lock alarms, each watching a metric the
code emits, with per-stage thresholds."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from infra.description.bazaar import SERVICE
from infra.description.model import DescriptionError, MetricAlarm, Stage

ROOT = Path(__file__).resolve().parents[2]


def _alarms(service=SERVICE):
    return {a.name: a for a in service.all_alarms}


def test_every_function_has_an_errors_and_a_throttles_alarm_on_its_own_metrics():
    alarms = _alarms()
    for function in SERVICE.functions:
        errors, throttles = alarms[f"{function.name}-errors"], alarms[f"{function.name}-throttles"]
        assert (errors.namespace, errors.metric, errors.function, errors.threshold) == (
            "AWS/Lambda", "Errors", function.name, 1)
        assert (throttles.namespace, throttles.metric, throttles.function) == ("AWS/Lambda", "Throttles", function.name)


def test_every_table_has_a_throttles_alarm_on_reads_and_writes():
    alarms = _alarms()
    for table in SERVICE.tables:
        alarm = alarms[f"{table.name}-throttles"]
        assert (alarm.namespace, alarm.table, alarm.metrics) == (
            "AWS/DynamoDB", table.name, ("ReadThrottleEvents", "WriteThrottleEvents"))
        assert alarm.math == "FILL(m0, 0) + FILL(m1, 0)"


def test_the_api_health_payment_and_stock_lock_alarms():
    alarms = _alarms(SERVICE.at_stage("dev"))
    five_xx, latency = alarms["api-5xx-rate"], alarms["api-latency-p99"]
    assert (five_xx.namespace, five_xx.metrics, five_xx.math) == (
        "AWS/ApiGateway", ("5XXError", "Count"), "100 * FILL(m0, 0) / m1")
    assert (latency.statistic, latency.comparison, latency.threshold) == ("p99", ">", 500)
    health = alarms["health-failing"]
    assert (health.metric, health.comparison, health.threshold, health.treat_missing_as_breaching) == (
        "HealthCheckPassed", "<", 1, True)
    success = alarms["payment-success-rate-low"]
    assert success.metrics == ("PaymentSucceeded", "PaymentFailed") and success.comparison == "<"
    locks = alarms["stock-locks-unreleased"]
    assert (locks.metric, locks.comparison, locks.threshold, locks.evaluation_periods) == (
        "ExpiredLocksStillHeld", ">", 0, 2)


def test_the_health_probe_runs_every_five_minutes():
    (schedule,) = SERVICE.function("ops-health-probe").schedules
    assert schedule.expression == "rate(5 minutes)"


def test_prod_tightens_thresholds_that_dev_keeps_loose():
    dev, prod = _alarms(SERVICE.at_stage("dev")), _alarms(SERVICE.at_stage("prod"))
    assert dev["api-5xx-rate"].threshold > prod["api-5xx-rate"].threshold
    assert dev["payment-success-rate-low"].threshold < prod["payment-success-rate-low"].threshold


def test_a_stage_may_set_a_derived_alarms_threshold_but_not_an_unknown_ones():
    stage = Stage(name="qa-stage", purpose="test", alarm_thresholds={"ops-api-errors": 5})
    staged = replace(SERVICE, stages=(*SERVICE.stages, stage)).at_stage("qa-stage")
    assert _alarms(staged)["ops-api-errors"].threshold == 5
    typo = Stage(name="qa-stage", purpose="test", alarm_thresholds={"ops-api-erors": 5})
    with pytest.raises(DescriptionError, match="undeclared alarms"):
        replace(SERVICE, stages=(*SERVICE.stages, typo)).at_stage("qa-stage")


def test_an_expression_must_use_exactly_its_metrics():
    with pytest.raises(DescriptionError, match=r"m0\.\.m1"):
        MetricAlarm(name="rate", description="x", metric="A", more_metrics=("B",), expression="m0 / m2",
                    threshold=1)
    with pytest.raises(DescriptionError, match="statistic"):
        MetricAlarm(name="slow", description="x", metric="Latency", statistic="p999x", threshold=1)


def _emitted() -> set[str]:
    names: set[str] = set()
    for path in [*(ROOT / "functions").rglob("*.py"), *(ROOT / "shared" / "bazaar").rglob("*.py")]:
        text = path.read_text()
        names |= set(re.findall(r'add_metric\(name="(\w+)"', text))
        names |= set(re.findall(r'"([A-Z]\w+)"', text))
    # The payment events worker names one metric per verdict: PaymentEvent<Verdict>.
    from bazaar.payments.domain import Verdict

    return names | {f"PaymentEvent{v.value.title().replace('_', '')}" for v in Verdict}


def test_every_bazaar_metric_alarm_watches_metrics_the_code_emits():
    emitted = _emitted()
    for alarm in SERVICE.all_alarms:
        if alarm.namespace == "Bazaar":
            assert set(alarm.metrics) <= emitted, alarm.name


def test_the_health_probe_emits_pass_and_fail(monkeypatch):
    from bazaar.ops.adapters.metrics import publish_health
    from bazaar.ops.domain import DependencyStatus, HealthReport
    from bazaar.platform.observability import metrics

    monkeypatch.setattr(metrics, "namespace", "Bazaar")

    def emitted(report: HealthReport) -> float:
        publish_health(report)
        try:
            document = metrics.serialize_metric_set()
        finally:
            metrics.clear_metrics()
        return document["HealthCheckPassed"]

    up = HealthReport("1", (DependencyStatus("dynamodb", True, 3),))
    down = HealthReport("1", (DependencyStatus("dynamodb", False, 3, "ResourceNotFoundException"),))
    assert (emitted(up), emitted(down)) == ([1.0], [0.0])
