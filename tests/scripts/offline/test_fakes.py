"""The fake providers' answers: plain data any double can serve, stable across runs and processes."""

from __future__ import annotations

import subprocess
import sys

from scripts.offline import fakes
from scripts.offline.engine import REPO

REGION = "eu-central-1"


def test_the_module_imports_without_pulumi() -> None:
    # Provider doubles served over gRPC reuse these answers without the Pulumi SDK's runtime.
    probe = ("import sys; import scripts.offline.fakes; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'grpc', 'google')))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_ids_are_stable_well_formed_and_distinct_per_seed() -> None:
    first = fakes.fake_id("vpc", "aws:ec2/vpc:Vpc/network-vpc")
    assert first == fakes.fake_id("vpc", "aws:ec2/vpc:Vpc/network-vpc")
    assert first.startswith("vpc-") and len(first) == len("vpc-") + 17
    assert int(first.removeprefix("vpc-"), 16) >= 0
    assert first != fakes.fake_id("vpc", "aws:ec2/vpc:Vpc/other-vpc")
    assert len(fakes.fake_id("pl", "seed", 8)) == len("pl-") + 8


def test_outputs_are_the_providers_computed_values_not_the_inputs() -> None:
    inputs = {"cidrBlock": "10.0.0.0/16", "tags": {"Name": "x"}}
    resource_id, outputs = fakes.resource_outputs("aws:ec2/vpc:Vpc", "network-vpc", inputs, REGION)
    assert resource_id == fakes.fake_id("vpc", "aws:ec2/vpc:Vpc/network-vpc")
    assert outputs["arn"] == f"arn:aws:ec2:{REGION}:{fakes.ACCOUNT_ID}:vpc/{resource_id}"
    assert outputs["defaultSecurityGroupId"].startswith("sg-")
    assert not set(inputs) & set(outputs)


def test_gateway_and_interface_endpoints_answer_differently() -> None:
    _, gateway = fakes.resource_outputs("aws:ec2/vpcEndpoint:VpcEndpoint", "s3",
                                        {"vpcEndpointType": "Gateway", "serviceName": "com.amazonaws.x.s3"}, REGION)
    _, interface = fakes.resource_outputs("aws:ec2/vpcEndpoint:VpcEndpoint", "ch",
                                          {"vpcEndpointType": "Interface"}, REGION)
    assert gateway["prefixListId"].startswith("pl-") and gateway["dnsEntries"] == []
    assert "prefixListId" not in interface
    assert all(f".vpce-svc.{REGION}.vpce.amazonaws.com" in e["dnsName"] for e in interface["dnsEntries"])


def test_clickhouse_service_lives_in_its_own_region() -> None:
    service_id, outputs = fakes.resource_outputs("clickhouse:index/service:Service", "clickhouse",
                                                 {"region": "us-west-2"}, REGION)
    config = outputs["privateEndpointConfig"]
    assert config["endpointServiceId"].startswith("com.amazonaws.vpce.us-west-2.vpce-svc-")
    assert config["privateDnsHostname"] == f"{service_id[:8]}.us-west-2.vpce.aws.clickhouse.cloud"


def test_physical_names_come_from_inputs_and_families_share_an_answer() -> None:
    _, role = fakes.resource_outputs("aws:iam/role:Role", "node", {"name": "eks-node"}, REGION)
    assert role["arn"] == f"arn:aws:iam::{fakes.ACCOUNT_ID}:role/eks-node"
    _, versioning = fakes.resource_outputs("aws:s3/bucketVersioning:BucketVersioning", "b", {"bucket": "logs"}, REGION)
    assert versioning == {"arn": "arn:aws:s3:::logs", "bucket": "logs"}
    _, topic = fakes.resource_outputs("aws:sns/topic:Topic", "alarms", {}, REGION)
    assert topic == {"arn": f"arn:aws:sns:{REGION}:{fakes.ACCOUNT_ID}:alarms"}
    assert fakes.resource_outputs("tls:index/privateKey:PrivateKey", "k", {}, REGION) == (None, {})


def test_types_without_an_id_of_their_own_get_the_default() -> None:
    resource_id, _ = fakes.resource_outputs("aws:sqs/queue:Queue", "jobs", {}, REGION)
    assert resource_id is None
    assert fakes.default_id("aws:sqs/queue:Queue", "jobs") == fakes.fake_id("queue", "aws:sqs/queue:Queue/jobs")


def test_invokes_answer_for_the_region_and_the_adopted_vpc() -> None:
    assert fakes.invoke("aws:index/getRegion:getRegion", {}, REGION)["name"] == REGION
    assert fakes.invoke("aws:index/getCallerIdentity:getCallerIdentity", {}, REGION)["accountId"] == fakes.ACCOUNT_ID
    zones = fakes.invoke("aws:index/getAvailabilityZones:getAvailabilityZones", {"state": "available"}, REGION)
    assert zones["names"][:3] == [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
    subnet = fakes.invoke("aws:ec2/getSubnet:getSubnet", {"id": "subnet-1"}, REGION, adopted_vpc_id="vpc-9")
    assert subnet["vpcId"] == "vpc-9" and subnet["availabilityZone"][:-1] == REGION
    tables = fakes.invoke("aws:ec2/getRouteTables:getRouteTables",
                          {"filters": [{"name": "association.subnet-id", "values": ["subnet-1", "subnet-2"]}]}, REGION)
    assert tables["ids"] == [fakes.fake_id("rtb", "subnet-1"), fakes.fake_id("rtb", "subnet-2")]
    assert fakes.invoke("aws:index/getNothing:getNothing", {}, REGION) == {}


def test_answers_are_fresh_dicts_a_caller_may_change() -> None:
    first = fakes.invoke("aws:index/getAvailabilityZones:getAvailabilityZones", {}, REGION)
    first["names"].pop()
    assert len(fakes.invoke("aws:index/getAvailabilityZones:getAvailabilityZones", {}, REGION)["names"]) == 6
