"""What a twin contains, in terms both twins and the description share, so that the parity test
can compare them. The description's side is here; each twin reads its own side
(infra/cloud/inventory.py from the synthesized template, infra/local/inventory.py from the
running local stack)."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

from infra.description.edge import (
    WEB_ACL_COMMON_RULE_SET, WEB_ACL_COUNTED_COMMON_RULES, WEB_ACL_GENERAL_RULE, WEB_ACL_STRICT_RULE,
)
from infra.description.model import (
    Role, Service, lambda_tasks, websocket_connect_route_key, websocket_endpoint_variable,
)


@dataclass(frozen=True)
class Inventory:
    functions: frozenset[str]
    # (method, path, function name, public?)
    routes: frozenset[tuple[str, str, str, bool]]
    # function names that have a webhook (function URL)
    webhook_functions: frozenset[str]
    # (queue name, visibility timeout, max receive count, DLQ name)
    queues: frozenset[tuple[str, int, int, str]]
    # (queue name, function name, batch size)
    queue_triggers: frozenset[tuple[str, str, int]]
    # (schedule name, expression, function name)
    schedules: frozenset[tuple[str, str, str]]
    # (table name, partition key, sort key or "", index names, ttl attribute or "")
    tables: frozenset[tuple[str, str, str, tuple[str, ...], str]]
    secrets: frozenset[str]
    alarms: frozenset[str]
    user_pool_groups: frozenset[str]
    # (table name, function name, batch size, max retry attempts, bisect?, on-failure queue)
    stream_triggers: frozenset[tuple[str, str, int, int, bool, str]]
    # (table name, stream view type), for tables with a stream
    table_streams: frozenset[tuple[str, str]]
    # (function name, queue name, event types sorted)
    event_routes: frozenset[tuple[str, str, tuple[str, ...]]]
    # function names whose calls leave through the network's NAT gateway (fixed_egress)
    fixed_egress_functions: frozenset[str]
    # (network name, NAT gateways with a fixed address): the description's network has exactly one
    fixed_egress_networks: frozenset[tuple[str, int]]
    # (state machine name, task functions sorted, logging level, traced?)
    state_machines: frozenset[tuple[str, tuple[str, ...], str, bool]]
    # The SES email identities (addresses) that exist, and (function, address) of who may send from each
    email_identities: frozenset[str]
    email_senders: frozenset[tuple[str, str]]
    # The functions that may send SMS (SNS Publish to a phone number)
    sms_senders: frozenset[str]
    # (WebSocket API name, route key, function name, behind the authorizer?)
    websocket_routes: frozenset[tuple[str, str, str, bool]] = frozenset()
    # (WebSocket API name, authorizer function, identity source, connect roles sorted)
    websocket_authorizers: frozenset[tuple[str, str, str, tuple[str, ...]]] = frozenset()
    # (function name, WebSocket API name): given the API's management endpoint and allowed to use it
    websocket_pushes: frozenset[tuple[str, str]] = frozenset()
    # (function name, the most instances that may run at once), for functions with such a cap
    reserved_concurrency: frozenset[tuple[str, int]] = frozenset()
    # (application, profile, the deployed flag document as sorted JSON)
    feature_flags: frozenset[tuple[str, str, str]] = frozenset()
    # functions given the flag document's location and allowed to read it
    flag_readers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CloudOnlyInventory:
    """What only the cloud twin has, compared with the description alone: AWS WAF in front of the
    REST API. The local twin has no twin of it on purpose (a per-IP rate limiter in the local
    gateway would throttle the test suite, which calls from one address, and AWS's managed rules
    are not published to run elsewhere); the application's own per-client limits run in both
    twins and are compared there."""

    # (rule name, requests per IP per 5 minutes, path fragments it is scoped to, sorted)
    ip_rate_rules: frozenset[tuple[str, int, tuple[str, ...]]]
    # (vendor and group name, rules set to count instead of block, sorted)
    managed_rule_groups: frozenset[tuple[str, tuple[str, ...]]]
    # The REST API stages the web ACL is associated with
    protected_stages: frozenset[str]


def describe(service: Service) -> Inventory:
    return Inventory(
        functions=frozenset(f.name for f in service.functions),
        routes=frozenset((r.method, r.path, f.name, r.is_public) for f, r in service.routes),
        webhook_functions=frozenset(f.name for f, _ in service.webhooks),
        queues=frozenset(
            (q.name, q.visibility_timeout_seconds, q.max_receive_count, q.dlq_name) for q in service.queues
        ),
        queue_triggers=frozenset((t.queue, f.name, t.batch_size) for f, t in service.queue_triggers),
        schedules=frozenset((s.name, s.expression, f.name) for f, s in service.schedules),
        tables=frozenset(
            (
                t.name,
                t.partition_key.name,
                t.sort_key.name if t.sort_key else "",
                tuple(sorted(i.name for i in t.indexes)),
                t.ttl_attribute or "",
            )
            for t in service.tables
        ),
        secrets=frozenset(s.name for s in service.secrets),
        alarms=frozenset(a.name for a in service.all_alarms),
        user_pool_groups=frozenset(role.value for role in Role),
        stream_triggers=frozenset(
            (t.table, f.name, t.batch_size, t.max_retry_attempts, t.bisect_batch_on_error,
             t.on_failure_queue or "")
            for f, t in service.stream_triggers
        ),
        table_streams=frozenset((t.name, t.stream) for t in service.tables if t.stream),
        event_routes=frozenset((f.name, r.queue, tuple(sorted(r.events))) for f, r in service.event_routes),
        fixed_egress_functions=frozenset(f.name for f in service.fixed_egress_functions),
        fixed_egress_networks=frozenset({(service.network.name, 1)} if service.network else ()),
        state_machines=frozenset(
            (m.name, tuple(sorted(m.task_functions)), m.logging_level, m.tracing) for m in service.state_machines
        ),
        websocket_routes=frozenset(
            (w.name, key, function, key == "$connect")
            for w in service.websocket_apis for key, function in w.route_functions.items()
        ),
        websocket_authorizers=frozenset(
            (w.name, w.authorizer, w.identity_source, tuple(sorted(w.roles))) for w in service.websocket_apis
        ),
        websocket_pushes=frozenset((f.name, name) for f in service.functions for name in f.pushes_to),
        email_identities=frozenset(service.email_identities),
        email_senders=frozenset((f.name, f.email_identity) for f in service.functions if f.email_identity),
        sms_senders=frozenset(f.name for f in service.functions if f.sends_sms),
        reserved_concurrency=frozenset((f.name, w.reserved_concurrency) for f, w in service.webhooks),
        feature_flags=frozenset(
            {(service.feature_flags.application, service.feature_flags.profile,
              flag_document_json(service.feature_flags.document))} if service.feature_flags else ()
        ),
        flag_readers=frozenset(f.name for f in service.functions if f.reads_flags),
    )


def describe_cloud_only(service: Service, stage: str) -> CloudOnlyInventory:
    """What the cloud twin of `service` deployed as `stage` has beyond the shared inventory."""
    if not service.routes:
        return CloudOnlyInventory(frozenset(), frozenset(), frozenset())
    limits, strict = service.ip_rate_limits, tuple(sorted(service.api.strict_rate_limit_paths))
    rules: set[tuple[str, int, tuple[str, ...]]] = {(WEB_ACL_GENERAL_RULE, limits.per_ip, ())}
    if strict:
        rules.add((WEB_ACL_STRICT_RULE, limits.strict_per_ip, strict))
    return CloudOnlyInventory(
        ip_rate_rules=frozenset(rules),
        managed_rule_groups=frozenset({(f"AWS/{WEB_ACL_COMMON_RULE_SET}", tuple(sorted(WEB_ACL_COUNTED_COMMON_RULES)))}),
        protected_stages=frozenset({stage}),
    )


def flag_document_json(document: dict) -> str:
    """A flag document in one spelling, for comparing what each twin deployed."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def connect_roles_from_environment(api: str, environment: dict) -> tuple[str, ...]:
    """The roles an authorizer was actually given for connecting to `api` (BAZAAR_ROUTE_ROLES)."""
    roles = json.loads(environment.get("BAZAAR_ROUTE_ROLES") or "{}")
    return tuple(sorted(roles.get(websocket_connect_route_key(api), ())))


