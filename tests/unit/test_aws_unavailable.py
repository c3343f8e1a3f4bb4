"""AWS busy or down, below HTTP: which failures count (throttling codes, 5xx, no answer, and the
same wrapped by powertools parameters and idempotency), and that the API and webhook
edges answer them 503 SERVICE_UNAVAILABLE in the envelope, the API's with Retry-After; anything
else stays a 500 INTERNAL_ERROR."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError

from bazaar.platform.aws import RETRY_AFTER_SECONDS, aws_unavailable
from bazaar.platform.edge import WebhookEdge
from bazaar.platform.http import HttpApi
from bazaar.platform.settings import load_settings
from infra.description import SERVICE
from infra.local.events import function_url_event, rest_proxy_event
from infra.description.model import PlaceholderNames

DEV = SERVICE.at_stage("dev")


def client_error(code: str, status: int, operation: str = "PutItem", **extra) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status},
                        **extra}, operation)


def raised_from(outer: type[Exception], inner: BaseException, *args) -> Exception:
    """`outer` raised while handling `inner`, as the libraries do."""
    try:
        try:
            raise inner
        except BaseException:  # noqa: BLE001 - whatever it was, it is wrapped
            raise outer(*args)  # noqa: B904 - implicit chaining, as powertools parameters does
    except outer as wrapped:
        return wrapped
    raise AssertionError("unreachable")


@pytest.mark.parametrize("error", [
    client_error("ThrottlingException", 400),
    client_error("ProvisionedThroughputExceededException", 400),
    client_error("InternalServerError", 500),
    client_error("ServiceUnavailable", 503, "SendMessage"),
    client_error("TransactionCanceledException", 400, "TransactWriteItems",
                 CancellationReasons=[{"Code": "None"}, {"Code": "ThrottlingError"}]),
    EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
    ConnectionClosedError(endpoint_url="http://127.0.0.1:9"),
])
def test_throttling_5xx_and_no_answer_are_aws_unavailable(error):
    assert aws_unavailable(error)


def test_wrapped_by_the_libraries_they_still_are():
    throttled = client_error("ThrottlingException", 400)
    assert aws_unavailable(raised_from(IdempotencyPersistenceLayerError, throttled, "Failed to save"))
    assert aws_unavailable(raised_from(GetParameterError, client_error("InternalServiceError", 500), "x"))


@pytest.mark.parametrize("error", [
    client_error("ConditionalCheckFailedException", 400),
    client_error("TransactionCanceledException", 400, "TransactWriteItems",
                 CancellationReasons=[{"Code": "ConditionalCheckFailed"}]),
    client_error("ValidationException", 400),
    client_error("ResourceNotFoundException", 400, "GetSecretValue"),
    ValueError("a bug of ours"),
])
def test_what_the_request_or_our_code_did_wrong_is_not(error):
    assert not aws_unavailable(error)


def api(failure: Exception) -> HttpApi:
    settings = load_settings(DEV.function_environment(DEV.function("catalog-api"), PlaceholderNames()))
    made = HttpApi(settings, limiter=None)

    @made.app.get("/v1/products")
    def products() -> dict:
        raise failure

    return made


def products_event() -> dict:
    return rest_proxy_event(method="GET", resource="/v1/products", path="/v1/products", path_parameters={},
                            query="", headers=[], body=b"", source_ip="192.0.2.1")


def test_the_api_answers_aws_busy_with_503_retry_after_and_the_envelope():
    wrapped = raised_from(IdempotencyPersistenceLayerError, client_error("ThrottlingException", 400), "Failed")
    answer = api(wrapped).handle(products_event(), None)

    assert answer["statusCode"] == 503
    assert answer["multiValueHeaders"]["Retry-After"] == [str(RETRY_AFTER_SECONDS)]
    error = json.loads(answer["body"])["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE" and error["request_id"] == answer["headers"]["X-Request-Id"]
    assert "ThrottlingException" not in answer["body"] and "PersistenceLayer" not in answer["body"]


def test_anything_else_stays_an_internal_error():
    answer = api(ValueError("a bug of ours")).handle(products_event(), None)

    assert answer["statusCode"] == 500 and json.loads(answer["body"])["error"]["code"] == "INTERNAL_ERROR"
    assert "Retry-After" not in {**answer["headers"], **answer.get("multiValueHeaders", {})}


def test_a_webhook_that_could_not_queue_answers_503_so_the_provider_sends_it_again():
    settings = load_settings(DEV.function_environment(DEV.function("payments-phonepe-webhook"), PlaceholderNames()))
    event = function_url_event(method="POST", path="/webhooks/phonepe", query="", headers=[], body=b"{}",
                               source_ip="192.0.2.1", url_id="payments")

    def receive(request):
        raise client_error("ServiceUnavailable", 503, "SendMessage")

    answer = WebhookEdge(settings, provider="phonepe").handle(event, receive)

    assert answer["statusCode"] == 503
    assert json.loads(answer["body"])["error"]["code"] == "SERVICE_UNAVAILABLE"
