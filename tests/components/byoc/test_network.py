"""BYOC network: the stack's one VPC carries the BYOC tags and shape, with S3 and interface endpoints and no internet."""

from __future__ import annotations

import ipaddress

import pytest

from components.byoc.names import BYOC_SUBNET_TAGS
from stack_config.keys import BYOC_INTERFACE_ENDPOINTS

NETWORK = "clickhouse-aws:byoc:Network"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoints(children):
    """``endpoints(run, kind)``: the BYOC network's VPC endpoints of a kind (Interface or Gateway)."""
    return lambda result, kind: [r for r in children(result, NETWORK, ENDPOINT) if r.inputs["vpcEndpointType"] == kind]


def test_the_stack_has_one_vpc_and_it_carries_the_byoc_tag(phase1):
    (vpc,) = phase1.of_type("aws:ec2/vpc:Vpc")
    assert vpc.inputs["tags"]["clickhouse-byoc"] == "true"
    assert vpc.inputs["enableDnsSupport"] and vpc.inputs["enableDnsHostnames"]


def private_subnets(run):
    return [s for s in run.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["tier"] == "private"]


def test_three_private_subnets_in_three_zones_each_at_least_23_and_tagged(phase1):
    subnets = private_subnets(phase1)
    assert len(subnets) == 3
    assert len({s.inputs["availabilityZone"] for s in subnets}) == 3
    for subnet in subnets:
        assert ipaddress.IPv4Network(subnet.inputs["cidrBlock"]).prefixlen <= 23
        assert subnet.inputs["mapPublicIpOnLaunch"] is False
        assert {k: subnet.inputs["tags"][k] for k in BYOC_SUBNET_TAGS} == {
            "kubernetes.io/role/internal-elb": "1", "clickhouse-byoc": "true"}


def test_the_way_out_is_nat_gateways_outside_the_byoc_subnets_and_flows_are_logged(phase1):
    # ClickHouse's components reach Tailscale through a NAT gateway per zone; none sits in a subnet ClickHouse uses.
    byoc_subnets = {s.id for s in private_subnets(phase1)}
    nats = phase1.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == 3 and not {n.inputs["subnetId"] for n in nats} & byoc_subnets
    egress = [s for s in phase1.of_type("aws:ec2/subnet:Subnet") if s.id not in byoc_subnets]
    assert all("clickhouse-byoc" not in s.inputs["tags"] for s in egress)
    assert phase1.outputs["byoc"]["egress"] == "nat"
    assert phase1.one("aws:ec2/flowLog:FlowLog").inputs["trafficType"] == "ALL"


def test_an_adopted_vpc_without_egress_adds_no_way_out(byoc_run, lookups):
    result = byoc_run("byoc", lookups.adopted)
    types = {r.type for r in result.resources}
    assert not types & {"aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip",
                        "aws:ec2/route:Route"}
    assert result.outputs["byoc"]["egress"] == "none"


def test_s3_gateway_endpoint_sits_on_every_private_route_table(phase1, endpoints):
    (s3,) = endpoints(phase1, "Gateway")
    private = {s.id for s in private_subnets(phase1)}
    associated = {a.inputs["routeTableId"] for a in phase1.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
                  if a.inputs["subnetId"] in private}
    assert s3.inputs["serviceName"] == f"com.amazonaws.{REGION}.s3"
    assert len(associated) == 3 and set(s3.inputs["routeTableIds"]) == associated
    assert phase1.outputs["byoc"]["route_table_ids"] == s3.inputs["routeTableIds"]
    assert s3.inputs["vpcId"] == phase1.outputs["vpc_id"]


def test_interface_endpoints_default_list_private_dns_all_subnets_endpoint_group(phase1, endpoints):
    byoc = phase1.outputs["byoc"]
    interface = endpoints(phase1, "Interface")
    assert sorted(e.inputs["serviceName"] for e in interface) == sorted(
        f"com.amazonaws.{REGION}.{svc}" for svc in BYOC_INTERFACE_ENDPOINTS)
    for endpoint in interface:
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert sorted(endpoint.inputs["subnetIds"]) == sorted(phase1.outputs["subnet_ids"])
        assert endpoint.inputs["securityGroupIds"] == [byoc["security_group_ids"]["endpoints"]]
        assert "serviceRegion" not in endpoint.inputs
    assert byoc["interface_endpoint_ids"] == {
        e.inputs["serviceName"].removeprefix(f"com.amazonaws.{REGION}."): e.id for e in interface}


