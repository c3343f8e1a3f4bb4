"""The local twin's AWS endpoint as the functions see it: a loopback proxy in front of moto that
passes every call through unchanged, unless a test (or a developer) has told it to fail some.

AWS services fail in ways moto never does: DynamoDB throttles a hot key or answers 500, SQS and
Secrets Manager are briefly unreachable. The proxy answers such calls the way the service would,
on the wire, so the functions' own SDK (its retries, its error parsing) and Bazaar's handling of
what is left are what a test exercises; no code of ours is replaced.

Control API (JSON, on the proxy's own port, beside the AWS traffic; no AWS API path starts with
`/_faults`):
  GET  /_faults           the faults in force (with how many calls each has failed) and the calls
                          seen per service and operation since the last reset
  POST /_faults           {service, operation?, resource?, kind, count?, probability?, seconds?}:
                          fail matching calls; answers the fault with its id
  POST /_faults/reset     forget every fault and the counts
  DELETE /_faults/{id}    end one fault

- service: the signing name of the call (dynamodb, sqs, secretsmanager, ses, sns, cognito-idp,
  states, appconfig, ...), read from the request's SigV4 credential scope.
- operation: the API operation (TransactWriteItems, SendMessage, GetSecretValue), read from
  X-Amz-Target (JSON protocols) or the Action parameter (query protocol).
- resource: a table, queue or secret the call touches, by its described name ("orders") or its
  physical one; a DynamoDB transaction or batch touching it matches.
- kind: "throttling" (400 ThrottlingException), "provisioned-throughput" (400
  ProvisionedThroughputExceededException), "5xx" (500, the service's internal error),
  "unavailable" (503 ServiceUnavailable) or "reset" (the connection closed with a reset, no answer).
- count: fail the next N matching calls; probability: fail each matching call with that chance;
  neither: fail every matching call. seconds: the fault ends that long after it was added.
The SDK's own retries are calls too: `count: 2` with a client making 3 attempts is absorbed.
"""

from __future__ import annotations

import http.client
import itertools
import json
import random
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from infra.local.loopback import BannerlessHandler, LoopbackServer

CONTROL_PREFIX = "/_faults"
KINDS = ("throttling", "provisioned-throughput", "5xx", "unavailable", "reset")
# Each service's name for its own internal error (what its SDK parses as the error code).
_INTERNAL_ERROR_CODES = {"dynamodb": "InternalServerError", "secretsmanager": "InternalServiceError"}
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


class FaultSpecError(ValueError):
    """A POST /_faults body the proxy cannot act on; the message says why."""


@dataclass
class AwsFault:
    id: str
    service: str
    kind: str
    operation: str | None = None
    resource: str | None = None
    remaining: int | None = None  # None: no count
    probability: float | None = None
    until: float | None = None  # time.monotonic() after which the fault is over
    failed: int = 0

    @classmethod
    def from_spec(cls, fault_id: str, spec: Any) -> AwsFault:
        if not isinstance(spec, dict):
            raise FaultSpecError("the body must be a JSON object")
        service, kind = spec.get("service"), spec.get("kind")
        if not isinstance(service, str) or not service:
            raise FaultSpecError("service is required (dynamodb, sqs, secretsmanager, ...)")
        if kind not in KINDS:
            raise FaultSpecError(f"kind must be one of {', '.join(KINDS)}")
        unknown = set(spec) - {"service", "kind", "operation", "resource", "count", "probability", "seconds"}
        if unknown:
            raise FaultSpecError(f"unknown fields: {', '.join(sorted(unknown))}")
        count, probability, seconds = spec.get("count"), spec.get("probability"), spec.get("seconds")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise FaultSpecError("count must be a positive integer")
        if probability is not None and not (isinstance(probability, int | float) and 0 < probability <= 1):
            raise FaultSpecError("probability must be a number in (0, 1]")
        if seconds is not None and not (isinstance(seconds, int | float) and seconds > 0):
            raise FaultSpecError("seconds must be a positive number")
        return cls(id=fault_id, service=service, kind=kind, operation=spec.get("operation"),
                   resource=spec.get("resource"), remaining=count, probability=probability,
                   until=time.monotonic() + seconds if seconds is not None else None)

    @property
    def over(self) -> bool:
        return self.remaining == 0 or (self.until is not None and time.monotonic() >= self.until)

    def matches(self, call: AwsCall) -> bool:
        return (self.service == call.service
                and (self.operation is None or self.operation == call.operation)
                and (self.resource is None or any(_names(name, self.resource) for name in call.resources)))

    def describe(self) -> dict:
        left = None if self.until is None else max(0.0, round(self.until - time.monotonic(), 3))
        return {"id": self.id, "service": self.service, "kind": self.kind, "operation": self.operation,
                "resource": self.resource, "remaining": self.remaining, "probability": self.probability,
                "seconds_left": left, "failed": self.failed}


