"""Refunds: a shopper's (or an admin's) refund request, the policy, and the refund-approval state
machine that carries it through an admin's decision and PhonePe (docs/refunds.md).

The workflow is started from the outbox: a request opened (or a failed one an admin retries)
reaches `refund-workflow-events`, whose consumer starts the execution named after the request
and its version, so a redelivered event starts nothing twice."""

from infra.description.contexts.payments import PHONEPE_SETTINGS
from infra.description.settings import rate_limits
from infra.description.model import (
    Access, Function, Index, Key, Queue, QueueTrigger, Role, Route, StateMachine, Table,
)

CUSTOMER = frozenset({Role.CUSTOMER})
OWNER_OR_ADMIN = frozenset({Role.CUSTOMER, Role.ADMIN})
ADMIN = frozenset({Role.ADMIN})

# The events the workflow's events consumer takes: refund events that start an execution, and the
# order's refund events that complete a request (a unit test keeps this equal to what it follows).
STARTING_EVENTS = ("RefundApproved", "RefundRequestOpened")
ORDER_REFUND_EVENTS = ("PartiallyRefunded", "Refunded")

TABLES = (
    Table(
        name="refunds",
        purpose="Refund requests with their history and decisions; each order's one open request.",
        partition_key=Key("pk"),
        sort_key=Key("sk"),
        indexes=(
            Index("by-order", Key("order_id"), Key("created_at")),
            Index("by-status", Key("status"), Key("created_at")),
        ),
    ),
)

QUEUES = (
    Queue(
        name="refund-workflow-events",
        purpose="Refund requests opened or retried (to start their workflow) and orders' completed refunds",
        visibility_timeout_seconds=180,
    ),
)

# The order book (and PhonePe) for the refund itself; the ledger to reverse the sellers' earnings.
WORKFLOW_TABLES = {
    "refunds": Access.READ_WRITE, "order-events": Access.WRITE, "orders": Access.READ_WRITE, "stock": Access.READ,
    "audit": Access.READ_WRITE, "ledger": Access.READ_WRITE, "payouts": Access.READ, "identity": Access.READ,
}

FUNCTION = "${function:refunds-workflow}"
# An instance that died mid-step (killed, out of memory) is Runtime.ExitError, which Step Functions
# may report as Lambda.Unknown. Every step is safe to run again: send_refund asks PhonePe under the
# merchant refund id reserved before the call, and never again once PhonePe took it.
INSTANCE_DIED = ["Runtime.ExitError", "Lambda.Unknown"]
LAMBDA_ERRORS = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                 "Lambda.TooManyRequestsException", *INSTANCE_DIED]


def _step(step: str, next_state: str | None, *, retry_provider: bool = False, catch: bool = True,
          extra: dict | None = None) -> dict:
    """A task running one step of bazaar.refunds.services in the `refunds-workflow` function; its
    output is what the step returned (always with the refund id)."""
    task: dict = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": FUNCTION,
                       "Payload": {"step": step, "refund_id.$": "$.refund_id", **(extra or {})}},
        "OutputPath": "$.Payload",
        "TimeoutSeconds": 60,
        "Retry": [{"ErrorEquals": LAMBDA_ERRORS, "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2}],
    }
    if retry_provider:
        # PhonePe throttled or failed on its side: ask again (the same merchant refund id) with backoff.
        task["Retry"].insert(0, {"ErrorEquals": ["ProviderBusy"], "IntervalSeconds": 5, "MaxAttempts": 6,
                                 "BackoffRate": 2})
    if catch:
        task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}]
    if next_state:
        task["Next"] = next_state
    else:
        task["End"] = True
    return task


def _is_true(variable: str) -> dict:
    return {"And": [{"Variable": variable, "IsPresent": True}, {"Variable": variable, "BooleanEquals": True}]}


