"""The running local stack read back into an Inventory, through the same APIs an operator would
use (boto3 against moto) plus the gateway's and scheduler's own tables, for the parity test."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from infra.description.model import sender_address
from infra.local.aws import ACCOUNT, REGION
from infra.local.flags import FLAGS_TAG
from infra.local.workflows import STATE_MACHINE_TAG
from infra.parity import flag_document_json, connect_roles_from_environment, pushed_apis_from_environment, Inventory, event_routes_from_environment, task_function_names

if TYPE_CHECKING:
    from infra.local.stack import LocalStack


def _tag(tags: list[dict] | dict, key: str) -> str | None:
    if isinstance(tags, dict):
        return tags.get(key)
    return next((t["Value"] for t in tags if t["Key"] == key), None)


def local_state_machines(stack: LocalStack) -> dict[str, dict]:
    """Every state machine in moto tagged with a described name -> what describe_state_machine
    says of it, definition parsed."""
    sfn = stack.client("stepfunctions")
    found = {}
    for page in sfn.get_paginator("list_state_machines").paginate():
        for summary in page["stateMachines"]:
            arn = summary["stateMachineArn"]
            name = _tag(
                [{"Key": t["key"], "Value": t["value"]} for t in sfn.list_tags_for_resource(resourceArn=arn)["tags"]],
                STATE_MACHINE_TAG,
            )
            if name:
                described = sfn.describe_state_machine(stateMachineArn=arn)
                found[name] = {**described, "definition": json.loads(described["definition"])}
    return found


def _local_function(function_name) -> str:
    # A local task names its function by a local Lambda ARN (infra/local/workflows.py).
    if isinstance(function_name, str) and ":function:" in function_name:
        return function_name.split(":function:", 1)[1].split(":", 1)[0]
    return f"<not a local function ARN: {function_name!r}>"


def local_inventory(stack: LocalStack) -> Inventory:
    dynamodb, sqs = stack.client("dynamodb"), stack.client("sqs")
    tables, table_streams = set(), set()
    stream_tables: dict[str, str] = {}  # stream ARN -> described table name
    for physical in dynamodb.list_tables()["TableNames"]:
        described = dynamodb.describe_table(TableName=physical)["Table"]
        name = _tag(dynamodb.list_tags_of_resource(ResourceArn=described["TableArn"])["Tags"], "bazaar:table")
        if not name:
            continue
        keys = {k["KeyType"]: k["AttributeName"] for k in described["KeySchema"]}
        ttl = dynamodb.describe_time_to_live(TableName=physical)["TimeToLiveDescription"]
        stream = described.get("StreamSpecification") or {}
        if stream.get("StreamEnabled"):
            table_streams.add((name, stream["StreamViewType"]))
            stream_tables[described["LatestStreamArn"]] = name
        tables.add((
            name,
            keys["HASH"],
            keys.get("RANGE", ""),
            tuple(sorted(i["IndexName"] for i in described.get("GlobalSecondaryIndexes", []))),
            ttl.get("AttributeName", "") if ttl.get("TimeToLiveStatus") == "ENABLED" else "",
        ))

    queue_names: dict[str, str] = {}  # physical queue ARN -> described name
    queue_names_by_url: dict[str, str] = {}
    queue_attributes: dict[str, dict] = {}
    for url in sqs.list_queues().get("QueueUrls", []):
        name = _tag(sqs.list_queue_tags(QueueUrl=url).get("Tags", {}), "bazaar:queue")
        if name:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            queue_names[attributes["QueueArn"]] = name
            queue_names_by_url[url] = name
            queue_attributes[name] = attributes
    queues = set()
    for name, attributes in queue_attributes.items():
        if "RedrivePolicy" not in attributes:
            continue  # a DLQ: reported with its source queue
        redrive = json.loads(attributes["RedrivePolicy"])
        queues.add((name, int(attributes["VisibilityTimeout"]), int(redrive["maxReceiveCount"]),
                    queue_names[redrive["deadLetterTargetArn"]]))

    manager = stack.client("secretsmanager")
    secrets = {
        tag for s in manager.list_secrets()["SecretList"] if (tag := _tag(s.get("Tags", []), "bazaar:secret")) is not None
    }

    prefix = f"{stack.service.name}-"
    alarms = {
        a["AlarmName"].removeprefix(prefix)
        for page in stack.client("cloudwatch").get_paginator("describe_alarms").paginate()
        for a in page["MetricAlarms"]
        if a["AlarmName"].startswith(prefix)
    }
    assert stack.names is not None  # a running stack
    groups = {g["GroupName"] for g in stack.client("cognito-idp").list_groups(UserPoolId=stack.names.pool_id)["Groups"]}

    # Which runtimes were given the NAT gateway twin as their proxy, and whether it is up.
    egress = stack.egress if stack.egress is not None and stack.egress.running else None
    fixed_egress_functions = frozenset(
        name for name, runtime in stack.runtimes.items() if egress is not None and egress.routes(runtime.environment)
    )
    gateway, scheduler = stack.gateway, stack.scheduler
    assert gateway is not None and scheduler is not None  # a running stack
    routes = frozenset((r.route.method, r.route.path, r.function.name, r.route.is_public) for r in gateway.routes)
    verified = stack.client("ses").list_identities(IdentityType="EmailAddress")["Identities"]
    # moto, directly or through the fault proxy in front of it (the functions' endpoint).
    moto_endpoints = {stack.aws_endpoint, stack.functions_aws_endpoint}
    return Inventory(
        functions=frozenset(stack.runtimes),
        routes=routes,
        webhook_functions=frozenset(f.name for f in gateway.webhooks.values()),
        queues=frozenset(queues),
        queue_triggers=frozenset((p.trigger.queue, p.function.name, p.trigger.batch_size) for p in stack.pollers),
        schedules=frozenset(
            (s.schedule.name, s.schedule.expression, s.function.name) for s in scheduler.states.values()
        ),
        tables=frozenset(tables),
        secrets=frozenset(secrets),
        alarms=frozenset(alarms),
        user_pool_groups=frozenset(groups),
        stream_triggers=frozenset(
            # What each running poller reads (by its stream's table) and where it gives up to.
            (stream_tables.get(p.stream_arn, f"<untagged stream {p.stream_arn}>"), p.function.name,
             p.trigger.batch_size, p.trigger.max_retry_attempts, p.trigger.bisect_batch_on_error,
             queue_names_by_url.get(p.on_failure_url, f"<unknown queue {p.on_failure_url}>"))
            for p in stack.stream_pollers
        ),
        table_streams=frozenset(table_streams),
        event_routes=frozenset(
            route for name, runtime in stack.runtimes.items()
            for route in event_routes_from_environment(name, runtime.environment)
        ),
        fixed_egress_functions=fixed_egress_functions,
        # One proxy leaving from one address: the twin of one NAT gateway with one Elastic IP.
        fixed_egress_networks=frozenset({(egress.name, 1)} if egress is not None else ()),
        state_machines=frozenset(
            (name, task_function_names(machine["definition"], _local_function),
             (machine.get("loggingConfiguration") or {}).get("level", "OFF"),
             bool((machine.get("tracingConfiguration") or {}).get("enabled", False)))
            for name, machine in local_state_machines(stack).items()
        ),
        **_local_websockets(stack),
        email_identities=frozenset(verified),
        # Who reaches moto's SES, and the sender it was given.
        email_senders=frozenset(
            (name, sender_address(runtime.environment.get("EMAIL_SENDER", "")) if runtime.environment.get(
                "EMAIL_SENDER") else "<no EMAIL_SENDER>")
            for name, runtime in stack.runtimes.items()
            if runtime.environment.get("AWS_ENDPOINT_URL_SESV2") in moto_endpoints
        ),
        sms_senders=frozenset(
            name for name, runtime in stack.runtimes.items()
            if runtime.environment.get("AWS_ENDPOINT_URL_SNS") in moto_endpoints
        ),
        # The cap each runtime enforces, where it has one (never above the machine's pool size).
        reserved_concurrency=frozenset(
            (name, runtime.reserved_concurrency) for name, runtime in stack.runtimes.items()
            if runtime.reserved_concurrency is not None and runtime.max_concurrency <= runtime.reserved_concurrency
        ),
        **_local_flags(stack),
    )


def _local_flags(stack: LocalStack) -> dict:
    """The flag applications in moto (by tag) with the document the AppConfig Data twin serves for
    their profile, and who was handed that twin and the profile (none, if it is down)."""
    twin = stack.flags if stack.flags is not None and stack.flags.server.running else None
    if twin is None:
        return {"feature_flags": frozenset(), "flag_readers": frozenset()}
    appconfig = stack.client("appconfig")
    application_id, _, profile_id = twin.flags.identifiers()
    arn = f"arn:aws:appconfig:{REGION}:{ACCOUNT}:application/{application_id}"
    application = appconfig.list_tags_for_resource(ResourceArn=arn).get("Tags", {}).get(FLAGS_TAG, "<untagged>")
    profile = appconfig.get_configuration_profile(ApplicationId=application_id, ConfigurationProfileId=profile_id)
    return {
        "feature_flags": frozenset({(application, profile["Name"], flag_document_json(twin.document()))}),
        "flag_readers": frozenset(
            name for name, runtime in stack.runtimes.items()
            if runtime.environment.get("AWS_ENDPOINT_URL_APPCONFIGDATA") == twin.endpoint
            and runtime.environment.get("BAZAAR_FLAGS_PROFILE") == profile_id
        ),
    }


def _local_websockets(stack: LocalStack) -> dict:
    """What the running WebSocket servers dispatch to, and which functions were handed the live
    management endpoint (none, if it is down)."""
    management = stack.websocket_management
    live = management is not None and management.server.running
    endpoints = {name: stack.websocket_endpoint(name) for name in stack.websocket_apis} if live else {}
    return {
        "websocket_routes": frozenset(
            (name, key, function, key == "$connect")
            for name, local in stack.websocket_apis.items() for key, function in local.api.route_functions.items()
        ),
        "websocket_authorizers": frozenset(
            (name, local.api.authorizer, local.api.identity_source,
             connect_roles_from_environment(name, stack.runtimes[local.api.authorizer].environment))
            for name, local in stack.websocket_apis.items()
        ),
        "websocket_pushes": frozenset(
            (function, api) for function, runtime in stack.runtimes.items()
            for api in pushed_apis_from_environment(runtime.environment, endpoints)
        ),
    }
