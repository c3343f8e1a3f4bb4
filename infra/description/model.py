"""The vocabulary of Bazaar's one service description.

Both twins are built from a `Service` made of these types: the CDK stack (infra/cloud) and the
local stack (infra/local). Nothing about topology is written anywhere else. Every type checks
itself when it is built and `Service` checks how the parts fit together, so an unsafe or
inconsistent description fails at load time with a message naming the part at fault.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal, Protocol


class DescriptionError(ValueError):
    """The service description is unsafe or inconsistent."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise DescriptionError(message)


_NAME = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")


def _check_name(kind: str, name: str) -> None:
    _require(
        bool(_NAME.match(name)),
        f"{kind} name {name!r} must be 3-40 characters of lower-case letters, digits and '-'",
    )


def env_name(resource_name: str) -> str:
    """`order-events` -> `ORDER_EVENTS`: how a resource name appears in environment variables."""
    return resource_name.upper().replace("-", "_")


class PhysicalNames(Protocol):
    """How one twin names what the description declares."""

    def table_name(self, table: str) -> str: ...
    def queue_url(self, queue: str) -> str: ...
    def secret_id(self, secret: str) -> str: ...
    def user_pool_id(self) -> str: ...
    def user_pool_client_id(self) -> str: ...
    def user_pool_jwks_url(self) -> str: ...
    def state_machine_arn(self, state_machine: str) -> str: ...
    def websocket_endpoint(self, websocket_api: str) -> str: ...
    def flags_identifiers(self) -> tuple[str, str, str]: ...


class PlaceholderNames:
    """`PhysicalNames` that name nothing real, for reading a function's environment straight from
    the description without either twin (tests, the API document, benchmarks): init code only
    reads these names, it makes no call with them."""

    def table_name(self, table: str) -> str: return f"bazaar-{table}"
    def queue_url(self, queue: str) -> str: return f"https://sqs.ap-south-1.amazonaws.com/000000000000/bazaar-{queue}"
    def secret_id(self, secret: str) -> str: return f"bazaar/{secret}"
    def user_pool_id(self) -> str: return "ap-south-1_placeholder"
    def user_pool_client_id(self) -> str: return "placeholder"
    def user_pool_jwks_url(self) -> str:
        return "https://cognito-idp.ap-south-1.amazonaws.com/ap-south-1_placeholder/.well-known/jwks.json"
    def state_machine_arn(self, state_machine: str) -> str:
        return f"arn:aws:states:ap-south-1:000000000000:stateMachine:bazaar-{state_machine}"
    def websocket_endpoint(self, websocket_api: str) -> str:
        return f"https://placeholder.execute-api.ap-south-1.amazonaws.com/{websocket_api}"
    def flags_identifiers(self) -> tuple[str, str, str]: return ("placeholder", "placeholder", "placeholder")


class Role(StrEnum):
    CUSTOMER = "customer"
    SELLER = "seller"
    SCOUT = "scout"
    ADMIN = "admin"


PUBLIC: frozenset[Role] = frozenset()
"""Roles of a route anyone may call, without a token. Stated explicitly, never implied."""

EVERY_ROLE: frozenset[Role] = frozenset(Role)


class Access(StrEnum):
    READ = "read"
    WRITE = "write"
    READ_WRITE = "read_write"


# --------------------------------------------------------------------------------------------
# Storage
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    name: str
    type: Literal["S", "N", "B"] = "S"


@dataclass(frozen=True)
class Index:
    """A global secondary index projecting all attributes."""

    name: str
    partition_key: Key
    sort_key: Key | None = None


StreamViewType = Literal["NEW_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY", "OLD_IMAGE"]
STREAM_VIEW_TYPES: tuple[str, ...] = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY", "OLD_IMAGE")


@dataclass(frozen=True)
class Table:
    name: str
    purpose: str
    partition_key: Key
    sort_key: Key | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    # A DynamoDB stream of the table's changes, with this view type; functions read it through
    # `StreamTrigger`s.
    stream: StreamViewType | None = None

    def __post_init__(self) -> None:
        _check_name("table", self.name)
        _require(
            self.stream is None or self.stream in STREAM_VIEW_TYPES,
            f"table {self.name!r}: stream must be one of {STREAM_VIEW_TYPES} (or None)",
        )
        names = [index.name for index in self.indexes]
        _require(len(names) == len(set(names)), f"table {self.name!r} declares an index twice")
        _require(len(self.indexes) <= 20, f"table {self.name!r} has more than 20 GSIs")


@dataclass(frozen=True)
class Queue:
    """A standard SQS queue, always with its own dead-letter queue `<name>-dlq`."""

    name: str
    purpose: str
    visibility_timeout_seconds: int
    max_receive_count: int = 5
    retention_seconds: int = 4 * 24 * 3600
    dlq_retention_seconds: int = 14 * 24 * 3600

    def __post_init__(self) -> None:
        _check_name("queue", self.name)
        _require(
            self.max_receive_count >= 5,
            f"queue {self.name!r}: max receive count {self.max_receive_count} is under 5; a message "
            "would reach the DLQ after a short throttling burst (AWS recommends at least 5)",
        )
        _require(
            0 < self.visibility_timeout_seconds <= 43200,
            f"queue {self.name!r}: visibility timeout must be 1..43200 seconds",
        )
        _require(
            self.dlq_retention_seconds > self.retention_seconds,
            f"queue {self.name!r}: the DLQ must keep messages longer than the queue does, "
            "or a redriven message can expire before anyone looks at it",
        )

    @property
    def dlq_name(self) -> str:
        return f"{self.name}-dlq"


@dataclass(frozen=True)
class Secret:
    """A JSON secret in Secrets Manager. The local twin fills `fields` with random values except
    those in `local_values` (non-secret identifiers such as a sandbox merchant id)."""

    name: str
    purpose: str
    fields: tuple[str, ...]
    local_values: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_name("secret", self.name)
        unknown = set(self.local_values) - set(self.fields)
        _require(not unknown, f"secret {self.name!r}: local values for undeclared fields {sorted(unknown)}")
        object.__setattr__(self, "local_values", MappingProxyType(dict(self.local_values)))


# --------------------------------------------------------------------------------------------
# Triggers
# --------------------------------------------------------------------------------------------

# Literal segments may hold a dot (`openapi.json`), never be only dots.
_SEGMENT = r"(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\{[a-z_]+\})"
_PATH = re.compile(rf"^/{_SEGMENT}(?:/{_SEGMENT})*$")
_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Route:
    """A REST API route. `roles` is PUBLIC (no token) or the groups allowed to call it."""

    method: str
    path: str
    roles: frozenset[Role] | None
    summary: str

    def __post_init__(self) -> None:
        where = f"route {self.method} {self.path}"
        _require(self.method in _HTTP_METHODS, f"{where}: method must be one of {_HTTP_METHODS}")
        _require(bool(_PATH.match(self.path)), f"{where}: path must look like /v1/orders/{{order_id}}")
        _require(
            self.roles is not None,
            f"{where}: declares no roles; say PUBLIC or name the roles allowed to call it",
        )
        _require(bool(self.summary.strip()), f"{where}: needs a summary for the OpenAPI document")
        object.__setattr__(self, "roles", frozenset(self.roles or ()))
        if self.path.startswith("/v1/admin/"):
            _require(self.roles == {Role.ADMIN}, f"{where}: /v1/admin/ routes are for admins only")
        if self.path.startswith("/v1/seller/"):
            _require(self.roles == {Role.SELLER}, f"{where}: /v1/seller/ routes are for sellers only")

    @property
    def is_public(self) -> bool:
        return not self.roles

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Webhook:
    """A provider webhook: a Lambda function URL (auth NONE; the handler verifies the caller).
    Locally the gateway serves it at `path`."""

    path: str
    provider: str
    # The most instances of the webhook's function that may run at once (Lambda reserved
    # concurrency; the local twin caps the function's instances the same way). A function URL is
    # public, and WAF cannot stand in front of one: this bounds what a flood of forged calls can
    # cost and keeps it from starving every other function of the account's concurrency, while
    # the provider's retries absorb a throttled genuine call.
    reserved_concurrency: int = 10

    def __post_init__(self) -> None:
        _require(
            self.path.startswith("/webhooks/") and bool(_PATH.match(self.path)),
            f"webhook {self.path!r} must live under /webhooks/",
        )
        _require(
            1 <= self.reserved_concurrency <= 100,
            f"webhook {self.path!r}: reserved_concurrency must be 1..100 (0 would refuse every call; "
            "more than 100 reserves most of a new account's concurrency)",
        )


@dataclass(frozen=True)
class QueueTrigger:
    queue: str
    batch_size: int = 10
    max_batching_window_seconds: int = 0

    def __post_init__(self) -> None:
        _require(1 <= self.batch_size <= 10, f"trigger on {self.queue!r}: batch size must be 1..10")
        _require(
            0 <= self.max_batching_window_seconds <= 300,
            f"trigger on {self.queue!r}: batching window must be 0..300 seconds",
        )


