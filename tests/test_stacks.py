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
# What every stack exports, and what a stack with a service adds, whichever kind of service it is.
NETWORK_CONTRACT = {"aws_region", "vpc_id", "subnet_ids", "alarm_topic_arn", "alarm_names", "dashboard_name"}
METRICS_CONTRACT = {"metrics_workspace_id", "metrics_prometheus_endpoint", "metrics_agent_service_arn"}
SERVICE_CONTRACT = {"clickhouse_url", "clickhouse_user", "clickhouse_password_secret_arn", "service_id"}
PRIVATELINK_CONTRACT = {
    "client_security_group_id", "endpoint_security_group_id", "vpc_endpoint_id", "vpc_endpoint_service_name",
    "private_dns_hostname", "private_dns_zone_id",
}
CONTRACT = NETWORK_CONTRACT | SERVICE_CONTRACT | PRIVATELINK_CONTRACT
# ClickHouse's answers once it has built the BYOC infrastructure (phase 3).
BYOC_BUILT = {
    "clickhouse-aws:byocInfrastructureId": "b7c1d2e3-byoc-0001",
    "clickhouse-aws:byocNlbDnsName": "a1b2c3-clickhouse-0123456789abcdef.elb.us-east-1.amazonaws.com",
    "clickhouse-aws:byocNlbZoneId": "Z26RNL4JYFTOTI",
}
STATEFUL = {"clickhouse:index/service:Service", "aws:secretsmanager/secret:Secret",
            "aws:secretsmanager/secretVersion:SecretVersion", "aws:kms/key:Key", "aws:s3/bucket:Bucket"}


@pytest.fixture(scope="module", params=stack_names())
def stack(request, stack_run) -> tuple[ProgramRun, stack_config.StackConfig]:
    """The stack's run (shared by the session) and its config as the program read it."""
    run = stack_run(request.param)
    return run, stack_config.load(run.stack, run.config, run.secret_keys)


def core_resources(run: ProgramRun) -> list:
    """The resources with no BYOC or observability component among their ancestors."""
    parents = {r.urn: r.parent for r in run.resources}
    byoc = {r.urn for r in run.resources if r.type.startswith(("clickhouse-aws:byoc:", "clickhouse-aws:observability:"))}

    def under_byoc(urn: str) -> bool:
        while urn in parents:
            if urn in byoc:
                return True
            urn = parents[urn]
        return False

    return [r for r in run.resources if not under_byoc(r.urn)]


def test_declares_the_privatelink_resource_set_its_config_asks_for(stack):
    run, cfg = stack
    counts = Counter(r.type for r in core_resources(run))
    # A BYOC stack has no service in ClickHouse's cloud, and none on its infrastructure before ClickHouse reports it.
    expected = {
        **{t: n if cfg.byoc is None else 0 for t, n in PRIVATELINK_TYPES.items()},
        "aws:ec2/vpc:Vpc": int(cfg.network.creates_vpc),
        "aws:ec2/flowLog:FlowLog": int(cfg.network.creates_vpc),
        "aws:ec2/subnet:Subnet": (cfg.network.az_count + (cfg.network.nat_count if cfg.network.egress == "nat" else 0)
                                  if cfg.network.creates_vpc else 0),
        "aws:ec2/natGateway:NatGateway": cfg.network.nat_count if cfg.network.egress == "nat" else 0,
        # The logs key always; the secrets key when passwordKmsKey is 'create'.
        "aws:kms/key:Key": 1 + int(cfg.secret.create_kms_key),
    }
    assert {t: counts[t] for t in expected} == expected
    assert ("byoc" in run.outputs) == (cfg.byoc is not None)


def test_exports_the_operator_contract_and_never_the_password(stack):
    run, cfg = stack
    assert stack_outputs.missing(run.outputs) == [] and stack_outputs.undeclared(run.outputs) == []
    if cfg.byoc is not None:
        metrics = METRICS_CONTRACT if cfg.observability.metrics is not None else set()
        assert set(run.outputs) == NETWORK_CONTRACT | {"byoc"} | metrics
        return
    assert CONTRACT <= set(run.outputs)
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


BYOC_STACKS = [s for s in stack_names() if stack_config.load(s, *load_stack_config(s)).byoc is not None]


def test_the_repository_holds_a_byoc_stack():
    assert BYOC_STACKS


@pytest.mark.parametrize("name", BYOC_STACKS)
def test_a_byoc_stack_creates_its_service_on_the_infrastructure_clickhouse_reports(name):
    cfg = stack_config.load(name, *load_stack_config(name))
    run = run_program(name, BYOC_BUILT)
    assert run.error is None, run.error
    (service,) = run.of_type("clickhouse:index/service:Service")
    assert service.inputs["byocId"] == BYOC_BUILT["clickhouse-aws:byocInfrastructureId"]
    assert (service.inputs["minReplicaMemoryGb"], service.inputs["maxReplicaMemoryGb"]) == (
        cfg.clickhouse.min_replica_memory_gb, cfg.clickhouse.max_replica_memory_gb)
    assert service.inputs["ipAccesses"] == [] and "password" not in service.inputs
    assert not run.of_type("clickhouse:ServicePrivateEndpoints/attachment:Attachment")
    assert not run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") or all(
        e.inputs["serviceName"].startswith("com.amazonaws.") for e in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint"))
    # The same service outputs as a PrivateLink stack, at the name ClickHouse's private load balancer answers.
    assert NETWORK_CONTRACT | SERVICE_CONTRACT | {"byoc"} <= set(run.outputs)
    assert run.outputs["clickhouse_url"] == f"https://clickhouse.{cfg.byoc.internal_domain}:8443"
    assert run.outputs["clickhouse_user"] == "default"
    assert all(generated_password(run) not in str(value) for value in run.outputs.values())
    secret = next(v for v in run.of_type("aws:secretsmanager/secretVersion:SecretVersion")
                  if v.parent == service.parent)
    assert secret.protect is cfg.protect


@pytest.mark.parametrize(("name", "protect"), [("dev", False), ("prod", True), ("byoc", True)])
def test_dev_is_disposable_and_prod_is_kept(name, protect):
    # The stack files say so, and the checks above hold the resources to it.
    assert stack_config.load(name, *load_stack_config(name)).protect is protect


@pytest.mark.parametrize("name", BYOC_STACKS)
def test_a_byoc_stack_creates_the_password_key_before_its_service_and_the_service_secret_uses_it(name, stack_run):
    """The customer key of the password secret is in the stack from phase 1, so the phase-3 service never waits for a
    key, and its secret is encrypted by that key rather than the AWS managed one."""
    before, after = stack_run(name), run_program(name, BYOC_BUILT)

    def password_secrets(run):
        return [s for s in run.of_type("aws:secretsmanager/secret:Secret") if s.name == "clickhouse-password"]

    assert not password_secrets(before)
    (key_before,) = [k for k in before.of_type("aws:kms/key:Key") if k.name == "secrets"]
    (key_after,) = [k for k in after.of_type("aws:kms/key:Key") if k.name == "secrets"]
    assert key_before.urn == key_after.urn and key_before.protect
    (secret,) = password_secrets(after)
    assert secret.inputs["kmsKeyId"] == key_after.outputs["arn"]
    assert after.outputs["clickhouse_password_kms_key_id"] == key_after.outputs["arn"]
