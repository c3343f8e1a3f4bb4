"""AWS list prices in Asia Pacific (Mumbai), ap-south-1, in US dollars: the one table
`make bench-cost` multiplies its counts by. Prices change: each row says where it was read and
whether the Mumbai figure itself was confirmed there. UNCONFIRMED means the pricing page shows the
regional figure only through its region selector (not in the page text we could read), so the
row carries the US East figure or the last published Mumbai figure, as its note says; replace it
with the console's figure before relying on the total. Free tiers are left out on purpose: the
figure is what an order costs once the free tier is spent."""

from __future__ import annotations

from dataclasses import dataclass

PRICES_READ_ON = "2026-12-02"
REGION = "ap-south-1"


@dataclass(frozen=True)
class Price:
    usd: float
    per: float  # the price is for this many units
    unit: str
    source: str
    confirmed: bool
    note: str = ""

    @property
    def per_unit(self) -> float:
        return self.usd / self.per


PRICES: dict[str, Price] = {
    "lambda_requests": Price(0.20, 1_000_000, "requests", "https://aws.amazon.com/lambda/pricing/", False,
                             "same in every commercial region listed"),
    "lambda_gb_seconds_arm64": Price(0.0000133334, 1, "GB-seconds (arm64, first tier)",
                                     "https://aws.amazon.com/lambda/pricing/", False,
                                     "US East figure; init is billed as duration too"),
    "api_gateway_rest_requests": Price(3.50, 1_000_000, "REST API requests (first 333 M)",
                                       "https://aws.amazon.com/api-gateway/pricing/", False, "US East figure"),
    "dynamodb_write_request_units": Price(0.7116, 1_000_000, "on-demand write request units",
                                          "https://aws.amazon.com/dynamodb/pricing/on-demand/", False,
                                          "the November 2024 halving applied to the earlier Mumbai 1.4231"),
    "dynamodb_read_request_units": Price(0.1423, 1_000_000, "on-demand read request units",
                                         "https://aws.amazon.com/dynamodb/pricing/on-demand/", False,
                                         "the November 2024 halving applied to the earlier Mumbai 0.2846"),
    "dynamodb_streams_read_request_units": Price(0.02, 100_000, "Streams read request units (GetRecords)",
                                                 "https://aws.amazon.com/dynamodb/pricing/on-demand/", False,
                                                 "free when Lambda triggers read the stream, as here"),
    "sqs_requests": Price(0.40, 1_000_000, "standard queue requests (64 KB chunks)",
                          "https://aws.amazon.com/sqs/pricing/", False, "US East figure"),
    "step_functions_transitions": Price(0.025, 1_000, "Standard workflow state transitions",
                                        "https://aws.amazon.com/step-functions/pricing/", False, "US East figure"),
    "ses_emails": Price(0.10, 1_000, "outbound emails", "https://aws.amazon.com/ses/pricing/", True,
                        "one price in every region"),
    "secrets_manager_api_calls": Price(0.05, 10_000, "API calls", "https://aws.amazon.com/secrets-manager/pricing/",
                                       True, "one price in every region"),
    "secrets_manager_secret_months": Price(0.40, 1, "secret-months", "https://aws.amazon.com/secrets-manager/pricing/",
                                           True, "monthly, amortised over the month's orders"),
    "cloudwatch_logs_ingested_gb": Price(0.50, 1, "GB of logs ingested (standard class)",
                                         "https://aws.amazon.com/cloudwatch/pricing/", False, "US East figure"),
    "cloudwatch_custom_metric_months": Price(0.30, 1, "custom metric-months (first 10,000)",
                                             "https://aws.amazon.com/cloudwatch/pricing/", False,
                                             "US East figure; monthly, amortised over the month's orders"),
    "waf_requests": Price(0.60, 1_000_000, "web ACL requests", "https://aws.amazon.com/waf/pricing/", True,
                          "one price in every region"),
    "waf_web_acl_months": Price(5.00, 1, "web ACL-months", "https://aws.amazon.com/waf/pricing/", True,
                                "monthly, amortised over the month's orders"),
    "waf_rule_months": Price(1.00, 1, "rule-months", "https://aws.amazon.com/waf/pricing/", True,
                             "monthly, amortised over the month's orders"),
}
