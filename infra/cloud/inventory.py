"""Read a synthesized CloudFormation template back into the parity vocabulary.

Resources are mapped to description names through the `bazaar:*` tags the stack writes (see
infra/cloud/tags.py), and relations (route -> function, trigger -> queue, ...) through the
template's own references (Ref / Fn::GetAtt), so this sees what CloudFormation will deploy,
not what the stack code meant to do. Pure Python: no aws_cdk import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from infra.cloud import tags
from infra.description.model import websocket_endpoint_variable
from infra.parity import (
    CloudOnlyInventory, Inventory, connect_roles_from_environment, event_routes_from_environment, flag_document_json,
    task_function_names,
)

Resources = dict[str, dict[str, Any]]


def _tag(resource: dict[str, Any], key: str) -> str | None:
    for tag in resource.get("Properties", {}).get("Tags", []) or []:
        if tag.get("Key") == key:
            return tag.get("Value")
    return None


def _of_type(resources: Resources, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    return ((lid, r) for lid, r in resources.items() if r.get("Type") == kind)


def _references(value: Any) -> Iterator[str]:
    """Every logical id that `value` points at with Ref or Fn::GetAtt, depth first."""
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            yield value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            yield target[0] if isinstance(target, list) else str(target).split(".", 1)[0]
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


class _Names:
    """Logical id -> description name, per resource type and tag."""

    def __init__(self, resources: Resources, kind: str, key: str) -> None:
        self.by_id: dict[str, str] = {}
        for lid, resource in _of_type(resources, kind):
            # A resource of this type without the tag is something the description does not
            # declare; it still shows up (by logical id) so that parity reports it.
            self.by_id[lid] = _tag(resource, key) or f"<untagged {kind} {lid}>"

    def first(self, value: Any) -> str | None:
        return next((self.by_id[lid] for lid in _references(value) if lid in self.by_id), None)


NESTED_STACK = "AWS::CloudFormation::Stack"


def read_nested_templates(template: dict[str, Any], directory: Path) -> dict[str, dict[str, Any]]:
    """The nested stacks' templates as the cloud assembly in `directory` wrote them (each a
    `*.nested.template.json` file, named in the assets manifest by the hash its TemplateURL ends
    with), by the logical id of their AWS::CloudFormation::Stack resource in `template`."""
    sources: dict[str, str] = {}
    for manifest in directory.glob("*.assets.json"):
        for asset_hash, asset in json.loads(manifest.read_text()).get("files", {}).items():
            sources[asset_hash] = asset["source"]["path"]
    found = {}
    for lid, stack in _of_type(template.get("Resources", {}), NESTED_STACK):
        url = json.dumps(stack["Properties"]["TemplateURL"])
        asset_hash = re.search(r"([0-9a-f]{64})\.json", url)
        path = sources.get(asset_hash.group(1)) if asset_hash else None
        if path is None:
            raise ValueError(f"nested stack {lid}: no template in {directory} for TemplateURL {url}")
        found[lid] = json.loads((directory / path).read_text())
    return found


def _rewrite(value: Any, nested_lid: str, own: set[str], parameters: Mapping[str, Any]) -> Any:
    """A nested template's value as the parent sees it: a Ref to one of its Parameters becomes
    what the parent passes for it, and its own logical ids get the nested stack's prefix."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and isinstance(value["Ref"], str):
            target = value["Ref"]
            if target in parameters:
                return parameters[target]
            return {"Ref": f"{nested_lid}/{target}"} if target in own else value
        if set(value) == {"Fn::GetAtt"}:
            target = value["Fn::GetAtt"]
            lid, attribute = (target[0], target[1]) if isinstance(target, list) else str(target).split(".", 1)
            if lid in own:
                return {"Fn::GetAtt": [f"{nested_lid}/{lid}", attribute]}
            return value
        return {key: _rewrite(item, nested_lid, own, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [_rewrite(item, nested_lid, own, parameters) for item in value]
    return value


def deployment(template: dict[str, Any], nested: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The parent template with every nested stack's resources added, as one resource map: the
    nested ones under `<nested stack logical id>/<logical id>`, their Parameters replaced by the
    values the parent passes (so an integration names the parent's function again). What the
    inventory reads is then everything CloudFormation deploys, across the stacks."""
    merged = json.loads(json.dumps(template))
    resources = merged.setdefault("Resources", {})
    outputs: dict[tuple[str, str], Any] = {}  # (nested stack, "Outputs.<name>") -> its value
    for nested_lid, nested_template in nested.items():
        passed = template["Resources"][nested_lid]["Properties"].get("Parameters", {})
        declared = nested_template.get("Parameters", {})
        parameters = {name: passed[name] for name in declared if name in passed}
        own = set(nested_template.get("Resources", {}))
        for lid, resource in nested_template.get("Resources", {}).items():
            resources[f"{nested_lid}/{lid}"] = _rewrite(resource, nested_lid, own, parameters)
        for name, output in nested_template.get("Outputs", {}).items():
            outputs[(nested_lid, f"Outputs.{name}")] = _rewrite(output["Value"], nested_lid, own, parameters)

    def through_outputs(value: Any) -> Any:
        # The parent names a nested resource through the nested stack's outputs: name it directly.
        if isinstance(value, dict):
            target = value.get("Fn::GetAtt")
            if set(value) == {"Fn::GetAtt"} and isinstance(target, list) and tuple(target) in outputs:
                return outputs[(target[0], target[1])]
            return {key: through_outputs(item) for key, item in value.items()}
        if isinstance(value, list):
            return [through_outputs(item) for item in value]
        return value

    for key in ("Resources", "Outputs"):
        if key in merged:
            merged[key] = through_outputs(merged[key])
    return merged


def _route_path(resources: Resources, resource_id: Any) -> str:
    parts: list[str] = []
    while isinstance(resource_id, dict) and "Ref" in resource_id:
        resource = resources[resource_id["Ref"]]["Properties"]
        parts.append(resource["PathPart"])
        resource_id = resource["ParentId"]
    # The chain ends at {"Fn::GetAtt": [<RestApi>, "RootResourceId"]}.
    return "/" + "/".join(reversed(parts))


def _fixed_egress(resources: Resources, functions: _Names) -> tuple[set[str], set[tuple[str, int]]]:
    """Which functions leave through a NAT gateway with an Elastic IP, and how many such gateways
    each (tagged) VPC has: read from the subnets a function's VpcConfig names, their route
    tables' default routes, and the gateways' AllocationId."""
    vpcs = _Names(resources, "AWS::EC2::VPC", tags.NETWORK)
    eips = {lid for lid, _ in _of_type(resources, "AWS::EC2::EIP")}
    subnet_vpc = {
        lid: vpcs.first(subnet["Properties"].get("VpcId")) for lid, subnet in _of_type(resources, "AWS::EC2::Subnet")
    }
    fixed_nats: dict[str, str | None] = {}  # NAT gateway logical id -> its VPC's network name
    for lid, nat in _of_type(resources, "AWS::EC2::NatGateway"):
        props = nat["Properties"]
        if any(ref in eips for ref in _references(props.get("AllocationId"))):
            fixed_nats[lid] = next((subnet_vpc.get(s) for s in _references(props.get("SubnetId"))), None)
    through_nat = {
        table
        for _, route in _of_type(resources, "AWS::EC2::Route")
        if route["Properties"].get("DestinationCidrBlock") == "0.0.0.0/0"
        and any(ref in fixed_nats for ref in _references(route["Properties"].get("NatGatewayId")))
        for table in _references(route["Properties"].get("RouteTableId"))
    }
    egress_subnets = {
        subnet
        for _, association in _of_type(resources, "AWS::EC2::SubnetRouteTableAssociation")
        if any(t in through_nat for t in _references(association["Properties"].get("RouteTableId")))
        for subnet in _references(association["Properties"].get("SubnetId"))
    }
    fixed_functions = set()
    for lid, function in _of_type(resources, "AWS::Lambda::Function"):
        subnets = list(_references(function["Properties"].get("VpcConfig", {}).get("SubnetIds")))
        if subnets and all(s in egress_subnets for s in subnets):
            fixed_functions.add(functions.by_id[lid])
    networks = {
        (name, sum(1 for vpc in fixed_nats.values() if vpc == name)) for name in vpcs.by_id.values()
    }
    return fixed_functions, networks


def _statements_by_function(resources: Resources, functions: _Names) -> Iterator[tuple[str, dict[str, Any]]]:
    """(function name, policy statement) for every statement of every policy on a function's role."""
    role_function = {
        role: functions.by_id[lid]
        for lid, function in _of_type(resources, "AWS::Lambda::Function")
        for role in _references(function["Properties"].get("Role"))
    }
    # Statements live inline in the role (InlineRole) or in a policy attached to it.
    documents = [(role, inline.get("PolicyDocument", {})) for role, props in _of_type(resources, "AWS::IAM::Role")
                 for inline in props["Properties"].get("Policies", [])]
    documents += [(role, policy["Properties"].get("PolicyDocument", {}))
                  for _, policy in _of_type(resources, "AWS::IAM::Policy")
                  for role in _references(policy["Properties"].get("Roles"))]
    for role, document in documents:
        if role in role_function:
            for statement in document.get("Statement", []):
                yield role_function[role], statement


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement.get("Action", [])
    return {actions} if isinstance(actions, str) else set(actions)


def _senders(resources: Resources, functions: _Names) -> tuple[set[tuple[str, str]], set[str]]:
    """Who may send email from which SES identity (the address at the end of the identity ARN the
    statement names), and who may publish SMS (sns:Publish on '*')."""
    email, sms = set(), set()
    for function, statement in _statements_by_function(resources, functions):
        actions = _actions(statement)
        if "ses:SendEmail" in actions:
            named = statement.get("Resource")
            for resource in named if isinstance(named, list) else [named]:
                found = re.search(r":identity/([^\"]+)\"", json.dumps(resource))
                email.add((function, found.group(1) if found else f"<not an identity: {resource!r}>"))
        if "sns:Publish" in actions and statement.get("Resource") == "*":
            sms.add(function)
    return email, sms


def state_machine_definitions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each tagged state machine's definition as CloudFormation will deploy it, except that a
    substitution naming a function's ARN becomes `${function:<name>}` (name from its tag) again,
    whatever the placeholder was: so a machine whose substitutions point at another function
    shows that function."""
    resources: Resources = template.get("Resources", {})
    functions = _Names(resources, "AWS::Lambda::Function", tags.FUNCTION)
    found = {}
    for lid, machine in _of_type(resources, "AWS::StepFunctions::StateMachine"):
        props = machine["Properties"]
        text = props.get("DefinitionString", "{}")
        for key, value in (props.get("DefinitionSubstitutions") or {}).items():
            function = functions.first(value) or f"<not a function: {key}>"
            text = text.replace("${" + key + "}", "${function:" + function + "}")
        found[_tag(machine, tags.STATE_MACHINE) or f"<untagged state machine {lid}>"] = json.loads(text)
    return found


def _state_machines(template: dict[str, Any]) -> set[tuple[str, tuple[str, ...], str, bool]]:
    resources: Resources = template.get("Resources", {})
    definitions = state_machine_definitions(template)
    rows = set()
    for lid, machine in _of_type(resources, "AWS::StepFunctions::StateMachine"):
        props = machine["Properties"]
        name = _tag(machine, tags.STATE_MACHINE) or f"<untagged state machine {lid}>"
        rows.add((
            name,
            task_function_names(definitions[name], _placeholder_function),
            (props.get("LoggingConfiguration") or {}).get("Level", "OFF"),
            bool((props.get("TracingConfiguration") or {}).get("Enabled", False)),
        ))
    return rows


def _placeholder_function(function_name: Any) -> str:
    if isinstance(function_name, str) and function_name.startswith("${function:") and function_name.endswith("}"):
        return function_name[len("${function:"):-1]
    return f"<not a function placeholder: {function_name!r}>"


def inventory_from_template(
    template: dict[str, Any], nested: Mapping[str, dict[str, Any]] | None = None
) -> Inventory:
    """The inventory of a parent template and its nested stacks' (see `deployment`; a template
    already merged by `deployment` needs none)."""
    if nested:
        template = deployment(template, nested)
    resources: Resources = template.get("Resources", {})
    functions = _Names(resources, "AWS::Lambda::Function", tags.FUNCTION)
    queues = _Names(resources, "AWS::SQS::Queue", tags.QUEUE)

    routes = set()
    for _, method in _of_type(resources, "AWS::ApiGateway::Method"):
        props = method["Properties"]
        if props.get("HttpMethod") == "OPTIONS":
            continue  # CORS preflight, not a described route
        function = functions.first(props.get("Integration", {}).get("Uri")) or "<no function>"
        routes.add(
            (
                props["HttpMethod"],
                _route_path(resources, props["ResourceId"]),
                function,
                props.get("AuthorizationType", "NONE") == "NONE",
            )
        )

    queue_rows = set()
    dlq_ids = {
        lid
        for _, queue in _of_type(resources, "AWS::SQS::Queue")
        for lid in _references(queue["Properties"].get("RedrivePolicy", {}))
    }
    for lid, queue_resource in _of_type(resources, "AWS::SQS::Queue"):
        if lid in dlq_ids:
            continue
        props = queue_resource["Properties"]
        redrive = props.get("RedrivePolicy") or {}
        queue_rows.add(
            (
                queues.by_id[lid],
                int(props.get("VisibilityTimeout", 30)),
                int(redrive.get("maxReceiveCount", 0)),
                queues.first(redrive.get("deadLetterTargetArn")) or "",
            )
        )

    table_names = {
        lid: _tag(table, tags.TABLE) or f"<untagged table {lid}>"
        for lid, table in _of_type(resources, "AWS::DynamoDB::Table")
    }
    stream_triggers = set()
    for _, mapping in _of_type(resources, "AWS::Lambda::EventSourceMapping"):
        props = mapping["Properties"]
        source = props.get("EventSourceArn")
        if not (isinstance(source, dict) and "Fn::GetAtt" in source):
            continue
        target, attribute = source["Fn::GetAtt"] if isinstance(source["Fn::GetAtt"], list) else source["Fn::GetAtt"].split(".", 1)
        if attribute != "StreamArn" or target not in table_names:
            continue  # not a DynamoDB stream trigger
        on_failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        stream_triggers.add((
            table_names[target],
            functions.first(props.get("FunctionName")) or "<no function>",
            int(props.get("BatchSize", 100)),
            int(props.get("MaximumRetryAttempts", -1)),
            bool(props.get("BisectBatchOnFunctionError", False)),
            queues.first(on_failure) or "<no on-failure queue>",
        ))

    event_routes = set()
    for lid, function_resource in _of_type(resources, "AWS::Lambda::Function"):
        variables = function_resource["Properties"].get("Environment", {}).get("Variables", {})
        event_routes |= event_routes_from_environment(functions.by_id[lid], variables)

    fixed_functions, fixed_networks = _fixed_egress(resources, functions)
    email_senders, sms_senders = _senders(resources, functions)

    triggers = set()
    for _, mapping in _of_type(resources, "AWS::Lambda::EventSourceMapping"):
        props = mapping["Properties"]
        queue = queues.first(props.get("EventSourceArn"))
        if queue is None:
            continue  # not an SQS trigger
        function = functions.first(props.get("FunctionName")) or "<no function>"
        triggers.add((queue, function, int(props.get("BatchSize", 10))))

    schedules = set()
    for lid, rule in _of_type(resources, "AWS::Events::Rule"):
        props = rule["Properties"]
        if "ScheduleExpression" not in props:
            continue  # an event-pattern rule, not a schedule
        for target in props.get("Targets", []):
            schedules.add(
                (
                    _tag(rule, tags.SCHEDULE) or f"<untagged rule {lid}>",
                    props["ScheduleExpression"],
                    functions.first(target.get("Arn")) or "<no function>",
                )
            )

    tables = set()
    for lid, table in _of_type(resources, "AWS::DynamoDB::Table"):
        props = table["Properties"]
        keys = {k["KeyType"]: k["AttributeName"] for k in props.get("KeySchema", [])}
        ttl = props.get("TimeToLiveSpecification") or {}
        tables.add(
            (
                _tag(table, tags.TABLE) or f"<untagged table {lid}>",
                keys.get("HASH", ""),
                keys.get("RANGE", ""),
                tuple(sorted(i["IndexName"] for i in props.get("GlobalSecondaryIndexes", []))),
                ttl.get("AttributeName", "") if ttl.get("Enabled") else "",
            )
        )

    return Inventory(
        functions=frozenset(functions.by_id.values()),
        routes=frozenset(routes),
        webhook_functions=frozenset(
            functions.first(url["Properties"].get("TargetFunctionArn")) or "<no function>"
            for _, url in _of_type(resources, "AWS::Lambda::Url")
        ),
        queues=frozenset(queue_rows),
        queue_triggers=frozenset(triggers),
        schedules=frozenset(schedules),
        tables=frozenset(tables),
        secrets=frozenset(_Names(resources, "AWS::SecretsManager::Secret", tags.SECRET).by_id.values()),
        alarms=frozenset(_Names(resources, "AWS::CloudWatch::Alarm", tags.ALARM).by_id.values()),
        user_pool_groups=frozenset(
            group["Properties"]["GroupName"]
            for _, group in _of_type(resources, "AWS::Cognito::UserPoolGroup")
        ),
        stream_triggers=frozenset(stream_triggers),
        table_streams=frozenset(
            (table_names[lid], table["Properties"]["StreamSpecification"]["StreamViewType"])
            for lid, table in _of_type(resources, "AWS::DynamoDB::Table")
            if table["Properties"].get("StreamSpecification")
        ),
        event_routes=frozenset(event_routes),
        fixed_egress_functions=frozenset(fixed_functions),
        fixed_egress_networks=frozenset(fixed_networks),
        state_machines=frozenset(_state_machines(template)),
        **_websockets(resources, functions),
        email_identities=frozenset(
            str(identity["Properties"].get("EmailIdentity"))
            for _, identity in _of_type(resources, "AWS::SES::EmailIdentity")
        ),
        email_senders=frozenset(email_senders),
        sms_senders=frozenset(sms_senders),
        reserved_concurrency=frozenset(
            (functions.by_id[lid], int(function["Properties"]["ReservedConcurrentExecutions"]))
            for lid, function in _of_type(resources, "AWS::Lambda::Function")
            if "ReservedConcurrentExecutions" in function["Properties"]
        ),
        **_flags(resources, functions),
    )


def _scoped_paths(statement: dict[str, Any] | None) -> tuple[str, ...]:
    """The path fragments a rate rule's scope-down statement matches (one, or an OR of several)."""
    if not statement:
        return ()
    parts = statement.get("OrStatement", {}).get("Statements") or [statement]
    return tuple(sorted(
        part["ByteMatchStatement"]["SearchString"] if "UriPath" in part.get("ByteMatchStatement", {}).get(
            "FieldToMatch", {}) else f"<not a path match: {json.dumps(part)}>"
        for part in parts
    ))


def cloud_only_from_template(
    template: dict[str, Any], nested: Mapping[str, dict[str, Any]] | None = None
) -> CloudOnlyInventory:
    """The cloud-only parts (the web ACL) of a parent template and its nested stacks'."""
    resources: Resources = (deployment(template, nested) if nested else template).get("Resources", {})
    rate_rules, groups = set(), set()
    acls = dict(_of_type(resources, "AWS::WAFv2::WebACL"))
    for acl in acls.values():
        for rule in acl["Properties"].get("Rules", []):
            statement = rule["Statement"]
            if "RateBasedStatement" in statement:
                rate = statement["RateBasedStatement"]
                per_ip = rate.get("AggregateKeyType") == "IP" and int(rate.get("EvaluationWindowSec", 300)) == 300
                rate_rules.add((rule["Name"] if per_ip else f"<{rule['Name']}: not per IP per 5 minutes>",
                                int(rate["Limit"]), _scoped_paths(rate.get("ScopeDownStatement"))))
            elif "ManagedRuleGroupStatement" in statement:
                group = statement["ManagedRuleGroupStatement"]
                counted = tuple(sorted(
                    o["Name"] for o in group.get("RuleActionOverrides", []) if "Count" in o.get("ActionToUse", {})
                ))
                enforced = "None" in rule.get("OverrideAction", {})
                groups.add((f"{group['VendorName']}/{group['Name']}" if enforced
                            else f"<{group['Name']}: whole group only counts>", counted))
    stage_names = {lid: stage["Properties"].get("StageName") for lid, stage in _of_type(resources, "AWS::ApiGateway::Stage")}
    protected = {
        stage_names[ref]
        for _, association in _of_type(resources, "AWS::WAFv2::WebACLAssociation")
        if any(ref in acls for ref in _references(association["Properties"].get("WebACLArn")))
        for ref in _references(association["Properties"].get("ResourceArn")) if ref in stage_names
    }
    return CloudOnlyInventory(
        ip_rate_rules=frozenset(rate_rules), managed_rule_groups=frozenset(groups), protected_stages=frozenset(protected)
    )


def _flags(resources: Resources, functions: _Names) -> dict[str, frozenset]:
    """The tagged AppConfig applications with their profile and the document their deployment
    ships, and who may read them: a function granted appconfig:GetLatestConfiguration on a
    profile's configuration that is also given that profile in BAZAAR_FLAGS_PROFILE."""
    applications = {lid: _tag(r, tags.FEATURE_FLAGS) or f"<untagged application {lid}>"
                    for lid, r in _of_type(resources, "AWS::AppConfig::Application")}
    deployed = {lid for _, d in _of_type(resources, "AWS::AppConfig::Deployment")
                for lid in _references(d["Properties"].get("ConfigurationVersion"))}
    rows, profiles = set(), {}
    for lid, profile in _of_type(resources, "AWS::AppConfig::ConfigurationProfile"):
        props = profile["Properties"]
        application = next((applications[a] for a in _references(props.get("ApplicationId")) if a in applications),
                           "<no application>")
        profiles[lid] = props.get("Name")
        documents = [json.loads(v["Properties"]["Content"]) for vid, v in
                     _of_type(resources, "AWS::AppConfig::HostedConfigurationVersion")
                     if vid in deployed and lid in set(_references(v["Properties"].get("ConfigurationProfileId")))]
        for document in documents or [None]:
            rows.add((application, str(props.get("Name")),
                      flag_document_json(document) if document is not None else "<not deployed>"))
    granted = {function for function, statement in _statements_by_function(resources, functions)
               if "appconfig:GetLatestConfiguration" in _actions(statement)
               and any(p in profiles for p in _references(statement.get("Resource")))}
    located = {functions.by_id[lid] for lid, r in _of_type(resources, "AWS::Lambda::Function")
               if any(p in profiles for p in _references(
                   r["Properties"].get("Environment", {}).get("Variables", {}).get("BAZAAR_FLAGS_PROFILE")))}
    readers = (granted & located) | {f"<{f}: granted without the location>" for f in granted - located} | {
        f"<{f}: located without a grant>" for f in located - granted}
    return {"feature_flags": frozenset(rows), "flag_readers": frozenset(readers)}


def _map_tag(resource: dict[str, Any], key: str) -> str | None:
    """A tag of a resource type whose Tags are a map (API Gateway v2)."""
    found = resource.get("Properties", {}).get("Tags") or {}
    return found.get(key) if isinstance(found, dict) else None


def _websockets(resources: Resources, functions: _Names) -> dict[str, frozenset]:
    apis = {lid: _map_tag(api, tags.WEBSOCKET_API) or f"<untagged WebSocket API {lid}>"
            for lid, api in _of_type(resources, "AWS::ApiGatewayV2::Api")
            if api["Properties"].get("ProtocolType") == "WEBSOCKET"}

    def api_of(value: Any) -> str:
        return next((apis[lid] for lid in _references(value) if lid in apis), "<no WebSocket API>")

    routes = set()
    for _, route in _of_type(resources, "AWS::ApiGatewayV2::Route"):
        props = route["Properties"]
        integration_id = next(iter(_references(props.get("Target"))), "")
        integration = resources.get(integration_id, {}).get("Properties", {})
        routes.add((api_of(props.get("ApiId")), props.get("RouteKey"),
                    functions.first(integration.get("IntegrationUri")) or "<no function>",
                    props.get("AuthorizationType") == "CUSTOM" and "AuthorizerId" in props))
    function_ids = dict(functions.by_id)
    variables = {lid: resources[lid]["Properties"].get("Environment", {}).get("Variables", {}) for lid in function_ids}
    authorizers = set()
    for _, authorizer in _of_type(resources, "AWS::ApiGatewayV2::Authorizer"):
        props = authorizer["Properties"]
        function_id = next((lid for lid in _references(props.get("AuthorizerUri")) if lid in function_ids), "")
        api = api_of(props.get("ApiId"))
        authorizers.add((api, function_ids.get(function_id, "<no function>"),
                         ",".join(props.get("IdentitySource") or []),
                         connect_roles_from_environment(api, variables.get(function_id, {}))))
    # Who may manage which API's connections: the execute-api:ManageConnections statements of
    # each function's role policies, on that API's connections.
    granted = {(function, api_of(statement.get("Resource")))
               for function, statement in _statements_by_function(resources, functions)
               if "execute-api:ManageConnections" in _actions(statement)}
    endpoint_of = {name: lid for lid, name in apis.items()}
    pushes = set()
    for lid, env in variables.items():
        for name, api_lid in endpoint_of.items():
            value = env.get(websocket_endpoint_variable(name))
            if value is None:
                continue
            # The endpoint must be this API's stage (its callback URL names the API's id).
            row = (function_ids[lid], name)
            pushes.add(row if api_lid in set(_references(value)) and row in granted
                       else (function_ids[lid], f"<{name}: endpoint without a grant, or of another API>"))
    pushes |= {(f, f"<{api}: grant without an endpoint>") for f, api in granted if (f, api) not in pushes}
    return {"websocket_routes": frozenset(routes), "websocket_authorizers": frozenset(authorizers),
            "websocket_pushes": frozenset(pushes)}
