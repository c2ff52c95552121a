"""What ClickHouse builds in a BYOC account (``scripts.audit.built``): a compliant account passes every check, each
other test breaks one thing and runs only the check that judges it; "nothing built" is not yet built until the outputs
say ClickHouse has built, then a finding."""

from __future__ import annotations

import json

from scripts.audit.aws import ReadOnlyAws
from scripts.audit.built import BUILT_CHECKS
from scripts.audit.checks import AuditContext, AuditOptions, run_checks
from scripts.audit.model import CheckResult, CheckStatus, parse_outputs
from tests.scripts.audit.account import (
    CLICKHOUSE_BUCKETS, CLUSTER, REGION, Built, allow_from_cidr, patch_response, reused_clients,
)


def judge(built: Built, check_id: str, options: AuditOptions = AuditOptions()) -> CheckResult:
    """Run one check of ``BUILT_CHECKS`` against the account."""
    [check] = [check for check in BUILT_CHECKS if check.check_id == check_id]
    aws = ReadOnlyAws(built._session or reused_clients(), REGION)
    [result] = run_checks(AuditContext(parse_outputs(built.outputs), aws, options), [check])
    return result


def failed(built: Built, check_id: str, *policies: str) -> list[str]:
    """The check fails with exactly ``policies``; returns the findings' messages."""
    result = judge(built, check_id)
    assert result.status is CheckStatus.FAIL
    assert {f.policy for f in result.findings} == set(policies), result.findings
    return [f"{f.resource_id}: {f.message}" for f in result.findings]


def not_yet_built(built: Built) -> None:
    """The outputs before ClickHouse reports: no service, no NLB record."""
    built.outputs["byoc"].pop("clickhouse_record_name")
    built.outputs.pop("service_id")


def test_the_compliant_account_passes_every_check(ch_built: Built) -> None:
    for check in BUILT_CHECKS:
        result = judge(ch_built, check.check_id)
        assert (result.status, result.findings) == (CheckStatus.PASS, ()), check.check_id


# --- EKS -----------------------------------------------------------------------------------------------------------


def _cluster(built: Built, name: str, **network: object) -> None:
    byoc = built.outputs["byoc"]
    built.client("eks").create_cluster(
        name=name, roleArn="arn:aws:iam::123456789012:role/eks",
        resourcesVpcConfig={"subnetIds": byoc["subnet_ids"], "endpointPrivateAccess": True, **network},
    )


def test_public_eks_endpoint_and_plain_secrets(ch_built: Built) -> None:
    _cluster(ch_built, "clickhouse-cloud-public", endpointPublicAccess=True, publicAccessCidrs=["0.0.0.0/0"])
    messages = failed(ch_built, "clickhouse-eks", "eks-no-public-endpoint", "audit-eks-secrets-encryption")
    assert any("clickhouse-cloud-public: the cluster's API endpoint is public (open to 0.0.0.0/0)" in m
               for m in messages)


def test_public_eks_endpoint_accepted_by_the_flag(ch_built: Built) -> None:
    _cluster(ch_built, "clickhouse-cloud-public", endpointPublicAccess=True)
    result = judge(ch_built, "clickhouse-eks", AuditOptions(allow_eks_public_endpoint=True))
    assert {f.policy for f in result.findings} == {"audit-eks-secrets-encryption"}


def test_eks_cluster_outside_the_private_subnets(ch_built: Built) -> None:
    ec2 = ch_built.client("ec2")
    public = ec2.create_subnet(VpcId=ch_built.outputs["byoc"]["vpc_id"], CidrBlock="10.42.200.0/24",
                               AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]

    def other_vpc(parsed: dict[str, object]) -> None:
        # moto leaves vpcId out of resourcesVpcConfig; AWS always reports it.
        parsed["cluster"]["resourcesVpcConfig"].update(vpcId="vpc-0fedcba9876543210", subnetIds=[public])

    patch_response(ch_built.session, "eks.DescribeCluster", other_vpc)
    messages = failed(ch_built, "clickhouse-eks", "audit-eks-private-subnets", "audit-eks-in-byoc-vpc")
    assert any(public in m for m in messages)


def test_clusters_not_named_by_clickhouse_are_not_judged(ch_built: Built) -> None:
    _cluster(ch_built, "team-analytics", endpointPublicAccess=True)
    assert judge(ch_built, "clickhouse-eks").status is CheckStatus.PASS


def test_no_cluster_is_not_yet_built_until_the_outputs_say_built(ch_built: Built) -> None:
    ch_built.client("eks").delete_cluster(name=CLUSTER)
    assert [f.policy for f in judge(ch_built, "clickhouse-eks").findings] == ["audit-resource-exists"]
    not_yet_built(ch_built)
    result = judge(ch_built, "clickhouse-eks")
    assert result.status is CheckStatus.NOT_BUILT and "not yet built" in (result.skip_reason or "")


# --- instances and volumes -------------------------------------------------------------------------------------


def _instance(built: Built, **options: object) -> str:
    return built.client("ec2").run_instances(
        ImageId="ami-0abcdef1234567890", MinCount=1, MaxCount=1, SubnetId=built.outputs["byoc"]["subnet_ids"][1],
        **options,
    )["Instances"][0]["InstanceId"]


