"""The payouts provider port: what Bazaar asks a payouts provider to do, what it answers, and the
two ways a call can fail. Pure Python: the RazorpayX client (adapters/razorpayx.py) implements it
over HTTP, and the payouts domain is tested against fakes of it.

The provider's rules these types check before a call leaves (so a bad destination or order is our
400, not a provider round trip) are written in docs/providers/razorpayx.md, 'Provider facts'.
Amounts are integer paise throughout.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

_FROZEN = ConfigDict(frozen=True, extra="forbid")

IFSC = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$")
# The provider's own rule (5-35 letters or digits), not the 9-18 digits Indian banks issue today:
# a tighter rule of ours would refuse accounts the provider pays (some co-operative and foreign
# banks' numbers are shorter or carry letters), and a wrong number fails at the bank anyway.
ACCOUNT_NUMBER = re.compile(r"^[A-Za-z0-9]{5,35}$")
VPA = re.compile(r"^[a-zA-Z0-9.\-_]{2,256}@[a-zA-Z]{2,64}$")
NARRATION = re.compile(r"^[A-Za-z0-9 ]{1,30}$")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_ -]{4,36}$")

MODES = ("IMPS", "NEFT", "RTGS", "UPI")
PURPOSES = ("refund", "cashback", "payout", "salary", "utility bill", "vendor bill", "custom")
CONTACT_TYPES = ("vendor", "customer", "employee", "self")
MINIMUM_PAYOUT_PAISE = 100


# -- destinations ------------------------------------------------------------------------------


class BankAccount(BaseModel):
    model_config = _FROZEN

    holder_name: str
    ifsc: str
    account_number: str


class UpiAddress(BaseModel):
    model_config = _FROZEN

    address: str  # a VPA, e.g. asha@okicici


Destination = BankAccount | UpiAddress


def is_valid_ifsc(ifsc: str) -> bool:
    return bool(IFSC.fullmatch(ifsc))


def is_valid_account_number(account_number: str) -> bool:
    return bool(ACCOUNT_NUMBER.fullmatch(account_number))


def is_valid_vpa(address: str) -> bool:
    return bool(VPA.fullmatch(address))


def destination_errors(destination: Destination) -> dict[str, str]:
    """Field -> what is wrong with it; empty when the provider will accept the destination.
    Input is taken as given: upper-casing an IFSC or trimming spaces is the caller's call."""
    errors: dict[str, str] = {}
    if isinstance(destination, BankAccount):
        if not destination.holder_name.strip():
            errors["holder_name"] = "the account holder's name is required"
        if not is_valid_ifsc(destination.ifsc):
            errors["ifsc"] = "an IFSC is 4 capital letters, a 0, then 6 capital letters or digits"
        if not is_valid_account_number(destination.account_number):
            errors["account_number"] = "an account number is 5 to 35 letters or digits"
    elif not is_valid_vpa(destination.address):
        errors["address"] = "a UPI address looks like name@bank"
    return errors


def masked(destination: Destination) -> str:
    """What may be shown or logged: the last four digits of an account, the first two letters of
    a VPA's name. The mask has a fixed width so it does not reveal the number's length."""
    if isinstance(destination, BankAccount):
        return "XXXXXX" + destination.account_number[-4:]
    name, _, handle = destination.address.rpartition("@")
    return f"{name[:2] if len(name) > 2 else name[:1]}***@{handle}"


# -- what we send ------------------------------------------------------------------------------


class Beneficiary(BaseModel):
    """Someone Bazaar pays. The provider dedupes contacts on (name, email, type, reference_id)
    and fund accounts on the same destination, so registering again returns the same ids."""

    model_config = _FROZEN

    reference_id: str = Field(min_length=1, max_length=40)  # our user id
    name: str = Field(min_length=1)
    email: str | None = None
    contact_type: str = Field(default="vendor", pattern=r"^(vendor|customer|employee|self)$")
    destination: Destination


class FundAccount(BaseModel):
    model_config = _FROZEN

    contact_id: str  # cont_...
    fund_account_id: str  # fa_...


