"""The realtime tables through the low-level client (docs/realtime.md).

`connections`: one item per WebSocket connection, `CONN#<connection id>`, with the user, the
audiences it joined and when. The `by-user` index finds a user's connections; `audience` is set
only on an admin's connection, so the sparse `by-audience` index holds exactly the admins'. The
item expires (DynamoDB TTL on `expires_at`) when API Gateway would have closed it anyway; TTL is
cleanup only, a post answered 410 removes a stale record at once.

`realtime-journal`: each audience's frames, `AUD#<audience>` / `<occurred at>#<event id>`, so an
audience's journal reads in the order things happened (ties by event id). The conditional put
on that key is what makes an event journaled once per audience; the `by-event` index finds
where an event id sits for a replay. Entries expire after the journal's retention."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from botocore.exceptions import ClientError

from bazaar.platform.dynamo import error_code, from_item, query_items, stored_time, to_item, to_value
from bazaar.realtime.domain import ADMINS, Connection, JournalEntry



def _connection(values: dict) -> Connection:
    return Connection(values["connection_id"], values["user_id"], tuple(values["audiences"]),
                      datetime.fromisoformat(values["connected_at"]))


class DynamoDbConnections:
    def __init__(self, client, table_name: str):
        self._client = client
        self._table = table_name

    def add(self, connection: Connection, expires_at: datetime) -> None:
        self._client.put_item(TableName=self._table, Item=to_item({
            "pk": f"CONN#{connection.connection_id}",
            "connection_id": connection.connection_id,
            "user_id": connection.user_id,
            "audiences": list(connection.audiences),
            "audience": ADMINS if connection.is_admin else None,  # sparse: to_item drops None
            "connected_at": stored_time(connection.connected_at),
            "expires_at": int(expires_at.timestamp()),
        }))

    def get(self, connection_id: str) -> Connection | None:
        item = self._client.get_item(TableName=self._table, Key={"pk": to_value(f"CONN#{connection_id}")},
                                     ConsistentRead=True).get("Item")
        return _connection(from_item(item)) if item else None

    def remove(self, connection_id: str) -> None:
        self._client.delete_item(TableName=self._table, Key={"pk": to_value(f"CONN#{connection_id}")})

    def of_audience(self, audience: str) -> list[Connection]:
        if audience == ADMINS:
            query = {"IndexName": "by-audience", "KeyConditionExpression": "audience = :a",
                     "ExpressionAttributeValues": {":a": to_value(ADMINS)}}
        else:
            query = {"IndexName": "by-user", "KeyConditionExpression": "user_id = :u",
                     "ExpressionAttributeValues": {":u": to_value(audience.removeprefix("user:"))}}
        return [_connection(v) for v in query_items(self._client, TableName=self._table, **query)]


class DynamoDbJournal:
    def __init__(self, client, table_name: str):
        self._client = client
        self._table = table_name

    @staticmethod
    def _key(audience: str, occurred_at: datetime, event_id: str) -> dict[str, dict]:
        return {"pk": to_value(f"AUD#{audience}"), "sk": to_value(f"{stored_time(occurred_at)}#{event_id}")}

    def record(self, entry: JournalEntry, expires_at: datetime) -> tuple[JournalEntry, bool]:
        key = self._key(entry.audience, entry.occurred_at, entry.event_id)
        item = {**key, **to_item({
            "audience": entry.audience, "event_id": entry.event_id, "occurred_at": stored_time(entry.occurred_at),
            "frame": entry.frame, "complete": False, "expires_at": int(expires_at.timestamp()),
        })}
        try:
            # The same event always has the same occurred_at, so the same key: this condition is
            # the once-per-event-id write.
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            earlier = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True)["Item"]
            return _entry(from_item(earlier)), False
        return entry, True

    def mark(self, audience: str, entry: JournalEntry, delivered_to: set[str], complete: bool) -> None:
        sets, values = [], {}
        if complete:
            sets.append("SET complete = :done")
            values[":done"] = to_value(True)
        if delivered_to:
            sets.append("ADD delivered_to :reached")
            values[":reached"] = {"SS": sorted(delivered_to)}
        if not sets:
            return
        self._client.update_item(TableName=self._table, Key=self._key(audience, entry.occurred_at, entry.event_id),
                                 UpdateExpression=" ".join(sets), ExpressionAttributeValues=values)

    def position_of(self, audiences: Sequence[str], event_id: str) -> tuple[datetime, str] | None:
        found = query_items(self._client, TableName=self._table, IndexName="by-event",
                            KeyConditionExpression="event_id = :e", ExpressionAttributeValues={":e": to_value(event_id)})
        mine = [v for v in found if v["audience"] in audiences]
        return (datetime.fromisoformat(mine[0]["occurred_at"]), event_id) if mine else None

    def after(self, audience: str, position: tuple[datetime, str], limit: int) -> list[JournalEntry]:
        at, event_id = position
        request = {"TableName": self._table, "KeyConditionExpression": "pk = :pk AND sk > :after",
                   "ExpressionAttributeValues": {":pk": to_value(f"AUD#{audience}"),
                                                 ":after": to_value(f"{stored_time(at)}#{event_id}")},
                   "ScanIndexForward": True}
        entries: list[JournalEntry] = []
        while len(entries) < limit:
            response = self._client.query(**request, Limit=limit - len(entries))
            entries += [_entry(from_item(i)) for i in response.get("Items", [])]
            if not response.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return entries


def _entry(values: dict) -> JournalEntry:
    return JournalEntry(values["audience"], values["event_id"], datetime.fromisoformat(values["occurred_at"]),
                        values["frame"], frozenset(values.get("delivered_to") or ()), bool(values.get("complete")))
