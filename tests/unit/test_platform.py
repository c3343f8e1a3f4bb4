"""Platform building blocks: ids, money, cursors, settings."""

from __future__ import annotations

import re

import pytest

from bazaar.money import Paise
from bazaar.platform.errors import BazaarError
from bazaar.platform.ids import id_pattern, new_id
from bazaar.platform.pagination import CursorCodec, InvalidCursor, clamp_limit
from bazaar.checkout.settings import CheckoutSettings
from bazaar.identity.settings import IdentitySettings
from bazaar.shipping.settings import ShipmentJobSettings
from bazaar.platform.settings import ConfigurationError, UndeclaredResourceError, load_settings
from infra.description import SERVICE
from infra.description.model import PlaceholderNames


def test_ids_are_prefixed_sortable_and_unique():
    first, second = new_id("ord", now_ms=1_000), new_id("ord", now_ms=2_000)
    assert re.match(id_pattern("ord"), first)
    assert first < second
    assert len({new_id("ord") for _ in range(1000)}) == 1000


def test_paise_refuses_floats_and_rounds_fees_half_up():
    with pytest.raises(TypeError):
        Paise(10.5)
    assert Paise(12345).share_bps(1000) == Paise(1235)  # 1234.5 -> 1235
    assert Paise(999).share_bps(1000) == Paise(100)
    assert Paise.from_rupees_string("123.4") == Paise(12340)
    assert Paise(12340).to_rupees_string() == "123.40"
    with pytest.raises(ValueError):
        Paise.from_rupees_string("12.345")


def test_cursor_round_trips_and_refuses_tampering_and_other_scopes():
    codec = CursorCodec(b"k" * 32, scope="orders:usr_1")
    cursor = codec.encode({"pk": "ORDER#1", "sk": "x"})
    assert codec.decode(cursor) == {"pk": "ORDER#1", "sk": "x"}
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    with pytest.raises(InvalidCursor):
        codec.decode(tampered)
    with pytest.raises(InvalidCursor):
        CursorCodec(b"k" * 32, scope="orders:usr_2").decode(cursor)
    with pytest.raises(InvalidCursor):
        codec.decode("not-base64!!")


def test_limit_defaults_and_is_capped():
    assert clamp_limit(None) == 20
    assert clamp_limit(1000) == 100
    with pytest.raises(BazaarError):
        clamp_limit(0)


def _environment(**overrides):
    function = SERVICE.function("ops-api")

    return {**SERVICE.function_environment(function, PlaceholderNames()), **overrides}


def test_settings_load_from_the_described_environment():
    settings = load_settings(_environment())
    assert settings.table("ops") == PlaceholderNames().table_name("ops")
    assert settings.secret_id("app-keys") == PlaceholderNames().secret_id("app-keys")
    assert settings.route_roles["GET /v1/admin/diagnostics"] == frozenset({"admin"})


def test_a_bad_setting_stops_start_up_and_is_named():
    with pytest.raises(ConfigurationError, match="STOCK_LOCK_EXPIRY_MINUTES"):
        load_settings(_environment(STOCK_LOCK_EXPIRY_MINUTES="0"), CheckoutSettings)
    env = _environment()
    del env["BAZAAR_VERSION"]
    with pytest.raises(ConfigurationError, match="BAZAAR_VERSION"):
        load_settings(env)


def test_an_undeclared_table_is_refused_with_a_clear_message():
    settings = load_settings(_environment())
    with pytest.raises(UndeclaredResourceError, match="does not declare it"):
        settings.table("stock")  # ops-api reads orders (lock counts), never stock


def test_each_context_refuses_to_start_without_its_own_settings():
    # A shipments worker without its max receive count cannot tell its last attempt.
    env = _environment(SHIPROCKET_BASE_URL="http://shiprocket", SHIPPING_CONTACT_EMAIL="ops@shop.example",
                       ORDER_HISTORY_RETENTION_DAYS="30")
    with pytest.raises(ConfigurationError, match="SHIPMENTS_MAX_RECEIVE_COUNT"):
        load_settings(env, ShipmentJobSettings)
    assert load_settings({**env, "SHIPMENTS_MAX_RECEIVE_COUNT": "5"}, ShipmentJobSettings).shipments_max_receive_count == 5
    with pytest.raises(ConfigurationError, match="BAZAAR_USER_POOL_ID"):
        load_settings(env, IdentitySettings)
