"""BYOC KMS keys: EBS, S3 and EKS secrets; rotation, alias, deletion window, and key policies naming only their users."""

from __future__ import annotations

import pytest

KEYS = "clickhouse-aws:byoc:Keys"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
ROOT = "arn:aws:iam::123456789012:root"
MANAGEMENT = "arn:aws:iam::123456789012:role/ClickHouseManagementRole"
POD_ROLE = "arn:aws:iam::123456789012:role/clickhouse-aws-byoc-clickhouse-pods"


@pytest.fixture(scope="module")
def key(child):
    return lambda result, label: child(result, KEYS, KEY, f"byoc-{label}")


def test_three_keys_with_rotation_alias_and_prod_window(phase1, children, key):
    keys = children(phase1, KEYS, KEY)
    assert sorted(k.name for k in keys) == ["byoc-ebs", "byoc-eks-secrets", "byoc-s3"]
    for k in keys:
        assert k.inputs["enableKeyRotation"] is True
        assert k.inputs["deletionWindowInDays"] == 30
        assert k.protect is True
    assert sorted(a.inputs["name"] for a in children(phase1, KEYS, ALIAS)) == [
        "alias/clickhouse-aws-byoc-byoc-ebs", "alias/clickhouse-aws-byoc-byoc-eks-secrets",
        "alias/clickhouse-aws-byoc-byoc-s3"]
    assert phase1.outputs["byoc"]["kms_key_arns"] == {
        label.replace("-", "_"): key(phase1, label).outputs["arn"] for label in ("ebs", "s3", "eks-secrets")}


def test_an_unprotected_stack_gets_the_short_window_and_no_protection(byoc_run, children):
    for k in children(byoc_run("byoc", {"clickhouse-aws:protect": False}), KEYS, KEY):
        assert k.inputs["deletionWindowInDays"] == 7
        assert k.protect is False


@pytest.mark.parametrize("phase", ["phase1", "phase3"])
@pytest.mark.parametrize("label", ["ebs", "s3", "eks-secrets"])
def test_root_administers_and_no_statement_has_a_wildcard_principal(request, key, document, statement, phase, label):
    policy = document(key(request.getfixturevalue(phase), label))
    admin = statement(policy, "AccountRootAdministers")
    assert admin["Principal"] == {"AWS": ROOT} and admin["Action"] == "kms:*"
    for s in policy["Statement"]:
        assert s["Principal"] != "*" and s["Principal"].get("AWS") != "*"


AUTOSCALING = ("arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/"
               "AWSServiceRoleForAutoScaling")


def test_ebs_key_lets_the_auto_scaling_service_linked_role_use_it_and_grant_it_to_volumes(phase1, key, document):
    statements = document(key(phase1, "ebs"))["Statement"]
    scaling = [s for s in statements if s["Principal"] == {"AWS": [AUTOSCALING]}]
    (use,) = [s for s in scaling if "kms:Encrypt" in s["Action"]]
    assert set(use["Action"]) == {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                                  "kms:DescribeKey"}
    (grant,) = [s for s in scaling if "kms:CreateGrant" in s["Action"]]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


# The name patterns of the roles ClickHouse's controllers create volumes and launch nodes with (ClickHouse's onboarding
# module, modules/aws/main.tf at 46318ae5, iam:PassRole statements).
VOLUME_ROLES = [f"arn:aws:iam::123456789012:role/*-{suffix}"
                for suffix in ("ebs-csi-driver", "karpenter-controller", "karpenter-node", "k8s-worker")]


def test_ebs_key_lets_clickhouses_volume_roles_use_it_through_ec2_by_principal_arn(phase1, key, document, statement):
    policy = document(key(phase1, "ebs"))
    use = statement(policy, "ClickHouseVolumeRolesUseKeyThroughEc2")
    assert use["Principal"] == {"AWS": [ROOT]}
    assert set(use["Action"]) == {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                                  "kms:DescribeKey"}
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"},
                                "ArnLike": {"aws:PrincipalArn": VOLUME_ROLES}}
    grant = statement(policy, "ClickHouseVolumeRolesGrantKeyToEc2")
    assert grant["Principal"] == {"AWS": [ROOT]} and "kms:CreateGrant" in grant["Action"]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"},
                                  "ArnLike": {"aws:PrincipalArn": VOLUME_ROLES}}


def test_ebs_key_is_used_by_the_management_role_through_ec2_only(phase1, key, document):
    users = [s for s in document(key(phase1, "ebs"))["Statement"]
             if s["Sid"] not in ("AccountRootAdministers", "ClickHouseVolumeRolesUseKeyThroughEc2",
                                 "ClickHouseVolumeRolesGrantKeyToEc2") and s["Principal"] != {"AWS": [AUTOSCALING]}]
    assert {tuple(s["Principal"]["AWS"]) for s in users} == {(MANAGEMENT,)}
    use = next(s for s in users if "kms:Encrypt" in s["Action"])
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}}
    grant = next(s for s in users if "kms:CreateGrant" in s["Action"])
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_eks_secrets_key_is_used_through_eks_only(phase1, key, document):
    use = next(s for s in document(key(phase1, "eks-secrets"))["Statement"] if "kms:Encrypt" in s["Action"])
    assert use["Principal"] == {"AWS": [MANAGEMENT]}
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": "eks.us-east-1.amazonaws.com"}}


def test_s3_key_names_the_irsa_role_only_once_it_exists(irsa_phase1, irsa_phase3, key, document):
    # KMS refuses a key policy naming a role that does not exist.
    assert [s["Sid"] for s in document(key(irsa_phase1, "s3"))["Statement"]] == ["AccountRootAdministers"]
    (use,) = [s for s in document(key(irsa_phase3, "s3"))["Statement"] if s["Sid"] != "AccountRootAdministers"]
    assert use["Principal"] == {"AWS": [POD_ROLE]}
    assert set(use["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"}
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}


def test_s3_key_names_the_pod_identity_role_from_the_start(phase1, key, document):
    (use,) = [s for s in document(key(phase1, "s3"))["Statement"] if s["Sid"] != "AccountRootAdministers"]
    assert use["Principal"] == {"AWS": [POD_ROLE]}
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}


@pytest.mark.parametrize("phase", ["phase1", "irsa_phase3"])
def test_key_policies_wait_for_the_roles_they_name(request, key, phase):
    result = request.getfixturevalue(phase)
    roles = {r.name: r.urn for r in result.of_type("aws:iam/role:Role")}
    # The policies name the roles by ARN strings (known at preview), so the order comes from explicit dependencies.
    assert roles["byoc-iam-pods"] in key(result, "s3").dependencies
    # ClickHouse's bootstrap role exists once its CloudFormation stack does.
    bootstrap = result.one("aws:cloudformation/stack:Stack").urn
    assert all(bootstrap in key(result, label).dependencies for label in ("ebs", "eks-secrets"))
