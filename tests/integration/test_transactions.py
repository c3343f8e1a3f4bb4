"""The named transaction builder (bazaar.platform.dynamo.Transaction) against moto's DynamoDB: one
moto server of its own with two small tables, so a cancellation reason is DynamoDB's (moto's),
not a stub's, and a cancelled transaction provably writes nothing."""

from __future__ import annotations

import pytest

from bazaar.platform.dynamo import Transaction, TransactionCancelled, from_item, to_item, to_value
from infra.local.aws import MotoServer
from infra.local.stack import free_port

KEY_SCHEMA = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
ATTRIBUTES = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]


@pytest.fixture(scope="module")
def dynamodb():
    server = MotoServer(free_port())
    server.start()
    client = server.client("dynamodb")
    for table in ("things", "counters"):
        client.create_table(TableName=table, KeySchema=KEY_SCHEMA, AttributeDefinitions=ATTRIBUTES,
                            BillingMode="PAY_PER_REQUEST")
    yield client
    server.stop()


def key(pk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": "ITEM"}}


def read(client, table: str, pk: str) -> dict | None:
    item = client.get_item(TableName=table, Key=key(pk), ConsistentRead=True).get("Item")
    return from_item(item) if item else None


def counter_move(pk: str, units: int) -> dict:
    """A ready-made transact item, the way StockWrites builds them for another context."""
    return {"Update": {"TableName": "counters", "Key": key(pk), "UpdateExpression": "SET n = n - :u",
                       "ConditionExpression": "n >= :u", "ExpressionAttributeValues": {":u": to_value(units)}}}


def test_items_keep_the_order_and_the_names_they_were_added_with():
    transaction = (
        Transaction()
        .put("thing", "things", to_item({"pk": "a", "sk": "ITEM"}), condition="attribute_not_exists(pk)")
        .add("stock:v1", counter_move("v1", 1))
        .condition_check("guard", "things", key("b"), "attribute_exists(pk)")
        .delete("gone", "things", key("c"))
        .update("count", "counters", key("v2"), "ADD n :one", values={":one": to_value(1)})
    )

    assert transaction.names == ["thing", "stock:v1", "guard", "gone", "count"]
    assert [next(iter(i)) for i in transaction.items] == ["Put", "Update", "ConditionCheck", "Delete", "Update"]
    assert transaction.items[0]["Put"] == {"TableName": "things", "Item": {"pk": {"S": "a"}, "sk": {"S": "ITEM"}},
                                           "ConditionExpression": "attribute_not_exists(pk)"}
    assert transaction.items[1] == counter_move("v1", 1)
    assert len(transaction) == 5


def test_a_name_is_used_once_and_an_item_is_a_transact_item():
    transaction = Transaction().delete("x", "things", key("x"))
    with pytest.raises(ValueError, match="already named"):
        transaction.delete("x", "things", key("y"))
    with pytest.raises(ValueError, match="not a transact item"):
        transaction.add("y", {"TableName": "things", "Key": key("y")})
    with pytest.raises(ValueError, match="empty"):
        Transaction().run(None)


def test_a_transaction_writes_across_tables(dynamodb):
    dynamodb.put_item(TableName="counters", Item=to_item({"pk": "w1", "sk": "ITEM", "n": 5}))

    (Transaction()
     .put("thing", "things", to_item({"pk": "w-thing", "sk": "ITEM", "note": "hello"}),
          condition="attribute_not_exists(pk)")
     .add("stock:w1", counter_move("w1", 2))
     .run(dynamodb))

    assert read(dynamodb, "things", "w-thing") == {"pk": "w-thing", "sk": "ITEM", "note": "hello"}
    assert read(dynamodb, "counters", "w1")["n"] == 3


def test_a_cancellation_names_the_items_that_failed_and_writes_nothing(dynamodb):
    dynamodb.put_item(TableName="counters", Item=to_item({"pk": "c1", "sk": "ITEM", "n": 5}))
    dynamodb.put_item(TableName="counters", Item=to_item({"pk": "c2", "sk": "ITEM", "n": 1}))
    dynamodb.put_item(TableName="things", Item=to_item({"pk": "c-taken", "sk": "ITEM"}))

    transaction = (
        Transaction()
        .put("fresh", "things", to_item({"pk": "c-fresh", "sk": "ITEM"}), condition="attribute_not_exists(pk)")
        .add("stock:c1", counter_move("c1", 2))
        .add("stock:c2", counter_move("c2", 2))
        .condition_check("claim", "things", key("c-taken"), "attribute_not_exists(pk)",
                         return_old_on_failure=True)
    )
    with pytest.raises(TransactionCancelled) as raised:
        transaction.run(dynamodb)

    cancelled = raised.value
    assert cancelled.failed("stock:c2") and cancelled.failed("claim")
    assert not cancelled.failed("fresh") and not cancelled.failed("stock:c1")
    assert cancelled.failed_any("stock:") and not cancelled.failed_any("fresh")
    assert not cancelled.failed("no-such-item")
    assert cancelled.failed_names == ["stock:c2", "claim"]
    assert cancelled.codes["fresh"] == "None"
    assert cancelled.item("claim") == {"pk": "c-taken", "sk": "ITEM"}
    assert cancelled.item("stock:c2") is None  # it did not ask for the old item
    assert "stock:c2" in str(cancelled)
    # All or nothing: the items whose conditions held were not written either.
    assert read(dynamodb, "things", "c-fresh") is None
    assert read(dynamodb, "counters", "c1")["n"] == 5


class ContendedClient:
    """Answers TransactWriteItems with contention (another transaction on the same item) for the
    first `conflicts` calls, then as DynamoDB would."""

    def __init__(self, conflicts: int):
        self.conflicts = conflicts
        self.calls = 0

    def transact_write_items(self, TransactItems):
        from botocore.exceptions import ClientError

        self.calls += 1
        if self.calls <= self.conflicts:
            reasons = [{"Code": "None"}, {"Code": "TransactionConflict"}]
            raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                               "CancellationReasons": reasons}, "TransactWriteItems")
        return {}


def two_items() -> Transaction:
    return Transaction().delete("first", "things", key("x")).delete("second", "things", key("y"))


def test_contention_is_retried_and_only_then_reported_by_name():
    settles = ContendedClient(conflicts=2)
    two_items().run(settles)
    assert settles.calls == 3

    stays = ContendedClient(conflicts=99)
    with pytest.raises(TransactionCancelled) as raised:
        two_items().run(stays, tries=3)
    assert stays.calls == 3
    assert raised.value.failed("second", "TransactionConflict") and not raised.value.failed("second")
