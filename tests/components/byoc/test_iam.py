"""BYOC IAM: the node role and the pods' IRSA role (ClickHouse's own bootstrap role is test_bootstrap's)."""

from __future__ import annotations

import json
import logging

import pytest


IAM = "clickhouse-aws:byoc:Iam"
ROLE = "aws:iam/role:Role"
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def role(child):
    return lambda result, name: child(result, IAM, ROLE, name)


def issuer_host(result) -> str:
    return result.config["clickhouse-aws:byocOidcIssuerUrl"].removeprefix("https://")


def test_node_role_is_trusted_by_ec2_and_has_the_three_managed_policies(phase1, role, children, document):
    node = role(phase1, "byoc-iam-eks-node")
    assert node.inputs["name"] == "clickhouse-aws-byoc-byoc-eks-node"
    (trust,) = document(node, "assumeRolePolicy")["Statement"]
    assert trust["Principal"] == {"Service": "ec2.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    attached = sorted(a.inputs["policyArn"] for a in children(phase1, IAM, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                      if a.name.startswith("byoc-iam-eks-node-"))
    assert attached == [f"arn:aws:iam::aws:policy/{p}" for p in (
        "AmazonEC2ContainerRegistryReadOnly", "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy")]
    assert phase1.outputs["byoc"]["role_arns"]["eks_node"] == f"arn:aws:iam::{ACCOUNT}:role/clickhouse-aws-byoc-byoc-eks-node"


def test_no_irsa_role_until_the_issuer_is_known_and_the_user_is_told(fresh_byoc_run, children, caplog):
    caplog.set_level(logging.INFO)
    result = fresh_byoc_run()
    # Registration order varies from run to run; which roles exist does not.
    assert sorted(r.name for r in children(result, IAM, ROLE)) == ["byoc-iam-eks-node"]
    assert "irsa" not in result.outputs["byoc"]["role_arns"]
    assert any("clickhouse-aws:byocOidcIssuerUrl" in m and "IRSA" in m for m in caplog.messages)


def test_irsa_role_trusts_the_clusters_oidc_provider_for_one_service_account(phase3, role, document):
    irsa = role(phase3, "byoc-iam-irsa")
    host = issuer_host(phase3)
    assert irsa.inputs["name"] == "clickhouse-aws-byoc-byoc-irsa"
    (trust,) = document(irsa, "assumeRolePolicy")["Statement"]
    assert trust["Principal"] == {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"}
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {"StringEquals": {
        f"{host}:sub": "system:serviceaccount:clickhouse:clickhouse",
        f"{host}:aud": "sts.amazonaws.com",
    }}
    assert phase3.outputs["byoc"]["role_arns"]["irsa"] == f"arn:aws:iam::{ACCOUNT}:role/clickhouse-aws-byoc-byoc-irsa"
    assert "https://" not in json.dumps(trust)


def test_irsa_namespace_and_service_account_are_config(custom, role, document):
    (trust,) = document(role(custom, "byoc-iam-irsa"), "assumeRolePolicy")["Statement"]
    assert trust["Condition"]["StringEquals"][f"{issuer_host(custom)}:sub"] == "system:serviceaccount:ch-prod:ch-server"


def test_irsa_may_use_only_backup_objects_and_the_clickhouse_log_groups(phase3, children, document, statement):
    (inline,) = children(phase3, IAM, "aws:iam/rolePolicy:RolePolicy")
    policy = document(inline)
    backups = phase3.outputs["byoc"]["buckets"]["backups"]["arn"]
    assert statement(policy, "ListBackups")["Resource"] == backups
    objects = statement(policy, "ReadWriteBackups")
    assert objects["Resource"] == f"{backups}/*"
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"} <= set(objects["Action"])
    logs = statement(policy, "WriteClickHouseLogs")
    assert logs["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    groups = {f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/clickhouse/{g}" for g in ("query-logs", "error-logs")}
    assert set(logs["Resource"]) == groups | {f"{g}:log-stream:*" for g in groups}
    assert len(policy["Statement"]) == 3
