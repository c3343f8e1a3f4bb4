"""The parity test: the cloud twin (synthesized template) and the local twin (a running local
stack, read back through boto3 and its own tables) contain exactly what the description declares:
the same functions, routes, webhooks, queues and triggers, schedules, tables, secrets, alarms and
user-pool groups. The last two tests show it fails when one twin gets something the other lacks."""

from __future__ import annotations

import copy

from infra.cloud.inventory import inventory_from_template
from infra.description import SERVICE
from infra.local.inventory import local_inventory
from infra.parity import describe, differences


def test_local_twin_matches_the_description(local_stack):
    assert differences(describe(SERVICE), local_inventory(local_stack), "local") == []


def test_cloud_twin_matches_the_description(cloud_template):
    assert differences(describe(SERVICE), inventory_from_template(cloud_template), "cloud") == []


def test_the_twins_match_each_other(local_stack, cloud_template):
    assert differences(inventory_from_template(cloud_template), local_inventory(local_stack), "local") == []


def test_parity_fails_when_only_the_local_twin_gets_a_queue(local_stack):
    sqs = local_stack.client("sqs")
    url = sqs.create_queue(QueueName="bazaar-sneaky", tags={"bazaar:queue": "sneaky"})["QueueUrl"]
    dlq = sqs.get_queue_attributes(
        QueueUrl=local_stack.names.queue_url("notifications-dlq"), AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"RedrivePolicy": f'{{"deadLetterTargetArn": "{dlq}", "maxReceiveCount": "5"}}'}
    )
    try:
        problems = differences(describe(SERVICE), local_inventory(local_stack), "local")
    finally:
        sqs.delete_queue(QueueUrl=url)
    assert problems == [
        "queues: ('sneaky', 30, 5, 'notifications-dlq') is in the local twin but not in the description"
    ]


def test_parity_fails_when_only_the_cloud_twin_gets_a_function(cloud_template):
    template = copy.deepcopy(cloud_template)
    resources = template["Resources"]
    logical_id, function = next(
        (lid, r) for lid, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function"
        and any(t["Value"] == "ops-heartbeat" for t in r["Properties"].get("Tags", []))
    )
    extra = copy.deepcopy(function)
    for tag in extra["Properties"]["Tags"]:
        if tag["Key"] == "bazaar:function":
            tag["Value"] = "cloud-only"
    resources[f"{logical_id}Extra"] = extra

    problems = differences(describe(SERVICE), inventory_from_template(template), "cloud")

    assert problems == ["functions: 'cloud-only' is in the cloud twin but not in the description"]
