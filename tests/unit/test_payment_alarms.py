"""Every payments alarm watches a metric the code really emits (a typo would make an alarm that
can never fire, or, with treat-missing-as-breaching, one that always does)."""

import re
from pathlib import Path

from bazaar.payments.domain import Verdict
from infra.description.contexts import payments

ROOT = Path(__file__).resolve().parents[2]


def _emitted() -> set[str]:
    names: set[str] = set()
    for path in [*(ROOT / "functions" / "payments").glob("*.py"), *(ROOT / "shared" / "bazaar" / "payments").rglob("*.py")]:
        text = path.read_text()
        names |= set(re.findall(r'add_metric\(name="(\w+)"', text))
        names |= set(re.findall(r'"(Payment\w+)"', text))
    # The worker names one metric per verdict: PaymentEvent<Verdict>.
    return names | {f"PaymentEvent{v.value.title().replace('_', '')}" for v in Verdict}


def test_each_payments_alarm_watches_an_emitted_metric():
    emitted = _emitted()
    for alarm in payments.ALARMS:
        assert alarm.metric in emitted, alarm.name


def test_webhook_rejections_have_an_alarm():
    assert any(a.metric == "WebhookRejected" for a in payments.ALARMS)
    assert 'add_metric(name="WebhookRejected"' in (ROOT / "shared/bazaar/payments/services.py").read_text()
