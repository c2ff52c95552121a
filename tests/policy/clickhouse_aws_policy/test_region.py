"""region policies: the shared pack runs a us-east-1 stack (aws:region set); a second pack has no aws:region at all."""

from __future__ import annotations

import pytest
from pulumi.runtime.rpc import UNKNOWN

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
SERVICE = "clickhouse:index/service:Service"
BUCKET = "aws:s3/bucket:Bucket"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
EU_PROVIDER = {"type": "pulumi:providers:aws", "name": "eu", "props": {"region": "eu-west-1"}}


class TestResourceRegion:
    policy = "resource-region-matches-stack"

    def test_stack_region_passes(self, pack) -> None:
        assert pack.blocking(self.policy, LOG_GROUP, {"name": "g"}) == []
        assert pack.blocking(self.policy, LOG_GROUP, {"name": "g", "region": "us-east-1"}) == []

    def test_v7_region_input_elsewhere_is_blocked(self, pack) -> None:
        found = pack.blocking(self.policy, LOG_GROUP, {"name": "g", "region": "eu-west-1"})
        assert len(found) == 1 and "'eu-west-1'" in found[0] and "us-east-1" in found[0]

    def test_unknown_region_is_blocked(self, pack) -> None:
        found = pack.blocking(self.policy, LOG_GROUP, {"name": "g", "region": UNKNOWN})
        assert len(found) == 1 and "unknown" in found[0]

    def test_explicit_provider_elsewhere_is_blocked(self, pack) -> None:
        found = pack.blocking(self.policy, LOG_GROUP, {"name": "g"}, provider=EU_PROVIDER)
        assert len(found) == 1 and "provider 'eu'" in found[0]
        same = {**EU_PROVIDER, "props": {"region": "us-east-1"}}
        assert pack.blocking(self.policy, LOG_GROUP, {"name": "g"}, provider=same) == []
        regionless = {**EU_PROVIDER, "props": {}}
        assert "not set" in pack.blocking(self.policy, LOG_GROUP, {"name": "g"}, provider=regionless)[0]

    def test_provider_resource_elsewhere_is_blocked(self, pack) -> None:
        assert len(pack.blocking(self.policy, "pulumi:providers:aws", {"region": "eu-west-1"}, provider={})) == 1
        assert pack.blocking(self.policy, "pulumi:providers:aws", {"region": "us-east-1"}, provider={}) == []

    def test_secret_replica_elsewhere_is_blocked(self, pack) -> None:
        props = {"name": "s", "replicas": [{"region": "eu-west-1"}]}
        found = pack.blocking(self.policy, "aws:secretsmanager/secret:Secret", props)
        assert len(found) == 1 and "replicas[0].region" in found[0]

    def test_stack_region_outside_allowed_regions_is_blocked(self, pack) -> None:
        pack.configure({self.policy: {"allowedRegions": ["eu-west-1"]}})
        found = pack.blocking(self.policy, LOG_GROUP, {"name": "g"})
        assert len(found) == 1 and "allowedRegions" in found[0]

    def test_non_aws_resources_are_not_judged(self, pack) -> None:
        assert pack.blocking(self.policy, "random:index/randomPassword:RandomPassword", {"region": "x"}) == []


@pytest.fixture
def regionless(pack_for):
    """A pack for a stack whose config has no aws:region."""
    return pack_for({})


class TestStackRegionFallbacks:
    policy = "resource-region-matches-stack"

    def test_default_provider_region_is_the_stack_region(self, regionless) -> None:
        regionless.configure()
        west = {"type": "pulumi:providers:aws", "name": "default_7_51_1", "props": {"region": "us-west-2"}}
        assert regionless.blocking(self.policy, LOG_GROUP, {"region": "us-west-2"}, provider=west) == []
        assert len(regionless.blocking(self.policy, LOG_GROUP, {"region": "us-east-1"}, provider=west)) == 1

    def test_allowed_regions_decide_without_aws_region(self, regionless) -> None:
        regionless.configure({self.policy: {"allowedRegions": ["us-east-1"]}})
        ok = {**EU_PROVIDER, "props": {"region": "us-east-1"}}
        assert regionless.blocking(self.policy, LOG_GROUP, {"name": "g"}, provider=ok) == []
        assert len(regionless.blocking(self.policy, LOG_GROUP, {"name": "g"}, provider=EU_PROVIDER)) == 1

    def test_undeterminable_stack_region_is_blocked(self, regionless) -> None:
        regionless.configure()
        found = regionless.blocking(self.policy, LOG_GROUP, {"name": "g"}, provider=EU_PROVIDER)
        assert len(found) == 1 and "cannot be determined" in found[0]


