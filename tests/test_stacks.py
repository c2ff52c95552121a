"""The repo's real stack files: the resources they declare, what they protect, what they export."""

from __future__ import annotations

from collections import Counter

import pytest

import stack_outputs
from scripts.offline.engine import run_program
from scripts.project import stack_names
from tests.helpers import generated_password

PRIVATELINK_TYPES = {
    "aws:ec2/vpc:Vpc": 1,
    "aws:ec2/flowLog:FlowLog": 1,
    "aws:ec2/vpcEndpoint:VpcEndpoint": 1,
    "aws:route53/zone:Zone": 1,
    "aws:route53/record:Record": 1,
    "aws:ec2/securityGroup:SecurityGroup": 2,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 2,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": 2,
    "aws:secretsmanager/secret:Secret": 1,
    "aws:secretsmanager/secretVersion:SecretVersion": 1,
    "random:index/randomPassword:RandomPassword": 1,
    "clickhouse:index/service:Service": 1,
    "clickhouse:ServicePrivateEndpoints/attachment:Attachment": 1,
}
STATEFUL = {"clickhouse:index/service:Service", "aws:secretsmanager/secret:Secret",
            "aws:secretsmanager/secretVersion:SecretVersion", "aws:kms/key:Key"}


@pytest.mark.parametrize(("stack", "subnets", "kms_keys"), [("dev", 2, 1), ("prod", 3, 2)])
def test_stack_file_declares_the_privatelink_resource_set(request, stack, subnets, kms_keys):
    run = request.getfixturevalue(f"{stack}_run")
    # BYOC's own resources (prod) are counted by the BYOC tests; a URN names every ancestor component's type.
    counts = Counter(r.type for r in run.resources if "clickhouse-aws:byoc:" not in r.urn)
    for type_, expected in PRIVATELINK_TYPES.items():
        assert counts[type_] == expected, type_
    assert counts["aws:ec2/subnet:Subnet"] == subnets
    assert counts["aws:kms/key:Key"] >= kms_keys


@pytest.mark.parametrize("stack", stack_names())
def test_exports_the_operator_contract_and_never_the_password(stack_run, stack):
    run = stack_run(stack)
    assert stack_outputs.missing(run.outputs) == [] and stack_outputs.undeclared(run.outputs) == []
    assert run.outputs["clickhouse_url"] == f"https://{run.outputs['private_dns_hostname']}:8443"
    assert run.outputs["clickhouse_user"] == "default"
    assert not any("password" == name or name.endswith("_password") for name in run.outputs)
    assert all(generated_password(run) not in str(value) for value in run.outputs.values())


def test_prod_protects_every_stateful_resource(prod_run):
    stateful = [r for r in prod_run.resources if r.type in STATEFUL]
    assert stateful and all(r.protect for r in stateful)


def test_dev_protects_nothing_so_it_can_be_torn_down(dev_run):
    assert [r.urn for r in dev_run.resources if r.protect] == []


def test_every_child_resource_is_parented_to_a_component(prod_run):
    components = {r.urn for r in prod_run.resources if not r.custom}
    assert all(r.parent in components for r in prod_run.resources if r.custom)


def test_a_second_run_declares_exactly_the_same_resources(dev_run):
    again = run_program("dev")

    def shape(run):
        return sorted((r.urn, repr(sorted(r.inputs.items()))) for r in run.resources)

    assert shape(again) == shape(dev_run)
