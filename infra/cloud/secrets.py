"""One Secrets Manager secret per `SERVICE.secrets`: a JSON object with the declared fields."""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy, Tags
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.cloud import tags
from infra.description.model import Secret, Service


def _secret(scope: Construct, secret: Secret) -> secretsmanager.Secret:
    first, *others = secret.fields
    resource = secretsmanager.Secret(
        scope,
        f"Secret-{secret.name}",
        description=secret.purpose,
        # Only the first field is generated (for app-keys that is the whole secret: a random
        # signing key). The other fields start empty: they hold provider credentials (PhonePe,
        # Shiprocket, ...) that an operator fills in after the first deploy; CloudFormation
        # never sees them. Beware: CloudFormation regenerates the whole value when this
        # generator changes, so adding a field to a deployed secret wipes what operators filled.
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template=json.dumps(dict.fromkeys(others, "")),
            generate_string_key=first,
            password_length=64,
            exclude_punctuation=True,
        ),
        # Deleting the stack must not throw away keys (cursors signed with them) or credentials.
        removal_policy=RemovalPolicy.RETAIN,
    )
    Tags.of(resource).add(tags.SECRET, secret.name)
    return resource


def build_secrets(scope: Construct, service: Service) -> dict[str, secretsmanager.Secret]:
    return {secret.name: _secret(scope, secret) for secret in service.secrets}
