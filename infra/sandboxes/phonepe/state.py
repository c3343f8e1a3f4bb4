"""What the PhonePe sandbox remembers: merchant credentials, issued tokens, orders (v2 merchant
orders and v1 merchant transactions), refunds, and the scenario switches tests flip.

Pure bookkeeping under one lock; HTTP lives in server.py and webhook delivery in delivery.py.
Written from docs/providers/phonepe.md, 'Provider facts', deliberately without importing Bazaar's own PhonePe
code: a simulator that shared the client's checksum or parsing code would agree with the
client's bugs instead of catching them."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields

PENDING, COMPLETED, FAILED, CONFIRMED = "PENDING", "COMPLETED", "FAILED", "CONFIRMED"

# A v2 order's default life when the merchant sends no expireAfter. Samples use 1200 s; the
# real default and the allowed range for /checkout/v2/pay are UNCONFIRMED
# (docs/providers/phonepe.md, 'v2 Standard Checkout').
DEFAULT_EXPIRE_AFTER_SECONDS = 1200
EXPIRE_AFTER_RANGE = (300, 3600)


def now_ms() -> int:
    return int(time.time() * 1000)


def _provider_id(prefix: str) -> str:
    # PhonePe ids look like OMO2403282020198641071317 (orders) / OM... (attempts) / OMR (refunds):
    # a prefix and digits. Ours: prefix + ms clock + random digits, unique and sortable.
    return f"{prefix}{now_ms()}{secrets.randbelow(10**8):08d}"


@dataclass(frozen=True)
class Credentials:
    """One merchant's credentials: the same JSON the app reads from the `phonepe` secret."""

    merchant_id: str
    client_id: str
    client_secret: str
    client_version: str
    salt_key: str
    salt_index: str
    webhook_username: str
    webhook_password: str

    @classmethod
    def from_secret(cls, value: Mapping[str, str]) -> Credentials:
        return cls(**{f.name: str(value[f.name]) for f in fields(cls)})


@dataclass
class Attempt:
    transaction_id: str
    state: str
    amount: int
    timestamp: int
    payment_mode: str = "UPI_INTENT"
    error_code: str | None = None
    detailed_error_code: str | None = None
    utr: str = field(default_factory=lambda: f"{secrets.randbelow(10**12):012d}")


@dataclass
class Order:
    api: str  # "v1" | "v2"
    merchant_order_id: str
    order_id: str
    amount: int
    expire_at: int  # epoch ms
    redirect_url: str
    redirect_mode: str = "GET"
    callback_url: str | None = None
    merchant_user_id: str | None = None
    meta_info: dict | None = None
    state: str = PENDING
    error_code: str | None = None
    detailed_error_code: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    created_at: int = field(default_factory=now_ms)

    @property
    def terminal(self) -> bool:
        return self.state in (COMPLETED, FAILED)


@dataclass
class Refund:
    api: str
    merchant_refund_id: str
    refund_id: str
    original_merchant_order_id: str
    amount: int
    callback_url: str | None = None
    state: str = PENDING
    timestamp: int = field(default_factory=now_ms)
    error_code: str | None = None
    detailed_error_code: str | None = None

    @property
    def terminal(self) -> bool:
        return self.state in (COMPLETED, FAILED)


