"""The ClickHouse metrics agent: its configuration checked by the real promtool, the API key only ever a secret,
private networking, least-privilege roles, customer keys."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest

from components.observability.metrics_agent import (
    CONFIG_FILE,
    ENTRYPOINT_SCRIPT,
    IMAGE,
    KEY_ID_PLACEHOLDER,
    render_config,
)
from scripts.offline.engine import run_program
from tests.helpers import by_name, is_secret_on_wire, plain_wire_strings

ORG = "0b7a1d2c-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
SERVICE = "3f1e6a52-8f4e-4d1c-9a63-0c2b7de9a001"
ENDPOINT = "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1234/"
# The offline engine's stand-ins for the API key set with `pulumi config set --secret`.
KEY_ID = "offline-placeholder-clickhouse-aws.metricsApiKeyId"
KEY_SECRET = "offline-placeholder-clickhouse-aws.metricsApiKeySecret"


def _render(**overrides) -> str:
    values = dict(organization_id=ORG, service_id=SERVICE, region="us-east-1", prometheus_endpoint=ENDPOINT,
                  scrape_interval_seconds=60, stack="prod")
    return render_config(**{**values, **overrides})


def _container(run) -> dict:
    task = by_name(run, "aws:ecs/taskDefinition:TaskDefinition")["metrics-task"]
    [container] = json.loads(task.inputs["containerDefinitions"])
    return container


def _config_of(run) -> str:
    return next(e["value"] for e in _container(run)["environment"] if e["name"] == "PROMETHEUS_CONFIG")


def test_the_rendered_config_passes_promtool(promtool, tmp_path):
    path = tmp_path / "agent.yml"
    path.write_text(_render())
    # --syntax-only: the password file exists only in the container.
    result = promtool(path, "--syntax-only")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_catches_a_broken_config(promtool, tmp_path):
    # The check above can fail: a relabelling regex Prometheus cannot compile is refused.
    config = json.loads(_render())
    config["scrape_configs"][0]["metric_relabel_configs"][0]["regex"] = "(ClickHouse"
    path = tmp_path / "agent.yml"
    path.write_text(json.dumps(config))
    assert promtool(path, "--syntax-only").returncode != 0


def test_the_config_the_stack_deploys_passes_promtool(byoc_run, promtool, tmp_path):
    path = tmp_path / "agent.yml"
    path.write_text(_config_of(byoc_run))
    result = promtool(path, "--syntax-only")
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_scrapes_the_service_and_keeps_only_clickhouse_series():
    config = json.loads(_render())
    [job] = config["scrape_configs"]
    assert (job["scheme"], job["static_configs"]) == ("https", [{"targets": ["api.clickhouse.cloud:443"]}])
    assert job["metrics_path"] == f"/v1/organizations/{ORG}/services/{SERVICE}/prometheus"
    assert job["basic_auth"] == {"username": KEY_ID_PLACEHOLDER, "password_file": "/prometheus/auth/clickhouse-api-key-secret"}
    assert job["metric_relabel_configs"] == [
        {"source_labels": ["__name__"], "regex": "(ClickHouse|ClickPipes).+", "action": "keep"}]
    assert config["remote_write"] == [{"url": ENDPOINT + "api/v1/remote_write", "sigv4": {"region": "us-east-1"}}]
    # Agent mode refuses these.
    assert not {"rule_files", "alerting"} & set(config)
    assert _render() == _render()


def test_the_entrypoint_writes_the_secret_to_a_private_file_and_the_key_id_into_the_config(promtool, tmp_path):
    """The real entrypoint script, run with the container's paths under a temporary directory and promtool in place
    of Prometheus, which then checks the written config in full (its password file included)."""
    root = str(tmp_path)
    launch, _, _ = ENTRYPOINT_SCRIPT.partition(" --storage.agent.path")
    script = launch.replace("/bin/prometheus --agent --config.file=", "promtool check config ").replace(
        "/prometheus", root)
    env = {"PATH": os.environ["PATH"], "PROMETHEUS_CONFIG": _render().replace("/prometheus", root),
           "CLICKHOUSE_API_KEY_ID": "AbCd.1234_x-y", "CLICKHOUSE_API_KEY_SECRET": "s3cr3t with 'quotes' $HOME"}
    result = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    password = tmp_path / "auth" / "clickhouse-api-key-secret"
    assert password.read_text() == "s3cr3t with 'quotes' $HOME"
    assert stat.S_IMODE(password.stat().st_mode) == 0o600
    written = json.loads((tmp_path / CONFIG_FILE.removeprefix("/prometheus/")).read_text())
    assert written["scrape_configs"][0]["basic_auth"]["username"] == "AbCd.1234_x-y"
    assert "s3cr3t" not in result.stdout + result.stderr


def test_it_scrapes_the_stacks_service_and_the_organization_before_there_is_one(byoc_run):
    # The byoc stack file is before phase 3: no service yet.
    assert json.loads(_config_of(byoc_run))["scrape_configs"][0]["metrics_path"] == \
        "/v1/organizations/00000000-0000-4000-8000-000000000000/prometheus"
    run = run_program("byoc", {"clickhouse-aws:byocInfrastructureId": "byoc-infra-1",
                               "clickhouse-aws:byocNlbDnsName": "clickhouse-0123456789abcdef.elb.us-east-1.amazonaws.com"})
    assert run.error is None, run.error
    assert json.loads(_config_of(run))["scrape_configs"][0]["metrics_path"] == \
        f"/v1/organizations/00000000-0000-4000-8000-000000000000/services/{run.outputs['service_id']}/prometheus"


def test_the_api_key_reaches_the_container_only_as_secrets(byoc_run):
    container = _container(byoc_run)
    secret = by_name(byoc_run, "aws:secretsmanager/secret:Secret")["metrics-api-key"]
    assert container["secrets"] == [
        {"name": "CLICKHOUSE_API_KEY_ID", "valueFrom": f"{secret.outputs['arn']}:key_id::"},
        {"name": "CLICKHOUSE_API_KEY_SECRET", "valueFrom": f"{secret.outputs['arn']}:key_secret::"},
    ]
    assert [e["name"] for e in container["environment"]] == ["PROMETHEUS_CONFIG"]
    assert container["image"] == IMAGE and ":v" in IMAGE and "latest" not in IMAGE
    assert "--agent" in container["command"][0]
    version = by_name(byoc_run, "aws:secretsmanager/secretVersion:SecretVersion")["metrics-api-key"]
    assert is_secret_on_wire(version, "secretString")
    assert json.loads(version.inputs["secretString"]) == {"key_id": KEY_ID, "key_secret": KEY_SECRET}
    leaks = [where for where, text in plain_wire_strings(byoc_run) if KEY_SECRET in text or KEY_ID in text]
    assert leaks == []
    assert not {"metrics_api_key_id", "metrics_api_key_secret"} & set(byoc_run.outputs)


def test_the_agent_runs_privately_and_writes_through_its_endpoint(byoc_run):
    service = by_name(byoc_run, "aws:ecs/service:Service")["metrics-service"].inputs
    network = service["networkConfiguration"]
    assert service["launchType"] == "FARGATE" and service["desiredCount"] == 1
    assert network["assignPublicIp"] is False and network["subnets"] == byoc_run.outputs["subnet_ids"]
    endpoints = {r.name: r.inputs for r in byoc_run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    aps = endpoints["metrics-aps-workspaces"]
    assert aps["serviceName"] == "com.amazonaws.us-east-1.aps-workspaces" and aps["privateDnsEnabled"] is True
    assert aps["subnetIds"] == byoc_run.outputs["subnet_ids"]
    groups = {r.name: r for r in byoc_run.of_type("aws:ec2/securityGroup:SecurityGroup")}
    assert network["securityGroups"] == [groups["metrics-agent"].id]
    ingress = [r.inputs for r in byoc_run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
               if r.inputs["securityGroupId"] == groups["metrics-endpoint"].id]
    assert [(i["referencedSecurityGroupId"], i["fromPort"]) for i in ingress] == [(groups["metrics-agent"].id, 443)]
    assert not [r for r in byoc_run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                if r.inputs["securityGroupId"] == groups["metrics-agent"].id]


def _statements(run, name):
    return json.loads(by_name(run, "aws:iam/rolePolicy:RolePolicy")[name].inputs["policy"])["Statement"]


def test_the_roles_may_do_only_what_the_agent_needs(byoc_run):
    workspace = by_name(byoc_run, "aws:amp/workspace:Workspace")["metrics-workspace"]
    # Named by ARNs known at preview (the pack judges them before anything exists).
    [remote_write] = _statements(byoc_run, "metrics-task")
    assert (remote_write["Action"], remote_write["Resource"]) == (
        "aps:RemoteWrite", "arn:aws:aps:us-east-1:123456789012:workspace/*")
    assert remote_write["Condition"] == {"StringEquals": {"aws:ResourceTag/metrics-workspace": "clickhouse-aws-byoc"}}
    assert workspace.inputs["tags"]["metrics-workspace"] == "clickhouse-aws-byoc"
    execution = {s["Sid"]: s for s in _statements(byoc_run, "metrics-execution")}
    assert (execution["ReadTheApiKeySecret"]["Action"], execution["ReadTheApiKeySecret"]["Resource"]) == (
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:clickhouse-aws/byoc/metrics/clickhouse-api-key-??????")
    assert execution["WriteTheAgentLogs"]["Resource"] == \
        "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/clickhouse-aws-byoc/metrics-agent:*"
    assert len(execution) == 2
    # The key's policy, not the role's, grants the decrypt, and only through Secrets Manager.
    key = by_name(byoc_run, "aws:kms/key:Key")["metrics"]
    grant = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}["TheMetricsAgentReadsItsApiKey"]
    assert grant["Principal"] == {"AWS": "arn:aws:iam::123456789012:role/clickhouse-aws-byoc-metrics-agent-execution"}
    assert grant["Action"] == "kms:Decrypt"
    assert grant["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}
    roles = by_name(byoc_run, "aws:iam/role:Role")
    trust = json.loads(roles["metrics-task"].inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


def test_its_data_is_under_customer_keys_and_its_logs_expire(byoc_run):
    key = by_name(byoc_run, "aws:kms/key:Key")["metrics"].outputs["arn"]
    workspace = by_name(byoc_run, "aws:amp/workspace:Workspace")["metrics-workspace"]
    assert workspace.inputs["kmsKeyArn"] == key and workspace.protect
    secret = by_name(byoc_run, "aws:secretsmanager/secret:Secret")["metrics-api-key"]
    assert secret.inputs["kmsKeyId"] == key and secret.inputs["recoveryWindowInDays"] == 30 and secret.protect
    logs = by_name(byoc_run, "aws:cloudwatch/logGroup:LogGroup")["metrics-logs"].inputs
    assert logs["retentionInDays"] == 30 and logs["kmsKeyId"] == by_name(byoc_run, "aws:kms/key:Key")["logs"].outputs["arn"]
    assert byoc_run.outputs["metrics_workspace_id"] == workspace.id
    assert byoc_run.outputs["metrics_prometheus_endpoint"] == workspace.outputs["prometheusEndpoint"]


def test_no_agent_without_metrics(dev_run):
    assert not dev_run.of_type("aws:amp/workspace:Workspace") and not dev_run.of_type("aws:ecs/service:Service")
    assert not {"metrics_workspace_id", "metrics_prometheus_endpoint"} & set(dev_run.outputs)
