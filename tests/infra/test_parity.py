"""The parity test: the cloud twin (synthesized template) and the local twin (a running local
stack, read back through boto3 and its own tables) contain exactly what the description declares:
the same functions, routes, webhooks, queues and triggers, schedules, tables, secrets, alarms,
user-pool groups, stream triggers, table streams, event routes, and which functions leave through
the network's one fixed-address NAT gateway, state machines with the functions their tasks run,
WebSocket APIs (routes, authorizer, who may push), email and SMS senders, and the webhook
functions' reserved concurrency. The cloud-only web ACL is compared with the description alone.
The failing-on-purpose tests show it fails when one
twin gets something the other lacks. Streams are checked on the stream fixture service, since the
real description declares none yet; fixed egress on the egress fixture service, which has
fixed-egress functions (the real description may declare none yet); state machines on the state
machine fixture service, whose local definitions must also be the cloud's, placeholders aside."""

from __future__ import annotations

import copy
import json

from infra.cloud.inventory import cloud_only_from_template, inventory_from_template
from infra.description import SERVICE
from infra.local.inventory import local_inventory
from infra.parity import describe, describe_cloud_only, differences


def test_local_twin_matches_the_description(local_stack):
    assert differences(describe(SERVICE.at_stage("dev")), local_inventory(local_stack), "local") == []


def test_cloud_twin_matches_the_description(cloud_template):
    assert differences(describe(SERVICE.at_stage("dev")), inventory_from_template(cloud_template), "cloud") == []


def test_the_twins_match_each_other(local_stack, cloud_template):
    assert differences(inventory_from_template(cloud_template), local_inventory(local_stack), "local") == []


def test_bazaars_realtime_api_and_mail_senders_are_among_what_parity_compares(local_stack):
    described = describe(SERVICE.at_stage("dev"))
    assert ("realtime", "$connect", "realtime-connect", True) in described.websocket_routes
    assert ("realtime-events-worker", "realtime") in described.websocket_pushes
    assert any(function == "notifications-worker" for function, _ in described.email_senders)
    local = local_inventory(local_stack)
    assert local.websocket_routes == described.websocket_routes and local.email_senders == described.email_senders


def test_cloud_only_web_acl_matches_the_description(cloud_template):
    """AWS WAF has no local twin (see infra.parity.CloudOnlyInventory): the cloud's web ACL is
    compared with the description alone."""
    described = describe_cloud_only(SERVICE.at_stage("dev"), "dev")
    assert described.ip_rate_rules and described.managed_rule_groups and described.protected_stages == {"dev"}
    assert differences(described, cloud_only_from_template(cloud_template), "cloud") == []