def test_interface_endpoint_list_is_config(custom, endpoints):
    services = [e.inputs["serviceName"].removeprefix(f"com.amazonaws.{REGION}.") for e in endpoints(custom, "Interface")]
    assert sorted(services) == ["ecr.api", "ecr.dkr", "ssm", "sts"]
    assert set(custom.outputs["byoc"]["interface_endpoint_ids"]) == {"ecr.api", "ecr.dkr", "sts", "ssm"}


def test_endpoint_group_admits_only_https_from_the_vpc_cidr(phase1):
    endpoint_sg = phase1.outputs["byoc"]["security_group_ids"]["endpoints"]
    rules = [r for r in phase1.resources if r.type.startswith("aws:vpc/securityGroup")
             and r.inputs["securityGroupId"] == endpoint_sg]
    (rule,) = rules
    assert rule.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 443, 443)
    assert rule.inputs["cidrIpv4"] == "10.43.0.0/16" == phase1.outputs["byoc"]["vpc_cidr"]
    assert rule.inputs["description"]


def test_every_network_child_has_the_component_as_parent(phase1, children):
    (component,) = phase1.of_type(NETWORK)
    direct = [r for r in phase1.resources if r.parent == component.urn]
    assert len(direct) == len(children(phase1, NETWORK)) == 1 + 1 + 1 + len(BYOC_INTERFACE_ENDPOINTS)


@pytest.fixture(scope="module")
def adopted(byoc_run, lookups):
    """prod on an existing VPC."""
    result = byoc_run("byoc", lookups.adopted)
    assert result.error is None, result.error
    return result


class TestAdoptedVpc:
    """An existing VPC: looked up and checked before anything is declared, tagged for ClickHouse, its route tables
    used."""

    def test_adopted_vpc_and_subnets_get_exactly_the_byoc_tags(self, adopted, children, lookups):
        tags = {(t.inputs["resourceId"], t.inputs["key"], t.inputs["value"])
                for t in children(adopted, NETWORK, "aws:ec2/tag:Tag")}
        expected = {(lookups.vpc, "clickhouse-byoc", "true")}
        expected |= {(s, k, v) for s in lookups.subnets for k, v in BYOC_SUBNET_TAGS.items()}
        assert tags == expected
        assert not adopted.of_type("aws:ec2/vpc:Vpc") and not adopted.of_type("aws:ec2/subnet:Subnet")

    def test_s3_endpoint_uses_the_adopted_subnets_route_tables(self, adopted, endpoints, lookups):
        (s3,) = endpoints(adopted, "Gateway")
        assert s3.inputs["routeTableIds"] == sorted(lookups.route_table_of(s) for s in lookups.subnets)
        assert adopted.outputs["byoc"]["route_table_ids"] == s3.inputs["routeTableIds"]
        assert adopted.outputs["byoc"]["vpc_cidr"] == "10.90.0.0/16"

    def test_subnets_without_explicit_association_use_the_main_route_table(self, byoc_run, endpoints, lookups):
        (s3,) = endpoints(byoc_run("byoc", lookups.adopted, route_tables="main"), "Gateway")
        assert s3.inputs["routeTableIds"] == [lookups.main_route_table]

    def test_subnets_of_exactly_23_pass(self, byoc_run, lookups):
        assert byoc_run("byoc", lookups.adopted, subnet_prefix=23).error is None

    @pytest.mark.parametrize(("mock_options", "expected"), [
        ({"subnet_prefix": 24}, "clickhouse-aws:subnetIds: subnet-0aaaaaaaaaaaaaaa1 (10.90.0.0/24)"),
        ({"route_tables": "none"}, "clickhouse-aws:subnetIds: no route table found"),
        ({"vpc_dns": False}, "clickhouse-aws:vpcId: vpc-0a1b2c3d4e5f60718 has DNS support or DNS hostnames turned off"),
    ])
    def test_what_the_lookups_find_is_checked_before_any_resource(self, byoc_error, lookups, mock_options, expected):
        assert f"\n  - {expected}" in byoc_error(lookups.adopted, **mock_options)
