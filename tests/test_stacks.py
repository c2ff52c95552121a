"""Every stack file in the repo (whichever exist): the resources it declares, what it protects, what it exports.

Expectations come from each stack's own config, so a new stack file is checked the same way without editing this.
"""

from __future__ import annotations

from collections import Counter

import pytest

import stack_config
import stack_outputs
from scripts.offline.engine import ProgramRun, load_stack_config, run_program
from scripts.project import stack_names
from tests.helpers import generated_password

# One of each per stack, outside BYOC (whose resources the BYOC tests count).
PRIVATELINK_TYPES = {
    "aws:ec2/vpcEndpoint:VpcEndpoint": 1,
    "aws:route53/zone:Zone": 1,
    "aws:route53/record:Record": 1,
    "aws:ec2/securityGroup:SecurityGroup": 2,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 3,  # 443, 8443, 9440
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": 3,
    "aws:secretsmanager/secret:Secret": 1,
    "aws:secretsmanager/secretVersion:SecretVersion": 1,
    "random:index/randomPassword:RandomPassword": 1,
    "clickhouse:index/service:Service": 1,
    "clickhouse:ServicePrivateEndpoints/attachment:Attachment": 1,
}
STATEFUL = {"clickhouse:index/service:Service", "aws:secretsmanager/secret:Secret",
            "aws:secretsmanager/secretVersion:SecretVersion", "aws:kms/key:Key", "aws:s3/bucket:Bucket"}


@pytest.fixture(scope="module", params=stack_names())
def stack(request, stack_run) -> tuple[ProgramRun, stack_config.StackConfig]:
    """The stack's run (shared by the session) and its config as the program read it."""
    run = stack_run(request.param)
    return run, stack_config.load(run.stack, run.config, run.secret_keys)


def outside_byoc(run: ProgramRun) -> list:
    """The resources with no BYOC component among their ancestors."""
    parents = {r.urn: r.parent for r in run.resources}
    byoc = {r.urn for r in run.resources if r.type.startswith("clickhouse-aws:byoc:")}

    def under_byoc(urn: str) -> bool:
        while urn in parents:
            if urn in byoc:
                return True
            urn = parents[urn]
        return False

    return [r for r in run.resources if not under_byoc(r.urn)]


def test_declares_the_privatelink_resource_set_its_config_asks_for(stack):
    run, cfg = stack
    counts = Counter(r.type for r in outside_byoc(run))
    expected = {
        **PRIVATELINK_TYPES,
        "aws:ec2/vpc:Vpc": int(cfg.network.creates_vpc),
        "aws:ec2/flowLog:FlowLog": int(cfg.network.creates_vpc),
        "aws:ec2/subnet:Subnet": cfg.network.az_count if cfg.network.creates_vpc else 0,
        # The logs key always; the secrets key when passwordKmsKey is 'create'.
        "aws:kms/key:Key": 1 + int(cfg.secret.create_kms_key),
    }
    assert {t: counts[t] for t in expected} == expected
    assert ("byoc" in run.outputs) == (cfg.byoc is not None)


def test_exports_the_operator_contract_and_never_the_password(stack):
    run, _ = stack
    assert stack_outputs.missing(run.outputs) == [] and stack_outputs.undeclared(run.outputs) == []
    assert run.outputs["clickhouse_url"] == f"https://{run.outputs['private_dns_hostname']}:8443"
    assert run.outputs["clickhouse_user"] == "default"
    assert not any("password" == name or name.endswith("_password") for name in run.outputs)
    assert all(generated_password(run) not in str(value) for value in run.outputs.values())


def test_protects_stateful_resources_exactly_when_the_stack_says_so(stack):
    run, cfg = stack
    stateful = [r for r in run.resources if r.type in STATEFUL]
    assert stateful and all(r.protect is cfg.protect for r in stateful)
    if not cfg.protect:
        assert [r.urn for r in run.resources if r.protect] == [], "a disposable stack must tear down completely"


def test_every_child_resource_is_parented_to_a_component(stack):
    run, _ = stack
    components = {r.urn for r in run.resources if not r.custom}
    assert all(r.parent in components for r in run.resources if r.custom)


def test_a_second_run_declares_exactly_the_same_resources(stack):
    run, _ = stack

    def shape(recorded: ProgramRun) -> list[tuple[str, str]]:
        return sorted((r.urn, repr(sorted(r.inputs.items()))) for r in recorded.resources)

    assert shape(run_program(run.stack)) == shape(run)


@pytest.mark.parametrize(("name", "protect"), [("dev", False), ("prod", True)])
def test_dev_is_disposable_and_prod_is_kept(name, protect):
    # The stack files say so, and the checks above hold the resources to it.
    assert stack_config.load(name, *load_stack_config(name)).protect is protect
