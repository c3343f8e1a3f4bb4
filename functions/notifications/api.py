"""Notifications API: the caller's feed (newest first, with the unread count and each entry's
deliveries), marking one or all entries read, and the caller's notification preferences."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from bazaar.notifications import services, wiring
from bazaar.notifications.domain import NOTIFICATION_ID
from bazaar.notifications.schemas import MarkedRead, NotificationOut, NotificationPage, PreferencesIn, PreferencesOut
from bazaar.notifications.settings import NotificationSettings
from bazaar.platform.clock import utc_now
from bazaar.platform.cursors import cursor_codec
from bazaar.platform.dynamo import valid_position
from bazaar.platform.http import HttpApi
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.pagination import InvalidCursor, clamp_limit
from bazaar.platform.settings import from_environment

settings = from_environment(NotificationSettings)
api = HttpApi(settings)
app = api.app
feeds = wiring.feeds(settings)
preferences = wiring.preferences(settings)


@app.get("/v1/me/notifications", summary="Your notifications, newest first, with how many are unread")
def list_notifications(
    limit: Annotated[int | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> NotificationPage:
    user_id = api.caller.user_id
    codec = cursor_codec(settings, f"notifications:{user_id}")
    after = codec.decode(cursor)
    if not valid_position(after, feeds.key_attributes()):
        raise InvalidCursor()
    page = services.feed(user_id, feeds, clamp_limit(limit), after)
    return NotificationPage(items=[NotificationOut.of(e) for e in page.entries],
                            next_cursor=codec.encode(page.position), unread_count=page.unread)


@app.post("/v1/me/notifications/read-all", summary="Mark all your notifications read")
def read_all_notifications() -> MarkedRead:
    return MarkedRead(marked_read=services.mark_all_read(api.caller.user_id, feeds, utc_now))


@app.post("/v1/me/notifications/<notification_id>/read", summary="Mark one of your notifications read")
def read_notification(notification_id: Annotated[str, Path(pattern=NOTIFICATION_ID)]) -> NotificationOut:
    return NotificationOut.of(services.mark_read(api.caller.user_id, notification_id, feeds, utc_now))


@app.get("/v1/me/notification-preferences", summary="Which notifications you get by email and SMS")
def get_preferences() -> PreferencesOut:
    return PreferencesOut.of(services.preferences(api.caller.user_id, preferences), settings.sms_enabled)


@app.put("/v1/me/notification-preferences", summary="Choose which notifications you get by email and SMS")
def put_preferences(body: PreferencesIn) -> PreferencesOut:
    chosen = services.choose(api.caller.user_id, body.chosen(), preferences, utc_now)
    return PreferencesOut.of(chosen, settings.sms_enabled)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return api.handle(event, context)