DEFINITION = {
    "Comment": "A refund request: an admin's approval (unless the policy approved it), PhonePe, completion.",
    "StartAt": "Validate",
    "States": {
        "Validate": _step("validate", "Approved?"),
        "Approved?": {"Type": "Choice", "Choices": [{**_is_true("$.approved"), "Next": "SendRefund"}],
                      "Default": "AwaitDecision"},
        "AwaitDecision": {
            "Type": "Task",
            "Comment": "Waits for an admin: approve with send-task-success, reject with send-task-failure "
                       "(error RefundRejected). The token and the refund are in this task's input.",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": FUNCTION,
                           "Payload": {"step": "await_decision", "refund_id.$": "$.refund_id",
                                       "amount_paise.$": "$.amount_paise", "order_id.$": "$.order_id",
                                       "task_token.$": "$$.Task.Token"}},
            "TimeoutSecondsPath": "$.approval_timeout_seconds",
            "ResultPath": "$.decision",
            "Catch": [
                {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "DecisionTimedOut"},
                {"ErrorEquals": ["RefundRejected"], "ResultPath": "$.error", "Next": "Rejected"},
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"},
            ],
            "Next": "SendRefund",
        },
        "DecisionTimedOut": _step("decision_timed_out", "ApprovedAsItTimedOut?"),
        "ApprovedAsItTimedOut?": {"Type": "Choice", "Choices": [{**_is_true("$.approved"), "Next": "SendRefund"}],
                                  "Default": "Expired"},
        "Expired": {"Type": "Succeed", "Comment": "Nobody approved it in time; the shopper was told."},
        "Rejected": {"Type": "Succeed", "Comment": "An admin rejected it; the shopper was told why."},
        "SendRefund": _step("send_refund", "Sent?", retry_provider=True),
        "Sent?": {"Type": "Choice", "Choices": [{**_is_true("$.failed"), "Next": "Failed"}],
                  "Default": "WaitForPhonePe"},
        # The order's refund events complete the request at once (refund-workflow-events); this poll
        # is the fallback, and a card refund can take days: every round costs 3 state transitions.
        "WaitForPhonePe": {"Type": "Wait", "Seconds": 600, "Next": "CheckCompletion"},
        "CheckCompletion": _step("check_completion", "Settled?"),
        "Settled?": {"Type": "Choice", "Choices": [
            {"Variable": "$.outcome", "StringEquals": "completed", "Next": "Complete"},
            {"Variable": "$.outcome", "StringEquals": "failed", "Next": "PhonePeFailed"},
        ], "Default": "WaitForPhonePe"},
        "Complete": _step("complete", None),
        "PhonePeFailed": _step("record_failure", "Failed", catch=False,
                               extra={"error": "PhonePeRefundFailed", "cause": "PhonePe reported the refund failed"}),
        "RecordFailure": _step("record_failure", "Failed", catch=False,
                               extra={"error.$": "$.error.Error", "cause.$": "$.error.Cause"}),
        "Failed": {"Type": "Fail", "Error": "RefundFailed",
                   "Cause": "Recorded on the refund request; an admin may retry it."},
    },
}

STATE_MACHINES = (
    StateMachine(
        name="refund-approval",
        purpose="A refund request through an admin's approval, PhonePe and completion.",
        definition=DEFINITION,
        task_functions=("refunds-workflow",),
        # The approval wait (REFUND_APPROVAL_TIMEOUT_SECONDS, at most 7 days) and PhonePe's settling.
        timeout_seconds=14 * 24 * 3600,
    ),
)

FUNCTIONS = (
    Function(
        name="refunds-workflow",
        handler="functions.refunds.workflow.handler",
        description="Runs each step of the refund-approval state machine (validate, wait, PhonePe, complete).",
        memory_mb=256,
        timeout_seconds=60,
        environment=PHONEPE_SETTINGS,
        # The PhonePe generation is a flag (phonepe_api_version); the setting is its fallback.
        reads_flags=True,
        tables=WORKFLOW_TABLES,
        secrets=("phonepe",),
        state_machines=("refund-approval",),
    ),
    Function(
        name="refunds-starter",
        handler="functions.refunds.starter.handler",
        description="Starts the refund-approval execution of each request opened or retried, once; completes "
        "a request when the order's refund completes.",
        memory_mb=256,
        timeout_seconds=30,
        tables={"refunds": Access.READ_WRITE, "order-events": Access.WRITE, "orders": Access.READ,
                "stock": Access.READ},
        state_machines=("refund-approval",),
        queue_triggers=(QueueTrigger(queue="refund-workflow-events", batch_size=10),),
    ),
    Function(
        name="refunds-api",
        handler="functions.refunds.api.handler",
        description="A shopper's refund requests on their order: ask (Idempotency-Key) and list.",
        memory_mb=512,
        timeout_seconds=10,
        tables={"refunds": Access.READ_WRITE, "order-events": Access.WRITE, "orders": Access.READ,
                "stock": Access.READ, "idempotency": Access.READ_WRITE, "rate-limits": Access.WRITE},
        environment=rate_limits("RATE_LIMIT_REFUND_REQUEST"),
        routes=(
            Route("POST", "/v1/orders/{order_id}/refunds", CUSTOMER,
                  "Ask for a refund of your order, whole or in part (Idempotency-Key)"),
            Route("GET", "/v1/orders/{order_id}/refunds", OWNER_OR_ADMIN,
                  "The order's refund requests with their status and history"),
        ),
    ),
    Function(
        name="refunds-admin-api",
        handler="functions.refunds.admin_api.handler",
        description="Admin refunds: refund an order (pre-approved), the approval queue, approve, reject, retry.",
        memory_mb=512,
        timeout_seconds=15,
        tables={"refunds": Access.READ_WRITE, "order-events": Access.WRITE, "orders": Access.READ,
                "stock": Access.READ, "audit": Access.READ_WRITE, "idempotency": Access.READ_WRITE,
                "rate-limits": Access.WRITE},
        environment=rate_limits("RATE_LIMIT_ADMIN_REFUND"),
        secrets=("app-keys",),
        state_machines=("refund-approval",),
        routes=(
            Route("POST", "/v1/admin/orders/{order_id}/refund", ADMIN,
                  "Refund an order in full or in part: a pre-approved refund request (Idempotency-Key; audited)"),
            Route("GET", "/v1/admin/refunds", ADMIN,
                  "Refund requests by status, oldest first, with their executions and the counts"),
            Route("POST", "/v1/admin/refunds/{refund_id}/approve", ADMIN, "Approve a refund request (audited)"),
            Route("POST", "/v1/admin/refunds/{refund_id}/reject", ADMIN, "Reject a refund request (audited)"),
            Route("POST", "/v1/admin/refunds/{refund_id}/retry", ADMIN,
                  "Send a failed refund again (audited)"),
        ),
    ),
)
