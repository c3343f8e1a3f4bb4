"""Alarms (one per `SERVICE.all_alarms`, all notifying one SNS topic) and a dashboard."""

from __future__ import annotations

from aws_cdk import Duration, Stack, Tags
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.cloud import tags
from infra.cloud.queues import QueuePair
from infra.description.model import MetricAlarm, PhysicalNames, Service

NAMESPACE = "Bazaar"

_COMPARISONS = {
    ">=": cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ">": cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    "<": cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    "<=": cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
}


def _alarm_topic(scope: Construct) -> sns.Topic:
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
    return sns.Topic(scope, "AlarmTopic", display_name="Bazaar alarms", master_key=key, enforce_ssl=True)


def _queues_by_name(service: Service, queues: dict[str, QueuePair]) -> dict:
    """Queue and DLQ constructs by description name: an alarm may watch either."""
    found = {}
    for queue in service.queues:
        found[queue.name] = queues[queue.name].queue
        found[queue.dlq_name] = queues[queue.name].dlq
    return found


def _metric(alarm: MetricAlarm, service: Service, queues: dict, physical: PhysicalNames) -> cloudwatch.IMetric:
    period = Duration.seconds(alarm.period_seconds)
    if alarm.queue:
        return queues[alarm.queue].metric(alarm.metric, statistic=alarm.statistic, period=period)
    if alarm.state_machine:
        arn = physical.state_machine_arn(alarm.state_machine)
        metrics = {
            f"m{i}": cloudwatch.Metric(
                namespace="AWS/States", metric_name=name, dimensions_map={"StateMachineArn": arn},
                statistic=alarm.statistic, period=period,
            )
            for i, name in enumerate((alarm.metric, *alarm.plus_metrics))
        }
        if len(metrics) == 1:
            return metrics["m0"]
        # A period with no failed executions publishes no datapoint: count it as 0, not missing.
        return cloudwatch.MathExpression(
            expression=" + ".join(f"FILL({key}, 0)" for key in metrics),
            using_metrics=metrics,
            label=" + ".join((alarm.metric, *alarm.plus_metrics)),
            period=period,
        )
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=alarm.metric,
        # Powertools Metrics adds the `service` dimension to every metric it emits.
        dimensions_map={"service": service.name, **alarm.dimensions},
        statistic=alarm.statistic,
        period=period,
    )


def build_monitoring(
    scope: Construct,
    service: Service,
    functions: dict[str, lambda_.Function],
    queues: dict[str, QueuePair],
    api: apigateway.RestApi | None,
    physical: PhysicalNames,
) -> dict[str, cloudwatch.Alarm]:
    stack_name = Stack.of(scope).stack_name
    topic = _alarm_topic(scope)
    by_name = _queues_by_name(service, queues)
    alarms: dict[str, cloudwatch.Alarm] = {}
    for spec in service.all_alarms:
        alarm = cloudwatch.Alarm(
            scope,
            f"Alarm-{spec.name}",
            alarm_name=f"{stack_name}-{spec.name}",
            alarm_description=spec.description,
            metric=_metric(spec, service, by_name, physical),
            threshold=spec.threshold,
            comparison_operator=_COMPARISONS[spec.comparison],
            evaluation_periods=spec.evaluation_periods,
            treat_missing_data=(
                cloudwatch.TreatMissingData.BREACHING
                if spec.treat_missing_as_breaching
                else cloudwatch.TreatMissingData.NOT_BREACHING
            ),
        )
        alarm.add_alarm_action(actions.SnsAction(topic))
        alarm.add_ok_action(actions.SnsAction(topic))
        Tags.of(alarm).add(tags.ALARM, spec.name)
        alarms[spec.name] = alarm
    _dashboard(scope, service, functions, queues, api, alarms)
    return alarms


def _dashboard(scope, service, functions, queues, api, alarms) -> cloudwatch.Dashboard:
    dashboard = cloudwatch.Dashboard(scope, "Dashboard", dashboard_name=Stack.of(scope).stack_name)
    dashboard.add_widgets(
        cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms.values()), width=24)
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
    bazaar_alarms = [a.name for a in service.all_alarms if not a.queue and not a.state_machine]
    if bazaar_alarms:
        dashboard.add_widgets(
            *[cloudwatch.AlarmWidget(title=name, alarm=alarms[name], width=12) for name in bazaar_alarms]
        )
    return dashboard
