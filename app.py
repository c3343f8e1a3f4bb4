#!/usr/bin/env python3
"""The CDK app: Bazaar's cloud twin, built from the one service description."""

import aws_cdk as cdk

from infra.cloud.stack import build_app
from infra.description.bazaar import SERVICE

app = cdk.App()
build_app(app, SERVICE)
app.synth()
