"""The network config: a VPC to create (CIDR, zones, subnet size) or one to adopt, checked before and after lookup."""

from __future__ import annotations

import pytest

import stack_config
from scripts.offline.engine import UNSET
from stack_config.network import FoundNetwork, FoundSubnet, FoundVpc

ADOPTED = {"vpcId": "vpc-0123456789abcdef0", "subnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]}


@pytest.mark.parametrize(("overrides", "key_name", "expected"), [
    ({"vpcCidr": "10.0.0.0/33"}, "vpcCidr", "'10.0.0.0/33' is not a valid IPv4 CIDR ('33' is not a valid netmask); "
                                            "expected a private (RFC 1918) IPv4 CIDR such as 10.40.0.0/16"),
    ({"vpcCidr": "10.41.0.1/16"}, "vpcCidr", "has host bits set"),
    ({"vpcCidr": "10.32.0.0/12"}, "vpcCidr", "10.32.0.0/12 must be between /16 and /24"),
    ({"vpcCidr": "8.8.0.0/16"}, "vpcCidr", "'8.8.0.0/16' is not a private range"),
    ({"reservedCidrs": ["10.41.128.0/17"]}, "vpcCidr", "10.41.0.0/16 overlaps reserved range 10.41.128.0/17"),
    ({"reservedCidrs": ["10.300.0.0/16"]}, "reservedCidrs", "'10.300.0.0/16' is not a valid IPv4 CIDR"),
    ({"subnetPrefixLength": 17, "azCount": 3}, "subnetPrefixLength", "10.41.0.0/16 holds only 2 subnet(s) of /17, but azCount is 3"),
    ({"subnetPrefixLength": 16}, "subnetPrefixLength", "/16 does not fit in 10.41.0.0/16: it must be longer than /16"),
    ({"subnetPrefixLength": 29}, "subnetPrefixLength", "29 is above the maximum of 28: a /28 is the smallest subnet AWS allows"),
    ({"azCount": 1}, "azCount", "1 is below the minimum of 2: the endpoint needs at least 2 availability zones"),
    ({"flowLogRetentionDays": 10}, "flowLogRetentionDays", "10 is not one of 1, 3, 5, 7, 14, 30"),
    ({"subnetIds": ["subnet-0123456789abcdef0"]}, "subnetIds", "is set but vpcId is not"),
    ({**ADOPTED, "subnetIds": ADOPTED["subnetIds"][:1]}, "subnetIds", "has 1 subnet(s) but azCount is 2"),
    ({**ADOPTED, "subnetIds": ["subnet-aa", "subnet-0123456789abcdef0"]}, "subnetIds",
     "'subnet-aa' is not a subnet ID such as subnet-0123456789abcdef0"),
    ({**ADOPTED, "subnetIds": ["subnet-0123456789abcdef0"] * 2}, "subnetIds", "lists 'subnet-0123456789abcdef0' more than once"),
    ({**ADOPTED, "vpcId": "my-vpc"}, "vpcId", "'my-vpc' is not a VPC ID such as vpc-0123456789abcdef0"),
])
def test_bad_network_input_is_one_message_naming_the_key(problem, overrides, key_name, expected):
    assert expected in problem(key_name, overrides)


def test_an_adopted_vpc_needs_no_cidr_of_its_own(load):
    cfg = load(ADOPTED).network
    assert not cfg.creates_vpc
    assert (cfg.existing_vpc_id, cfg.existing_subnet_ids) == (ADOPTED["vpcId"], tuple(ADOPTED["subnetIds"]))


def test_subnet_cidrs_are_computed_from_the_vpc_cidr(load):
    assert load(stack="prod").network.subnet_cidrs() == ["10.42.0.0/20", "10.42.16.0/20", "10.42.32.0/20"]


class TestLayout:
    """What AWS reports, checked against the config: zones of the region, and an adopted VPC's subnets."""

    def test_a_new_vpc_takes_the_first_zones_in_name_order(self, load):
        cfg = load()
        layout = stack_config.resolve_layout(cfg, FoundNetwork(zones=("us-east-1c", "us-east-1a", "us-east-1b")))
        assert layout.zones == ("us-east-1a", "us-east-1b")

    def test_a_region_with_too_few_zones_is_refused(self, load):
        with pytest.raises(stack_config.ConfigError) as raised:
            stack_config.resolve_layout(load(stack="prod"), FoundNetwork(zones=("us-east-1a", "us-east-1b")))
        assert raised.value.problems == [
            "clickhouse-aws:azCount: 3 zones requested but us-east-1 has only 2 (us-east-1a, us-east-1b)"]

    @staticmethod
    def adopted(*subnets: FoundSubnet) -> FoundNetwork:
        return FoundNetwork(vpc=FoundVpc(ADOPTED["vpcId"], "10.90.0.0/16", True, True), subnets=subnets)

    def test_an_adopted_vpcs_zones_and_cidrs_come_from_its_subnets(self, load):
        first, second = ADOPTED["subnetIds"]
        layout = stack_config.resolve_layout(load(ADOPTED), self.adopted(
            FoundSubnet(first, ADOPTED["vpcId"], "us-east-1b", "10.90.16.0/20", False),
            FoundSubnet(second, ADOPTED["vpcId"], "us-east-1a", "10.90.0.0/20", False),
        ))
        assert layout.zones == ("us-east-1a", "us-east-1b")
        # The endpoint's subnets are filtered by zone, so each subnet's zone follows subnetIds' order.
        assert layout.subnet_zones == ("us-east-1b", "us-east-1a")
        assert (layout.existing_vpc_cidr, layout.existing_subnet_cidrs) == ("10.90.0.0/16", ("10.90.16.0/20", "10.90.0.0/20"))

    def test_adopted_subnets_in_another_vpc_one_zone_or_public_are_all_reported(self, load):
        first, second = ADOPTED["subnetIds"]
        with pytest.raises(stack_config.ConfigError) as raised:
            stack_config.resolve_layout(load(ADOPTED), self.adopted(
                FoundSubnet(first, ADOPTED["vpcId"], "us-east-1a", "10.90.0.0/20", False),
                FoundSubnet(second, "vpc-0fffffffffffffff0", "us-east-1a", "10.91.0.0/20", True),
            ))
        assert raised.value.problems == [
            f"clickhouse-aws:subnetIds: {second} are not in {ADOPTED['vpcId']}",
            f"clickhouse-aws:subnetIds: {first}, {second} are all in us-east-1a: give one private subnet per availability "
            "zone, as the interface endpoints take one subnet per zone",
            f"clickhouse-aws:subnetIds: {second} assign public IPs on launch; use private subnets",
        ]


class TestZoneChoice:
    """A created VPC's zones are chosen by zone ID, which names the same zone in every account."""

    # Account-specific names: here us-east-1a is use1-az4, as zone names are shuffled per account.
    FOUND = FoundNetwork(zones=("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"),
                         zone_ids=("use1-az4", "use1-az6", "use1-az1", "use1-az2"))

    def test_zones_are_chosen_in_zone_id_order_and_listed_by_name(self, load):
        layout = stack_config.resolve_layout(load(), self.FOUND)
        assert layout.zones == layout.subnet_zones == ("us-east-1c", "us-east-1d")  # use1-az1, use1-az2

    def test_preferred_zone_ids_come_first(self, load):
        layout = stack_config.resolve_layout(load({"availabilityZoneIds": ["use1-az6", "use1-az4"]}), self.FOUND)
        assert layout.zones == ("us-east-1a", "us-east-1b")
        layout = stack_config.resolve_layout(load({"availabilityZoneIds": ["use1-az6"]}, stack="prod"), self.FOUND)
        assert layout.zones == ("us-east-1b", "us-east-1c", "us-east-1d")  # az6, then az1 and az2

    def test_a_preferred_zone_id_the_region_lacks_is_refused(self, load):
        with pytest.raises(stack_config.ConfigError) as raised:
            stack_config.resolve_layout(load({"availabilityZoneIds": ["use1-az3"]}), self.FOUND)
        assert raised.value.problems == [
            "clickhouse-aws:availabilityZoneIds: use1-az3 is not an available zone ID of us-east-1; its zone IDs are "
            "use1-az1, use1-az2, use1-az4, use1-az6"]

    @pytest.mark.parametrize(("overrides", "expected"), [
        ({"availabilityZoneIds": ["us-east-1a"]}, "'us-east-1a' is not an availability zone ID such as use1-az1"),
        ({"availabilityZoneIds": ["use1-az1", "use1-az1"]}, "lists 'use1-az1' more than once"),
        ({**ADOPTED, "availabilityZoneIds": ["use1-az1"]},
         "applies only to a VPC this program creates; an adopted VPC's zones are those of its subnetIds"),
    ])
    def test_bad_zone_ids_are_one_message(self, problem, overrides, expected):
        assert problem("availabilityZoneIds", overrides).startswith(expected)


class TestEgress:
    """egress nat carves small subnets from the end of the VPC; transit-gateway needs its gateway; an adopted VPC's
    routing is its owner's."""

    def test_nat_subnets_are_taken_from_the_end_of_the_vpc_one_per_zone(self, load):
        cfg = load({"egress": "nat", "byocEgressNoneAcknowledged": UNSET}, "prod").network
        assert cfg.egress_subnet_cidrs() == ["10.42.255.208/28", "10.42.255.224/28", "10.42.255.240/28"]

    def test_one_nat_for_the_vpc_takes_one_subnet(self, load):
        overrides = {"egress": "nat", "natGatewayPerZone": "false", "egressSubnetPrefixLength": "26",
                     "byocEgressNoneAcknowledged": UNSET}
        cfg = load(overrides, "prod").network
        assert (cfg.nat_count, cfg.egress_subnet_cidrs()) == (1, ["10.42.255.192/26"])

    def test_egress_subnets_overlapping_the_private_subnets_are_refused(self, problem):
        overrides = {"egress": "nat", "vpcCidr": "10.41.0.0/24", "subnetPrefixLength": 25, "egressSubnetPrefixLength": 28}
        assert "taken from the end of 10.41.0.0/24, collide: 10.41.0.224/28 overlaps 10.41.0.128/25; 10.41.0.240/28" in problem(
            "egressSubnetPrefixLength", overrides)

    @pytest.mark.parametrize(("overrides", "key_name", "expected"), [
        ({"egress": "internet"}, "egress", "'internet' is not one of none, nat, transit-gateway"),
        ({"egress": "transit-gateway"}, "transitGatewayId", "is not set but egress is transit-gateway"),
        ({"transitGatewayId": "tgw-0123456789abcdef0"}, "transitGatewayId", "is set but egress is none"),
        ({"egress": "transit-gateway", "transitGatewayId": "tgw-x"}, "transitGatewayId", "is not a transit gateway ID"),
        ({**ADOPTED, "egress": "nat"}, "egress", "is nat but vpcId adopts an existing VPC, whose routing stays with its owner"),
        ({"egress": "nat", "egressSubnetPrefixLength": 29}, "egressSubnetPrefixLength", "29 is above the maximum of 28"),
    ])
    def test_bad_egress_input_is_one_message_naming_the_key(self, problem, overrides, key_name, expected):
        assert expected in problem(key_name, overrides)
