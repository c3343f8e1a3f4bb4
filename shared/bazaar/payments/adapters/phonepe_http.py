"""What PhonePe's two API generations share on the wire: short timeouts, which failures are
worth another try, and the rule for creates: a create whose answer was lost (timeout, 5xx) is
retried with the SAME merchant id and, if that is still unclear, settled by the status API."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from bazaar.payments.domain import (
    PaymentCreated, PaymentNotFound, PaymentProviderRejected, PaymentProviderUnavailable,
)

CONNECT_TIMEOUT_SECONDS = 2.0
ATTEMPTS = 3
BACKOFF_SECONDS = 0.2  # then 0.4: a Lambda can afford well under a second of waiting
MAX_RETRY_AFTER_SECONDS = 1.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict | None  # None when the body was not a JSON object (an HTML 502 from a proxy)
    retry_after: float | None = None

    @property
    def code(self) -> str | None:
        if not self.body:
            return None
        return self.body.get("code") or self.body.get("errorCode")

    @property
    def message(self) -> str:
        return str((self.body or {}).get("message") or f"HTTP {self.status}")


class Lost(Exception):
    """The request may or may not have reached PhonePe (timeout, reset connection)."""


def send(session: requests.Session, method: str, url: str, read_timeout: float, **kwargs) -> Answer:
    try:
        response = session.request(method, url, timeout=(CONNECT_TIMEOUT_SECONDS, read_timeout), **kwargs)
    except (requests.Timeout, requests.ConnectionError) as error:
        raise Lost(type(error).__name__) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    retry_after = response.headers.get("Retry-After")
    return Answer(
        response.status_code,
        body if isinstance(body, dict) else None,
        float(retry_after) if retry_after and retry_after.replace(".", "", 1).isdigit() else None,
    )


def pause(attempt: int, answer: Answer | None) -> None:
    wait = BACKOFF_SECONDS * (2 ** attempt)
    if answer is not None and answer.retry_after is not None:
        wait = min(answer.retry_after, MAX_RETRY_AFTER_SECONDS)
    time.sleep(wait)


def read(call: Callable[[], Answer], what: str) -> Answer:
    """A read (status): retried on timeouts, 429, 5xx and PhonePe's INTERNAL_SERVER_ERROR. Returns
    the first useful answer; if PhonePe only ever said INTERNAL_SERVER_ERROR, that answer (the
    caller reports PENDING, unconfirmed: it does not mean the payment failed). Raises
    PaymentProviderUnavailable when no answer came or PhonePe kept throttling / failing."""
    answer: Answer | None = None
    for attempt in range(ATTEMPTS):
        try:
            answer = call()
        except Lost:
            answer = None
        if answer is not None and answer.status != 429 and answer.status < 500 \
                and answer.code != "INTERNAL_SERVER_ERROR":
            return answer
        if attempt < ATTEMPTS - 1:
            pause(attempt, answer)
    if answer is not None and answer.code == "INTERNAL_SERVER_ERROR":
        return answer
    raise PaymentProviderUnavailable(f"PhonePe {what} did not answer usefully "
                                     f"({'HTTP ' + str(answer.status) if answer else 'no response'})")


def create(call: Callable[[], Answer], what: str) -> Answer | None:
    """A create (pay, refund), always with the same merchant id. Returns the success answer, or
    None when the outcome is unknown (an answer was lost, or a retry after a lost answer was
    refused, most likely as a duplicate): the caller then asks the status API. Raises
    PaymentProviderRejected for a clean refusal and PaymentProviderUnavailable when PhonePe kept
    throttling or failing before anything could have been created."""
    unclear = False
    answer: Answer | None = None
    for attempt in range(ATTEMPTS):
        try:
            answer = call()
        except Lost:
            unclear, answer = True, None
        else:
            if 200 <= answer.status < 300:
                return answer
            if answer.status >= 500:
                unclear = True  # PhonePe may have created it before failing
            elif answer.status != 429:
                if unclear:
                    return None  # e.g. DUPLICATE_MERCHANT_ORDER_ID after our lost first try
                raise PaymentProviderRejected(f"PhonePe refused the {what}: {answer.message}",
                                              provider_code=answer.code, http_status=answer.status)
        if attempt < ATTEMPTS - 1:
            pause(attempt, answer)
    if unclear:
        return None
    raise PaymentProviderUnavailable(f"PhonePe kept throttling the {what}")


def recovered_payment(provider, merchant_order_id: str, amount_paise: int) -> PaymentCreated:
    status = settled_by_status(provider.order_status, merchant_order_id, "payment")
    if status.amount_paise is not None and status.amount_paise != amount_paise:
        raise PaymentProviderRejected(f"order {merchant_order_id} exists at PhonePe with another amount")
    return PaymentCreated(merchant_order_id, status.provider_order_id, None, status.state)


def settled_by_status(lookup, merchant_id: str, what: str):
    """After a create with an unknown outcome: PhonePe's status decides whether it exists."""
    try:
        status = lookup(merchant_id)
    except PaymentNotFound:
        status = None
    if status is None or not status.confirmed:
        raise PaymentProviderUnavailable(f"the {what} {merchant_id} could not be confirmed; retry with the same id")
    return status


def check_amount(amount_paise: int) -> None:
    if isinstance(amount_paise, bool) or not isinstance(amount_paise, int) or amount_paise < 100:
        raise ValueError("PhonePe amounts are integer paise, at least 100")