def test_parity_fails_when_the_web_acl_leaves_the_stage(cloud_template):
    template = copy.deepcopy(cloud_template)
    for lid in [lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::WAFv2::WebACLAssociation"]:
        del template["Resources"][lid]
    assert differences(describe_cloud_only(SERVICE.at_stage("dev"), "dev"), cloud_only_from_template(template),
                       "cloud") == ["protected_stages: 'dev' is described but missing from the cloud twin"]


def test_webhook_reserved_concurrency_is_among_what_parity_compares(local_stack):
    described = describe(SERVICE.at_stage("dev"))
    assert described.reserved_concurrency == {(f.name, w.reserved_concurrency) for f, w in SERVICE.webhooks}
    assert local_inventory(local_stack).reserved_concurrency == described.reserved_concurrency
    for function, cap in described.reserved_concurrency:
        assert local_stack.runtimes[function].max_concurrency <= cap


def test_parity_fails_when_only_the_cloud_twin_changes_a_reserved_concurrency(cloud_template):
    template = copy.deepcopy(cloud_template)
    function = next(
        r for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and any(t["Value"] == "shiprocket-webhook" for t in r["Properties"].get("Tags", []))
    )
    declared = function["Properties"]["ReservedConcurrentExecutions"]
    function["Properties"]["ReservedConcurrentExecutions"] = declared + 1

    assert differences(describe(SERVICE.at_stage("dev")), inventory_from_template(template), "cloud") == [
        f"reserved_concurrency: ('shiprocket-webhook', {declared}) is described but missing from the cloud twin",
        f"reserved_concurrency: ('shiprocket-webhook', {declared + 1}) is in the cloud twin but not in the description",
    ]


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
        problems = differences(describe(SERVICE.at_stage("dev")), local_inventory(local_stack), "local")
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

    problems = differences(describe(SERVICE.at_stage("dev")), inventory_from_template(template), "cloud")

    assert problems == ["functions: 'cloud-only' is in the cloud twin but not in the description"]


# -- DynamoDB streams, on the stream fixture service (the real description has none yet) -------


def test_stream_fixture_local_twin_matches_its_description(stream_stack):
    from tests.fixtures.stream_service import STREAM_SERVICE

    described = describe(STREAM_SERVICE)
    assert described.stream_triggers and described.table_streams and described.event_routes
    assert differences(described, local_inventory(stream_stack), "local") == []


def test_stream_fixture_cloud_twin_matches_its_description(stream_synthesized):
    from tests.fixtures.stream_service import STREAM_SERVICE

    assert differences(describe(STREAM_SERVICE), inventory_from_template(stream_synthesized.template), "cloud") == []


def test_stream_fixture_twins_match_each_other(stream_stack, stream_synthesized):
    cloud = inventory_from_template(stream_synthesized.template)
    assert differences(cloud, local_inventory(stream_stack), "local") == []


def test_parity_fails_when_only_the_local_twin_gets_a_stream_trigger(stream_stack):
    from infra.description.model import StreamTrigger
    from infra.local.streams import StreamPoller
    from tests.fixtures.stream_service import ON_FAILURE, STREAM_SERVICE

    table = stream_stack.names.table_name("stream-outbox")
    sneaky = StreamPoller(
        stream_stack.client("dynamodb"), stream_stack.client("dynamodbstreams"), stream_stack.client("sqs"), table,
        STREAM_SERVICE.function("streams-consumer"),
        StreamTrigger(table="stream-outbox", batch_size=7, on_failure_queue=ON_FAILURE),
        stream_stack.runtimes["streams-consumer"], stream_stack.names.queue_url(ON_FAILURE),
    )
    # Never started (it would consume the outbox); the inventory reads which stream it was given.
    sneaky.stream_arn = stream_stack.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    stream_stack.stream_pollers.append(sneaky)
    try:
        problems = differences(describe(STREAM_SERVICE), local_inventory(stream_stack), "local")
    finally:
        stream_stack.stream_pollers.remove(sneaky)
    assert problems == [
        "stream_triggers: ('stream-outbox', 'streams-consumer', 7, 5, True, 'stream-failures') "
        "is in the local twin but not in the description"
    ]


def test_parity_fails_when_only_the_cloud_twin_changes_a_stream_trigger(stream_synthesized):
    from tests.fixtures.stream_service import STREAM_SERVICE

    template = copy.deepcopy(stream_synthesized.template)
    mapping = next(
        r for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and r["Properties"]["EventSourceArn"].get("Fn::GetAtt", [None, None])[1] == "StreamArn"
        and any(t["Value"] == "streams-poison" for t in r["Properties"].get("Tags", []))
    )
    mapping["Properties"]["MaximumRetryAttempts"] = 9000

    problems = differences(describe(STREAM_SERVICE), inventory_from_template(template), "cloud")

    assert problems == [
        "stream_triggers: ('stream-poison', 'streams-poison', 10, 1, True, 'stream-failures') "
        "is described but missing from the cloud twin",
        "stream_triggers: ('stream-poison', 'streams-poison', 10, 9000, True, 'stream-failures') "
        "is in the cloud twin but not in the description",
    ]


# -- fixed egress, on the egress fixture service ----------------------------------------------


def test_egress_fixture_local_twin_matches_its_description(egress_stack):
    from tests.fixtures.egress_service import EGRESS_SERVICE

    described = describe(EGRESS_SERVICE)
    assert described.fixed_egress_functions == {"egress-caller", "egress-api"}
    assert described.fixed_egress_networks == {("egress-network", 1)}
    assert differences(described, local_inventory(egress_stack), "local") == []


def test_egress_fixture_cloud_twin_matches_its_description(egress_synthesized):
    from tests.fixtures.egress_service import EGRESS_SERVICE

    assert differences(describe(EGRESS_SERVICE), inventory_from_template(egress_synthesized.template), "cloud") == []


def test_egress_fixture_twins_match_each_other(egress_stack, egress_synthesized):
    cloud = inventory_from_template(egress_synthesized.template)
    assert differences(cloud, local_inventory(egress_stack), "local") == []


def test_parity_fails_when_only_the_local_twin_gives_a_function_the_egress(egress_stack):
    bystander = egress_stack.runtimes["egress-bystander"]
    original = dict(bystander.environment)
    bystander.environment.update(egress_stack.egress.environment(direct=[]))
    try:
        problems = differences(describe(egress_stack.service), local_inventory(egress_stack), "local")
    finally:
        bystander.environment.clear()
        bystander.environment.update(original)
    assert problems == [
        "fixed_egress_functions: 'egress-bystander' is in the local twin but not in the description"
    ]


def test_parity_fails_when_the_local_nat_gateway_twin_is_down(egress_stack):
    from infra.local.egress import EgressProxy

    running, egress_stack.egress = egress_stack.egress, EgressProxy("egress-network")  # never started
    try:
        problems = differences(describe(egress_stack.service), local_inventory(egress_stack), "local")
    finally:
        egress_stack.egress = running
    assert problems == [
        "fixed_egress_functions: 'egress-api' is described but missing from the local twin",
        "fixed_egress_functions: 'egress-caller' is described but missing from the local twin",
        "fixed_egress_networks: ('egress-network', 1) is described but missing from the local twin",
    ]


def test_parity_fails_when_only_the_cloud_twin_takes_a_function_out_of_the_network(egress_synthesized):
    from tests.fixtures.egress_service import EGRESS_SERVICE

    template = copy.deepcopy(egress_synthesized.template)
    caller = next(
        r for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and any(t["Value"] == "egress-caller" for t in r["Properties"].get("Tags", []))
    )
    del caller["Properties"]["VpcConfig"]

    problems = differences(describe(EGRESS_SERVICE), inventory_from_template(template), "cloud")

    assert problems == ["fixed_egress_functions: 'egress-caller' is described but missing from the cloud twin"]


def test_parity_fails_when_the_cloud_twin_puts_a_function_in_the_public_subnets(egress_synthesized):
    from tests.fixtures.egress_service import EGRESS_SERVICE

    template = copy.deepcopy(egress_synthesized.template)
    resources = template["Resources"]
    public = [
        {"Ref": lid} for lid, r in resources.items()
        if r["Type"] == "AWS::EC2::Subnet"
        and any(t == {"Key": "aws-cdk:subnet-name", "Value": "Public"} for t in r["Properties"]["Tags"])
    ]
    caller = next(
        r for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function"
        and any(t["Value"] == "egress-caller" for t in r["Properties"].get("Tags", []))
    )
    # In a VPC, but routed through the internet gateway: its calls would not leave from the EIP.
    caller["Properties"]["VpcConfig"]["SubnetIds"] = public

    problems = differences(describe(EGRESS_SERVICE), inventory_from_template(template), "cloud")

    assert problems == ["fixed_egress_functions: 'egress-caller' is described but missing from the cloud twin"]


def test_parity_fails_when_the_cloud_nat_gateway_has_no_fixed_address(egress_synthesized):
    from tests.fixtures.egress_service import EGRESS_SERVICE

    template = copy.deepcopy(egress_synthesized.template)
    nat = next(r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::NatGateway")
    del nat["Properties"]["AllocationId"]  # CloudFormation would then require a private NAT

    problems = differences(describe(EGRESS_SERVICE), inventory_from_template(template), "cloud")

    assert problems == [
        "fixed_egress_functions: 'egress-api' is described but missing from the cloud twin",
        "fixed_egress_functions: 'egress-caller' is described but missing from the cloud twin",
        "fixed_egress_networks: ('egress-network', 1) is described but missing from the cloud twin",
        "fixed_egress_networks: ('egress-network', 0) is in the cloud twin but not in the description",
    ]


# -- state machines, on the state machine fixture service -------------------------------------


def test_state_machine_fixture_local_twin_matches_its_description(state_machine_stack):
    from tests.fixtures.state_machine_service import STATE_MACHINE_SERVICE

    described = describe(STATE_MACHINE_SERVICE)
    assert described.state_machines == {("sfn-approval", ("sfn-await", "sfn-record"), "ALL", True)}
    assert "sfn-approval-failed" in described.alarms
    assert differences(described, local_inventory(state_machine_stack), "local") == []


def test_state_machine_fixture_cloud_twin_matches_its_description(state_machine_synthesized):
    from tests.fixtures.state_machine_service import STATE_MACHINE_SERVICE

    cloud = inventory_from_template(state_machine_synthesized.template)
    assert differences(describe(STATE_MACHINE_SERVICE), cloud, "cloud") == []


def test_state_machine_fixture_twins_match_each_other(state_machine_stack, state_machine_synthesized):
    cloud = inventory_from_template(state_machine_synthesized.template)
    assert differences(cloud, local_inventory(state_machine_stack), "local") == []


def test_the_local_definitions_are_the_cloud_definitions_once_their_functions_are_filled_in(
    state_machine_stack, state_machine_synthesized
):
    from infra.cloud.inventory import state_machine_definitions
    from infra.description.model import substitute_functions
    from infra.local.inventory import local_state_machines
    from infra.local.workflows import local_function_arn
    from tests.fixtures.state_machine_service import STATE_MACHINE_SERVICE

    # Both sides get the same ARN for each function: what the template fills in is the function
    # its substitution points at, what the local twin put in is its local ARN.
    arns = {f.name: local_function_arn(f.name) for f in STATE_MACHINE_SERVICE.functions}
    cloud = {name: substitute_functions(d, arns) for name, d in state_machine_definitions(state_machine_synthesized.template).items()}
    local = {name: machine["definition"] for name, machine in local_state_machines(state_machine_stack).items()}
    assert state_machine_stack.config.clock_speed == 1
    assert set(cloud) == set(local) == {"sfn-approval"}
    assert local == cloud


def test_parity_fails_when_only_the_local_twin_gets_a_state_machine(state_machine_stack):
    from infra.local.workflows import local_function_arn
    from tests.fixtures.state_machine_service import STATE_MACHINE_SERVICE

    sfn = state_machine_stack.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="workflows-sneaky",
        definition=json.dumps({"StartAt": "Go", "States": {"Go": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "TimeoutSeconds": 5, "End": True,
            "Parameters": {"FunctionName": local_function_arn("sfn-record"), "Payload.$": "$"},
        }}}),
        roleArn="arn:aws:iam::123456789012:role/sneaky",
        tags=[{"key": "bazaar:state-machine", "value": "sneaky"}],
    )["stateMachineArn"]
    try:
        problems = differences(describe(STATE_MACHINE_SERVICE), local_inventory(state_machine_stack), "local")
    finally:
        sfn.delete_state_machine(stateMachineArn=arn)
    assert problems == [
        "state_machines: ('sneaky', ('sfn-record',), 'OFF', False) is in the local twin but not in the description"
    ]


