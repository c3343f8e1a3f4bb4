"""The AWS WAF web ACL in front of the REST API's stage: per-IP rate limits (one on every route,
a stricter one on sign-in, checkout and refund routes) and AWS's common rule set. Everything is
counted in CloudWatch metrics and sampled, so a blocked client can be found and explained.

Only the REST API is behind it: WAF cannot be associated with a Lambda function URL (the
webhooks are capped by reserved concurrency instead) or with a WebSocket API."""

from __future__ import annotations

import json

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.description.edge import (
    WEB_ACL_COMMON_RULE_SET, WEB_ACL_COUNTED_COMMON_RULES, WEB_ACL_GENERAL_RULE, WEB_ACL_RATE_WINDOW_SECONDS,
    WEB_ACL_STRICT_RULE,
)
from infra.description.model import Service

RATE_LIMITED_BODY = "rate-limited"


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def _rate_limited() -> wafv2.CfnWebACL.RuleActionProperty:
    """Blocked by a rate rule: 429 in Bazaar's envelope with Retry-After, as the API's own
    throttling answers (WAF knows no API Gateway request id, so the envelope's is empty)."""
    return wafv2.CfnWebACL.RuleActionProperty(
        block=wafv2.CfnWebACL.BlockActionProperty(
            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                response_code=429,
                custom_response_body_key=RATE_LIMITED_BODY,
                response_headers=[
                    wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                        name="Retry-After", value=str(WEB_ACL_RATE_WINDOW_SECONDS)
                    )
                ],
            )
        )
    )


def _path_contains(fragment: str) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="CONTAINS",
            search_string=fragment,
            # Decoded and lower-cased first, so %2F or capitals cannot step around the match.
            text_transformations=[
                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="URL_DECODE"),
                wafv2.CfnWebACL.TextTransformationProperty(priority=1, type="LOWERCASE"),
            ],
        )
    )


def _rate_rule(name: str, priority: int, limit: int, paths: tuple[str, ...]) -> wafv2.CfnWebACL.RuleProperty:
    scope_down = None
    if len(paths) == 1:
        scope_down = _path_contains(paths[0])
    elif paths:
        scope_down = wafv2.CfnWebACL.StatementProperty(
            or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=[_path_contains(p) for p in paths])
        )
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=_rate_limited(),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP",
                limit=limit,
                evaluation_window_sec=WEB_ACL_RATE_WINDOW_SECONDS,
                scope_down_statement=scope_down,
            )
        ),
        visibility_config=_visibility(name),
    )


def build_web_acl(
    scope: Construct, service: Service, stage: str, api_stage: apigateway.Stage
) -> wafv2.CfnWebACL:
    limits = service.ip_rate_limits
    name = f"{service.name}-{stage}-api"
    strict = service.api.strict_rate_limit_paths
    rules = [
        # The strict rule first: a request it blocks is not counted by the general one.
        *([_rate_rule(WEB_ACL_STRICT_RULE, 0, limits.strict_per_ip, strict)] if strict else []),
        _rate_rule(WEB_ACL_GENERAL_RULE, 1, limits.per_ip, ()),
        wafv2.CfnWebACL.RuleProperty(
            name=WEB_ACL_COMMON_RULE_SET,
            priority=2,
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS",
                    name=WEB_ACL_COMMON_RULE_SET,
                    rule_action_overrides=[
                        wafv2.CfnWebACL.RuleActionOverrideProperty(
                            name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                        )
                        for rule in WEB_ACL_COUNTED_COMMON_RULES
                    ],
                )
            ),
            visibility_config=_visibility(WEB_ACL_COMMON_RULE_SET),
        ),
    ]
    body = {"error": {"code": "THROTTLED", "message": "Too many requests; retry after Retry-After seconds.",
                      "request_id": ""}}
    web_acl = wafv2.CfnWebACL(
        scope,
        "WebAcl",
        name=name,
        description=f"Per-IP rate limits and AWS common rules in front of the {name} REST API",
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        rules=rules,
        custom_response_bodies={
            RATE_LIMITED_BODY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                content_type="APPLICATION_JSON", content=json.dumps(body)
            )
        },
        visibility_config=_visibility(name),
    )
    wafv2.CfnWebACLAssociation(
        scope,
        "WebAclAssociation",
        resource_arn=api_stage.stage_arn,
        web_acl_arn=web_acl.attr_arn,
    )
    return web_acl