@dataclass(frozen=True)
class StreamTrigger:
    """A table's DynamoDB stream feeding a function: records of a shard arrive in order, in
    batches. Partial batch responses (ReportBatchItemFailures) are always on: the function names
    the sequence numbers that failed and the shard is retried from the lowest of them. A function
    error splits the batch in halves (`bisect_batch_on_error`) to isolate a bad record; a batch
    still failing after `max_retry_attempts` retries, or older than `max_record_age_seconds`, is
    described on `on_failure_queue` and the shard moves on."""

    table: str
    batch_size: int = 100
    max_batching_window_seconds: int = 0
    max_retry_attempts: int = 5
    bisect_batch_on_error: bool = True
    max_record_age_seconds: int = 3600
    on_failure_queue: str | None = None
    starting_position: Literal["TRIM_HORIZON"] = "TRIM_HORIZON"

    def __post_init__(self) -> None:
        where = f"stream trigger on {self.table!r}"
        _require(
            self.on_failure_queue is not None,
            f"{where}: declares no on_failure_queue; a record that keeps failing would be dropped "
            "silently once its retries or its age run out. Name a declared queue to describe it on",
        )
        _require(
            self.max_retry_attempts != -1,
            f"{where}: max_retry_attempts -1 (unbounded) retries a failing record until it expires, "
            "blocking every record behind it on the shard; give a bound (0..10000)",
        )
        _require(
            0 <= self.max_retry_attempts <= 10000,
            f"{where}: max_retry_attempts must be 0..10000",
        )
        _require(
            self.max_record_age_seconds != -1,
            f"{where}: max_record_age_seconds -1 (unbounded) keeps a failing record blocking its "
            "shard until the stream trims it (24 h); give a bound (60..604800)",
        )
        _require(
            60 <= self.max_record_age_seconds <= 604800,
            f"{where}: max_record_age_seconds must be 60..604800",
        )
        _require(1 <= self.batch_size <= 10000, f"{where}: batch size must be 1..10000")
        _require(
            0 <= self.max_batching_window_seconds <= 300,
            f"{where}: batching window must be 0..300 seconds",
        )
        _require(
            self.starting_position == "TRIM_HORIZON",
            f"{where}: starting position must be TRIM_HORIZON; LATEST would never deliver the "
            "records written before the mapping is enabled",
        )


_EVENT_TYPE = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)*$")


@dataclass(frozen=True)
class EventRoute:
    """A dispatcher sends the events of these types to this queue (one of its `sends_to`, with a
    consumer). The function reads the routes from BAZAAR_EVENT_ROUTES."""

    queue: str
    events: tuple[str, ...]

    def __post_init__(self) -> None:
        where = f"event route to {self.queue!r}"
        object.__setattr__(self, "events", tuple(self.events))
        _require(bool(self.events), f"{where}: names no event types")
        for event in self.events:
            _require(
                bool(_EVENT_TYPE.match(event)),
                f"{where}: event type {event!r} must be PascalCase, such as OrderPlaced",
            )
        _require(len(set(self.events)) == len(self.events), f"{where}: names an event type twice")


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((\S+ \S+ \S+ \S+ \S+ \S+)\)$")


@dataclass(frozen=True)
class Schedule:
    """An EventBridge schedule: `rate(5 minutes)` or a six-field `cron(...)` in UTC."""

    name: str
    expression: str
    description: str

    def __post_init__(self) -> None:
        _check_name("schedule", self.name)
        rate = _RATE.match(self.expression)
        if rate:
            amount, unit = int(rate.group(1)), rate.group(2)
            _require(amount >= 1, f"schedule {self.name!r}: rate must be at least 1")
            _require(
                (amount == 1) == (not unit.endswith("s")),
                f"schedule {self.name!r}: write rate(1 minute) or rate(N minutes), as EventBridge does",
            )
        else:
            _require(
                bool(_CRON.match(self.expression)),
                f"schedule {self.name!r}: expression must be rate(...) or a six-field cron(...)",
            )


# --------------------------------------------------------------------------------------------
# Compute
# --------------------------------------------------------------------------------------------

_HANDLER = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+$")


