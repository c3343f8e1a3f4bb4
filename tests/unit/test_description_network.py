"""The network vocabulary (Network, Function.fixed_egress) refuses unsafe or inconsistent
settings when the description loads, naming the part at fault; and the real description's
network covers RazorpayX."""

from __future__ import annotations

import dataclasses

import pytest

from infra.description import SERVICE
from infra.description.contexts.payouts import RAZORPAYX_API
from infra.description.model import PUBLIC, DescriptionError, Function, Network, Route, Service
from tests.fixtures.egress_service import EGRESS_SERVICE, NETWORK, PROVIDER_SETTING


def _with(service: Service, **changes) -> Service:
    fields = {f.name: getattr(service, f.name) for f in dataclasses.fields(service)}
    return Service(**{**fields, **changes})


def _function(**overrides) -> Function:
    base = dict(name="probe-payer", handler="functions.ops.api.handler", description="probe")
    return Function(**{**base, **overrides})


def test_bazaar_declares_a_network_that_allowlists_every_razorpayx_setting():
    assert SERVICE.network is not None
    assert set(RAZORPAYX_API) <= set(SERVICE.network.allowlisted_settings)


def test_every_bazaar_function_naming_an_allowlisted_setting_has_fixed_egress():
    # Holds whatever the contexts declare: the description would not load otherwise, but this
    # says so in a test named for it.
    assert SERVICE.network is not None
    for f in SERVICE.functions:
        if set(SERVICE.network.allowlisted_settings) & set(f.environment):
            assert f.fixed_egress, f.name


def test_fixed_egress_without_a_network_is_refused():
    bystanders = tuple(f for f in SERVICE.functions if not f.fixed_egress)
    with pytest.raises(DescriptionError, match="function 'probe-payer' sets fixed_egress, but the description "
                                               "declares no network"):
        _with(SERVICE, network=None, functions=bystanders + (_function(fixed_egress=True),))


def test_a_function_calling_an_allowlisting_provider_without_fixed_egress_is_refused():
    caller = _function(environment=dict(RAZORPAYX_API))
    with pytest.raises(
        DescriptionError,
        match=r"function 'probe-payer': its environment names RAZORPAYX_BASE_URL, .* set fixed_egress=True",
    ):
        _with(SERVICE, functions=SERVICE.functions + (caller,))


def test_a_function_calling_an_allowlisting_provider_with_fixed_egress_loads():
    caller = _function(environment=dict(RAZORPAYX_API), fixed_egress=True)
    service = _with(SERVICE, functions=SERVICE.functions + (caller,))
    assert caller in service.fixed_egress_functions


def test_an_allowlisted_setting_in_the_service_settings_is_refused():
    with pytest.raises(DescriptionError, match="service settings name RAZORPAYX_BASE_URL, an allowlisted setting"):
        _with(SERVICE, settings={**SERVICE.settings, **RAZORPAYX_API})


def test_a_fixed_egress_function_may_serve_api_routes_within_the_gateway_timeout():
    route = (Route("GET", "/v1/probe-payouts", PUBLIC, "probe"),)
    assert _function(fixed_egress=True, routes=route).fixed_egress
    with pytest.raises(DescriptionError, match="timeout must be <= 29 s"):
        _function(fixed_egress=True, routes=route, timeout_seconds=30)


def test_the_egress_fixture_has_fixed_egress_functions_and_a_bystander():
    assert {f.name for f in EGRESS_SERVICE.fixed_egress_functions} == {"egress-caller", "egress-api"}
    assert EGRESS_SERVICE.network is NETWORK
    assert all(PROVIDER_SETTING in f.environment for f in EGRESS_SERVICE.fixed_egress_functions)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cidr": "10.40.0.0/33"}, "is not an IPv4 network"),
        ({"cidr": "10.40.0.1/16"}, "is not an IPv4 network"),
        ({"cidr": "8.8.0.0/16"}, "not a private"),
        ({"cidr": "10.0.0.0/8"}, "must be a /16 to /24"),
        ({"cidr": "10.40.0.0/26"}, "must be a /16 to /24"),
        ({"availability_zones": 1}, "availability_zones must be 2..6"),
        ({"flow_log_retention_days": 10}, "flow_log_retention_days 10 is not a CloudWatch Logs retention"),
        ({"allowlisted_settings": ("razorpayx_base_url",)}, "must be an environment variable name"),
        ({"allowlisted_settings": ("A_URL", "A_URL")}, "names an allowlisted setting twice"),
        ({"name": "N"}, "network name 'N' must be"),
    ],
)
def test_unsafe_network_settings_are_refused(overrides, message):
    with pytest.raises(DescriptionError, match=message):
        Network(**{"name": "probe-network", **overrides})
