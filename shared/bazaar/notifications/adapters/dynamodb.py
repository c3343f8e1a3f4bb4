from __future__ import annotations

from datetime import UTC, timedelta

from pynamodb.attributes import UnicodeAttribute, TTLAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model

from bazaar.notifications.domain import Notification

FEED_RETENTION = timedelta(days=180)


def feed_model(table_name: str) -> type[Model]:
    class FeedItem(Model):
        class Meta:
            pass

        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        notification_id = UnicodeAttribute()
        kind = UnicodeAttribute()
        title = UnicodeAttribute()
        body = UnicodeAttribute()
        occurred_at = UnicodeAttribute()
        expires_at = TTLAttribute()

    FeedItem.Meta.table_name = table_name
    return FeedItem


class DynamoDbFeeds:
    def __init__(self, table_name: str):
        self._model = feed_model(table_name)

    def add_once(self, notification: Notification) -> bool:
        occurred = notification.occurred_at.astimezone(UTC)
        item = self._model(
            pk=f"USER#{notification.user_id}",
            # The id in the sort key makes the conditional put the dedupe: same id, same key.
            sk=f"NTF#{occurred.isoformat(timespec='milliseconds')}#{notification.notification_id}",
            notification_id=notification.notification_id,
            kind=notification.kind.value,
            title=notification.title,
            body=notification.body,
            occurred_at=occurred.isoformat(timespec="milliseconds"),
            expires_at=occurred + FEED_RETENTION,
        )
        try:
            item.save(condition=self._model.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def list_for(self, user_id: str, limit: int = 20) -> list[dict]:
        return [
            {"notification_id": i.notification_id, "kind": i.kind, "title": i.title, "occurred_at": i.occurred_at}
            for i in self._model.query(f"USER#{user_id}", scan_index_forward=False, limit=limit)
        ]
