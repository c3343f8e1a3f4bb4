"""The events AWS hands Lambda, built the way AWS builds them, so handlers cannot tell the local
twin from the cloud one. Shapes follow the AWS docs (REST API proxy integration v1.0, Lambda
function URL payload 2.0, REQUEST authorizer, SQS event source, EventBridge scheduled event,
DynamoDB Streams event source and its on-failure record)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any
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


def _epoch_seconds(value) -> float:
    """DynamoDB Streams' ApproximateCreationDateTime as Lambda hands it over: epoch seconds,
    rounded down to the second (boto3 parses it into a datetime)."""
    if isinstance(value, datetime):
        return float(int(value.timestamp()))
    return float(int(value))


def _attribute_json(value):
    """An AttributeValue as JSON carries it: binary (B, BS) base64-encoded."""
    if isinstance(value, dict):
        out = {}
        for kind, inner in value.items():
            if kind == "B":
                out[kind] = base64.b64encode(inner).decode("ascii") if isinstance(inner, bytes) else inner
            elif kind == "BS":
                out[kind] = [base64.b64encode(b).decode("ascii") if isinstance(b, bytes) else b for b in inner]
            elif kind == "M":
                out[kind] = {k: _attribute_json(v) for k, v in inner.items()}
            elif kind == "L":
                out[kind] = [_attribute_json(v) for v in inner]
            else:
                out[kind] = inner
        return out
    return value


def dynamodb_stream_record(record: dict, stream_arn: str) -> dict:
    """One record of a DynamoDB Streams event, from a GetRecords record (as boto3 returns it)."""
    source = record["dynamodb"]
    dynamodb: dict[str, Any] = {"ApproximateCreationDateTime": _epoch_seconds(source["ApproximateCreationDateTime"])}
    dynamodb["Keys"] = {k: _attribute_json(v) for k, v in source["Keys"].items()}
    for image in ("NewImage", "OldImage"):
        if image in source:
            dynamodb[image] = {k: _attribute_json(v) for k, v in source[image].items()}
    dynamodb["SequenceNumber"] = source["SequenceNumber"]
    dynamodb["SizeBytes"] = source["SizeBytes"]
    dynamodb["StreamViewType"] = source["StreamViewType"]
    converted = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:  # TTL deletions: {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        converted["userIdentity"] = {"type": record["userIdentity"]["Type"],
                                     "principalId": record["userIdentity"]["PrincipalId"]}
    return converted


def dynamodb_stream_event(records: list[dict]) -> dict:
    """What a DynamoDB stream event source mapping hands the function: records already in
    `dynamodb_stream_record` form, in shard order."""
    return {"Records": records}


def _iso_second(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stream_on_failure_record(
    *, records: list[dict], shard_id: str, stream_arn: str, function_name: str, condition: str,
    invoke_count: int, function_error: str | None, request_id: str | None = None,
) -> dict:
    """What a stream event source mapping sends its on-failure destination about a batch it gives
    up on: a description of the batch (not its records), to replay them from the stream or table.
    `condition` is RetryAttemptsExhausted or RecordAgeExceeded."""
    response = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response["functionError"] = function_error
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    now = datetime.now(UTC)
    return {
        "requestContext": {
            "requestId": request_id or str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}",
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso_second(first["ApproximateCreationDateTime"]),
            "approximateArrivalOfLastRecord": _iso_second(last["ApproximateCreationDateTime"]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }
