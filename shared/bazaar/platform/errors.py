"""The one catalogue of error codes a client can receive, and the domain's base error.

Every failure leaves Bazaar as `{"error": {"code", "message", "request_id", "details"}}` with a
code from here; the OpenAPI document lists them. Other contexts add their codes to this file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorKind:
    code: str
    status: int
    meaning: str


def _catalogue(*kinds: ErrorKind) -> dict[str, ErrorKind]:
    return {kind.code: kind for kind in kinds}


CATALOGUE = _catalogue(
    ErrorKind("VALIDATION_FAILED", 400, "A field is missing, unknown or invalid; see details."),
    ErrorKind("MALFORMED_JSON", 400, "The body is not valid JSON."),
    ErrorKind("BAD_REQUEST", 400, "The request could not be accepted."),
    ErrorKind("PASSWORD_POLICY", 400, "The password breaks the policy; details name each rule broken."),
    ErrorKind("REFERRAL_CODE_INVALID", 400, "The referral code does not belong to an active scout."),
    ErrorKind("UNAUTHORIZED", 401, "No token, or an invalid, expired or revoked one."),
    ErrorKind("INVALID_CREDENTIALS", 401, "The email or password is incorrect (never says which)."),
    ErrorKind("MFA_CODE_INVALID", 401, "The one-time code is wrong; the challenge is spent, sign in again."),
    ErrorKind("MFA_SESSION_INVALID", 401, "The sign-in challenge is unknown, already used or expired."),
    ErrorKind("FORBIDDEN", 403, "The caller's role (for a webhook, its address) may not call this route."),
    ErrorKind("ACCOUNT_SUSPENDED", 403, "The account is suspended."),
    ErrorKind("MFA_REQUIRED", 403, "The route needs a second factor the account has not enrolled."),
    ErrorKind("NOT_FOUND", 404, "No such route, or no such resource visible to the caller."),
    ErrorKind("CONFLICT", 409, "The request conflicts with the resource's current state."),
    ErrorKind("EMAIL_ALREADY_REGISTERED", 409, "An account with this email already exists."),
    ErrorKind("MFA_ALREADY_ENABLED", 409, "An authenticator app is already enrolled for this account."),
    ErrorKind("OUT_OF_STOCK", 409, "Not enough stock for the variants in details; nothing was locked."),
    ErrorKind("LOCK_LIMIT_REACHED", 409, "You already hold as many locked units as one customer may."),
    ErrorKind("INVALID_STATE_TRANSITION", 409, "The resource's current status does not allow this action."),
    ErrorKind("IDEMPOTENCY_KEY_IN_USE", 409, "A request with this Idempotency-Key is still in progress."),
    ErrorKind("PAYMENT_AMOUNT_MISMATCH", 409, "The amount paid is not the order's total."),
    ErrorKind("REFUND_EXCEEDS_PAID", 409, "The refunds asked for would exceed what the order was paid."),
    ErrorKind("REFUND_WINDOW_CLOSED", 409, "The order was delivered longer ago than refunds may be asked for."),
    ErrorKind("REFUND_ALREADY_OPEN", 409, "The order already has a refund request in progress."),
    ErrorKind("REFUND_IN_PROGRESS", 409, "An earlier refund of the order is still being submitted; retry it first."),
    ErrorKind("NOTHING_TO_PAY", 409, "The available balance is below the minimum payout; nothing was paid."),
    ErrorKind("WITHDRAWAL_EXCEEDS_BALANCE", 409, "The withdrawal asks for more than the available balance."),
    ErrorKind("PAYOUT_ACCOUNT_MISSING", 409, "The payee has no payout account registered yet."),
    ErrorKind("PAYOUTS_HELD", 409, "Payouts to this payee are on hold until an admin releases them."),
    ErrorKind("PAYLOAD_TOO_LARGE", 413, "The request body is over the limit."),
    ErrorKind("UNSUPPORTED_MEDIA_TYPE", 415, "The request body is not sent as JSON (Content-Type: application/json)."),
    ErrorKind("IDEMPOTENCY_KEY_REUSED", 422, "The Idempotency-Key was used before with another body."),
    ErrorKind("PAYOUT_ACCOUNT_INVALID", 422, "RazorpayX or our checks refused the payout account; see details."),
    ErrorKind("THROTTLED", 429, "Too many requests; retry after Retry-After seconds."),
    ErrorKind("INTERNAL_ERROR", 500, "Something went wrong on our side; quote the request_id."),
    ErrorKind("PAYMENT_PROVIDER_ERROR", 502, "The payment provider refused the request; quote the request_id."),
    ErrorKind("SHIPPING_PROVIDER_ERROR", 502, "The shipping provider refused the request; quote the request_id."),
    ErrorKind("PAYOUT_PROVIDER_UNAVAILABLE", 503, "RazorpayX did not answer; nothing was changed. Retry later."),
    ErrorKind("DEPENDENCY_UNAVAILABLE", 503, "A dependency is down; retry later."),
    ErrorKind("SERVICE_UNAVAILABLE", 503, "Our storage, queues or secrets are busy or briefly unreachable; retry "
                                          "after Retry-After seconds (with the same Idempotency-Key, if any)."),
    ErrorKind("UPSTREAM_TIMEOUT", 504, "The request took too long."),
)


class BazaarError(Exception):
    """A failure the client can act on. Raise it (or a subclass) from the domain; the HTTP edge
    turns it into the envelope with the catalogue's status."""

    code = "BAD_REQUEST"
    # Response headers the client needs to act on the error (e.g. Retry-After on a 429). Set per
    # instance (a subclass fills it in after `super().__init__`), so not a class variable.
    headers: dict[str, str]

    def __init__(self, message: str, *, code: str | None = None, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if self.code not in CATALOGUE:
            raise ValueError(f"error code {self.code!r} is not in the catalogue")
        self.details = details or []
        self.headers = {}

    @property
    def status(self) -> int:
        return CATALOGUE[self.code].status


class NotFound(BazaarError):
    code = "NOT_FOUND"


class Conflict(BazaarError):
    code = "CONFLICT"


class Forbidden(BazaarError):
    code = "FORBIDDEN"


class Unauthorized(BazaarError):
    code = "UNAUTHORIZED"


class DependencyUnavailable(BazaarError):
    code = "DEPENDENCY_UNAVAILABLE"
