"""The fault proxy in front of moto, over boto3 as the functions call it: calls pass through
unchanged, and an injected fault is answered as the service would answer it (botocore parses the
code it would parse from AWS), for the calls it names only, for as long or as often as asked."""

from __future__ import annotations

import time

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from infra.local.aws import CREDENTIALS, REGION, MotoServer
from infra.local.aws_faults import AwsFaultProxy
from infra.local.stack import free_port

pytestmark = pytest.mark.slow

ONE_TRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture(scope="module")
def proxy():
    moto = MotoServer(free_port())
    moto.start()
    proxy = AwsFaultProxy(moto.endpoint).start()
    dynamodb = moto.client("dynamodb")
    for table in ("shop-orders", "shop-stock"):
        dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    moto.client("sqs").create_queue(QueueName="shop-payment-events")
    moto.client("secretsmanager").create_secret(Name="shop/phonepe", SecretString="{}")
    yield proxy
    proxy.stop()
    moto.stop()


@pytest.fixture
def faults(proxy):
    requests.post(f"{proxy.endpoint}/_faults/reset", timeout=5).raise_for_status()
    yield proxy
    requests.post(f"{proxy.endpoint}/_faults/reset", timeout=5).raise_for_status()


def inject(proxy, **spec) -> dict:
    answer = requests.post(f"{proxy.endpoint}/_faults", json=spec, timeout=5)
    assert answer.status_code == 201, answer.text
    return answer.json()


def client(proxy, service: str, config: Config = ONE_TRY):
    return boto3.client(service, endpoint_url=proxy.endpoint, region_name=REGION, config=config, **CREDENTIALS)


def put(dynamodb, table: str, pk: str = "a") -> None:
    dynamodb.put_item(TableName=table, Item={"pk": {"S": pk}})


def error_of(call) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value


def test_calls_pass_through_unchanged_and_are_counted(faults):
    dynamodb = client(faults, "dynamodb")
    put(dynamodb, "shop-orders", "through")
    item = dynamodb.get_item(TableName="shop-orders", Key={"pk": {"S": "through"}})["Item"]

    assert item == {"pk": {"S": "through"}}
    calls = requests.get(f"{faults.endpoint}/_faults", timeout=5).json()["calls"]
    assert calls["dynamodb"] == {"PutItem": 1, "GetItem": 1}


@pytest.mark.parametrize(("kind", "status", "code"), [
    ("throttling", 400, "ThrottlingException"),
    ("provisioned-throughput", 400, "ProvisionedThroughputExceededException"),
    ("5xx", 500, "InternalServerError"),
    ("unavailable", 503, "ServiceUnavailable"),
])
def test_dynamodb_faults_come_back_as_dynamodb_answers_them(faults, kind, status, code):
    inject(faults, service="dynamodb", kind=kind, count=1)

    error = error_of(lambda: put(client(faults, "dynamodb"), "shop-orders"))

    assert error.response["Error"]["Code"] == code
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_a_fault_on_one_table_leaves_the_others_and_hits_transactions_naming_it(faults):
    dynamodb = client(faults, "dynamodb")
    inject(faults, service="dynamodb", kind="throttling", resource="stock")

    put(dynamodb, "shop-orders")  # another table: untouched
    transaction = [{"Put": {"TableName": "shop-orders", "Item": {"pk": {"S": "t"}}}},
                   {"Put": {"TableName": "shop-stock", "Item": {"pk": {"S": "t"}}}}]
    error = error_of(lambda: dynamodb.transact_write_items(TransactItems=transaction))

    assert error.response["Error"]["Code"] == "ThrottlingException"
    assert "Item" not in dynamodb.get_item(TableName="shop-orders", Key={"pk": {"S": "t"}})  # nothing applied


def test_a_fault_on_one_operation_leaves_the_others(faults):
    dynamodb = client(faults, "dynamodb")
    inject(faults, service="dynamodb", operation="GetItem", kind="5xx")

    put(dynamodb, "shop-orders")
    error = error_of(lambda: dynamodb.get_item(TableName="shop-orders", Key={"pk": {"S": "a"}}))

    assert error.response["Error"]["Code"] == "InternalServerError"


def test_a_counted_fault_is_absorbed_by_the_sdks_retries(faults):
    fault = inject(faults, service="dynamodb", kind="throttling", count=2)
    retrying = client(faults, "dynamodb", Config(retries={"mode": "standard", "max_attempts": 3}))

    put(retrying, "shop-orders", "retried")

    listed = requests.get(f"{faults.endpoint}/_faults", timeout=5).json()
    assert fault["id"] not in [f["id"] for f in listed["faults"]]  # used up
    assert listed["calls"]["dynamodb"]["PutItem"] == 3


def test_a_timed_fault_ends_by_itself(faults):
    dynamodb = client(faults, "dynamodb")
    inject(faults, service="dynamodb", kind="throttling", seconds=0.5)

    error_of(lambda: put(dynamodb, "shop-orders"))
    time.sleep(0.6)
    put(dynamodb, "shop-orders")


def test_sqs_unavailable_and_a_reset_connection(faults):
    sqs = client(faults, "sqs")
    url = sqs.get_queue_url(QueueName="shop-payment-events")["QueueUrl"]
    inject(faults, service="sqs", operation="SendMessage", kind="unavailable", count=1)
    inject(faults, service="sqs", operation="SendMessage", kind="reset", count=1)

    assert error_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="x")).response["Error"]["Code"] \
        == "ServiceUnavailable"
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        sqs.send_message(QueueUrl=url, MessageBody="x")
    sqs.send_message(QueueUrl=url, MessageBody="x")


def test_secrets_manager_unavailable(faults):
    manager = client(faults, "secretsmanager")
    inject(faults, service="secretsmanager", resource="phonepe", kind="5xx", count=1)

    error = error_of(lambda: manager.get_secret_value(SecretId="shop/phonepe"))

    assert error.response["Error"]["Code"] == "InternalServiceError"
    assert manager.get_secret_value(SecretId="shop/phonepe")["SecretString"] == "{}"


def test_a_probable_fault_fails_some_calls_and_not_others(faults):
    dynamodb = client(faults, "dynamodb")
    inject(faults, service="dynamodb", kind="throttling", probability=0.5)
    outcomes = []
    for _ in range(40):
        try:
            put(dynamodb, "shop-orders")
            outcomes.append(True)
        except ClientError:
            outcomes.append(False)

    assert True in outcomes and False in outcomes  # 40 tries at a half: both, but for 2 in 10**12


@pytest.mark.parametrize("spec", [
    {"kind": "throttling"}, {"service": "dynamodb", "kind": "sometimes"},
    {"service": "dynamodb", "kind": "5xx", "count": 0}, {"service": "dynamodb", "kind": "5xx", "probability": 2},
    {"service": "dynamodb", "kind": "5xx", "table": "orders"},
])
def test_a_fault_the_proxy_cannot_act_on_is_refused(faults, spec):
    answer = requests.post(f"{faults.endpoint}/_faults", json=spec, timeout=5)

    assert answer.status_code == 400 and answer.json()["message"]


def test_one_fault_can_be_ended_by_its_id(faults):
    dynamodb = client(faults, "dynamodb")
    fault = inject(faults, service="dynamodb", kind="throttling")

    assert requests.delete(f"{faults.endpoint}/_faults/{fault['id']}", timeout=5).status_code == 200
    put(dynamodb, "shop-orders")
    assert requests.delete(f"{faults.endpoint}/_faults/{fault['id']}", timeout=5).status_code == 404
