"""The cost benchmark's meter on the AWS fault proxy, over boto3 to moto: it sees the calls the proxy
passes on (not the ones it fails) and prices DynamoDB writes and reads in request units from the
items they touch, SQS in 64 KB requests."""

from __future__ import annotations

import time

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from bench.aws_meter import AwsMeter
from infra.local.aws import CREDENTIALS, REGION, MotoServer
from infra.local.aws_faults import AwsFaultProxy
from infra.local.stack import free_port

pytestmark = pytest.mark.slow

ONE_TRY = Config(retries={"mode": "standard", "total_max_attempts": 1})
TABLE = "shop-orders"


@pytest.fixture(scope="module")
def stack():
    moto = MotoServer(free_port())
    moto.start()
    proxy = AwsFaultProxy(moto.endpoint).start()
    moto.client("dynamodb").create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    queue_url = moto.client("sqs").create_queue(QueueName="shop-jobs")["QueueUrl"]
    yield proxy, moto, queue_url
    proxy.stop()
    moto.stop()


@pytest.fixture
def meter(stack):
    proxy, moto, _ = stack
    meter = AwsMeter(proxy, moto.client("dynamodb"))
    meter.reset()
    yield meter
    proxy.observer = None
    requests.post(f"{proxy.endpoint}/_faults/reset", timeout=5).raise_for_status()


def client(stack, service: str):
    return boto3.client(service, endpoint_url=stack[0].endpoint, region_name=REGION, config=ONE_TRY,
                        **CREDENTIALS)


def settled(read, expected, seconds: float = 5.0):
    """The figure once it reaches what is expected (or as it is after `seconds`): the meter counts
    a call after its answer is on the way to the caller, so as not to slow the caller down."""
    deadline = time.monotonic() + seconds
    while read() != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return read()


def item(pk: str, size: int) -> dict:
    return {"pk": {"S": pk}, "body": {"S": "x" * size}}


def test_writes_are_priced_per_kilobyte_of_the_larger_image_and_doubled_in_a_transaction(stack, meter):
    dynamodb = client(stack, "dynamodb")
    dynamodb.put_item(TableName=TABLE, Item=item("small", 100))
    assert settled(lambda: meter.write_units, 1) == 1
    dynamodb.put_item(TableName=TABLE, Item=item("large", 2500))  # 3 KB after
    assert settled(lambda: meter.write_units, 1 + 3) == 1 + 3
    dynamodb.update_item(TableName=TABLE, Key={"pk": {"S": "large"}}, UpdateExpression="SET body = :b",
                         ExpressionAttributeValues={":b": {"S": "y"}})  # 3 KB before, a few bytes after
    assert settled(lambda: meter.write_units, 1 + 3 + 3) == 1 + 3 + 3
    dynamodb.transact_write_items(TransactItems=[
        {"Put": {"TableName": TABLE, "Item": item("t1", 100)}},
        {"ConditionCheck": {"TableName": TABLE, "Key": {"pk": {"S": "small"}},
                            "ConditionExpression": "attribute_exists(pk)"}}])
    assert settled(lambda: meter.write_units, 1 + 3 + 3 + 2 + 2) == 1 + 3 + 3 + 2 + 2
    assert meter.write_units_by_table[TABLE] == meter.write_units
    assert meter.requests[("dynamodb", "PutItem")] == 2
    assert meter.count("dynamodb") == 4


def test_reads_are_priced_per_four_kilobytes_and_halved_when_eventually_consistent(stack, meter):
    dynamodb = client(stack, "dynamodb")
    stack[1].client("dynamodb").put_item(TableName=TABLE, Item=item("read-me", 5000))  # not through the proxy
    assert meter.count("dynamodb") == 0 and meter.write_units == 0
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "read-me"}}, ConsistentRead=True)
    assert settled(lambda: meter.read_units, 2) == 2
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "read-me"}})
    assert settled(lambda: meter.read_units, 2 + 1) == 2 + 1


def test_a_call_the_proxy_fails_never_reaches_the_meter(stack, meter):
    proxy = stack[0]
    requests.post(f"{proxy.endpoint}/_faults", json={"service": "dynamodb", "kind": "5xx", "count": 1},
                  timeout=5).raise_for_status()
    dynamodb = client(stack, "dynamodb")
    with pytest.raises(ClientError):
        dynamodb.put_item(TableName=TABLE, Item=item("refused", 100))
    assert settled(lambda: meter.write_units, 0) == 0
    dynamodb.put_item(TableName=TABLE, Item=item("taken", 100))
    assert settled(lambda: meter.write_units, 1) == 1


def test_sqs_requests_count_in_64_kilobyte_chunks(stack, meter):
    sqs = client(stack, "sqs")
    sqs.send_message(QueueUrl=stack[2], MessageBody="x" * 100)
    assert settled(lambda: meter.sqs_requests, 1) == 1
    sqs.send_message(QueueUrl=stack[2], MessageBody="x" * (100 * 1024))
    assert settled(lambda: meter.sqs_requests, 1 + 2) == 1 + 2
