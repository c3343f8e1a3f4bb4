"""The RazorpayX simulator's state and rules, without HTTP: contacts and fund accounts with their
natural dedupe, payouts with the idempotency-key store, the account balance and its queue, and
the state walk each payout takes. server.py puts HTTP, auth, faults, a clock thread and signed
webhook delivery around it.

Shapes and rules follow docs/providers/razorpayx.md, 'Provider facts'. Where that says UNCONFIRMED,
the choice made here is marked `UNCONFIRMED:` and listed there under 'Sandbox'.

The walk is driven by `run_due(now)`: each payout has at most one next step on a timeline (its
`generation` makes older steps stale), so a step applied by hand (`advance`) cancels the planned
one and the walk resumes from wherever the payout now is.
"""

from __future__ import annotations

import heapq
import itertools
import json
import re
import secrets
import string
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.sandboxes import common

MODES = ("IMPS", "NEFT", "RTGS", "UPI")
PURPOSES = ("refund", "cashback", "payout", "salary", "utility bill", "vendor bill", "custom")
CONTACT_TYPES = ("vendor", "customer", "employee", "self")
OUTCOMES = ("processed", "failed", "reversed", "rejected")
TERMINAL = frozenset({"processed", "reversed", "failed", "rejected", "cancelled"})
PAYOUT_FIELDS = frozenset({"account_number", "fund_account_id", "amount", "currency", "mode", "purpose",
                           "queue_if_low_balance", "reference_id", "narration", "notes"})
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_ -]{4,36}$")
ACCOUNT_NUMBER = re.compile(r"^[A-Za-z0-9]{5,35}$")
IFSC = re.compile(r"^[A-Za-z0-9]{11}$")  # the documented rule is only "11 characters"
VPA = re.compile(r"^[a-zA-Z0-9.\-_]{2,256}@[a-zA-Z]{2,64}$")
NARRATION = re.compile(r"^[A-Za-z0-9 ]{1,30}$")
MINIMUM_AMOUNT = 100
DEFAULT_BALANCE_PAISE = 10_000_000_00  # ₹1 crore: enough that only tests that want a low balance see one
DEFAULT_SETTLE_DELAY_SECONDS = 0.2
GST_PERCENT = 18
# Which status a step leads to from which; `utr` is a step that changes no status.
EDGES = {
    "pending": ("processing", "rejected"),
    "queued": ("processing", "cancelled"),
    "processing": ("processed", "failed"),
    "processed": ("reversed",),
}
EVENT_FOR_STATUS = {
    "pending": "payout.pending", "queued": "payout.queued", "processing": "payout.initiated",
    "processed": "payout.processed", "failed": "payout.failed", "reversed": "payout.reversed",
    "rejected": "payout.rejected",
}
# UNCONFIRMED: these descriptions and reasons are ours; RazorpayX documents the fields, not the texts.
DETAILS = {
    "queued": ("Payout is queued as the account balance is low.", "business", "low_balance"),
    "processing": ("Payout is being processed by the beneficiary bank.", "beneficiary_bank", "payout_bank_processing"),
    "processed": ("Payout is processed and the money has been credited into the beneficiary account.",
                  "beneficiary_bank", "payout_processed"),
    "failed": ("Payout failed as the beneficiary account details are invalid.", "beneficiary_bank",
               "invalid_beneficiary_details"),
    "reversed": ("Payout was returned by the beneficiary bank.", "beneficiary_bank", "beneficiary_bank_returned"),
    "rejected": ("Payout was rejected in the approval workflow.", "business", "rejected_by_approver"),
    "pending": ("Payout is waiting for approval.", "business", "pending_approval"),
    "cancelled": ("Payout was cancelled by the user.", "business", "cancelled_by_user"),
}
BANK_NAMES = {"HDFC": "HDFC Bank", "ICIC": "ICICI Bank", "SBIN": "State Bank of India", "UTIB": "Axis Bank",
              "KKBK": "Kotak Mahindra Bank", "YESB": "Yes Bank", "RATN": "RBL Bank"}


class ApiError(common.ApiError):
    """An answer other than 2xx, in RazorpayX's error envelope."""

    def __init__(self, status: int, body: dict):
        super().__init__(status, body, body.get("error", {}).get("description"))