class TestVpcEndpoint:
    policy = "vpc-endpoint-same-region"

    @pytest.mark.parametrize("name", ["com.amazonaws.vpce.us-east-1.vpce-svc-0abc", "com.amazonaws.us-east-1.s3"])
    def test_same_region_service_passes(self, pack, name: str) -> None:
        assert pack.blocking(self.policy, ENDPOINT, {"serviceName": name, "vpcId": "vpc-1"}) == []

    @pytest.mark.parametrize("name", ["com.amazonaws.vpce.eu-west-1.vpce-svc-0abc", "com.amazonaws.eu-west-1.s3"])
    def test_service_in_another_region_is_blocked(self, pack, name: str) -> None:
        found = pack.blocking(self.policy, ENDPOINT, {"serviceName": name, "vpcId": "vpc-1"})
        assert len(found) == 1 and "eu-west-1" in found[0]

    def test_service_region_elsewhere_is_blocked(self, pack) -> None:
        props = {"serviceName": "com.amazonaws.vpce.eu-west-1.vpce-svc-0abc", "serviceRegion": "eu-west-1"}
        found = pack.blocking(self.policy, ENDPOINT, props)
        assert len(found) == 1 and "serviceRegion" in found[0]

    def test_unknown_service_name_is_same_region_unless_service_region_says_otherwise(self, pack) -> None:
        # Without serviceRegion AWS resolves the service in the endpoint's own region: a first preview of the
        # ClickHouse endpoint (whose service name comes from the not-yet-created service) must pass.
        assert pack.blocking(self.policy, ENDPOINT, {"serviceName": UNKNOWN}) == []
        assert pack.blocking(self.policy, ENDPOINT, {"serviceName": UNKNOWN, "serviceRegion": "us-east-1"}) == []
        found = pack.blocking(self.policy, ENDPOINT, {"serviceName": UNKNOWN, "serviceRegion": "eu-west-1"})
        assert len(found) == 1 and "eu-west-1" in found[0]
        assert "unknown" in pack.blocking(self.policy, ENDPOINT, {"serviceName": UNKNOWN, "serviceRegion": UNKNOWN})[0]


class TestZoneVpcRegion:
    policy = "route53-zone-vpc-same-region"

    def test_same_region_or_implicit_passes(self, pack) -> None:
        vpcs = [{"vpcId": "vpc-1"}, {"vpcId": "vpc-2", "vpcRegion": "us-east-1"}]
        assert pack.blocking(self.policy, "aws:route53/zone:Zone", {"name": "z", "vpcs": vpcs}) == []

    def test_vpc_elsewhere_is_blocked(self, pack) -> None:
        vpcs = [{"vpcId": "vpc-1", "vpcRegion": "eu-west-1"}]
        found = pack.blocking(self.policy, "aws:route53/zone:Zone", {"name": "z", "vpcs": vpcs})
        assert len(found) == 1 and "vpcs[0].vpcRegion" in found[0]
        association = {"zoneId": "Z1", "vpcId": "vpc-1", "vpcRegion": "eu-west-1"}
        assert len(pack.blocking(self.policy, "aws:route53/zoneAssociation:ZoneAssociation", association)) == 1

    def test_unknown_vpc_region_is_blocked(self, pack) -> None:
        vpcs = [{"vpcId": "vpc-1", "vpcRegion": UNKNOWN}]
        assert "unknown" in pack.blocking(self.policy, "aws:route53/zone:Zone", {"name": "z", "vpcs": vpcs})[0]


class TestArnInputs:
    policy = "arn-inputs-same-region"

    def test_same_region_and_global_arns_pass(self, pack) -> None:
        props = {"kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abc",
                 "roleArn": "arn:aws:iam::123456789012:role/r"}
        assert pack.blocking(self.policy, LOG_GROUP, props) == []

    def test_kms_key_from_another_region_is_blocked(self, pack) -> None:
        found = pack.blocking(self.policy, LOG_GROUP, {"kmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/abc"})
        assert len(found) == 1 and "kmsKeyId names a kms ARN" in found[0]

    def test_arns_inside_policy_documents_are_found(self, pack) -> None:
        statement = {"Effect": "Allow", "Action": "logs:PutLogEvents",
                     "Resource": "arn:aws:logs:ap-south-1:123456789012:log-group:x"}
        found = pack.blocking(self.policy, "aws:iam/rolePolicy:RolePolicy", {"policy": pack.doc(statement)})
        assert len(found) == 1 and "ap-south-1" in found[0]

    def test_unknown_inputs_are_left_to_the_referenced_resource(self, pack) -> None:
        assert pack.blocking(self.policy, LOG_GROUP, {"kmsKeyId": UNKNOWN}) == []


