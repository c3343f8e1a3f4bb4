"""The Shiprocket simulator's state and rules, without HTTP: accounts and tokens, adhoc orders,
AWBs, pickups, cancellation, tracking, and the scan engine that walks a shipment along
Shiprocket's statuses. server.py puts HTTP, fault injection and webhook delivery around it.

Shapes and rules follow docs/providers/shiprocket.md, 'Provider facts'. Where that says UNCONFIRMED, the
choice made here is marked `UNCONFIRMED:` and listed in docs/providers/shiprocket.md.

The sandbox has its own status tables, written from the provider facts, on purpose: it is the
oracle Bazaar's tracking table (bazaar/shipping/tracking.py) is tested against, so it must not
import it.
"""

from __future__ import annotations

import base64
import hmac
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from infra.sandboxes import common

IST = timezone(timedelta(hours=5, minutes=30))
DEFAULT_TOKEN_LIFETIME_SECONDS = 240 * 3600  # 10 days, as documented

# Scheme A (tracking `shipment_status`, `sr-status`) id -> label, for the statuses the engine emits.
SCHEME_A = {
    6: "SHIPPED", 7: "DELIVERED", 8: "CANCELED", 9: "RTO INITIATED", 10: "RTO DELIVERED", 12: "LOST",
    17: "OUT FOR DELIVERY", 18: "IN TRANSIT", 19: "OUT FOR PICKUP", 21: "UNDELIVERED",
    38: "REACHED AT DESTINATION HUB", 40: "RTO NDR", 41: "RTO OFD", 42: "PICKED UP", 46: "RTO IN TRANSIT",
}
# The same status in scheme B (order `status_code`, webhook `current_status_id`) and the label the
# webhook's `current_status` carries (payloads mix spaces and underscores:
# docs/providers/shiprocket.md, 'Status labels and ids').
SCHEME_B = {
    6: (6, "SHIPPED"), 7: (7, "DELIVERED"), 8: (5, "CANCELED"), 9: (15, "RTO INITIATED"),
    10: (16, "RTO DELIVERED"), 12: (33, "LOST"), 17: (19, "OUT FOR DELIVERY"), 18: (20, "IN TRANSIT"),
    19: (34, "OUT FOR PICKUP"), 21: (36, "UNDELIVERED"), 38: (43, "REACHED DESTINATION HUB"),
    40: (46, "RTO_NDR"), 41: (45, "RTO_OFD"), 42: (51, "PICKED UP"), 46: (55, "RTO IN TRANSIT"),
}
COURIER_CODES = {6: "X-PPOM", 7: "DLVD", 8: "CAN", 9: "RTO", 10: "RTD", 12: "LST", 17: "X-DDD3FD",
                 18: "X-ILL2F", 19: "X-ASP", 21: "EOD-74", 38: "X-DLL2F", 40: "RTO-NDR", 41: "RTO-OFD",
                 42: "X-PPOM", 46: "RTO-IT"}

# The walk a healthy parcel takes after its pickup is booked, and the return branch that leaves
# it at OUT FOR DELIVERY (NDR, then RTO) (docs/providers/shiprocket.md, 'Scan walk').
FORWARD = (19, 42, 6, 18, 38, 17, 7)
RTO_BRANCH = (21, 9, 46, 10)
TERMINAL = frozenset({7, 8, 10, 12})

# Order-level statuses (scheme B labels) the order list and create answers use.
ORDER_NEW, ORDER_READY, ORDER_PICKUP, ORDER_CANCELED = (
    ("NEW", 1), ("READY TO SHIP", 3), ("PICKUP SCHEDULED", 4), ("CANCELED", 5),
)

REQUIRED_ADHOC = (
    "order_id", "order_date", "pickup_location", "billing_customer_name", "billing_address", "billing_city",
    "billing_pincode", "billing_state", "billing_country", "billing_email", "billing_phone",
    "shipping_is_billing", "order_items", "payment_method", "sub_total", "length", "breadth", "height", "weight",
)
REQUIRED_ITEM = ("name", "sku", "units", "selling_price")