def test_instance_with_public_ip_and_imdsv1(ch_built: Built) -> None:
    instance = _instance(ch_built, MetadataOptions={"HttpTokens": "optional"})

    def public(parsed: dict[str, object]) -> None:
        # moto gives no public address in a subnet without MapPublicIpOnLaunch, as AWS; an EIP or a launch option would.
        for reservation in parsed["Reservations"]:
            for found in reservation["Instances"]:
                if found["InstanceId"] == instance:
                    found["PublicIpAddress"] = "203.0.113.10"
                    found["NetworkInterfaces"][0]["Ipv6Addresses"] = [{"Ipv6Address": "2600:1f18::10"}]

    patch_response(ch_built.session, "ec2.DescribeInstances", public)
    messages = failed(ch_built, "clickhouse-instances", "no-public-ip-address", "audit-ec2-imdsv2-required")
    assert {m.split(":")[0] for m in messages} == {instance}
    assert any("203.0.113.10" in m for m in messages) and any("2600:1f18::10" in m for m in messages)
    assert any("HttpTokens optional" in m for m in messages)


def test_unencrypted_volume_attached_or_kept_for_the_cluster(ch_built: Built) -> None:
    ec2 = ch_built.client("ec2")
    instance = _instance(ch_built, MetadataOptions={"HttpTokens": "required"},
                         BlockDeviceMappings=[{"DeviceName": "/dev/xvda",
                                               "Ebs": {"VolumeSize": 8, "Encrypted": False}}])
    kept = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=10, Encrypted=False, TagSpecifications=[{
        "ResourceType": "volume", "Tags": [{"Key": f"kubernetes.io/cluster/{CLUSTER}", "Value": "owned"}]}])
    elsewhere = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=10, Encrypted=False)
    messages = failed(ch_built, "clickhouse-volumes", "audit-ebs-encrypted")
    ids = {m.split(":")[0] for m in messages}
    assert kept["VolumeId"] in ids and elsewhere["VolumeId"] not in ids and len(ids) == 2
    assert judge(ch_built, "clickhouse-instances").status is CheckStatus.PASS, instance


def test_no_instance_or_volume_is_not_yet_built(ch_built: Built) -> None:
    ec2 = ch_built.client("ec2")
    ids = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    ec2.terminate_instances(InstanceIds=ids)
    ch_built.client("eks").delete_cluster(name=CLUSTER)
    not_yet_built(ch_built)
    assert judge(ch_built, "clickhouse-instances").status is CheckStatus.NOT_BUILT
    assert judge(ch_built, "clickhouse-volumes").status is CheckStatus.NOT_BUILT


# --- load balancers --------------------------------------------------------------------------------------------


def test_internet_facing_load_balancer(ch_built: Built) -> None:
    ch_built.client("elbv2").create_load_balancer(
        Name="exposed", Subnets=ch_built.outputs["byoc"]["subnet_ids"], Scheme="internet-facing", Type="network")
    [message] = failed(ch_built, "clickhouse-load-balancers", "load-balancer-internal-only")
    assert "exposed is internet-facing" in message


def test_no_load_balancer_in_the_vpc(ch_built: Built) -> None:
    elbv2 = ch_built.client("elbv2")
    for lb in elbv2.describe_load_balancers()["LoadBalancers"]:
        elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    assert [f.policy for f in judge(ch_built, "clickhouse-load-balancers").findings] == ["audit-resource-exists"]
    not_yet_built(ch_built)
    assert judge(ch_built, "clickhouse-load-balancers").status is CheckStatus.NOT_BUILT


# --- buckets -----------------------------------------------------------------------------------------------------


def test_clickhouse_bucket_open_unencrypted_and_public(ch_built: Built) -> None:
    s3 = ch_built.client("s3")
    bucket = CLICKHOUSE_BUCKETS[0]
    s3.delete_public_access_block(Bucket=bucket)
    s3.delete_bucket_encryption(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
    }]}))
    messages = failed(ch_built, "clickhouse-buckets", "s3-bucket-public-access-block", "audit-s3-default-encryption",
                      "s3-bucket-policy-no-public-principal")
    assert {m.split(":")[0] for m in messages} == {bucket}


def test_other_buckets_are_not_clickhouses(ch_built: Built) -> None:
    ch_built.client("s3").create_bucket(Bucket="clickhouse.cloud-shared.example")  # not ClickHouse's naming
    assert judge(ch_built, "clickhouse-buckets").status is CheckStatus.PASS


# --- security groups -----------------------------------------------------------------------------------------------


def test_clickhouse_group_open_to_the_internet(ch_built: Built) -> None:
    ec2 = ch_built.client("ec2")
    [group] = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{CLUSTER}-nodes"]}])[
        "SecurityGroups"]
    allow_from_cidr(ec2, group["GroupId"], "::/0", 443)
    [message] = failed(ch_built, "clickhouse-security-groups", "security-group-no-public-ingress")
    assert message.startswith(f"{group['GroupId']}: security group {CLUSTER}-nodes admits tcp 443 from ::/0")


def test_only_the_default_group_is_not_yet_built_unless_it_is_open(ch_built: Built) -> None:
    ec2 = ch_built.client("ec2")
    [group] = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{CLUSTER}-nodes"]}])[
        "SecurityGroups"]
    ec2.terminate_instances(InstanceIds=[i["InstanceId"] for r in ec2.describe_instances()["Reservations"]
                                         for i in r["Instances"]])
    ec2.delete_security_group(GroupId=group["GroupId"])
    not_yet_built(ch_built)
    assert judge(ch_built, "clickhouse-security-groups").status is CheckStatus.NOT_BUILT
    [default] = ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [ch_built.outputs["byoc"]["vpc_id"]]},
        {"Name": "group-name", "Values": ["default"]},
    ])["SecurityGroups"]
    allow_from_cidr(ec2, default["GroupId"], "0.0.0.0/0", 22)
    [message] = failed(ch_built, "clickhouse-security-groups", "security-group-no-public-ingress")
    assert "default security group admits tcp 22 from 0.0.0.0/0" in message
