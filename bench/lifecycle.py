"""One order's whole life over HTTP, as its people live it, against any running local stack (`make
up`, or a stack a script or test started): a seller signs up and lists a product, a shopper
checks out and pays on the PhonePe sandbox, the parcel's scans at the Shiprocket sandbox take it
to delivered, the return window passes (the settlement schedule is run), the daily payout run pays
the seller through the RazorpayX sandbox, and a refund goes through the approval workflow with an
admin approving it. `make demo` runs one life and prints it; `make bench-cost` runs many and
meters what they cost.

Only the API, the sandboxes' control APIs and the twin's /_local/ control API are used: no
storage is read and nothing is written behind the API's back."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import requests

ADDRESS = {"name": "Asha Rao", "phone": "9876543210", "line1": "12 MG Road", "city": "Pune",
           "state": "Maharashtra", "pincode": "411001"}
# Above the policy's automatic approval (REFUND_AUTO_APPROVE_PAISE, 500.00): an admin must approve.
PRICE_PAISE = 149_900
SCANS = (("OUT FOR PICKUP", "SHIPPED"), ("IN TRANSIT", "IN_TRANSIT"),
         ("OUT FOR DELIVERY", "OUT_FOR_DELIVERY"), ("DELIVERED", "DELIVERED"))


class LifecycleError(RuntimeError):
    """A step did not reach the state it waits for."""


@dataclass(frozen=True)
class Endpoints:
    """Where a running stack answers, and its seeded admin (who signs in with a TOTP code)."""

    api: str
    phonepe: str
    shiprocket: str
    razorpayx: str
    admin: dict[str, str]

    @classmethod
    def of_stack(cls, stack) -> Endpoints:
        return cls(stack.url, stack.sandbox("phonepe").url, stack.sandbox("shiprocket").url,
                   stack.sandbox("razorpayx").url, dict(stack.accounts["admin"]))

    @classmethod
    def from_accounts_file(cls, path: Path, api: str = "http://127.0.0.1:8000", phonepe_port: int = 8100,
                           shiprocket_port: int = 8200, razorpayx_port: int = 8300) -> Endpoints:
        """`make up`'s defaults: the accounts it wrote and the ports it listens on."""
        accounts = json.loads(path.read_text())
        return cls(api, f"http://127.0.0.1:{phonepe_port}", f"http://127.0.0.1:{shiprocket_port}",
                   f"http://127.0.0.1:{razorpayx_port}", accounts["admin"])