@pytest.mark.parametrize("token,props,is_blocked", [
    ("aws:ec2/vpcPeeringConnection:VpcPeeringConnection", {"vpcId": "vpc-1", "peerVpcId": "vpc-2"}, False),
    ("aws:ec2/vpcPeeringConnection:VpcPeeringConnection", {"peerVpcId": "vpc-2", "peerRegion": "eu-west-1"}, True),
    ("aws:ec2/vpcPeeringConnection:VpcPeeringConnection", {"peerVpcId": "vpc-2", "peerRegion": UNKNOWN}, True),
    ("aws:ec2transitgateway/peeringAttachment:PeeringAttachment", {"peerRegion": "us-east-1"}, False),
    ("aws:ec2transitgateway/peeringAttachment:PeeringAttachment", {"peerRegion": "us-west-2"}, True),
])
def test_peering(pack, token: str, props: dict, is_blocked: bool) -> None:
    assert bool(pack.blocking("no-cross-region-peering", token, props)) is is_blocked


class TestReplication:
    policy = "s3-replication-same-region"

    def replicate(self, pack, destination: dict, dest_bucket=None, deps=None) -> list:
        rules = [{"status": "Enabled", "destination": destination}]
        config = pack.resource(REPLICATION, "rep", {"bucket": "src", "role": "arn:aws:iam::1:role/r", "rules": rules},
                               deps=deps)
        source = pack.resource(BUCKET, "source", {"bucket": "src"})
        return pack.analyze_stack([source, *([dest_bucket] if dest_bucket else []), config], policy=self.policy)

    def test_destination_in_stack_region_passes(self, pack) -> None:
        dest = pack.resource(BUCKET, "dest", {"bucket": "dst"})
        assert self.replicate(pack, {"bucket": "arn:aws:s3:::dst"}, dest) == []
        by_dependency = {"rules": [pack.urn(BUCKET, "dest")]}
        assert self.replicate(pack, {"bucket": UNKNOWN}, dest, deps=by_dependency) == []

    def test_destination_in_another_region_is_blocked(self, pack) -> None:
        by_input = pack.resource(BUCKET, "dest", {"bucket": "dst", "region": "eu-west-1"})
        by_provider = pack.resource(BUCKET, "dest", {"bucket": "dst"}, provider=EU_PROVIDER)
        for dest in (by_input, by_provider):
            found = self.replicate(pack, {"bucket": "arn:aws:s3:::dst"}, dest)
            assert len(found) == 1 and "eu-west-1" in found[0].message and found[0].urn == pack.urn(REPLICATION, "rep")

    def test_destination_outside_the_stack_is_blocked(self, pack) -> None:
        found = self.replicate(pack, {"bucket": "arn:aws:s3:::somebody-elses"})
        assert len(found) == 1 and "not a bucket this stack creates" in found[0].message
        assert "unknown" in self.replicate(pack, {"bucket": UNKNOWN})[0].message

    def test_inline_replication_is_blocked(self, pack) -> None:
        legacy = {"bucket": "l", "replicationConfiguration": {"role": "r", "rules": []}}
        inline = pack.resource(BUCKET, "legacy", legacy)
        assert len(pack.analyze_stack([inline], policy=self.policy)) == 1


class TestClickHouseRegion:
    policy = "clickhouse-region-matches-stack"

    def test_same_region_passes(self, pack) -> None:
        assert pack.blocking(self.policy, SERVICE, {"cloudProvider": "aws", "region": "us-east-1"}) == []

    @pytest.mark.parametrize("props,text", [
        ({"cloudProvider": "aws", "region": "eu-west-1"}, "'eu-west-1'"),
        ({"cloudProvider": "aws", "region": UNKNOWN}, "unknown"),
        ({"cloudProvider": "gcp", "region": "us-east-1"}, "'gcp'"),
    ])
    def test_mismatch_is_blocked(self, pack, props: dict, text: str) -> None:
        found = pack.blocking(self.policy, SERVICE, props)
        assert len(found) == 1 and text in found[0]


