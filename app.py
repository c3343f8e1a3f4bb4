#!/usr/bin/env python3
"""The CDK app: Bazaar's cloud twin, built from the one service description."""

import sys

import aws_cdk as cdk

from infra.cloud.stack import build_app
from infra.description.bazaar import SERVICE
from infra.description.model import DescriptionError

app = cdk.App()
try:
    build_app(app, SERVICE)
except DescriptionError as refused:
    # A stage that may not be deployed (or a broken description): say why, without a traceback.
    sys.exit(f"bazaar: not synthesized: {refused}")
app.synth()