def test_parity_fails_when_a_cloud_task_runs_another_function(state_machine_synthesized):
    from tests.fixtures.state_machine_service import STATE_MACHINE_SERVICE

    template = copy.deepcopy(state_machine_synthesized.template)
    machine = next(r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    starter = next(
        lid for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function"
        and any(t["Value"] == "sfn-starter" for t in r["Properties"].get("Tags", []))
    )
    # The await task's placeholder now filled with the starter's ARN: a task function in the
    # cloud twin only.
    machine["Properties"]["DefinitionSubstitutions"]["function:sfn-await"] = {"Fn::GetAtt": [starter, "Arn"]}

    problems = differences(describe(STATE_MACHINE_SERVICE), inventory_from_template(template), "cloud")

    assert problems == [
        "state_machines: ('sfn-approval', ('sfn-await', 'sfn-record'), 'ALL', True) is described but missing "
        "from the cloud twin",
        "state_machines: ('sfn-approval', ('sfn-record', 'sfn-starter'), 'ALL', True) is in the cloud twin but "
        "not in the description",
    ]


# -- WebSocket APIs, on the WebSocket fixture service (its echo handlers, and broken twins of it) --


def test_websocket_fixture_local_twin_matches_its_description(websocket_stack):
    from tests.fixtures.websocket_service import WEBSOCKET_SERVICE

    described = describe(WEBSOCKET_SERVICE)
    assert described.websocket_routes and described.websocket_authorizers and described.websocket_pushes
    assert differences(described, local_inventory(websocket_stack), "local") == []


def test_websocket_fixture_cloud_twin_matches_its_description(websocket_synthesized):
    from tests.fixtures.websocket_service import WEBSOCKET_SERVICE

    assert differences(describe(WEBSOCKET_SERVICE), inventory_from_template(websocket_synthesized.template),
                       "cloud") == []


def test_websocket_fixture_twins_match_each_other(websocket_stack, websocket_synthesized):
    assert differences(inventory_from_template(websocket_synthesized.template), local_inventory(websocket_stack),
                       "local") == []


def test_parity_fails_when_the_cloud_authorizes_another_route(websocket_synthesized):
    from tests.fixtures.websocket_service import WEBSOCKET_SERVICE

    template = copy.deepcopy(websocket_synthesized.template)
    resources = template["Resources"]
    authorizer = next(lid for lid, r in resources.items() if r["Type"] == "AWS::ApiGatewayV2::Authorizer")
    default = next(r for r in resources.values()
                   if r["Type"] == "AWS::ApiGatewayV2::Route" and r["Properties"]["RouteKey"] == "$default")
    default["Properties"].update(AuthorizationType="CUSTOM", AuthorizerId={"Ref": authorizer})

    problems = differences(describe(WEBSOCKET_SERVICE), inventory_from_template(template), "cloud")

    assert problems == [
        "websocket_routes: ('echo', '$default', 'ws-default', False) is described but missing from the cloud twin",
        "websocket_routes: ('echo', '$default', 'ws-default', True) is in the cloud twin but not in the description",
    ]


def test_parity_fails_when_the_cloud_grants_without_the_endpoint(websocket_synthesized):
    from tests.fixtures.websocket_service import WEBSOCKET_SERVICE

    template = copy.deepcopy(websocket_synthesized.template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            resource["Properties"]["Environment"]["Variables"].pop("BAZAAR_WEBSOCKET_ECHO_ENDPOINT", None)

    problems = differences(describe(WEBSOCKET_SERVICE), inventory_from_template(template), "cloud")

    assert problems == [
        "websocket_pushes: ('ws-default', 'echo') is described but missing from the cloud twin",
        "websocket_pushes: ('ws-default', '<echo: grant without an endpoint>') is in the cloud twin but not in "
        "the description",
    ]


def test_parity_fails_when_the_local_management_endpoint_is_down(websocket_stack):
    from tests.fixtures.websocket_service import WEBSOCKET_SERVICE

    management = websocket_stack.websocket_management
    server = management.server
    # Pretend it stopped (without stopping it: the session's stack keeps serving other tests).
    running = type(server).running
    try:
        type(server).running = property(lambda self: False)
        problems = differences(describe(WEBSOCKET_SERVICE), local_inventory(websocket_stack), "local")
    finally:
        type(server).running = running
    assert problems == ["websocket_pushes: ('ws-default', 'echo') is described but missing from the local twin"]
# -- email and SMS senders ---------------------------------------------------------------------------


def test_parity_fails_when_the_cloud_twin_lacks_the_email_identity_or_grants_sms_to_another_function(cloud_template):
    template = copy.deepcopy(cloud_template)
    resources = template["Resources"]
    [identity] = [lid for lid, r in resources.items() if r["Type"] == "AWS::SES::EmailIdentity"]
    del resources[identity]
    api_role = next(
        lid for lid, r in resources.items() if r["Type"] == "AWS::IAM::Role"
        and any(t["Value"] == "notifications-api" for t in r["Properties"].get("Tags", []))
    )
    resources["SneakySmsPolicy"] = {"Type": "AWS::IAM::Policy", "Properties": {
        "PolicyName": "sneaky", "Roles": [{"Ref": api_role}],
        "PolicyDocument": {"Version": "2012-10-17",
                           "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}}}

    problems = differences(describe(SERVICE.at_stage("dev")), inventory_from_template(template), "cloud")

    assert problems == [
        "email_identities: 'no-reply@bazaar.example' is described but missing from the cloud twin",
        "sms_senders: 'notifications-api' is in the cloud twin but not in the description",
    ]


def test_parity_fails_when_a_local_function_reaches_ses_without_declaring_it(local_stack):
    runtime = local_stack.runtimes["notifications-api"]
    before = dict(runtime.environment)
    runtime.environment["AWS_ENDPOINT_URL_SESV2"] = local_stack.aws_endpoint
    try:
        problems = differences(describe(SERVICE.at_stage("dev")), local_inventory(local_stack), "local")
    finally:
        runtime.environment.clear()
        runtime.environment.update(before)
    assert problems == [
        "email_senders: ('notifications-api', '<no EMAIL_SENDER>') is in the local twin but not in the description"
    ]
