"""PrivateLink: same-region interface endpoint, one attachment, a zone exactly the hostname, client-only access."""

from __future__ import annotations

import hashlib

import pytest
from pulumi.runtime import MockCallArgs

from components.privatelink import EndpointZoneError, supported_subnets
from scripts.offline.engine import OfflineMocks, run_program
from tests.helpers import by_name, generated_password, is_secret_on_wire

ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
OPEN = {"0.0.0.0/0", "::/0"}


def _service_endpoint_config(run):
    return run.one("clickhouse:index/service:Service").outputs["privateEndpointConfig"]


def test_endpoint_is_an_interface_to_clickhouse_in_the_same_region(dev_run):
    endpoint = dev_run.one(ENDPOINT).inputs
    assert endpoint["vpcEndpointType"] == "Interface"
    assert endpoint["serviceName"] == _service_endpoint_config(dev_run)["endpointServiceId"]
    assert endpoint["serviceName"].startswith(f"com.amazonaws.vpce.{dev_run.aws_region}.vpce-svc-")
    assert "serviceRegion" not in endpoint
    assert endpoint["privateDnsEnabled"] is False
    assert endpoint["subnetIds"] == dev_run.outputs["subnet_ids"]
    assert endpoint["securityGroupIds"] == [dev_run.outputs["endpoint_security_group_id"]]


