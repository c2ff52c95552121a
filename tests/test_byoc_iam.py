"""BYOC IAM: node role, the cross-account management role (secret ExternalId trust) and the IRSA role of the pods."""

from __future__ import annotations

import json
import logging

import pytest

from scripts.engine import run_program
from tests.byoc_support import (
    EXTERNAL_ID_PLACEHOLDER, ISSUER, ISSUER_HOST, ByocMocks, children, custom, is_wire_secret, phase3,
    plaintext_strings, policy, run, statement, wire_dict,
)

IAM = "clickhouse-aws:byoc:Iam"
ROLE = "aws:iam/role:Role"
ACCOUNT = "123456789012"
CLICKHOUSE = "426924874929"


def role(result, name: str):
    (found,) = [r for r in children(result, IAM, ROLE) if r.name == name]
    return found


def management_statements(result) -> list[dict]:
    return [s for p in children(result, IAM, "aws:iam/policy:Policy") for s in policy(p)["Statement"]]


def actions_of(statements) -> list[str]:
    return [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]


def test_node_role_is_trusted_by_ec2_and_has_the_three_managed_policies():
    result = run()
    node = role(result, "byoc-iam-eks-node")
    assert node.inputs["name"] == "clickhouse-aws-prod-byoc-eks-node"
    (trust,) = policy(node, "assumeRolePolicy")["Statement"]
    assert trust["Principal"] == {"Service": "ec2.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    attached = sorted(a.inputs["policyArn"] for a in children(result, IAM, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                      if a.name.startswith("byoc-iam-eks-node-"))
    assert attached == [f"arn:aws:iam::aws:policy/{p}" for p in (
        "AmazonEC2ContainerRegistryReadOnly", "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy")]
    assert result.outputs["byoc"]["role_arns"]["eks_node"] == f"arn:aws:iam::{ACCOUNT}:role/clickhouse-aws-prod-byoc-eks-node"


def test_management_role_trusts_clickhouse_only_with_the_external_id():
    management = role(run(), "byoc-iam-management")
    assert management.inputs["name"] == "ClickHouseManagementRole"
    (trust,) = policy(management, "assumeRolePolicy")["Statement"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{CLICKHOUSE}:root"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"]["StringEquals"] == {"sts:ExternalId": EXTERNAL_ID_PLACEHOLDER}
    assert trust["Condition"]["StringLike"] == {
        "aws:PrincipalArn": f"arn:aws:iam::{CLICKHOUSE}:role/*-CrossplaneWorkloadRole"}


def test_management_role_name_is_config():
    result = custom()
    assert role(result, "byoc-iam-management").inputs["name"] == "AcmeClickHouseManagement"
    assert result.outputs["byoc"]["management_role_name"] == "AcmeClickHouseManagement"


def test_the_trust_policy_is_secret_on_the_wire_and_in_state():
    management = role(run(), "byoc-iam-management")
    assert is_wire_secret(wire_dict(management)["assumeRolePolicy"])
    assert management.additional_secret_outputs == ["assumeRolePolicy"]


@pytest.mark.parametrize("phase", ["phase1", "phase3"])
def test_the_external_id_appears_nowhere_in_plaintext(phase):
    result = run() if phase == "phase1" else phase3()
    for resource in result.resources:
        assert not [s for s in plaintext_strings(wire_dict(resource)) if EXTERNAL_ID_PLACEHOLDER in s], resource.name
    assert EXTERNAL_ID_PLACEHOLDER not in json.dumps(result.outputs)
    assert "byoc" not in result.secret_outputs  # the handoff renderer needs the object in the clear


def test_management_permissions_exclude_vpc_writes_and_admin_rights():
    statements = management_statements(run())
    allowed = actions_of(s for s in statements if s["Effect"] == "Allow")
    forbidden = ("ec2:CreateVpc", "ec2:DeleteVpc", "ec2:CreateSubnet", "ec2:DeleteSubnet", "ec2:CreateRoute",
                 "ec2:CreateRouteTable", "ec2:CreateNatGateway", "ec2:CreateInternetGateway",
                 "ec2:AttachInternetGateway", "ec2:AllocateAddress", "ec2:ModifyVpcAttribute", "ec2:CreateVpcEndpoint")
    assert not set(allowed) & set(forbidden)
    assert not any(a in ("*", "iam:*", "ec2:*", "kms:*", "s3:*") for a in allowed)
    assert not [a for a in allowed if a.startswith("kms:")]  # key use is granted by the key policies alone
    # Every write is scoped: unscoped resources only for read actions.
    for s in statements:
        if s["Effect"] == "Allow" and s["Resource"] == "*":
            assert all(a.split(":")[1].startswith(("Describe", "Get", "List")) for a in actions_of([s])), s["Sid"]


def test_management_role_cannot_change_this_stacks_roles_or_grant_admin():
    statements = management_statements(run())
    own = next(s for s in statements if s.get("Sid") == "NeverChangeThisStacksRoles")
    assert own["Effect"] == "Deny"
    assert set(own["Resource"]) == {f"arn:aws:iam::{ACCOUNT}:role/{n}" for n in (
        "ClickHouseManagementRole", "clickhouse-aws-prod-byoc-eks-node", "clickhouse-aws-prod-byoc-irsa")}
    assert {"iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:TagRole"} <= set(own["Action"])
    admin = next(s for s in statements if s.get("Sid") == "NeverAttachAdministratorPolicies")
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in admin["Condition"]["ArnEquals"]["iam:PolicyARN"]
    for name in ("byoc-iam-management", "byoc-iam-eks-node"):
        assert "clickhouse-byoc" not in role(run(), name).inputs["tags"]


def test_management_writes_are_tag_or_name_scoped_to_this_account_and_region():
    statements = management_statements(run())
    writes = [s for s in statements if s["Effect"] == "Allow" and s["Resource"] != "*"]
    for s in writes:
        resources = [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]
        for arn in resources:
            assert f":{ACCOUNT}:" in arn or arn == "arn:aws:ec2:us-east-1:*:*" or arn.startswith("arn:aws:s3:::"), arn
            assert ":us-west-" not in arn
    eks = next(s for s in statements if s.get("Sid") == "ManageClickHouseClusters")
    assert all(r.endswith("/clickhouse-cloud-*") for r in eks["Resource"])
    pass_nodes = next(s for s in statements if s.get("Sid") == "PassNodeRoles")
    assert f"arn:aws:iam::{ACCOUNT}:role/clickhouse-aws-prod-byoc-eks-node" in pass_nodes["Resource"]


def test_management_policies_fit_iams_size_limit():
    for managed in children(run(), IAM, "aws:iam/policy:Policy"):
        assert len(json.dumps(policy(managed), separators=(",", ":"))) <= 6144, managed.name


def test_no_irsa_role_until_the_issuer_is_known_and_the_user_is_told(caplog):
    caplog.set_level(logging.INFO)
    result = run_program("prod", mocks=ByocMocks())
    # Registration order varies from run to run; which roles exist does not.
    assert sorted(r.name for r in children(result, IAM, ROLE)) == ["byoc-iam-eks-node", "byoc-iam-management"]
    assert "irsa" not in result.outputs["byoc"]["role_arns"]
    assert any("clickhouse-aws:byocOidcIssuerUrl" in m and "IRSA" in m for m in caplog.messages)


def test_irsa_role_trusts_the_clusters_oidc_provider_for_one_service_account():
    result = phase3()
    irsa = role(result, "byoc-iam-irsa")
    assert irsa.inputs["name"] == "clickhouse-aws-prod-byoc-irsa"
    (trust,) = policy(irsa, "assumeRolePolicy")["Statement"]
    assert trust["Principal"] == {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER_HOST}"}
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {"StringEquals": {
        f"{ISSUER_HOST}:sub": "system:serviceaccount:clickhouse:clickhouse",
        f"{ISSUER_HOST}:aud": "sts.amazonaws.com",
    }}
    assert result.outputs["byoc"]["role_arns"]["irsa"] == f"arn:aws:iam::{ACCOUNT}:role/clickhouse-aws-prod-byoc-irsa"
    assert ISSUER.startswith("https://") and "https://" not in json.dumps(trust)


def test_irsa_namespace_and_service_account_are_config():
    result = custom()
    (trust,) = policy(role(result, "byoc-iam-irsa"), "assumeRolePolicy")["Statement"]
    assert trust["Condition"]["StringEquals"][f"{ISSUER_HOST}:sub"] == "system:serviceaccount:ch-prod:ch-server"


def test_irsa_may_use_only_backup_objects_and_the_clickhouse_log_groups():
    result = phase3()
    (inline,) = children(result, IAM, "aws:iam/rolePolicy:RolePolicy")
    document = policy(inline)
    backups = result.outputs["byoc"]["buckets"]["backups"]["arn"]
    assert statement(document, "ListBackups")["Resource"] == backups
    objects = statement(document, "ReadWriteBackups")
    assert objects["Resource"] == f"{backups}/*"
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"} <= set(objects["Action"])
    logs = statement(document, "WriteClickHouseLogs")
    assert logs["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    groups = {f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/clickhouse/{g}" for g in ("query-logs", "error-logs")}
    assert set(logs["Resource"]) == groups | {f"{g}:log-stream:*" for g in groups}
    assert len(document["Statement"]) == 3