def until(check: Callable[[], Any], seconds: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(every)
    raise LifecycleError(f"{what}: not within {seconds:.0f} s")


@dataclass
class Client:
    """A signed-in person: their access token and a session of their own."""

    api: str
    token: str = ""
    user_id: str = ""
    session: requests.Session = field(default_factory=requests.Session)

    def call(self, method: str, path: str, body: dict | None = None, *, expect: tuple[int, ...] = (200,),
             idempotent: bool = False, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if idempotent:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        answer = self.session.request(method, f"{self.api}{path}", json=body, params=params or None,
                                      headers=headers, timeout=60)
        if answer.status_code not in expect:
            raise LifecycleError(f"{method} {path} answered {answer.status_code}: {answer.text[:300]}")
        return answer.json() if answer.content else None


def sign_in(api: str, email: str, password: str, totp_secret: str | None = None) -> Client:
    """POST /v1/auth/login, answering the one-time-code challenge as an authenticator app would."""
    client = Client(api)
    answer = client.call("POST", "/v1/auth/login", {"email": email, "password": password})
    if "challenge" in answer:
        if totp_secret is None:
            raise LifecycleError(f"{email} has a second factor and no totp_secret was given")
        answer = client.call("POST", "/v1/auth/login/mfa",
                             {"session": answer["session"], "code": pyotp.TOTP(totp_secret).now()})
    client.token = answer["access_token"]
    client.user_id = client.call("GET", "/v1/me")["user_id"]
    return client


def sign_up(api: str, role: str, name: str) -> Client:
    email = f"{role}-{uuid.uuid4().hex[:10]}@demo.bazaar.local"
    password = f"{uuid.uuid4().hex[:16]}aZ7!"
    Client(api).call("POST", "/v1/auth/register", {"email": email, "password": password, "name": name, "role": role},
                     expect=(201,))
    return sign_in(api, email, password)


class Lifecycle:
    """The people of one life (a seller with a product and a payout account, a shopper) and the
    steps their orders go through. Each step waits for the state it causes, reading it over
    the API; `say` hears each step with the order's status."""

    def __init__(self, endpoints: Endpoints, admin: Client | None = None,
                 say: Callable[[str], None] = lambda line: None):
        self.endpoints, self.say = endpoints, say
        # The reads made only to wait for a state, by kind (a person would be told instead, by
        # the realtime socket or an email): the cost benchmark measures one of each and takes them out.
        self.polls: Counter[str] = Counter()
        self.sandboxes = requests.Session()
        self.admin = admin or sign_in(endpoints.api, **endpoints.admin)
        self.seller = sign_up(endpoints.api, "seller", "Asha Traders")
        self.shopper = sign_up(endpoints.api, "customer", "Ravi Kumar")
        self.product = self.seller.call("POST", "/v1/seller/products", {
            "title": f"Brass kettle {uuid.uuid4().hex[:6]}", "description": "Hand-beaten, 1.5 litres.",
            "category": "kitchen",
            "variants": [{"sku": "KETTLE-1", "title": "1.5 l", "price_paise": PRICE_PAISE, "stock": 100}],
        }, expect=(201,))
        self.seller.call("PUT", "/v1/seller/payout-account", {
            "kind": "bank_account", "holder_name": "Asha Traders", "ifsc": "HDFC0001234",
            "account_number": "50100123456789"})
        self.say(f"seller {self.seller.user_id} listed {self.product['title']!r} at "
                 f"₹{PRICE_PAISE / 100:,.2f} and registered a payout account")

    # -- one order ------------------------------------------------------------------------

    def poll(self, kind: str, order_id: str) -> Any:
        """One read of what a wait watches: `order` (the shopper's order), `earnings` and
        `payouts` (the seller's), `refunds` (the order's refund requests)."""
        self.polls[kind] += 1
        who, path = {"order": (self.shopper, f"/v1/orders/{order_id}"),
                     "earnings": (self.seller, "/v1/seller/earnings"),
                     "payouts": (self.seller, "/v1/seller/payouts"),
                     "refunds": (self.shopper, f"/v1/orders/{order_id}/refunds")}[kind]
        return who.call("GET", path)

    def status(self, order_id: str) -> str:
        return self.poll("order", order_id)["status"]

    def _becomes(self, order_id: str, *statuses: str, seconds: float = 90) -> str:
        return until(lambda: (s := self.status(order_id)) in statuses and s, seconds,
                     f"order {order_id} becoming {'/'.join(statuses)}")

    def checkout(self) -> dict:
        variant = self.product["variants"][0]["variant_id"]
        answer = self.shopper.call("POST", "/v1/checkout", {
            "items": [{"product_id": self.product["product_id"], "variant_id": variant, "quantity": 1}],
            "shipping_address": ADDRESS}, expect=(201,), idempotent=True)
        order = answer["order"]
        self.say(f"order {order['order_id']}: checked out, {order['status']}; pay page "
                 f"{(answer.get('payment') or {}).get('redirect_url')}")
        return order

    def pay(self, order_id: str) -> None:
        """The shopper pays on the sandbox's page; PhonePe's webhook, Bazaar's check of the
        payment and the shipment job follow."""
        self.sandboxes.post(f"{self.endpoints.phonepe}/_sandbox/orders/{order_id}/outcome",
                            json={"outcome": "success"}, timeout=30).raise_for_status()
        self.say(f"order {order_id}: paid on the PhonePe page, {self._becomes(order_id, 'PAID', 'SHIPMENT_CREATED')}")

    def deliver(self, order_id: str, step_by_step: bool = True) -> None:
        """The courier's scans at Shiprocket (signed webhooks back to Bazaar) up to delivered."""
        self._becomes(order_id, "SHIPMENT_CREATED")
        shipment = self.poll("order", order_id)["shipment"]
        self.say(f"order {order_id}: SHIPMENT_CREATED, AWB {shipment.get('awb')}")
        for label, status in SCANS if step_by_step else SCANS[-1:]:
            self.sandboxes.post(f"{self.endpoints.shiprocket}/_sandbox/shipments/{shipment['shipment_id']}/advance",
                                json={"to": label}, timeout=120).raise_for_status()
            self.say(f"order {order_id}: courier scan {label!r}, {self._becomes(order_id, status)}")

    # -- the seller's money -----------------------------------------------------------------

    def earned(self, order_id: str) -> bool:
        return any(i.get("order_id") == order_id for i in self.poll("earnings", order_id)["items"])

    def completed_payout(self) -> dict | None:
        return next((p for p in self.poll("payouts", "")["items"] if p["status"] == "completed"), None)

    def payout_done(self, payout: dict, order_id: str) -> None:
        self.say(f"order {order_id}: {self.status(order_id)}; seller paid out ₹{payout['amount_paise'] / 100:,.2f} "
                 f"through RazorpayX, UTR {payout.get('utr')}")

    # -- a refund through the approval workflow ---------------------------------------------

    def refund(self, order_id: str) -> dict:
        asked = self.shopper.call("POST", f"/v1/orders/{order_id}/refunds", {"reason": "damaged"},
                                  expect=(200, 201, 202), idempotent=True)
        refund_id = asked["refund_id"]
        self.say(f"order {order_id}: refund {refund_id} asked for, {asked['status']}")
        if asked["status"] == "requested":
            # The workflow takes the request once its task waits for a decision (409 until then).
            until(lambda: self.admin.session.post(
                f"{self.endpoints.api}/v1/admin/refunds/{refund_id}/approve", json={"reason": "photo shows the dent"},
                headers={"Authorization": f"Bearer {self.admin.token}"}, timeout=60).status_code == 200,
                120, f"refund {refund_id} awaiting approval", every=0.5)
            self.say(f"order {order_id}: refund {refund_id} approved by an admin")
        def sent() -> dict | None:
            request = self._refund(order_id, refund_id)
            if request["status"] in ("failed", "rejected", "expired"):
                raise LifecycleError(f"refund {refund_id} {request['status']}: {request.get('failure_reason')}")
            return request if request["merchant_refund_id"] and request["status"] == "processing" else None
        request = until(sent, 120, f"refund {refund_id} sent to PhonePe")
        # The id is reserved before PhonePe is asked: the sandbox knows it (no 404) once it was.
        until(lambda: self.sandboxes.post(
            f"{self.endpoints.phonepe}/_sandbox/refunds/{request['merchant_refund_id']}/outcome",
            json={"outcome": "completed"}, timeout=30).status_code == 200, 60,
            f"PhonePe settling refund {request['merchant_refund_id']}")
        done = until(lambda: (r := self._refund(order_id, refund_id))["status"] == "completed" and r, 120,
                     f"refund {refund_id} completing")
        self.say(f"order {order_id}: {self._becomes(order_id, 'REFUNDED')}; ₹{done['amount_paise'] / 100:,.2f} "
                 f"refunded through PhonePe (refund {done['merchant_refund_id']})")
        return done

    def _refund(self, order_id: str, refund_id: str) -> dict:
        items = self.poll("refunds", order_id)["items"]
        return next(r for r in items if r["refund_id"] == refund_id)


def run_schedule(api: str, name: str) -> dict:
    """Fires a schedule now through the local twin's control API (what EventBridge does on time)."""
    answer = requests.post(f"{api}/_local/schedules/{name}/run", timeout=300)
    if answer.status_code != 200:
        raise LifecycleError(f"schedule {name} answered {answer.status_code}: {answer.text[:300]}")
    return answer.json()


def settle(api: str, lives: list[tuple[Lifecycle, str]], seconds: float = 90) -> None:
    """The return window has passed for these delivered orders: the settlement schedule runs
    until each order's Delivered event has reached payouts and the order is on its seller's
    earnings. A stack whose window is longer than its orders' age never gets there."""
    pending = list(lives)

    def all_earned() -> bool:
        run_schedule(api, "payouts-settlement")
        pending[:] = [(life, order) for life, order in pending if not life.earned(order)]
        return not pending
    until(all_earned, seconds, "the delivered orders reaching their sellers' earnings", every=1.0)


def pay_out(api: str, lives: list[Lifecycle], seconds: float = 90) -> list[dict]:
    """The daily payout run, then each seller's payout followed to completed at RazorpayX."""
    run_schedule(api, "payouts-daily")
    return [until(life.completed_payout, seconds, f"seller {life.seller.user_id}'s payout completing")
            for life in lives]
