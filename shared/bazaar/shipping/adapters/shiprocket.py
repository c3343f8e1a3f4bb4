"""Shiprocket's external API (apiv2.shiprocket.in/v1/external) behind `ShippingProvider`.

Facts and choices (docs/providers/shiprocket.md has the long form):
- Auth is POST /auth/login with the API user's email and password; the token lives 10 days. We
  keep it for 90% of its life (read from the JWT's `exp` when it has one, else the documented
  240 h), and log in again on any 401 and retry that call once.
- Short timeouts: a worker's SQS retry is cheaper than a Lambda stuck on a slow provider. No
  retries in here besides the 401 one; the record's redelivery is the retry.
- Shiprocket reports some failures inside a 200 body (`awb_assign_status: 0`, `pickup_status: 0`):
  those raise `ProviderRejected` like a 4xx does.
- Money leaves in rupees, as strings made from paise (`Paise.to_rupees_string`), never floats.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from bazaar.money import Paise
from bazaar.platform.observability import logger, traced_http_session
from bazaar.shipping.settings import ShiprocketCredentials
from bazaar.shipping.domain import (
    AwbAssignment,
    DuplicateChannelOrder,
    PickupBooking,
    ProviderOrder,
    ProviderRejected,
    ProviderUnavailable,
    ShipmentRequest,
    TrackingSnapshot,
)
from bazaar.shipping.tracking import TrackingScan

PRODUCTION_URL = "https://apiv2.shiprocket.in/v1/external"
DOCUMENTED_TOKEN_LIFETIME_SECONDS = 240 * 3600
REFRESH_AT_FRACTION = 0.9
# (connect, read) seconds. Create/assign/pickup calls take a second or two when Shiprocket is well.
DEFAULT_TIMEOUT = (3.05, 10.0)
IST = timezone(timedelta(hours=5, minutes=30))


class Shiprocket:
    """One instance per Lambda container (built in the entry module), so the token outlives an
    invocation. Thread-safe: the token is swapped under a lock."""

    def __init__(
        self,
        base_url: str,
        credentials: Callable[[], ShiprocketCredentials],
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self._base = base_url.rstrip("/")
        self._credentials = credentials
        self._timeout = timeout
        self._http = session or traced_http_session()
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self.logins = 0

    # -- ShippingProvider -----------------------------------------------------------------

    def create_order(self, request: ShipmentRequest) -> ProviderOrder:
        body = self._call("POST", "/orders/create/adhoc", json=self._adhoc_order(request))
        try:
            return ProviderOrder(
                channel_order_id=request.channel_order_id,
                provider_order_id=int(body["order_id"]),
                shipment_id=int(body["shipment_id"]),
                status=str(body.get("status") or "NEW"),
                awb=body.get("awb_code") or None,
                courier_name=body.get("courier_name") or None,
            )
        except (KeyError, TypeError, ValueError):
            raise ProviderRejected("order create answered without order_id/shipment_id", details=_safe(body)) from None

    def assign_awb(self, shipment_id: int) -> AwbAssignment:
        body = self._call("POST", "/courier/assign/awb", json={"shipment_id": shipment_id})
        data = ((body.get("response") or {}).get("data") or {}) if isinstance(body.get("response"), dict) else {}
        if body.get("awb_assign_status") != 1 or not data.get("awb_code"):
            raise ProviderRejected(
                f"AWB not assigned for shipment {shipment_id}: {_message(body, data)}", status=200, details=_safe(body)
            )
        return AwbAssignment(
            shipment_id=shipment_id,
            awb=str(data["awb_code"]),
            courier_name=data.get("courier_name"),
            pickup_scheduled_date=data.get("pickup_scheduled_date") or None,
        )

    def generate_pickup(self, shipment_id: int) -> PickupBooking:
        body = self._call("POST", "/courier/generate/pickup", json={"shipment_id": [shipment_id]})
        raw = body.get("response")
        response = raw if isinstance(raw, dict) else {}
        if body.get("pickup_status") != 1:
            raise ProviderRejected(
                f"pickup not booked for shipment {shipment_id}: {_message(body, response)}",
                status=200,
                details=_safe(body),
            )
        token = response.get("pickup_token_number")
        return PickupBooking(
            shipment_id=shipment_id,
            pickup_scheduled_date=response.get("pickup_scheduled_date"),
            token_number=str(token) if token is not None else None,
        )

    def track(self, *, awb: str | None = None, shipment_id: int | None = None) -> TrackingSnapshot:
        if (awb is None) == (shipment_id is None):
            raise ValueError("track by exactly one of awb or shipment_id")
        path = f"/courier/track/awb/{awb}" if awb else f"/courier/track/shipment/{shipment_id}"
        body = self._call("GET", path)
        data = body.get("tracking_data")
        if not isinstance(data, dict):
            raise ProviderRejected("track answered without tracking_data", details=_safe(body))
        tracks = [t for t in (data.get("shipment_track") or []) if isinstance(t, dict)]
        first = tracks[0] if tracks else {}
        found_awb = str(first.get("awb_code") or awb or "")
        scans = tuple(_activity(a) for a in (data.get("shipment_track_activities") or []) if isinstance(a, dict))
        has_activity = data.get("track_status") == 1
        current = None
        if has_activity:
            current = TrackingScan(label=first.get("current_status"), shipment_status_id=_int(data.get("shipment_status")))
        return TrackingSnapshot(awb=found_awb, has_activity=has_activity, current=current, scans=scans,
                                etd=data.get("etd"))

    def cancel(self, provider_order_id: int) -> None:
        self._call("POST", "/orders/cancel", json={"ids": [provider_order_id]})

    def find_order_by_channel_order_id(self, channel_order_id: str) -> ProviderOrder | None:
        # UNCONFIRMED (docs/providers/shiprocket.md, 'Edge cases'): the list's filters are undocumented;
        # `search` matches loosely, so the channel order id is compared exactly here.
        body = self._call("GET", "/orders", params={"search": channel_order_id})
        rows = body.get("data") or []
        matches = [r for r in rows if isinstance(r, dict) and str(r.get("channel_order_id")) == channel_order_id]
        if not matches:
            return None
        # Several only if Shiprocket broke its own uniqueness rule: prefer the live one.
        matches.sort(key=lambda r: str(r.get("status", "")).upper().startswith("CANCEL"))
        row = matches[0]
        shipments = row.get("shipments") or []
        shipment = (shipments[0] if shipments else {}) if isinstance(shipments, list) else shipments
        # A JSON value: int() refuses an answer with neither id (a TypeError, as ever).
        shipment_id: Any = shipment.get("id") or row.get("shipment_id")
        return ProviderOrder(
            channel_order_id=channel_order_id,
            provider_order_id=int(row["id"]),
            shipment_id=int(shipment_id),
            status=str(row.get("status") or ""),
            awb=shipment.get("awb") or None,
            courier_name=shipment.get("courier") or None,
            pickup_scheduled_date=shipment.get("pickup_scheduled_date") or None,
        )

    # -- the request --------------------------------------------------------------------

    def _adhoc_order(self, request: ShipmentRequest) -> dict[str, Any]:
        to = request.ship_to
        first, _, last = to.name.partition(" ")
        return {
            "order_id": request.channel_order_id,
            "order_date": request.order_date.isoformat(),
            "pickup_location": self._credentials().pickup_location,
            "billing_customer_name": first,
            "billing_last_name": last,
            "billing_address": to.line1,
            "billing_address_2": to.line2 or "",
            "billing_city": to.city,
            "billing_pincode": to.pincode,
            "billing_state": to.state,
            "billing_country": to.country,
            "billing_email": to.email,
            "billing_phone": to.phone,
            "shipping_is_billing": True,
            "order_items": [
                {
                    "name": item.name,
                    "sku": item.sku,
                    "units": item.units,
                    "selling_price": Paise(item.unit_price_paise).to_rupees_string(),
                    "discount": "0.00",
                    "tax": "0.00",
                    "hsn": item.hsn or "",
                }
                for item in request.items
            ],
            "payment_method": request.payment_method.value,
            "sub_total": Paise(request.sub_total_paise).to_rupees_string(),
            "length": request.parcel.length_cm,
            "breadth": request.parcel.breadth_cm,
            "height": request.parcel.height_cm,
            # kg with gram precision, as text so no float ever carries it
            "weight": f"{request.parcel.weight_grams // 1000}.{request.parcel.weight_grams % 1000:03d}",
        }

    # -- transport ------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, json: dict | None = None, params: dict | None = None) -> dict:
        for attempt in (1, 2):
            token = self._bearer()
            response = self._send(method, path, json=json, params=params, token=token)
            if response.status_code == 401 and attempt == 1:
                # Expired or revoked before we expected: log in again and repeat the call once.
                self._forget(token)
                continue
            return self._answer(method, path, response)
        raise AssertionError("unreachable")

    def _send(self, method, path, *, json, params, token: str | None) -> requests.Response:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            return self._http.request(method, self._base + path, json=json, params=params, headers=headers,
                                      timeout=self._timeout)
        except requests.Timeout:
            raise ProviderUnavailable(f"Shiprocket {method} {path} timed out") from None
        except requests.RequestException as error:
            raise ProviderUnavailable(f"Shiprocket {method} {path} failed: {type(error).__name__}") from None

    def _answer(self, method: str, path: str, response: requests.Response) -> dict:
        status = response.status_code
        body = _json(response)
        logger.info("shiprocket answered", extra={"method": method, "path": path, "status": status})
        if status == 429 or status >= 500:
            raise ProviderUnavailable(f"Shiprocket {method} {path} answered {status}", status=status)
        if status >= 400:
            raw = body.get("errors")
            errors = raw if isinstance(raw, dict) else {}
            if status == 422 and path == "/orders/create/adhoc" and "order_id" in errors:
                raise DuplicateChannelOrder(_message(body), status=status, details=_safe(body))
            raise ProviderRejected(f"Shiprocket {method} {path} answered {status}: {_message(body)}",
                                   status=status, details=_safe(body))
        return body

    def _bearer(self) -> str:
        with self._lock:
            if self._token and self._clock() < self._refresh_at:
                return self._token
        return self._login()

    def _forget(self, token: str | None) -> None:
        with self._lock:
            if self._token == token:
                self._token, self._refresh_at = None, 0.0

    def _login(self) -> str:
        credentials = self._credentials()
        response = self._send(
            "POST", "/auth/login", json={"email": credentials.api_email, "password": credentials.api_password},
            params=None, token=None,
        )
        if response.status_code in (400, 401, 403, 422):
            raise ProviderRejected(f"Shiprocket login refused ({response.status_code}): check the shiprocket secret",
                                   status=response.status_code)
        body = self._answer("POST", "/auth/login", response)
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise ProviderRejected("Shiprocket login answered without a token")
        now = self._clock()
        lifetime = _lifetime(token, now)
        with self._lock:
            self._token = token
            self._refresh_at = now + lifetime * REFRESH_AT_FRACTION
            self.logins += 1
        return token


def _lifetime(token: str, now: float) -> float:
    """How long the token lives, from its JWT claims if it has them (read, not verified: they
    only decide when we log in again), else the documented 10 days. `exp - iat` rather than
    `exp - now`, so a skew between our clock and Shiprocket's does not matter."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        issued = float(claims.get("iat", now))
        return max(0.0, float(claims["exp"]) - issued)
    except (IndexError, ValueError, KeyError, TypeError, AttributeError):
        return float(DOCUMENTED_TOKEN_LIFETIME_SECONDS)


def _activity(activity: dict) -> TrackingScan:
    return TrackingScan(
        label=activity.get("sr-status-label") or None,
        shipment_status_id=_int(activity.get("sr-status")),
        at=_scan_time(activity.get("date")),
        location=activity.get("location"),
        activity=activity.get("activity"),
    )


def _scan_time(text: Any) -> datetime | None:
    # Shiprocket writes local (IST) wall-clock times without a zone.
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST)
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None  # e.g. sr-status "NA"


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {"message": response.text[:200]}
    return body if isinstance(body, dict) else {"data": body}


def _message(*bodies: dict) -> str:
    for body in bodies:
        for key in ("message", "awb_assign_error", "msg", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
    return "no message"


def _safe(body: dict) -> dict:
    """A provider answer fit for logs: it never holds our credentials, but cap its size."""
    text = json.dumps(body, default=str)
    return body if len(text) <= 2000 else {"truncated": text[:2000]}
