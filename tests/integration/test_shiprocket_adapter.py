"""The Shiprocket adapter and the ship_order use case against the sandbox, over HTTP: token
handling, failure mapping, and shipping that survives a provider outage with exactly one order."""

from __future__ import annotations

import pytest

from bazaar.money import Paise
from bazaar.shipping import services
from bazaar.shipping.adapters.shiprocket import Shiprocket
from bazaar.shipping.settings import ShiprocketCredentials
from bazaar.shipping.domain import DuplicateChannelOrder, ProviderRejected, ProviderUnavailable, ShippingProviderError
from bazaar.shipping.tracking import ShipmentState
from tests.integration.conftest import PICKUP, SHIPROCKET_EMAIL, SHIPROCKET_PASSWORD
from tests.unit.test_shipping_services import a_request

CREDENTIALS = ShiprocketCredentials(api_email=SHIPROCKET_EMAIL, api_password=SHIPROCKET_PASSWORD,
                                    webhook_api_key="w" * 32, pickup_location=PICKUP)


def client(shiprocket, **kwargs) -> Shiprocket:
    # A short read timeout so the sandbox's timeout fault is felt quickly.
    return Shiprocket(shiprocket.api, lambda: CREDENTIALS, timeout=(1.0, 1.0), **kwargs)


def ship_with_retries(request, provider, attempts: int):
    """What SQS does for the shipments worker: deliver the record again after each failure."""
    errors = []
    for _ in range(attempts):
        try:
            return services.ship_order(request, provider), errors
        except ShippingProviderError as error:
            errors.append(error)
    raise AssertionError(f"still failing after {attempts} attempts: {errors}")


def test_ships_an_order_with_rupees_made_from_paise(shiprocket):
    outcome = services.ship_order(a_request("ord_I1"), client(shiprocket))
    assert outcome.created_order and outcome.assigned_awb and outcome.booked_pickup
    sandbox_order = shiprocket.sandbox.engine.by_channel_id["ord_I1"]
    assert sandbox_order.payload["sub_total"] == Paise(49900).to_rupees_string() == "499.00"
    assert sandbox_order.payload["order_items"][0]["selling_price"] == "249.50"
    assert sandbox_order.payload["weight"] == "0.500" and sandbox_order.payload["pickup_location"] == PICKUP
    assert shiprocket.state("ord_I1")["orders"][0]["awb"] == outcome.awb


@pytest.mark.parametrize("kind", ["5xx", "429", "timeout"])
def test_provider_down_for_the_first_tries_then_exactly_one_order(shiprocket, kind):
    # the first three calls fail, whatever they are (login, search, create...)
    shiprocket.post("faults", {"kind": kind, "count": 3, "delay_seconds": 1.5})
    outcome, errors = ship_with_retries(a_request("ord_DOWN"), client(shiprocket), attempts=5)
    assert len(errors) == 3 and all(isinstance(e, ProviderUnavailable) for e in errors)
    orders = shiprocket.state("ord_DOWN")["orders"]
    assert len(orders) == 1 and orders[0]["awb"] == outcome.awb and orders[0]["pickup_scheduled_date"]


@pytest.mark.parametrize("step", ["/orders/create/adhoc", "/courier/assign/awb", "/courier/generate/pickup"])
def test_a_call_that_took_effect_but_timed_out_is_not_repeated(shiprocket, step):
    shiprocket.post("faults", {"kind": "timeout", "count": 1, "path": step, "delay_seconds": 1.5, "then": "process"})
    outcome, errors = ship_with_retries(a_request("ord_HIDDEN"), client(shiprocket), attempts=3)
    assert len(errors) == 1
    assert len(shiprocket.state("ord_HIDDEN")["orders"]) == 1
    calls = [c for c in shiprocket.state()["calls"] if c["path"] == step]
    assert len(calls) == 1  # the retry saw the effect and skipped the step
    assert outcome.awb and outcome.pickup_scheduled_date