class ApiError(common.ApiError):
    """An answer other than 2xx, in Shiprocket's shape (its message is `message`)."""


def _invalid(errors: dict[str, list[str]]) -> ApiError:
    return ApiError(422, {"message": "Oops! Invalid Data.", "errors": errors, "status_code": 422})


def _bad(message: str, status: int = 400) -> ApiError:
    return ApiError(status, {"message": message, "status_code": status})


def normalise(label: str) -> str:
    return re.sub(r"[\s_\-]+", " ", label).strip().upper()


@dataclass
class Order:
    sr_order_id: int
    shipment_id: int
    channel_order_id: str
    payload: dict
    created_at: datetime
    status: tuple[str, int] = ORDER_NEW
    awb: str | None = None
    courier_name: str | None = None
    courier_company_id: int | None = None
    awb_assigned_at: datetime | None = None
    pickup_scheduled_date: str | None = None
    pickup_token_number: str | None = None
    scans: list[dict] = field(default_factory=list)  # oldest first

    @property
    def last_scan_id(self) -> int | None:
        for scan in reversed(self.scans):
            if str(scan["sr-status"]).isdigit():
                return int(scan["sr-status"])
        return None

    def summary(self) -> dict:
        return {
            "sr_order_id": self.sr_order_id, "shipment_id": self.shipment_id,
            "channel_order_id": self.channel_order_id, "status": self.status[0], "awb": self.awb,
            "pickup_scheduled_date": self.pickup_scheduled_date,
            "scans": [s["sr-status-label"] for s in self.scans],
        }


@dataclass
class Account:
    email: str
    password: str
    pickup_locations: tuple[str, ...]
    company_id: int = 1001
    user_id: int = 5001