@dataclass(frozen=True)
class Function:
    name: str
    handler: str
    description: str
    memory_mb: int = 512
    timeout_seconds: int = 10
    architecture: Literal["arm64", "x86_64"] = "arm64"
    environment: Mapping[str, str] = field(default_factory=dict)
    tables: Mapping[str, Access] = field(default_factory=dict)
    sends_to: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    routes: tuple[Route, ...] = ()
    webhooks: tuple[Webhook, ...] = ()
    queue_triggers: tuple[QueueTrigger, ...] = ()
    stream_triggers: tuple[StreamTrigger, ...] = ()
    # As a dispatcher: which event types go to which of its `sends_to` queues.
    event_routes: tuple[EventRoute, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    uses_user_pool: bool = False
    # Cognito admin actions (without the `cognito-idp:` prefix) the function calls on the pool;
    # the cloud twin grants exactly these, on the pool's ARN.
    user_pool_actions: tuple[str, ...] = ()
    # Calls a provider that allowlists source IPs: runs in the network's private subnets and
    # leaves through its NAT gateway's Elastic IP (see `Network`).
    fixed_egress: bool = False
    # State machines this function starts executions of and answers task tokens for
    # (StartExecution, SendTaskSuccess/Failure/Heartbeat, Describe/Stop/History/ListExecutions);
    # it reads each one's ARN from BAZAAR_STATE_MACHINE_<NAME>.
    state_machines: tuple[str, ...] = ()
    # WebSocket APIs whose connections this function posts to, reads and closes (the management
    # API's PostToConnection, GetConnection, DeleteConnection); it reads each one's management
    # endpoint from BAZAAR_WEBSOCKET_<NAME>_ENDPOINT.
    pushes_to: tuple[str, ...] = ()
    # Sends email through SES from the sender its environment's EMAIL_SENDER names: the cloud
    # twin creates that email identity and grants ses:SendEmail/SendRawEmail on it alone; the
    # local twin verifies it in moto at start (moto refuses mail from an unverified sender).
    sends_email: bool = False
    # Sends SMS through SNS Publish to phone numbers (a phone number has no resource ARN).
    sends_sms: bool = False
    # Evaluates the service's feature flags: given BAZAAR_FLAGS_* (where the document is) and
    # allowed to read that one configuration (appconfig:StartConfigurationSession and
    # GetLatestConfiguration) and nothing else of AppConfig.
    reads_flags: bool = False

    def __post_init__(self) -> None:
        _check_name("function", self.name)
        where = f"function {self.name!r}"
        _require(
            not self.user_pool_actions or self.uses_user_pool,
            f"{where}: declares user pool actions but not uses_user_pool=True",
        )
        for action in self.user_pool_actions:
            _require(
                bool(re.fullmatch(r"Admin[A-Za-z]+", action)),
                f"{where}: user pool action {action!r} must be a Cognito Admin* action name "
                "(public actions such as InitiateAuth need no permission)",
            )
        _require(bool(_HANDLER.match(self.handler)), f"{where}: handler must be <package>.<module>.<callable>")
        _require(128 <= self.memory_mb <= 10240, f"{where}: memory must be 128..10240 MB")
        _require(1 <= self.timeout_seconds <= 900, f"{where}: timeout must be 1..900 seconds")
        if self.routes:
            # API Gateway gives up on an integration after 29 s; a longer timeout only hides that.
            _require(self.timeout_seconds <= 29, f"{where}: serves API routes, so its timeout must be <= 29 s")
        for key in self.environment:
            _require(
                not key.startswith(
                    ("BAZAAR_TABLE_", "BAZAAR_QUEUE_", "BAZAAR_SECRET_", "BAZAAR_STATE_MACHINE_",
                     "BAZAAR_WEBSOCKET_", "BAZAAR_FLAGS_", "AWS_")
                ),
                f"{where}: environment variable {key} is reserved; declare the resource instead",
            )
        _require(
            "BAZAAR_EVENT_ROUTES" not in self.environment,
            f"{where}: environment variable BAZAAR_EVENT_ROUTES is reserved; declare event_routes instead",
        )
        routed = [route.queue for route in self.event_routes]
        _require(len(routed) == len(set(routed)), f"{where}: routes events to one queue twice")
        for queue in routed:
            _require(
                queue in self.sends_to,
                f"{where}: routes events to queue {queue!r}, which is not in its sends_to",
            )
        tables = [trigger.table for trigger in self.stream_triggers]
        _require(len(tables) == len(set(tables)), f"{where}: reads one table's stream twice")
        if self.sends_email:
            _require(bool(EMAIL_SENDER.fullmatch(self.environment.get("EMAIL_SENDER", ""))),
                     f"{where}: sends email, so its environment must name EMAIL_SENDER "
                     "(an address, or `Name <address>`)")
        object.__setattr__(self, "state_machines", tuple(self.state_machines))
        _require(
            len(set(self.state_machines)) == len(self.state_machines), f"{where}: names a state machine twice"
        )
        object.__setattr__(self, "pushes_to", tuple(self.pushes_to))
        _require(len(set(self.pushes_to)) == len(self.pushes_to), f"{where}: names a WebSocket API twice")
        object.__setattr__(self, "environment", MappingProxyType(dict(self.environment)))
        object.__setattr__(self, "tables", MappingProxyType({k: Access(v) for k, v in self.tables.items()}))

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def reserved_concurrency(self) -> int | None:
        """The cap on its instances running at once (its webhook's), or None: no cap of its own."""
        return self.webhooks[0].reserved_concurrency if self.webhooks else None

    @property
    def email_identity(self) -> str | None:
        """The address its mail comes from (EMAIL_SENDER without the display name)."""
        return sender_address(self.environment["EMAIL_SENDER"]) if self.sends_email else None

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    @property
    def context(self) -> str:
        """The bounded context it belongs to: its handler's package (functions.<context>.…);
        the OpenAPI document tags the function's routes with it."""
        packages = self.module.split(".")
        return packages[1] if len(packages) > 1 else packages[0]


# --------------------------------------------------------------------------------------------
# Workflows
# --------------------------------------------------------------------------------------------

StateMachineLoggingLevel = Literal["ALL", "ERROR", "FATAL"]
STATE_MACHINE_LOGGING_LEVELS: tuple[str, ...] = ("ALL", "ERROR", "FATAL")
# The Lambda integrations a definition may use; both pass the task's Payload as the event.
LAMBDA_TASK_RESOURCES: tuple[str, ...] = (
    "arn:aws:states:::lambda:invoke",
    "arn:aws:states:::lambda:invoke.waitForTaskToken",
)
# Step Functions' own bound on a standard workflow's run: one year.
MAX_STATE_MACHINE_TIMEOUT_SECONDS = 31536000
# How a definition names a task's function: replaced by the function's ARN in each twin.
_PLACEHOLDER = re.compile(r"\$\{function:([^}]*)\}")
# The derived alarm is `<machine>-failed`, and alarm names have at most 40 characters.
_STATE_MACHINE_NAME_MAX = 40 - len("-failed")
# ASL fields that name the state to go to next.
_TRANSITIONS = ("Next", "Default")


def function_placeholder(function: str) -> str:
    """`${function:<name>}`: how a state machine definition names the function a task runs."""
    return "${function:" + function + "}"


def substitute_functions(document: Mapping[str, Any], arn_of: Mapping[str, str]) -> dict[str, Any]:
    """The definition with every `${function:<name>}` replaced by `arn_of[name]`."""
    text = json.dumps(document)
    return json.loads(_PLACEHOLDER.sub(lambda m: arn_of[m.group(1)], text))


def state_scopes(definition: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The definition and every nested one (Parallel branches, Map iterators), each with its own
    StartAt and States: transitions never cross from one to another."""
    scopes = [definition]
    for state in (definition.get("States") or {}).values():
        if not isinstance(state, Mapping):
            continue
        nested = [*state.get("Branches", ()), state.get("Iterator"), state.get("ItemProcessor")]
        for scope in nested:
            if isinstance(scope, Mapping):
                scopes += state_scopes(scope)
    return scopes


def lambda_tasks(definition: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(state name, state) of every Lambda task, nested ones included."""
    return [
        (name, state)
        for scope in state_scopes(definition)
        for name, state in (scope.get("States") or {}).items()
        if isinstance(state, Mapping) and state.get("Type") == "Task"
        and state.get("Resource") in LAMBDA_TASK_RESOURCES
    ]


@dataclass(frozen=True)
class StateMachine:
    """A standard Step Functions workflow. `definition` is its Amazon States Language document as
    a dict; a Lambda task (`arn:aws:states:::lambda:invoke` or its `.waitForTaskToken` form)
    names its function in `Parameters.FunctionName` as `${function:<name>}`, and `task_functions`
    lists exactly those functions. The machine's run is bounded by `timeout_seconds` (written into
    the definition as its top-level TimeoutSeconds) and every Task by its own TimeoutSeconds or
    HeartbeatSeconds, so no execution waits for a year. Executions are logged to CloudWatch at
    `logging_level` with their data, and traced with X-Ray when `tracing`."""

    name: str
    purpose: str
    definition: Mapping[str, Any]
    task_functions: tuple[str, ...]
    timeout_seconds: int
    logging_level: StateMachineLoggingLevel = "ALL"
    tracing: bool = True

    def __post_init__(self) -> None:
        _check_name("state machine", self.name)
        where = f"state machine {self.name!r}"
        _require(
            len(self.name) <= _STATE_MACHINE_NAME_MAX,
            f"{where}: name must have at most {_STATE_MACHINE_NAME_MAX} characters (its alarm is "
            f"{self.name}-failed)",
        )
        _require(bool(self.purpose.strip()), f"{where}: needs a purpose")
        _require(
            1 <= self.timeout_seconds <= MAX_STATE_MACHINE_TIMEOUT_SECONDS,
            f"{where}: timeout must be 1..{MAX_STATE_MACHINE_TIMEOUT_SECONDS} seconds (one year)",
        )
        _require(
            self.logging_level in STATE_MACHINE_LOGGING_LEVELS,
            f"{where}: logging level must be one of {STATE_MACHINE_LOGGING_LEVELS}",
        )
        try:
            # A private copy, and proof the definition is JSON (the twins send it as JSON).
            definition = json.loads(json.dumps(self.definition))
        except (TypeError, ValueError) as error:
            raise DescriptionError(f"{where}: definition is not JSON ({error})") from None
        _require(isinstance(definition, dict), f"{where}: definition must be an ASL document (a dict)")
        _require(
            "TimeoutSeconds" not in definition,
            f"{where}: the definition sets TimeoutSeconds; declare it once, as timeout_seconds",
        )
        object.__setattr__(self, "definition", MappingProxyType(definition))
        object.__setattr__(self, "task_functions", tuple(self.task_functions))
        _require(
            len(set(self.task_functions)) == len(self.task_functions),
            f"{where}: task_functions names a function twice",
        )
        for scope in state_scopes(definition):
            self._check_scope(scope)
        named: set[str] = set()
        for state_name, task in lambda_tasks(definition):
            function_name = (task.get("Parameters") or {}).get("FunctionName")
            placeholder = _PLACEHOLDER.fullmatch(function_name) if isinstance(function_name, str) else None
            _require(
                placeholder is not None,
                f"{where}: task {state_name!r} must name its function in Parameters.FunctionName as "
                "${function:<function name>}, so each twin puts its own ARN there",
            )
            assert placeholder is not None
            named.add(placeholder.group(1))
        everywhere = set(_PLACEHOLDER.findall(json.dumps(definition)))
        _require(
            everywhere <= named,
            f"{where}: ${{function:...}} placeholders outside a Lambda task's Parameters.FunctionName: "
            f"{sorted(everywhere - named)}",
        )
        unlisted, unused = sorted(named - set(self.task_functions)), sorted(set(self.task_functions) - named)
        _require(not unlisted, f"{where}: tasks run {unlisted}, which task_functions does not list")
        _require(not unused, f"{where}: task_functions lists {unused}, which no task runs")

    def _check_scope(self, scope: Mapping[str, Any]) -> None:
        where = f"state machine {self.name!r}"
        states = scope.get("States")
        _require(isinstance(states, Mapping) and bool(states), f"{where}: a definition (or branch) has no States")
        assert isinstance(states, Mapping)
        start = scope.get("StartAt")
        _require(start in states, f"{where}: StartAt {start!r} names no state")
        for name, state in states.items():
            at = f"{where}: state {name!r}"
            _require(isinstance(state, Mapping) and "Type" in state, f"{at} has no Type")
            targets = [state[key] for key in _TRANSITIONS if key in state]
            targets += [choice.get("Next") for choice in state.get("Choices", ())]
            targets += [catcher.get("Next") for catcher in state.get("Catch", ())]
            for target in targets:
                _require(target in states, f"{at}: goes to {target!r}, which names no state")
            if state["Type"] in ("Task", "Pass", "Wait", "Parallel", "Map"):
                _require(
                    "Next" in state or state.get("End") is True,
                    f"{at}: needs Next or End: true",
                )
            if state["Type"] == "Task":
                _require(
                    any(k in state for k in ("TimeoutSeconds", "HeartbeatSeconds", "TimeoutSecondsPath",
                                             "HeartbeatSecondsPath")),
                    f"{at}: a Task needs TimeoutSeconds (or HeartbeatSeconds, or a *Path to one); without one Step "
                    "Functions waits up to a year for it",
                )

    @property
    def document(self) -> dict[str, Any]:
        """The definition as both twins deploy it: with the machine's timeout, placeholders kept."""
        return {**json.loads(json.dumps(dict(self.definition))), "TimeoutSeconds": self.timeout_seconds}

    @property
    def alarm_name(self) -> str:
        return f"{self.name}-failed"


# --------------------------------------------------------------------------------------------
# Identity, monitoring, API surface
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserPool:
    name: str
    password_min_length: int = 12
    access_token_minutes: int = 60
    refresh_token_days: int = 30
    # The second factor: an authenticator app (TOTP, never SMS). OPTIONAL lets each user turn it on;
    # the identity context requires it of admins (bazaar.identity.domain.SECOND_FACTOR_ROLES). Cognito
    # accepts ON only when a pool is created, so a pool cannot move to ON later.
    mfa: Literal["OFF", "OPTIONAL", "ON"] = "OPTIONAL"

    def __post_init__(self) -> None:
        _check_name("user pool", self.name)
        _require(self.password_min_length >= 12, "user pool: passwords must be at least 12 characters")
        _require(self.mfa in ("OFF", "OPTIONAL", "ON"), "user pool: mfa must be OFF, OPTIONAL or ON")


# The alarms every function and table gets are named <function>-errors, <function>-throttles and
# <table>-throttles (a stage's alarm_thresholds may name them).
FUNCTION_ERRORS_SUFFIX = "-errors"
FUNCTION_THROTTLES_SUFFIX = "-throttles"
TABLE_THROTTLES_SUFFIX = "-throttles"
_STATISTICS = ("Sum", "Maximum", "Minimum", "Average", "SampleCount")
_PERCENTILE = re.compile(r"^p(?:[1-9]?[0-9])(?:\.[0-9]{1,2})?$")
_METRIC_ID = re.compile(r"\bm([0-9]+)\b")


@dataclass(frozen=True)
class MetricAlarm:
    """An alarm on one metric, or on a metric-math expression over a few metrics of one source.

    The source is a metric Bazaar emits (EMF namespace `Bazaar`, with the `service` dimension) or,
    when one of `queue`, `state_machine`, `function`, `table` or `api` is given, that resource's
    own AWS metrics. With `more_metrics`, the metrics are `m0` (`metric`), `m1`, `m2`, ... and the
    alarm compares `expression` (their sum, a missing value counting as 0, when none is given)."""

    name: str
    description: str
    metric: str
    threshold: float
    comparison: Literal[">=", ">", "<", "<="] = ">="
    # Sum, Maximum, Minimum, Average, SampleCount or a percentile such as p99.
    statistic: str = "Sum"
    period_seconds: int = 300
    evaluation_periods: int = 1
    treat_missing_as_breaching: bool = False
    dimensions: Mapping[str, str] = field(default_factory=dict)
    # Alarms on a queue's own metrics (AWS/SQS) rather than Bazaar's.
    queue: str | None = None
    # Alarms on a state machine's own metrics (AWS/States).
    state_machine: str | None = None
    # Alarms on a function's own metrics (AWS/Lambda, by FunctionName).
    function: str | None = None
    # Alarms on a table's own metrics (AWS/DynamoDB, by TableName).
    table: str | None = None
    # Alarms on the REST API's own metrics (AWS/ApiGateway, by the stage's API name).
    api: bool = False
    # Further metrics of the same source (m1, m2, ...) that `expression` combines with `metric`.
    more_metrics: tuple[str, ...] = ()
    # CloudWatch metric math over m0..mN; FILL(mN, 0) where a period without data means none.
    expression: str | None = None

    def __post_init__(self) -> None:
        _check_name("alarm", self.name)
        where = f"alarm {self.name!r}"
        _require(self.period_seconds % 60 == 0, f"{where}: period must be a multiple of 60 s")
        _require(self.evaluation_periods >= 1, f"{where}: evaluation periods must be at least 1")
        sources = [s for s in (self.queue, self.state_machine, self.function, self.table, self.api) if s]
        _require(len(sources) <= 1, f"{where}: watches one source (a queue, state machine, function, table or the API)")
        _require(
            self.statistic in _STATISTICS or bool(_PERCENTILE.match(self.statistic)),
            f"{where}: statistic must be one of {_STATISTICS} or a percentile such as p99",
        )
        object.__setattr__(self, "more_metrics", tuple(self.more_metrics))
        object.__setattr__(self, "dimensions", MappingProxyType(dict(self.dimensions)))
        if self.expression is not None:
            named = {int(i) for i in _METRIC_ID.findall(self.expression)}
            _require(
                named == set(range(len(self.metrics))),
                f"{where}: expression {self.expression!r} must use each of m0..m{len(self.metrics) - 1} "
                "(m0 is `metric`, then `more_metrics`) and no other",
            )

    @property
    def metrics(self) -> tuple[str, ...]:
        """`metric` and `more_metrics`: m0, m1, ... in `math`."""
        return (self.metric, *self.more_metrics)

    @property
    def math(self) -> str | None:
        """The metric-math expression the alarm compares, or None for a plain metric alarm."""
        if self.expression is not None:
            return self.expression
        if self.more_metrics:
            # A period with no datapoint of one of them counts as 0 in the sum, not as missing.
            return " + ".join(f"FILL(m{i}, 0)" for i in range(len(self.metrics)))
        return None

    @property
    def namespace(self) -> str:
        if self.queue:
            return "AWS/SQS"
        if self.state_machine:
            return "AWS/States"
        if self.function:
            return "AWS/Lambda"
        if self.table:
            return "AWS/DynamoDB"
        if self.api:
            return "AWS/ApiGateway"
        return "Bazaar"


@dataclass(frozen=True)
class GatewayResponse:
    """An error API Gateway itself answers (no Lambda runs): both twins answer it in our envelope."""

    kind: str  # API Gateway's ResponseType
    status: int
    code: str
    message: str
    # A Retry-After header with this many seconds, for the answers a client should retry (the
    # stage throttle's 429): a fixed value, as API Gateway can only map a literal here.
    retry_after_seconds: int | None = None


@dataclass(frozen=True)
class Api:
    # The Lambda REQUEST authorizer in front of every non-public route, in both twins: it checks
    # the Cognito token, its revocation and the route's roles.
    authorizer: str
    throttle_rate_per_second: int
    throttle_burst: int
    # API Gateway's own hard limit; the functions enforce the (smaller) application limit.
    gateway_max_body_bytes: int
    gateway_responses: tuple[GatewayResponse, ...]
    # Parts of a request path (matched anywhere in it, so with or without the stage prefix of an
    # execute-api URL) whose routes the cloud's web ACL limits per IP more strictly: sign-in,
    # checkout and refunds, where each request is a guess, a stock lock or money.
    strict_rate_limit_paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "strict_rate_limit_paths", tuple(self.strict_rate_limit_paths))
        for fragment in self.strict_rate_limit_paths:
            _require(
                bool(re.fullmatch(r"/[a-z0-9/-]+", fragment)),
                f"api: strict rate-limit path {fragment!r} must be a literal path fragment such as /v1/auth/",
            )


@dataclass(frozen=True)
class IpRateLimits:
    """How many requests one client IP may send the REST API in five minutes before AWS WAF
    blocks it (until its rate falls under the limit again): `per_ip` on every route,
    `strict_per_ip` on the routes under `Api.strict_rate_limit_paths`. WAF's smallest limit is 10."""

    per_ip: int = 2000
    strict_per_ip: int = 300

    def __post_init__(self) -> None:
        for name, limit in (("per_ip", self.per_ip), ("strict_per_ip", self.strict_per_ip)):
            _require(10 <= limit <= 2_000_000_000, f"ip rate limits: {name} {limit} must be 10..2000000000")
        _require(
            self.strict_per_ip <= self.per_ip,
            f"ip rate limits: strict_per_ip {self.strict_per_ip} is above per_ip {self.per_ip}",
        )



# API Gateway's WebSocket frame limit: a larger frame closes the connection (1009).
WEBSOCKET_MAX_FRAME_BYTES = 32 * 1024
# The stage variables that tell a shared REQUEST authorizer which WebSocket API it is asked about
# (its event names the API only by its generated id) and where the token is; the authorizer reads
# them under the same names (bazaar.identity.authorizer_requests).
WEBSOCKET_API_STAGE_VARIABLE = "bazaarWebSocketApi"
TOKEN_PARAMETER_STAGE_VARIABLE = "bazaarTokenQueryParameter"


def websocket_endpoint_variable(websocket_api: str) -> str:
    """`BAZAAR_WEBSOCKET_<NAME>_ENDPOINT`: where a function that pushes to the API finds its
    management endpoint (`https://{apiId}.execute-api.{region}.amazonaws.com/{stage}` in the cloud)."""
    return f"BAZAAR_WEBSOCKET_{env_name(websocket_api)}_ENDPOINT"


def websocket_connect_route_key(websocket_api: str) -> str:
    """`$connect <name>`: the key of the API's connect roles in BAZAAR_ROUTE_ROLES, next to the REST
    routes' `<METHOD> <path>` keys (no REST key starts with `$`)."""
    return f"$connect {websocket_api}"


@dataclass(frozen=True)
class WebSocketApi:
    """An API Gateway WebSocket API. A client connects with its access token in the query
    parameter `token_query_parameter` (browsers cannot set headers on the upgrade); the REQUEST
    `authorizer` checks it and `roles` on `$connect`, then `connect` runs (a non-2xx answer refuses
    the connection). Every text frame goes to `default` (there are no other routes: the route
    selection expression `$request.body.action` selects nothing else), and `disconnect` hears of
    every closed connection. Functions that answer clients name the API in `pushes_to`."""

    name: str
    purpose: str
    connect: str
    disconnect: str
    default: str
    authorizer: str
    roles: frozenset[Role]
    token_query_parameter: str = "access_token"
    max_frame_bytes: int = WEBSOCKET_MAX_FRAME_BYTES

    def __post_init__(self) -> None:
        _check_name("websocket api", self.name)
        where = f"websocket api {self.name!r}"
        _require(bool(self.purpose.strip()), f"{where}: needs a purpose")
        object.__setattr__(self, "roles", frozenset(Role(r) for r in self.roles))
        _require(
            bool(self.roles),
            f"{where}: names no roles; a WebSocket API is never public, name the roles that may connect",
        )
        _require(
            bool(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", self.token_query_parameter)),
            f"{where}: token query parameter {self.token_query_parameter!r} must be 1-64 letters, digits, '_' or '-'",
        )
        _require(
            1024 <= self.max_frame_bytes <= WEBSOCKET_MAX_FRAME_BYTES,
            f"{where}: max_frame_bytes must be 1024..{WEBSOCKET_MAX_FRAME_BYTES} (API Gateway's frame limit)",
        )

    @property
    def route_functions(self) -> dict[str, str]:
        """Route key -> the function its Lambda proxy integration invokes."""
        return {"$connect": self.connect, "$disconnect": self.disconnect, "$default": self.default}

    @property
    def connect_route_key(self) -> str:
        return websocket_connect_route_key(self.name)

    @property
    def stage_variables(self) -> dict[str, str]:
        return {WEBSOCKET_API_STAGE_VARIABLE: self.name, TOKEN_PARAMETER_STAGE_VARIABLE: self.token_query_parameter}

    @property
    def identity_source(self) -> str:
        """Where API Gateway looks for credentials before calling the authorizer (none: 401)."""
        return f"route.request.querystring.{self.token_query_parameter}"


# --------------------------------------------------------------------------------------------
# Feature flags
# --------------------------------------------------------------------------------------------

# The evaluation context key a rollout rule reads: a number the function derives from the user id
# and the flag's name (bazaar.platform.flags.rollout_number keeps the same name; a unit test holds
# them equal), so each flag picks its own, stable share of users.
ROLLOUT_CONTEXT_KEY = "rollout_number"
_FLAG_NAME = re.compile(r"^[a-z][a-z0-9_]{2,62}$")
FlagValue = bool | int | str


@dataclass(frozen=True)
class FeatureFlag:
    """One flag of the feature flag document (Powertools' schema). Everyone gets `default`, except
    `rollout_percent` of users (chosen by user id, the same users every time) who get
    `rollout_value` (for a boolean flag, `not default` unless given). A flag with `per_user=False`
    is one switch for the whole service: it has no rollout (every caller sees the same value)."""

    name: str
    purpose: str
    default: FlagValue
    rollout_percent: int = 0
    rollout_value: FlagValue | None = None
    per_user: bool = True

    def __post_init__(self) -> None:
        where = f"feature flag {self.name!r}"
        _require(bool(_FLAG_NAME.match(self.name)), f"{where}: name must be 3-63 lower-case letters, digits and '_'")
        _require(bool(self.purpose.strip()), f"{where}: needs a purpose (what it switches, and why a flag)")
        _require(0 <= self.rollout_percent <= 100, f"{where}: rollout_percent must be 0..100")
        _require(self.per_user or self.rollout_percent == 0,
                 f"{where}: a service-wide flag (per_user=False) has no rollout by user")
        if self.rollout_value is None and isinstance(self.default, bool):
            object.__setattr__(self, "rollout_value", not self.default)
        _require(self.rollout_percent == 0 or self.rollout_value is not None,
                 f"{where}: a rollout needs the rollout_value its users get")
        _require(self.rollout_value is None or type(self.rollout_value) is type(self.default),
                 f"{where}: rollout_value must be of the default's type")

    @property
    def document(self) -> dict[str, Any]:
        """This flag in Powertools' schema: its default, and a MODULO_RANGE rule over the rollout
        number (number % 100 in 0..percent-1) when it has a rollout."""
        entry: dict[str, Any] = {"default": self.default}
        if not isinstance(self.default, bool):
            entry["boolean_type"] = False  # Powertools' marker of a flag whose value is not true/false
        if self.rollout_percent:
            entry["rules"] = {f"rollout-{self.rollout_percent}-percent": {
                "when_match": self.rollout_value,
                "conditions": [{"action": "MODULO_RANGE", "key": ROLLOUT_CONTEXT_KEY,
                                "value": {"BASE": 100, "START": 0, "END": self.rollout_percent - 1}}],
            }}
        return entry


@dataclass(frozen=True)
class FeatureFlags:
    """The service's feature flags: one AppConfig application with one configuration profile
    (the flag document, `document`) and one environment per stage, deployed with the stage's
    `flags_deployment_strategy`. Functions that set `reads_flags` evaluate it through Powertools'
    feature flags, caching it `max_age_seconds`; when the store cannot be read they use each flag's
    default in code (bazaar.platform.flags)."""

    application: str
    profile: str
    flags: tuple[FeatureFlag, ...]
    max_age_seconds: int = 60

    def __post_init__(self) -> None:
        _check_name("feature flags application", self.application)
        _check_name("feature flags profile", self.profile)
        object.__setattr__(self, "flags", tuple(self.flags))
        names = [f.name for f in self.flags]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        _require(not duplicates, f"feature flags declared twice: {duplicates}")
        _require(5 <= self.max_age_seconds <= 3600, "feature flags: max_age_seconds must be 5..3600")

    @property
    def document(self) -> dict[str, Any]:
        return {flag.name: flag.document for flag in self.flags}

    def flag(self, name: str) -> FeatureFlag:
        return next(f for f in self.flags if f.name == name)


# AppConfig's predefined deployment strategies (no resource of ours to create).
FLAG_DEPLOYMENT_STRATEGIES: tuple[str, ...] = (
    "AppConfig.AllAtOnce", "AppConfig.Linear50PercentEvery30Seconds", "AppConfig.Linear20PercentEvery6Minutes",
    "AppConfig.Canary10Percent20Minutes",
)


# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------

# The retention periods CloudWatch Logs accepts, in days.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
_SETTING = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class Network:
    """Where the functions that call an IP-allowlisting provider (RazorpayX) run. Public and
    private subnets over `availability_zones` zones; exactly one NAT gateway, with one Elastic IP
    Bazaar allocates, so every call from a `fixed_egress` function leaves from one address the
    operator allowlists on the provider's dashboard (a second NAT gateway would be a second
    address). Flow logs of all its traffic are kept `flow_log_retention_days` days.

    `allowlisted_settings` are the settings that name such a provider's address (such as
    RAZORPAYX_BASE_URL): a function whose environment declares one must set `fixed_egress`, so a
    new function calling the provider cannot forget it and be refused by the provider in
    production only."""

    name: str
    cidr: str = "10.40.0.0/16"
    availability_zones: int = 2
    flow_log_retention_days: int = 30
    allowlisted_settings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_name("network", self.name)
        where = f"network {self.name!r}"
        try:
            block = ipaddress.IPv4Network(self.cidr)
        except ValueError as error:
            raise DescriptionError(f"{where}: cidr {self.cidr!r} is not an IPv4 network ({error})") from None
        _require(block.is_private, f"{where}: cidr {self.cidr} is not a private (RFC 1918) range")
        # A VPC is /16../28; four subnets (public and private in two zones) need room to split.
        _require(16 <= block.prefixlen <= 24, f"{where}: cidr {self.cidr} must be a /16 to /24")
        # Lambda in a VPC wants subnets in at least two zones, or one zone's outage stops it.
        _require(2 <= self.availability_zones <= 6, f"{where}: availability_zones must be 2..6")
        _require(
            self.flow_log_retention_days in LOG_RETENTION_DAYS,
            f"{where}: flow_log_retention_days {self.flow_log_retention_days} is not a CloudWatch Logs "
            f"retention period {LOG_RETENTION_DAYS}",
        )
        object.__setattr__(self, "allowlisted_settings", tuple(self.allowlisted_settings))
        for setting in self.allowlisted_settings:
            _require(
                bool(_SETTING.match(setting)),
                f"{where}: allowlisted setting {setting!r} must be an environment variable name "
                "such as RAZORPAYX_BASE_URL",
            )
        _require(
            len(set(self.allowlisted_settings)) == len(self.allowlisted_settings),
            f"{where}: names an allowlisted setting twice",
        )


# --------------------------------------------------------------------------------------------
# The whole service
# --------------------------------------------------------------------------------------------


# An email sender: `address` or `Display Name <address>`.
EMAIL_SENDER = re.compile(r"(?:[^<>]*<)?([^@<>\s]+@[^@<>\s]+\.[^@<>\s]+)>?")


def sender_address(sender: str) -> str:
    found = EMAIL_SENDER.fullmatch(sender.strip())
    if found is None:
        raise DescriptionError(f"{sender!r} is not an email sender (an address, or `Name <address>`)")
    return found.group(1)


# Hosts a production stage must not call: the providers' test environments, and this machine.
_TEST_HOSTS = re.compile(r"(sandbox|preprod|uat|staging|mock|localhost|127\.0\.0\.1)", re.IGNORECASE)
# The settings naming a provider host a production stage checks.
PROVIDER_HOST_SETTINGS = ("PHONEPE_BASE_URL", "PHONEPE_OAUTH_BASE_URL", "SHIPROCKET_BASE_URL", "RAZORPAYX_BASE_URL")
_EMAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")


@dataclass(frozen=True)
class Stage:
    """One deployment of the service (dev, staging, prod): what differs between them, and
    nothing else. `Service.at_stage` applies it; both twins build from the result."""

    name: str
    purpose: str
    # Values that replace the service's settings or functions' environment values of the same
    # name (provider hosts, limits): a name nothing declares is refused, so a typo cannot be lost.
    settings: Mapping[str, str] = field(default_factory=dict)
    # Browser origins allowed to call the API (CORS); exact `scheme://host[:port]`, no wildcards.
    cors_allowed_origins: tuple[str, ...] = ()
    # Email addresses subscribed to the alarm topic.
    alarm_recipients: tuple[str, ...] = ()
    # Thresholds that replace alarms' own (by alarm name, declared or derived such as
    # `<function>-errors`).
    alarm_thresholds: Mapping[str, float] = field(default_factory=dict)
    # The monthly AWS cost budget in US dollars; alerts at 80% and 100% go to the recipients.
    monthly_budget_usd: int = 50
    # Per-IP request limits of the cloud's web ACL in front of the REST API (per 5 minutes).
    ip_rate_limits: IpRateLimits = field(default_factory=IpRateLimits)
    # A production stage takes real money: it refuses providers' test hosts and must have someone
    # to tell when an alarm fires.
    production: bool = False
    # How AppConfig rolls a new flag document out to this stage's functions (a predefined
    # strategy): at once where nobody is hurt, gradually (with CloudWatch's time to alarm) in prod.
    flags_deployment_strategy: str = "AppConfig.AllAtOnce"
    # Rollout percentages that replace declared flags' (by flag name): a behaviour can be on for
    # a share of prod's shoppers while developers' stages keep one known behaviour.
    flag_rollout_percent: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_name("stage", self.name)
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))
        object.__setattr__(self, "flag_rollout_percent", MappingProxyType(dict(self.flag_rollout_percent)))
        object.__setattr__(self, "alarm_thresholds", MappingProxyType(dict(self.alarm_thresholds)))
        object.__setattr__(self, "cors_allowed_origins", tuple(self.cors_allowed_origins))
        object.__setattr__(self, "alarm_recipients", tuple(self.alarm_recipients))
        for origin in self.cors_allowed_origins:
            _require(bool(_ORIGIN.match(origin)),
                     f"stage {self.name!r}: CORS origin {origin!r} is not scheme://host[:port] (no path, no wildcard)")
        for address in self.alarm_recipients:
            _require(bool(_EMAIL_ADDRESS.match(address)), f"stage {self.name!r}: {address!r} is not an email address")
        _require(self.monthly_budget_usd > 0, f"stage {self.name!r}: the monthly budget must be positive")
        _require(self.flags_deployment_strategy in FLAG_DEPLOYMENT_STRATEGIES,
                 f"stage {self.name!r}: flags_deployment_strategy must be one of {FLAG_DEPLOYMENT_STRATEGIES}")

    def production_problems(self, settings: Mapping[str, str]) -> list[str]:
        """Why this stage may not take real money with these (stage-applied) settings: [] if it may."""
        if not self.production:
            return []
        problems = [
            f"{name}={settings[name]!r} is a test host; a production stage must call the live API"
            for name in PROVIDER_HOST_SETTINGS
            if name in settings and _TEST_HOSTS.search(settings[name])
        ]
        if not self.alarm_recipients:
            problems.append("no alarm recipients: list at least one email address in the stage's alarm_recipients")
        return problems


