"""Alarms (one per `SERVICE.all_alarms`, all notifying one SNS topic that emails the stage's alarm
recipients), a dashboard and the stage's monthly cost budget.

They live in a nested stack of their own: every function and table has its own alarms, which
would take a single stack past CloudFormation's 500 resources. What they watch (functions,
queues, tables, state machines, the API) stays in the parent; CDK passes their names in as the
nested stack's parameters."""

from __future__ import annotations

from aws_cdk import Duration, NestedStack, Stack, Tags
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.cloud import tags
from infra.cloud.queues import QueuePair
from infra.description.model import MetricAlarm, PhysicalNames, Service

NAMESPACE = "Bazaar"
# The budget's alerts, in percent of the monthly amount, on actual (not forecast) spend.
BUDGET_ALERT_PERCENTAGES = (80, 100)
# CloudWatch's limit on the alarms one alarm status widget shows.
_ALARMS_PER_STATUS_WIDGET = 100

_COMPARISONS = {
    ">=": cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ">": cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    "<": cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    "<=": cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
}


def _alarm_topic(scope: Construct, recipients: tuple[str, ...]) -> sns.Topic:
    # A customer-managed key, because CloudWatch may not use the AWS-managed alias/aws/sns key:
    # alarms could not publish to a topic encrypted with it.
    key = kms.Key(
        scope,
        "AlarmTopicKey",
        description="Encrypts the Bazaar alarm topic; CloudWatch alarms may use it to publish.",
        enable_key_rotation=True,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],  # in a key policy "*" means this key
        )
    )
    topic = sns.Topic(scope, "AlarmTopic", display_name="Bazaar alarms", master_key=key, enforce_ssl=True)
    # Each address gets a confirmation email from SNS and receives nothing until it confirms.
    for address in recipients:
        topic.add_subscription(subscriptions.EmailSubscription(address))
    return topic


class _Sources:
    """What an alarm's metrics are about, by description name, as this stack refers to them."""

    def __init__(self, service: Service, functions: dict[str, lambda_.Function], queues: dict[str, QueuePair],
                 api: apigateway.RestApi | None, physical: PhysicalNames) -> None:
        self.service, self.functions, self.api, self.physical = service, functions, api, physical
        self.queues = {}
        for queue in service.queues:
            self.queues[queue.name] = queues[queue.name].queue
            self.queues[queue.dlq_name] = queues[queue.name].dlq

    def dimensions(self, alarm: MetricAlarm) -> dict[str, str]:
        if alarm.queue:
            return {"QueueName": self.queues[alarm.queue].queue_name}
        if alarm.state_machine:
            return {"StateMachineArn": self.physical.state_machine_arn(alarm.state_machine)}
        if alarm.function:
            return {"FunctionName": self.functions[alarm.function].function_name}
        if alarm.table:
            return {"TableName": self.physical.table_name(alarm.table)}
        if alarm.api:
            assert self.api is not None  # the description refuses an API alarm without routes
            return {"ApiName": self.api.rest_api_name}
        # Powertools Metrics adds the `service` dimension to every metric it emits.
        return {"service": self.service.name, **alarm.dimensions}

    def metric(self, alarm: MetricAlarm) -> cloudwatch.IMetric:
        period = Duration.seconds(alarm.period_seconds)
        dimensions = self.dimensions(alarm)
        metrics = {
            f"m{i}": cloudwatch.Metric(namespace=alarm.namespace, metric_name=name, dimensions_map=dimensions,
                                       statistic=alarm.statistic, period=period)
            for i, name in enumerate(alarm.metrics)
        }
        if alarm.math is None:
            return metrics["m0"]
        return cloudwatch.MathExpression(expression=alarm.math, using_metrics=metrics, label=alarm.name,
                                         period=period)


class MonitoringStack(NestedStack):
    """The alarms, their topic, the dashboard and the budget, as a nested stack of BazaarStack."""

    def __init__(self, scope: Construct, construct_id: str, *, service: Service, stack_name: str,
                 functions: dict[str, lambda_.Function], queues: dict[str, QueuePair],
                 api: apigateway.RestApi | None, physical: PhysicalNames) -> None:
        super().__init__(scope, construct_id, description=f"{stack_name}: alarms, dashboard and budget")
        recipients = service.stage.alarm_recipients if service.stage else ()
        self.topic = _alarm_topic(self, recipients)
        sources = _Sources(service, functions, queues, api, physical)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for spec in service.all_alarms:
            alarm = cloudwatch.Alarm(
                self,
                f"Alarm-{spec.name}",
                alarm_name=f"{stack_name}-{spec.name}",
                alarm_description=spec.description,
                metric=sources.metric(spec),
                threshold=spec.threshold,
                comparison_operator=_COMPARISONS[spec.comparison],
                evaluation_periods=spec.evaluation_periods,
                treat_missing_data=(
                    cloudwatch.TreatMissingData.BREACHING
                    if spec.treat_missing_as_breaching
                    else cloudwatch.TreatMissingData.NOT_BREACHING
                ),
            )
            alarm.add_alarm_action(actions.SnsAction(self.topic))
            alarm.add_ok_action(actions.SnsAction(self.topic))
            Tags.of(alarm).add(tags.ALARM, spec.name)
            self.alarms[spec.name] = alarm
        _dashboard(self, stack_name, service, functions, queues, api, self.alarms)
        if service.stage is not None:
            _budget(self, stack_name, service.stage.monthly_budget_usd, recipients)


