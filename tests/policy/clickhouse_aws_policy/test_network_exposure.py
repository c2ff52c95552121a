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


class TestBucketPolicyPrincipal:
    policy = "s3-bucket-policy-no-public-principal"
    token = "aws:s3/bucketPolicy:BucketPolicy"
    public_read = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}

    def test_public_grant_is_blocked(self, pack) -> None:
        for principal in ("*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::123456789012:root", "*"]}):
            statement = {**self.public_read, "Principal": principal}
            assert len(pack.blocking(self.policy, self.token, {"bucket": "b", "policy": pack.doc(statement)})) == 1

    def test_grant_restricted_to_an_endpoint_or_deny_passes(self, pack) -> None:
        scoped = {**self.public_read, "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}
        deny = {**self.public_read, "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        assert pack.blocking(self.policy, self.token, {"bucket": "b", "policy": pack.doc(scoped, deny)}) == []

    def test_transport_condition_does_not_restrict_who(self, pack) -> None:
        tls_only = {**self.public_read, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
        assert len(pack.blocking(self.policy, self.token, {"bucket": "b", "policy": pack.doc(tls_only)})) == 1

    def test_inline_bucket_policy_is_judged(self, pack) -> None:
        assert len(pack.blocking(self.policy, BUCKET, {"bucket": "b", "policy": pack.doc(self.public_read)})) == 1

    def test_unknown_policy_is_blocked(self, pack) -> None:
        found = pack.blocking(self.policy, self.token, {"bucket": "b", "policy": UNKNOWN})
        assert len(found) == 1 and "unknown" in found[0]


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
