"""The order events backbone on the local twin, end to end: a paid order's OrderPaid event,
committed with PAID, reaches shipping through the outbox's stream and the dispatcher; the
shopper's feed tells them it was paid, booked, shipped and delivered; every change emitted
exactly one event; and a redelivered stream batch, or a dispatcher that failed half-way, changes
nothing a consumer already did."""

from __future__ import annotations

import json

import pytest
import requests

from bazaar.platform.dynamo import from_item, to_value
from infra.local.stack import LocalConfig, LocalStack
from tests.conftest import bearer, get, login
from tests.paid_orders import PaidOrders
from tests.waiting import queues_drained, until


def _admin_order(stack, admin, order_id) -> dict:
    return get(f"{stack.url}/v1/admin/orders/{order_id}", headers=bearer(admin)).json()


def _status_becomes(stack, admin, order_id, status) -> dict:
    return until(lambda: (o := _admin_order(stack, admin, order_id))["status"] == status and o)


def _events(stack, order_id) -> list[dict]:
    items = stack.client("dynamodb").query(
        TableName=stack.names.table_name("order-events"), KeyConditionExpression="pk = :pk", ConsistentRead=True,
        ExpressionAttributeValues={":pk": to_value(f"ORDER#{order_id}")})["Items"]
    return [json.loads(from_item(i)["body"]) for i in items]


def _feed(stack, token) -> list[dict]:
    return get(f"{stack.url}/v1/me/notifications", headers=bearer(token), params={"limit": 100}).json()["items"]


def _counted(stack, event_ids) -> set[str]:
    """Which of these events the metrics consumer has counted (its inbox in the ops table)."""
    items = stack.client("dynamodb").query(
        TableName=stack.names.table_name("ops"), KeyConditionExpression="pk = :pk", ConsistentRead=True,
        ExpressionAttributeValues={":pk": to_value("INBOX#order-metrics")})["Items"]
    return {from_item(i)["sk"] for i in items} & set(event_ids)


def _settled(stack) -> None:
    """Everything committed so far relayed, and every consumer's queue empty."""
    stack.wait_for_streams()
    until(lambda: queues_drained(stack, "shipments", "order-notifications", "order-metrics"))


