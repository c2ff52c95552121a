"""One break per check: start from a compliant moto account (``account.py``), change exactly one thing, and assert
the audit reports exactly the expected policy names and exits 1.

Where moto does not model what a check reads, the test says so and edits that single response via a botocore event
hook (`patch_response`); the check itself is never skipped.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from scripts.audit import bootstrap as bootstrap_checks
from scripts.audit import built as built_checks
from scripts.audit import checks as audit_checks
from scripts.audit import observability as observability_checks
from scripts.audit import trail as trail_checks
from scripts.audit.checks import trust_findings
from scripts.audit.model import CheckStatus, Finding
from scripts.project import REPO
from tests.scripts.audit.account import (
    ACCOUNT,
    CLICKHOUSE_ACCOUNT,
    MANAGEMENT_TRUST,
    OIDC_ISSUER,
    REGION,
    Built,
    allow_from_cidr,
    allow_from_group,
    build_prod,
    clickhouse_endpoint,
    patch_response,
    point_apex,
    private_zone,
)

OTHER_REGION = "eu-west-1"

# The policy pack's stable policy names (project brief); live findings reuse them where a check matches.
PACK_POLICIES = frozenset({
    "clickhouse-no-public-access", "security-group-no-public-ingress", "no-internet-gateway", "no-nat-gateway",
    "no-elastic-ip", "no-public-ip-address", "subnet-no-public-ip-on-launch", "load-balancer-internal-only",
    "eks-no-public-endpoint",
    "no-publicly-accessible-databases", "s3-bucket-public-access-block", "s3-bucket-policy-no-public-principal",
    "route53-zone-private", "vpc-flow-logs-enabled", "resource-region-matches-stack", "vpc-endpoint-same-region",
    "route53-zone-vpc-same-region", "arn-inputs-same-region", "no-cross-region-peering", "s3-replication-same-region",
    "clickhouse-region-matches-stack", "kms-key-rotation-enabled", "kms-key-policy-no-public-principal",
    "s3-bucket-sse-kms", "s3-bucket-versioning", "s3-bucket-tls-only", "cloudwatch-log-group-kms",
    "cloudwatch-log-group-retention", "iam-trust-no-wildcard-principal", "iam-cross-account-requires-external-id",
    "iam-oidc-trust-requires-sub-aud", "iam-no-admin-policy", "secret-customer-kms-key", "no-plaintext-secrets",
    "sns-topic-kms", "amp-workspace-customer-kms-key", "ecs-task-no-plaintext-secrets",
    "cloudformation-template-allowed", "cloudformation-external-id-secret",
})


CHECK_MODULES = (audit_checks, observability_checks, bootstrap_checks, built_checks, trail_checks)


def finding_names_in_code() -> set[str]:
    """The policy name of every ``Finding(...)`` the checks module can build (literal or module constant)."""
    names = set()
    for module in CHECK_MODULES:
        for node in ast.walk(ast.parse(Path(module.__file__).read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Finding":
                first = node.args[0]
                assert isinstance(first, (ast.Constant, ast.Name)), f"line {node.lineno}: name the policy plainly"
                names.add(first.value if isinstance(first, ast.Constant) else getattr(module, first.id))
    return names


def test_finding_names_reuse_pack_names_or_say_audit_and_are_documented() -> None:
    names = finding_names_in_code()
    assert len(names) > 25
    assert {name for name in names if not name.startswith("audit-")} <= PACK_POLICIES
    documented = set(re.findall(r"`([a-z0-9-]+)`", (REPO / "docs" / "audit.md").read_text()))
    assert names <= documented, names - documented


def only(built: Built, *expected: str) -> list[Finding]:
    """Run the audit; it must fail with exactly the ``expected`` policy names. Returns the findings."""
    report = built.audit()
    findings = [finding for _, finding in report.findings]
    assert {f.policy for f in findings} == set(expected), findings
    assert report.exit_code == 1
    return findings


# --- outputs ------------------------------------------------------------------------------------------------------


def test_arn_in_another_region(prod: Built) -> None:
    topic = f"arn:aws:sns:{OTHER_REGION}:{ACCOUNT}:clickhouse-byoc-alarms"
    prod.outputs["byoc"]["sns_topic_arn"] = topic
    [finding] = only(prod, "resource-region-matches-stack")
    assert finding.resource_id == topic


# --- ClickHouse endpoint ------------------------------------------------------------------------------------------


def test_endpoint_missing(dev: Built) -> None:
    dev.outputs["vpc_endpoint_id"] = "vpce-0123456789abcdef0"
    findings = only(dev, "audit-resource-exists", "audit-route53-apex-alias")
    assert any("vpce-0123456789abcdef0 does not exist" in f.message for f in findings)


def test_endpoint_not_available(dev: Built) -> None:
    # moto creates every endpoint `available` and never moves it to pending/rejected/failed.
    def pending(parsed: dict[str, Any]) -> None:
        parsed["VpcEndpoints"][0]["State"] = "pendingAcceptance"

    patch_response(dev.session, "ec2.DescribeVpcEndpoints", pending)
    [finding] = only(dev, "audit-vpc-endpoint-available")
    assert "pendingAcceptance" in finding.message


def test_endpoint_to_another_regions_service(dev: Built) -> None:
    clickhouse_endpoint(dev, service_name=f"com.amazonaws.vpce.{OTHER_REGION}.vpce-svc-0a1b2c3d4e5f60718")
    [finding] = only(dev, "vpc-endpoint-same-region")
    assert finding.resource_id == dev.outputs["vpc_endpoint_id"] and OTHER_REGION in finding.message


def test_cross_region_endpoint_service_region(dev: Built) -> None:
    # moto does not model ServiceRegion (set by AWS on cross-region PrivateLink endpoints).
    def cross_region(parsed: dict[str, Any]) -> None:
        parsed["VpcEndpoints"][0]["ServiceRegion"] = OTHER_REGION

    patch_response(dev.session, "ec2.DescribeVpcEndpoints", cross_region)
    [finding] = only(dev, "vpc-endpoint-same-region")
    assert "cross-region" in finding.message


def test_endpoint_service_drift(dev: Built) -> None:
    dev.outputs["vpc_endpoint_service_name"] = f"com.amazonaws.vpce.{REGION}.vpce-svc-0ffffffffffffffff"
    only(dev, "audit-vpc-endpoint-service-name")


def test_endpoint_private_dns_on(dev: Built) -> None:
    clickhouse_endpoint(dev, private_dns=True)
    only(dev, "audit-vpc-endpoint-private-dns-off")


def test_extra_security_group_on_endpoint(dev: Built) -> None:
    ec2 = dev.client("ec2")
    extra = ec2.create_security_group(GroupName="extra", Description="extra", VpcId=dev.outputs["vpc_id"])["GroupId"]
    ec2.modify_vpc_endpoint(VpcEndpointId=dev.outputs["vpc_endpoint_id"], AddSecurityGroupIds=[extra])
    [finding] = only(dev, "audit-vpc-endpoint-security-groups")
    assert extra in finding.message


# --- security groups ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source, port, expected", [
    ("10.0.0.0/8", 8443, {"audit-endpoint-sg-client-only"}),
    ("client", 22, {"audit-endpoint-sg-client-only"}),
    ("0.0.0.0/0", 9440, {"audit-endpoint-sg-client-only", "security-group-no-public-ingress"}),
])
def test_endpoint_sg_admits_something_else(dev: Built, source: str, port: int, expected: set[str]) -> None:
    ec2, sg = dev.client("ec2"), dev.outputs["endpoint_security_group_id"]
    if source == "client":
        allow_from_group(ec2, sg, dev.outputs["client_security_group_id"], port)
    else:
        allow_from_cidr(ec2, sg, source, port)
    only(dev, *expected)


def test_endpoint_sg_may_admit_the_client_on_3306_for_the_mysql_interface(dev: Built) -> None:
    allow_from_group(dev.client("ec2"), dev.outputs["endpoint_security_group_id"], dev.outputs["client_security_group_id"],
                     3306)
    report = dev.audit()
    assert report.findings == [] and report.exit_code == 0


def test_endpoint_sg_no_longer_admits_the_client_on_9440(dev: Built) -> None:
    dev.client("ec2").revoke_security_group_ingress(
        GroupId=dev.outputs["endpoint_security_group_id"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 9440, "ToPort": 9440,
                        "UserIdGroupPairs": [{"GroupId": dev.outputs["client_security_group_id"]}]}],
    )
    [finding] = only(dev, "audit-endpoint-sg-client-only")
    assert "does not admit" in finding.message and "9440" in finding.message


@pytest.mark.parametrize("group, cidr", [("client", "0.0.0.0/0"), ("nodes", "::/0")])
def test_public_ingress(prod: Built, group: str, cidr: str) -> None:
    sg = prod.outputs["client_security_group_id"] if group == "client" else \
        prod.outputs["byoc"]["security_group_ids"][group]
    allow_from_cidr(prod.client("ec2"), sg, cidr, 443)
    [finding] = only(prod, "security-group-no-public-ingress")
    assert finding.resource_id == sg and cidr in finding.message


def test_byoc_security_group_missing(prod: Built) -> None:
    prod.outputs["byoc"]["security_group_ids"]["pods"] = "sg-0123456789abcdef0"
    [finding] = only(prod, "audit-resource-exists")
    assert finding.resource_id == "sg-0123456789abcdef0"


# --- private zones ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["clickhouse", "byoc"])
def test_public_zone(prod: Built, zone: str) -> None:
    r53 = prod.client("route53")
    name = prod.outputs["private_dns_hostname"] if zone == "clickhouse" else prod.outputs["byoc"]["domain"]
    public = r53.create_hosted_zone(Name=name, CallerReference=f"public-{zone}")["HostedZone"]["Id"].split("/")[-1]
    if zone == "clickhouse":
        endpoint = prod.client("ec2").describe_vpc_endpoints(
            VpcEndpointIds=[prod.outputs["vpc_endpoint_id"]])["VpcEndpoints"][0]
        point_apex(prod, endpoint, zone_id=public)
        prod.outputs["private_dns_zone_id"] = public
    else:
        prod.outputs["byoc"]["hosted_zone_id"] = public
    [finding] = only(prod, "route53-zone-private")
    assert finding.resource_id == public


def test_zone_associated_with_another_vpc(dev: Built) -> None:
    other = dev.client("ec2").create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    dev.client("route53").associate_vpc_with_hosted_zone(
        HostedZoneId=dev.outputs["private_dns_zone_id"], VPC={"VPCRegion": REGION, "VPCId": other}
    )
    [finding] = only(dev, "audit-route53-zone-vpc-association")
    assert other in finding.message


def test_zone_association_in_another_region(dev: Built) -> None:
    # moto does not check that an associated VPC really lives in the VPCRegion given.
    zone = private_zone(dev, dev.outputs["private_dns_hostname"], dev.outputs["vpc_id"], region=OTHER_REGION)
    endpoint = dev.client("ec2").describe_vpc_endpoints(VpcEndpointIds=[dev.outputs["vpc_endpoint_id"]])
    point_apex(dev, endpoint["VpcEndpoints"][0], zone_id=zone)
    dev.outputs["private_dns_zone_id"] = zone
    only(dev, "route53-zone-vpc-same-region")


def test_apex_alias_points_elsewhere(dev: Built) -> None:
    point_apex(dev, {"DnsEntries": [{"DnsName": "vpce-0aaaaaaaaaaaaaaaa-x.vpce-svc-0b.us-east-1.vpce.amazonaws.com",
                                     "HostedZoneId": "Z7HUB22UULQXV"}]})
    [finding] = only(dev, "audit-route53-apex-alias")
    assert "vpce-0aaaaaaaaaaaaaaaa" in finding.message


def test_apex_record_removed(dev: Built) -> None:
    r53, zone = dev.client("route53"), dev.outputs["private_dns_zone_id"]
    [record] = [r for r in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"] if r["Type"] == "A"]
    r53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": record}]}
    )
    [finding] = only(dev, "audit-route53-apex-alias")
    assert "no A record" in finding.message


def test_zone_missing(dev: Built) -> None:
    dev.outputs["private_dns_zone_id"] = "Z0123456789NOSUCHZONE"
    only(dev, "audit-resource-exists")


# --- password secret and KMS keys ---------------------------------------------------------------------------------


def test_secret_scheduled_for_deletion(dev: Built) -> None:
    dev.client("secretsmanager").delete_secret(
        SecretId=dev.outputs["clickhouse_password_secret_arn"], RecoveryWindowInDays=7
    )
    [finding] = only(dev, "audit-secret-scheduled-for-deletion")
    assert "restore-secret" in finding.message


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_secret_under_another_kms_key(stack: str, request: pytest.FixtureRequest) -> None:
    """prod: a different customer key than declared; dev: a customer key where the stack declares none."""
    built: Built = request.getfixturevalue(stack)
    kms = built.client("kms")
    other = kms.create_key(Description="not the stack's")["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=other)
    built.client("secretsmanager").update_secret(SecretId=built.outputs["clickhouse_password_secret_arn"],
                                                 KmsKeyId=other)
    [finding] = only(built, "secret-customer-kms-key")
    assert other in finding.message


def test_secret_missing(dev: Built) -> None:
    dev.outputs["clickhouse_password_secret_arn"] = \
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:clickhouse-aws/dev/gone-AbCdEf"
    only(dev, "audit-resource-exists")


@pytest.mark.parametrize("key", ["secret", "ebs"])
def test_key_without_rotation(prod: Built, key: str) -> None:
    byoc_keys = prod.outputs["byoc"]["kms_key_arns"]
    arn = prod.outputs["clickhouse_password_kms_key_id"] if key == "secret" else byoc_keys[key]
    prod.client("kms").disable_key_rotation(KeyId=arn)
    [finding] = only(prod, "kms-key-rotation-enabled")
    assert finding.resource_id == arn


def test_key_disabled(prod: Built) -> None:
    arn = prod.outputs["byoc"]["kms_key_arns"]["eks_secrets"]
    prod.client("kms").disable_key(KeyId=arn.rsplit("/", 1)[-1])  # moto accepts only the bare key ID here
    [finding] = only(prod, "audit-kms-key-enabled")
    assert "Disabled" in finding.message


# --- BYOC network -------------------------------------------------------------------------------------------------


def test_internet_gateway_in_byoc_vpc(prod: Built) -> None:
    ec2 = prod.client("ec2")
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=prod.outputs["byoc"]["vpc_id"])
    [finding] = only(prod, "no-internet-gateway")
    assert finding.resource_id == igw


def test_nat_gateway_in_byoc_vpc(prod: Built) -> None:
    ec2 = prod.client("ec2")
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=prod.outputs["byoc"]["subnet_ids"][0], AllocationId=allocation)
    [finding] = only(prod, "no-nat-gateway")
    assert finding.resource_id == nat["NatGateway"]["NatGatewayId"]


def test_byoc_vpc_missing(prod: Built) -> None:
    prod.outputs["byoc"]["vpc_id"] = "vpc-0123456789abcdef0"
    # Every endpoint is then also outside the declared VPC; the internet-path check must not pass vacuously.
    findings = only(prod, "audit-resource-exists", "audit-vpc-endpoint-vpc", "audit-route53-zone-vpc-association",
                    "vpc-flow-logs-enabled")
    assert any(f.resource_id == "vpc-0123456789abcdef0" for f in findings)


def test_byoc_interface_endpoint_deleted(prod: Built) -> None:
    endpoint = prod.outputs["byoc"]["interface_endpoint_ids"]["sts"]
    prod.client("ec2").delete_vpc_endpoints(VpcEndpointIds=[endpoint])
    [finding] = only(prod, "audit-vpc-endpoint-available")
    assert finding.resource_id == endpoint and "deleted" in finding.message


@pytest.mark.parametrize("services", [("ecr.api", "ecr.dkr", "sts"), ()], ids=["three", "none"])
def test_byoc_interface_endpoints_are_the_ones_the_stack_configured(mocked: None, services: tuple[str, ...]) -> None:
    # byocInterfaceEndpoints decides which endpoints exist; the outputs list exactly those, and so does the audit.
    built = build_prod(interface_services=services)
    assert set(built.outputs["byoc"]["interface_endpoint_ids"]) == set(services)
    report = built.audit()
    assert report.findings == []
    assert {c.check_id: c.status for c in report.checks}["byoc-endpoints"] is CheckStatus.PASS


def test_byoc_gateway_endpoint_missing(prod: Built) -> None:
    prod.outputs["byoc"]["s3_gateway_endpoint_id"] = "vpce-0123456789abcdef0"
    [finding] = only(prod, "audit-resource-exists")
    assert "s3 gateway endpoint" in finding.message


# --- flow logs -----------------------------------------------------------------------------------------------------


def test_vpc_without_an_active_flow_log(dev: Built) -> None:
    ec2 = dev.client("ec2")
    ec2.delete_flow_logs(FlowLogIds=[log["FlowLogId"] for log in ec2.describe_flow_logs()["FlowLogs"]])
    [finding] = only(dev, "vpc-flow-logs-enabled")
    assert finding.resource_id == dev.outputs["vpc_id"]


# --- BYOC buckets -------------------------------------------------------------------------------------------------


def bucket(built: Built, purpose: str) -> str:
    return built.outputs["byoc"]["buckets"][purpose]["name"]


def test_bucket_without_public_access_block(prod: Built) -> None:
    prod.client("s3").delete_public_access_block(Bucket=bucket(prod, "logs"))
    [finding] = only(prod, "s3-bucket-public-access-block")
    assert finding.resource_id == bucket(prod, "logs")


def test_bucket_with_partial_public_access_block(prod: Built) -> None:
    prod.client("s3").put_public_access_block(Bucket=bucket(prod, "backups"), PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": False})
    [finding] = only(prod, "s3-bucket-public-access-block")
    assert finding.message.endswith("lacks RestrictPublicBuckets")


@pytest.mark.parametrize("encryption", ["AES256", None])
def test_bucket_without_sse_kms(prod: Built, encryption: str | None) -> None:
    s3, name = prod.client("s3"), bucket(prod, "logs")
    if encryption:
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": encryption}}]})
    else:
        s3.delete_bucket_encryption(Bucket=name)
    [finding] = only(prod, "s3-bucket-sse-kms")
    assert (encryption or "not configured") in finding.message


def test_backups_versioning_suspended(prod: Built) -> None:
    prod.client("s3").put_bucket_versioning(Bucket=bucket(prod, "backups"),
                                            VersioningConfiguration={"Status": "Suspended"})
    only(prod, "s3-bucket-versioning")


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


DENY_PLAIN_HTTP = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["s3:*"], "Resource": "*",
                   "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}}


@pytest.mark.parametrize("policy", [
    None,
    _policy({**DENY_PLAIN_HTTP, "Action": "s3:GetObject"}),  # plain HTTP still allowed for everything else
    _policy({**DENY_PLAIN_HTTP, "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}),
    _policy({**DENY_PLAIN_HTTP, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}),
], ids=["no-policy", "one-action", "one-principal", "wrong-value"])
def test_bucket_policy_without_a_tls_only_deny(prod: Built, policy: str | None) -> None:
    s3, name = prod.client("s3"), bucket(prod, "logs")
    if policy is None:
        s3.delete_bucket_policy(Bucket=name)
    else:
        s3.put_bucket_policy(Bucket=name, Policy=policy)
    [finding] = only(prod, "s3-bucket-tls-only")
    assert finding.resource_id == name and "aws:SecureTransport" in finding.message


def test_bucket_policy_granting_everyone(prod: Built) -> None:
    name = bucket(prod, "backups")
    prod.client("s3").put_bucket_policy(Bucket=name, Policy=_policy(DENY_PLAIN_HTTP, {
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}))
    [finding] = only(prod, "s3-bucket-policy-no-public-principal")
    assert "allows s3:getobject to everyone" in finding.message


def test_bucket_missing(prod: Built) -> None:
    prod.outputs["byoc"]["buckets"]["backups"]["name"] = "clickhouse-byoc-backups-gone"
    only(prod, "audit-resource-exists")


# --- BYOC role trusts ---------------------------------------------------------------------------------------------


def set_trust(built: Built, role: str, *statements: dict[str, Any]) -> None:
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **s} for s in statements]}
    built.client("iam").update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(document))


def test_management_trust_without_external_id(prod: Built) -> None:
    set_trust(prod, "ClickHouseManagementRole", {k: v for k, v in MANAGEMENT_TRUST.items() if k != "Condition"})
    # Both checks see it: the trust of any other account (byoc-role-trust) and ClickHouse's exact trust (byoc-bootstrap).
    findings = only(prod, "iam-cross-account-requires-external-id", "audit-bootstrap-role-trust")
    assert all(CLICKHOUSE_ACCOUNT in finding.message for finding in findings)


def test_wildcard_principal(prod: Built) -> None:
    set_trust(prod, "ClickHouseManagementRole", {**MANAGEMENT_TRUST, "Principal": {"AWS": "*"}})
    only(prod, "iam-trust-no-wildcard-principal", "audit-bootstrap-role-trust")


def test_oidc_trust_without_sub(prod: Built) -> None:
    set_trust(prod, "byoc-irsa", {
        "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC_ISSUER}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{OIDC_ISSUER}:aud": "sts.amazonaws.com"}},
    })
    [finding] = only(prod, "iam-oidc-trust-requires-sub-aud")
    assert finding.message.endswith(f"{OIDC_ISSUER}:sub")


def test_management_role_missing(prod: Built) -> None:
    prod.client("iam").delete_role(RoleName="ClickHouseManagementRole")
    # Reported once, by the bootstrap check (for an existing role, its whole point); the trust check has no trust to
    # judge.
    [finding] = only(prod, "audit-resource-exists")
    assert finding.resource_id == "ClickHouseManagementRole"


EXTERNAL_ID = {"StringEquals": {"sts:ExternalId": "x"}}


@pytest.mark.parametrize("statements, expected", [
    ([{"Principal": {"AWS": ACCOUNT}}], set()),
    ([{"Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/x"}}], set()),
    ([{"Principal": {"Service": "ec2.amazonaws.com"}}], set()),
    ([{"Principal": {"AWS": [ACCOUNT, CLICKHOUSE_ACCOUNT]}, "Condition": {"StringLike": {"STS:EXTERNALID": "x"}}}],
     set()),
    ([{"Principal": {"AWS": [ACCOUNT, CLICKHOUSE_ACCOUNT]}}], {"iam-cross-account-requires-external-id"}),
    # Every statement that trusts another account needs its own condition.
    ([{"Principal": {"AWS": CLICKHOUSE_ACCOUNT}, "Condition": EXTERNAL_ID}, {"Principal": {"AWS": "210987654321"}}],
     {"iam-cross-account-requires-external-id"}),
    ([{"Principal": "*"}], {"iam-trust-no-wildcard-principal"}),
    ([{"Effect": "Deny", "Principal": "*"}], set()),
])
def test_trust_rules(statements: list[dict[str, Any]], expected: set[str]) -> None:
    document = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", **s} for s in statements]}
    assert {f.policy for f in trust_findings("role", document, ACCOUNT)} == expected


def test_trust_rules_accept_a_single_statement_object() -> None:
    document = {"Statement": {"Effect": "Allow", "Principal": {"AWS": CLICKHOUSE_ACCOUNT}, "Action": "sts:AssumeRole"}}
    [finding] = trust_findings("role", document, ACCOUNT)
    assert finding.policy == "iam-cross-account-requires-external-id"


# --- BYOC log groups ----------------------------------------------------------------------------------------------


def test_log_group_without_kms(prod: Built) -> None:
    # moto has no DisassociateKmsKey; recreating the group without a key is the same end state.
    logs, name = prod.client("logs"), prod.outputs["byoc"]["log_group_names"]["query"]
    logs.delete_log_group(logGroupName=name)
    logs.create_log_group(logGroupName=name)
    logs.put_retention_policy(logGroupName=name, retentionInDays=30)
    [finding] = only(prod, "cloudwatch-log-group-kms")
    assert finding.resource_id == name


def test_log_group_without_retention(prod: Built) -> None:
    name = prod.outputs["byoc"]["log_group_names"]["eks_cluster"]
    prod.client("logs").delete_retention_policy(logGroupName=name)
    [finding] = only(prod, "cloudwatch-log-group-retention")
    assert finding.resource_id == name


def test_log_group_missing(prod: Built) -> None:
    prod.outputs["byoc"]["log_group_names"]["error"] = "/aws/clickhouse/error-logs-gone"
    # A group whose name merely starts with the wanted one must not count.
    prod.client("logs").create_log_group(logGroupName="/aws/clickhouse/error-logs-gone-too")
    only(prod, "audit-resource-exists")


@pytest.mark.parametrize("egress", ["nat", "transit-gateway"])
def test_byoc_gateways_are_expected_when_egress_is_declared(prod: Built, egress: str) -> None:
    prod.outputs["byoc"]["egress"] = egress
    [result] = [c for c in prod.audit().checks if c.check_id == "byoc-internet-path"]
    assert result.status is CheckStatus.SKIP and f"egress is {egress}" in result.skip_reason