class TestEveryRegionInput:
    policy = "resource-region-matches-stack"

    @pytest.mark.parametrize("token,props,where", [
        ("aws:dynamodb/table:Table", {"name": "t", "replicas": [{"regionName": "eu-west-1"}]},
         "replicas[0].regionName"),
        ("aws:ec2/amiCopy:AmiCopy", {"sourceAmiId": "ami-1", "sourceAmiRegion": "eu-west-1"}, "sourceAmiRegion"),
        ("aws:ecr/replicationConfiguration:ReplicationConfiguration", {"replicationConfiguration": {"rules": [
            {"destinations": [{"region": "ap-south-1", "registryId": "123456789012"}]}]}},
         "replicationConfiguration.rules[0].destinations[0].region"),
        ("aws:s3control/multiRegionAccessPoint:MultiRegionAccessPoint",
         {"details": {"name": "m", "regions": [{"bucket": "b", "region": "eu-west-1"}]}}, "details.regions[0].region"),
        ("pulumi:providers:aws", {"region": "us-east-1", "stsRegion": "eu-west-1"}, "stsRegion"),
    ])
    def test_nested_region_inputs_elsewhere_are_blocked(self, pack, token: str, props: dict, where: str) -> None:
        provider = {} if token.startswith("pulumi:providers:") else None
        found = pack.blocking(self.policy, token, props, provider=provider)
        assert len(found) == 1 and where in found[0]

    @pytest.mark.parametrize("token,props", [
        ("aws:ec2/subnet:Subnet", {"vpcId": "vpc-1", "availabilityZone": "eu-west-1a"}),
        ("aws:autoscaling/group:Group", {"availabilityZones": ["us-east-1a", "ap-south-1b"]}),
        ("aws:ec2/subnet:Subnet", {"vpcId": "vpc-1", "availabilityZone": "us-west-2-lax-1a"}),
    ])
    def test_availability_zones_of_another_region_are_blocked(self, pack, token: str, props: dict) -> None:
        found = pack.blocking(self.policy, token, props)
        assert len(found) == 1 and "availabilityZone" in found[0]

    def test_availability_zones_and_zone_ids_of_the_stack_region_pass(self, pack) -> None:
        props = {"vpcId": "vpc-1", "availabilityZone": "us-east-1a", "availabilityZoneId": "euw1-az1"}
        assert pack.blocking(self.policy, "aws:ec2/subnet:Subnet", props) == []

    def test_nested_region_inputs_in_the_stack_region_and_flags_pass(self, pack) -> None:
        props = {"name": "t", "replicas": [{"regionName": "us-east-1"}], "multiRegion": True}
        assert pack.blocking(self.policy, "aws:dynamodb/table:Table", props) == []
        assert "unknown" in pack.blocking(self.policy, "aws:ec2/amiCopy:AmiCopy", {"sourceAmiRegion": UNKNOWN})[0]


class TestRegionsNamedInStrings:
    policy = "arn-inputs-same-region"

    @pytest.mark.parametrize("props,text", [
        ({"endpoint": "https://sqs.eu-west-1.amazonaws.com/123456789012/q"}, "host name"),
        ({"records": ["dualstack.my-lb-123.eu-west-1.elb.amazonaws.com"]}, "host name"),
        ({"serviceName": "com.amazonaws.vpce.eu-west-1.vpce-svc-0abc"}, "service name"),
        ({"targetArn": "arn:aws-us-gov:sns:us-gov-west-1:123456789012:t"}, "sns ARN"),
    ])
    def test_other_regions_in_strings_are_blocked(self, pack, props: dict, text: str) -> None:
        found = pack.blocking(self.policy, "aws:route53/record:Record", props)
        assert len(found) == 1 and text in found[0]

    def test_provider_endpoints_are_judged(self, pack) -> None:
        props = {"region": "us-east-1", "endpoints": '[{"sts": "https://sts.eu-central-1.amazonaws.com"}]'}
        assert len(pack.blocking(self.policy, "pulumi:providers:aws", props, provider={})) == 1

    def test_same_region_names_pass(self, pack) -> None:
        props = {"records": ["vpce-1.vpce-svc-1.us-east-1.vpce.amazonaws.com"],
                 "note": "service ec2.us-east-1.amazonaws.com, host my-lb-123.example.com"}
        assert pack.blocking(self.policy, "aws:route53/record:Record", props) == []


def test_clickhouse_private_endpoint_registration_region(pack) -> None:
    token = "clickhouse:PrivateEndpoint/registration:Registration"
    base = {"cloudProvider": "aws", "privateEndpointId": "vpce-1"}
    assert pack.blocking("clickhouse-region-matches-stack", token, {**base, "region": "us-east-1"}) == []
    found = pack.blocking("clickhouse-region-matches-stack", token, {**base, "region": "eu-central-1"})
    assert len(found) == 1 and "eu-central-1" in found[0]
    assert pack.blocking("clickhouse-region-matches-stack", "clickhouse:ServicePrivateEndpoints/attachment:Attachment",
                         {"serviceId": "s", "privateEndpointIds": ["vpce-1"]}) == []