def error(status: int, description: str, *, field: str | None = None, code: str = "BAD_REQUEST_ERROR",
          source: str = "business", step: str = "payout_initiation", reason: str = "input_validation_failed") -> ApiError:
    body: dict[str, Any] = {"code": code, "description": description, "source": source, "step": step,
                            "reason": reason, "metadata": {}}
    if field is not None:
        body["field"] = field
    return ApiError(status, {"error": body})


def _bad(description: str, field: str | None = None, reason: str = "input_validation_failed") -> ApiError:
    return error(400, description, field=field, reason=reason)


def _no_such_id() -> ApiError:
    # UNCONFIRMED: an unknown id is a 400 with this description (as Razorpay's payments API answers).
    return _bad("The id provided does not exist", field="id", reason="NA")


def new_id(prefix: str) -> str:
    """RazorpayX-shaped: a prefix and 14 base62 characters."""
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(14))


@dataclass(frozen=True)
class Outcome:
    kind: str  # processed | failed | reversed | rejected
    reason: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Event:
    """One webhook, fixed when it happened: replays send these very bytes again."""

    event_id: str
    event: str
    payout_id: str
    status: str
    body: bytes


@dataclass
class Payout:
    id: str
    fund_account_id: str
    amount: int
    fees: int
    tax: int
    mode: str
    purpose: str
    reference_id: str | None
    narration: str | None
    notes: dict
    created_at: int
    outcome: Outcome
    status: str = "processing"
    utr: str | None = None
    status_details: dict | None = None
    debited: bool = False
    generation: int = 0
    history: list[str] = field(default_factory=list)

    @property
    def cost(self) -> int:
        return self.amount + self.fees + self.tax

    def entity(self) -> dict:
        return {
            "id": self.id, "entity": "payout", "fund_account_id": self.fund_account_id, "amount": self.amount,
            "currency": "INR", "notes": dict(self.notes), "fees": self.fees, "tax": self.tax, "status": self.status,
            "purpose": self.purpose, "utr": self.utr, "mode": self.mode, "reference_id": self.reference_id,
            "narration": self.narration, "batch_id": None,
            "status_details": dict(self.status_details) if self.status_details else None,
            "created_at": self.created_at, "fee_type": None,
        }