def _names(physical: str, wanted: str) -> bool:
    """A described name names `<service>-<name>` (tables, queues) and `<service>/<name>` (secrets)."""
    return physical == wanted or physical.endswith((f"-{wanted}", f"/{wanted}"))


@dataclass(frozen=True)
class AwsCall:
    """What the proxy reads from a request to decide whether it fails."""

    service: str
    operation: str
    json_protocol: bool
    resources: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, method: str, path: str, headers: dict[str, str], body: bytes) -> AwsCall:
        scope = _SCOPE.search(headers.get("authorization", ""))
        target = headers.get("x-amz-target", "")
        service = scope.group(1) if scope else (target.split("_", 1)[0].split(".", 1)[0].lower() or "unknown")
        content_type = headers.get("content-type", "")
        json_protocol = "json" in content_type
        document: Any = {}
        if json_protocol:
            try:
                document = json.loads(body or b"{}")
            except ValueError:
                document = {}
        if target:
            operation = target.rsplit(".", 1)[-1]
        elif "x-www-form-urlencoded" in content_type:
            form = parse_qs(body.decode("utf-8", "replace"))
            operation = form.get("Action", [""])[0]
            document = {key: values[0] for key, values in form.items()}
        else:
            operation = f"{method} {urlsplit(path).path}"  # a REST protocol: its route is its operation
        return cls(service, operation, json_protocol, tuple(_resources(document)))