@dataclass
class Scenarios:
    """Switches a test flips through POST /_sandbox/scenarios; counters count down per call."""

    throttle_next: int = 0  # the next N API calls answer 429 ...
    retry_after_seconds: int = 1  # ... with this Retry-After
    status_failures: int = 0  # the next N status calls fail ...
    status_failure_mode: str = "internal_error"  # ... with PhonePe's INTERNAL_SERVER_ERROR, or "gateway_error" (bare 502)
    pay_timeouts: int = 0  # the next N pay calls create the order, then stall ...
    pay_delay_seconds: float = 3.0  # ... this long before answering
    webhook_copies: int = 1  # each webhook delivered this many times, concurrently
    webhook_delay_seconds: float = 0.0
    drop_webhooks: int = 0  # the next N webhooks are never sent
    hold_webhooks: bool = False  # keep webhooks until POST /_sandbox/webhooks/release (out-of-order delivery)

    def update(self, changes: Mapping[str, object]) -> None:
        known = {f.name: f.type for f in fields(self)}
        unknown = set(changes) - set(known)
        if unknown:
            raise ValueError(f"unknown scenario fields: {sorted(unknown)}")
        for name, value in changes.items():
            current = getattr(self, name)
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif isinstance(current, int):
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{name} must be a non-negative integer")
            elif isinstance(current, float):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ValueError(f"{name} must be a non-negative number")
                value = float(value)
            elif name == "status_failure_mode" and value not in ("internal_error", "gateway_error"):
                raise ValueError("status_failure_mode must be internal_error or gateway_error")
            setattr(self, name, value)
        if self.webhook_copies < 1:
            raise ValueError("webhook_copies must be at least 1")

    def as_dict(self) -> dict:
        return asdict(self)


