"""network_exposure policies, each with a compliant case, a violating case and (where it applies) an unknown value."""

from __future__ import annotations

import pytest
from pulumi.runtime.rpc import UNKNOWN


SERVICE = "clickhouse:index/service:Service"
SG = "aws:ec2/securityGroup:SecurityGroup"
BUCKET = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ALL_BLOCKED = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
               "restrictPublicBuckets": True}


class TestClickHousePublicAccess:
    policy = "clickhouse-no-public-access"

    def test_privatelink_only_passes(self, pack) -> None:
        assert pack.blocking(self.policy, SERVICE, {"ipAccesses": [], "region": "us-east-1"}) == []

    def test_open_to_the_internet_is_blocked(self, pack) -> None:
        found = pack.blocking(self.policy, SERVICE, {"ipAccesses": [{"source": "0.0.0.0/0", "description": "all"}]})
        assert len(found) == 1 and "whole internet" in found[0]

    @pytest.mark.parametrize("sources", [["0.0.0.0/1", "128.0.0.0/1"], ["::/0"], ["::ffff:0:0/96"]])
    def test_the_whole_internet_in_pieces_is_blocked_even_when_approved(self, pack, sources: list[str]) -> None:
        pack.configure({self.policy: {"approvedCidrs": ["0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"]}})
        entries = [{"source": s, "description": "x"} for s in sources]
        assert pack.blocking(self.policy, SERVICE, {"ipAccesses": entries})

    def test_unapproved_cidr_is_blocked_and_approved_one_passes(self, pack) -> None:
        pack.configure({self.policy: {"approvedCidrs": ["10.0.0.0/8"]}})
        vpn = {"ipAccesses": [{"source": "10.20.0.0/16", "description": "vpn"}]}
        assert pack.blocking(self.policy, SERVICE, vpn) == []
        found = pack.blocking(self.policy, SERVICE, {"ipAccesses": [{"source": "203.0.113.7", "description": "x"}]})
        assert len(found) == 1 and "approvedCidrs" in found[0]

    def test_world_is_blocked_even_when_approved(self, pack) -> None:
        pack.configure({self.policy: {"approvedCidrs": ["0.0.0.0/0"]}})
        found = pack.blocking(self.policy, SERVICE, {"ipAccesses": [{"source": "0.0.0.0/0", "description": "all"}]})
        assert any("whole internet" in m for m in found)

    def test_malformed_approved_cidr_is_reported(self, pack) -> None:
        pack.configure({self.policy: {"approvedCidrs": ["office"]}})
        found = pack.blocking(self.policy, SERVICE, {"ipAccesses": []})
        assert found == ["ClickHouse services accept no public IP access except approved CIDRs (PrivateLink only by "
                         "default).\napprovedCidrs entry 'office' is not a CIDR; fix the policy pack config."]

    @pytest.mark.parametrize("props", [
        {"ipAccesses": UNKNOWN}, {"ipAccesses": [{"source": UNKNOWN, "description": "x"}]},
    ])
    def test_unknown_access_list_is_blocked(self, pack, props: dict) -> None:
        found = pack.blocking(self.policy, SERVICE, props)
        assert len(found) == 1 and "unknown" in found[0]


