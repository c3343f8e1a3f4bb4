"""Posting to WebSocket clients through API Gateway's management API (`@connections`).

A 410 (GoneException) means the client is gone: the caller removes its record. Anything else
that keeps a frame from being posted (throttling, a timeout, the endpoint unreachable) is a
PushFailed: the publish is retried."""

from __future__ import annotations

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from bazaar.platform import aws
from bazaar.platform.dynamo import error_code
from bazaar.platform.observability import logger
from bazaar.realtime.ports import ConnectionGone, PushFailed


def management_client(endpoint_url: str):
    """The management API of one WebSocket API stage (its https://.../<stage> endpoint)."""
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint_url, config=aws.REQUEST_PATH)


def _gone(error: ClientError) -> bool:
    return error_code(error) == "GoneException" or \
        error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 410


class ApiGatewayPusher:
    def __init__(self, client):
        self._client = client

    def post(self, connection_id: str, data: str) -> None:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data.encode("utf-8"))
        except ClientError as error:
            if _gone(error):
                raise ConnectionGone(connection_id) from None
            raise PushFailed(f"posting to {connection_id}: {error_code(error) or error}") from error
        except BotoCoreError as error:
            raise PushFailed(f"posting to {connection_id}: {error}") from error

    def close(self, connection_id: str) -> None:
        try:
            self._client.delete_connection(ConnectionId=connection_id)
        except ClientError as error:
            if not _gone(error):
                # The record is removed either way; a frame from it later is answered as unknown.
                logger.warning("closing a connection failed", extra={"connection_id": connection_id,
                                                                     "error": error_code(error)})
        except BotoCoreError as error:
            logger.warning("closing a connection failed", extra={"connection_id": connection_id, "error": str(error)})