@dataclass(frozen=True)
class Service:
    name: str
    api: Api
    user_pool: UserPool
    settings: Mapping[str, str]
    tables: tuple[Table, ...]
    queues: tuple[Queue, ...]
    secrets: tuple[Secret, ...]
    functions: tuple[Function, ...]
    alarms: tuple[MetricAlarm, ...] = ()
    # The network fixed-egress functions run in; None when no function calls an IP-allowlisting
    # provider (then no function may set fixed_egress).
    network: Network | None = None
    state_machines: tuple[StateMachine, ...] = ()
    websocket_apis: tuple[WebSocketApi, ...] = ()
    # Every stage it can be deployed as, and the one this description was built for (None until
    # `at_stage` picks one; a twin builds from `at_stage`'s result).
    stages: tuple[Stage, ...] = ()
    stage: Stage | None = None
    # The feature flags functions with `reads_flags` evaluate (None: no flags, no reader).
    feature_flags: FeatureFlags | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))
        object.__setattr__(self, "stages", tuple(self.stages))
        object.__setattr__(self, "state_machines", tuple(self.state_machines))
        object.__setattr__(self, "websocket_apis", tuple(self.websocket_apis))
        for kind, names in (
            ("table", [t.name for t in self.tables]),
            ("queue", [q.name for q in self.queues] + [q.dlq_name for q in self.queues]),
            ("secret", [s.name for s in self.secrets]),
            ("function", [f.name for f in self.functions]),
            ("schedule", [s.name for f in self.functions for s in f.schedules]),
            ("state machine", [m.name for m in self.state_machines]),
            ("websocket api", [w.name for w in self.websocket_apis]),
            ("alarm", [a.name for a in self.all_alarms]),
            ("stage", [s.name for s in self.stages]),
        ):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            _require(not duplicates, f"{kind} names used twice: {duplicates}")
        self._check_references()
        self._check_queue_consumers()
        self._check_streams()
        self._check_routes()
        self._check_network()
        self._check_state_machines()
        self._check_websocket_apis()
        readers = [f.name for f in self.functions if f.reads_flags]
        _require(self.feature_flags is not None or not readers,
                 f"functions {readers} read feature flags, but the description declares none (Service.feature_flags)")
        authorizer = next((f for f in self.functions if f.name == self.api.authorizer), None)
        if authorizer is None:
            raise DescriptionError(f"api authorizer {self.api.authorizer!r} is not a declared function")
        _require(
            not (authorizer.routes or authorizer.webhooks or authorizer.queue_triggers
                 or authorizer.stream_triggers or authorizer.schedules),
            f"authorizer {authorizer.name!r} must not have triggers of its own",
        )

    # -- stages ---------------------------------------------------------------------------

    def at_stage(self, name: str) -> Service:
        """This service as stage `name` deploys it: the stage's settings in place of the declared
        ones (service-wide and per function), its alarm thresholds, `CORS_ALLOWED_ORIGINS` set.
        Refuses an unknown stage, a setting nothing declares, an alarm nothing declares, and a
        production stage with test provider hosts or nobody to alarm (DescriptionError)."""
        stage = next((s for s in self.stages if s.name == name), None)
        if stage is None:
            raise DescriptionError(f"unknown stage {name!r}: the stages are {[s.name for s in self.stages]}")
        declared = set(self.settings) | {key for f in self.functions for key in f.environment}
        unknown = sorted(set(stage.settings) - declared)
        _require(not unknown, f"stage {name!r} sets {unknown}, which no setting or function environment declares")
        unknown_alarms = sorted(set(stage.alarm_thresholds) - {a.name for a in self.all_alarms})
        _require(not unknown_alarms, f"stage {name!r} sets thresholds of undeclared alarms {unknown_alarms}")

        def staged(values: Mapping[str, str]) -> dict[str, str]:
            return {key: stage.settings.get(key, value) for key, value in values.items()}

        settings = {**staged(self.settings), "CORS_ALLOWED_ORIGINS": ",".join(stage.cors_allowed_origins)}
        functions = tuple(replace(f, environment=staged(f.environment)) for f in self.functions)
        every_setting = {**settings, **{k: v for f in functions for k, v in f.environment.items()}}
        problems = stage.production_problems(every_setting)
        if problems:
            raise DescriptionError(f"stage {name!r} is production and may not be deployed: " + "; ".join(problems))
        # The stage's alarm thresholds are applied by `all_alarms`, to derived alarms as well.
        return replace(self, settings=settings, functions=functions, stage=stage,
                       feature_flags=self._staged_flags(stage))

    def _staged_flags(self, stage: Stage) -> FeatureFlags | None:
        rollouts = stage.flag_rollout_percent
        if not rollouts:
            return self.feature_flags
        declared = {f.name for f in self.feature_flags.flags} if self.feature_flags else set()
        unknown = sorted(set(rollouts) - declared)
        _require(not unknown, f"stage {stage.name!r} sets the rollout of undeclared feature flags {unknown}")
        assert self.feature_flags is not None  # rollouts name declared flags, so there are some
        flags = tuple(replace(f, rollout_percent=rollouts[f.name]) if f.name in rollouts else f
                      for f in self.feature_flags.flags)
        return replace(self.feature_flags, flags=flags)

    # -- lookups --------------------------------------------------------------------------

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)

    @property
    def email_identities(self) -> tuple[str, ...]:
        """The sender addresses functions send email from, each once."""
        return tuple(sorted({f.email_identity for f in self.functions if f.email_identity}))

    def queue(self, name: str) -> Queue:
        return next(q for q in self.queues if q.name == name)

    def secret(self, name: str) -> Secret:
        return next(s for s in self.secrets if s.name == name)

    def function(self, name: str) -> Function:
        return next(f for f in self.functions if f.name == name)

    def state_machine(self, name: str) -> StateMachine:
        return next(m for m in self.state_machines if m.name == name)

    def websocket_api(self, name: str) -> WebSocketApi:
        return next(w for w in self.websocket_apis if w.name == name)

    @property
    def task_functions(self) -> frozenset[str]:
        """Functions some state machine runs as a task."""
        return frozenset(f for m in self.state_machines for f in m.task_functions)

    @property
    def routes(self) -> tuple[tuple[Function, Route], ...]:
        return tuple((f, r) for f in self.functions for r in f.routes)

    @property
    def methods_by_path(self) -> dict[str, tuple[str, ...]]:
        """Each route path -> the methods declared on it, sorted (what a preflight allows)."""
        found: dict[str, set[str]] = {}
        for _, route in self.routes:
            found.setdefault(route.path, set()).add(route.method)
        return {path: tuple(sorted(methods)) for path, methods in sorted(found.items())}

    @property
    def ip_rate_limits(self) -> IpRateLimits:
        """The web ACL's per-IP limits: the deployed stage's, or the defaults before one is picked."""
        return self.stage.ip_rate_limits if self.stage is not None else IpRateLimits()

    @property
    def cors_allowed_origins(self) -> tuple[str, ...]:
        """The browser origins the deployed stage allows (none before a stage is picked)."""
        return self.stage.cors_allowed_origins if self.stage is not None else ()

    @property
    def webhooks(self) -> tuple[tuple[Function, Webhook], ...]:
        return tuple((f, w) for f in self.functions for w in f.webhooks)

    @property
    def schedules(self) -> tuple[tuple[Function, Schedule], ...]:
        return tuple((f, s) for f in self.functions for s in f.schedules)

    @property
    def queue_triggers(self) -> tuple[tuple[Function, QueueTrigger], ...]:
        return tuple((f, t) for f in self.functions for t in f.queue_triggers)

    @property
    def stream_triggers(self) -> tuple[tuple[Function, StreamTrigger], ...]:
        return tuple((f, t) for f in self.functions for t in f.stream_triggers)

    @property
    def fixed_egress_functions(self) -> tuple[Function, ...]:
        return tuple(f for f in self.functions if f.fixed_egress)

    @property
    def event_routes(self) -> tuple[tuple[Function, EventRoute], ...]:
        return tuple((f, r) for f in self.functions for r in f.event_routes)

    def consumer_of(self, queue: str) -> Function | None:
        return next((f for f, t in self.queue_triggers if t.queue == queue), None)

    @property
    def all_alarms(self) -> tuple[MetricAlarm, ...]:
        """Declared alarms plus the ones every resource of a kind gets: one per dead-letter queue
        (a message there is money or a parcel stuck) and one per stream trigger's on-failure queue
        (a message there describes stream records, events, that never reached their consumers),
        both at any depth; one per state machine; errors and throttles of every function;
        throttled reads and writes of every table. The stage's thresholds replace any of them."""
        dlq_alarms = tuple(
            MetricAlarm(
                name=f"{q.dlq_name}-depth",
                description=f"Messages are waiting in {q.dlq_name}: {q.purpose} failed for good.",
                metric="ApproximateNumberOfMessagesVisible",
                statistic="Maximum",
                threshold=1,
                period_seconds=60,
                queue=q.dlq_name,
            )
            for q in self.queues
        )
        on_failure = sorted({t.on_failure_queue for _, t in self.stream_triggers if t.on_failure_queue})
        on_failure_alarms = tuple(
            MetricAlarm(
                name=f"{queue}-depth",
                description=(
                    f"Stream batches that failed for good are described in {queue}: their records "
                    "never reached their consumers. Replay them from the table, then delete the messages."
                ),
                metric="ApproximateNumberOfMessagesVisible",
                statistic="Maximum",
                threshold=1,
                period_seconds=60,
                queue=queue,
            )
            for queue in on_failure
        )
        # Each execution that ends badly is a refund or an approval nobody finished.
        state_machine_alarms = tuple(
            MetricAlarm(
                name=m.alarm_name,
                description=(
                    f"Executions of {m.name} failed, timed out or were aborted: {m.purpose} did not "
                    "finish. Read the execution's history in the Step Functions console."
                ),
                metric="ExecutionsFailed",
                more_metrics=("ExecutionsTimedOut", "ExecutionsAborted"),
                statistic="Sum",
                threshold=1,
                period_seconds=300,
                state_machine=m.name,
            )
            for m in self.state_machines
        )
        function_alarms = tuple(
            alarm
            for f in self.functions
            for alarm in (
                # Errors counts what the function did not handle (a crash, a timeout, a raised
                # error in a worker): an API function's refusals are answers, not errors.
                MetricAlarm(
                    name=f"{f.name}{FUNCTION_ERRORS_SUFFIX}",
                    description=(
                        f"{f.name} failed invocations (unhandled errors or timeouts): {f.description} "
                        "Read its log group's ERROR lines and its X-Ray traces."
                    ),
                    metric="Errors", statistic="Sum", threshold=1, period_seconds=300, function=f.name,
                ),
                MetricAlarm(
                    name=f"{f.name}{FUNCTION_THROTTLES_SUFFIX}",
                    description=(
                        f"Lambda refused to run {f.name} (the account's or the function's concurrency "
                        "was used up): its callers were turned away or their events wait for a retry."
                    ),
                    metric="Throttles", statistic="Sum", threshold=1, period_seconds=300, function=f.name,
                ),
            )
        )
        table_alarms = tuple(
            MetricAlarm(
                name=f"{t.name}{TABLE_THROTTLES_SUFFIX}",
                description=(
                    f"DynamoDB throttled reads or writes of table {t.name} ({t.purpose}): a hot key, "
                    "or traffic beyond on-demand capacity's instant limit."
                ),
                metric="ReadThrottleEvents",
                more_metrics=("WriteThrottleEvents",),
                statistic="Sum",
                threshold=1,
                period_seconds=300,
                table=t.name,
            )
            for t in self.tables
        )
        everything = (self.alarms + dlq_alarms + on_failure_alarms + state_machine_alarms + function_alarms
                      + table_alarms)
        thresholds = self.stage.alarm_thresholds if self.stage else {}
        return tuple(replace(a, threshold=thresholds[a.name]) if a.name in thresholds else a for a in everything)

    @property
    def api_name(self) -> str:
        """The REST API's name, which its AWS/ApiGateway metrics carry as ApiName."""
        return f"{self.name}-{self.stage.name}" if self.stage else self.name

    def function_environment(self, function: Function, physical: PhysicalNames) -> dict[str, str]:
        """Every variable a function starts with. Each twin passes its own physical names (CDK
        tokens in the cloud, moto's names and URLs locally); the variable names are the contract
        read by bazaar.platform.settings."""
        env = {
            "BAZAAR_SERVICE": self.name,
            "BAZAAR_FUNCTION": function.name,
            "POWERTOOLS_SERVICE_NAME": self.name,
            "POWERTOOLS_METRICS_NAMESPACE": "Bazaar",
            **self.settings,
            **function.environment,
        }
        for table in function.tables:
            env[f"BAZAAR_TABLE_{env_name(table)}"] = physical.table_name(table)
        for queue in function.sends_to:
            env[f"BAZAAR_QUEUE_{env_name(queue)}"] = physical.queue_url(queue)
        for secret in function.secrets:
            env[f"BAZAAR_SECRET_{env_name(secret)}"] = physical.secret_id(secret)
        for machine in function.state_machines:
            env[f"BAZAAR_STATE_MACHINE_{env_name(machine)}"] = physical.state_machine_arn(machine)
        for websocket_api in function.pushes_to:
            env[websocket_endpoint_variable(websocket_api)] = physical.websocket_endpoint(websocket_api)
        if function.reads_flags and self.feature_flags is not None:
            application, environment, profile = physical.flags_identifiers()
            env.update({"BAZAAR_FLAGS_APPLICATION": application, "BAZAAR_FLAGS_ENVIRONMENT": environment,
                        "BAZAAR_FLAGS_PROFILE": profile,
                        "BAZAAR_FLAGS_MAX_AGE_SECONDS": str(self.feature_flags.max_age_seconds)})
        if function.uses_user_pool:
            env["BAZAAR_USER_POOL_ID"] = physical.user_pool_id()
            env["BAZAAR_USER_POOL_CLIENT_ID"] = physical.user_pool_client_id()
            env["BAZAAR_USER_POOL_JWKS_URL"] = physical.user_pool_jwks_url()
        # The authorizer decides for every route; each API function re-checks its own routes
        # (defence in depth). Both read the roles from here.
        routes = [r for _, r in self.routes] if function.name == self.api.authorizer else function.routes
        if function.event_routes:
            env["BAZAAR_EVENT_ROUTES"] = json.dumps(
                {route.queue: list(route.events) for route in function.event_routes}, separators=(",", ":")
            )
        roles = {route.key: sorted(route.roles or ()) for route in routes}
        # A WebSocket API's authorizer decides who may connect the same way, from the same variable.
        roles.update({w.connect_route_key: sorted(w.roles) for w in self.websocket_apis if w.authorizer == function.name})
        if roles:
            env["BAZAAR_ROUTE_ROLES"] = json.dumps(roles, separators=(",", ":"))
        return env

    # -- consistency ----------------------------------------------------------------------

    def _check_references(self) -> None:
        tables = {t.name for t in self.tables}
        queues = {q.name for q in self.queues}
        secrets = {s.name for s in self.secrets}
        for f in self.functions:
            where = f"function {f.name!r}"
            for t in f.tables:
                _require(t in tables, f"{where} touches table {t!r}, which the description does not declare")
            for q in f.sends_to:
                _require(q in queues, f"{where} sends to queue {q!r}, which the description does not declare")
            for s in f.secrets:
                _require(s in secrets, f"{where} reads secret {s!r}, which the description does not declare")
            for trigger in f.queue_triggers:
                _require(trigger.queue in queues, f"{where} consumes undeclared queue {trigger.queue!r}")
        machines = {m.name for m in self.state_machines}
        for f in self.functions:
            for machine in f.state_machines:
                _require(
                    machine in machines,
                    f"function {f.name!r} uses state machine {machine!r}, which the description does not declare",
                )
        for alarm in self.alarms:
            if alarm.state_machine:
                _require(
                    alarm.state_machine in machines,
                    f"alarm {alarm.name!r} watches undeclared state machine {alarm.state_machine!r}",
                )
            if alarm.queue:
                known = queues | {self.queue(q).dlq_name for q in queues}
                _require(alarm.queue in known, f"alarm {alarm.name!r} watches undeclared queue {alarm.queue!r}")
            if alarm.function:
                _require(alarm.function in {f.name for f in self.functions},
                         f"alarm {alarm.name!r} watches undeclared function {alarm.function!r}")
            if alarm.table:
                _require(alarm.table in tables, f"alarm {alarm.name!r} watches undeclared table {alarm.table!r}")
            if alarm.api:
                _require(bool(self.routes), f"alarm {alarm.name!r} watches the REST API, but no function serves a route")

    def _check_queue_consumers(self) -> None:
        for queue in self.queues:
            consumers = [f for f, t in self.queue_triggers if t.queue == queue.name]
            _require(len(consumers) <= 1, f"queue {queue.name!r} has more than one consumer")
            for consumer in consumers:
                # AWS: a visibility timeout under 6x the function timeout lets a message that is
                # still being processed (or retried by the poller) be delivered a second time.
                _require(
                    queue.visibility_timeout_seconds >= 6 * consumer.timeout_seconds,
                    f"queue {queue.name!r}: visibility timeout {queue.visibility_timeout_seconds}s is under "
                    f"6x its consumer {consumer.name!r}'s timeout ({consumer.timeout_seconds}s); "
                    f"raise it to at least {6 * consumer.timeout_seconds}s",
                )

    def _check_streams(self) -> None:
        queues = {q.name for q in self.queues}
        for f, trigger in self.stream_triggers:
            where = f"function {f.name!r}: stream trigger on {trigger.table!r}"
            table = next((t for t in self.tables if t.name == trigger.table), None)
            if table is None:
                raise DescriptionError(f"{where}: the description does not declare that table")
            _require(
                table.stream is not None,
                f"{where}: table {table.name!r} has no stream; set Table.stream to a view type",
            )
            _require(
                trigger.on_failure_queue in queues,
                f"{where}: on_failure_queue {trigger.on_failure_queue!r} is not a declared queue",
            )
        for table in self.tables:
            readers = [f.name for f, t in self.stream_triggers if t.table == table.name]
            # DynamoDB throttles a shard read by more than two consumers at once.
            _require(
                len(readers) <= 2,
                f"table {table.name!r}: its stream has more than two readers ({readers}); "
                "DynamoDB Streams throttles a shard read by more than two",
            )
        for f, route in self.event_routes:
            where = f"function {f.name!r}: event route to {route.queue!r}"
            _require(route.queue in queues, f"{where}: the description does not declare that queue")
            _require(
                self.consumer_of(route.queue) is not None,
                f"{where}: the queue has no consumer (no function has a queue trigger on it); "
                "the events would pile up unread",
            )

    def _check_routes(self) -> None:
        seen: dict[str, str] = {}
        for f, route in self.routes:
            _require(route.key not in seen, f"route {route.key} is served by both {seen.get(route.key)!r} and {f.name!r}")
            seen[route.key] = f.name
        webhook_paths = [w.path for _, w in self.webhooks]
        _require(len(webhook_paths) == len(set(webhook_paths)), "a webhook path is declared twice")
        for f in self.functions:
            _require(len(f.webhooks) <= 1, f"function {f.name!r}: a function has one function URL")
        for fragment in self.api.strict_rate_limit_paths:
            _require(
                any(fragment in path for path in self.methods_by_path),
                f"api: strict rate-limit path {fragment!r} is part of no route's path; a stale entry "
                "limits nothing",
            )

    def _check_state_machines(self) -> None:
        functions = {f.name: f for f in self.functions}
        for machine in self.state_machines:
            where = f"state machine {machine.name!r}"
            for name in machine.task_functions:
                function = functions.get(name)
                if function is None:
                    raise DescriptionError(f"{where}: task function {name!r} is not a declared function")
                # A task function is handed the state's Payload, never an HTTP request: kept out
                # of the API, it has one event shape, no 29 s route limit on its timeout, and no
                # caller but the workflow (whose role is the only one allowed to invoke it).
                _require(
                    not (function.routes or function.webhooks),
                    f"{where}: task function {name!r} serves HTTP (routes or a webhook); a task function "
                    "is invoked by the workflow only. Put the HTTP entry point in another function "
                    "that declares state_machines and starts or answers executions",
                )
                _require(
                    name != self.api.authorizer,
                    f"{where}: task function {name!r} is the API authorizer",
                )

    def _check_websocket_apis(self) -> None:
        functions = {f.name: f for f in self.functions}
        apis = {w.name for w in self.websocket_apis}
        for api in self.websocket_apis:
            where = f"websocket api {api.name!r}"
            for role, name in (("authorizer", api.authorizer), *api.route_functions.items()):
                function = functions.get(name)
                if function is None:
                    raise DescriptionError(f"{where}: its {role} function {name!r} is not a declared function")
                # Each is handed WebSocket events only (or authorizer events): no second event shape.
                _require(
                    not (function.routes or function.webhooks or function.queue_triggers
                         or function.stream_triggers or function.schedules),
                    f"{where}: {role} function {name!r} has triggers of its own; a WebSocket route's "
                    "function is invoked by the API only",
                )
                _require(
                    name not in self.task_functions, f"{where}: {role} function {name!r} is a state machine task",
                )
        for f in self.functions:
            for name in f.pushes_to:
                _require(
                    name in apis,
                    f"function {f.name!r} pushes to WebSocket API {name!r}, which the description does not declare",
                )

    def _check_network(self) -> None:
        network = self.network
        for f in self.fixed_egress_functions:
            _require(
                network is not None,
                f"function {f.name!r} sets fixed_egress, but the description declares no network; "
                "declare Service.network (a Network) for it to leave through",
            )
        if network is None:
            return
        for setting in network.allowlisted_settings:
            _require(
                setting not in self.settings,
                f"service settings name {setting}, an allowlisted setting of network {network.name!r}: "
                "every function would receive it; declare it in the environment of the functions that "
                "call the provider, and set their fixed_egress",
            )
        for f in self.functions:
            named = sorted(set(network.allowlisted_settings) & set(f.environment))
            _require(
                f.fixed_egress or not named,
                f"function {f.name!r}: its environment names {', '.join(named)}, a provider that accepts "
                f"calls only from allowlisted IPs (network {network.name!r} allowlisted_settings); set "
                "fixed_egress=True so it leaves through the NAT gateway's Elastic IP",
            )
        # A fixed-egress function may serve API routes (a payouts API can call RazorpayX): the
        # route timeout (<= 29 s) is checked on Function already, and running in a VPC adds no
        # per-invocation latency (Lambda's VPC network interfaces are made when the function is
        # created, not per cold start).
