"""The stages Bazaar is deployed as. Everything that differs between dev, staging and prod is
here; `Service.at_stage` applies one (and refuses a production stage that would call a
provider's test environment or alarm nobody). Pick one with `cdk synth -c bazaar:stage=prod`."""

from __future__ import annotations

from infra.description.model import IpRateLimits, Stage
from infra.description.settings import RATE_LIMITS

# Developers' deployments and the local twin, where every client is one address (127.0.0.1) and
# test suites sign in hundreds of times a minute: limits that count but do not get in the way.
_DEVELOPER_RATE_LIMIT = "per_user=1000,per_ip=10000,window_seconds=60"

DEV = Stage(
    name="dev",
    purpose="Developers' own deployment and the local twin: provider sandboxes, a small budget.",
    settings=dict.fromkeys(RATE_LIMITS, _DEVELOPER_RATE_LIMIT),
    cors_allowed_origins=("http://localhost:3000", "http://127.0.0.1:3000"),
    alarm_recipients=(),
    monthly_budget_usd=25,
    # Developers and test scripts hammer their own stage from one address.
    ip_rate_limits=IpRateLimits(per_ip=5000, strict_per_ip=1000),
    # One known behaviour for developers and the test suites (a 15-minute stock hold for everyone);
    # the longer hold is tried on a share of staging's and prod's shoppers.
    flag_rollout_percent={"hold_stock_for_payment_timeout": 0},
)

STAGING = Stage(
    name="staging",
    purpose="The release candidate, against the providers' sandboxes, watched like production.",
    cors_allowed_origins=("https://staging.bazaar.example",),
    alarm_recipients=("ops-staging@bazaar.example",),
    monthly_budget_usd=100,
    ip_rate_limits=IpRateLimits(per_ip=2000, strict_per_ip=300),
)

PROD = Stage(
    name="prod",
    purpose="Real shoppers and real money.",
    settings={
        "PHONEPE_BASE_URL": "https://api.phonepe.com/apis/pg",
        "PHONEPE_OAUTH_BASE_URL": "https://api.phonepe.com/apis/identity-manager",
        "PHONEPE_CALLBACK_URL": "https://api.bazaar.example/webhooks/phonepe",
        "LOG_LEVEL": "INFO",
    },
    cors_allowed_origins=("https://bazaar.example", "https://www.bazaar.example", "https://admin.bazaar.example"),
    alarm_recipients=("ops@bazaar.example",),
    # Real shoppers: tell sooner than on the sandboxes' noise.
    alarm_thresholds={"api-5xx-rate": 1, "payment-success-rate-low": 80},
    monthly_budget_usd=500,
    # A shopper's browsing is tens of requests a minute; a sign-in, checkout or refund more than
    # once every few seconds from one address for five minutes is a script.
    ip_rate_limits=IpRateLimits(per_ip=2000, strict_per_ip=100),
    production=True,
    # A new flag document reaches 10% of prod's functions, then the rest after 20 minutes of alarms.
    flags_deployment_strategy="AppConfig.Canary10Percent20Minutes",
)

STAGES = (DEV, STAGING, PROD)