def _stream_event(stack, order_id) -> dict:
    """The order's outbox records as the stream mapping hands them to the dispatcher."""
    from infra.local import events

    streams = stack.client("dynamodbstreams")
    arn = stack.client("dynamodb").describe_table(
        TableName=stack.names.table_name("order-events"))["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    while iterator:
        answer = streams.get_records(ShardIterator=iterator, Limit=1000)
        records += [r for r in answer["Records"] if r["dynamodb"]["Keys"]["pk"]["S"] == f"ORDER#{order_id}"]
        if not answer["Records"]:
            break
        iterator = answer.get("NextShardIterator")
    return events.dynamodb_stream_event([events.dynamodb_stream_record(r, arn) for r in records])


@pytest.fixture(scope="module")
def admin(local_stack):
    return login(local_stack.url, **local_stack.accounts["admin"])["access_token"]


def test_a_delivered_order_emitted_one_event_per_change_and_told_its_shopper_each_step(local_stack, admin):
    shop = PaidOrders(local_stack)
    order_id = shop.new()["order_id"]
    # Nothing but the OrderPaid event asks for the shipment: the worker books it.
    created = _status_becomes(local_stack, admin, order_id, "SHIPMENT_CREATED")
    shiprocket = local_stack.sandbox("shiprocket").sandbox
    for label, status in (("OUT FOR PICKUP", "SHIPPED"), ("DELIVERED", "DELIVERED")):
        requests.post(f"{shiprocket.url}/_sandbox/shipments/{created['shipment']['shipment_id']}/advance",
                      json={"to": label}, timeout=120).raise_for_status()
        delivered = _status_becomes(local_stack, admin, order_id, status)
    _settled(local_stack)

    events = _events(local_stack, order_id)
    changes = [h for h in delivered["history"] if h["from_status"] != h["to_status"]]
    assert [e["to_status"] for e in events] == [h["to_status"] for h in changes]  # one per change
    assert [e["event_type"] for e in events] == ["OrderPlaced", "OrderPaid", "ShipmentCreated", "Shipped",
                                                 "Delivered"]
    assert [e["order_version"] for e in events] == sorted({e["order_version"] for e in events})
    kinds = [n["kind"] for n in _feed(local_stack, shop.customer)]
    assert kinds == ["order_delivered", "order_shipped", "order_shipment_booked", "order_paid"]
    assert _counted(local_stack, [e["event_id"] for e in events]) == {
        e["event_id"] for e in events if e["event_type"] in ("OrderPlaced", "OrderPaid", "Delivered")}
    assert len(shiprocket.state(order_id)["orders"]) == 1


def test_a_redelivered_stream_batch_changes_nothing_a_consumer_did(local_stack, admin):
    shop = PaidOrders(local_stack)
    order_id = shop.new()["order_id"]
    _status_becomes(local_stack, admin, order_id, "SHIPMENT_CREATED")
    _settled(local_stack)
    feed_before = _feed(local_stack, shop.customer)
    events = _events(local_stack, order_id)
    counted_before = _counted(local_stack, [e["event_id"] for e in events])

    # The stream mapping hands the same batch over again (as after a dispatcher timeout).
    batch = _stream_event(local_stack, order_id)
    assert len(batch["Records"]) == len(events) == 3
    again = local_stack.runtimes["orders-events-dispatcher"].invoke(batch)
    assert not again.failed and again.payload == {"batchItemFailures": []}
    _settled(local_stack)

    assert _feed(local_stack, shop.customer) == feed_before
    assert _counted(local_stack, [e["event_id"] for e in events]) == counted_before
    order = _admin_order(local_stack, admin, order_id)
    assert order["status"] == "SHIPMENT_CREATED"
    assert len(local_stack.sandbox("shiprocket").sandbox.state(order_id)["orders"]) == 1
    assert _events(local_stack, order_id) == events


def test_a_dispatcher_that_fails_half_way_is_redelivered_and_each_consumer_acts_once(tmp_path):
    with LocalStack(LocalConfig.for_tests(tmp_path)) as stack:
        admin = login(stack.url, **stack.accounts["admin"])["access_token"]
        shop = PaidOrders(stack)
        sqs = stack.client("sqs")
        metrics_url = stack.names.queue_url("order-metrics")
        attributes = sqs.get_queue_attributes(QueueUrl=metrics_url, AttributeNames=["All"])["Attributes"]
        kept = {k: v for k, v in attributes.items() if k in ("VisibilityTimeout", "RedrivePolicy",
                                                               "MessageRetentionPeriod")}
        order = shop.checkout()
        stack.wait_for_streams()  # OrderPlaced relayed everywhere
        # One consumer's queue is gone: the dispatcher reaches the others with OrderPaid, then
        # fails the record; the stream hands it over again and again.
        sqs.delete_queue(QueueUrl=metrics_url)
        batches_before = stack.stream_pollers[0].batches
        order_id = shop.pay(order)["order_id"]
        _status_becomes(stack, admin, order_id, "SHIPMENT_CREATED")
        assert until(lambda: [n for n in _feed(stack, shop.customer) if n["kind"] == "order_paid"])

        sqs.create_queue(QueueName=metrics_url.rsplit("/", 1)[1], Attributes=kept)  # the same URL again
        events = _events(stack, order_id)
        until(lambda: _counted(stack, [e["event_id"] for e in events]) ==
               {e["event_id"] for e in events if e["event_type"] in ("OrderPlaced", "OrderPaid")})
        _settled(stack)

        # OrderPaid was handed to the dispatcher again after its failed send (at least three
        # batches for two events), so the consumers that were reached saw it more than once.
        assert stack.stream_pollers[0].batches - batches_before >= 3
        kinds = [n["kind"] for n in _feed(stack, shop.customer)]
        assert kinds.count("order_paid") == 1 and kinds.count("order_shipment_booked") == 1
        assert len(stack.sandbox("shiprocket").sandbox.state(order_id)["orders"]) == 1
        assert [e["event_type"] for e in events] == ["OrderPlaced", "OrderPaid", "ShipmentCreated"]
