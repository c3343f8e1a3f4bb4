"""The network of the description (`Service.network`): where the functions that call an
IP-allowlisting provider run, so their calls leave from one fixed address.

A VPC with public and private (with egress) subnets over the described zones; exactly one NAT
gateway, in a public subnet, using an Elastic IP allocated here rather than by the NAT provider
(so the address is a resource of its own, output for the operator to allowlist, and replacing
the NAT gateway keeps it); flow logs of all traffic to a CloudWatch log group; a DynamoDB
gateway endpoint, free, so table traffic never crosses (and is never billed by) the NAT gateway;
and one security group for the fixed-egress functions that allows HTTPS out and nothing in.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnOutput, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.cloud import tags
from infra.description.model import Network, Service

# The stack output holding the fixed address; docs/network.md tells the operator to read it.
EGRESS_IP_OUTPUT = "PayoutsEgressIp"

PRIVATE_SUBNETS = "FixedEgress"
PUBLIC_SUBNETS = "Public"

# The actions of AWS's AWSLambdaVPCAccessExecutionRole, which Lambda needs to attach a function
# to its subnets; granted inline on each fixed-egress role instead of the managed policy.
# Lambda checks them when the function is created and none can be scoped to the ENIs it will
# make, so the resource is "*" (acknowledged in infra/cloud/nag.py).
ENI_ACTIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
)


@dataclass(frozen=True)
class EgressNetwork:
    spec: Network
    vpc: ec2.Vpc
    elastic_ip: ec2.CfnEIP
    security_group: ec2.SecurityGroup
    flow_logs: logs.LogGroup

    @property
    def private_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_group_name=PRIVATE_SUBNETS)


def build_network(scope: Construct, service: Service) -> EgressNetwork | None:
    network = service.network
    if network is None:
        return None
    elastic_ip = ec2.CfnEIP(scope, "EgressIp", domain="vpc")
    vpc = ec2.Vpc(
        scope,
        "Network",
        ip_addresses=ec2.IpAddresses.cidr(network.cidr),
        max_azs=network.availability_zones,
        subnet_configuration=[
            ec2.SubnetConfiguration(name=PUBLIC_SUBNETS, subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name=PRIVATE_SUBNETS, subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        ],
        # One NAT gateway, so one address to allowlist; the private subnets of every zone route
        # through it (its zone is a single point of failure for provider calls, by design).
        nat_gateways=1,
        nat_gateway_provider=ec2.NatProvider.gateway(eip_allocation_ids=[elastic_ip.attr_allocation_id]),
        gateway_endpoints={
            "DynamoDb": ec2.GatewayVpcEndpointOptions(
                service=ec2.GatewayVpcEndpointAwsService.DYNAMODB,
                subnets=[ec2.SubnetSelection(subnet_group_name=PRIVATE_SUBNETS)],
            )
        },
        # Nothing runs in the default group. Restricting it needs a CDK custom-resource Lambda,
        # a function the description does not declare (and that parity would rightly report).
        restrict_default_security_group=False,
    )
    if len(vpc.availability_zones) != network.availability_zones:
        raise ValueError(
            f"network {network.name!r} declares {network.availability_zones} availability zones, but "
            f"the stack can place it in {len(vpc.availability_zones)}; an environment-agnostic stack "
            "knows two zones only: deploy it to an account and region (env=...) to use more"
        )
    flow_logs = logs.LogGroup(scope, "NetworkFlowLogs")
    # RetentionDays names its members (ONE_WEEK, ...) rather than numbering them; the description
    # checks the number against the periods CloudWatch accepts, so it is set as written.
    cfn_flow_logs = flow_logs.node.default_child
    assert isinstance(cfn_flow_logs, logs.CfnLogGroup)
    cfn_flow_logs.retention_in_days = network.flow_log_retention_days
    vpc.add_flow_log(
        "FlowLog",
        destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
        traffic_type=ec2.FlowLogTrafficType.ALL,
    )
    security_group = ec2.SecurityGroup(
        scope,
        "FixedEgressGroup",
        vpc=vpc,
        description=f"Functions that leave through the {network.name} NAT gateway: HTTPS out only",
        allow_all_outbound=False,
    )
    # Providers and AWS APIs (DynamoDB through its gateway endpoint, the rest through the NAT
    # gateway) all speak HTTPS; DNS to the VPC resolver is never filtered by security groups.
    security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to providers and AWS APIs")
    for construct in (vpc, security_group, flow_logs):
        Tags.of(construct).add(tags.NETWORK, network.name)
    elastic_ip.tags.set_tag(tags.NETWORK, network.name)

    CfnOutput(
        scope,
        EGRESS_IP_OUTPUT,
        value=elastic_ip.attr_public_ip,
        description=(
            f"The fixed address every call from a fixed-egress function leaves from (the {network.name} "
            "NAT gateway's Elastic IP). Allowlist it on the RazorpayX dashboard before the first payout: "
            "RazorpayX refuses API calls from any other address."
        ),
    )
    return EgressNetwork(
        spec=network, vpc=vpc, elastic_ip=elastic_ip, security_group=security_group, flow_logs=flow_logs
    )
