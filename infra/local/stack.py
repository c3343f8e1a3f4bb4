"""The local twin, assembled from the description: moto as AWS, the runtime per function, the
gateway, SQS pollers and the scheduler, and the network's NAT gateway twin (infra/local/egress.py).
`make up` runs it; tests start their own on free ports."""

from __future__ import annotations

import json
import os
import re
import secrets as random_secrets
import socket
import string
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from infra.apidocs import openapi
from infra.description import SERVICE
from infra.description.model import Role, Service
from infra.local import accounts as local_accounts
from infra.local.aws import ACCOUNT, CREDENTIALS, REGION, LocalNames, MotoServer, provision
from infra.local.aws_faults import AwsFaultProxy
from infra.local.crash_points import CrashPoints
from infra.local.egress import EgressProxy
from infra.local.flags import AppConfigDataTwin, provision_flags
from infra.local.gateway import Gateway, GatewayServer, HttpResult
from infra.local.inventory import local_inventory
from infra.local.pollers import QueuePoller
from infra.local.runtime import ROOT, FunctionRuntime, RuntimeStopped
from infra.local.scheduler import Scheduler
from infra.local.streams import StreamPoller
from infra.local.websockets import LocalWebSocketApi, ManagementEndpoint
from infra.local.workflows import describe_executions, provision_state_machines
from infra.sandboxes import Sandbox, local_sandboxes


# An endpoint nothing answers on (port 9, discard, is never served here): a call to it fails at once.
NOWHERE = "http://127.0.0.1:9"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class LocalConfig:
    api_port: int = 8000
    moto_port: int = 5100
    # The functions' AWS endpoint: the fault-injecting proxy in front of moto (infra/local/aws_faults.py;
    # 0: any free port). Off, functions call moto directly.
    aws_faults: bool = True
    aws_faults_port: int = 5150
    phonepe_port: int = 8100
    shiprocket_port: int = 8200
    razorpayx_port: int = 8300
    # The first WebSocket API's server; further APIs take the next ports (0: any free port).
    websocket_port: int = 8400
    # The WebSocket management endpoint (@connections) of every API.
    websocket_management_port: int = 8450
    clock_speed: float = 1.0
    # False: schedules fire only when run through /_local/schedules/<name>/run (a benchmark that
    # meters what orders cost keeps the background jobs out of its counts).
    fire_schedules: bool = True
    max_concurrency: int = 4
    poll_wait_seconds: int = 1
    state_dir: Path = ROOT / ".bazaar"
    seed_accounts: bool = True
    log_requests: bool = False
    # How long stop() lets invocations already in flight finish before ending their instances.
    drain_seconds: float = 10.0
    # The stage whose configuration the twin runs (CORS origins, limits): the developers' own.
    stage: str = "dev"
    # How long functions cache the flag document, instead of the description's (tests that change
    # a flag and watch the behaviour change set it short).
    flags_max_age_seconds: int | None = None

    @classmethod
    def for_tests(cls, state_dir: Path, **overrides) -> LocalConfig:
        ports = {"api_port": free_port(), "moto_port": free_port(), "aws_faults_port": 0, "phonepe_port": free_port(),
                 "shiprocket_port": free_port(), "razorpayx_port": free_port(),
                 # Port 0: each WebSocket server and the management endpoint bind a free port.
                 "websocket_port": 0, "websocket_management_port": 0}
        return cls(state_dir=state_dir, **{**ports, **overrides})


class Stoppable(Protocol):
    """Anything the stack stops: a source of work (gateway listener, an event source poller,
    the scheduler) or what serves it. stop() is idempotent and bounded."""

    def stop(self) -> None: ...


def _stop_together(things: Sequence[Stoppable], log) -> list[BaseException]:
    """Stops them all at once (their bounded waits overlap rather than add up); returns what
    failed, after logging it."""
    errors: list[BaseException] = []

    def stop(thing: Stoppable) -> None:
        try:
            thing.stop()
        except Exception as error:  # noqa: BLE001 - one failure must not leave the others running
            log({"stop": type(thing).__name__, "error": repr(error)})
            errors.append(error)

    threads = [threading.Thread(target=stop, args=(t,), name=f"stop:{type(t).__name__}", daemon=True)
               for t in things]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


