"""Shiprocket's tracking webhook, from raw request to a queued `TrackingEvent`.

Shiprocket authenticates a webhook only by sending the security token configured in its panel,
verbatim, in `x-api-key` (docs/providers/shiprocket.md, 'Tracking webhook'). It is compared in constant time.
There is no body signature, so the body is only a hint: the tracking worker re-reads the shipment from the
track API before anything moves."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from bazaar.shipping.domain import TrackingEvent


@dataclass(frozen=True)
class Rejected:
    status: int  # 401 unauthenticated, 400 malformed
    reason: str


def payload_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def check_api_key(provided: str | None, expected: str) -> Rejected | None:
    if not provided:
        return Rejected(401, "missing x-api-key")
    if not hmac.compare_digest(provided.encode("utf-8"), expected.encode("utf-8")):
        return Rejected(401, "x-api-key does not match")
    return None


def parse_tracking_webhook(body: bytes, received_at: datetime) -> TrackingEvent | Rejected:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return Rejected(400, "body is not JSON")
    if not isinstance(payload, dict):
        return Rejected(400, "body is not a JSON object")
    awb = payload.get("awb")
    if isinstance(awb, int) and not isinstance(awb, bool):
        awb = str(awb)
    if not isinstance(awb, str) or not awb.strip() or len(awb) > 64:
        return Rejected(400, "no awb")
    label = payload.get("shipment_status") or payload.get("current_status")
    shipment_status_id = _int(payload.get("shipment_status_id"))
    order_status_id = _int(payload.get("current_status_id"))
    if not (isinstance(label, str) and label.strip()) and shipment_status_id is None and order_status_id is None:
        return Rejected(400, "no status")
    order_id = payload.get("order_id")
    return TrackingEvent(
        awb=awb.strip(),
        channel_order_id=str(order_id) if order_id not in (None, "") else None,
        provider_order_id=_int(payload.get("sr_order_id")),
        label=label if isinstance(label, str) else None,
        shipment_status_id=shipment_status_id,
        order_status_id=order_status_id,
        scanned_at=str(payload["current_timestamp"]) if payload.get("current_timestamp") else None,
        is_return=str(payload.get("is_return", "0")) in ("1", "true", "True"),
        received_at=received_at,
        payload_sha256=payload_digest(body),
    )


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
