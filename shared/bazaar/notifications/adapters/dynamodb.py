"""Each user's notification feed in the `notifications` table, through the low-level client.

Items: `USER#<user id>` / `NTF#<occurred at>#<notification id>`, newest last in key order, so
the feed reads newest first by querying backwards. `unread_for` (the user id) is set only while
the entry is unread: the sparse `by-unread` index then holds exactly the unread entries, so the
unread count reads those and never the whole feed; reading an entry removes it and sets
`read_at`. Entries expire after FEED_RETENTION (DynamoDB TTL on `expires_at`).

Each entry also holds `facts` (what its templates show) and `deliveries`: a map channel ->
{state, at, attempts, lease_until?, provider_message_id?, reason?}, written with the entry and
moved on by conditional updates on that channel's `state` (see docs/notifications.md).

A user's preferences are one item beside their feed: `USER#<user id>` / `PREFERENCES`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from bazaar.notifications.domain import (
    Channel, Delivery, DeliveryState, FeedEntry, Notification, NotificationKind, Preferences,
)
from bazaar.platform.dynamo import count, error_code, from_item, query_items, query_page, stored_time, to_item, to_value

FEED_RETENTION = timedelta(days=180)
# Reading an entry: its first read time stays; it leaves the sparse unread index.
_MARK_READ = "SET read_at = if_not_exists(read_at, :at) REMOVE unread_for"
_KEYS = ("pk", "sk")



def _delivery_values(delivery: Delivery) -> dict:
    values = {
        "state": delivery.state.value, "at": stored_time(delivery.at), "attempts": delivery.attempts,
        "lease_until": stored_time(delivery.lease_until) if delivery.lease_until else None,
        "provider_message_id": delivery.provider_message_id, "reason": delivery.reason,
    }
    return {k: v for k, v in values.items() if v is not None}


def _delivery(values: dict) -> Delivery:
    return Delivery(
        state=DeliveryState(values["state"]), at=datetime.fromisoformat(values["at"]),
        attempts=int(values.get("attempts", 0)),
        lease_until=datetime.fromisoformat(values["lease_until"]) if values.get("lease_until") else None,
        provider_message_id=values.get("provider_message_id"), reason=values.get("reason"),
    )


def _deliveries(values: dict) -> dict[Channel, Delivery]:
    return {Channel(c): _delivery(d) for c, d in (values.get("deliveries") or {}).items()}


def _entry(values: dict) -> FeedEntry:
    return FeedEntry(
        notification_id=values["notification_id"], kind=values["kind"], title=values["title"],
        body=values["body"], occurred_at=datetime.fromisoformat(values["occurred_at"]),
        read_at=datetime.fromisoformat(values["read_at"]) if values.get("read_at") else None,
        deliveries={c.value: d for c, d in _deliveries(values).items()},
    )


def _key(notification: Notification) -> dict:
    return {"pk": to_value(f"USER#{notification.user_id}"),
            "sk": to_value(f"NTF#{stored_time(notification.occurred_at)}#{notification.notification_id}")}


class DynamoDbFeeds:
    def __init__(self, client, table_name: str):
        self._client = client
        self._table = table_name

    def add_once(self, notification: Notification, deliveries: dict[Channel, Delivery]) -> dict[Channel, Delivery]:
        occurred = notification.occurred_at.astimezone(UTC)
        item = to_item({
            "pk": f"USER#{notification.user_id}",
            # The id in the sort key makes the conditional put the dedupe: same id, same key.
            "sk": f"NTF#{stored_time(occurred)}#{notification.notification_id}",
            "notification_id": notification.notification_id,
            "user_id": notification.user_id,
            "kind": notification.kind.value,
            "title": notification.title,
            "body": notification.body,
            "occurred_at": stored_time(occurred),
            "facts": dict(notification.facts),
            "deliveries": {c.value: _delivery_values(d) for c, d in deliveries.items()},
            "unread_for": notification.user_id,
            "expires_at": int((occurred + FEED_RETENTION).timestamp()),
        })
        try:
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                # A redelivery: what was decided the first time stands.
                stored = self._client.get_item(TableName=self._table, Key=_key(notification), ConsistentRead=True)
                return _deliveries(from_item(stored.get("Item", {})))
            raise
        return dict(deliveries)

    def claim(self, notification: Notification, channel: Channel, at: datetime,
              lease_until: datetime) -> Delivery | None:
        try:
            updated = self._client.update_item(
                TableName=self._table, Key=_key(notification),
                UpdateExpression="SET deliveries.#c.#state = :sending, deliveries.#c.#at = :now, "
                                 "deliveries.#c.lease_until = :until, deliveries.#c.attempts = deliveries.#c.attempts + :one",
                ConditionExpression="deliveries.#c.#state = :pending "
                                    "OR (deliveries.#c.#state = :sending AND deliveries.#c.lease_until < :now)",
                ExpressionAttributeNames={"#c": channel.value, "#state": "state", "#at": "at"},
                ExpressionAttributeValues={
                    ":sending": to_value(DeliveryState.SENDING.value), ":pending": to_value(DeliveryState.PENDING.value),
                    ":now": to_value(stored_time(at)), ":until": to_value(stored_time(lease_until)), ":one": to_value(1),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return _deliveries(from_item(updated["Attributes"]))[channel]

    def delivery(self, notification: Notification, channel: Channel) -> Delivery | None:
        stored = self._client.get_item(TableName=self._table, Key=_key(notification), ConsistentRead=True)
        return _deliveries(from_item(stored.get("Item", {}))).get(channel)

    def settle(self, notification: Notification, channel: Channel, claimed: Delivery, outcome: Delivery) -> bool:
        """Only while this worker's claim stands: the lease it was given names the claim."""
        try:
            self._client.update_item(
                TableName=self._table, Key=_key(notification),
                UpdateExpression="SET deliveries.#c = :outcome",
                ConditionExpression="deliveries.#c.#state = :sending AND deliveries.#c.lease_until = :lease",
                ExpressionAttributeNames={"#c": channel.value, "#state": "state"},
                ExpressionAttributeValues={
                    ":outcome": to_value(_delivery_values(outcome)),
                    ":sending": to_value(DeliveryState.SENDING.value),
                    ":lease": to_value(stored_time(claimed.lease_until) if claimed.lease_until else ""),
                },
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def page(self, user_id: str, limit: int, after: dict | None) -> tuple[list[FeedEntry], dict | None]:
        items, position = query_page(
            self._client, key_attributes=_KEYS, limit=limit, start=after, TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :ntf)",
            ExpressionAttributeValues={":pk": to_value(f"USER#{user_id}"), ":ntf": to_value("NTF#")},
            ScanIndexForward=False,
        )
        return [_entry(i) for i in items], position

    @staticmethod
    def key_attributes() -> tuple[str, ...]:
        """What a feed cursor's position holds (checked before a client's cursor is used)."""
        return _KEYS

    def unread_count(self, user_id: str) -> int:
        return count(self._client, TableName=self._table, IndexName="by-unread",
                     KeyConditionExpression="unread_for = :u", ExpressionAttributeValues={":u": to_value(user_id)})

    def mark_read(self, user_id: str, notification_id: str, at: datetime) -> FeedEntry | None:
        """None: the user has no such notification (somebody else's counts as none)."""
        found = self._client.query(
            TableName=self._table, IndexName="by-notification-id", KeyConditionExpression="notification_id = :n",
            ExpressionAttributeValues={":n": to_value(notification_id)},
        ).get("Items", [])
        mine = [from_item(i) for i in found if from_item(i)["pk"] == f"USER#{user_id}"]
        if not mine:
            return None
        key = {"pk": to_value(mine[0]["pk"]), "sk": to_value(mine[0]["sk"])}
        try:
            updated = self._client.update_item(
                TableName=self._table, Key=key, ConditionExpression="attribute_exists(pk)",
                UpdateExpression=_MARK_READ,
                ExpressionAttributeValues={":at": to_value(stored_time(at))}, ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None  # expired meanwhile
            raise
        return _entry(from_item(updated["Attributes"]))

    def mark_all_read(self, user_id: str, at: datetime) -> int:
        """Every entry the sparse `by-unread` index holds for the user, each marked as mark_read
        does (an entry read meanwhile keeps its first read time and is not counted twice)."""
        marked = 0
        unread = query_items(self._client, TableName=self._table, IndexName="by-unread",
                             KeyConditionExpression="unread_for = :u", ExpressionAttributeValues={":u": to_value(user_id)})
        for item in unread:
            try:
                self._client.update_item(
                    TableName=self._table, Key={"pk": to_value(item["pk"]), "sk": to_value(item["sk"])},
                    ConditionExpression="attribute_exists(unread_for)", UpdateExpression=_MARK_READ,
                    ExpressionAttributeValues={":at": to_value(stored_time(at))},
                )
                marked += 1
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
        return marked


class DynamoDbPreferences:
    """Each user's notification preferences: one item beside their feed."""

    def __init__(self, client, table_name: str):
        self._client = client
        self._table = table_name

    @staticmethod
    def _key(user_id: str) -> dict:
        return {"pk": to_value(f"USER#{user_id}"), "sk": to_value("PREFERENCES")}

    def get(self, user_id: str) -> Preferences:
        item = self._client.get_item(TableName=self._table, Key=self._key(user_id), ConsistentRead=True).get("Item")
        if not item:
            return Preferences()
        values = from_item(item)
        # A kind or channel stored by an older release and gone since is dropped, not an error.
        kinds, channels = set(NotificationKind), set(Channel)
        return Preferences(
            channels={NotificationKind(k): {Channel(c): bool(v) for c, v in chosen.items() if c in channels}
                      for k, chosen in (values.get("channels") or {}).items() if k in kinds},
            sms_number=values.get("sms_number"),
        )

    def put(self, user_id: str, preferences: Preferences, at: datetime) -> None:
        self._client.put_item(TableName=self._table, Item=to_item({
            "pk": f"USER#{user_id}", "sk": "PREFERENCES",
            "channels": {k.value: {c.value: v for c, v in chosen.items()} for k, chosen in preferences.channels.items()},
            "sms_number": preferences.sms_number,
            "updated_at": stored_time(at),
        }))
