"""internet_paths policies: gateways created or reused, routes, public addresses and Elastic IPs."""

from __future__ import annotations

import pytest
from pulumi.runtime.rpc import UNKNOWN


@pytest.mark.parametrize("token", [
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
    "aws:ec2/internetGatewayAttachment:InternetGatewayAttachment",
])
def test_internet_gateways_are_blocked(pack, token: str) -> None:
    assert len(pack.blocking("no-internet-gateway", token, {"vpcId": "vpc-1"})) == 1


def test_a_vpc_is_not_an_internet_gateway(pack) -> None:
    assert pack.blocking("no-internet-gateway", "aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16"}) == []


@pytest.mark.parametrize("props,blocked", [
    ({"subnetId": "subnet-1", "connectivityType": "private"}, False),
    ({"subnetId": "subnet-1"}, True),
    ({"subnetId": "subnet-1", "connectivityType": "public"}, True),
    ({"subnetId": "subnet-1", "connectivityType": UNKNOWN}, True),
])
def test_nat_gateway(pack, props: dict, blocked: bool) -> None:
    assert bool(pack.blocking("no-nat-gateway", "aws:ec2/natGateway:NatGateway", props)) is blocked


def test_elastic_ip_is_blocked_and_other_resources_pass(pack) -> None:
    assert len(pack.blocking("no-elastic-ip", "aws:ec2/eip:Eip", {"domain": "vpc"})) == 1
    assert pack.blocking("no-elastic-ip", "aws:ec2/subnet:Subnet", {"vpcId": "vpc-1"}) == []


@pytest.mark.parametrize("token,props,blocked", [
    ("aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": False}, False),
    ("aws:ec2/subnet:Subnet", {}, False),
    ("aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": True}, True),
    ("aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": UNKNOWN}, True),
    # Default subnets assign public IPs unless told otherwise.
    ("aws:ec2/defaultSubnet:DefaultSubnet", {}, True),
])
def test_subnet_public_ip_on_launch(pack, token: str, props: dict, blocked: bool) -> None:
    assert bool(pack.blocking("subnet-no-public-ip-on-launch", token, props)) is blocked




class TestRoutes:
    policy = "no-internet-route"
    route = "aws:ec2/route:Route"
    table = "aws:ec2/routeTable:RouteTable"

    @pytest.mark.parametrize("props", [
        {"routeTableId": "rtb-1", "destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-0abc"},
        {"routeTableId": "rtb-1", "destinationCidrBlock": "8.8.8.8/32", "gatewayId": "IGW-0abc"},
        {"routeTableId": "rtb-1", "destinationIpv6CidrBlock": "::/0", "egressOnlyGatewayId": "eigw-0abc"},
        {"routeTableId": "rtb-1", "destinationCidrBlock": "0.0.0.0/0", "carrierGatewayId": "cagw-0abc"},
        {"routeTableId": "rtb-1", "destinationCidrBlock": "0.0.0.0/0", "gatewayId": UNKNOWN},
    ])
    def test_separate_routes_to_an_internet_path_are_blocked(self, pack, props: dict) -> None:
        assert len(pack.blocking(self.policy, self.route, props)) == 1

    @pytest.mark.parametrize("props", [
        {"routeTableId": "rtb-1", "destinationCidrBlock": "10.0.0.0/8", "transitGatewayId": "tgw-1"},
        {"routeTableId": "rtb-1", "destinationCidrBlock": "172.16.0.0/12", "gatewayId": "vgw-1"},
        {"routeTableId": "rtb-1", "destinationPrefixListId": "pl-1", "vpcEndpointId": "vpce-1"},
        {"routeTableId": "rtb-1", "destinationCidrBlock": "10.0.0.0/8", "vpcPeeringConnectionId": "pcx-1"},
    ])
    def test_private_routes_pass(self, pack, props: dict) -> None:
        assert pack.blocking(self.policy, self.route, props) == []

    @pytest.mark.parametrize("token", ["aws:ec2/routeTable:RouteTable", "aws:ec2/defaultRouteTable:DefaultRouteTable"])
    def test_inline_routes_are_judged(self, pack, token: str) -> None:
        routes = [{"cidrBlock": "10.0.0.0/8", "transitGatewayId": "tgw-1"},
                  {"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-0abc"}]
        found = pack.blocking(self.policy, token, {"vpcId": "vpc-1", "routes": routes})
        assert len(found) == 1 and "routes[1]" in found[0] and "igw-0abc" in found[0]
        assert pack.blocking(self.policy, token, {"vpcId": "vpc-1", "routes": routes[:1]}) == []
        assert "unknown" in pack.blocking(self.policy, token, {"vpcId": "vpc-1", "routes": UNKNOWN})[0]

    def test_gateway_edge_association_is_blocked(self, pack) -> None:
        token = "aws:ec2/routeTableAssociation:RouteTableAssociation"
        assert len(pack.blocking(self.policy, token, {"routeTableId": "rtb-1", "gatewayId": "igw-0abc"})) == 1
        assert pack.blocking(self.policy, token, {"routeTableId": "rtb-1", "subnetId": "subnet-1"}) == []


