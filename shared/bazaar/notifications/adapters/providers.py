"""Email through SES (the v2 API's SendEmail, a simple message with a text and an HTML part), SMS
through SNS (Publish to a phone number) and delivery messages onto the `notifications` queue.

Provider errors are sorted once, here: the ones SES documents as refusals of this message or
account (botocore's sesv2 model lists SendEmail's errors) are permanent, recorded and not retried;
throttling, 5xx and unreachable endpoints are temporary, so the worker raises and SQS retries
(after the queue's max receives the message rests in its DLQ, which alarms). An error we do not
know is treated as temporary: a misconfiguration (say a missing permission) then ends in the DLQ,
to be redriven once fixed, instead of being written off as failed."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from bazaar.notifications.domain import DeliveryRequest
from bazaar.notifications.ports import Email, PermanentFailure, TemporaryFailure
from bazaar.platform.dynamo import error_code

# SendEmail's errors that no retry can fix.
SES_PERMANENT = frozenset({
    "MessageRejected",  # e.g. the sender identity is not verified, or the message has a virus
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",
    "SendingPausedException",
    "BadRequestException",
    "NotFoundException",
})
# Every other error is temporary: SendEmail's TooManyRequestsException and LimitExceededException
# (throttling), 5xx, timeouts and unknown codes.

# Publish's errors that no retry can fix (a malformed number, a disabled endpoint), by their wire codes
# (botocore's sns model: InvalidParameterException is sent as `InvalidParameter`, and so on).
# AuthorizationError is left temporary: it means a missing permission, fixed by a deploy.
SNS_PERMANENT = frozenset({
    "InvalidParameter", "ParameterValueInvalid", "NotFound", "EndpointDisabled", "ValidationException",
})


def _sorted(error: Exception, permanent: frozenset[str]) -> Exception:
    if isinstance(error, ClientError):
        code = error_code(error)
        message = error.response.get("Error", {}).get("Message", "")
        if code in permanent:
            return PermanentFailure(f"{code}: {message}".strip(": "))
        return TemporaryFailure(f"{code}: {message}".strip(": "))
    return TemporaryFailure(f"{type(error).__name__}: {error}")


class SesMailer:
    def __init__(self, client, sender: str):
        self._client = client
        self._sender = sender

    def send(self, email: Email) -> str:
        try:
            sent = self._client.send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [email.to]},
                Content={"Simple": {
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": email.text, "Charset": "UTF-8"},
                             "Html": {"Data": email.html, "Charset": "UTF-8"}},
                }},
            )
        except (ClientError, BotoCoreError) as error:
            raise _sorted(error, SES_PERMANENT) from error
        return str(sent["MessageId"])


class SnsTexter:
    def __init__(self, client):
        self._client = client

    def send(self, phone_number: str, text: str) -> str:
        try:
            sent = self._client.publish(
                PhoneNumber=phone_number, Message=text,
                # Notifications are about the user's own orders and money: transactional, not promotional.
                MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
            )
        except (ClientError, BotoCoreError) as error:
            raise _sorted(error, SNS_PERMANENT) from error
        return str(sent["MessageId"])


class SqsDeliveryQueue:
    def __init__(self, client, queue_url: str):
        self._client = client
        self._url = queue_url

    def enqueue(self, request: DeliveryRequest) -> None:
        self._client.send_message(QueueUrl=self._url, MessageBody=request.model_dump_json())
