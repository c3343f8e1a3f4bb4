"""PhonePe's wire shapes, as the sandbox writes them: v2 status/webhook bodies, v1 status and
callback bodies, and the v1 X-VERIFY checksum (docs/providers/phonepe.md, 'Provider facts').
Times are epoch ms."""

from __future__ import annotations

import base64
import hashlib
import json

from infra.sandboxes.phonepe.state import COMPLETED, FAILED, PENDING, Attempt, Order, Refund

# -- v1 checksum ----------------------------------------------------------------------------


def x_verify(text: str, salt_key: str, salt_index: str) -> str:
    """sha256(<text> + saltKey) as lower-case hex, then ###saltIndex. The hashed text differs
    per call: base64 payload + API path for pay/refund, the path alone for status, the
    `response` field alone for callbacks."""
    return hashlib.sha256((text + salt_key).encode()).hexdigest() + "###" + salt_index


def x_verify_matches(header: str | None, text: str, salt_key: str, salt_index: str) -> bool:
    """Docs show both hex cases, so the digest is compared case-insensitively (PhonePe's own
    behaviour is UNCONFIRMED); the salt index must be ours."""
    if not header or "###" not in header:
        return False
    digest, _, index = header.rpartition("###")
    expected = hashlib.sha256((text + salt_key).encode()).hexdigest()
    return index == salt_index and digest.lower() == expected


def b64_json(value: dict) -> str:
    return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()


# -- v2 ------------------------------------------------------------------------------------


def _v2_attempt(attempt: Attempt) -> dict:
    body = {
        "transactionId": attempt.transaction_id,
        "paymentMode": attempt.payment_mode,
        "timestamp": attempt.timestamp,
        "amount": attempt.amount,
        "payableAmount": attempt.amount,
        "feeAmount": 0,
        "state": attempt.state,
        "instrument": {"type": "ACCOUNT", "maskedAccountNumber": "XXXXXXX1234", "ifsc": "SBIN0000001",
                       "accountType": "SAVINGS"},
        "rail": {"type": "UPI", "utr": attempt.utr, "upiTransactionId": f"YBL{attempt.utr}",
                 "vpa": "shopper@ybl"},
        "splitInstruments": [
            {"amount": attempt.amount,
             "rail": {"type": "UPI", "utr": attempt.utr, "upiTransactionId": f"YBL{attempt.utr}", "vpa": "shopper@ybl"},
             "instrument": {"type": "ACCOUNT", "maskedAccountNumber": "XXXXXXX1234", "ifsc": "SBIN0000001",
                            "accountType": "SAVINGS"}}
        ],
    }
    if attempt.state == FAILED:
        body["errorCode"], body["detailedErrorCode"] = attempt.error_code, attempt.detailed_error_code
    return body


def v2_order_status(order: Order, merchant_id: str, *, details: bool, error_context: bool,
                    only: Attempt | None = None) -> dict:
    attempts = [only] if only else (order.attempts if details else order.attempts[-1:])
    body = {
        "orderId": order.order_id,
        "merchantOrderId": order.merchant_order_id,
        "merchantId": merchant_id,
        "state": order.state,
        "amount": order.amount,
        "payableAmount": order.amount,
        "feeAmount": 0,
        "expireAt": order.expire_at,
        "metaInfo": order.meta_info,
        "paymentDetails": [_v2_attempt(a) for a in attempts],
    }
    if order.state == FAILED:
        body["errorCode"], body["detailedErrorCode"] = order.error_code, order.detailed_error_code
        if error_context:
            body["errorContext"] = {
                "errorCode": order.error_code,
                "detailedErrorCode": order.detailed_error_code,
                "source": "CUSTOMER" if order.error_code == "PAYMENT_DECLINED" else "TIMEOUT",
                "stage": "AUTHORIZATION",
                "description": "The payment was declined" if order.error_code == "PAYMENT_DECLINED"
                else "The order expired before it was paid",
            }
    return body


