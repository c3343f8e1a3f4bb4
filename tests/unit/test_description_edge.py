"""The edge in the description: per-stage WAF limits, the strictly limited paths, webhooks'
reserved concurrency, and what a preflight allows per path."""

from __future__ import annotations

import dataclasses

import pytest

from infra.description.bazaar import SERVICE
from infra.description.model import DescriptionError, IpRateLimits, Webhook


def test_prod_limits_sensitive_routes_more_strictly_than_dev():
    dev, prod = SERVICE.at_stage("dev").ip_rate_limits, SERVICE.at_stage("prod").ip_rate_limits
    assert prod.strict_per_ip < dev.strict_per_ip
    assert prod.strict_per_ip < prod.per_ip


def test_a_strict_limit_above_the_general_one_is_refused():
    with pytest.raises(DescriptionError, match="strict_per_ip 500 is above per_ip 100"):
        IpRateLimits(per_ip=100, strict_per_ip=500)


def test_a_limit_under_wafs_minimum_is_refused():
    with pytest.raises(DescriptionError, match="per_ip 5 must be 10"):
        IpRateLimits(per_ip=5, strict_per_ip=5)


def test_every_strict_path_matches_auth_checkout_and_refund_routes():
    paths = SERVICE.methods_by_path
    for fragment in SERVICE.api.strict_rate_limit_paths:
        assert any(fragment in path for path in paths), fragment
    assert "/v1/auth/login" in paths and "/v1/checkout" in paths and "/v1/orders/{order_id}/refunds" in paths


def test_a_strict_path_no_route_has_is_refused():
    api = dataclasses.replace(SERVICE.api, strict_rate_limit_paths=("/v1/wishlist",))
    with pytest.raises(DescriptionError, match="'/v1/wishlist' is part of no route's path"):
        dataclasses.replace(SERVICE, api=api)


def test_every_webhook_function_has_a_reserved_concurrency_and_no_other_function_does():
    capped = {f.name: f.reserved_concurrency for f in SERVICE.functions if f.reserved_concurrency is not None}
    assert capped == {f.name: w.reserved_concurrency for f, w in SERVICE.webhooks}
    assert all(1 <= cap <= 100 for cap in capped.values())


def test_a_webhook_reserving_no_concurrency_is_refused():
    with pytest.raises(DescriptionError, match=r"reserved_concurrency must be 1\.\.100"):
        Webhook(path="/webhooks/phonepe", provider="phonepe", reserved_concurrency=0)


def test_a_preflight_allows_each_paths_declared_methods():
    methods = SERVICE.methods_by_path
    assert methods["/v1/orders/{order_id}/refunds"] == ("GET", "POST")
    assert set(methods) == {route.path for _, route in SERVICE.routes}


def test_the_local_runtime_caps_a_webhook_function_at_its_reserved_concurrency():
    from infra.local.runtime import FunctionRuntime

    webhook_function = SERVICE.function("payouts-razorpayx-webhook")
    cap = webhook_function.reserved_concurrency
    assert cap is not None
    # Never more than the reservation, however large the machine's pool; never more than the pool.
    assert FunctionRuntime(webhook_function, {}, max_concurrency=cap + 10).max_concurrency == cap
    assert FunctionRuntime(webhook_function, {}, max_concurrency=cap - 1).max_concurrency == cap - 1
    assert FunctionRuntime(SERVICE.function("ops-api"), {}, max_concurrency=4).max_concurrency == 4
