"""The refund-approval state machine through the Step Functions API (the same calls an admin
makes from the console or with `aws stepfunctions send-task-success`)."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from bazaar.platform.dynamo import error_code

# The error a rejection fails the waiting task with; the definition's Catch takes it.
REJECTED = "RefundRejected"


class StepFunctionsWorkflow:
    def __init__(self, client, state_machine_arn: str):
        self._client = client
        self._arn = state_machine_arn

    def start(self, execution: str, refund_id: str) -> bool:
        try:
            self._client.start_execution(stateMachineArn=self._arn, name=execution,
                                         input=json.dumps({"refund_id": refund_id}))
        except ClientError as error:
            if error_code(error) == "ExecutionAlreadyExists":
                return False
            raise
        return True

    def approve(self, task_token: str, by: str) -> bool:
        return self._answer(lambda: self._client.send_task_success(
            taskToken=task_token, output=json.dumps({"approved": True, "by": by})))

    def reject(self, task_token: str, by: str, reason: str) -> bool:
        return self._answer(lambda: self._client.send_task_failure(
            taskToken=task_token, error=REJECTED, cause=json.dumps({"by": by, "reason": reason})[:32768]))

    @staticmethod
    def _answer(call) -> bool:
        try:
            call()
        except ClientError as error:
            # The task no longer waits: it timed out, or was answered (the decision is on the request).
            if error_code(error) in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist"):
                return False
            raise
        return True
