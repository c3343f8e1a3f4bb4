"""ship_order and confirm_tracking against an in-memory provider that keeps Shiprocket's rules
(one order per channel order id, AWB before pickup) and can fail like it does."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bazaar.shipping import services
from bazaar.shipping.domain import (
    Address,
    AwbAssignment,
    DuplicateChannelOrder,
    Parcel,
    PickupBooking,
    ProviderOrder,
    ProviderRejected,
    ProviderUnavailable,
    ShipmentCancelled,
    ShipmentItem,
    ShipmentRequest,
    TrackingEvent,
    TrackingMismatch,
    TrackingSnapshot,
)
from bazaar.shipping.tracking import ShipmentState, TrackingScan


def a_request(order_id: str = "ord_A1") -> ShipmentRequest:
    return ShipmentRequest(
        channel_order_id=order_id,
        order_date=date(2026, 11, 20),
        ship_to=Address(name="Asha Rao", line1="12 MG Road", city="Bengaluru", state="Karnataka",
                        pincode="560001", email="asha@example.in", phone="9876543210"),
        items=(ShipmentItem(sku="MUG-1", name="Mug", units=2, unit_price_paise=24950),),
        parcel=Parcel(length_cm=10, breadth_cm=10, height_cm=10, weight_grams=500),
        sub_total_paise=49900,
    )


class FakeShiprocket:
    def __init__(self):
        self.orders: dict[str, ProviderOrder] = {}
        self.calls: list[str] = []
        # name of a call -> exceptions to raise on its next calls; "after" means the call took
        # effect before the failure (a timeout that hid a success)
        self.failures: dict[str, list[tuple[Exception, bool]]] = {}
        self.tracks: dict[str, TrackingSnapshot] = {}
        self.hide_from_search = False

    def fail(self, call: str, error: Exception, *, after: bool = False, times: int = 1):
        self.failures.setdefault(call, []).extend([(error, after)] * times)

    def _maybe_fail(self, call: str, before: bool):
        queue = self.failures.get(call)
        if queue and queue[0][1] != before:
            raise queue.pop(0)[0]

    def _step(self, call: str, action):
        self.calls.append(call)
        self._maybe_fail(call, before=True)
        result = action()
        self._maybe_fail(call, before=False)
        return result

    def find_order_by_channel_order_id(self, channel_order_id):
        return self._step("find", lambda: None if self.hide_from_search else self.orders.get(channel_order_id))

    def create_order(self, request):
        def create():
            if request.channel_order_id in self.orders:
                raise DuplicateChannelOrder("The order id has already been taken.", status=422)
            n = len(self.orders) + 1
            order = ProviderOrder(channel_order_id=request.channel_order_id, provider_order_id=100 + n,
                                  shipment_id=200 + n, status="NEW")
            self.orders[request.channel_order_id] = order
            return order
        return self._step("create", create)

    def _by_shipment(self, shipment_id):
        return next(k for k, o in self.orders.items() if o.shipment_id == shipment_id)

    def assign_awb(self, shipment_id):
        def assign():
            key = self._by_shipment(shipment_id)
            assert not self.orders[key].awb, "Shiprocket: Cannot reassign courier"
            self.orders[key] = self.orders[key].model_copy(update={"awb": f"AWB{shipment_id}", "courier_name": "Delhivery",
                                                                   "status": "READY TO SHIP"})
            return AwbAssignment(shipment_id=shipment_id, awb=f"AWB{shipment_id}", courier_name="Delhivery")
        return self._step("awb", assign)

    def generate_pickup(self, shipment_id):
        def pickup():
            key = self._by_shipment(shipment_id)
            assert self.orders[key].awb, "Shiprocket: AWB before pickup"
            assert not self.orders[key].pickup_booked, "Shiprocket: Already in Pickup Queue"
            self.orders[key] = self.orders[key].model_copy(update={"pickup_scheduled_date": "2026-11-24 10:00:00"})
            return PickupBooking(shipment_id=shipment_id, pickup_scheduled_date="2026-11-24 10:00:00", token_number="7")
        return self._step("pickup", pickup)

    def track(self, *, awb=None, shipment_id=None):
        return self._step("track", lambda: self.tracks[awb])

    def cancel(self, provider_order_id):
        raise NotImplementedError


def test_ships_a_new_order_in_the_provider_order():
    provider = FakeShiprocket()
    outcome = services.ship_order(a_request(), provider)
    assert provider.calls == ["find", "create", "awb", "pickup"]
    assert (outcome.created_order, outcome.assigned_awb, outcome.booked_pickup) == (True, True, True)
    assert outcome.awb == "AWB201" and outcome.pickup_scheduled_date == "2026-11-24 10:00:00"


def test_running_it_again_changes_nothing():
    provider = FakeShiprocket()
    first = services.ship_order(a_request(), provider)
    provider.calls.clear()
    again = services.ship_order(a_request(), provider)
    assert provider.calls == ["find"]
    assert (again.awb, again.provider_order_id) == (first.awb, first.provider_order_id)
    assert not (again.created_order or again.assigned_awb or again.booked_pickup)


@pytest.mark.parametrize("step", ["create", "awb", "pickup"])
def test_a_timeout_that_hid_a_success_is_resumed_without_a_second_order(step):
    provider = FakeShiprocket()
    provider.fail(step, ProviderUnavailable("timed out"), after=True)
    with pytest.raises(ProviderUnavailable):
        services.ship_order(a_request(), provider)
    outcome = services.ship_order(a_request(), provider)
    assert len(provider.orders) == 1
    assert provider.calls.count("create") == 1 and provider.calls.count("awb") == 1
    assert provider.calls.count("pickup") == 1
    assert outcome.awb == "AWB201" and outcome.pickup_scheduled_date


def test_provider_down_fails_the_attempt_and_the_next_one_ships():
    provider = FakeShiprocket()
    provider.fail("find", ProviderUnavailable("503"), times=2)
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            services.ship_order(a_request(), provider)
    assert services.ship_order(a_request(), provider).awb
    assert len(provider.orders) == 1


def test_duplicate_on_create_means_an_earlier_attempt_made_it():
    provider = FakeShiprocket()
    services.ship_order(a_request(), provider)
    provider.orders["ord_A1"] = provider.orders["ord_A1"].model_copy(update={"awb": None, "pickup_scheduled_date": None})
    provider.hide_from_search = True  # the search lags behind: find says none, create says duplicate
    with pytest.raises(ProviderUnavailable):
        services.ship_order(a_request(), provider)
    provider.hide_from_search = False
    assert services.ship_order(a_request(), provider).assigned_awb
    assert len(provider.orders) == 1


def test_awb_refused_in_a_200_body_is_raised():
    provider = FakeShiprocket()
    provider.fail("awb", ProviderRejected("AWB not assigned: Insufficient balance in wallet", status=200))
    with pytest.raises(ProviderRejected, match="wallet"):
        services.ship_order(a_request(), provider)
    assert "pickup" not in provider.calls


def test_a_cancelled_provider_order_is_never_shipped():
    provider = FakeShiprocket()
    provider.orders["ord_A1"] = ProviderOrder(channel_order_id="ord_A1", provider_order_id=1, shipment_id=2,
                                              status="CANCELED")
    with pytest.raises(ShipmentCancelled):
        services.ship_order(a_request(), provider)
    assert provider.calls == ["find"]


def an_event(awb="AWB201", label="DELIVERED") -> TrackingEvent:
    return TrackingEvent(awb=awb, channel_order_id="ord_A1", label=label, received_at=datetime.now(UTC),
                         payload_sha256="0" * 64)


def test_tracking_trusts_the_track_api_not_the_webhook():
    provider = FakeShiprocket()
    provider.tracks["AWB201"] = TrackingSnapshot(awb="AWB201", has_activity=True,
                                                 current=TrackingScan("IN TRANSIT", shipment_status_id=18))
    confirmation = services.confirm_tracking(an_event(label="DELIVERED"), provider)
    assert confirmation.state is ShipmentState.IN_TRANSIT and confirmation.known_label


def test_tracking_an_unknown_status_yields_no_state_but_keeps_the_scans():
    provider = FakeShiprocket()
    scans = (TrackingScan("TELEPORTED"), TrackingScan("IN TRANSIT", shipment_status_id=18))
    provider.tracks["AWB201"] = TrackingSnapshot(awb="AWB201", has_activity=True, current=scans[0], scans=scans)
    confirmation = services.confirm_tracking(an_event(), provider)
    assert confirmation.state is None and not confirmation.known_label and confirmation.scans == scans


def test_tracking_before_the_first_scan_has_no_state():
    provider = FakeShiprocket()
    provider.tracks["AWB201"] = TrackingSnapshot(awb="AWB201", has_activity=False)
    assert services.confirm_tracking(an_event(), provider).state is None


def test_tracking_answer_about_another_awb_is_refused():
    provider = FakeShiprocket()
    provider.tracks["AWB201"] = TrackingSnapshot(awb="AWB999", has_activity=True, current=TrackingScan("DELIVERED"))
    with pytest.raises(TrackingMismatch):
        services.confirm_tracking(an_event(), provider)


def test_sub_total_must_be_the_items_total():
    with pytest.raises(ValueError, match="sub_total"):
        ShipmentRequest.model_validate({**a_request().model_dump(), "sub_total_paise": 1})
