"""The realtime DynamoDB adapters against moto (a moto server of its own, the tables created as
the local twin creates them): connections found by user and by the admins audience, the
journal in (occurred_at, event id) order written once per audience and event id, what a replay
reads after a position, and the TTL attributes set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bazaar.platform.dynamo import from_item
from bazaar.realtime.adapters.dynamodb import DynamoDbConnections, DynamoDbJournal
from bazaar.realtime.domain import ADMINS, Connection, JournalEntry
from tests.integration.realtime_support import realtime_tables

AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def moto():
    with realtime_tables() as running:
        yield running


@pytest.fixture
def dynamodb(moto):
    return moto[0].client("dynamodb")


@pytest.fixture
def connections(moto, dynamodb):
    return DynamoDbConnections(dynamodb, moto[1].table_name("connections"))


@pytest.fixture
def journal(moto, dynamodb):
    return DynamoDbJournal(dynamodb, moto[1].table_name("realtime-journal"))


def test_connections_are_found_by_user_and_admin_connections_by_audience(connections, dynamodb, moto):
    asha = Connection("c-asha-1", "usr_asha", ("user:usr_asha",), AT)
    asha_phone = Connection("c-asha-2", "usr_asha", ("user:usr_asha",), AT)
    admin = Connection("c-admin", "usr_admin", (ADMINS, "user:usr_admin"), AT)
    for c in (asha, asha_phone, admin):
        connections.add(c, expires_at=AT + timedelta(hours=2))

    assert sorted(c.connection_id for c in connections.of_audience("user:usr_asha")) == ["c-asha-1", "c-asha-2"]
    assert connections.of_audience(ADMINS) == [admin]
    assert connections.of_audience("user:usr_admin") == [admin]
    assert connections.get("c-asha-1") == asha

    item = from_item(dynamodb.get_item(TableName=moto[1].table_name("connections"),
                                       Key={"pk": {"S": "CONN#c-asha-1"}})["Item"])
    assert item["expires_at"] == int((AT + timedelta(hours=2)).timestamp())
    assert "audience" not in item  # a shopper's connection is not in the sparse admins index
    ttl = dynamodb.describe_time_to_live(TableName=moto[1].table_name("connections"))["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"

    connections.remove("c-asha-1")
    connections.remove("c-asha-1")  # removing twice is no error
    assert connections.get("c-asha-1") is None
    assert [c.connection_id for c in connections.of_audience("user:usr_asha")] == ["c-asha-2"]


def _entry(audience: str, event_id: str, minutes: int) -> JournalEntry:
    return JournalEntry(audience, event_id, AT + timedelta(minutes=minutes), f'{{"event_id":"{event_id}"}}')


def test_an_event_is_journaled_once_per_audience_and_keeps_whom_it_reached(journal, dynamodb, moto):
    entry = _entry("user:usr_once", "evt_once_000001", 0)

    first, written = journal.record(entry, expires_at=AT + timedelta(days=3))
    assert (first, written) == (entry, True)
    journal.mark("user:usr_once", entry, {"c-1", "c-2"}, complete=False)
    journal.mark("user:usr_once", entry, {"c-3"}, complete=True)
    again, written_again = journal.record(entry, expires_at=AT + timedelta(days=3))

    assert written_again is False
    assert again.delivered_to == {"c-1", "c-2", "c-3"} and again.complete and again.frame == entry.frame
    items = dynamodb.query(TableName=moto[1].table_name("realtime-journal"), KeyConditionExpression="pk = :p",
                           ExpressionAttributeValues={":p": {"S": "AUD#user:usr_once"}})["Items"]
    assert len(items) == 1 and from_item(items[0])["expires_at"] == int((AT + timedelta(days=3)).timestamp())


def test_the_journal_reads_in_time_order_after_a_position_and_finds_an_event_by_id(journal):
    audience = "user:usr_order"
    # Written out of order, two at the same moment (ordered by event id).
    for event_id, minutes in (("evt_c_000003", 2), ("evt_a_000001", 0), ("evt_b_000002", 1), ("evt_bb_000002", 1),
                              ("evt_d_000004", 3)):
        journal.record(_entry(audience, event_id, minutes), expires_at=AT + timedelta(days=3))
    journal.record(_entry(ADMINS, "evt_x_000009", 1), expires_at=AT + timedelta(days=3))

    position = journal.position_of([audience], "evt_a_000001")
    assert position == (AT, "evt_a_000001")
    assert [e.event_id for e in journal.after(audience, position, 10)] == \
        ["evt_b_000002", "evt_bb_000002", "evt_c_000003", "evt_d_000004"]
    assert [e.event_id for e in journal.after(audience, position, 2)] == ["evt_b_000002", "evt_bb_000002"]
    assert journal.after(audience, (AT + timedelta(minutes=3), "evt_d_000004"), 10) == []

    assert journal.position_of([audience], "evt_x_000009") is None  # another audience's event
    assert journal.position_of([ADMINS, audience], "evt_x_000009") == (AT + timedelta(minutes=1), "evt_x_000009")
    assert journal.position_of([audience], "evt_never_000001") is None