def _resources(document: Any) -> list[str]:
    """The tables, queues and secrets a request body names."""
    if not isinstance(document, dict):
        return []
    found: list[str] = []
    for key in ("TableName", "SecretId", "Name"):
        if isinstance(document.get(key), str):
            found.append(document[key])
    if isinstance(document.get("QueueUrl"), str):
        found.append(unquote(document["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]))
    if isinstance(document.get("RequestItems"), dict):  # BatchGetItem, BatchWriteItem
        found += list(document["RequestItems"])
    for item in document.get("TransactItems") or []:  # TransactWriteItems, TransactGetItems
        if isinstance(item, dict):
            found += [part["TableName"] for part in item.values()
                      if isinstance(part, dict) and isinstance(part.get("TableName"), str)]
    return found


def error_answer(fault: AwsFault, call: AwsCall) -> tuple[int, list[tuple[str, str]], bytes]:
    """The service's own answer for the fault, in the call's protocol (JSON error type or the
    query protocol's XML), so the SDK parses the code it would parse from AWS."""
    status, code, message = {
        "throttling": (400, "ThrottlingException", "Rate of requests exceeds the allowed throughput."),
        "provisioned-throughput": (400, "ProvisionedThroughputExceededException",
                                   "The level of configured provisioned throughput for the table was exceeded."),
        "5xx": (500, _INTERNAL_ERROR_CODES.get(call.service, "InternalFailure"), "Internal server error"),
        "unavailable": (503, "ServiceUnavailable", "Service unavailable; try again later."),
    }[fault.kind]
    request_id = f"fault-{fault.id}-{fault.failed}"
    headers = [("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", code)]
    if call.json_protocol or call.operation.startswith(("GET ", "POST ", "PUT ", "DELETE ", "PATCH ")):
        body = json.dumps({"__type": code, "message": message}).encode()
        return status, [("Content-Type", "application/x-amz-json-1.0"), *headers], body
    xml = (f"<ErrorResponse><Error><Type>{'Sender' if status < 500 else 'Receiver'}</Type><Code>{code}</Code>"
           f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    return status, [("Content-Type", "text/xml"), *headers], xml.encode()


class FaultBook:
    """The faults in force, oldest first, and the calls seen; thread-safe."""

    def __init__(self, chance: random.Random | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[AwsFault] = []
        self._ids = itertools.count(1)
        self._chance = chance or random.Random()
        self.calls: dict[str, dict[str, int]] = {}

    def add(self, spec: Any) -> AwsFault:
        with self._lock:
            fault = AwsFault.from_spec(str(next(self._ids)), spec)
            self._faults.append(fault)
            return fault

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            kept = [f for f in self._faults if f.id != fault_id]
            removed, self._faults = len(kept) != len(self._faults), kept
            return removed

    def reset(self) -> None:
        with self._lock:
            self._faults, self.calls = [], {}

    def take(self, call: AwsCall) -> AwsFault | None:
        """Counts the call, and returns the oldest fault in force it falls to (if any)."""
        with self._lock:
            per_service = self.calls.setdefault(call.service, {})
            per_service[call.operation] = per_service.get(call.operation, 0) + 1
            self._faults = [f for f in self._faults if not f.over]
            for fault in self._faults:
                if not fault.matches(call):
                    continue
                if fault.probability is not None and self._chance.random() >= fault.probability:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                fault.failed += 1
                return fault
        return None

    def describe(self) -> dict:
        with self._lock:
            self._faults = [f for f in self._faults if not f.over]
            return {"faults": [f.describe() for f in self._faults],
                    "calls": {service: dict(ops) for service, ops in self.calls.items()}}


class CallObserver(Protocol):
    """Sees every call the proxy passes on to moto (not the ones it fails): the cost benchmark's
    meter, which prices DynamoDB calls from the items they touch."""

    def before(self, call: AwsCall, body: bytes) -> Any:
        """Runs before the call reaches moto; what it returns is handed to `after`."""

    def after(self, call: AwsCall, body: bytes, status: int, answer: bytes, before: Any) -> None:
        """Runs once moto has answered and the answer is on its way to the caller."""


class AwsFaultProxy:
    """The proxy on 127.0.0.1:`port` (0: any free port) in front of moto at `upstream`."""

    def __init__(self, upstream: str, port: int = 0):
        parts = urlsplit(upstream)
        assert parts.hostname == "127.0.0.1" and parts.port, "moto is on the loopback"
        self.book = FaultBook()
        self.observer: CallObserver | None = None
        self._upstream = (parts.hostname, parts.port)
        self._connections = threading.local()
        self.server = LoopbackServer(_handler_class(self), port=port, name="aws-faults")

    @property
    def endpoint(self) -> str:
        return self.server.url

    def start(self) -> AwsFaultProxy:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def forward(self, method: str, path: str, headers: list[tuple[str, str]],
                body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """The call sent on to moto over this thread's kept-alive connection (one fresh try if
        moto closed it meanwhile)."""
        for attempt in (1, 2):
            connection = getattr(self._connections, "moto", None)
            if connection is None:
                connection = self._connections.moto = http.client.HTTPConnection(*self._upstream, timeout=970)
            try:
                connection.request(method, path, body=body,
                                   headers={k: v for k, v in headers if k.lower() not in _HOP_BY_HOP}
                                   | {"Content-Length": str(len(body))})
                answer = connection.getresponse()
                return answer.status, [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP], \
                    answer.read()
            except (http.client.HTTPException, ConnectionError):
                connection.close()
                self._connections.moto = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def control(self, method: str, path: str, body: bytes) -> tuple[int, dict]:
        one = re.fullmatch(rf"{CONTROL_PREFIX}/([0-9]+)", path)
        if method == "GET" and path == CONTROL_PREFIX:
            return 200, self.book.describe()
        if method == "POST" and path == CONTROL_PREFIX:
            try:
                return 201, self.book.add(json.loads(body or b"null")).describe()
            except (FaultSpecError, ValueError) as error:
                return 400, {"message": str(error)}
        if method == "POST" and path == f"{CONTROL_PREFIX}/reset":
            self.book.reset()
            return 200, {"faults": []}
        if method == "DELETE" and one:
            return (200, {"removed": one.group(1)}) if self.book.remove(one.group(1)) else \
                (404, {"message": "no such fault"})
        return 404, {"message": f"no such control: {method} {path}"}


def _handler_class(proxy: AwsFaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BannerlessHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            body = self._body()
            path = urlsplit(self.path).path
            if path == CONTROL_PREFIX or path.startswith(f"{CONTROL_PREFIX}/"):
                status, document = proxy.control(self.command, path, body)
                self._answer(status, [("Content-Type", "application/json")], json.dumps(document).encode())
                return
            headers = list(self.headers.items())
            call = AwsCall.of(self.command, self.path, {k.lower(): v for k, v in headers}, body)
            fault = proxy.book.take(call)
            if fault is not None and fault.kind == "reset":
                self._reset()
                return
            if fault is not None:
                self._answer(*error_answer(fault, call))
                return
            observer = proxy.observer
            seen = observer.before(call, body) if observer is not None else None
            try:
                status, answer_headers, answer = proxy.forward(self.command, self.path, headers, body)
            except OSError:
                self._reset()  # moto is gone (a stopping stack): the caller sees what it would see
                return
            self._answer(status, answer_headers, answer)
            if observer is not None:
                observer.after(call, body, status, answer, seen)

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            try:
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _reset(self) -> None:
            # SO_LINGER 0: close() sends a RST, as a dropped connection looks to the client.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per AWS call is noise

    return Handler