def _client_flows(run):
    """Each ingress rule as (group, peer, protocol, port) and each egress rule as (group, peer, port)."""
    ingress = sorted((r.inputs["securityGroupId"], r.inputs["referencedSecurityGroupId"], r.inputs["ipProtocol"],
                      r.inputs["fromPort"], r.inputs["toPort"]) for r in run.of_type(INGRESS))
    egress = {(r.inputs["securityGroupId"], r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"])
              for r in run.of_type(EGRESS)}
    return ingress, egress


def test_endpoint_admits_only_the_client_group_on_the_ports_clickhouse_lists(dev_run):
    endpoint_sg, client_sg = dev_run.outputs["endpoint_security_group_id"], dev_run.outputs["client_security_group_id"]
    ingress, egress = _client_flows(dev_run)
    # ClickHouse's PrivateLink guide: HTTPS on 443 and 8443, the native protocol over TLS on 9440.
    assert ingress == [(endpoint_sg, client_sg, "tcp", port, port) for port in (443, 8443, 9440)]
    assert egress == {(client_sg, endpoint_sg, port) for port in (443, 8443, 9440)}
    assert all(r.inputs["description"] for r in dev_run.of_type(INGRESS))


def test_the_mysql_interface_opens_3306_to_the_client_group_and_sets_the_mysql_hash():
    run = run_program("dev", {"clickhouse-aws:clickhouseMysqlInterface": True})
    assert run.error is None, run.error
    endpoint_sg, client_sg = run.outputs["endpoint_security_group_id"], run.outputs["client_security_group_id"]
    ingress, egress = _client_flows(run)
    assert [flow[3] for flow in ingress] == [443, 3306, 8443, 9440]
    assert (endpoint_sg, client_sg, "tcp", 3306, 3306) in ingress and (client_sg, endpoint_sg, 3306) in egress
    service = run.one("clickhouse:index/service:Service")
    password = generated_password(run)
    assert service.inputs["doubleSha1PasswordHash"] == hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest()
    assert is_secret_on_wire(service, "doubleSha1PasswordHash")


def test_without_the_mysql_interface_there_is_no_mysql_hash(dev_run):
    assert "doubleSha1PasswordHash" not in dev_run.one("clickhouse:index/service:Service").inputs


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_nothing_is_open_to_the_internet(request, stack):
    run = request.getfixturevalue(f"{stack}_run")
    for group in run.of_type("aws:ec2/securityGroup:SecurityGroup"):
        assert not group.inputs.get("ingress") and not group.inputs.get("egress"), "rules are separate resources"
    for rule in run.of_type(INGRESS) + run.of_type(EGRESS):
        assert not {rule.inputs.get("cidrIpv4"), rule.inputs.get("cidrIpv6")} & OPEN
    assert run.one("clickhouse:index/service:Service").inputs["ipAccesses"] == []


def test_exactly_one_attachment_binds_the_endpoint_to_the_service(dev_run):
    attachment = dev_run.one("clickhouse:ServicePrivateEndpoints/attachment:Attachment").inputs
    assert attachment == {"serviceId": dev_run.outputs["service_id"], "privateEndpointIds": [dev_run.outputs["vpc_endpoint_id"]]}


def test_private_zone_is_exactly_the_service_hostname_and_aliases_the_endpoint(dev_run):
    hostname = _service_endpoint_config(dev_run)["privateDnsHostname"]
    zone = dev_run.one("aws:route53/zone:Zone")
    assert zone.inputs["name"] == hostname == dev_run.outputs["private_dns_hostname"]
    assert zone.inputs["vpcs"] == [{"vpcId": dev_run.outputs["vpc_id"]}]
    record = dev_run.one("aws:route53/record:Record").inputs
    first_entry = dev_run.one(ENDPOINT).outputs["dnsEntries"][0]
    assert (record["zoneId"], record["name"], record["type"]) == (zone.outputs["zoneId"], hostname, "A")
    assert record["aliases"] == [{"name": first_entry["dnsName"], "zoneId": first_entry["hostedZoneId"], "evaluateTargetHealth": False}]


def test_security_group_names_are_stack_scoped(prod_run):
    groups = by_name(prod_run, "aws:ec2/securityGroup:SecurityGroup")
    assert groups["privatelink-client"].inputs["name"] == "clickhouse-aws-prod-clickhouse-client"
    assert groups["privatelink-endpoint"].inputs["name"] == "clickhouse-aws-prod-clickhouse-endpoint"


class _ServiceZonesMocks(OfflineMocks):
    """ClickHouse's endpoint service supporting only the given zone letters of the region."""

    def __init__(self, region: str, letters: str):
        super().__init__(region)
        self.letters = letters

    def call(self, args):
        result = super().call(args)
        if args.token == "aws:ec2/getVpcEndpointService:getVpcEndpointService":
            result["availabilityZones"] = [f"{self.region}{letter}" for letter in self.letters]
        return result


def test_the_endpoint_goes_only_in_zones_the_service_supports(dev_run):
    # dev's subnets are in us-east-1a and us-east-1b; the service supports b and c.
    run = run_program("dev", mocks=_ServiceZonesMocks("us-east-1", "bc"))
    assert run.error is None, run.error
    subnets = {r.inputs["availabilityZone"]: r.id for r in run.of_type("aws:ec2/subnet:Subnet")}
    assert run.one(ENDPOINT).inputs["subnetIds"] == [subnets["us-east-1b"]]
    # Where the service supports every zone, the endpoint takes every subnet.
    assert dev_run.one(ENDPOINT).inputs["subnetIds"] == dev_run.outputs["subnet_ids"]


def test_the_adopted_subnets_are_filtered_the_same_way():
    adopted = {"clickhouse-aws:vpcId": "vpc-0123456789abcdef0",
               "clickhouse-aws:subnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]}
    mocks = _ServiceZonesMocks("us-east-1", "")
    zones = {s: mocks.call(MockCallArgs("aws:ec2/getSubnet:getSubnet", {"id": s}, ""))["availabilityZone"]
             for s in adopted["clickhouse-aws:subnetIds"]}
    keep = next(iter(zones))
    mocks.letters = zones[keep][-1]
    run = run_program("dev", adopted, mocks=mocks)
    assert run.error is None, run.error
    assert run.one(ENDPOINT).inputs["subnetIds"] == [keep]


def test_no_subnet_in_a_supported_zone_stops_the_deployment_with_a_clear_error():
    run = run_program("dev", mocks=_ServiceZonesMocks("us-east-1", "f"))
    assert run.error.startswith("ClickHouse's endpoint service supports only us-east-1f here, and none of the "
                                "endpoint's subnets (")
    assert not run.of_type(ENDPOINT), "no endpoint is declared in a zone AWS would refuse"


def test_no_subnet_in_a_supported_zone_is_a_clear_error():
    with pytest.raises(EndpointZoneError) as raised:
        supported_subnets(["subnet-1", "subnet-2"], ["us-east-1a", "us-east-1b"], ["us-east-1c", "us-east-1d"])
    assert str(raised.value) == (
        "ClickHouse's endpoint service supports only us-east-1c, us-east-1d here, and none of the endpoint's subnets "
        "(subnet-1 in us-east-1a, subnet-2 in us-east-1b) is in one of them: set clickhouse-aws:availabilityZoneIds to "
        "zone IDs the service supports (a created VPC), or give subnetIds in those zones (an adopted VPC)")
    assert supported_subnets(["subnet-1", "subnet-2"], ["us-east-1a", "us-east-1b"], ["us-east-1b"]) == ["subnet-2"]
