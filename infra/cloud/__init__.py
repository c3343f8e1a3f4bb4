"""Bazaar's cloud twin: one CDK stack generated from `infra.description.bazaar.SERVICE`.

Importing this package stays cheap (no aws_cdk); `infra.cloud.stack` builds the stack and
`infra.cloud.inventory` reads a synthesized template back into the parity vocabulary.
"""
