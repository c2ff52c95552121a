"""PrivateNetwork: a private-only VPC with flow logs, or an adopted VPC checked before anything is declared."""

from __future__ import annotations

import json

import pytest

from scripts.offline.engine import OfflineMocks, run_program
from tests.helpers import by_name

SUBNET = "aws:ec2/subnet:Subnet"
INTERNET_FACING = ("aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip",
                   "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway", "aws:ec2/route:Route")


def test_vpc_has_dns_on_and_the_configured_cidr(dev_run):
    vpc = dev_run.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.41.0.0/16"
    assert vpc.inputs["enableDnsSupport"] is True and vpc.inputs["enableDnsHostnames"] is True


@pytest.mark.parametrize(("stack", "zones", "cidrs"), [
    ("dev", ["us-east-1a", "us-east-1b"], ["10.41.0.0/20", "10.41.16.0/20"]),
    ("prod", ["us-east-1a", "us-east-1b", "us-east-1c"], ["10.42.0.0/20", "10.42.16.0/20", "10.42.32.0/20"]),
])
def test_one_private_subnet_per_zone_with_computed_cidrs(request, stack, zones, cidrs):
    run = request.getfixturevalue(f"{stack}_run")
    subnets = sorted(run.of_type(SUBNET), key=lambda s: s.inputs["availabilityZone"])
    assert [s.inputs["availabilityZone"] for s in subnets] == zones
    assert [s.inputs["cidrBlock"] for s in subnets] == cidrs
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)


def test_each_subnet_has_its_own_route_table_and_nothing_reaches_the_internet(prod_run):
    subnets = {s.id for s in prod_run.of_type(SUBNET)}
    tables = {t.id for t in prod_run.of_type("aws:ec2/routeTable:RouteTable")}
    associations = prod_run.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    assert {a.inputs["subnetId"] for a in associations} == subnets
    assert {a.inputs["routeTableId"] for a in associations} == tables
    assert len(tables) == len(subnets) == 3
    for table in prod_run.of_type("aws:ec2/routeTable:RouteTable"):
        assert not table.inputs.get("routes"), "route tables hold only the implicit VPC-local route"
    for type_ in INTERNET_FACING:
        assert not prod_run.of_type(type_), f"{type_} must not exist in a private-only network"


def test_flow_logs_capture_everything_into_an_encrypted_log_group(dev_run):
    flow = dev_run.one("aws:ec2/flowLog:FlowLog")
    group = by_name(dev_run, "aws:cloudwatch/logGroup:LogGroup")["network-flow-logs"]
    key = by_name(dev_run, "aws:kms/key:Key")["logs"]
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow.inputs["logDestination"] == group.outputs["arn"]
    assert flow.inputs["vpcId"] == dev_run.outputs["vpc_id"]
    assert group.inputs["kmsKeyId"] == key.outputs["arn"]
    assert group.inputs["retentionInDays"] == 14
    assert group.inputs["name"] == "/aws/vpc/flow-logs/clickhouse-aws-dev"


def test_flow_log_role_is_only_for_this_accounts_flow_logs(dev_run):
    role = by_name(dev_run, "aws:iam/role:Role")["network-flow-logs"]
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    # AWS's confused-deputy guidance: the calling account and a flow log of this account in this region.
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": OfflineMocks.ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:us-east-1:{OfflineMocks.ACCOUNT_ID}:vpc-flow-log/*"},
    }
    (permissions,) = json.loads(dev_run.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])["Statement"]
    group_arn = by_name(dev_run, "aws:cloudwatch/logGroup:LogGroup")["network-flow-logs"].outputs["arn"]
    # What AWS documents for publishing flow logs to CloudWatch Logs, on this stack's group only.
    assert sorted(permissions["Action"]) == ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups",
                                             "logs:DescribeLogStreams", "logs:PutLogEvents"]
    assert permissions["Resource"] == [group_arn, f"{group_arn}:*"]