class TestSecurityGroupIngress:
    policy = "security-group-no-public-ingress"

    def test_private_inline_rule_passes(self, pack) -> None:
        rule = {"protocol": "tcp", "fromPort": 8443, "toPort": 8443, "cidrBlocks": ["10.0.0.0/16"]}
        assert pack.blocking(self.policy, SG, {"ingress": [rule]}) == []

    @pytest.mark.parametrize("field,cidr", [("cidrBlocks", "0.0.0.0/0"), ("ipv6CidrBlocks", "::/0")])
    def test_world_open_inline_rule_is_blocked(self, pack, field: str, cidr: str) -> None:
        rule = {"protocol": "tcp", "fromPort": 22, "toPort": 22, field: [cidr]}
        found = pack.blocking(self.policy, SG, {"ingress": [rule]})
        assert len(found) == 1 and f"admits {cidr} on tcp 22" in found[0]

    def test_security_group_rule_ingress_blocked_egress_allowed(self, pack) -> None:
        rule = {"fromPort": 0, "toPort": 65535, "protocol": "tcp", "cidrBlocks": ["0.0.0.0/0"],
                "securityGroupId": "sg-1"}
        token = "aws:ec2/securityGroupRule:SecurityGroupRule"
        assert len(pack.blocking(self.policy, token, {**rule, "type": "ingress"})) == 1
        assert pack.blocking(self.policy, token, {**rule, "type": "egress"}) == []

    def test_vpc_ingress_rule(self, pack) -> None:
        token = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
        base = {"securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 8443, "toPort": 8443}
        assert pack.blocking(self.policy, token, {**base, "referencedSecurityGroupId": "sg-2"}) == []
        assert len(pack.blocking(self.policy, token, {**base, "cidrIpv4": "0.0.0.0/0"})) == 1
        unknown = pack.blocking(self.policy, token, {**base, "cidrIpv4": UNKNOWN})
        assert len(unknown) == 1 and "unknown" in unknown[0]

    @pytest.mark.parametrize("cidrs", [
        ["0.0.0.0/1", "128.0.0.0/1"],
        ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"],
        ["1.0.0.0/8"],
        ["::/1", "8000::/1"],
        ["::ffff:0:0/96"],
    ])
    def test_the_internet_spelled_as_several_ranges_is_blocked(self, pack, cidrs: list[str]) -> None:
        v6 = [c for c in cidrs if ":" in c]
        rule = {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": [c for c in cidrs if c not in v6],
                "ipv6CidrBlocks": v6}
        found = pack.blocking(self.policy, SG, {"ingress": [rule]})
        assert len(found) == 1 and "tcp 22" in found[0]

    def test_rules_of_one_group_are_joined_per_port(self, pack) -> None:
        half = {"protocol": "tcp", "fromPort": 443, "toPort": 443}
        lower, upper = {**half, "cidrBlocks": ["0.0.0.0/1"]}, {**half, "cidrBlocks": ["128.0.0.0/1"]}
        found = pack.blocking(self.policy, SG, {"ingress": [lower, upper]})
        assert len(found) == 1 and "ingress[0], ingress[1] together admit" in found[0] and "whole IPv4" in found[0]
        # Halves of the internet on different ports open neither port to everyone, but each half is very wide.
        apart = pack.blocking(self.policy, SG, {"ingress": [lower, {**upper, "fromPort": 22, "toPort": 22}]})
        assert len(apart) == 2 and not any("whole" in m for m in apart)

    def test_all_traffic_rules_count_on_every_port(self, pack) -> None:
        everything = {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/1"]}
        ssh = {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["128.0.0.0/1"]}
        found = pack.blocking(self.policy, SG, {"ingress": [everything, ssh]})
        assert any("tcp 22" in m and "whole IPv4" in m for m in found)

    def test_very_wide_threshold_comes_from_config(self, pack) -> None:
        rule = {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["52.94.0.0/15"]}
        assert len(pack.blocking(self.policy, SG, {"ingress": [rule]})) == 1
        pack.configure({self.policy: {"widestPublicIpv4Prefix": 12}})
        assert pack.blocking(self.policy, SG, {"ingress": [rule]}) == []

    @pytest.mark.parametrize("protocol", ["6", "tcp", "TCP", "all", "-1"])
    def test_protocol_spellings(self, pack, protocol: str) -> None:
        rule = {"protocol": protocol, "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}
        assert len(pack.blocking(self.policy, SG, {"ingress": [rule]})) == 1


class TestJoinedIngress:
    policy = "security-group-joined-no-public-ingress"
    vpc_rule = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    sg_rule = "aws:ec2/securityGroupRule:SecurityGroupRule"

    def group(self, pack, **props):
        return pack.resource(SG, "web", {"vpcId": "vpc-1", "id": "sg-0web", **props})

    def test_halves_in_separate_rule_resources_are_blocked(self, pack) -> None:
        by_dependency = {"securityGroupId": [pack.urn(SG, "web")]}
        lower = pack.resource(self.vpc_rule, "lower", {"securityGroupId": UNKNOWN, "ipProtocol": "tcp",
                                                       "fromPort": 22, "toPort": 22, "cidrIpv4": "0.0.0.0/1"},
                              deps=by_dependency)
        upper = pack.resource(self.sg_rule, "upper", {"type": "ingress", "securityGroupId": "sg-0web",
                                                      "protocol": "tcp", "fromPort": 0, "toPort": 1024,
                                                      "cidrBlocks": ["128.0.0.0/1"]})
        found = pack.analyze_stack([self.group(pack), lower, upper], policy=self.policy)
        assert len(found) == 1 and found[0].urn == pack.urn(SG, "web") and "tcp 22" in found[0].message
        assert found[0].level == "mandatory"

    def test_inline_rule_and_rule_resource_are_joined(self, pack) -> None:
        inline = [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/1"]}]
        upper = pack.resource(self.vpc_rule, "upper", {"securityGroupId": "sg-0web", "ipProtocol": "tcp",
                                                       "fromPort": 443, "toPort": 443, "cidrIpv4": "128.0.0.0/1"})
        found = pack.analyze_stack([self.group(pack, ingress=inline), upper], policy=self.policy)
        assert len(found) == 1 and "whole IPv4 internet" in found[0].message

    def test_rules_on_a_group_outside_the_stack_are_joined_by_id(self, pack) -> None:
        rules = [pack.resource(self.vpc_rule, f"half{i}", {"securityGroupId": "sg-0existing", "ipProtocol": "-1",
                                                           "cidrIpv4": cidr})
                 for i, cidr in enumerate(["0.0.0.0/1", "128.0.0.0/1"])]
        found = pack.analyze_stack(rules, policy=self.policy)
        assert len(found) == 1 and "sg-0existing" in found[0].message

    def test_prefix_lists_declared_in_the_stack_are_resolved(self, pack) -> None:
        prefix_list = pack.resource("aws:ec2/managedPrefixList:ManagedPrefixList", "everyone", {
            "name": "everyone", "addressFamily": "IPv4", "maxEntries": 2, "id": "pl-0everyone",
            "entries": [{"cidr": "0.0.0.0/1"}]})
        entry = pack.resource("aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry", "upper",
                              {"prefixListId": UNKNOWN, "cidr": "128.0.0.0/1"},
                              deps={"prefixListId": [pack.urn("aws:ec2/managedPrefixList:ManagedPrefixList",
                                                              "everyone")]})
        rule = pack.resource(self.vpc_rule, "via-list", {"securityGroupId": "sg-0web", "ipProtocol": "tcp",
                                                         "fromPort": 5432, "toPort": 5432,
                                                         "prefixListId": "pl-0everyone"})
        found = pack.analyze_stack([self.group(pack), prefix_list, entry, rule], policy=self.policy)
        assert len(found) == 1 and "tcp 5432" in found[0].message
        private = pack.resource("aws:ec2/managedPrefixList:ManagedPrefixList", "everyone", {
            "name": "everyone", "id": "pl-0everyone", "entries": [{"cidr": "10.0.0.0/8"}]})
        assert pack.analyze_stack([self.group(pack), private, rule], policy=self.policy) == []

    def test_what_one_resource_shows_is_left_to_the_resource_policy(self, pack) -> None:
        world = [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}]
        assert pack.analyze_stack([self.group(pack, ingress=world)], policy=self.policy) == []
        assert pack.analyze(SG, {"ingress": world}, policy="security-group-no-public-ingress")

    def test_private_rules_pass(self, pack) -> None:
        rules = [pack.resource(self.vpc_rule, "app", {"securityGroupId": "sg-0web", "ipProtocol": "tcp",
                                                      "fromPort": 8443, "toPort": 8443, "cidrIpv4": "10.0.0.0/8"}),
                 pack.resource(self.vpc_rule, "peer", {"securityGroupId": "sg-0web", "ipProtocol": "tcp",
                                                       "fromPort": 8443, "toPort": 8443,
                                                       "referencedSecurityGroupId": "sg-0app"})]
        assert pack.analyze_stack([self.group(pack), *rules], policy=self.policy) == []


@pytest.mark.parametrize("token", [
    "aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer", "aws:elb/loadBalancer:LoadBalancer",
])
def test_load_balancers_must_be_internal(pack, token: str) -> None:
    policy = "load-balancer-internal-only"
    assert pack.blocking(policy, token, {"internal": True}) == []
    absent = pack.blocking(policy, token, {})
    assert len(absent) == 1 and "AWS default false" in absent[0]
    assert len(pack.blocking(policy, token, {"internal": False})) == 1
    assert "unknown" in pack.blocking(policy, token, {"internal": UNKNOWN})[0]


class TestEks:
    policy = "eks-no-public-endpoint"
    token = "aws:eks/cluster:Cluster"

    def test_private_endpoint_passes(self, pack) -> None:
        config = {"subnetIds": ["subnet-1"], "endpointPublicAccess": False, "endpointPrivateAccess": True}
        assert pack.blocking(self.policy, self.token, {"vpcConfig": config}) == []

    def test_public_by_default_is_blocked(self, pack) -> None:
        found = pack.blocking(self.policy, self.token, {"vpcConfig": {"subnetIds": ["subnet-1"]}})
        assert len(found) == 1 and "AWS default true" in found[0]

    def test_world_cidr_is_blocked(self, pack) -> None:
        config = {"subnetIds": ["s"], "endpointPublicAccess": False, "publicAccessCidrs": ["0.0.0.0/0"]}
        assert len(pack.blocking(self.policy, self.token, {"vpcConfig": config})) == 1

    def test_unknown_is_blocked(self, pack) -> None:
        found = pack.blocking(self.policy, self.token, {"vpcConfig": {"endpointPublicAccess": UNKNOWN}})
        assert len(found) == 1 and "unknown" in found[0]


@pytest.mark.parametrize("token,props,blocked", [
    ("aws:rds/instance:Instance", {"publiclyAccessible": False}, False),
    ("aws:rds/instance:Instance", {}, False),
    ("aws:rds/instance:Instance", {"publiclyAccessible": True}, True),
    ("aws:redshift/cluster:Cluster", {"publiclyAccessible": True}, True),
    ("aws:redshift/cluster:Cluster", {"publiclyAccessible": UNKNOWN}, True),
    # The AWS API makes these public when the flag is left out.
    ("aws:dms/replicationInstance:ReplicationInstance", {}, True),
    ("aws:rds/cluster:Cluster", {"publiclyAccessible": False}, False),
])
def test_publicly_accessible_databases(pack, token: str, props: dict, blocked: bool) -> None:
    assert bool(pack.blocking("no-publicly-accessible-databases", token, props)) is blocked


class TestPublicAccessBlock:
    policy = "s3-bucket-public-access-block"

    def stack(self, pack, block: dict | None, *, bucket_type: str = BUCKET, by_dependency: bool = True) -> list:
        resources = [pack.resource(bucket_type, "data", {"bucket": "data-bucket"})]
        if block is not None:
            # At preview the block's bucket input is unknown; only the recorded dependency links the two.
            if by_dependency:
                bucket_input, deps = UNKNOWN, {"bucket": [pack.urn(bucket_type, "data")]}
            else:
                bucket_input, deps = "data-bucket", None
            resources.append(pack.resource(PAB, "data", {"bucket": bucket_input, **block}, deps=deps))
        return pack.analyze_stack(resources, policy=self.policy)

    @pytest.mark.parametrize("bucket_type", [BUCKET, "aws:s3/bucketV2:BucketV2"])
    def test_fully_blocked_bucket_passes(self, pack, bucket_type: str) -> None:
        assert self.stack(pack, ALL_BLOCKED, bucket_type=bucket_type) == []
        assert self.stack(pack, ALL_BLOCKED, bucket_type=bucket_type, by_dependency=False) == []

    def test_missing_block_is_blocked(self, pack) -> None:
        found = self.stack(pack, None)
        assert len(found) == 1 and found[0].urn == pack.urn(BUCKET, "data") and found[0].level == "mandatory"

    def test_partial_block_is_blocked(self, pack) -> None:
        found = self.stack(pack, {**ALL_BLOCKED, "restrictPublicBuckets": False})
        assert len(found) == 1 and "restrictPublicBuckets" in found[0].message

    def test_unknown_flag_is_blocked(self, pack) -> None:
        found = self.stack(pack, {**ALL_BLOCKED, "blockPublicPolicy": UNKNOWN})
        assert len(found) == 1 and "unknown" in found[0].message


@pytest.mark.parametrize("props,blocked", [
    ({"name": "x.internal", "vpcs": [{"vpcId": "vpc-1"}]}, False),
    ({"name": "example.com"}, True),
    ({"name": "example.com", "vpcs": []}, True),
    ({"name": "x.internal", "vpcs": UNKNOWN}, True),
])
def test_route53_zone_private(pack, props: dict, blocked: bool) -> None:
    assert bool(pack.blocking("route53-zone-private", "aws:route53/zone:Zone", props)) is blocked


class TestFlowLogs:
    policy = "vpc-flow-logs-enabled"
    vpc = {"cidrBlock": "10.0.0.0/16", "id": "vpc-0abc"}

    def test_vpc_with_flow_log_passes(self, pack) -> None:
        by_dependency = pack.resource("aws:ec2/flowLog:FlowLog", "main", {"vpcId": UNKNOWN, "trafficType": "ALL"},
                                      deps={"vpcId": [pack.urn("aws:ec2/vpc:Vpc", "main")]})
        by_id = pack.resource("aws:ec2/flowLog:FlowLog", "main", {"vpcId": "vpc-0abc", "trafficType": "ALL"})
        vpc = pack.resource("aws:ec2/vpc:Vpc", "main", self.vpc)
        assert pack.analyze_stack([vpc, by_dependency], policy=self.policy) == []
        assert pack.analyze_stack([vpc, by_id], policy=self.policy) == []

    def test_vpc_without_flow_log_is_blocked(self, pack) -> None:
        other = pack.resource("aws:ec2/flowLog:FlowLog", "other", {"vpcId": "vpc-other", "trafficType": "ALL"})
        found = pack.analyze_stack([pack.resource("aws:ec2/vpc:Vpc", "main", self.vpc), other], policy=self.policy)
        assert [d.urn for d in found] == [pack.urn("aws:ec2/vpc:Vpc", "main")]
