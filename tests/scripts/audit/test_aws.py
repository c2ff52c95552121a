"""The audit's read-only guard and the IAM policy document it ships (``scripts.audit.aws``)."""

from __future__ import annotations

import json

import pytest

from scripts.audit.aws import ReadOnlyAws, ReadOnlyViolation, iam_action, is_read_only
from scripts.project import REPO
from tests.scripts.audit.account import REGION, Built, CleanRun

POLICY_DOC = REPO / "docs" / "audit-iam-policy.json"


def test_iam_policy_document_lists_exactly_the_actions_the_audit_calls(clean: dict[str, CleanRun]) -> None:
    called = {iam_action(service, operation) for run in clean.values() for service, operation in run.operations}
    document = json.loads(POLICY_DOC.read_text())
    assert document["Version"] == "2012-10-17"
    statements = document["Statement"]
    assert all(s["Effect"] == "Allow" and s["Resource"] == "*" for s in statements)
    listed = [action for s in statements for action in s["Action"]]
    assert len(listed) == len(set(listed)), "no duplicates"
    assert set(listed) == called
    assert all("*" not in action for action in listed)


def test_iam_action_names_follow_the_service_authorization_reference() -> None:
    assert iam_action("s3", "GetPublicAccessBlock") == "s3:GetBucketPublicAccessBlock"
    assert iam_action("s3", "GetBucketEncryption") == "s3:GetEncryptionConfiguration"
    assert iam_action("s3", "GetBucketVersioning") == "s3:GetBucketVersioning"
    assert iam_action("logs", "DescribeLogGroups") == "logs:DescribeLogGroups"
    # CloudWatch signs as "monitoring"; Managed Prometheus signs as its IAM prefix "aps".
    assert iam_action("monitoring", "DescribeAlarms") == "cloudwatch:DescribeAlarms"
    assert iam_action("aps", "DescribeWorkspace") == "aps:DescribeWorkspace"


@pytest.mark.parametrize("operation, allowed", [
    ("DescribeVpcEndpoints", True), ("GetKeyRotationStatus", True), ("ListResourceRecordSets", True),
    ("HeadBucket", True), ("GetSecretValue", False), ("CreateVpc", False), ("PutBucketVersioning", False),
    ("DeleteSecret", False), ("UpdateAssumeRolePolicy", False), ("AuthorizeSecurityGroupIngress", False),
    ("BatchGetSecretValue", False), ("RestoreSecret", False),
])
def test_is_read_only(operation: str, allowed: bool) -> None:
    assert is_read_only(operation) is allowed


def test_guarded_clients_refuse_writes_before_they_reach_aws(dev: Built) -> None:
    aws = ReadOnlyAws(dev.session, REGION)
    ec2 = aws.client("ec2")
    before = len(ec2.describe_vpcs()["Vpcs"])
    with pytest.raises(ReadOnlyViolation, match="refused to call ec2:CreateVpc"):
        ec2.create_vpc(CidrBlock="10.99.0.0/16")
    assert len(ec2.describe_vpcs()["Vpcs"]) == before
    with pytest.raises(ReadOnlyViolation, match="refused to call secretsmanager:GetSecretValue"):
        aws.client("secretsmanager").get_secret_value(SecretId=dev.outputs["clickhouse_password_secret_arn"])
    with pytest.raises(ReadOnlyViolation):
        aws.call("secretsmanager", "delete_secret", SecretId=dev.outputs["clickhouse_password_secret_arn"])
    assert "DeletedDate" not in dev.client("secretsmanager").describe_secret(
        SecretId=dev.outputs["clickhouse_password_secret_arn"])
