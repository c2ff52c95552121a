"""BYOC network: the stack's one VPC carries the BYOC tags and shape, with S3 and interface endpoints and no internet."""

from __future__ import annotations

import ipaddress

from components.byoc.names import BYOC_SUBNET_TAGS
from stack_config.keys import BYOC_INTERFACE_ENDPOINTS
from tests.byoc_support import (
    ADOPTED, ADOPTED_SUBNETS, ADOPTED_VPC, MAIN_ROUTE_TABLE, NS, REGION, children, custom, error_of, route_table_of, run,
)

NETWORK = "clickhouse-aws:byoc:Network"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def interface_endpoints(result):
    return [r for r in children(result, NETWORK, ENDPOINT) if r.inputs["vpcEndpointType"] == "Interface"]


def test_the_stack_has_one_vpc_and_it_carries_the_byoc_tag():
    result = run()
    (vpc,) = result.of_type("aws:ec2/vpc:Vpc")
    assert vpc.inputs["tags"]["clickhouse-byoc"] == "true"
    assert vpc.inputs["enableDnsSupport"] and vpc.inputs["enableDnsHostnames"]


def test_three_private_subnets_in_three_zones_each_at_least_23_and_tagged():
    subnets = run().of_type("aws:ec2/subnet:Subnet")
    assert len(subnets) == 3
    assert len({s.inputs["availabilityZone"] for s in subnets}) == 3
    for subnet in subnets:
        assert ipaddress.IPv4Network(subnet.inputs["cidrBlock"]).prefixlen <= 23
        assert subnet.inputs["mapPublicIpOnLaunch"] is False
        assert {k: subnet.inputs["tags"][k] for k in BYOC_SUBNET_TAGS} == {
            "kubernetes.io/role/internal-elb": "1", "clickhouse-byoc": "true"}


def test_nothing_reaches_the_internet_and_flows_are_logged():
    result = run()
    types = {r.type for r in result.resources}
    assert not types & {"aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip",
                        "aws:ec2/route:Route"}
    assert len(result.of_type("aws:ec2/routeTable:RouteTable")) == 3
    assert result.one("aws:ec2/flowLog:FlowLog").inputs["trafficType"] == "ALL"


def test_s3_gateway_endpoint_sits_on_every_private_route_table():
    result = run()
    (s3,) = [r for r in children(result, NETWORK, ENDPOINT) if r.inputs["vpcEndpointType"] == "Gateway"]
    associated = {a.inputs["routeTableId"] for a in result.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")}
    assert s3.inputs["serviceName"] == f"com.amazonaws.{REGION}.s3"
    assert len(associated) == 3 and set(s3.inputs["routeTableIds"]) == associated
    assert result.outputs["byoc"]["route_table_ids"] == s3.inputs["routeTableIds"]
    assert s3.inputs["vpcId"] == result.outputs["vpc_id"]


def test_interface_endpoints_default_list_private_dns_all_subnets_endpoint_group():
    result = run()
    byoc = result.outputs["byoc"]
    endpoints = interface_endpoints(result)
    assert sorted(e.inputs["serviceName"] for e in endpoints) == sorted(
        f"com.amazonaws.{REGION}.{svc}" for svc in BYOC_INTERFACE_ENDPOINTS)
    for endpoint in endpoints:
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert sorted(endpoint.inputs["subnetIds"]) == sorted(result.outputs["subnet_ids"])
        assert endpoint.inputs["securityGroupIds"] == [byoc["security_group_ids"]["endpoints"]]
        assert "serviceRegion" not in endpoint.inputs
    assert set(byoc["interface_endpoint_ids"]) == set(BYOC_INTERFACE_ENDPOINTS)
    assert all(v.startswith("vpce-") for v in byoc["interface_endpoint_ids"].values())


def test_interface_endpoint_list_is_config():
    result = custom()
    services = [e.inputs["serviceName"].removeprefix(f"com.amazonaws.{REGION}.") for e in interface_endpoints(result)]
    assert sorted(services) == ["ecr.api", "ecr.dkr", "ssm", "sts"]
    assert set(result.outputs["byoc"]["interface_endpoint_ids"]) == {"ecr.api", "ecr.dkr", "sts", "ssm"}


def test_endpoint_group_admits_only_https_from_the_vpc_cidr():
    result = run()
    endpoint_sg = result.outputs["byoc"]["security_group_ids"]["endpoints"]
    rules = [r for r in result.resources if r.type.startswith("aws:vpc/securityGroup")
             and r.inputs["securityGroupId"] == endpoint_sg]
    assert len(rules) == 1
    (rule,) = rules
    assert rule.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 443, 443)
    assert rule.inputs["cidrIpv4"] == "10.42.0.0/16" == result.outputs["byoc"]["vpc_cidr"]
    assert rule.inputs["description"]


def test_every_network_child_has_the_component_as_parent():
    result = run()
    (component,) = result.of_type(NETWORK)
    direct = [r for r in result.resources if r.parent == component.urn]
    assert len(direct) == len(children(result, NETWORK)) == 1 + 1 + 1 + len(BYOC_INTERFACE_ENDPOINTS)


class TestAdoptedVpc:
    """An existing VPC: validated like a created one, tagged for ClickHouse, its own route tables used."""

    def test_adopted_vpc_and_subnets_get_exactly_the_byoc_tags(self):
        result = run("prod", ADOPTED)
        assert result.error is None
        tags = {(t.inputs["resourceId"], t.inputs["key"], t.inputs["value"])
                for t in children(result, NETWORK, "aws:ec2/tag:Tag")}
        expected = {(ADOPTED_VPC, "clickhouse-byoc", "true")}
        expected |= {(s, k, v) for s in ADOPTED_SUBNETS for k, v in BYOC_SUBNET_TAGS.items()}
        assert tags == expected
        assert not result.of_type("aws:ec2/vpc:Vpc") and not result.of_type("aws:ec2/subnet:Subnet")

    def test_s3_endpoint_uses_the_adopted_subnets_route_tables(self):
        result = run("prod", ADOPTED)
        (s3,) = [r for r in children(result, NETWORK, ENDPOINT) if r.inputs["vpcEndpointType"] == "Gateway"]
        assert s3.inputs["routeTableIds"] == sorted(route_table_of(s) for s in ADOPTED_SUBNETS)
        assert result.outputs["byoc"]["route_table_ids"] == s3.inputs["routeTableIds"]
        assert result.outputs["byoc"]["vpc_cidr"] == "10.90.0.0/16"

    def test_subnets_without_explicit_association_use_the_main_route_table(self):
        result = run("prod", ADOPTED, route_tables="main")
        (s3,) = [r for r in children(result, NETWORK, ENDPOINT) if r.inputs["vpcEndpointType"] == "Gateway"]
        assert s3.inputs["routeTableIds"] == [MAIN_ROUTE_TABLE]

    def test_subnets_of_exactly_23_pass(self):
        assert run("prod", ADOPTED, subnet_prefix=23).error is None

    def test_subnets_smaller_than_23_are_rejected_after_lookup(self):
        error = error_of({**ADOPTED}, subnet_prefix=24)
        assert f"{NS}:subnetIds:" in error and "smaller than the /23" in error

    def test_subnets_without_any_route_table_are_rejected(self):
        error = error_of({**ADOPTED}, route_tables="none")
        assert f"{NS}:subnetIds: no route table found" in error

    def test_a_vpc_without_dns_hostnames_is_rejected(self):
        error = error_of({**ADOPTED}, vpc_dns=False)
        assert f"{NS}:vpcId:" in error and "DNS hostnames" in error
