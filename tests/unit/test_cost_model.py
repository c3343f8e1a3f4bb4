"""The arithmetic behind `make bench-cost`: DynamoDB item sizes and request units as DynamoDB bills
them on demand, index writes, SQS chunks, Lambda GB-seconds, and counts x the price table."""

from __future__ import annotations

import pytest

from bench import cost_model
from bench.cost_model import Bill, Index, Table
from bench.prices_ap_south_1 import PRICES


def test_item_size_counts_names_and_values_as_dynamodb_does():
    assert cost_model.item_size({"pk": {"S": "ORDER#1"}}) == 2 + 7
    assert cost_model.item_size({"n": {"N": "12345"}}) == 1 + 4  # 5 digits: 3 bytes + 1
    assert cost_model.item_size({"ok": {"BOOL": True}, "x": {"NULL": True}}) == 2 + 1 + 1 + 1
    assert cost_model.item_size({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert cost_model.item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert cost_model.item_size({"s": {"S": "₹"}}) == 1 + 3  # UTF-8 bytes, not characters
    assert cost_model.item_size(None) == 0


@pytest.mark.parametrize(("size", "units"), [(0, 1), (1, 1), (1024, 1), (1025, 2), (3000, 3)])
def test_a_write_is_one_unit_per_started_kilobyte(size, units):
    assert cost_model.write_units(size) == units
    assert cost_model.write_units(size, transactional=True) == 2 * units


@pytest.mark.parametrize(("size", "consistent", "units"), [
    (0, True, 1.0), (4096, True, 1.0), (4097, True, 2.0), (100, False, 0.5), (9000, False, 1.5)])
def test_a_read_is_one_unit_per_started_4_kb_and_half_when_eventually_consistent(size, consistent, units):
    assert cost_model.read_units(size, consistent) == units


def test_a_transactional_read_costs_twice_a_consistent_one():
    assert cost_model.read_units(5000, consistent=False, transactional=True) == 4.0


def test_a_query_rounds_the_sum_of_its_items_once():
    item = {"pk": {"S": "x" * 998}}  # 1,000 bytes
    assert cost_model.query_read_units([item] * 5, consistent=True) == 2.0  # 5,000 bytes, not 5 x 1
    assert cost_model.query_read_units([], consistent=False) == 0.5


def test_a_write_bills_the_larger_image_and_each_index_the_item_is_in():
    table = Table(keys=("pk", "sk"), indexes=(Index(("status", "at")), Index(("seller",), projected=())))
    small = {"pk": {"S": "a"}, "sk": {"S": "b"}, "status": {"S": "PAID"}, "at": {"S": "1"}}
    large = {**small, "blob": {"S": "x" * 2000}}
    # Base table: max(before, after) = 2 KB started -> 2 (x2 in a transaction); the status index projects
    # everything (2 more); the seller index holds neither image.
    assert cost_model.table_write_units(table, small, large) == 2 + 2
    assert cost_model.table_write_units(table, small, large, transactional=True) == 4 + 2
    # A write that failed its condition still bills the item, but touches no index.
    assert cost_model.table_write_units(table, large, None, succeeded=False) == 2


def test_moving_an_item_within_an_index_is_a_delete_and_a_put():
    table = Table(keys=("pk",), indexes=(Index(("status",), projected=("total",)),))
    before = {"pk": {"S": "o1"}, "status": {"S": "PAID"}, "total": {"N": "100"}, "other": {"S": "y" * 3000}}
    after = {**before, "status": {"S": "SHIPPED"}}
    assert cost_model.index_write_units(table, before, after) == 2  # keys-and-total projections: 1 each
    assert cost_model.index_write_units(table, before, before) == 1
    assert cost_model.index_write_units(table, {"pk": {"S": "o1"}}, None) == 0


@pytest.mark.parametrize(("payload", "requests"), [(0, 1), (65_536, 1), (65_537, 2), (200_000, 4)])
def test_sqs_bills_each_64_kb_chunk_as_a_request(payload, requests):
    assert cost_model.sqs_requests(payload) == requests


def test_gb_seconds_round_the_duration_up_to_the_millisecond():
    assert cost_model.gb_seconds(99.2, 512) == pytest.approx(0.1 * 0.5)
    assert cost_model.gb_seconds(1000, 1024) == pytest.approx(1.0)


def test_the_bill_scales_counts_to_1000_lifecycles_and_spreads_monthly_charges():
    bill = Bill(lifecycles=50, lifecycles_per_month=100_000)
    bill.add("Lambda requests", 1_000, "lambda_requests")  # 20 per lifecycle
    bill.add("WAF web ACL", 1, "waf_web_acl_months", per_month=True)
    bill.add("Streams", 500, "dynamodb_streams_read_request_units", free=True)
    requests, acl, streams = bill.lines
    assert bill.per_thousand(requests) == pytest.approx(20_000 * 0.20 / 1_000_000)
    assert bill.per_thousand(acl) == pytest.approx(5.00 / 100)  # $5 a month over 100 thousand lifecycles
    assert bill.per_thousand(streams) == 0
    assert bill.total_per_thousand == pytest.approx(0.004 + 0.05)
    assert bill.ranked()[0] is acl


def test_every_price_is_dated_sourced_and_positive():
    for key, price in PRICES.items():
        assert price.usd > 0 and price.per > 0, key
        assert price.source.startswith("https://aws.amazon.com/"), key
        assert price.confirmed or price.note, f"{key}: an unconfirmed price says what it stands on"
