"""The cloud twin of the description's network: a VPC with public and private subnets over the
described zones, exactly one NAT gateway using the Elastic IP the stack allocates, flow logs, a
DynamoDB gateway endpoint, an HTTPS-only security group, the address as an output, and exactly
the fixed-egress functions placed in the private subnets. Each check runs on the egress fixture
service (which has fixed-egress functions) and on Bazaar's own description, whatever it
declares; cdk-nag and cfn-lint run on the fixture (the real stack's are in test_cloud_template)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.cloud import tags
from infra.cloud.network import EGRESS_IP_OUTPUT, ENI_ACTIONS
from infra.description.bazaar import SERVICE
from infra.description.model import Service
from tests.fixtures.egress_service import EGRESS_SERVICE
from tests.fixtures.stream_service import STREAM_SERVICE

from tests.infra.template import by_tag, resources, role_statements, tag

pytestmark = pytest.mark.slow

SERVICES = {"egress-fixture": (EGRESS_SERVICE, "egress_synthesized"), "bazaar": (SERVICE, "synthesized")}


@pytest.fixture(params=sorted(SERVICES))
def described(request) -> tuple[Service, dict[str, Any]]:
    """(a service with a network, its synthesized template)."""
    service, fixture = SERVICES[request.param]
    assert service.network is not None
    return service, request.getfixturevalue(fixture).template


def _one(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    found = resources(template, kind)
    assert len(found) == 1, f"{kind}: {sorted(found)}"
    return next(iter(found.items()))


def _subnets(template: dict[str, Any], group: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in resources(template, "AWS::EC2::Subnet").items() if tag(r, "aws-cdk:subnet-name") == group}


def _route_table(template: dict[str, Any], subnet: str) -> str:
    return next(
        a["Properties"]["RouteTableId"]["Ref"]
        for a in resources(template, "AWS::EC2::SubnetRouteTableAssociation").values()
        if a["Properties"]["SubnetId"] == {"Ref": subnet}
    )


def _default_route(template: dict[str, Any], route_table: str) -> dict[str, Any]:
    return next(
        r["Properties"] for r in resources(template, "AWS::EC2::Route").values()
        if r["Properties"]["RouteTableId"] == {"Ref": route_table}
        and r["Properties"]["DestinationCidrBlock"] == "0.0.0.0/0"
    )


# -- the checks that gate a deploy --------------------------------------------------------------


def test_the_egress_stack_passes_cdk_nag(egress_synthesized):
    report = json.loads((egress_synthesized.outdir / "validation-report.json").read_text())
    assert [(p["pluginName"], p["conclusion"], p["violations"]) for p in report["pluginReports"]] == [
        ("AwsSolutions", "success", [])
    ]


def test_the_egress_stack_passes_cfn_lint(egress_synthesized):
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(egress_synthesized.template_path, config=ManualArgs(ignore_checks=["W3005"]))
    assert [str(m) for m in matches] == []


# -- the network ----------------------------------------------------------------------------------


def test_one_vpc_with_public_and_private_subnets_in_each_described_zone(described):
    service, template = described
    network = service.network
    _, vpc = _one(template, "AWS::EC2::VPC")
    assert vpc["Properties"]["CidrBlock"] == network.cidr
    assert tag(vpc, tags.NETWORK) == network.name
    public, private = _subnets(template, "Public"), _subnets(template, "FixedEgress")
    assert len(public) == len(private) == network.availability_zones
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is True for s in public.values())
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in private.values())
    zones = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in private.values()}
    assert len(zones) == network.availability_zones


def test_exactly_one_nat_gateway_using_the_allocated_elastic_ip(described):
    _, template = described
    eip_id, eip = _one(template, "AWS::EC2::EIP")
    assert eip["Properties"]["Domain"] == "vpc"
    _, nat = _one(template, "AWS::EC2::NatGateway")
    assert nat["Properties"]["AllocationId"] == {"Fn::GetAtt": [eip_id, "AllocationId"]}
    assert nat["Properties"]["SubnetId"]["Ref"] in _subnets(template, "Public")


def test_every_private_subnet_leaves_through_that_nat_gateway(described):
    _, template = described
    nat_id, _ = _one(template, "AWS::EC2::NatGateway")
    for subnet in _subnets(template, "FixedEgress"):
        assert _default_route(template, _route_table(template, subnet)) == {
            "DestinationCidrBlock": "0.0.0.0/0",
            "NatGatewayId": {"Ref": nat_id},
            "RouteTableId": {"Ref": _route_table(template, subnet)},
        }


def test_flow_logs_of_all_traffic_go_to_a_log_group_kept_as_described(described):
    service, template = described
    vpc_id, _ = _one(template, "AWS::EC2::VPC")
    _, flow_log = _one(template, "AWS::EC2::FlowLog")
    props = flow_log["Properties"]
    assert (props["ResourceId"], props["ResourceType"], props["TrafficType"]) == ({"Ref": vpc_id}, "VPC", "ALL")
    assert props["LogDestinationType"] == "cloud-watch-logs"
    group = resources(template, "AWS::Logs::LogGroup")[props["LogGroupName"]["Ref"]]
    assert group["Properties"]["RetentionInDays"] == service.network.flow_log_retention_days


def test_dynamodb_traffic_takes_the_gateway_endpoint_not_the_nat_gateway(described):
    _, template = described
    _, endpoint = _one(template, "AWS::EC2::VPCEndpoint")
    props = endpoint["Properties"]
    assert props["ServiceName"] == {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".dynamodb"]]}
    assert props.get("VpcEndpointType", "Gateway") == "Gateway"
    private_tables = {_route_table(template, s) for s in _subnets(template, "FixedEgress")}
    assert {t["Ref"] for t in props["RouteTableIds"]} == private_tables


def test_the_functions_security_group_allows_https_out_and_nothing_in(described):
    _, template = described
    _, group = _one(template, "AWS::EC2::SecurityGroup")
    props = group["Properties"]
    assert "SecurityGroupIngress" not in props
    assert [(r["CidrIp"], r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in props["SecurityGroupEgress"]] == [
        ("0.0.0.0/0", "tcp", 443, 443)
    ]
    assert not resources(template, "AWS::EC2::SecurityGroupIngress")


def test_the_egress_address_is_an_output_to_allowlist_on_razorpayx(described):
    _, template = described
    eip_id, _ = _one(template, "AWS::EC2::EIP")
    output = template["Outputs"][EGRESS_IP_OUTPUT]
    assert output["Value"] == {"Fn::GetAtt": [eip_id, "PublicIp"]}
    assert "Allowlist it on the RazorpayX dashboard" in output["Description"]


# -- which functions use it -----------------------------------------------------------------------


def test_exactly_the_fixed_egress_functions_run_in_the_private_subnets(described):
    service, template = described
    group_id, _ = _one(template, "AWS::EC2::SecurityGroup")
    private = set(_subnets(template, "FixedEgress"))
    functions = by_tag(template, "AWS::Lambda::Function", tags.FUNCTION)
    for fn in service.functions:
        config = functions[fn.name][1]["Properties"].get("VpcConfig")
        if fn.fixed_egress:
            assert config is not None, fn.name
            assert {s["Ref"] for s in config["SubnetIds"]} == private
            assert len(config["SubnetIds"]) == len(private)
            assert config["SecurityGroupIds"] == [{"Fn::GetAtt": [group_id, "GroupId"]}]
        else:
            assert config is None, fn.name


def test_only_fixed_egress_roles_may_manage_network_interfaces_and_none_uses_a_managed_policy(described):
    service, template = described
    functions = by_tag(template, "AWS::Lambda::Function", tags.FUNCTION)
    roles = resources(template, "AWS::IAM::Role")
    for fn in service.functions:
        role = functions[fn.name][1]["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = role_statements(template, role)
        eni = [s for s in statements if any(str(a).startswith("ec2:") for a in _actions(s))]
        if fn.fixed_egress:
            assert [(sorted(_actions(s)), s["Resource"]) for s in eni] == [(sorted(ENI_ACTIONS), "*")], fn.name
        else:
            assert eni == [], fn.name
        assert "ManagedPolicyArns" not in roles[role]["Properties"], fn.name


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def test_the_fixture_exercises_both_kinds_of_function():
    assert EGRESS_SERVICE.fixed_egress_functions
    assert any(not f.fixed_egress for f in EGRESS_SERVICE.functions)
    assert any(f.routes for f in EGRESS_SERVICE.fixed_egress_functions)


def test_a_service_without_a_network_gets_no_network(stream_synthesized):
    assert STREAM_SERVICE.network is None
    template = stream_synthesized.template
    assert not [lid for lid, r in template["Resources"].items() if r["Type"].startswith("AWS::EC2::")]
    assert EGRESS_IP_OUTPUT not in template.get("Outputs", {})
    assert all("VpcConfig" not in r["Properties"] for r in resources(template, "AWS::Lambda::Function").values())
