"""The feature flags in AppConfig: one application, one environment (this stage), one
configuration profile holding the description's flag document as a hosted configuration
version, and its deployment with the stage's predefined deployment strategy (no strategy resource
of ours). Functions that read flags are granted that one configuration and nothing else."""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import Stack, Tags
from aws_cdk import aws_appconfig as appconfig
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.cloud import tags
from infra.description.model import Service

# AppConfig's "Freeform" type: Powertools' feature flags read the JSON document as it is (the
# AWS.AppConfig.FeatureFlags type has its own, different schema).
PROFILE_TYPE = "AWS.Freeform"
READ_ACTIONS = ("appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration")


@dataclass(frozen=True)
class CloudFlags:
    application: appconfig.CfnApplication
    environment: appconfig.CfnEnvironment
    profile: appconfig.CfnConfigurationProfile

    def identifiers(self) -> tuple[str, str, str]:
        # Ids (Ref), not names: StartConfigurationSession takes either, ids are unique.
        return self.application.ref, self.environment.ref, self.profile.ref

    def read_statement(self, stack: Stack) -> iam.PolicyStatement:
        configuration = stack.format_arn(
            service="appconfig", resource="application",
            resource_name=f"{self.application.ref}/environment/{self.environment.ref}/configuration/{self.profile.ref}",
        )
        return iam.PolicyStatement(actions=list(READ_ACTIONS), resources=[configuration])


def build_flags(scope: Construct, service: Service, stage: str) -> CloudFlags | None:
    flags = service.feature_flags
    if flags is None:
        return None
    application = appconfig.CfnApplication(scope, "FlagsApplication", name=f"{flags.application}-{stage}",
                                           description="Bazaar's feature flags (infra/description)")
    environment = appconfig.CfnEnvironment(scope, "FlagsEnvironment", application_id=application.ref, name=stage)
    profile = appconfig.CfnConfigurationProfile(
        scope, "FlagsProfile", application_id=application.ref, name=flags.profile, location_uri="hosted",
        type=PROFILE_TYPE,
    )
    version = appconfig.CfnHostedConfigurationVersion(
        scope, "FlagsDocument", application_id=application.ref, configuration_profile_id=profile.ref,
        content=json.dumps(flags.document, sort_keys=True), content_type="application/json",
    )
    strategy = service.stage.flags_deployment_strategy if service.stage else "AppConfig.AllAtOnce"
    appconfig.CfnDeployment(
        scope, "FlagsDeployment", application_id=application.ref, environment_id=environment.ref,
        configuration_profile_id=profile.ref, configuration_version=version.ref, deployment_strategy_id=strategy,
        description="The flag document of this deploy",
    )
    for resource in (application, environment, profile):
        Tags.of(resource).add(tags.FEATURE_FLAGS, flags.application)
    return CloudFlags(application, environment, profile)
