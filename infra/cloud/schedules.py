"""One EventBridge rule per `SERVICE.schedules`, targeting its function."""

from __future__ import annotations

from aws_cdk import Duration, Stack, Tags
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.cloud import tags
from infra.description.model import Service

# A missed run is retried briefly; the next scheduled run is never far away.
RETRY_ATTEMPTS = 2
MAX_EVENT_AGE = Duration.minutes(15)


def build_schedules(
    scope: Construct, service: Service, functions: dict[str, lambda_.Function]
) -> dict[str, events.Rule]:
    stack_name = Stack.of(scope).stack_name
    rules: dict[str, events.Rule] = {}
    for fn, schedule in service.schedules:
        rule = events.Rule(
            scope,
            f"Schedule-{schedule.name}",
            rule_name=f"{stack_name}-{schedule.name}",
            description=schedule.description,
            schedule=events.Schedule.expression(schedule.expression),
            targets=[
                targets.LambdaFunction(
                    functions[fn.name], retry_attempts=RETRY_ATTEMPTS, max_event_age=MAX_EVENT_AGE
                )
            ],
        )
        Tags.of(rule).add(tags.SCHEDULE, schedule.name)
        rules[schedule.name] = rule
    return rules
