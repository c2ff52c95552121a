"""deploy_byoc: the ``byoc`` output contract, prod protection, dev without BYOC, and the policy gate over all of it."""

from __future__ import annotations

import pytest

from scripts.handoff import render_handoff
from scripts.preview import gate

CONTRACT = {
    "region", "account_id", "vpc_id", "vpc_cidr", "egress", "subnet_ids", "availability_zones", "route_table_ids",
    "s3_gateway_endpoint_id", "interface_endpoint_ids", "security_group_ids", "role_arns", "management_role_name",
    "bootstrap_mode", "bootstrap_stack_name", "pod_access", "kms_key_arns", "buckets", "log_group_names", "sns_topic_arn",
    "hosted_zone_id", "domain", "clickhouse_record_name",
}
# Present only after phase 3: the record needs the NLB.
LATER = {"clickhouse_record_name"}


def external_id(result) -> str:
    return result.config["clickhouse-aws:byocExternalId"]


def test_prod_exports_the_whole_contract_before_clickhouse_replies(phase1):
    byoc = phase1.outputs["byoc"]
    assert set(byoc) == CONTRACT - LATER
    assert set(byoc["interface_endpoint_ids"]) == {"ecr.api", "ecr.dkr", "ec2", "eks", "sts", "logs",
                                                   "elasticloadbalancing"}
    assert set(byoc["security_group_ids"]) == {"nodes", "pods", "nlb", "endpoints"}
    assert set(byoc["role_arns"]) == {"eks_node", "management", "pods"}
    assert set(byoc["kms_key_arns"]) == {"ebs", "s3", "eks_secrets"}
    assert {k: set(v) for k, v in byoc["buckets"].items()} == {"backups": {"name", "arn"}, "logs": {"name", "arn"}}
    assert set(byoc["log_group_names"]) == {"query", "error"}
    assert (byoc["region"], byoc["account_id"]) == ("us-east-1", "123456789012")
    assert len(byoc["subnet_ids"]) == len(byoc["availability_zones"]) == len(byoc["route_table_ids"]) == 3


@pytest.mark.parametrize("phase", ["phase3", "irsa_phase3"])
def test_prod_after_phase3_exports_the_pod_role_and_the_record(request, phase):
    byoc = request.getfixturevalue(phase).outputs["byoc"]
    assert set(byoc) == CONTRACT
    assert set(byoc["role_arns"]) == {"eks_node", "management", "pods"}


def test_irsa_before_phase3_exports_no_pod_role(irsa_phase1):
    assert set(irsa_phase1.outputs["byoc"]["role_arns"]) == {"eks_node", "management"}


def test_the_byoc_output_matches_the_stacks_network_and_is_never_secret(phase1):
    byoc = phase1.outputs["byoc"]
    assert byoc["vpc_id"] == phase1.outputs["vpc_id"] and byoc["subnet_ids"] == phase1.outputs["subnet_ids"]
    assert "byoc" not in phase1.secret_outputs
    assert not any("externalid" in key.lower().replace("_", "") for key in _keys(byoc))
    assert external_id(phase1) not in str(byoc)


def _keys(value) -> list[str]:
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in [k, *_keys(v)]]
    return []


def test_the_handoff_renders_from_the_output(phase1):
    document = render_handoff(phase1.outputs)
    byoc = phase1.outputs["byoc"]
    assert byoc["vpc_id"] in document and byoc["role_arns"]["management"] in document
    assert "missing from the outputs" not in document
    assert external_id(phase1) not in document


def test_prod_protects_every_byoc_key_and_bucket(phase1):
    stateful = [r for r in phase1.resources if r.type in ("aws:kms/key:Key", "aws:s3/bucket:Bucket")
                and r.name.startswith("byoc-")]
    assert len(stateful) == 4 + 2  # ebs, s3, eks secrets, alarms; backups, logs
    assert all(r.protect for r in stateful)


def test_dev_has_none_of_byoc(byoc_run):
    result = byoc_run("dev")
    assert result.error is None
    assert "byoc" not in result.outputs
    assert not [r for r in result.resources if r.type.startswith("clickhouse-aws:byoc:") or "byoc" in r.urn]
    (vpc,) = result.of_type("aws:ec2/vpc:Vpc")
    assert "clickhouse-byoc" not in vpc.inputs["tags"]
    assert all("kubernetes.io/role/internal-elb" not in s.inputs["tags"] for s in result.of_type("aws:ec2/subnet:Subnet"))


def test_every_byoc_resource_sits_under_a_byoc_component(phase1):
    components = {r.urn: r for r in phase1.resources if r.type.startswith("clickhouse-aws:byoc:")}
    assert {c.type for c in components.values()} == {f"clickhouse-aws:byoc:{n}" for n in (
        "Network", "SecurityGroups", "Bootstrap", "Iam", "Keys", "Storage", "Logging", "Dns")}
    assert {c.parent for c in components.values()} == {phase1.stack_urn}
    parents = {r.urn: r.parent for r in phase1.resources}
    for resource in phase1.resources:
        if resource.name.startswith("byoc-") and resource.urn not in components:
            ancestor = resource.parent
            while ancestor in parents and ancestor not in components:
                ancestor = parents[ancestor]
            assert ancestor in components, resource.urn


@pytest.mark.parametrize("phase", ["phase1", "phase3", "irsa_phase1", "irsa_phase3", "agreed_cluster"])
def test_prod_passes_the_policy_pack_with_no_mandatory_violation(gated, phase):
    result = gated(phase)
    assert result.error is None
    assert result.mandatory == [], [f"{v.policy}: {v.urn}: {v.message}" for v in result.mandatory]
    assert any(r.type.startswith("clickhouse-aws:byoc:") for r in result.run.resources)


def test_the_policy_pack_would_catch_a_byoc_regression(analyzer):
    """The gate really judges BYOC resources: an encryption-less log group is a mandatory violation."""
    def drop_kms(recorded):
        (query,) = [r for r in recorded.resources if r.name == "byoc-logging-query"]
        del query.wire.fields["kmsKeyId"]  # the pack judges the wire form, as the CLI sends it

    result = gate("byoc", {}, mutate=drop_kms, analyzer=analyzer)
    assert {v.urn for v in result.mandatory if v.policy == "cloudwatch-log-group-kms"} == {
        next(r.urn for r in result.run.resources if r.name == "byoc-logging-query")}
