"""The SES email identities functions send from (each function's EMAIL_SENDER address, once).

An email-address identity: SES mails the address a verification link when the stack creates it,
and refuses to send from it until someone clicks that link. For production, verify the domain
instead (DKIM) and leave the SES sandbox; both are account steps, see docs/notifications.md."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ses as ses
from constructs import Construct

from infra.description.model import Service


def build_email_identities(scope: Construct, service: Service) -> dict[str, ses.CfnEmailIdentity]:
    return {
        address: ses.CfnEmailIdentity(scope, f"EmailIdentity-{address.replace('@', '-at-')}", email_identity=address)
        for address in service.email_identities
    }


def email_identity_arn(stack: Stack, address: str) -> str:
    return stack.format_arn(service="ses", resource="identity", resource_name=address)