class SandboxState:
    def __init__(self, credentials: Credentials, token_ttl_seconds: int):
        self.credentials = credentials
        self.token_ttl_seconds = token_ttl_seconds
        self.lock = threading.RLock()
        self.tokens: dict[str, int] = {}  # access token -> expires_at (epoch s)
        self.orders: dict[str, Order] = {}  # by merchant order / transaction id
        self.orders_by_provider_id: dict[str, Order] = {}
        self.refunds: dict[str, Refund] = {}
        self.scenarios = Scenarios()
        self.calls: dict[str, int] = {}  # "METHOD /path-template" -> count, for tests

    # -- scenario counters --------------------------------------------------------------

    def take(self, counter: str) -> bool:
        """Consumes one unit of a countdown scenario; True if it applied to this call."""
        with self.lock:
            left = getattr(self.scenarios, counter)
            if left > 0:
                setattr(self.scenarios, counter, left - 1)
                return True
            return False

    def count(self, key: str) -> None:
        with self.lock:
            self.calls[key] = self.calls.get(key, 0) + 1

    # -- tokens --------------------------------------------------------------------------

    def issue_token(self) -> dict:
        issued_at = int(time.time())
        expires_at = issued_at + self.token_ttl_seconds
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = expires_at
        return {
            "access_token": token,
            "encrypted_access_token": secrets.token_urlsafe(48),
            "token_type": "O-Bearer",
            "issued_at": issued_at,
            "expires_at": expires_at,
            "expires_in": None,
            "session_expires_at": expires_at,
            "refresh_token": None,
        }

    def token_problem(self, token: str) -> str | None:
        with self.lock:
            expires_at = self.tokens.get(token)
        if expires_at is None:
            return "INVALID_TOKEN"
        if time.time() >= expires_at:
            return "TOKEN_EXPIRED"
        return None

    def expire_tokens(self) -> int:
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = 0
            return len(self.tokens)

    # -- orders and refunds ------------------------------------------------------------

    def add_order(self, order: Order) -> bool:
        with self.lock:
            if order.merchant_order_id in self.orders:
                return False
            self.orders[order.merchant_order_id] = order
            self.orders_by_provider_id[order.order_id] = order
            return True

    def new_order_id(self) -> str:
        return _provider_id("OMO")

    def order(self, merchant_order_id: str) -> Order | None:
        with self.lock:
            order = self.orders.get(merchant_order_id)
        return order

    def attempt(self, transaction_id: str) -> tuple[Order, Attempt] | None:
        with self.lock:
            for order in self.orders.values():
                for attempt in order.attempts:
                    if attempt.transaction_id == transaction_id:
                        return order, attempt
        return None

    def expire_if_due(self, order: Order) -> bool:
        """An order past expireAt without a verdict fails; True if it just did."""
        with self.lock:
            if order.state == PENDING and now_ms() >= order.expire_at:
                self._fail(order, "TXN_AUTO_FAILED", "ORDER_EXPIRED")
                return True
        return False

    def apply_outcome(self, order: Order, outcome: str) -> list[str]:
        """What the shopper did on the pay page. Returns the events this caused (for webhooks).
        Raises ValueError for an unknown outcome or an order already decided."""
        with self.lock:
            if order.terminal:
                raise ValueError(f"order {order.merchant_order_id} is already {order.state}")
            if outcome == "pending":
                order.attempts.append(Attempt(_provider_id("OM"), PENDING, order.amount, now_ms()))
                return []
            if outcome == "success":
                order.attempts.append(Attempt(_provider_id("OM"), COMPLETED, order.amount, now_ms()))
                order.state = COMPLETED
                return ["order.completed"]
            if outcome == "failure":
                order.attempts.append(
                    Attempt(_provider_id("OM"), FAILED, order.amount, now_ms(),
                            error_code="PAYMENT_DECLINED", detailed_error_code="ZM")
                )
                self._fail(order, "PAYMENT_DECLINED", "ZM")
                return ["order.failed"]
            if outcome == "attempt_failed":
                # The shopper's attempt failed but the order stays open for a retry on the page.
                order.attempts.append(
                    Attempt(_provider_id("OM"), FAILED, order.amount, now_ms(),
                            error_code="PAYMENT_DECLINED", detailed_error_code="U30")
                )
                return ["transaction.attempt.failed"]
            if outcome == "expire":
                self._fail(order, "TXN_AUTO_FAILED", "ORDER_EXPIRED")
                return ["order.failed"]
            raise ValueError("outcome must be success, failure, pending, attempt_failed or expire")

    def _fail(self, order: Order, code: str, detail: str) -> None:
        order.state = FAILED
        order.error_code, order.detailed_error_code = code, detail
        for attempt in order.attempts:
            if attempt.state == PENDING:
                attempt.state, attempt.error_code, attempt.detailed_error_code = FAILED, code, detail

    def refundable(self, order: Order) -> int:
        """Order amount minus every refund not FAILED: refunds are capped cumulatively."""
        with self.lock:
            taken = sum(
                r.amount for r in self.refunds.values()
                if r.original_merchant_order_id == order.merchant_order_id and r.state != FAILED
            )
        return order.amount - taken

    def add_refund(self, refund: Refund, order: Order) -> str | None:
        """Records a refund; returns an error code if it may not be made."""
        with self.lock:
            if refund.merchant_refund_id in self.refunds or refund.merchant_refund_id in self.orders:
                return "DUPLICATE_MERCHANT_REFUND_ID"
            if order.state != COMPLETED:
                return "ORDER_NOT_COMPLETED"
            if refund.amount > self.refundable(order):
                return "REFUND_AMOUNT_EXCEEDED"
            self.refunds[refund.merchant_refund_id] = refund
            return None

    def new_refund_id(self) -> str:
        return _provider_id("OMR")

    def refund(self, merchant_refund_id: str) -> Refund | None:
        with self.lock:
            return self.refunds.get(merchant_refund_id)

    def settle_refund(self, refund: Refund, outcome: str) -> list[str]:
        """PENDING -> CONFIRMED -> COMPLETED | FAILED. Returns the events it caused, in order."""
        with self.lock:
            if refund.terminal:
                raise ValueError(f"refund {refund.merchant_refund_id} is already {refund.state}")
            events = []
            if outcome in ("confirmed", "completed") and refund.state == PENDING:
                refund.state = CONFIRMED
                events.append("refund.accepted")
            if outcome == "completed":
                refund.state = COMPLETED
                events.append("refund.completed")
            elif outcome == "failed":
                refund.state = FAILED
                refund.error_code, refund.detailed_error_code = "REFUND_FAILED", "BANK_DECLINED"
                events.append("refund.failed")
            elif outcome != "confirmed":
                raise ValueError("outcome must be confirmed, completed or failed")
            refund.timestamp = now_ms()
            return events

    def reset(self, *, keep_orders: bool) -> None:
        with self.lock:
            self.scenarios = Scenarios()
            self.calls.clear()
            if not keep_orders:
                self.orders.clear()
                self.orders_by_provider_id.clear()
                self.refunds.clear()
                self.tokens.clear()
