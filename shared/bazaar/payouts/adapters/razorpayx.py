"""RazorpayX Payouts (api.razorpay.com/v1) behind `PayoutProvider`.

Facts and choices (docs/providers/razorpayx.md has the long form):
- Plain HTTP with `requests`: the official `razorpay` SDK has no contacts, fund accounts or payouts.
  HTTP basic auth with the key id and key secret; every call must leave from an address
  allowlisted on the RazorpayX dashboard (a 403 otherwise).
- register = POST /contacts then POST /fund_accounts. RazorpayX returns the existing contact or
  fund account for an identical request, so registering again is safe and yields the same ids.
- create_payout = POST /payouts with `X-Payout-Idempotency` (mandatory). Same key + same body gives
  back the original answer, so after an unknown outcome the caller retries with the same key and
  the same order: never a fresh key while the first attempt may still be alive.
- Amounts are integer paise, currency INR, mode upper-case, `account_number` is OUR RazorpayX
  account (from the secret), not the beneficiary's.
- 2xx -> the entity. 429, 5xx, timeouts, connection errors and unreadable 2xx bodies ->
  `ProviderUnavailable` (the outcome is unknown). Other 4xx -> `ProviderRejected` with the error
  envelope's code, description, field and reason (nothing was created).
- Short timeouts and no retries in here: the SQS redelivery is the retry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

from bazaar.payouts.provider import (
    BankAccount,
    Beneficiary,
    FundAccount,
    PayoutOrder,
    PayoutProvider,
    ProviderPayout,
    ProviderRejected,
    ProviderUnavailable,
    payout_from_entity,
)
from bazaar.payouts.settings import RazorpayXCredentials
from bazaar.platform.observability import logger, traced_http_session

PRODUCTION_URL = "https://api.razorpay.com/v1"
IDEMPOTENCY_HEADER = "X-Payout-Idempotency"
# (connect, read) seconds: a worker's SQS retry is cheaper than a Lambda stuck on a slow provider.
DEFAULT_TIMEOUT = (3.05, 10.0)


class RazorpayX(PayoutProvider):
    """One instance per Lambda container, built in the entry module. Stateless besides the HTTP
    session, so safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        credentials: Callable[[], RazorpayXCredentials],
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        *,
        session: requests.Session | None = None,
    ):
        self._base = base_url.rstrip("/")
        self._credentials = credentials
        self._timeout = timeout
        self._http = session or traced_http_session()

    # -- PayoutProvider -------------------------------------------------------------------

    def register(self, beneficiary: Beneficiary) -> FundAccount:
        contact: dict[str, Any] = {"name": beneficiary.name, "type": beneficiary.contact_type,
                                   "reference_id": beneficiary.reference_id}
        if beneficiary.email:
            contact["email"] = beneficiary.email
        contact_id = self._id(self._call("POST", "/contacts", json=contact), "cont_")
        destination = beneficiary.destination
        fund_account: dict[str, Any] = {"contact_id": contact_id}
        if isinstance(destination, BankAccount):
            fund_account["account_type"] = "bank_account"
            fund_account["bank_account"] = {"name": destination.holder_name, "ifsc": destination.ifsc,
                                            "account_number": destination.account_number}
        else:
            fund_account["account_type"] = "vpa"
            fund_account["vpa"] = {"address": destination.address}
        fund_account_id = self._id(self._call("POST", "/fund_accounts", json=fund_account), "fa_")
        return FundAccount(contact_id=contact_id, fund_account_id=fund_account_id)

    def create_payout(self, order: PayoutOrder) -> ProviderPayout:
        body: dict[str, Any] = {
            "account_number": self._credentials().account_number,
            "fund_account_id": order.fund_account_id,
            "amount": order.amount_paise,
            "currency": "INR",
            "mode": order.mode.upper(),
            "purpose": order.purpose,
            "queue_if_low_balance": order.queue_if_low_balance,
            "reference_id": order.reference_id,
            "narration": order.narration,
            "notes": dict(order.notes),
        }
        answer = self._call("POST", "/payouts", json=body, headers={IDEMPOTENCY_HEADER: order.idempotency_key})
        return self._payout(answer, "POST /payouts")

    def fetch_payout(self, payout_id: str) -> ProviderPayout:
        return self._payout(self._call("GET", f"/payouts/{_path_id(payout_id)}"), "GET /payouts/{id}")

    def cancel_payout(self, payout_id: str) -> ProviderPayout:
        return self._payout(self._call("POST", f"/payouts/{_path_id(payout_id)}/cancel"),
                            "POST /payouts/{id}/cancel")

    # -- beyond the port ------------------------------------------------------------------

    def find_payouts(self, reference_id: str) -> list[ProviderPayout]:
        """Payouts on our account with this reference id (our payout id), newest first. For an
        operator reconciling by hand: the create retry never needs it (the idempotency key is
        the duplicate guard). The reference_id filter is UNCONFIRMED on the real API."""
        answer = self._call("GET", "/payouts", params={
            "account_number": self._credentials().account_number, "reference_id": reference_id})
        items = answer.get("items")
        return [self._payout(item, "GET /payouts") for item in items if isinstance(item, dict)] \
            if isinstance(items, list) else []

    # -- transport ------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, json: dict | None = None, params: dict | None = None,
              headers: dict[str, str] | None = None) -> dict:
        credentials = self._credentials()
        try:
            response = self._http.request(
                method, self._base + path, json=json, params=params,
                headers={"Accept": "application/json", **(headers or {})},
                auth=(credentials.key_id, credentials.key_secret.get_secret_value()),
                timeout=self._timeout,
            )
        except requests.Timeout:
            raise ProviderUnavailable(f"RazorpayX {method} {_route(path)} timed out") from None
        except requests.RequestException as error:
            raise ProviderUnavailable(f"RazorpayX {method} {_route(path)} failed: {type(error).__name__}") from None
        return self._answer(method, path, response)

    def _answer(self, method: str, path: str, response: requests.Response) -> dict:
        status = response.status_code
        logger.info("razorpayx answered", extra={"method": method, "path": _route(path), "status": status})
        if status == 429 or status >= 500:
            raise ProviderUnavailable(f"RazorpayX {method} {_route(path)} answered {status}", status=status)
        try:
            body = response.json()
        except ValueError:
            body = None
        if status >= 400:
            raw_error = body.get("error") if isinstance(body, dict) else None
            error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
            description = _text(error.get("description")) or response.text[:200] or None
            raise ProviderRejected(
                f"RazorpayX {method} {_route(path)} answered {status}: {description or 'no description'}",
                status=status, code=_text(error.get("code")), description=description,
                field=_text(error.get("field")), reason=_text(error.get("reason")),
            )
        if not isinstance(body, dict):
            # A 2xx we cannot read: whatever it did, we do not know it. Retrying with the same
            # idempotency key is safe, so this is an outage, not a refusal.
            raise ProviderUnavailable(f"RazorpayX {method} {_route(path)} answered {status} without a JSON object",
                                      status=status)
        return body

    @staticmethod
    def _id(answer: dict, prefix: str) -> str:
        entity_id = answer.get("id")
        if not isinstance(entity_id, str) or not entity_id.startswith(prefix):
            raise ProviderUnavailable(f"RazorpayX answered without a {prefix}... id: {_safe(answer)}")
        return entity_id

    @staticmethod
    def _payout(answer: dict, call: str) -> ProviderPayout:
        try:
            return payout_from_entity(answer)
        except ValueError as error:
            raise ProviderUnavailable(f"RazorpayX {call} answered without a payout ({error}): {_safe(answer)}") \
                from None


def _path_id(entity_id: str) -> str:
    # An id goes into the path: refuse anything that could change which resource is addressed.
    if not entity_id or not entity_id.replace("_", "").isalnum():
        raise ValueError(f"not a RazorpayX id: {entity_id!r}")
    return entity_id


def _route(path: str) -> str:
    """The path with ids replaced, so log lines group by call."""
    parts = path.split("/")
    return "/".join("{id}" if "_" in part and part.split("_")[0] in ("pout", "fa", "cont") else part
                    for part in parts)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _safe(body: dict) -> str:
    """A provider answer fit for an error message: capped, never our credentials (it has none)."""
    return json.dumps(body, default=str)[:500]
