"""Provider webhooks (`SERVICE.webhooks`): a Lambda function URL each, auth NONE, because the
provider cannot sign AWS requests; the handler verifies the provider's signature itself."""

from __future__ import annotations

from aws_cdk import CfnOutput
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.description.model import Service


def build_webhooks(
    scope: Construct, service: Service, functions: dict[str, lambda_.Function]
) -> dict[str, lambda_.FunctionUrl]:
    urls: dict[str, lambda_.FunctionUrl] = {}
    for fn, webhook in service.webhooks:
        url = functions[fn.name].add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
        urls[fn.name] = url
        CfnOutput(
            scope,
            f"WebhookUrl-{fn.name}",
            value=url.url,
            description=f"{webhook.provider} webhook (served locally at {webhook.path})",
        )
    return urls