def v2_refund_status(refund: Refund, merchant_id: str) -> dict:
    body = {
        "merchantId": merchant_id,
        "merchantRefundId": refund.merchant_refund_id,
        "originalMerchantOrderId": refund.original_merchant_order_id,
        "refundId": refund.refund_id,
        "amount": refund.amount,
        "state": refund.state,
        "timestamp": refund.timestamp,
        "paymentDetails": [],
    }
    if refund.state == FAILED:
        body["errorCode"], body["detailedErrorCode"] = refund.error_code, refund.detailed_error_code
    return body


# v2 webhook `event` strings and their legacy `type` (SDK enum). The standard-checkout string for
# an attempt failure is UNCONFIRMED (docs/providers/phonepe.md, 'v2 Standard Checkout'): the sandbox says
# "checkout.transaction.attempt.failed", mirroring the SDK's CHECKOUT_TRANSACTION_ATTEMPT_FAILED.
V2_EVENTS = {
    "order.completed": ("checkout.order.completed", "CHECKOUT_ORDER_COMPLETED"),
    "order.failed": ("checkout.order.failed", "CHECKOUT_ORDER_FAILED"),
    "transaction.attempt.failed": ("checkout.transaction.attempt.failed", "CHECKOUT_TRANSACTION_ATTEMPT_FAILED"),
    "refund.accepted": ("pg.refund.accepted", "PG_REFUND_ACCEPTED"),
    "refund.completed": ("pg.refund.completed", "PG_REFUND_COMPLETED"),
    "refund.failed": ("pg.refund.failed", "PG_REFUND_FAILED"),
}


def v2_webhook_body(event: str, subject: Order | Refund, merchant_id: str) -> dict:
    name, legacy = V2_EVENTS[event]
    if isinstance(subject, Order):
        payload = v2_order_status(subject, merchant_id, details=True, error_context=False)
        for key in ("payableAmount", "feeAmount"):
            payload.pop(key)
    else:
        payload = v2_refund_status(subject, merchant_id)
    return {"type": legacy, "event": name, "payload": payload}


# -- v1 ------------------------------------------------------------------------------------

_V1_FAILURE_CODES = {"PAYMENT_DECLINED": "PAYMENT_DECLINED", "TXN_AUTO_FAILED": "TIMED_OUT"}


def v1_order_status(order: Order, merchant_id: str) -> dict:
    latest = order.attempts[-1] if order.attempts else None
    if order.state == COMPLETED:
        success, code, message, response_code = True, "PAYMENT_SUCCESS", "Your payment is successful.", "SUCCESS"
    elif order.state == FAILED:
        code = _V1_FAILURE_CODES.get(order.error_code or "", "PAYMENT_ERROR")
        success, message, response_code = False, "Payment failed", order.detailed_error_code or "FAILED"
    else:
        # Whether PhonePe says success true or false for a pending status is UNCONFIRMED;
        # clients must decide on `code`, never on `success`.
        success, code, message, response_code = False, "PAYMENT_PENDING", "Your request is in pending state.", "PENDING"
    data = {
        "merchantId": merchant_id,
        "merchantTransactionId": order.merchant_order_id,
        "transactionId": latest.transaction_id if latest else order.order_id,
        "amount": order.amount,
        "state": order.state,
        "responseCode": response_code,
        "paymentInstrument": {"type": "UPI", "utr": latest.utr} if latest else None,
    }
    return {"success": success, "code": code, "message": message, "data": data}


def v1_refund_status(refund: Refund, merchant_id: str) -> dict:
    if refund.state == COMPLETED:
        success, code, state = True, "PAYMENT_SUCCESS", COMPLETED
    elif refund.state == FAILED:
        success, code, state = False, "PAYMENT_ERROR", FAILED
    else:  # v1 knows no CONFIRMED: an accepted refund is still pending to the merchant
        success, code, state = True, "PAYMENT_PENDING", PENDING
    data = {
        "merchantId": merchant_id,
        "merchantTransactionId": refund.merchant_refund_id,
        "transactionId": refund.refund_id,
        "amount": refund.amount,
        "state": state,
        "responseCode": refund.detailed_error_code if refund.state == FAILED else ("SUCCESS" if state == COMPLETED else "PENDING"),
    }
    return {"success": success, "code": code, "message": "Refund " + state.lower(), "data": data}
