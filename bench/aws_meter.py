"""The cost benchmark's meter, attached to the local twin's AWS fault proxy (infra/local/aws_faults.py)
as its observer: every request the functions make to moto passes the proxy, which counts it by
service and operation; the meter adds what the bill needs beyond the count: SQS requests in 64 KB
chunks, and each DynamoDB request in request units worked out from the items it wrote or read
(moto does not report consumed capacity the way DynamoDB does: bench/cost_model.py).

For a write the meter reads the item before (and, for an update, after) straight from moto; those
reads are the meter's own and are not counted. The functions' code is unchanged."""

from __future__ import annotations

import json
import threading
from collections import Counter

from bench import cost_model
from bench.cost_model import Index, Table
from infra.local.aws_faults import AwsCall, AwsFaultProxy

_WRITES = ("PutItem", "UpdateItem", "DeleteItem")


class AwsMeter:
    def __init__(self, proxy: AwsFaultProxy, moto_dynamodb):
        self.proxy = proxy
        self.dynamodb = moto_dynamodb  # the meter's own client, straight to moto: its reads are not counted
        self.sqs_requests = 0
        self.read_units = 0.0
        self.write_units = 0.0
        self.write_units_by_table: Counter[str] = Counter()
        self._tables: dict[str, Table] = {}
        self._lock = threading.Lock()
        proxy.observer = self

    def reset(self) -> None:
        self.proxy.book.reset()
        with self._lock:
            self.sqs_requests, self.read_units, self.write_units = 0, 0.0, 0.0
            self.write_units_by_table.clear()

    @property
    def requests(self) -> Counter[tuple[str, str]]:
        """The calls the proxy passed on since the last reset, by (service, operation)."""
        return Counter({(service, operation): n for service, operations in self.proxy.book.describe()["calls"].items()
                        for operation, n in operations.items()})

    def count(self, service: str) -> int:
        return sum(n for (s, _), n in self.requests.items() if s == service)

    # -- the proxy's observer -----------------------------------------------------------------

    def before(self, call: AwsCall, body: bytes) -> tuple[dict, list[dict | None]] | None:
        request = _json(body) if call.service == "dynamodb" else None
        return None if request is None else (request, self._images_before(call.operation, request))

    def after(self, call: AwsCall, body: bytes, status: int, answer: bytes,
              before: tuple[dict, list[dict | None]] | None) -> None:
        if call.service == "sqs":
            with self._lock:
                self.sqs_requests += cost_model.sqs_requests(len(body))
        if before is None:
            return
        request, images = before
        reads, writes = self._units(call.operation, request, _json(answer) or {}, status < 300, images)
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


def _json(body: bytes) -> dict | None:
    try:
        value = json.loads(body or b"null")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