class Engine:
    """All state behind one lock. Methods either return an answer body or raise ApiError."""

    def __init__(self, account: Account, token_lifetime_seconds: int = DEFAULT_TOKEN_LIFETIME_SECONDS,
                 clock=time.time):
        self.account = account
        self.token_lifetime_seconds = token_lifetime_seconds
        self.clock = clock
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tokens: dict[str, float] = {}  # token -> expires at (epoch seconds)
            self.orders: dict[int, Order] = {}
            self.by_channel_id: dict[str, Order] = {}
            self.by_shipment: dict[int, Order] = {}
            self.by_awb: dict[str, Order] = {}
            self.awb_failures: list[str] = []
            self._ids = itertools.count(700_000_001)
            self._shipment_ids = itertools.count(900_000_001)
            self._awbs = itertools.count(1_410_000_000_001)
            self._pickup_tokens = itertools.count(260_001)
            self.logins = 0

    # -- auth -----------------------------------------------------------------------------

    def login(self, body: dict) -> dict:
        email, password = body.get("email"), body.get("password")
        if not isinstance(email, str) or not isinstance(password, str):
            raise _invalid({k: ["The " + k + " field is required."] for k in ("email", "password") if not body.get(k)})
        ok = hmac.compare_digest(email.encode(), self.account.email.encode()) & hmac.compare_digest(
            password.encode(), self.account.password.encode()
        )
        if not ok:
            # UNCONFIRMED: status and wording for bad credentials.
            raise _bad("Invalid email and password combination", 400)
        now = self.clock()
        with self.lock:
            token = _jwt(self.account.user_id, now, now + self.token_lifetime_seconds)
            self.tokens[token] = now + self.token_lifetime_seconds
            self.logins += 1
        return {
            "id": self.account.user_id, "first_name": "API", "last_name": "User", "email": self.account.email,
            "company_id": self.account.company_id,
            "created_at": datetime.fromtimestamp(now, IST).strftime("%Y-%m-%d %H:%M:%S"), "token": token,
        }

    def authenticate(self, authorization: str | None) -> None:
        token = (authorization or "").removeprefix("Bearer ").strip()
        with self.lock:
            expires = self.tokens.get(token)
        if not token or expires is None or self.clock() >= expires:
            raise ApiError(401, {"message": "Unauthenticated."})

    def logout(self, authorization: str | None) -> dict:
        token = (authorization or "").removeprefix("Bearer ").strip()
        with self.lock:
            self.tokens.pop(token, None)
        return {"message": "Successfully logged out"}

    def expire_tokens(self) -> int:
        with self.lock:
            count = len(self.tokens)
            self.tokens = dict.fromkeys(self.tokens, 0.0)
        return count

    # -- orders ---------------------------------------------------------------------------

    def create_adhoc(self, body: dict) -> dict:
        errors: dict[str, list[str]] = {}
        for name in REQUIRED_ADHOC:
            if body.get(name) in (None, "", []):
                errors[name] = [f"The {name.replace('_', ' ')} field is required."]
        if body.get("shipping_is_billing") in (False, 0, "0", "false"):
            for name in ("shipping_customer_name", "shipping_address", "shipping_city", "shipping_pincode",
                         "shipping_state", "shipping_country", "shipping_phone"):
                if not body.get(name):
                    errors[name] = [f"The {name.replace('_', ' ')} field is required when shipping is billing is false."]
        if len(str(body.get("order_id") or "")) > 50:
            errors["order_id"] = ["The order id may not be greater than 50 characters."]
        if len(str(body.get("billing_city") or "")) > 30:
            errors["billing_city"] = ["The billing city may not be greater than 30 characters."]
        if body.get("payment_method") not in (None, "", "COD", "Prepaid"):
            errors["payment_method"] = ["The selected payment method is invalid."]
        for name, minimum in (("length", 0.5), ("breadth", 0.5), ("height", 0.5), ("weight", 0.0)):
            if name in body and not _number_above(body[name], minimum):
                errors[name] = [f"The {name} must be greater than {minimum}."]
        if "sub_total" in body and not _number_above(body["sub_total"], -0.01):
            errors["sub_total"] = ["The sub total must be a number."]
        items = body.get("order_items")
        if items is not None and not isinstance(items, list):
            errors["order_items"] = ["The order items must be an array."]
        for index, item in enumerate(items if isinstance(items, list) else []):
            for name in REQUIRED_ITEM:
                if not isinstance(item, dict) or item.get(name) in (None, ""):
                    errors[f"order_items.{index}.{name}"] = [f"The order_items.{index}.{name} field is required."]
            if isinstance(item, dict) and item.get("selling_price") not in (None, "") and not _number_above(
                item["selling_price"], -0.01
            ):
                errors[f"order_items.{index}.selling_price"] = ["The selling price must be a number."]
        if errors:
            raise _invalid(errors)
        if body["pickup_location"] not in self.account.pickup_locations:
            # UNCONFIRMED: wording; the status (422) matches Shiprocket's validation answers.
            raise _invalid({"pickup_location": ["Wrong Pickup location entered."]})
        channel_order_id = str(body["order_id"])
        with self.lock:
            if channel_order_id in self.by_channel_id:
                # Shiprocket keeps order ids unique forever, cancelled ones included.
                # UNCONFIRMED: the wording (Laravel's unique-rule message).
                raise _invalid({"order_id": ["The order id has already been taken."]})
            order = Order(
                sr_order_id=next(self._ids), shipment_id=next(self._shipment_ids),
                channel_order_id=channel_order_id, payload=dict(body), created_at=datetime.now(IST),
            )
            self.orders[order.sr_order_id] = order
            self.by_channel_id[channel_order_id] = order
            self.by_shipment[order.shipment_id] = order
        return {
            "order_id": order.sr_order_id, "channel_order_id": channel_order_id, "shipment_id": order.shipment_id,
            "status": ORDER_NEW[0], "status_code": ORDER_NEW[1], "onboarding_completed_now": 0,
            "awb_code": None, "courier_company_id": None, "courier_name": None,
        }

    def list_orders(self, query: dict[str, str]) -> dict:
        search = (query.get("search") or "").strip()
        with self.lock:
            # Loose, like a search box: a substring of the channel order id, the AWB or our id.
            rows = [
                self._order_row(o) for o in self.orders.values()
                if not search or search in o.channel_order_id or search == str(o.sr_order_id) or search == (o.awb or "")
            ]
        rows.sort(key=lambda r: r["id"], reverse=True)
        return {"data": rows, "meta": {"pagination": {"total": len(rows), "count": len(rows), "per_page": 15,
                                                      "current_page": 1, "total_pages": 1, "links": {}}}}

    def show_order(self, sr_order_id: int) -> dict:
        with self.lock:
            order = self.orders.get(sr_order_id)
            if order is None:
                raise _bad("Order not found.", 404)
            row = self._order_row(order)
        row["shipments"] = row["shipments"][0]
        return {"data": row}

    def _order_row(self, order: Order) -> dict:
        return {
            "id": order.sr_order_id, "channel_order_id": order.channel_order_id,
            "channel_id": 1234, "status": order.status[0], "status_code": order.status[1],
            "created_at": order.created_at.strftime("%d %b %Y, %I:%M %p"),
            "payment_method": order.payload.get("payment_method"), "total": str(order.payload.get("sub_total")),
            "shipments": [{
                "id": order.shipment_id, "awb": order.awb or "", "courier": order.courier_name or "",
                "pickup_scheduled_date": order.pickup_scheduled_date,
                "pickup_token_number": order.pickup_token_number,
            }],
        }

    def cancel(self, body: dict) -> tuple[dict, list[dict]]:
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids:
            raise _invalid({"ids": ["The ids field is required."]})
        webhooks = []
        with self.lock:
            numbers = [_as_int(i) for i in ids]
            orders = [self.orders[n] for n in numbers if n is not None and n in self.orders]
            if len(orders) != len(ids):  # an id that is not a number, or of no order
                raise _bad("Invalid order id.", 400)
            for order in orders:
                last = order.last_scan_id
                if last is not None and last not in (19,):
                    # UNCONFIRMED: Shiprocket refuses to cancel once the courier has the parcel.
                    raise _bad(f"Order {order.sr_order_id} cannot be cancelled after pickup.", 400)
            for order in orders:
                if order.status == ORDER_CANCELED:
                    continue
                order.status = ORDER_CANCELED
                if order.awb:
                    webhooks.append(self._append_scan(order, 8))
        return {"message": "Order cancelled successfully."}, webhooks

    # -- courier --------------------------------------------------------------------------

    def assign_awb(self, body: dict) -> dict:
        shipment_id = _as_int(body.get("shipment_id"))
        if shipment_id is None:
            raise _invalid({"shipment_id": ["The shipment id field is required."]})
        with self.lock:
            order = self.by_shipment.get(shipment_id)
            if order is None:
                raise _bad("Invalid shipment id", 400)
            if order.status == ORDER_CANCELED:
                raise _bad("Cannot assign AWB to a cancelled order.", 400)
            if order.awb:
                # Asking again without status:"reassign" (documented: 400 "Cannot reassign courier").
                raise _bad("Cannot reassign courier", 400)
            if self.awb_failures:
                message = self.awb_failures.pop(0)
                # The error-in-a-200-body style Shiprocket documents: status 0 plus a reason.
                return {"awb_assign_status": 0, "message": message,
                        "response": {"data": {"awb_assign_error": message}}}
            order.awb = str(next(self._awbs))
            order.courier_name, order.courier_company_id = "Delhivery Surface", 43
            order.awb_assigned_at = datetime.now(IST)
            order.status = ORDER_READY
            self.by_awb[order.awb] = order
            pickup_day = _next_working_day(order.awb_assigned_at)
            return {
                "awb_assign_status": 1,
                "response": {"data": {
                    "courier_company_id": order.courier_company_id, "awb_code": order.awb, "cod": 0,
                    "order_id": order.sr_order_id, "shipment_id": order.shipment_id,
                    "awb_code_status": 1, "assigned_date_time": {"date": _ts(order.awb_assigned_at)},
                    "applied_weight": float(order.payload.get("weight") or 0.5), "company_id": self.account.company_id,
                    "courier_name": order.courier_name, "child_courier_name": None,
                    "pickup_scheduled_date": f"{pickup_day:%Y-%m-%d} 10:00:00", "routing_code": "DEL/ABC",
                    "rto_routing_code": "", "invoice_no": f"Retail{order.sr_order_id}", "transporter_id": "",
                    "transporter_name": "", "shipped_by": {"shipper_company_name": "Bazaar seller"},
                }},
            }

    def generate_pickup(self, body: dict) -> dict:
        ids = body.get("shipment_id")
        if not isinstance(ids, list):
            raise _invalid({"shipment_id": ["The shipment id must be an array."]})
        if len(ids) != 1:
            # UNCONFIRMED: the docs say one shipment at a time; this is how we enforce it.
            raise _invalid({"shipment_id": ["Only one shipment id may be sent at a time."]})
        with self.lock:
            order = self.by_shipment.get(_as_int(ids[0]) or -1)
            if order is None:
                raise _bad("Invalid shipment id", 400)
            if order.status == ORDER_CANCELED:
                raise _bad("Cannot generate pickup for a cancelled order.", 400)
            if not order.awb:
                # Ordering rule: create -> assign AWB -> pickup. UNCONFIRMED: the wording.
                raise _bad("Please assign AWB before generating the pickup.", 400)
            if order.pickup_scheduled_date:
                # UNCONFIRMED: Shiprocket's answer to a second pickup request for one shipment.
                raise _bad("Already in Pickup Queue.", 400)
            day = _next_working_day(datetime.now(IST))
            order.pickup_scheduled_date = f"{day:%Y-%m-%d} 10:00:00"
            order.pickup_token_number = f"Reference No: {next(self._pickup_tokens)}"
            order.status = ORDER_PICKUP
            return {
                "pickup_status": 1,
                "response": {
                    "pickup_scheduled_date": order.pickup_scheduled_date,
                    "pickup_token_number": order.pickup_token_number, "status": 3, "others": "",
                    "pickup_generated_date": {"date": _ts(datetime.now(IST)), "timezone_type": 3,
                                              "timezone": "Asia/Kolkata"},
                    "data": f"Pickup is confirmed by {order.courier_name} For AWB :- {order.awb}",
                },
            }

    def track(self, *, awb: str | None = None, shipment_id: int | None = None) -> dict:
        with self.lock:
            order = self.by_awb.get(awb) if awb is not None else self.by_shipment.get(shipment_id or -1)
            if order is None or (shipment_id is not None and not order.awb):
                # UNCONFIRMED: an unknown AWB; Shiprocket's exact answer is not in our sources.
                raise _bad("AWB not found.", 404) if awb is not None else _bad("Invalid shipment id", 400)
            if not order.scans:
                return {"tracking_data": {
                    "track_status": 0, "shipment_status": 0, "shipment_track": [],
                    "shipment_track_activities": None,
                    "error": "Aahh! There is no activities found in our DB. Please have some patience it will be "
                             "updated soon.",
                }}
            last = order.scans[-1]
            return {"tracking_data": {
                "track_status": 1,
                "shipment_status": order.last_scan_id or 0,
                "shipment_track": [{
                    "id": order.shipment_id + 1, "awb_code": order.awb, "courier_company_id": order.courier_company_id,
                    "shipment_id": order.shipment_id, "order_id": order.sr_order_id,
                    "pickup_date": order.pickup_scheduled_date, "delivered_date": last["date"]
                    if last["sr-status-label"] == "DELIVERED" else None, "weight": str(order.payload.get("weight")),
                    "packages": 1, "current_status": last["sr-status-label"], "delivered_to": "",
                    "destination": order.payload.get("billing_city"), "consignee_name": "",
                    "origin": "Bengaluru", "courier_agent_details": None, "edd": None,
                }],
                "shipment_track_activities": [
                    {k: s[k] for k in ("date", "status", "activity", "location", "sr-status", "sr-status-label")}
                    for s in reversed(order.scans)
                ],
                "track_url": f"https://shiprocket.co/tracking/{order.awb}",
                "etd": f"{_next_working_day(order.created_at + timedelta(days=3)):%Y-%m-%d} 23:59:00",
                "qc_response": {"qc_image": "", "qc_failed_reason": ""},
            }}

    # -- scan engine ----------------------------------------------------------------------

    def advance(self, shipment_id: int, to: Any = None) -> list[dict]:
        """Walks the shipment to `to` (a scheme A id or label; None: one step), appending a scan
        per status passed. Returns the webhook payloads to deliver, oldest first."""
        with self.lock:
            order = self._shipment_for_scans(shipment_id)
            current = order.last_scan_id
            if current in TERMINAL:
                raise _bad(f"shipment {shipment_id} is already {SCHEME_A[current]}", 409)
            target = _status_id(to) if to is not None else None
            steps = _walk(current, target)
            if not steps:
                raise _bad(f"shipment {shipment_id} cannot move from {current} to {to}", 409)
            return [self._append_scan(order, status) for status in steps]

    def inject_scan(self, shipment_id: int, status: Any, label: str | None = None) -> dict:
        """Appends one scan as given, whatever the walk says: a late, out-of-order or unknown
        status (label with `sr-status` "NA" when the status is not a scheme A id)."""
        with self.lock:
            order = self._shipment_for_scans(shipment_id)
            return self._append_scan(order, _status_id(status) if status is not None else None, label)

    def replay(self, shipment_id: int, index: int) -> dict:
        """The webhook payload of an earlier scan again: a duplicate or a late delivery."""
        with self.lock:
            order = self._shipment_for_scans(shipment_id)
            try:
                scan = order.scans[index]
            except IndexError:
                raise _bad(f"shipment {shipment_id} has no scan {index}", 404) from None
            return self._payload(order, scan)

    def _shipment_for_scans(self, shipment_id: int) -> Order:
        order = self.by_shipment.get(shipment_id)
        if order is None:
            raise _bad(f"no shipment {shipment_id}", 404)
        if not order.pickup_scheduled_date:
            raise _bad(f"shipment {shipment_id} has no pickup booked: the courier has nothing to scan", 409)
        return order

    def _append_scan(self, order: Order, status: int | None, label: str | None = None) -> dict:
        previous = _parse_scan_date(order.scans[-1]["date"]) if order.scans else datetime.now(IST)
        at = max(datetime.now(IST).replace(microsecond=0), previous + timedelta(minutes=1))
        code = -1 if status is None else status  # a scan without a status is in no scheme
        known = code in SCHEME_A
        scan = {
            "date": at.strftime("%Y-%m-%d %H:%M:%S"),
            "status": COURIER_CODES.get(code, "UNK") if known else "UNK",
            "activity": (label or SCHEME_A[code]).title() if (label or known) else "Status update",
            "location": "Bengaluru_Hub (Karnataka)" if status in (19, 42, 6) else "Delhi_Hub (Delhi)",
            "sr-status": str(status) if known else "NA",
            "sr-status-label": normalise(label) if label else (SCHEME_A[code] if known else "NA"),
            "_scheme_b": SCHEME_B.get(code) if known else None,
        }
        order.scans.append(scan)
        if status == 8:
            order.status = ORDER_CANCELED
        elif known and code in SCHEME_B:
            order.status = (SCHEME_B[code][1].replace("_", " "), SCHEME_B[code][0])
        return self._payload(order, scan)

    def _payload(self, order: Order, scan: dict) -> dict:
        """The tracking webhook body (docs/providers/shiprocket.md, 'Tracking webhook')."""
        scheme_b = scan.get("_scheme_b")
        scans_so_far = order.scans[: order.scans.index(scan) + 1]
        status_id = int(scan["sr-status"]) if scan["sr-status"].isdigit() else None
        return {
            "awb": order.awb, "courier_name": order.courier_name,
            "current_status": scheme_b[1] if scheme_b else scan["sr-status-label"],
            "current_status_id": scheme_b[0] if scheme_b else None,
            "shipment_status": scan["sr-status-label"], "shipment_status_id": status_id,
            "current_timestamp": _parse_scan_date(scan["date"]).strftime("%d %m %Y %H:%M:%S"),
            "order_id": order.channel_order_id, "sr_order_id": order.sr_order_id, "channel_id": 1234,
            "awb_assigned_date": _ts(order.awb_assigned_at) if order.awb_assigned_at else None,
            "pickup_scheduled_date": order.pickup_scheduled_date,
            "etd": f"{_next_working_day(order.created_at + timedelta(days=3)):%Y-%m-%d} 23:59:00",
            "scans": [{k: s[k] for k in ("date", "status", "activity", "location", "sr-status", "sr-status-label")}
                      for s in scans_so_far],
            "is_return": 0, "pod_status": "", "pod": "", "qc_image": "", "qc_failure_reason": "",
        }


