"""BYOC KMS keys: EBS, S3 and EKS secrets; rotation, alias, deletion window, and key policies naming only their users."""

from __future__ import annotations

import json

import pytest

from tests.byoc_support import NS, children, phase3, run

KEYS = "clickhouse-aws:byoc:Keys"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
ROOT = "arn:aws:iam::123456789012:root"
MANAGEMENT = "arn:aws:iam::123456789012:role/ClickHouseManagementRole"
IRSA = "arn:aws:iam::123456789012:role/clickhouse-aws-prod-byoc-irsa"


def key_policy(result, label: str) -> dict:
    return json.loads(next(k for k in children(result, KEYS, KEY) if k.name == f"byoc-{label}").inputs["policy"])


def principals(document: dict) -> list:
    return [s["Principal"] for s in document["Statement"]]


def test_three_keys_with_rotation_alias_and_prod_window():
    result = run()
    keys = children(result, KEYS, KEY)
    assert sorted(k.name for k in keys) == ["byoc-ebs", "byoc-eks-secrets", "byoc-s3"]
    for key in keys:
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == 30
        assert key.protect is True
    assert sorted(a.inputs["name"] for a in children(result, KEYS, ALIAS)) == [
        "alias/clickhouse-aws-prod-byoc-ebs", "alias/clickhouse-aws-prod-byoc-eks-secrets",
        "alias/clickhouse-aws-prod-byoc-s3"]
    arns = result.outputs["byoc"]["kms_key_arns"]
    assert set(arns) == {"ebs", "s3", "eks_secrets"} and all(":kms:us-east-1:" in a for a in arns.values())


def test_an_unprotected_stack_gets_the_short_window_and_no_protection():
    result = run("prod", {f"{NS}:protect": False})
    for key in children(result, KEYS, KEY):
        assert key.inputs["deletionWindowInDays"] == 7
        assert key.protect is False


@pytest.mark.parametrize("label", ["ebs", "s3", "eks-secrets"])
def test_root_administers_and_no_statement_has_a_wildcard_principal(label):
    for result in (run(), phase3()):
        document = key_policy(result, label)
        admin = next(s for s in document["Statement"] if s["Sid"] == "AccountRootAdministers")
        assert admin["Principal"] == {"AWS": ROOT} and admin["Action"] == "kms:*"
        for principal in principals(document):
            assert principal != "*" and principal.get("AWS") != "*"


def test_ebs_key_is_used_by_the_management_role_through_ec2_only():
    document = key_policy(run(), "ebs")
    users = [s for s in document["Statement"] if s["Sid"] != "AccountRootAdministers"]
    assert {tuple(s["Principal"]["AWS"]) for s in users} == {(MANAGEMENT,)}
    use = next(s for s in users if "kms:Encrypt" in s["Action"])
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}}
    grant = next(s for s in users if "kms:CreateGrant" in s["Action"])
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_eks_secrets_key_is_used_through_eks_only():
    document = key_policy(run(), "eks-secrets")
    use = next(s for s in document["Statement"] if "kms:Encrypt" in s["Action"])
    assert use["Principal"] == {"AWS": [MANAGEMENT]}
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": "eks.us-east-1.amazonaws.com"}}


def test_s3_key_names_the_irsa_role_only_once_it_exists():
    before = key_policy(run(), "s3")
    assert [s["Sid"] for s in before["Statement"]] == ["AccountRootAdministers"]
    after = key_policy(phase3(), "s3")
    (use,) = [s for s in after["Statement"] if s["Sid"] != "AccountRootAdministers"]
    assert use["Principal"] == {"AWS": [IRSA]}
    assert set(use["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"}
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}


def test_key_policies_wait_for_the_roles_they_name():
    result = phase3()
    s3_key = next(k for k in children(result, KEYS, KEY) if k.name == "byoc-s3")
    ebs_key = next(k for k in children(result, KEYS, KEY) if k.name == "byoc-ebs")
    roles = {r.name: r.urn for r in result.of_type("aws:iam/role:Role")}
    # The policies name the roles by ARN strings (known at preview), so the order comes from explicit dependencies.
    assert roles["byoc-iam-irsa"] in s3_key.dependencies
    assert roles["byoc-iam-management"] in ebs_key.dependencies
