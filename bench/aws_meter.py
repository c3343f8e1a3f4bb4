"""A metering proxy in front of the local twin's AWS endpoint (moto): every request the functions
make passes through it and is counted by service and operation, and each DynamoDB request is
priced in request units from the items it wrote or read (moto does not report consumed capacity
the way DynamoDB does, so the units are worked out here from item sizes: bench/cost_model.py).

For a write the proxy reads the item before (and, for an update, after) straight from moto; those
reads are the meter's own and are not counted. The functions' code is unchanged: only their
AWS_ENDPOINT_URL points here."""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench import cost_model
from bench.cost_model import Index, Table

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")
_WRITES = ("PutItem", "UpdateItem", "DeleteItem")


class AwsMeter:
    """start() binds 127.0.0.1 on a free port; `endpoint` is what functions get as AWS_ENDPOINT_URL."""

    def __init__(self, moto_endpoint: str, moto_dynamodb):
        self.target = urlsplit(moto_endpoint)
        self.dynamodb = moto_dynamodb  # the meter's own client: its reads are not counted
        self.requests: Counter[tuple[str, str]] = Counter()
        self.payload_bytes: Counter[str] = Counter()
        self.sqs_requests = 0
        self.read_units = 0.0
        self.write_units = 0.0
        self.write_units_by_table: Counter[str] = Counter()
        self._tables: dict[str, Table] = {}
        self._lock = threading.Lock()
        meter = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                meter._forward(self, body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="aws-meter", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> AwsMeter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.payload_bytes.clear()
            self.sqs_requests, self.read_units, self.write_units = 0, 0.0, 0.0
            self.write_units_by_table.clear()

    def count(self, service: str) -> int:
        return sum(n for (s, _), n in self.requests.items() if s == service)

    # -- proxying ---------------------------------------------------------------------------

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        service = _service(handler.headers.get("Authorization", ""))
        operation = _operation(handler.headers, handler.path, body)
        request = _json(body) if service == "dynamodb" else None
        before = self._images_before(operation, request) if request is not None else None
        connection = http.client.HTTPConnection(self.target.hostname or "127.0.0.1", self.target.port, timeout=120)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "connection")}
        connection.request(handler.command, handler.path, body=body, headers=headers)
        answer = connection.getresponse()
        answered = answer.read()
        handler.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(answered)))
        handler.end_headers()
        handler.wfile.write(answered)
        connection.close()
        with self._lock:
            self.requests[(service, operation)] += 1
            self.payload_bytes[service] += len(body)
            if service == "sqs":
                self.sqs_requests += cost_model.sqs_requests(len(body))
        if request is not None:
            reads, writes = self._units(operation, request, _json(answered) or {}, answer.status < 300, before)
            with self._lock:
                self.read_units += reads
                self.write_units += writes

    # -- DynamoDB request units -------------------------------------------------------------

    def _table(self, name: str) -> Table:
        if name not in self._tables:
            described = self.dynamodb.describe_table(TableName=name)["Table"]
            indexes = tuple(
                Index(tuple(k["AttributeName"] for k in i["KeySchema"]),
                      None if i["Projection"]["ProjectionType"] == "ALL"
                      else tuple(i["Projection"].get("NonKeyAttributes", ())))
                for i in described.get("GlobalSecondaryIndexes", []))
            self._tables[name] = Table(tuple(k["AttributeName"] for k in described["KeySchema"]), indexes)
        return self._tables[name]

    def _key(self, table: str, element: dict) -> dict:
        if "Key" in element:
            return element["Key"]
        return {k: element["Item"][k] for k in self._table(table).keys}

    def _get(self, table: str, key: dict) -> dict | None:
        return self.dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    def _written(self, operation: str, request: dict) -> list[tuple[str, str, dict]]:
        """(table, kind, element) of every item the request writes or checks."""
        if operation in _WRITES:
            return [(request["TableName"], operation, request)]
        if operation == "TransactWriteItems":
            return [(e[kind]["TableName"], kind, e[kind]) for e in request["TransactItems"] for kind in e]
        if operation == "BatchWriteItem":
            return [(table, kind, e[kind]) for table, elements in request["RequestItems"].items()
                    for e in elements for kind in e]
        return []

    def _images_before(self, operation: str, request: dict | None) -> list[dict | None]:
        if not request:
            return []
        return [self._get(table, self._key(table, element)) for table, _, element in self._written(operation, request)]

    def _units(self, operation: str, request: dict, answer: dict, ok: bool,
               before: list[dict | None] | None) -> tuple[float, float]:
        if operation == "GetItem":
            return cost_model.read_units(cost_model.item_size(answer.get("Item")),
                                         bool(request.get("ConsistentRead"))), 0
        if operation in ("Query", "Scan"):
            return cost_model.query_read_units(answer.get("Items", []), bool(request.get("ConsistentRead"))), 0
        if operation == "BatchGetItem":
            reads = 0.0
            for table, items in answer.get("Responses", {}).items():
                consistent = bool(request["RequestItems"][table].get("ConsistentRead"))
                reads += sum(cost_model.read_units(cost_model.item_size(i), consistent) for i in items)
            return reads, 0
        if operation == "TransactGetItems":
            return sum(cost_model.read_units(cost_model.item_size(r.get("Item")), True, transactional=True)
                       for r in answer.get("Responses", [])) or 2.0 * len(request["TransactItems"]), 0
        writes = 0.0
        transactional = operation == "TransactWriteItems"
        for (table, kind, element), old in zip(self._written(operation, request), before or [], strict=False):
            if kind == "ConditionCheck":
                units = cost_model.write_units(cost_model.item_size(old), transactional=True)
            else:
                new = None
                if ok and kind in ("Put", "PutItem", "PutRequest"):
                    new = element["Item"]
                elif ok and kind in ("Update", "UpdateItem"):
                    new = self._get(table, element["Key"])
                units = cost_model.table_write_units(self._table(table), old, new, transactional=transactional,
                                                     succeeded=ok)
            writes += units
            with self._lock:
                self.write_units_by_table[table] += units
        return 0, writes


def _service(authorization: str) -> str:
    found = _SCOPE.search(authorization)
    return found.group(1) if found else "unknown"


def _operation(headers, path: str, body: bytes) -> str:
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    action = parse_qs(body.decode(errors="replace")).get("Action") or parse_qs(urlsplit(path).query).get("Action")
    if action:
        return action[0]
    return f"{headers.get('X-HTTP-Method', '')}{urlsplit(path).path}"


def _json(body: bytes) -> dict | None:
    try:
        value = json.loads(body or b"null")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
