"""The events AWS hands Lambda, built the way AWS builds them, so handlers cannot tell the local
twin from the cloud one. Shapes follow the AWS docs (REST API proxy integration v1.0, Lambda
function URL payload 2.0, REQUEST authorizer, SQS event source, EventBridge scheduled event)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from infra.local.aws import ACCOUNT, REGION

API_ID = "localapi01"
STAGE = "live"
_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded", "application/xml")


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


def _body(raw: bytes, content_type: str) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    if content_type.startswith(_TEXT_TYPES) or not content_type:
        try:
            return raw.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(raw).decode("ascii"), True


def rest_request_context(method: str, resource: str, path: str, source_ip: str, user_agent: str) -> dict:
    now = datetime.now(UTC)
    return {
        "accountId": ACCOUNT,
        "apiId": API_ID,
        "domainName": f"{API_ID}.execute-api.{REGION}.amazonaws.com",
        "domainPrefix": API_ID,
        "extendedRequestId": uuid.uuid4().hex[:16],
        "httpMethod": method,
        "identity": {
            "accessKey": None,
            "accountId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": source_ip,
            "user": None,
            "userAgent": user_agent,
            "userArn": None,
        },
        "path": f"/{STAGE}{path}",
        "protocol": "HTTP/1.1",
        "requestId": str(uuid.uuid4()),
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "resourceId": hashlib.sha1(resource.encode()).hexdigest()[:6],
        "resourcePath": resource,
        "stage": STAGE,
    }


def rest_proxy_event(
    *,
    method: str,
    resource: str,
    path: str,
    path_parameters: dict[str, str],
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
) -> dict:
    """API Gateway REST API, Lambda proxy integration (payload 1.0)."""
    single_headers = dict(headers)  # API Gateway keeps the last value of a repeated header
    query_pairs = parse_qsl(query, keep_blank_values=True)
    content_type = _header(headers, "content-type") or ""
    text, is_b64 = _body(body, content_type)
    user_agent = _header(headers, "user-agent") or ""
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers or None,
        "multiValueHeaders": _multi(headers) or None,
        "queryStringParameters": dict(query_pairs) or None,
        "multiValueQueryStringParameters": _multi(query_pairs) or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": rest_request_context(method, resource, path, source_ip, user_agent),
        "body": text,
        "isBase64Encoded": is_b64,
    }


def authorizer_event(proxy_event: dict) -> dict:
    """REQUEST authorizer input: the request's parts plus the method ARN being called."""
    context = proxy_event["requestContext"]
    method_arn = (
        f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{STAGE}/{proxy_event['httpMethod']}{proxy_event['path']}"
    )
    return {
        "type": "REQUEST",
        "methodArn": method_arn,
        "resource": proxy_event["resource"],
        "path": proxy_event["path"],
        "httpMethod": proxy_event["httpMethod"],
        "headers": proxy_event["headers"] or {},
        "multiValueHeaders": proxy_event["multiValueHeaders"] or {},
        "queryStringParameters": proxy_event["queryStringParameters"] or {},
        "multiValueQueryStringParameters": proxy_event["multiValueQueryStringParameters"] or {},
        "pathParameters": proxy_event["pathParameters"] or {},
        "stageVariables": {},
        "requestContext": context,
    }


def function_url_event(
    *, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes, source_ip: str, url_id: str
) -> dict:
    """Lambda function URL (payload 2.0): headers lower-cased, repeated ones comma-joined."""
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for key, value in headers:
        key = key.lower()
        if key == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    query_pairs = parse_qsl(query, keep_blank_values=True)
    queries: dict[str, str] = {}
    for key, value in query_pairs:
        queries[key] = f"{queries[key]},{value}" if key in queries else value
    text, is_b64 = _body(body, joined.get("content-type", ""))
    now = datetime.now(UTC)
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": joined,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": url_id,
            "domainName": f"{url_id}.lambda-url.{REGION}.on.aws",
            "domainPrefix": url_id,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if cookies:
        event["cookies"] = cookies
    if queries:
        event["queryStringParameters"] = queries
    if text is not None:
        event["body"] = text
    return event


def sqs_event(messages: list[dict], queue_arn: str) -> dict:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    name: {
                        "stringValue": a.get("StringValue"),
                        "binaryValue": base64.b64encode(a["BinaryValue"]).decode() if a.get("BinaryValue") else None,
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": a["DataType"],
                    }
                    for name, a in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def scheduled_event(rule_name: str, at: datetime | None = None) -> dict:
    at = at or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule_name}"],
        "detail": {},
    }


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in reversed(headers) if k.lower() == name), None)