def _walk(current: int | None, target: int | None) -> list[int]:
    """The statuses between `current` and `target` along the forward walk or the NDR -> RTO
    branch. Any other target (LOST, a re-attempt after NDR, ...) is reached in one step."""
    branch = FORWARD[: FORWARD.index(17) + 1] + RTO_BRANCH
    if target is None:
        path = branch if current in RTO_BRANCH else FORWARD
        if current is None:
            return [path[0]]
        if current in path and path.index(current) + 1 < len(path):
            return [path[path.index(current) + 1]]
        return []
    if target == current:
        return []
    path = FORWARD if target in FORWARD and current not in RTO_BRANCH else branch
    if target in path and (current is None or current in path):
        start = path.index(current) + 1 if current is not None else 0
        end = path.index(target) + 1
        return list(path[start:end]) if start < end else []
    return [target]


def _status_id(value: Any) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    wanted = normalise(str(value))
    for status, label in SCHEME_A.items():
        if normalise(label) == wanted:
            return status
    raise _bad(f"unknown status {value!r}; give a scheme A id or one of {sorted(SCHEME_A.values())}", 400)


def _jwt(user_id: int, issued: float, expires: float) -> str:
    """JWT-shaped like Shiprocket's token (header.claims.signature); the signature is random:
    the sandbox checks tokens by lookup, never by signature."""

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")

    claims = {"iss": "https://apiv2.shiprocket.in/v1/external/auth/login", "iat": int(issued), "exp": int(expires),
              "nbf": int(issued), "jti": secrets.token_hex(8), "sub": user_id}
    return f"{part({'typ': 'JWT', 'alg': 'HS256'})}.{part(claims)}.{secrets.token_urlsafe(32)}"


def _number_above(value: Any, minimum: float) -> bool:
    try:
        return float(str(value)) > minimum
    except ValueError:
        return False


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _parse_scan_date(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST)


def _next_working_day(moment: datetime) -> datetime:
    """Pickups roll past Sundays (documented: a Sunday or holiday rolls to the next day)."""
    day = moment + timedelta(days=1)
    return day + timedelta(days=1) if day.weekday() == 6 else day


__all__ = ["Account", "ApiError", "Engine"]
