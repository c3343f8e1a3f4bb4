"""The frames over the WebSocket, validated both ways.

Inbound (`parse_client_frame`): a JSON object with an `action` (`ping`, or `replay` with the
event id to replay after); anything else, or a body over MAX_CLIENT_FRAME_BYTES, is refused with
a message that says why. Outbound (`encode`): each frame type has its model, so a frame that
would carry an unexpected field, or that is over MAX_FRAME_BYTES, is never posted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bazaar.realtime.domain import EVENT_ID, Frame, FrameType

# What a client may send: two small actions. API Gateway's own frame limit is higher; a client
# frame larger than this is not one of ours.
MAX_CLIENT_FRAME_BYTES = 1024
# What Bazaar posts: the WebSocket API's declared frame limit (max_frame_bytes).
MAX_FRAME_BYTES = 32 * 1024


class InvalidFrame(ValueError):
    """The client sent something that is not a frame of ours; the message says what."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ping(_Strict):
    action: Literal["ping"]


class Replay(_Strict):
    action: Literal["replay"]
    since: str = Field(pattern=EVENT_ID, max_length=128)


ClientFrame = Annotated[Ping | Replay, Field(discriminator="action")]
_client_frame: TypeAdapter[Ping | Replay] = TypeAdapter(ClientFrame)


def parse_client_frame(body: str | None) -> Ping | Replay:
    text = body or ""
    if len(text.encode("utf-8")) > MAX_CLIENT_FRAME_BYTES:
        raise InvalidFrame(f"A frame is at most {MAX_CLIENT_FRAME_BYTES} bytes.")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise InvalidFrame("The frame is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidFrame('A frame is a JSON object such as {"action": "ping"}.')
    if data.get("action") not in ("ping", "replay"):
        raise InvalidFrame('Unknown action; send {"action": "ping"} or {"action": "replay", "since": "<event id>"}.')
    try:
        return _client_frame.validate_python(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'frame'}: {e['msg']}"
                             for e in error.errors())
        raise InvalidFrame(f"Invalid {data['action']} frame: {problems}.") from None


# -- outbound ---------------------------------------------------------------------------------

class _EventFrame(_Strict):
    event_id: str = Field(pattern=EVENT_ID)
    event_type: str
    occurred_at: str


class OrderUpdated(_EventFrame):
    type: Literal["order.updated"]
    order_id: str
    status: str
    previous_status: str | None


class ShipmentFailed(_EventFrame):
    type: Literal["ops.shipment_failed"]
    order_id: str
    customer_id: str
    status: str
    previous_status: str | None
    reason: str


class PayoutFailed(_EventFrame):
    type: Literal["ops.payout_failed"]
    payout_id: str
    payee_id: str
    payee_role: str
    amount_paise: int
    reason: str


class RefundAwaitingApproval(_EventFrame):
    type: Literal["ops.refund_awaiting_approval"]
    refund_id: str
    order_id: str
    customer_id: str
    amount_paise: int
    reason: str


class Pong(_Strict):
    type: Literal["pong"]


class ErrorBody(_Strict):
    code: str
    message: str


class Error(_Strict):
    type: Literal["error"]
    error: ErrorBody


class ReplayDone(_Strict):
    type: Literal["replay.done"]
    count: int


class ReplayTruncated(_Strict):
    type: Literal["replay.truncated"]
    count: int
    next_since: str = Field(pattern=EVENT_ID)


class ReplayUnavailable(_Strict):
    type: Literal["replay.unavailable"]
    since: str
    message: str


MODELS: dict[FrameType, type[BaseModel]] = {
    FrameType.ORDER_UPDATED: OrderUpdated,
    FrameType.SHIPMENT_FAILED: ShipmentFailed,
    FrameType.PAYOUT_FAILED: PayoutFailed,
    FrameType.REFUND_AWAITING_APPROVAL: RefundAwaitingApproval,
    FrameType.PONG: Pong,
    FrameType.ERROR: Error,
    FrameType.REPLAY_DONE: ReplayDone,
    FrameType.REPLAY_TRUNCATED: ReplayTruncated,
    FrameType.REPLAY_UNAVAILABLE: ReplayUnavailable,
}


class FrameTooLarge(ValueError):
    pass


def encode(frame: Frame) -> str:
    """The frame's JSON, checked against its model (ValidationError on a field it must not have)
    and the size limit (FrameTooLarge)."""
    body: dict[str, Any] = MODELS[frame.type].model_validate(frame.body()).model_dump(mode="json")
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    if len(text.encode("utf-8")) > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"a {frame.type.value} frame is over {MAX_FRAME_BYTES} bytes")
    return text


# -- API Gateway's WebSocket events ------------------------------------------------------------

class ConnectRequest(_Strict):
    """What $connect carries once the identity authorizer let the caller in."""

    connection_id: str = Field(min_length=1, max_length=128)
    user_id: str = Field(min_length=1, max_length=128)
    roles: frozenset[str]
    connected_at: datetime


def _context(event: dict) -> dict:
    context = event.get("requestContext")
    if not isinstance(context, dict):
        raise ValueError("not an API Gateway WebSocket event: no requestContext")
    return context


def connect_request(event: dict) -> ConnectRequest:
    """Raises ValueError when the event lacks the authorizer's context (the connection is then
    refused)."""
    context = _context(event)
    authorizer = context.get("authorizer") or {}
    try:
        return ConnectRequest(
            connection_id=context.get("connectionId") or "",
            user_id=authorizer.get("user_id") or authorizer.get("principalId") or "",
            roles=frozenset(r.strip() for r in str(authorizer.get("roles") or "").split(",") if r.strip()),
            connected_at=datetime.fromtimestamp(int(context.get("connectedAt") or 0) / 1000, UTC),
        )
    except ValidationError as error:
        raise ValueError(f"incomplete $connect event: {error.error_count()} problem(s)") from None


def connection_id_of(event: dict) -> str:
    connection_id = _context(event).get("connectionId")
    if not isinstance(connection_id, str) or not connection_id:
        raise ValueError("the event names no connection")
    return connection_id


def message_body(event: dict) -> str | None:
    """A $default message's text (a binary frame arrives base64-encoded: not one of ours)."""
    if event.get("isBase64Encoded"):
        return None
    body = event.get("body")
    return body if isinstance(body, str) else None