ADOPTED = {"clickhouse-aws:vpcId": "vpc-0123456789abcdef0",
           "clickhouse-aws:subnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]}


def test_an_adopted_vpc_is_used_as_is(request):
    run = run_program("dev", ADOPTED)
    assert run.error is None, run.error
    for type_ in ("aws:ec2/vpc:Vpc", SUBNET, "aws:ec2/flowLog:FlowLog", "aws:ec2/routeTable:RouteTable"):
        assert not run.of_type(type_), f"{type_} belongs to the adopted VPC's owner"
    endpoint = run.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["vpcId"] == "vpc-0123456789abcdef0"
    assert endpoint.inputs["subnetIds"] == ADOPTED["clickhouse-aws:subnetIds"]
    assert run.outputs["vpc_id"] == "vpc-0123456789abcdef0"


class _OneZoneMocks(OfflineMocks):
    """Every adopted subnet in the same zone, one of them in another VPC and public."""

    def call(self, args):
        result = super().call(args)
        if args.token == "aws:ec2/getSubnet:getSubnet":
            result["availabilityZone"] = f"{self.region}a"
            if args.args["id"].endswith("1"):
                result.update(vpcId="vpc-0fffffffffffffff0", mapPublicIpOnLaunch=True)
        return result


def test_adopted_subnets_are_checked_against_the_live_vpc_before_anything_is_declared():
    run = run_program("dev", ADOPTED, mocks=_OneZoneMocks("us-east-1"))
    assert not run.resources
    assert "subnet-0123456789abcdef1 are not in vpc-0123456789abcdef0" in run.error
    assert "subnet-0123456789abcdef0, subnet-0123456789abcdef1 are all in us-east-1a" in run.error
    assert "subnet-0123456789abcdef1 assign public IPs on launch" in run.error


class _TwoZoneRegionMocks(OfflineMocks):
    def call(self, args):
        result = super().call(args)
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            result["names"], result["zoneIds"] = result["names"][:2], result["zoneIds"][:2]
        return result


def test_a_region_with_too_few_zones_is_refused():
    run = run_program("prod", mocks=_TwoZoneRegionMocks("us-east-1"))
    assert not run.resources
    assert "clickhouse-aws:azCount: 3 zones requested but us-east-1 has only 2" in run.error


NAT = {"clickhouse-aws:egress": "nat"}
TGW_ID = "tgw-0123456789abcdef0"


def _default_routes(run):
    return {r.inputs["routeTableId"]: r for r in run.of_type("aws:ec2/route:Route")
            if r.inputs.get("destinationCidrBlock") == "0.0.0.0/0"}


@pytest.mark.parametrize(("overrides", "nat_count"), [({}, 2), ({"clickhouse-aws:natGatewayPerZone": "false"}, 1)])
def test_egress_nat_reaches_the_internet_gateway_only_from_subnets_holding_only_nat_gateways(overrides, nat_count):
    run = run_program("dev", {**NAT, **overrides})
    assert run.error is None, run.error
    gateway = run.one("aws:ec2/internetGateway:InternetGateway")
    egress_subnets = {s.id: s for s in run.of_type(SUBNET) if s.inputs["tags"]["tier"] == "egress"}
    private_subnets = {s.id for s in run.of_type(SUBNET) if s.inputs["tags"]["tier"] == "private"}
    assert sorted(s.inputs["cidrBlock"] for s in egress_subnets.values()) == ["10.41.255.224/28", "10.41.255.240/28"][2 - nat_count:]
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in run.of_type(SUBNET))
    nats = run.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == nat_count and {n.inputs["subnetId"] for n in nats} == set(egress_subnets)
    eips = run.of_type("aws:ec2/eip:Eip")
    assert [e.inputs["domain"] for e in eips] == ["vpc"] * nat_count
    assert {n.inputs["allocationId"] for n in nats} == {e.id for e in eips}
    # The one route to the internet gateway is in the table associated only with the egress subnets.
    routes = _default_routes(run)
    to_gateway = [r for r in routes.values() if r.inputs.get("gatewayId") == gateway.id]
    (egress_table,) = {r.inputs["routeTableId"] for r in to_gateway}
    associations = run.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    assert {a.inputs["subnetId"] for a in associations if a.inputs["routeTableId"] == egress_table} == set(egress_subnets)
    # Every private table default-routes to a NAT gateway, each zone to its own when there is one per zone.
    private_tables = {a.inputs["routeTableId"] for a in associations if a.inputs["subnetId"] in private_subnets}
    assert {routes[t].inputs["natGatewayId"] for t in private_tables} == {n.id for n in nats}
    # Nothing but the NAT gateways sits in the egress subnets (the endpoint uses the private ones).
    endpoint = run.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert not set(endpoint.inputs["subnetIds"]) & set(egress_subnets)


def test_egress_transit_gateway_routes_the_private_tables_to_it_and_adds_no_gateway():
    run = run_program("dev", {"clickhouse-aws:egress": "transit-gateway", "clickhouse-aws:transitGatewayId": TGW_ID})
    assert run.error is None, run.error
    attachment = run.one("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
    private_subnets = sorted(s.id for s in run.of_type(SUBNET))
    assert attachment.inputs["transitGatewayId"] == TGW_ID and sorted(attachment.inputs["subnetIds"]) == private_subnets
    tables = {t.id for t in run.of_type("aws:ec2/routeTable:RouteTable")}
    routes = _default_routes(run)
    assert set(routes) == tables and {r.inputs["transitGatewayId"] for r in routes.values()} == {TGW_ID}
    for type_ in INTERNET_FACING[:-1]:
        assert not run.of_type(type_), f"{type_} belongs to the transit gateway's egress VPC, not this stack"