class TestPublicAddresses:
    policy = "no-public-ip-address"

    @pytest.mark.parametrize("token,props", [
        ("aws:ec2/instance:Instance", {"ami": "ami-1", "associatePublicIpAddress": True}),
        ("aws:ec2/instance:Instance", {"ami": "ami-1", "associatePublicIpAddress": UNKNOWN}),
        ("aws:ec2/launchTemplate:LaunchTemplate", {"networkInterfaces": [{"associatePublicIpAddress": "true"}]}),
        ("aws:ec2/launchTemplate:LaunchTemplate", {"networkInterfaces": [{"associateCarrierIpAddress": "true"}]}),
        ("aws:ec2/launchConfiguration:LaunchConfiguration", {"associatePublicIpAddress": True}),
        ("aws:ec2/spotInstanceRequest:SpotInstanceRequest", {"associatePublicIpAddress": True}),
        ("aws:ec2/spotFleetRequest:SpotFleetRequest",
         {"launchSpecifications": [{"ami": "ami-1", "associatePublicIpAddress": True}]}),
        ("aws:ecs/service:Service", {"networkConfiguration": {"subnets": ["s"], "assignPublicIp": True}}),
    ])
    def test_public_addresses_are_blocked(self, pack, token: str, props: dict) -> None:
        assert len(pack.blocking(self.policy, token, props)) == 1

    @pytest.mark.parametrize("token,props", [
        ("aws:ec2/instance:Instance", {"ami": "ami-1", "associatePublicIpAddress": False}),
        ("aws:ec2/instance:Instance", {"ami": "ami-1"}),
        ("aws:ec2/launchTemplate:LaunchTemplate", {"networkInterfaces": [{"associatePublicIpAddress": "false"}]}),
        ("aws:ecs/service:Service", {"networkConfiguration": {"subnets": ["s"], "assignPublicIp": False}}),
    ])
    def test_private_addresses_pass(self, pack, token: str, props: dict) -> None:
        assert pack.blocking(self.policy, token, props) == []


@pytest.mark.parametrize("token,props", [
    ("aws:ec2/eipAssociation:EipAssociation", {"allocationId": "eipalloc-1", "instanceId": "i-1"}),
    ("aws:ec2/eipAssociation:EipAssociation", {"publicIp": "203.0.113.9", "networkInterfaceId": "eni-1"}),
    ("aws:ec2/natGatewayEipAssociation:NatGatewayEipAssociation", {"allocationId": "eipalloc-1", "natGatewayId": "n"}),
])
def test_associating_an_existing_elastic_ip_is_blocked(pack, token: str, props: dict) -> None:
    assert len(pack.blocking("no-elastic-ip", token, props)) == 1
