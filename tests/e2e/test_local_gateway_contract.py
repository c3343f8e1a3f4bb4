"""The local twin's gateway, runtime and SQS emulation behave as API Gateway, Lambda and the SQS
event source do. A small fixture service (tests/fixtures) echoes what it is handed, so these
tests can look at the exact events and at each failure path."""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests

from infra.local.stack import LocalConfig, LocalStack
from tests.conftest import bearer
from tests.waiting import a_poll_began
from tests.fixtures.contract_service import APP_BODY_LIMIT, CONTRACT_SERVICE, GATEWAY_BODY_LIMIT


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("contract")), CONTRACT_SERVICE) as running:
        yield running


@pytest.fixture(scope="module")
def seller_token(stack):
    return stack.sign_in("seller")["access_token"]


def _echo(response: requests.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def test_rest_proxy_event_has_api_gateway_shape(stack):
    response = requests.get(
        f"{stack.url}/echo/thing-1?colour=red&colour=blue&size=m",
        headers={"X-Custom": "yes", "User-Agent": "contract-test"},
        timeout=30,
    )
    body = _echo(response)
    event = body["event"]

    assert event["resource"] == "/echo/{thing_id}"
    assert event["path"] == "/echo/thing-1"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"thing_id": "thing-1"}
    assert event["queryStringParameters"] == {"colour": "blue", "size": "m"}
    assert event["multiValueQueryStringParameters"] == {"colour": ["red", "blue"], "size": ["m"]}
    assert event["headers"]["X-Custom"] == "yes"
    assert event["multiValueHeaders"]["X-Custom"] == ["yes"]
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == "/echo/{thing_id}"
    assert context["stage"] and context["requestId"] and context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "contract-test"
    assert body["function"] == "contract-echo"
    assert 0 < body["remaining_ms"] <= 10_000
    # the described table reached the function as its physical name, and nothing else did
    assert body["env_table"] == stack.names.table_name("ops")
    # multi-value response headers come back over HTTP unchanged
    assert response.headers["X-Multi"] == "a, b"


def test_literal_path_beats_a_path_parameter(stack):
    event = _echo(requests.get(f"{stack.url}/echo/literal", timeout=30))["event"]
    assert event["resource"] == "/echo/literal"
    assert event["pathParameters"] is None


def test_binary_body_arrives_base64_encoded(stack):
    payload = bytes(range(256))
    response = requests.post(
        f"{stack.url}/echo/bin", data=payload, headers={"Content-Type": "application/octet-stream"}, timeout=30
    )
    event = _echo(response)["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_function_url_event_has_payload_2_0_shape(stack):
    response = requests.post(
        f"{stack.url}/webhooks/echo?a=1&a=2",
        data=json.dumps({"hello": "world"}),
        headers={"Content-Type": "application/json", "X-Verify": "abc###1", "Cookie": "k=v; j=w"},
        timeout=30,
    )
    event = _echo(response)["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/webhooks/echo"
    assert event["rawQueryString"] == "a=1&a=2"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["headers"]["x-verify"] == "abc###1"  # lower-cased, as function URLs do
    assert event["cookies"] == ["k=v", "j=w"]
    assert event["requestContext"]["http"]["method"] == "POST"
    assert json.loads(event["body"]) == {"hello": "world"}


def test_authorizer_context_reaches_the_integration(stack, seller_token):
    event = _echo(requests.get(f"{stack.url}/private/echo", headers=bearer(seller_token), timeout=30))["event"]
    authorizer = event["requestContext"]["authorizer"]
    assert authorizer["roles"] == "seller"
    user = stack.client("cognito-idp").admin_get_user(
        UserPoolId=stack.names.pool_id, Username=stack.accounts["seller"]["email"]
    )
    sub = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    pointer = stack.client("dynamodb").get_item(
        TableName=stack.names.table_name("identity"), Key={"pk": {"S": f"SUB#{sub}"}, "sk": {"S": "SUB"}}
    )["Item"]
    # The integration gets Bazaar's user id for the token's sub, never the sub itself.
    assert authorizer["user_id"] == authorizer["principalId"] == pointer["user_id"]["S"]
    assert authorizer["user_id"].startswith("usr_")


def test_wrong_role_is_refused_by_the_gateway(stack, seller_token):
    response = requests.post(f"{stack.url}/items", json={"name": "a", "quantity": 1}, headers=bearer(seller_token), timeout=30)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"


def test_validated_body_and_unknown_fields(stack):
    token = stack.sign_in("customer")["access_token"]

    ok = requests.post(f"{stack.url}/items", json={"name": "pen", "quantity": 2}, headers=bearer(token), timeout=30)
    assert ok.status_code == 200, ok.text
    assert ok.json()["quantity"] == 2
    assert ok.json()["caller"]

    invalid = requests.post(
        f"{stack.url}/items", json={"name": "pen", "quantity": 99, "price_paise": 1}, headers=bearer(token), timeout=30
    )
    assert invalid.status_code == 400
    error = invalid.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert {d["field"] for d in error["details"]} == {"quantity", "price_paise"}
    assert "99" not in json.dumps(error["details"]) + error["message"]  # the offending input is not echoed

    malformed = requests.post(
        f"{stack.url}/items", data="{not json", headers={**bearer(token), "Content-Type": "application/json"}, timeout=30
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "MALFORMED_JSON"

    too_big = requests.post(
        f"{stack.url}/items",
        json={"name": "x" * (APP_BODY_LIMIT + 10), "quantity": 1},
        headers=bearer(token),
        timeout=30,
    )
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_body_over_the_gateway_limit_never_reaches_the_function(stack):
    response = requests.post(f"{stack.url}/echo/big", data=b"x" * (GATEWAY_BODY_LIMIT + 1), timeout=30)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_domain_error_maps_to_its_status(stack):
    response = requests.get(f"{stack.url}/items/i-7", timeout=30)
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "CONFLICT", "message": "item i-7 is locked", "request_id": response.headers["X-Request-Id"],
    }


@pytest.mark.parametrize("path", ["/boom", "/crash", "/slow"])
def test_failures_are_500_without_internal_detail(stack, path):
    started = time.monotonic()
    response = requests.get(f"{stack.url}{path}", timeout=60)

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    for leak in ("Traceback", "RuntimeError", "ValueError", "arn:aws", "bazaar-ops", "secret internal"):
        assert leak not in response.text
    if path == "/slow":
        assert time.monotonic() - started < 20  # the 2 s function timeout ended it, not the sleep


def test_sqs_partial_batch_failure_keeps_only_the_failed_record(stack):
    sqs = stack.client("sqs")
    url = stack.names.queue_url("jobs")
    # Operators shorten the visibility timeout like this too; it keeps the retry within the test.
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
    # A long poll already waiting keeps the timeout it started with: wait for a fresh one.
    a_poll_began(stack, "jobs")
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "good", "MessageBody": json.dumps({"fail": False})},
            {"Id": "bad", "MessageBody": json.dumps({"fail": True, "marker": "poison"})},
        ],
    )
    dlq = stack.names.queue_url("jobs-dlq")
    deadline = time.monotonic() + 60
    moved = []
    while time.monotonic() < deadline and not moved:
        moved = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1, AttributeNames=["All"]).get("Messages", [])
    assert len(moved) == 1, "the failing record should reach the DLQ after max receives"
    assert json.loads(moved[0]["Body"])["marker"] == "poison"
    assert int(moved[0]["Attributes"]["ApproximateReceiveCount"]) >= 5
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
