"""The identity parts of the cloud twin: the user pool's policy, groups and app client, and the
Cognito admin permissions each function gets (exactly those its description lists, on the pool)."""

from __future__ import annotations

import pytest

from infra.cloud import tags
from infra.description.bazaar import SERVICE
from infra.description.model import Role
from tests.infra.template import by_tag, resources
from tests.infra.test_cloud_template import _actions, _policy_of

pytestmark = pytest.mark.slow


def test_pool_policy_groups_and_client(cloud_template):
    (_pool_id, pool), = resources(cloud_template, "AWS::Cognito::UserPool").items()
    policy = pool["Properties"]["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert all(policy[k] for k in ("RequireUppercase", "RequireLowercase", "RequireNumbers", "RequireSymbols"))
    assert pool["Properties"]["UsernameAttributes"] == ["email"]
    groups = {g["Properties"]["GroupName"] for g in resources(cloud_template, "AWS::Cognito::UserPoolGroup").values()}
    assert groups == {r.value for r in Role}
    (client,) = resources(cloud_template, "AWS::Cognito::UserPoolClient").values()
    props = client["Properties"]
    assert props["EnableTokenRevocation"] is True
    assert props["PreventUserExistenceErrors"] == "ENABLED"
    assert "ALLOW_USER_PASSWORD_AUTH" in props["ExplicitAuthFlows"]


def test_cognito_permissions_are_exactly_the_declared_actions_on_the_pool(cloud_template):
    (pool_id,) = resources(cloud_template, "AWS::Cognito::UserPool")
    for spec in SERVICE.functions:
        cognito = [s for s in _policy_of(cloud_template, spec.name)
                   if any(a.startswith("cognito-idp:") for a in _actions(s))]
        granted = {a for s in cognito for a in _actions(s)}
        assert granted == {f"cognito-idp:{a}" for a in spec.user_pool_actions}, spec.name
        for statement in cognito:
            assert statement["Resource"] == {"Fn::GetAtt": [pool_id, "Arn"]}


def test_authorizer_reads_the_identity_table_and_calls_no_cognito_api(cloud_template):
    spec = SERVICE.function(SERVICE.api.authorizer)
    assert dict(spec.tables) == {"identity": "read"} and spec.user_pool_actions == ()
    functions = by_tag(cloud_template, "AWS::Lambda::Function", tags.FUNCTION)
    env = functions[spec.name][1]["Properties"]["Environment"]["Variables"]
    assert "BAZAAR_TABLE_IDENTITY" in env and "BAZAAR_ROUTE_ROLES" in env
