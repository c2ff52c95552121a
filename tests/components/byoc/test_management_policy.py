"""The management role's permissions: no VPC writes, nothing unscoped but reads, no way to this stack's roles or to
administrator rights, each area's policy within IAM's size limit."""

from __future__ import annotations

import json

import pytest

IAM = "clickhouse-aws:byoc:Iam"
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def policies(phase1, children, document) -> dict[str, dict]:
    """The managed policies attached to the management role, by name."""
    return {p.name: document(p) for p in children(phase1, IAM, "aws:iam/policy:Policy")}


@pytest.fixture(scope="module")
def statements(policies) -> list[dict]:
    return [s for document in policies.values() for s in document["Statement"]]


def actions_of(statements) -> list[str]:
    return [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]


def test_one_policy_per_area_attached_to_the_management_role(phase1, policies, children):
    assert sorted(policies) == [f"byoc-iam-management-{area}" for area in ("compute", "eks", "iam", "observe")]
    attached = [a for a in children(phase1, IAM, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.name.startswith("byoc-iam-management-")]
    assert sorted(a.name for a in attached) == sorted(policies)


def test_no_vpc_writes_and_no_admin_rights(statements):
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


def test_cannot_change_this_stacks_roles_or_grant_admin(phase1, statements, children):
    own = next(s for s in statements if s.get("Sid") == "NeverChangeThisStacksRoles")
    assert own["Effect"] == "Deny"
    assert set(own["Resource"]) == {f"arn:aws:iam::{ACCOUNT}:role/{n}" for n in (
        "ClickHouseManagementRole", "clickhouse-aws-byoc-byoc-eks-node", "clickhouse-aws-byoc-clickhouse-pods")}
    assert {"iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:TagRole"} <= set(own["Action"])
    admin = next(s for s in statements if s.get("Sid") == "NeverAttachAdministratorPolicies")
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in admin["Condition"]["ArnEquals"]["iam:PolicyARN"]
    for role in children(phase1, IAM, "aws:iam/role:Role"):
        assert "clickhouse-byoc" not in role.inputs["tags"], "ClickHouse may change any role carrying the tag"


def test_writes_are_tag_or_name_scoped_to_this_account_and_region(statements):
    writes = [s for s in statements if s["Effect"] == "Allow" and s["Resource"] != "*"]
    for s in writes:
        resources = [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]
        for arn in resources:
            assert f":{ACCOUNT}:" in arn or arn == "arn:aws:ec2:us-east-1:*:*" or arn.startswith("arn:aws:s3:::"), arn
            assert ":us-west-" not in arn
    eks = next(s for s in statements if s.get("Sid") == "ManageClickHouseClusters")
    assert all(r.endswith("/clickhouse-cloud-*") for r in eks["Resource"])
    pass_nodes = next(s for s in statements if s.get("Sid") == "PassNodeRoles")
    assert f"arn:aws:iam::{ACCOUNT}:role/clickhouse-aws-byoc-byoc-eks-node" in pass_nodes["Resource"]


def test_sids_are_unique_and_each_policy_fits_iams_size_limit(policies, statements):
    sids = [s["Sid"] for s in statements]
    assert len(sids) == len(set(sids))
    for name, document in policies.items():
        assert len(json.dumps(document, separators=(",", ":"))) <= 6144, name
