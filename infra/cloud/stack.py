"""BazaarStack: every resource generated from the one service description."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.cloud import nag, runtime, tags
from infra.cloud.api import ApiStack, RestApi
from infra.cloud.email import build_email_identities
from infra.cloud.flags import build_flags
from infra.cloud.functions import CloudNames, Shared, build_functions, code_asset, layer
from infra.cloud.identity import build_identity
from infra.cloud.monitoring import build_monitoring
from infra.cloud.network import build_network
from infra.cloud.queues import build_queues
from infra.cloud.schedules import build_schedules
from infra.cloud.secrets import build_secrets
from infra.cloud.state_machines import build_state_machines
from infra.cloud.tables import build_tables
from infra.cloud.webhooks import build_webhooks
from infra.cloud.websockets import build_websocket_apis, declare_websocket_apis
from infra.description.model import Service

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK_ID = "BazaarStack"


class BazaarStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: Service,
        stage: str,
        layer_dir: Path,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.service = service
        Tags.of(self).add(tags.SERVICE, service.name)
        Tags.of(self).add(tags.STAGE, stage)

        self.tables = build_tables(self, service)
        self.queues = build_queues(self, service)
        self.secrets = build_secrets(self, service)
        self.identity = build_identity(self, service)
        self.network = build_network(self, service)
        # Before the functions: their environment names each API's management endpoint.
        self.websocket_apis = declare_websocket_apis(self, service, stage)
        self.email_identities = build_email_identities(self, service)
        self.flags = build_flags(self, service, stage)

        has_layer = layer_dir.is_dir()
        if not has_layer:
            cdk.Annotations.of(self).add_warning_v2(
                "bazaar:noLayer",
                f"{layer_dir} does not exist: the functions are synthesized WITHOUT their "
                "dependency layer and cannot run. Run `python layers/build.py` before deploying.",
            )
        self.shared = Shared(
            service=service,
            stage=stage,
            code=code_asset(REPO_ROOT),
            layer=layer(self, layer_dir) if has_layer else None,
            physical=CloudNames(self, self.tables, self.queues, self.secrets, self.identity, self.websocket_apis,
                                self.flags),
            tables=self.tables,
            queues=self.queues,
            secrets=self.secrets,
            network=self.network,
        )
        self.functions = build_functions(self, self.shared)
        # The REST API lives in a nested stack (see infra/cloud/api.py); the functions stay here.
        self.api_stack: ApiStack | None = (
            ApiStack(self, "RestApi", service=service, stage=stage, functions=self.functions) if service.routes else None
        )
        self.api: RestApi | None = self.api_stack.rest if self.api_stack else None
        self.webhook_urls = build_webhooks(self, service, self.functions)
        build_websocket_apis(service, self.websocket_apis, self.functions)
        self.rules = build_schedules(self, service, self.functions)
        self.state_machines = build_state_machines(self, service.state_machines, self.functions)
        self.alarms = build_monitoring(
            self, service, self.functions, self.queues, self.api.api if self.api else None, self.shared.physical
        )

        CfnOutput(self, "UserPoolId", value=self.identity.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.identity.client.user_pool_client_id)
        if self.api is not None:
            CfnOutput(self, "ApiUrl", value=self.api.api.url)
        for name, websocket_api in self.websocket_apis.items():
            CfnOutput(self, f"WebSocketUrl{name.title().replace('-', '')}", value=websocket_api.stage.url,
                      description=f"wss URL of the {name} WebSocket API (token in ?{websocket_api.spec.token_query_parameter}=)")

        nag.acknowledge(self)


def _layer_dir(app: cdk.App) -> Path:
    configured = app.node.try_get_context(runtime.CONTEXT_LAYER_DIR) or runtime.LAYER_DIR
    path = Path(configured)
    return path if path.is_absolute() else REPO_ROOT / path


def build_app(app: cdk.App, service: Service) -> BazaarStack:
    """The whole cloud twin on `app`: BazaarStack checked by cdk-nag. Context: `bazaar:stage`
    (default dev) and `bazaar:layerDir` (default layers/build/dependencies)."""
    stage = app.node.try_get_context(runtime.CONTEXT_STAGE) or runtime.DEFAULT_STAGE
    # A description with stages deploys as one of them; at_stage refuses an unknown or unsafe one.
    staged = service.at_stage(stage) if service.stages and service.stage is None else service
    nag.check(app)
    return BazaarStack(
        app,
        STACK_ID,
        service=staged,
        stage=stage,
        layer_dir=_layer_dir(app),
        stack_name=f"{service.name}-{stage}",
        description=f"{service.name} ({stage}), generated from infra/description/bazaar.py",
    )
