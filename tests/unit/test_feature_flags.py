"""Feature flags: the description's document as Powertools evaluates it, rollout by user id, the
fallback to settings when the store cannot be read, and the health semantics of providers."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.feature_flags import FeatureFlags
from aws_lambda_powertools.utilities.feature_flags.base import StoreProvider
from aws_lambda_powertools.utilities.feature_flags.exceptions import ConfigurationStoreError
from aws_lambda_powertools.utilities.feature_flags.schema import SchemaValidator

from bazaar.checkout.services import STOCK_CLEANUP_JOB as CHECKOUT_CLEANUP_JOB
from bazaar.checkout.wiring import HOLD_STOCK_FLAG
from bazaar.ops import services as ops_services
from bazaar.ops.domain import DependencyStatus, HealthReport
from bazaar.payments.config import PHONEPE_API_VERSION_FLAG
from bazaar.platform.flags import ROLLOUT_CONTEXT_KEY, Flags, rollout_number
from infra.description import SERVICE
from infra.description.model import ROLLOUT_CONTEXT_KEY as DESCRIBED_ROLLOUT_KEY
from infra.description.model import DescriptionError, FeatureFlag


class MemoryStore(StoreProvider):
    def __init__(self, document: dict | None) -> None:
        self.document, self.reads = document, 0

    def get_configuration(self) -> dict:
        self.reads += 1
        if self.document is None:
            raise ConfigurationStoreError("unreachable")
        return self.document

    @property
    def get_raw_configuration(self) -> dict:
        return self.get_configuration()


def flags_over(document: dict | None, clock=None) -> tuple[Flags, MemoryStore]:
    store = MemoryStore(document)
    engine = FeatureFlags(store=store)
    return Flags(lambda: engine, max_age_seconds=60, **({"monotonic": clock} if clock else {})), store


DOCUMENT = SERVICE.feature_flags.document


def test_the_names_code_uses_are_the_described_ones():
    described = {f.name for f in SERVICE.feature_flags.flags}
    assert {PHONEPE_API_VERSION_FLAG, HOLD_STOCK_FLAG} <= described
    assert ROLLOUT_CONTEXT_KEY == DESCRIBED_ROLLOUT_KEY
    assert ops_services.STOCK_CLEANUP_JOB == CHECKOUT_CLEANUP_JOB


def test_the_described_document_passes_powertools_schema_validation():
    SchemaValidator(DOCUMENT).validate()


def test_a_user_is_always_in_or_always_out_of_a_rollout():
    flags, _ = flags_over(DOCUMENT)
    for user in ("usr_01HZX", "usr_01HZY", "usr_01HZZ"):
        first = flags.value(HOLD_STOCK_FLAG, False, user)
        assert all(flags.value(HOLD_STOCK_FLAG, False, user) == first for _ in range(5))
        assert rollout_number(HOLD_STOCK_FLAG, user) == rollout_number(HOLD_STOCK_FLAG, user)


def test_about_the_rollout_percentage_of_many_users_get_the_flag():
    flags, _ = flags_over(DOCUMENT)
    users = [f"usr_{n:08d}" for n in range(5000)]
    share = sum(flags.value(HOLD_STOCK_FLAG, False, u) is True for u in users) / len(users)
    assert SERVICE.feature_flags.flag(HOLD_STOCK_FLAG).rollout_percent == 10
    assert 0.08 < share < 0.12


def test_each_flag_draws_its_own_users():
    users = [f"usr_{n:08d}" for n in range(2000)]
    first = {u for u in users if rollout_number("flag_one", u) % 100 < 10}
    second = {u for u in users if rollout_number("flag_two", u) % 100 < 10}
    assert first and second and first != second


def test_a_document_at_100_percent_gives_everyone_the_flag_and_0_percent_nobody():
    everyone = {HOLD_STOCK_FLAG: FeatureFlag(HOLD_STOCK_FLAG, "test", False, rollout_percent=100).document}
    nobody = {HOLD_STOCK_FLAG: FeatureFlag(HOLD_STOCK_FLAG, "test", False).document}
    assert all(flags_over(everyone)[0].value(HOLD_STOCK_FLAG, False, f"u{n}") is True for n in range(200))
    assert not any(flags_over(nobody)[0].value(HOLD_STOCK_FLAG, False, f"u{n}") for n in range(200))


def test_the_phonepe_generation_is_the_documents_and_the_setting_when_the_store_is_unreachable():
    assert flags_over({PHONEPE_API_VERSION_FLAG: {"default": "v1", "boolean_type": False}})[0].value(PHONEPE_API_VERSION_FLAG, "v2") == "v1"
    assert flags_over(None)[0].value(PHONEPE_API_VERSION_FLAG, "v2") == "v2"
    # A document that does not name the flag leaves the setting in charge too.
    assert flags_over({})[0].value(PHONEPE_API_VERSION_FLAG, "v2") == "v2"


def test_after_a_failed_read_the_defaults_answer_for_max_age_before_the_store_is_asked_again():
    now = [0.0]
    flags, store = flags_over(None, clock=lambda: now[0])
    assert flags.value(HOLD_STOCK_FLAG, False, "u1") is False
    reads = store.reads
    assert flags.value(HOLD_STOCK_FLAG, False, "u1") is False and store.reads == reads
    store.document, now[0] = {HOLD_STOCK_FLAG: {"default": True}}, 61.0
    assert flags.value(HOLD_STOCK_FLAG, False, "u1") is True


def test_a_flag_refuses_a_rollout_of_a_service_wide_switch_and_a_bad_percentage():
    with pytest.raises(DescriptionError, match="service-wide"):
        FeatureFlag("phonepe_api_version", "x", "v2", rollout_percent=10, rollout_value="v1", per_user=False)
    with pytest.raises(DescriptionError, match=r"0\.\.100"):
        FeatureFlag("some_flag", "x", False, rollout_percent=101)


def test_a_function_reading_flags_gets_where_they_are():
    class Names:
        def __getattr__(self, _):
            return lambda *a: "x"

        def flags_identifiers(self):
            return ("app-id", "dev", "profile-id")

    env = SERVICE.function_environment(SERVICE.function("checkout-api"), Names())
    assert (env["BAZAAR_FLAGS_APPLICATION"], env["BAZAAR_FLAGS_ENVIRONMENT"], env["BAZAAR_FLAGS_PROFILE"]) == (
        "app-id", "dev", "profile-id")
    assert "BAZAAR_FLAGS_PROFILE" not in SERVICE.function_environment(SERVICE.function("ops-heartbeat"), Names())


def test_an_unreachable_provider_degrades_health_and_an_unreachable_core_dependency_downs_it():
    core = DependencyStatus("dynamodb", True, 3)
    provider_down = DependencyStatus("shiprocket", False, 1000, "ConnectTimeout", kind="provider")
    degraded = HealthReport("1", (core, provider_down))
    assert (degraded.status, degraded.healthy, provider_down.status) == ("degraded", True, "degraded")
    down = HealthReport("1", (DependencyStatus("dynamodb", False, 5, "X"), provider_down))
    assert (down.status, down.healthy) == ("down", False)
