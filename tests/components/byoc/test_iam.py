"""BYOC IAM: the node role and the pods' role, by Pod Identity or IRSA (ClickHouse's own bootstrap role is
test_bootstrap's)."""

from __future__ import annotations

import fnmatch
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


POD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/clickhouse-aws-byoc-clickhouse-pods"


@pytest.mark.parametrize("phase", ["phase1", "phase3"])
def test_pod_identity_role_exists_from_the_start_and_trusts_eks_pod_identity_exactly(request, role, document, phase):
    result = request.getfixturevalue(phase)
    pods = role(result, "byoc-iam-pods")
    assert pods.inputs["name"] == "clickhouse-aws-byoc-clickhouse-pods"
    assert document(pods, "assumeRolePolicy") == {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }]}
    assert result.outputs["byoc"]["role_arns"]["pods"] == POD_ROLE
    assert result.outputs["byoc"]["pod_access"] == "pod-identity"


def test_the_pod_role_name_is_one_clickhouse_may_pass_to_pod_identity(phase1, role):
    # ClickHouse's management role may pass roles named *-clickhouse-* to pods.eks.amazonaws.com (onboarding module).
    assert fnmatch.fnmatchcase(role(phase1, "byoc-iam-pods").inputs["name"], "*-clickhouse-*")


def test_pod_identity_trust_names_the_agreed_cluster(byoc_run, role, document):
    result = byoc_run("byoc", {"clickhouse-aws:byocEksClusterName": "clickhouse-cloud-acme"})
    (trust,) = document(role(result, "byoc-iam-pods"), "assumeRolePolicy")["Statement"]
    assert trust["Condition"] == {"StringEquals": {
        "aws:RequestTag/eks-cluster-arn": f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/clickhouse-cloud-acme"}}


def test_no_irsa_role_until_the_issuer_is_known_and_the_user_is_told(fresh_byoc_run, children, caplog):
    caplog.set_level(logging.INFO)
    result = fresh_byoc_run("byoc", {"clickhouse-aws:byocPodAccess": "irsa"})
    # Registration order varies from run to run; which roles exist does not.
    assert sorted(r.name for r in children(result, IAM, ROLE)) == ["byoc-iam-eks-node"]
    assert "pods" not in result.outputs["byoc"]["role_arns"]
    assert result.outputs["byoc"]["pod_access"] == "irsa"
    assert any("clickhouse-aws:byocOidcIssuerUrl" in m and "IRSA" in m for m in caplog.messages)


def test_irsa_role_trusts_the_clusters_oidc_provider_for_one_service_account(irsa_phase3, role, document):
    pods = role(irsa_phase3, "byoc-iam-pods")
    host = issuer_host(irsa_phase3)
    assert pods.inputs["name"] == "clickhouse-aws-byoc-clickhouse-pods"
    assert document(pods, "assumeRolePolicy") == {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            f"{host}:sub": "system:serviceaccount:clickhouse:clickhouse",
            f"{host}:aud": "sts.amazonaws.com",
        }},
    }]}
    assert irsa_phase3.outputs["byoc"]["role_arns"]["pods"] == POD_ROLE
    assert "https://" not in json.dumps(document(pods, "assumeRolePolicy"))


def test_irsa_namespace_and_service_account_are_config(custom, role, document):
    (trust,) = document(role(custom, "byoc-iam-pods"), "assumeRolePolicy")["Statement"]
    assert trust["Condition"]["StringEquals"][f"{issuer_host(custom)}:sub"] == "system:serviceaccount:ch-prod:ch-server"


@pytest.mark.parametrize("phase", ["phase1", "irsa_phase3"])
def test_pod_role_keeps_the_urns_of_the_irsa_role(request, role, phase):
    result = request.getfixturevalue(phase)
    (policy,) = [r for r in result.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "byoc-iam-pods"]
    for resource in (role(result, "byoc-iam-pods"), policy):
        assert resource.aliases == [resource.urn.removesuffix("::byoc-iam-pods") + "::byoc-iam-irsa"]


@pytest.mark.parametrize("phase", ["phase1", "irsa_phase3"])
def test_pod_role_may_use_only_backup_objects_and_the_clickhouse_log_groups(request, children, document, statement,
                                                                           phase):
    result = request.getfixturevalue(phase)
    (inline,) = children(result, IAM, "aws:iam/rolePolicy:RolePolicy")
    policy = document(inline)
    backups = result.outputs["byoc"]["buckets"]["backups"]["arn"]
    assert statement(policy, "ListBackups")["Resource"] == backups
    objects = statement(policy, "ReadWriteBackups")
    assert objects["Resource"] == f"{backups}/*"
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"} <= set(objects["Action"])
    logs = statement(policy, "WriteClickHouseLogs")
    assert logs["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    groups = {f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/clickhouse/{g}" for g in ("query-logs", "error-logs")}
    assert set(logs["Resource"]) == groups | {f"{g}:log-stream:*" for g in groups}
    assert len(policy["Statement"]) == 3