def pushed_apis_from_environment(environment: dict, endpoints: dict[str, str]) -> set[str]:
    """The APIs whose management endpoint a function was given (its BAZAAR_WEBSOCKET_<NAME>_ENDPOINT
    holds the endpoint `endpoints` names for that API)."""
    return {name for name, endpoint in endpoints.items()
            if environment.get(websocket_endpoint_variable(name)) == endpoint}


def task_function_names(definition: dict, function_of) -> tuple[str, ...]:
    """The functions a deployed definition's Lambda tasks run, sorted; `function_of` maps what a
    twin put in FunctionName (an ARN, or a placeholder the template fills) to a function name."""
    names = {function_of((task.get("Parameters") or {}).get("FunctionName")) for _, task in lambda_tasks(definition)}
    return tuple(sorted(names))


def event_routes_from_environment(function: str, environment: dict) -> set[tuple[str, str, tuple[str, ...]]]:
    """The event routes a function was actually given, read from its BAZAAR_EVENT_ROUTES."""
    routes = json.loads(environment.get("BAZAAR_EVENT_ROUTES") or "{}")
    return {(function, queue, tuple(sorted(events))) for queue, events in routes.items()}


def differences(
    expected: Inventory | CloudOnlyInventory, actual: Inventory | CloudOnlyInventory, twin: str
) -> list[str]:
    """Human-readable lines, one per element that is in one and not the other."""
    lines: list[str] = []
    for f in fields(expected):
        want, got = getattr(expected, f.name), getattr(actual, f.name)
        lines += [f"{f.name}: {item!r} is described but missing from the {twin} twin" for item in sorted(want - got)]
        lines += [f"{f.name}: {item!r} is in the {twin} twin but not in the description" for item in sorted(got - want)]
    return lines