class Engine:
    """All state behind one lock. API methods return (status, answer, events) or raise ApiError;
    the caller delivers the events after the lock is released."""

    def __init__(self, *, account_number: str, balance_paise: int = DEFAULT_BALANCE_PAISE,
                 settle_delay_seconds: float = DEFAULT_SETTLE_DELAY_SECONDS, fee_paise: int = 0,
                 monotonic: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time):
        self.account_number = account_number
        self.account_id = new_id("acc_")
        self.initial_balance = balance_paise
        self.settle_delay_seconds = settle_delay_seconds
        self.fee_paise = fee_paise
        self.monotonic = monotonic
        self.wall_clock = wall_clock
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.balance = self.initial_balance
            self.contacts: dict[str, dict] = {}
            self._contact_keys: dict[tuple, str] = {}
            self.fund_accounts: dict[str, dict] = {}
            self._fund_account_keys: dict[tuple, str] = {}
            self.payouts: dict[str, Payout] = {}
            self._queued: deque[str] = deque()  # low-balance queue, oldest first
            self._idempotency: dict[str, tuple[str, int, dict]] = {}  # key -> (body fingerprint, status, answer)
            self.outcomes: deque[Outcome] = deque()
            self._timeline: list[tuple[float, int, str, int, str]] = []
            self._sequence = itertools.count()
            self._utrs = itertools.count(1)

    # -- contacts and fund accounts -------------------------------------------------------

    def create_contact(self, body: dict) -> tuple[int, dict]:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _bad("The name field is required.", "name")
        kind = body.get("type")
        if kind is not None and kind not in CONTACT_TYPES:
            raise _bad("Invalid type: " + str(kind), "type")
        email = body.get("email")
        if email is not None and (not isinstance(email, str) or "@" not in email):
            raise _bad("The email must be a valid email address.", "email")
        reference_id = body.get("reference_id")
        if reference_id is not None and (not isinstance(reference_id, str) or len(reference_id) > 40):
            raise _bad("The reference id may not be greater than 40 characters.", "reference_id")
        key = (name, email, body.get("contact"), kind, reference_id)
        with self.lock:
            existing = self._contact_keys.get(key)
            if existing is not None:
                # UNCONFIRMED: the same contact again answers 200 (a new one 201).
                return 200, dict(self.contacts[existing])
            contact_id = new_id("cont_")
            contact: dict[str, Any] = {"id": contact_id, "entity": "contact", "name": name, "contact": body.get("contact"),
                       "email": email, "type": kind, "reference_id": reference_id, "batch_id": None,
                       "active": True, "notes": body.get("notes") or {}, "created_at": int(self.wall_clock())}
            self.contacts[contact_id] = contact
            self._contact_keys[key] = contact_id
            return 201, dict(contact)

    def get_contact(self, contact_id: str) -> dict:
        with self.lock:
            if contact_id not in self.contacts:
                raise _no_such_id()
            return dict(self.contacts[contact_id])

    def create_fund_account(self, body: dict) -> tuple[int, dict]:
        contact_id = body.get("contact_id")
        if not isinstance(contact_id, str) or not contact_id:
            raise _bad("The contact id field is required.", "contact_id")
        account_type = body.get("account_type")
        if account_type == "bank_account":
            bank = body.get("bank_account")
            if not isinstance(bank, dict):
                raise _bad("The bank account field is required when account type is bank_account.", "bank_account")
            name, ifsc, number = bank.get("name"), bank.get("ifsc"), bank.get("account_number")
            if not isinstance(name, str) or not name.strip():
                raise _bad("The name field is required.", "name")
            if not isinstance(ifsc, str) or not IFSC.fullmatch(ifsc):
                raise _bad("The ifsc must be 11 characters.", "ifsc")
            if not isinstance(number, str) or not ACCOUNT_NUMBER.fullmatch(number):
                raise _bad("The account number must be between 5 and 35 characters, letters and digits only.",
                           "account_number")
            key: tuple = (contact_id, account_type, name, ifsc.upper(), number)
            details = {"bank_account": {"ifsc": ifsc.upper(), "bank_name": BANK_NAMES.get(ifsc[:4].upper(), ifsc[:4]),
                                        "name": name, "notes": [], "account_number": number}}
        elif account_type == "vpa":
            vpa = body.get("vpa")
            address = vpa.get("address") if isinstance(vpa, dict) else None
            if not isinstance(address, str) or not VPA.fullmatch(address):
                raise _bad("Invalid VPA. Please enter a valid Virtual Payment Address", "address")
            key = (contact_id, account_type, address.lower())
            username, _, handle = address.rpartition("@")
            details = {"vpa": {"username": username, "handle": handle, "address": address}}
        else:
            raise _bad("Invalid account type: " + str(account_type), "account_type")
        with self.lock:
            if contact_id not in self.contacts:
                raise _bad("The id provided does not exist", "contact_id", reason="NA")
            existing = self._fund_account_keys.get(key)
            if existing is not None:
                return 200, dict(self.fund_accounts[existing])  # UNCONFIRMED: 200 for the existing one
            fund_account = {"id": new_id("fa_"), "entity": "fund_account", "contact_id": contact_id,
                            "account_type": account_type, **details, "batch_id": None, "active": True,
                            "created_at": int(self.wall_clock())}
            self.fund_accounts[fund_account["id"]] = fund_account
            self._fund_account_keys[key] = fund_account["id"]
            return 201, dict(fund_account)

    def get_fund_account(self, fund_account_id: str) -> dict:
        with self.lock:
            if fund_account_id not in self.fund_accounts:
                raise _no_such_id()
            return dict(self.fund_accounts[fund_account_id])

    def list_fund_accounts(self, query: dict[str, str]) -> dict:
        with self.lock:
            items = [dict(f) for f in self.fund_accounts.values()
                     if not query.get("contact_id") or f["contact_id"] == query["contact_id"]]
        items.reverse()  # newest first
        return {"entity": "collection", "count": len(items), "items": items}

    # -- payouts --------------------------------------------------------------------------

    def create_payout(self, idempotency_key: str | None, body: dict) -> tuple[int, dict, list[Event]]:
        if idempotency_key is None or not idempotency_key.strip():
            raise _bad("The X-Payout-Idempotency header is required.", "X-Payout-Idempotency")
        if not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise _bad("The X-Payout-Idempotency header must be 4 to 36 characters from A-Z, a-z, 0-9, "
                       "space, underscore and hyphen.", "X-Payout-Idempotency")
        # UNCONFIRMED: "same body" is compared as parsed JSON (key order and spacing do not count).
        fingerprint = json.dumps(body, sort_keys=True, separators=(",", ":"))
        with self.lock:
            saved = self._idempotency.get(idempotency_key)
            if saved is not None:
                if saved[0] != fingerprint:
                    raise _bad("Different request body sent for the same idempotency key.", "X-Payout-Idempotency",
                               reason="idempotency_key_reused")
                return saved[1], json.loads(json.dumps(saved[2])), []
            status, answer, events = self._new_payout(body)
            # UNCONFIRMED: only a created payout is remembered; a refused request leaves the key free,
            # so a corrected body may use it (nothing was created under it).
            self._idempotency[idempotency_key] = (fingerprint, status, answer)
            return status, json.loads(json.dumps(answer)), events

    def _new_payout(self, body: dict) -> tuple[int, dict, list[Event]]:
        for name in body:
            if name not in PAYOUT_FIELDS:
                # UNCONFIRMED: unknown fields are refused, as Razorpay's API does for other resources.
                raise _bad(f"{name} is/are not required and should not be sent", name, reason="NA")
        if body.get("account_number") != self.account_number:
            raise _bad("The account number is invalid.", "account_number")
        fund_account = self.fund_accounts.get(str(body.get("fund_account_id")))
        if fund_account is None:
            raise _bad("The fund account id provided does not exist", "fund_account_id", reason="NA")
        amount = body.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < MINIMUM_AMOUNT:
            raise _bad(f"The amount must be at least {MINIMUM_AMOUNT}.", "amount")
        if body.get("currency") != "INR":
            raise _bad("The currency must be INR.", "currency")
        mode = body.get("mode")
        if mode not in MODES:
            raise _bad("The selected mode is invalid.", "mode")
        if (mode == "UPI") != (fund_account["account_type"] == "vpa"):
            raise _bad(f"{mode} is not supported for fund account type {fund_account['account_type']}", "mode")
        purpose = body.get("purpose")
        if purpose not in PURPOSES:
            raise _bad("The selected purpose is invalid.", "purpose")
        queue_if_low = body.get("queue_if_low_balance", False)
        if not isinstance(queue_if_low, bool):
            raise _bad("The queue if low balance field must be true or false.", "queue_if_low_balance")
        reference_id = body.get("reference_id")
        if reference_id is not None and (not isinstance(reference_id, str) or len(reference_id) > 40):
            raise _bad("The reference id may not be greater than 40 characters.", "reference_id")
        narration = body.get("narration")
        if narration is not None and (not isinstance(narration, str) or not NARRATION.fullmatch(narration)):
            raise _bad("The narration may have at most 30 letters, digits and spaces.", "narration")
        notes = body.get("notes", {})
        if not isinstance(notes, dict) or len(notes) > 15 or any(len(str(v)) > 256 for v in notes.values()):
            raise _bad("The notes may have at most 15 keys of at most 256 characters.", "notes")
        tax = self.fee_paise * GST_PERCENT // 100
        outcome = self.outcomes.popleft() if self.outcomes else Outcome("processed")
        payout = Payout(
            id=new_id("pout_"), fund_account_id=fund_account["id"], amount=amount, fees=self.fee_paise, tax=tax,
            mode=mode, purpose=purpose, reference_id=reference_id, narration=narration, notes=dict(notes),
            created_at=int(self.wall_clock()), outcome=outcome,
        )
        if outcome.kind == "rejected":
            # A rejection happens in the approval workflow: the payout waits there, never debited.
            events = self._enter(payout, "pending")
        elif payout.cost <= self.balance:
            events = self._enter(payout, "processing")
        elif queue_if_low:
            events = self._enter(payout, "queued")
            self._queued.append(payout.id)
        else:
            raise _bad("Your account does not have enough balance to carry out the payout operation.",
                       reason="insufficient_balance")
        self.payouts[payout.id] = payout
        return 200, payout.entity(), events

    def get_payout(self, payout_id: str) -> dict:
        with self.lock:
            payout = self.payouts.get(payout_id)
            if payout is None:
                raise _no_such_id()
            return payout.entity()

    def list_payouts(self, query: dict[str, str]) -> dict:
        if not query.get("account_number"):
            raise _bad("The account number field is required.", "account_number")
        if query["account_number"] != self.account_number:
            raise _bad("The account number is invalid.", "account_number")
        filters = {k: query[k] for k in ("reference_id", "status", "fund_account_id", "mode") if query.get(k)}
        try:
            count = min(100, max(1, int(query.get("count", 10))))
            skip = max(0, int(query.get("skip", 0)))
        except ValueError:
            raise _bad("count and skip must be integers.", "count") from None
        with self.lock:
            matching = [p.entity() for p in self.payouts.values()
                        if all(p.entity().get(k) == v for k, v in filters.items())]
        matching.reverse()  # newest first
        items = matching[skip: skip + count]
        return {"entity": "collection", "count": len(items), "items": items}

    def cancel_payout(self, payout_id: str) -> tuple[dict, list[Event]]:
        with self.lock:
            payout = self.payouts.get(payout_id)
            if payout is None:
                raise _no_such_id()
            if payout.status != "queued":
                raise _bad(f"Payout can be cancelled only while queued; it is {payout.status}.", "id",
                           reason="payout_not_queued")
            events = self._enter(payout, "cancelled")
            return payout.entity(), events

    # -- balance --------------------------------------------------------------------------

    def set_balance(self, *, set_to: int | None = None, add: int | None = None) -> tuple[list[str], list[Event]]:
        """Tops up (or sets) the balance, then releases queued payouts oldest first while the
        balance covers them. UNCONFIRMED: release stops at the first one it cannot cover."""
        with self.lock:
            if set_to is not None:
                self.balance = set_to
            if add is not None:
                self.balance += add
            return self._release_queued()

    def _release_queued(self) -> tuple[list[str], list[Event]]:
        released, events = [], []
        while self._queued:
            payout = self.payouts[self._queued[0]]
            if payout.status != "queued":
                self._queued.popleft()
                continue
            if payout.cost > self.balance:
                break
            self._queued.popleft()
            released.append(payout.id)
            events += self._enter(payout, "processing")
        return released, events

    # -- the walk -------------------------------------------------------------------------

    def add_outcomes(self, kind: str, count: int = 1, reason: str | None = None,
                     description: str | None = None) -> int:
        if kind not in OUTCOMES:
            raise ApiError(400, {"message": f"outcome must be one of {OUTCOMES}"})
        with self.lock:
            self.outcomes.extend([Outcome(kind, reason, description)] * count)
            return len(self.outcomes)

    def advance(self, payout_id: str, to: str) -> list[Event]:
        """Walks the payout to `to` now, through the statuses in between (a UTR on the way to
        processed), cancelling its planned step; the walk resumes from there."""
        with self.lock:
            payout = self.payouts.get(payout_id)
            if payout is None:
                raise ApiError(404, {"message": f"no payout {payout_id}"})
            path = _path(payout.status, to)
            if path is None:
                raise ApiError(409, {"message": f"payout {payout_id} cannot go from {payout.status} to {to}"})
            if path and path[0] == "processing" and payout.status in ("queued", "pending") \
                    and payout.cost > self.balance:
                raise ApiError(409, {"message": f"payout {payout_id} is queued for balance: top the balance up"})
            events: list[Event] = []
            for status in path:
                if status == "processed" and payout.utr is None:
                    events += self._assign_utr(payout)
                events += self._enter(payout, status)
            return events

    def next_due(self) -> float | None:
        with self.lock:
            return self._timeline[0][0] if self._timeline else None

    def run_due(self, now: float) -> list[Event]:
        events: list[Event] = []
        with self.lock:
            while self._timeline and self._timeline[0][0] <= now:
                _, _, payout_id, generation, step = heapq.heappop(self._timeline)
                payout = self.payouts.get(payout_id)
                if payout is None or payout.generation != generation:
                    continue  # reset, or overtaken by a step applied by hand
                events += self._assign_utr(payout) if step == "utr" else self._enter(payout, step)
        return events

    def _enter(self, payout: Payout, status: str) -> list[Event]:
        if status == "processing" and not payout.debited:
            self.balance -= payout.cost
            payout.debited = True
        if status in ("failed", "reversed") and payout.debited:
            self.balance += payout.cost  # the money comes back to the account, fees included
            payout.debited = False
        payout.status = status
        payout.history.append(status)
        description, source, reason = DETAILS[status]
        if status == payout.outcome.kind:
            description = payout.outcome.description or description
            reason = payout.outcome.reason or reason
        payout.status_details = {"description": description, "source": source, "reason": reason}
        if status == "processed" and payout.utr is None:
            payout.utr = self._utr()
        self._plan_next(payout)
        name = EVENT_FOR_STATUS.get(status)
        # UNCONFIRMED: no webhook for a cancelled payout (none is documented).
        events = [self._event(payout, name)] if name else []
        if status in ("failed", "reversed"):
            events += self._release_queued()[1]  # the money back may cover queued payouts
        return events

    def _assign_utr(self, payout: Payout) -> list[Event]:
        payout.utr = self._utr()
        payout.history.append("utr")
        self._plan_next(payout)
        return [self._event(payout, "payout.updated")]

    def _plan_next(self, payout: Payout) -> None:
        """One next step per payout, from its status and its outcome."""
        payout.generation += 1
        delay = self.settle_delay_seconds
        step: tuple[float, str] | None = None
        if payout.status == "pending" and payout.outcome.kind == "rejected":
            step = (delay, "rejected")
        elif payout.status == "processing":
            if payout.outcome.kind == "failed":
                step = (delay, "failed")
            else:
                step = (delay / 2, "processed") if payout.utr else (delay / 2, "utr")
        elif payout.status == "processed" and payout.outcome.kind == "reversed":
            step = (delay, "reversed")
        if step is not None:
            heapq.heappush(self._timeline, (self.monotonic() + step[0], next(self._sequence), payout.id,
                                            payout.generation, step[1]))

    def _utr(self) -> str:
        # IMPS/UPI UTRs are 12 digits; NEFT and RTGS ones are longer alphanumerics. One shape will do.
        return f"{int(self.wall_clock()) % 10**6:06d}{next(self._utrs):06d}"

    def _event(self, payout: Payout, name: str) -> Event:
        envelope = {
            "entity": "event", "account_id": self.account_id, "event": name, "contains": ["payout"],
            "payload": {"payout": {"entity": payout.entity()}}, "created_at": int(self.wall_clock()),
        }
        return Event(event_id=new_id(""), event=name, payout_id=payout.id, status=payout.status,
                     body=json.dumps(envelope, separators=(",", ":")).encode())

    def summary(self) -> dict:
        with self.lock:
            return {
                "balance": self.balance,
                "payouts": [{**p.entity(), "outcome": p.outcome.kind, "history": list(p.history)}
                            for p in self.payouts.values()],
                "contacts": [dict(c) for c in self.contacts.values()],
                "fund_accounts": [dict(f) for f in self.fund_accounts.values()],
                "queued": list(self._queued),
                "outcomes": [o.kind for o in self.outcomes],
            }


def _path(current: str, target: str) -> list[str] | None:
    """The statuses from `current` to `target` along EDGES (shortest), or None."""
    if target == current:
        return []
    frontier: deque[tuple[str, list[str]]] = deque([(current, [])])
    seen = {current}
    while frontier:
        status, path = frontier.popleft()
        for nxt in EDGES.get(status, ()):
            if nxt == target:
                return [*path, nxt]
            if nxt not in seen:
                seen.add(nxt)
                frontier.append((nxt, [*path, nxt]))
    return None


__all__ = ["ApiError", "Engine", "Event", "Outcome", "error", "new_id"]
