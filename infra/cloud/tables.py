"""One DynamoDB table per `SERVICE.tables`, with its stream when the description gives it one."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Tags
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.cloud import tags
from infra.description.model import Key, Service, Table


_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


def _attribute(key: Key) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=_TYPES[key.type])


def _table(scope: Construct, table: Table) -> dynamodb.Table:
    resource = dynamodb.Table(
        scope,
        f"Table-{table.name}",
        partition_key=_attribute(table.partition_key),
        sort_key=_attribute(table.sort_key) if table.sort_key else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=True,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        time_to_live_attribute=table.ttl_attribute,
        stream=getattr(dynamodb.StreamViewType, table.stream) if table.stream else None,
        # Orders, payouts and feeds outlive any one deployment of the stack.
        removal_policy=RemovalPolicy.RETAIN,
    )
    for index in table.indexes:
        resource.add_global_secondary_index(
            index_name=index.name,
            partition_key=_attribute(index.partition_key),
            sort_key=_attribute(index.sort_key) if index.sort_key else None,
            projection_type=dynamodb.ProjectionType.ALL,
        )
    Tags.of(resource).add(tags.TABLE, table.name)
    return resource


def build_tables(scope: Construct, service: Service) -> dict[str, dynamodb.Table]:
    return {table.name: _table(scope, table) for table in service.tables}