def test_awb_failure_in_a_200_body_is_raised_and_a_retry_ships(shiprocket):
    shiprocket.post("awb-failures", {"count": 1, "message": "Insufficient balance in wallet."})
    provider = client(shiprocket)
    with pytest.raises(ProviderRejected, match="wallet") as raised:
        services.ship_order(a_request("ord_AWB"), provider)
    assert raised.value.status == 200
    assert shiprocket.state("ord_AWB")["orders"][0]["awb"] is None
    outcome = services.ship_order(a_request("ord_AWB"), provider)
    assert outcome.awb and not outcome.created_order and len(shiprocket.state("ord_AWB")["orders"]) == 1


def test_logs_in_once_and_reuses_the_token(shiprocket):
    provider = client(shiprocket)
    services.ship_order(a_request("ord_T1"), provider)
    services.ship_order(a_request("ord_T2"), provider)
    assert provider.logins == 1 and shiprocket.state()["logins"] == 1


def test_a_401_logs_in_again_and_repeats_the_call_once(shiprocket):
    provider = client(shiprocket)
    services.ship_order(a_request("ord_R1"), provider)
    shiprocket.post("tokens/expire")
    outcome = services.ship_order(a_request("ord_R2"), provider)
    assert outcome.awb and provider.logins == 2


def test_the_token_is_renewed_before_its_expiry(shiprocket):
    now = [1_000_000.0]
    provider = client(shiprocket, clock=lambda: now[0])
    shiprocket.post("config", {"token_lifetime_seconds": 3600})
    provider.find_order_by_channel_order_id("ord_X")
    now[0] += 3300  # within the hour, but past 90% of it (3240 s)
    provider.find_order_by_channel_order_id("ord_X")
    assert provider.logins == 2
    # the renewal was proactive: no call was refused with 401 on the way
    assert all(c["status"] != 401 for c in shiprocket.state()["calls"])


def test_wrong_credentials_are_a_rejection_not_an_outage(shiprocket):
    wrong = CREDENTIALS.model_copy(update={"api_password": "wrong"})
    provider = Shiprocket(shiprocket.api, lambda: wrong, timeout=(1.0, 1.0))
    with pytest.raises(ProviderRejected, match="login refused"):
        provider.find_order_by_channel_order_id("ord_X")


def test_duplicate_channel_order_id_is_its_own_error(shiprocket):
    provider = client(shiprocket)
    provider.create_order(a_request("ord_D"))
    with pytest.raises(DuplicateChannelOrder):
        provider.create_order(a_request("ord_D"))


def test_find_matches_the_channel_order_id_exactly(shiprocket):
    provider = client(shiprocket)
    provider.create_order(a_request("ord_A10"))
    assert provider.find_order_by_channel_order_id("ord_A1") is None  # the search matched loosely
    assert provider.find_order_by_channel_order_id("ord_A10").channel_order_id == "ord_A10"


def test_tracking_through_the_adapter_maps_to_our_states(shiprocket):
    provider = client(shiprocket)
    outcome = services.ship_order(a_request("ord_TR"), provider)
    assert provider.track(awb=outcome.awb).has_activity is False
    shiprocket.post(f"shipments/{outcome.shipment_id}/advance", {"to": "OUT FOR DELIVERY"})
    snapshot = provider.track(awb=outcome.awb)
    assert snapshot.current.label == "OUT FOR DELIVERY" and snapshot.current.shipment_status_id == 17
    assert [s.label for s in snapshot.scans][:2] == ["OUT FOR DELIVERY", "REACHED AT DESTINATION HUB"]
    assert all(s.at is not None for s in snapshot.scans)
    by_shipment = provider.track(shipment_id=outcome.shipment_id)
    assert by_shipment.awb == outcome.awb and by_shipment.current == snapshot.current
    shiprocket.post(f"shipments/{outcome.shipment_id}/advance", {"to": "RTO DELIVERED"})
    from bazaar.shipping.tracking import classify
    assert classify(provider.track(awb=outcome.awb).current) is ShipmentState.RTO_DELIVERED


def test_cancel_before_pickup(shiprocket):
    provider = client(shiprocket)
    order = provider.create_order(a_request("ord_CX"))
    provider.cancel(order.provider_order_id)
    assert provider.find_order_by_channel_order_id("ord_CX").cancelled