def build_monitoring(
    scope: Construct,
    service: Service,
    functions: dict[str, lambda_.Function],
    queues: dict[str, QueuePair],
    api: apigateway.RestApi | None,
    physical: PhysicalNames,
) -> dict[str, cloudwatch.Alarm]:
    monitoring = MonitoringStack(scope, "Monitoring", service=service, stack_name=Stack.of(scope).stack_name,
                                 functions=functions, queues=queues, api=api, physical=physical)
    return monitoring.alarms


def _budget(scope: Construct, stack_name: str, amount_usd: int, recipients: tuple[str, ...]) -> None:
    """The month's actual cost against the stage's budget (the whole account's: one account per
    stage), emailed to the alarm recipients at each of BUDGET_ALERT_PERCENTAGES. A stage without
    recipients keeps the budget, visible in the Billing console, with nobody to email."""
    notifications = [
        budgets.CfnBudget.NotificationWithSubscribersProperty(
            notification=budgets.CfnBudget.NotificationProperty(
                notification_type="ACTUAL", comparison_operator="GREATER_THAN",
                threshold=percentage, threshold_type="PERCENTAGE",
            ),
            subscribers=[budgets.CfnBudget.SubscriberProperty(subscription_type="EMAIL", address=address)
                         for address in recipients],
        )
        for percentage in BUDGET_ALERT_PERCENTAGES
    ] if recipients else None
    budgets.CfnBudget(
        scope,
        "MonthlyBudget",
        budget=budgets.CfnBudget.BudgetDataProperty(
            budget_name=f"{stack_name}-monthly",
            budget_type="COST",
            time_unit="MONTHLY",
            budget_limit=budgets.CfnBudget.SpendProperty(amount=amount_usd, unit="USD"),
        ),
        notifications_with_subscribers=notifications,
    )


def _bazaar(metric: str, service: Service, statistic: str = "Sum", label: str | None = None) -> cloudwatch.Metric:
    return cloudwatch.Metric(namespace=NAMESPACE, metric_name=metric, dimensions_map={"service": service.name},
                             statistic=statistic, period=Duration.hours(1), label=label or metric)


def _business_widgets(service: Service) -> list[cloudwatch.IWidget]:
    """Orders, payments, revenue and payouts, hourly, from the metrics Bazaar emits."""
    hourly = Duration.hours(1)
    succeeded, failed = _bazaar("PaymentSucceeded", service), _bazaar("PaymentFailed", service)
    return [
        cloudwatch.GraphWidget(
            title="Orders by status event (per hour)",
            left=[_bazaar(name, service) for name in
                  ("OrdersPlaced", "OrdersPaid", "OrderPaymentsFailed", "OrdersExpired", "OrdersDelivered",
                   "OrdersRefunded")],
            width=12,
        ),
        cloudwatch.GraphWidget(
            title="Payment success rate (%, per hour)",
            left=[cloudwatch.MathExpression(
                expression="100 * FILL(s, 0) / (FILL(s, 0) + FILL(f, 0))",
                using_metrics={"s": succeeded, "f": failed}, label="succeeded / settled", period=hourly,
            )],
            left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
            width=12,
        ),
        cloudwatch.GraphWidget(
            title="Revenue (rupees, per hour)",
            # Bazaar counts money in integer paise; 100 paise make a rupee.
            left=[cloudwatch.MathExpression(
                expression="FILL(paid, 0) / 100", using_metrics={"paid": _bazaar("RevenuePaise", service)},
                label="revenue (₹)", period=hourly,
            ), cloudwatch.MathExpression(
                expression="FILL(refunded, 0) / 100",
                using_metrics={"refunded": _bazaar("RefundedPaise", service)},
                label="refunded (₹)", period=hourly,
            )],
            width=12,
        ),
        cloudwatch.GraphWidget(
            title="Payouts (per hour)",
            left=[_bazaar("PayoutProcessed", service, label="paid out"),
                  _bazaar("PayoutFailed", service, label="failed")],
            width=12,
        ),
    ]


def _dashboard(scope, stack_name, service, functions, queues, api, alarms) -> cloudwatch.Dashboard:
    dashboard = cloudwatch.Dashboard(scope, "Dashboard", dashboard_name=stack_name)
    every = list(alarms.values())
    for start in range(0, len(every), _ALARMS_PER_STATUS_WIDGET):
        dashboard.add_widgets(cloudwatch.AlarmStatusWidget(
            title="Alarms", alarms=every[start:start + _ALARMS_PER_STATUS_WIDGET], width=24,
        ))
    dashboard.add_widgets(*_business_widgets(service))
    if api is not None:
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API: 4xx, 5xx and requests",
                left=[api.metric_client_error(), api.metric_server_error()],
                right=[api.metric_count()],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API: latency",
                left=[api.metric_latency(statistic="p50"), api.metric_latency(statistic="p99")],
                width=12,
            ),
        )
    for name, fn in functions.items():
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title=f"{name}: invocations, errors, throttles",
                left=[fn.metric_invocations(), fn.metric_errors()],
                right=[fn.metric_throttles()],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title=f"{name}: duration",
                left=[fn.metric_duration(statistic="p50"), fn.metric_duration(statistic="p99")],
                width=12,
            ),
        )
    for name, pair in queues.items():
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title=f"{name}: queue and DLQ depth",
                left=[
                    pair.queue.metric_approximate_number_of_messages_visible(),
                    pair.queue.metric_approximate_age_of_oldest_message(),
                ],
                right=[pair.dlq.metric_approximate_number_of_messages_visible()],
                width=24,
            )
        )
    bazaar_alarms = [a.name for a in service.all_alarms if a.namespace == NAMESPACE]
    if bazaar_alarms:
        dashboard.add_widgets(
            *[cloudwatch.AlarmWidget(title=name, alarm=alarms[name], width=12) for name in bazaar_alarms]
        )
    return dashboard