class LocalStack:
    def __init__(self, config: LocalConfig = LocalConfig(), service: Service = SERVICE):
        self.config = config
        # A description with stages runs as one of them, as the cloud twin deploys it.
        self.service = service.at_stage(config.stage) if service.stages and service.stage is None else service
        # A state machine's Lambda tasks reach moto's Lambda API, which hands them to this
        # stack's runtimes through the gateway's /_local/functions (infra/local/moto_process.py).
        self.moto = MotoServer(
            config.moto_port,
            lambda_endpoint=f"http://127.0.0.1:{config.api_port}/_local/functions" if service.state_machines else None,
        )
        self.names: LocalNames | None = None
        # Where the functions' AWS calls go: the fault proxy in front of moto when it is on.
        self.aws_faults: AwsFaultProxy | None = None
        self.runtimes: dict[str, FunctionRuntime] = {}
        # The event source mappings: SQS queues, and DynamoDB streams (each with start() and stop()).
        self.pollers: list[QueuePoller] = []
        self.stream_pollers: list[StreamPoller] = []
        self.scheduler: Scheduler | None = None
        self.gateway: Gateway | None = None
        self.server: GatewayServer | None = None
        self.accounts: dict[str, dict[str, str]] = {}
        # Authenticator secrets of the admins create_account made, by email.
        self.totp_secrets: dict[str, str] = {}
        self._accounts_runtime: FunctionRuntime | None = None
        self.sandboxes: list[Sandbox] = []
        # The NAT gateway twin, when the description declares a network.
        self.egress: EgressProxy | None = None
        # The WebSocket twin, when the description declares WebSocket APIs.
        self.websocket_apis: dict[str, LocalWebSocketApi] = {}
        self.websocket_management: ManagementEndpoint | None = None
        # The AppConfig Data twin, when the description declares feature flags.
        self.flags: AppConfigDataTwin | None = None
        # Named points where a function's instance can be told to die (infra/local/crash_points.py).
        self.crash_points = CrashPoints(config.state_dir / "crash-points",
                                        frozenset(f.name for f in self.service.functions))

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> LocalStack:
        try:
            self.crash_points.start()
            self.moto.start()
            self.names = provision(self.service, self.moto)
            provision_state_machines(self.service, self.moto, self.names, self.config.clock_speed)
            if self.config.aws_faults:
                self.aws_faults = AwsFaultProxy(self.moto.endpoint, self.config.aws_faults_port).start()
            self._start_flags()
            self._start_egress()
            # Provider sandboxes come up before any function, so a function's first call finds them.
            self.sandboxes = local_sandboxes(
                self.service, self._read_secret, api_url=f"http://127.0.0.1:{self.config.api_port}",
                phonepe_port=self.config.phonepe_port, shiprocket_port=self.config.shiprocket_port,
                razorpayx_port=self.config.razorpayx_port, log=self._log,
                # Sandboxes of IP-allowlisting providers accept only the NAT gateway twin's address.
                egress_ips=(self.egress.egress_address,) if self.egress else None,
            )
            for sandbox in self.sandboxes:
                sandbox.start()
            self._bind_websocket_management()
            self.runtimes = {
                f.name: FunctionRuntime(f, self.function_environment(f), self.config.max_concurrency)
                for f in self.service.functions
            }
            self._start_pollers()
            self.scheduler = Scheduler(
                list(self.service.schedules), self.runtimes, rule_prefix=self.service.name,
                clock_speed=self.config.clock_speed, log=self._log,
            )
            if self.config.fire_schedules:
                self.scheduler.start()
            self._start_websocket_apis()
            # Seeded before the gateway listens: answering /health means ready to use, and a script
            # that waits for it must never read the previous run's passwords.
            if self.config.seed_accounts:
                self.accounts = self._seed_accounts()
            self.gateway = Gateway(self.service, self.runtimes, self._control, access_log=self._access_log)
            self.server = GatewayServer(self.gateway, self.config.api_port)
            self.server.start()
        except BaseException as failure:
            try:
                self.stop()
            except Exception as error:  # noqa: BLE001 - the start failure is the one to report
                self._log({"stop_after_failed_start": repr(error), "start": repr(failure)})
            raise
        return self

    def stop(self) -> None:
        """Stops in an order that never pulls a resource from under work in progress: first every
        source of work (the gateway's listener, the event source pollers, the scheduler and its
        fires), so no invocation starts; then a bounded wait for those in flight; then the
        runtimes, the sandboxes and the NAT gateway twin the functions call, and moto. Idempotent,
        and safe after a start() that failed halfway. Each step runs even if an earlier one failed; the first failure is
        raised at the end, once everything is down."""
        errors: list[BaseException] = []
        # The WebSocket servers are sources too: closing their sockets sends the last
        # DISCONNECT events, which the drain below lets finish.
        sources: list[Stoppable] = [s for s in (self.server, *self.pollers, *self.stream_pollers, self.scheduler,
                                                *self.websocket_apis.values()) if s is not None]
        self.server, self.pollers, self.stream_pollers, self.scheduler = None, [], [], None
        self.websocket_apis = {}
        errors += _stop_together(sources, self._log)
        runtimes = [*self.runtimes.values(), *([self._accounts_runtime] if self._accounts_runtime else [])]
        self.runtimes, self._accounts_runtime = {}, None
        deadline = time.monotonic() + self.config.drain_seconds
        for runtime in runtimes:
            runtime.wait_idle(max(0.0, deadline - time.monotonic()))
        errors += _stop_together(runtimes, self._log)
        sandboxes, self.sandboxes = self.sandboxes, []
        egress, self.egress = [self.egress] if self.egress else [], None
        # The management endpoint outlives the runtimes: a last handler may still post through it.
        management = [self.websocket_management] if self.websocket_management else []
        self.websocket_management = None
        flags, self.flags = [self.flags] if self.flags else [], None
        faults, self.aws_faults = [self.aws_faults] if self.aws_faults else [], None
        errors += _stop_together([*sandboxes, *egress, *management, *flags, *faults], self._log)
        try:
            self.moto.stop()
        except Exception as error:  # noqa: BLE001 - reported below, after the rest
            errors.append(error)
        if errors:
            raise errors[0]

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- what it offers -------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self.server is not None, "the local stack is not running"
        return self.server.url

    @property
    def aws_endpoint(self) -> str:
        return self.moto.endpoint

    @property
    def functions_aws_endpoint(self) -> str:
        """Where the functions' AWS SDK calls go: the fault proxy, or moto itself when it is off.
        The stack's own clients (pollers, scheduler, provisioning) and `client()` call moto directly,
        so an injected fault hits the functions' calls only."""
        return self.aws_faults.endpoint if self.aws_faults is not None else self.moto.endpoint

    def client(self, service: str):
        return self.moto.client(service)

    def wait_for_streams(self, timeout: float = 30) -> None:
        """Returns once every stream poller has delivered all it had been committed by now (for
        tests and scripts that must see an event's effects, or their absence, without sleeping)."""
        since = time.monotonic()
        deadline = since + timeout
        while not all(p.caught_up_since(since) for p in self.stream_pollers):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the stream pollers did not catch up within {timeout} s")
            time.sleep(0.05)

    def websocket_url(self, name: str) -> str:
        """`ws://127.0.0.1:<port>/<stage>`: where clients connect to the described WebSocket API
        (`wss://<api id>.execute-api.<region>.amazonaws.com/<stage>` in the cloud)."""
        return self.websocket_apis[name].url

    def websocket_endpoint(self, name: str) -> str:
        """The API's management endpoint (what BAZAAR_WEBSOCKET_<NAME>_ENDPOINT holds)."""
        assert self.websocket_management is not None, "the description declares no WebSocket API"
        return self.websocket_management.endpoint(name)

    def sandbox(self, name: str) -> Sandbox:
        return next(s for s in self.sandboxes if s.name == name)

    def function_environment(self, function) -> dict[str, str]:
        assert self.names is not None
        return {
            # What Lambda sets for every function.
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "LAMBDA_TASK_ROOT": str(ROOT),  # the SDKs read it to know they run in Lambda
            "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
            "TZ": "UTC",
            "LANG": "en_US.UTF-8",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            # Every AWS SDK call goes to moto (through the fault proxy); no code knows it is local.
            "AWS_ENDPOINT_URL": self.functions_aws_endpoint,
            # No X-Ray daemon here: traces are a cloud-twin feature.
            "POWERTOOLS_TRACE_DISABLED": "true",
            "BAZAAR_STAGE": "local",
            # Only this twin can arm a crash point; the cloud twin never sets it.
            "BAZAAR_CRASH_POINTS_DIR": str(self.crash_points.directory),
            **self._with_sandboxes(self.service.function_environment(function, self.names)),
            **self._egress_environment(function),
            **self._messaging_endpoints(function),
            **self._flags_environment(function),
        }

    def _start_flags(self) -> None:
        assert self.names is not None
        located = provision_flags(self.service, self.moto.client("appconfig"), self.config.stage)
        if located is not None:
            self.names.flags = located.identifiers()
            self.flags = AppConfigDataTwin(located, self.moto.client("appconfig")).start()

    def _flags_environment(self, function) -> dict[str, str]:
        """Only a function that declares reads_flags reaches the AppConfig Data twin, as IAM allows
        only those in the cloud."""
        if not function.reads_flags or self.flags is None:
            return {"AWS_ENDPOINT_URL_APPCONFIGDATA": NOWHERE}
        environment = {"AWS_ENDPOINT_URL_APPCONFIGDATA": self.flags.endpoint}
        if self.config.flags_max_age_seconds is not None:
            environment["BAZAAR_FLAGS_MAX_AGE_SECONDS"] = str(self.config.flags_max_age_seconds)
        return environment

    def _messaging_endpoints(self, function) -> dict[str, str]:
        """Only a function that declares sends_email (sends_sms) reaches moto's SES (SNS); any
        other's call is refused, as IAM refuses it in the cloud (nothing listens on NOWHERE)."""
        return {
            "AWS_ENDPOINT_URL_SESV2": self.functions_aws_endpoint if function.sends_email else NOWHERE,
            "AWS_ENDPOINT_URL_SES": self.functions_aws_endpoint if function.sends_email else NOWHERE,
            "AWS_ENDPOINT_URL_SNS": self.functions_aws_endpoint if function.sends_sms else NOWHERE,
        }

    # -- WebSocket APIs -------------------------------------------------------------------

    def _bind_websocket_management(self) -> None:
        """Binds the management endpoint before any runtime exists: the functions' environment
        names its address."""
        if not self.service.websocket_apis:
            return
        assert self.names is not None  # provisioned first
        self.websocket_management = ManagementEndpoint(self.config.websocket_management_port)
        for api in self.service.websocket_apis:
            self.names.websocket_endpoints[api.name] = self.websocket_management.endpoint(api.name)
        self.websocket_management.start()

    def _start_websocket_apis(self) -> None:
        base = self.config.websocket_port
        for index, api in enumerate(self.service.websocket_apis):
            assert self.websocket_management is not None
            local = LocalWebSocketApi(api, self.runtimes, port=base + index if base else 0,
                                      clock_speed=self.config.clock_speed, log=self._log)
            self.websocket_apis[api.name] = local
            self.websocket_management.apis[api.name] = local
            local.start()

    # -- fixed egress ---------------------------------------------------------------------

    def _start_egress(self) -> None:
        if self.service.network is not None:
            self.egress = EgressProxy(self.service.network.name, log=self._access_log).start()

    def _egress_environment(self, function) -> dict[str, str]:
        """A fixed-egress function's HTTP(S) calls leave through the NAT gateway twin, as they
        leave through the NAT gateway in the cloud; its AWS SDK calls go to moto directly
        (botocore honours the host:port NO_PROXY entry)."""
        if not function.fixed_egress or self.egress is None:
            return {}
        return self.egress.environment(direct=[self.functions_aws_endpoint.removeprefix("http://")])

    def _with_sandboxes(self, environment: dict[str, str]) -> dict[str, str]:
        """A setting a running sandbox provides (PHONEPE_BASE_URL, ...) takes the sandbox's value,
        for the functions that declare that setting; nothing else changes."""
        for sandbox in self.sandboxes:
            environment.update({k: v for k, v in sandbox.settings.items() if k in environment})
        return environment

    def openapi_document(self) -> dict:
        """The OpenAPI document as this stack's running functions generate it (the ops API
        serves the one generated at build time; a test holds the two equal)."""
        runtimes = self.runtimes
        if not runtimes:
            raise RuntimeStopped("the local stack is not running")
        return openapi.build(
            self.service, {f.name: runtimes[f.name].openapi() for f in self.service.functions if f.routes}
        )

    # -- control API under /_local/ -------------------------------------------------------

    def _control(self, method: str, target: str, body: bytes) -> HttpResult | None:
        try:
            return self._control_request(method, target, body)
        except RuntimeStopped:
            return _stopping()

    def _control_request(self, method: str, target: str, body: bytes = b"") -> HttpResult | None:
        path = target.split("?", 1)[0].rstrip("/")
        crash_points = self.crash_points.control(method, path, body)
        if crash_points is not None:
            return _json(*crash_points)
        run = re.fullmatch(r"/_local/schedules/([a-z0-9-]+)/run", path)
        invoke = re.fullmatch(r"/_local/functions/([a-z0-9-]+)/invoke", path)
        if method == "POST" and invoke:
            return self._invoke_task_function(invoke.group(1), body)
        if method == "GET" and path == "/_local/executions":
            return self._executions(parse_qs(urlsplit(target).query))
        scheduler = self.scheduler  # None once stop() began: a request still in flight is told so
        if method == "GET" and path == "/_local/topology":
            return _json(200, _inventory_json(local_inventory(self)))
        if method == "GET" and path == "/_local/schedules":
            if scheduler is None:
                return _stopping()
            return _json(200, {"clock_speed": self.config.clock_speed, "schedules": scheduler.describe()})
        if method == "POST" and run:
            if scheduler is None:
                return _stopping()
            if run.group(1) not in scheduler.states:
                return _json(404, {"error": {"code": "NOT_FOUND", "message": "No such schedule."}})
            return _json(200, scheduler.run_now(run.group(1)))
        return None

    def _invoke_task_function(self, name: str, body: bytes) -> HttpResult:
        """A state machine's Lambda task, forwarded by moto: runs the function's real handler and
        answers as Lambda's Invoke API does (its payload, or x-amz-function-error: Unhandled with
        errorType and errorMessage). Only task functions are invoked this way: the others have
        their own event sources, and none is handed an arbitrary event from here."""
        runtime = self.runtimes.get(name)
        if runtime is None or name not in self.service.task_functions:
            return _json(404, {"errorType": "ResourceNotFoundException",
                               "errorMessage": f"{name} is not a task function of any state machine"})
        try:
            event = json.loads(body or b"{}")
        except ValueError:
            return _json(400, {"errorType": "InvalidRequestContentException", "errorMessage": "payload is not JSON"})
        invocation = runtime.invoke(event)
        if invocation.failed:
            error = invocation.error or {}
            # The interpreter reads errorType as the task's Error (what Retry and Catch match).
            answer = {"errorType": error.get("errorType", "Error"), "errorMessage": error.get("errorMessage", "")}
            result = _json(200, answer)
            result.headers.append(("x-amz-function-error", "Unhandled"))
            return result
        return _json(200, invocation.payload)

    def _executions(self, query: dict[str, list[str]]) -> HttpResult:
        """The executions of the described state machines (or of `state_machine=`), optionally only
        those with `status=` (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED), with their histories."""
        names = self.names
        if names is None:
            return _stopping()
        wanted = query.get("state_machine", [None])[0]
        machines = {m.name: names.state_machine_arn(m.name) for m in self.service.state_machines
                    if wanted in (None, m.name)}
        if wanted is not None and not machines:
            return _json(404, {"error": {"code": "NOT_FOUND", "message": "No such state machine."}})
        status = query.get("status", [None])[0]
        executions = describe_executions(self.client("stepfunctions"), machines, status.upper() if status else None)
        return _json(200, {"clock_speed": self.config.clock_speed, "executions": executions})

    # -- internals ------------------------------------------------------------------------

    def _start_pollers(self) -> None:
        assert self.names is not None  # provisioned first
        sqs = self.moto.client("sqs")
        for function, trigger in self.service.queue_triggers:
            url = self.names.queue_url(trigger.queue)
            arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{self.names.queue_name(trigger.queue)}"
            poller = QueuePoller(sqs, url, arn, function, trigger, self.runtimes[function.name],
                                 log=self._log, wait_seconds=self.config.poll_wait_seconds)
            poller.start()
            self.pollers.append(poller)
        dynamodb, streams = self.moto.client("dynamodb"), self.moto.client("dynamodbstreams")
        for function, stream_trigger in self.service.stream_triggers:
            assert stream_trigger.on_failure_queue is not None  # the description requires one
            stream_poller = StreamPoller(
                dynamodb, streams, sqs, self.names.table_name(stream_trigger.table), function, stream_trigger,
                self.runtimes[function.name], self.names.queue_url(stream_trigger.on_failure_queue), log=self._log,
            )
            stream_poller.start()
            self.stream_pollers.append(stream_poller)

    def _seed_accounts(self) -> dict[str, dict[str, str]]:
        """One account per role with a password made for this run, created as sign-up creates
        accounts (Cognito user + Bazaar user), printed, and written where scripts and tests can
        read it (git-ignored). The admin enrols an authenticator app as admins must: its
        `totp_secret` (base32) makes the codes its sign-in asks for."""
        accounts = {
            role.value: {"email": f"{role.value}@bazaar.local", "password": _strong_password()} for role in Role
        }
        created = self._accounts_call({
            "action": "create",
            "accounts": [
                {"role": role, "name": f"Local {role}", **account} for role, account in accounts.items()
            ],
        })
        for role, account in accounts.items():
            if created[role]["totp_secret"]:
                account["totp_secret"] = created[role]["totp_secret"]
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.config.state_dir / "local-accounts.json"
        path.write_text(json.dumps(accounts, indent=2))
        path.chmod(0o600)
        return accounts

    def create_account(self, role: str, email: str, password: str, name: str = "Local user") -> str:
        """A user of any role (admins included), made as the seeding makes them; returns its id.
        An admin's authenticator secret is kept in `totp_secrets` under the email."""
        created = self._accounts_call({
            "action": "create",
            "accounts": [{"role": role, "email": email, "password": password, "name": name}],
        })[role]
        if created["totp_secret"]:
            self.totp_secrets[email] = created["totp_secret"]
        return created["user_id"]

    def sign_in(self, role: str) -> dict[str, str]:
        """Tokens for a seeded account, through the login use case (for stacks without the
        login route, such as the contract fixture). Clients use POST /v1/auth/login."""
        account = self.accounts[role]
        return self._accounts_call({"action": "sign_in", **account})

    def _accounts_call(self, event: dict):
        if not self.runtimes:
            raise RuntimeStopped("the local stack is not running")
        if self._accounts_runtime is None:
            self._accounts_runtime = FunctionRuntime(
                local_accounts.FUNCTION, self.function_environment(local_accounts.FUNCTION), 1
            )
        result = self._accounts_runtime.invoke(event)
        if result.failed:
            raise RuntimeError(f"local accounts: {(result.error or {}).get('errorMessage')}")
        return result.payload

    def _read_secret(self, name: str) -> dict:
        manager = self.moto.client("secretsmanager")
        assert self.names is not None  # provisioned first
        return json.loads(manager.get_secret_value(SecretId=self.names.secret_id(name))["SecretString"])

    def _log(self, entry: dict) -> None:
        print(json.dumps({"local_stack": entry}), file=sys.stderr, flush=True)

    def _access_log(self, entry: dict) -> None:
        if self.config.log_requests:
            print(json.dumps({"access": entry}), file=sys.stderr, flush=True)


def _strong_password() -> str:
    alphabet = string.ascii_letters + string.digits
    core = "".join(random_secrets.choice(alphabet) for _ in range(16))
    return f"{core}aZ7!"


def _stopping() -> HttpResult:
    return _json(503, {"error": {"code": "STOPPING", "message": "The local stack is stopping."}})


def _json(status: int, body) -> HttpResult:
    return HttpResult(status, [("Content-Type", "application/json")], json.dumps(body, default=str).encode())


def _inventory_json(inventory) -> dict:
    return {f.name: sorted(list(x) if isinstance(x, tuple) else x for x in getattr(inventory, f.name))
            for f in fields(inventory)}
