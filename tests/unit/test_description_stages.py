"""Stages: what differs between dev, staging and prod, applied by Service.at_stage."""

from __future__ import annotations

from dataclasses import replace

import pytest

from infra.description.bazaar import SERVICE
from infra.description.model import DescriptionError, Stage
from infra.description.stages import PROD


def _environments(service, key: str) -> set[str]:
    return {f.environment[key] for f in service.functions if key in f.environment}


def test_dev_staging_and_prod_are_the_stages():
    assert [s.name for s in SERVICE.stages] == ["dev", "staging", "prod"]
    assert SERVICE.stage is None and SERVICE.at_stage("dev").stage.name == "dev"


def test_a_stage_replaces_provider_hosts_in_every_function_that_declares_them():
    dev, prod = SERVICE.at_stage("dev"), SERVICE.at_stage("prod")
    assert _environments(dev, "PHONEPE_BASE_URL") == {"https://api-preprod.phonepe.com/apis/pg-sandbox"}
    assert _environments(prod, "PHONEPE_BASE_URL") == {"https://api.phonepe.com/apis/pg"}
    assert _environments(prod, "PHONEPE_OAUTH_BASE_URL") == {"https://api.phonepe.com/apis/identity-manager"}


def test_cors_origins_become_a_setting_every_function_reads():
    prod = SERVICE.at_stage("prod")
    assert prod.settings["CORS_ALLOWED_ORIGINS"].split(",") == list(PROD.cors_allowed_origins)
    assert SERVICE.at_stage("dev").settings["CORS_ALLOWED_ORIGINS"] == "http://localhost:3000,http://127.0.0.1:3000"


def test_an_unknown_stage_is_refused_naming_the_known_ones():
    with pytest.raises(DescriptionError, match=r"unknown stage 'qa'.*'dev', 'staging', 'prod'"):
        SERVICE.at_stage("qa")


def test_prod_with_a_sandbox_host_is_refused_with_the_setting_named():
    sandboxed = replace(PROD, settings={**PROD.settings, "PHONEPE_BASE_URL": "https://api-preprod.phonepe.com/apis/pg-sandbox"})
    service = replace(SERVICE, stages=(sandboxed,))
    with pytest.raises(DescriptionError, match=r"PHONEPE_BASE_URL=.*pg-sandbox.* is a test host"):
        service.at_stage("prod")


def test_prod_with_a_shiprocket_uat_host_is_refused():
    uat = replace(PROD, settings={**PROD.settings, "SHIPROCKET_BASE_URL": "https://uat.shiprocket.in/v1/external"})
    with pytest.raises(DescriptionError, match="SHIPROCKET_BASE_URL"):
        replace(SERVICE, stages=(uat,)).at_stage("prod")


def test_prod_without_alarm_recipients_is_refused():
    silent = replace(PROD, alarm_recipients=())
    with pytest.raises(DescriptionError, match="no alarm recipients"):
        replace(SERVICE, stages=(silent,)).at_stage("prod")


def test_a_non_production_stage_may_use_sandboxes_and_no_recipients():
    assert SERVICE.at_stage("dev").stage.alarm_recipients == ()


def test_a_setting_nothing_declares_is_refused():
    typo = Stage(name="dev", purpose="t", settings={"PHONEPE_BASE_ULR": "https://api.phonepe.com/apis/pg"})
    with pytest.raises(DescriptionError, match="PHONEPE_BASE_ULR"):
        replace(SERVICE, stages=(typo,)).at_stage("dev")


@pytest.mark.parametrize("origin", ["*", "https://shop.example/", "https://*.shop.example", "shop.example"])
def test_cors_origins_must_be_exact_origins(origin):
    with pytest.raises(DescriptionError, match="CORS origin"):
        Stage(name="dev", purpose="t", cors_allowed_origins=(origin,))


def test_alarm_recipients_must_be_addresses():
    with pytest.raises(DescriptionError, match="not an email address"):
        Stage(name="dev", purpose="t", alarm_recipients=("ops",))


def test_a_stage_sets_a_flags_rollout_and_the_others_keep_the_declared_one():
    hold = "hold_stock_for_payment_timeout"
    declared = SERVICE.feature_flags.flag(hold).rollout_percent
    assert declared == 10
    assert SERVICE.at_stage("dev").feature_flags.flag(hold).rollout_percent == 0
    assert "rules" not in SERVICE.at_stage("dev").feature_flags.document[hold]
    assert SERVICE.at_stage("prod").feature_flags.flag(hold).rollout_percent == declared


def test_a_rollout_of_an_undeclared_flag_is_refused():
    typo = Stage(name="dev", purpose="t", flag_rollout_percent={"hold_stock_for_payment_timout": 5})
    with pytest.raises(DescriptionError, match="hold_stock_for_payment_timout"):
        replace(SERVICE, stages=(typo,)).at_stage("dev")