class PayoutOrder(BaseModel):
    """One payout to create. `idempotency_key` is the provider's duplicate guard: a retry after an
    unknown outcome must send the same key with the same order, never a fresh key."""

    model_config = _FROZEN

    fund_account_id: str = Field(min_length=1)
    amount_paise: int = Field(ge=MINIMUM_PAYOUT_PAISE)
    # Upper-cased on the way in: the provider refuses "imps".
    mode: Annotated[str, BeforeValidator(lambda value: value.upper() if isinstance(value, str) else value)] = Field(
        pattern=r"^(IMPS|NEFT|RTGS|UPI)$")
    purpose: str = Field(default="payout", pattern=r"^(refund|cashback|payout|salary|utility bill|vendor bill|custom)$")
    reference_id: str = Field(min_length=1, max_length=40)  # our payout id
    narration: str = Field(pattern=NARRATION.pattern)  # shows on the beneficiary's statement
    idempotency_key: str = Field(pattern=IDEMPOTENCY_KEY.pattern)
    queue_if_low_balance: bool = True
    notes: dict[str, str] = Field(default_factory=dict)


# -- what the provider answers ----------------------------------------------------------------


class ProviderPayout(BaseModel):
    """A payout as the provider reports it, from an API answer or a webhook. `status` is the
    provider's own word: the payouts domain maps it (docs/providers/razorpayx.md, 'Statuses')."""

    model_config = ConfigDict(frozen=True)

    payout_id: str  # pout_...
    status: str
    amount_paise: int
    utr: str | None = None
    # Why a payout failed, was reversed, rejected or cancelled (status_details' description, else
    # its reason); None for payouts on their way or paid.
    failure_reason: str | None = None
    # status_details.reason whatever the status, e.g. low_balance on a queued payout.
    status_reason: str | None = None
    reference_id: str | None = None
    fees_paise: int = 0
    tax_paise: int = 0
    raw: dict[str, Any] = Field(default_factory=dict)


UNSUCCESSFUL_STATUSES = frozenset({"failed", "reversed", "rejected", "cancelled"})


def payout_from_entity(entity: dict[str, Any]) -> ProviderPayout:
    """The provider's payout entity (`{id: "pout_...", status, amount, utr, status_details, ...}`)
    as a ProviderPayout. Raises ValueError when it is not one."""
    payout_id, status, amount = entity.get("id"), entity.get("status"), entity.get("amount")
    if not isinstance(payout_id, str) or not payout_id:
        raise ValueError("payout entity without an id")
    if not isinstance(status, str) or not status:
        raise ValueError("payout entity without a status")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise ValueError("payout entity without an integer amount")
    raw_details = entity.get("status_details")
    details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    explanation = _text(details.get("description")) or _text(details.get("reason")) or _text(entity.get("failure_reason"))
    return ProviderPayout(
        payout_id=payout_id,
        status=status,
        amount_paise=amount,
        utr=_text(entity.get("utr")),
        failure_reason=explanation if status in UNSUCCESSFUL_STATUSES else None,
        status_reason=_text(details.get("reason")),
        reference_id=_text(entity.get("reference_id")),
        fees_paise=_paise(entity.get("fees")),
        tax_paise=_paise(entity.get("tax")),
        raw=entity,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _paise(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# -- how a call fails --------------------------------------------------------------------------


class ProviderUnavailable(Exception):
    """The outcome is unknown (timeout, connection error, 5xx, 429): the payout may or may not
    exist. Retry with the SAME idempotency key and the same order; never a fresh key."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class ProviderRejected(Exception):
    """A definite refusal (4xx): nothing was created, so a corrected order may be sent again.
    `field` names the offending input when the provider says (e.g. "ifsc", "X-Payout-Idempotency")."""

    def __init__(self, message: str, *, status: int, code: str | None = None, description: str | None = None,
                 field: str | None = None, reason: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.description = description
        self.field = field
        self.reason = reason

    @property
    def configuration_problem(self) -> bool:
        """401 (wrong key) or 403 (our address is not allowlisted): nothing the order can fix; an
        operator must. The domain may prefer to hold the payout over failing it."""
        return self.status in (401, 403)


class PayoutProvider(Protocol):
    def register(self, beneficiary: Beneficiary) -> FundAccount:
        """Contact, then fund account. Safe to repeat: the provider returns what it already has."""
        ...

    def create_payout(self, order: PayoutOrder) -> ProviderPayout: ...

    def fetch_payout(self, payout_id: str) -> ProviderPayout: ...

    def cancel_payout(self, payout_id: str) -> ProviderPayout:
        """Only a queued payout can be cancelled; any other answers ProviderRejected."""
        ...
