"""ClickHouse Cloud metrics (metricsEnabled): a Prometheus agent on ECS Fargate scraping the service's Prometheus
endpoint of the ClickHouse Cloud API into an Amazon Managed Service for Prometheus workspace.

- The workspace and the API key's secret are encrypted with a customer KMS key of their own.
- It scrapes the stack's service; a BYOC stack before ClickHouse reports its infrastructure has none yet, so it
  scrapes the organization's endpoint until then (every service the API key may view).
- The agent is the official ``prom/prometheus`` image, pinned, in agent mode (``--agent``: scrape and remote-write
  only, no local queries or rules), in the private subnets without a public IP. It reaches api.clickhouse.cloud and
  its image registry through the stack's egress, and the workspace through an ``aps-workspaces`` interface endpoint
  (private DNS, so the workspace's own URL resolves to it), signing with SigV4 as its task role.
- The API key lives in Secrets Manager as JSON (``key_id``, ``key_secret``); ECS injects the two fields as container
  secrets, so neither is in the task definition. The configuration ``render_config`` produces (pure, validated by the
  tests with ``promtool check config``) travels in an environment variable with a placeholder for the key ID; the
  entrypoint writes the secret to a file that ``basic_auth.password_file`` reads and puts the key ID in place of the
  placeholder. A password file rather than a password in the config: Prometheus rereads it on every scrape, and the
  secret never appears in the config text, the task definition or the logs. (The key ID goes in the text because
  ``username_file`` is too new for the promtool the tests use.)
- Least privilege: the task role may only ``aps:RemoteWrite`` to this stack's workspace (by its tag); the execution
  role may only read this one secret, decrypt it through Secrets Manager (granted in the key's policy), and write to
  the agent's log group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.account import AwsAccount, allow, policy_document
from components.kms_key import KmsKey, KmsKeyArgs
from components.security_group_rules import Peer, security_group, security_group_rule
from stack_config.observability import MetricsConfig

# The official image, pinned: v3.5 is a Prometheus long-term-support release.
IMAGE = "docker.io/prom/prometheus:v3.5.0"
CONTAINER = "prometheus-agent"
API_HOST = "api.clickhouse.cloud"
KEY_ID_PLACEHOLDER = "__CLICKHOUSE_API_KEY_ID__"
PASSWORD_FILE = "/prometheus/auth/clickhouse-api-key-secret"
CONFIG_FILE = "/prometheus/agent.yml"
HTTPS = 443
# ClickHouse's series are all named ClickHouse* (ClickHouse_ServiceInfo, ClickHouseProfileEvents_..., ...) and
# ClickPipes_*; Prometheus anchors the regex.
KEEP_SERIES = "(ClickHouse|ClickPipes).+"
# Marks the stack's workspace for the task role's condition.
WORKSPACE_TAG = "metrics-workspace"

# Writes the secret to the password file, puts the key ID in place of its placeholder, and hands over to Prometheus.
# umask 077: the secret file is readable by the agent's user only. The key ID's form (letters, digits, . _ -) is
# checked in config, so it cannot break the sed expression.
ENTRYPOINT_SCRIPT = (
    "set -eu; umask 077; mkdir -p /prometheus/auth; "
    f'printf "%s" "$CLICKHOUSE_API_KEY_SECRET" > {PASSWORD_FILE}; '
    f'printf "%s\\n" "$PROMETHEUS_CONFIG" | sed "s|{KEY_ID_PLACEHOLDER}|$CLICKHOUSE_API_KEY_ID|" > {CONFIG_FILE}; '
    "unset CLICKHOUSE_API_KEY_SECRET CLICKHOUSE_API_KEY_ID PROMETHEUS_CONFIG; "
    f"exec /bin/prometheus --agent --config.file={CONFIG_FILE} --storage.agent.path=/prometheus/data-agent "
    "--web.listen-address=127.0.0.1:9090"
)


def scrape_path(organization_id: str, service_id: Optional[str]) -> str:
    """The service's endpoint; without a service yet (a BYOC stack before ClickHouse reports its infrastructure), the
    organization's, which serves every service the key may view."""
    if service_id is None:
        return f"/v1/organizations/{organization_id}/prometheus"
    return f"/v1/organizations/{organization_id}/services/{service_id}/prometheus"


def remote_write_url(prometheus_endpoint: str) -> str:
    """The workspace's remote write URL from its endpoint (``https://aps-workspaces.<region>.../workspaces/<id>/``)."""
    return prometheus_endpoint.rstrip("/") + "/api/v1/remote_write"


def render_config(*, organization_id: str, service_id: Optional[str], region: str, prometheus_endpoint: str,
                  scrape_interval_seconds: int, stack: str) -> str:
    """The agent's Prometheus configuration, as JSON text (which is YAML), the same for the same inputs.

    Agent mode refuses rule files and alerting, so there are none.
    """
    config = {
        "global": {
            "scrape_interval": f"{scrape_interval_seconds}s",
            # Well inside the interval: a slow API answer fails that scrape instead of overlapping the next.
            "scrape_timeout": f"{min(30, scrape_interval_seconds)}s",
            "external_labels": {"stack": stack},
        },
        "scrape_configs": [{
            "job_name": "clickhouse-cloud",
            "scheme": "https",
            "metrics_path": scrape_path(organization_id, service_id),
            # ClickHouse's curated set; the full set is an order of magnitude more series.
            "params": {"filtered_metrics": ["true"]},
            # ClickHouse labels its series with its own org, service and replica names: keep them.
            "honor_labels": True,
            "static_configs": [{"targets": [f"{API_HOST}:{HTTPS}"]}],
            "basic_auth": {"username": KEY_ID_PLACEHOLDER, "password_file": PASSWORD_FILE},
            "metric_relabel_configs": [
                {"source_labels": ["__name__"], "regex": KEEP_SERIES, "action": "keep"},
            ],
        }],
        "remote_write": [{
            "url": remote_write_url(prometheus_endpoint),
            "sigv4": {"region": region},
        }],
    }
    return json.dumps(config, indent=2, sort_keys=True)


def container_definitions(*, config_text: str, secret_arn: str, log_group: str, region: str) -> str:
    definition: dict[str, Any] = {
        "name": CONTAINER,
        "image": IMAGE,
        "essential": True,
        "entryPoint": ["/bin/sh", "-c"],
        "command": [ENTRYPOINT_SCRIPT],
        "environment": [{"name": "PROMETHEUS_CONFIG", "value": config_text}],
        # ARN:json-key:version-stage:version-id — the current version's field.
        "secrets": [
            {"name": "CLICKHOUSE_API_KEY_ID", "valueFrom": f"{secret_arn}:key_id::"},
            {"name": "CLICKHOUSE_API_KEY_SECRET", "valueFrom": f"{secret_arn}:key_secret::"},
        ],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": "agent"}},
    }
    return json.dumps([definition], sort_keys=True)


@dataclass(frozen=True)
class MetricsAgentArgs:
    config: MetricsConfig
    account: AwsAccount
    stack: str
    name_prefix: str
    secret_name: str
    secret_recovery_window_days: int
    # None until the stack has a service (BYOC before byocInfrastructureId): then the organization is scraped.
    service_id: Optional[pulumi.Input[str]]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    logs_kms_key_arn: pulumi.Input[str]
    protect: bool
    tags: Mapping[str, str]


class MetricsAgent(pulumi.ComponentResource):
    workspace_id: pulumi.Output[str]
    prometheus_endpoint: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    service_name: pulumi.Output[str]

    def __init__(self, name: str, args: MetricsAgentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:observability:MetricsAgent", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg, account, prefix, tags = args.config, args.account, args.name_prefix, dict(args.tags)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)

        # Every ARN a policy here names is known at preview, so the pack can judge the policies before anything exists.
        execution_role_name = f"{prefix}-metrics-agent-execution"
        log_group_name = f"/ecs/{prefix}/metrics-agent"
        trust = policy_document({
            "Effect": "Allow",
            "Principal": {"Service": account.service_principal("ecs-tasks")},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account.account_id},
                          "ArnLike": {"aws:SourceArn": account.arn("ecs", "*")}},
        })
        execution_role = aws.iam.Role(f"{name}-execution", name=execution_role_name, assume_role_policy=trust,
                                      description="ECS starting the ClickHouse metrics agent: its secret and logs",
                                      tags=tags, opts=child)
        # The key policy lets the execution role decrypt the API key's secret, through Secrets Manager only; KMS
        # refuses a policy naming a role that does not exist yet, hence depends_on.
        # Named as its alias, like every key of the stack.
        key = KmsKey("metrics", KmsKeyArgs(
            description=f"ClickHouse metrics workspace and API key secret of {prefix}",
            alias=f"alias/{prefix}-metrics", account=account, protect=args.protect, tags=tags,
            usage_statements=[{
                "Sid": "TheMetricsAgentReadsItsApiKey",
                "Effect": "Allow",
                "Principal": {"AWS": account.arn("iam", f"role/{execution_role_name}", regional=False)},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {
                    "kms:ViaService": f"secretsmanager.{account.region}.{account.dns_suffix}"}},
            }],
            depends_on=[execution_role],
        ), opts=child)
        workspace = aws.amp.Workspace(f"{name}-workspace", alias=f"{prefix}-clickhouse", kms_key_arn=key.arn,
                                      tags={**tags, WORKSPACE_TAG: prefix}, opts=stateful)
        secret = aws.secretsmanager.Secret(
            f"{name}-api-key", name=args.secret_name, kms_key_id=key.arn,
            description="ClickHouse Cloud API key the metrics agent scrapes with (key_id, key_secret)",
            recovery_window_in_days=args.secret_recovery_window_days, tags=tags, opts=stateful,
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-api-key", secret_id=secret.id,
            secret_string=pulumi.Output.secret(json.dumps({"key_id": cfg.api_key_id, "key_secret": cfg.api_key_secret},
                                                          sort_keys=True)),
            opts=stateful,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=log_group_name, retention_in_days=cfg.log_retention_days,
            kms_key_id=args.logs_kms_key_arn, tags=tags, opts=child,
        )

        agent_sg = security_group(f"{name}-agent", name=f"{prefix}-metrics-agent",
                                  description="ClickHouse metrics agent: HTTPS out only, nothing in",
                                  vpc_id=args.vpc_id, tags=tags, opts=child)
        endpoint_sg = security_group(f"{name}-endpoint", name=f"{prefix}-aps-workspaces",
                                     description="aps-workspaces interface endpoint: HTTPS from the metrics agent",
                                     vpc_id=args.vpc_id, tags=tags, opts=child)
        security_group_rule(f"{name}-agent-to-internet-{HTTPS}", security_group_id=agent_sg.id, ingress=False,
                            peer=Peer("internet", cidr_ipv4="0.0.0.0/0"), ports=HTTPS,
                            description="HTTPS to api.clickhouse.cloud, the image registry, ECS and AWS APIs",
                            tags=tags, opts=child)
        security_group_rule(f"{name}-endpoint-from-agent-{HTTPS}", security_group_id=endpoint_sg.id, ingress=True,
                            peer=Peer("agent", security_group_id=agent_sg.id), ports=HTTPS,
                            description="Remote write from the metrics agent", tags=tags, opts=child)
        aws.ec2.VpcEndpoint(
            f"{name}-aps-workspaces", vpc_id=args.vpc_id, vpc_endpoint_type="Interface",
            service_name=f"com.amazonaws.{account.region}.aps-workspaces",
            # The workspace's URL resolves to the endpoint, so the remote write never leaves the VPC.
            private_dns_enabled=True, subnet_ids=args.subnet_ids, security_group_ids=[endpoint_sg.id],
            tags={**tags, "Name": f"{prefix}-aps-workspaces"}, opts=child,
        )

        task_role = aws.iam.Role(f"{name}-task", name=f"{prefix}-metrics-agent-task", assume_role_policy=trust,
                                 description="ClickHouse metrics agent: remote-write to its workspace only",
                                 tags=tags, opts=child)
        # The workspace's ID is AWS's choice, so its ARN is unknown at preview: the statement names the account's
        # workspaces and the condition narrows it to the one carrying this stack's tag.
        aws.iam.RolePolicy(f"{name}-task", role=task_role.id, policy=policy_document(allow(
            "RemoteWriteToTheWorkspace", "aps:RemoteWrite", account.arn("aps", "workspace/*"),
            {"StringEquals": {f"aws:ResourceTag/{WORKSPACE_TAG}": prefix}})), opts=child)
        aws.iam.RolePolicy(f"{name}-execution", role=execution_role.id, policy=policy_document(
            # Secrets Manager appends six random characters to a secret's name in its ARN.
            allow("ReadTheApiKeySecret", "secretsmanager:GetSecretValue",
                  account.arn("secretsmanager", f"secret:{args.secret_name}-??????")),
            allow("WriteTheAgentLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
                  account.arn("logs", f"log-group:{log_group_name}:*")),
        ), opts=child)

        config_text = pulumi.Output.all(workspace.prometheus_endpoint, args.service_id).apply(
            lambda v: render_config(organization_id=cfg.organization_id, service_id=v[1], region=account.region,
                                    prometheus_endpoint=v[0], scrape_interval_seconds=cfg.scrape_interval_seconds,
                                    stack=args.stack))
        definitions = pulumi.Output.all(config_text, secret.arn, log_group.name).apply(
            lambda v: container_definitions(config_text=v[0], secret_arn=v[1], log_group=v[2], region=account.region))
        task = aws.ecs.TaskDefinition(
            f"{name}-task", family=f"{prefix}-metrics-agent", requires_compatibilities=["FARGATE"],
            network_mode="awsvpc", cpu="256", memory="512", task_role_arn=task_role.arn,
            execution_role_arn=execution_role.arn, container_definitions=definitions,
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            tags=tags, opts=child,
        )
        cluster = aws.ecs.Cluster(f"{name}-cluster", name=f"{prefix}-metrics", tags=tags, opts=child)
        service = aws.ecs.Service(
            f"{name}-service", name="prometheus-agent", cluster=cluster.arn, task_definition=task.arn,
            desired_count=1, launch_type="FARGATE",
            network_configuration={"subnets": args.subnet_ids, "security_groups": [agent_sg.id],
                                   "assign_public_ip": False},
            # One agent at a time: two would send every sample twice.
            deployment_minimum_healthy_percent=0, deployment_maximum_percent=100,
            tags=tags, opts=child,
        )
        self.workspace_id = workspace.id
        self.prometheus_endpoint = workspace.prometheus_endpoint
        self.cluster_name = cluster.name
        self.service_name = service.name
        self.service_arn = service.arn
        self.register_outputs({"workspace_id": self.workspace_id, "prometheus_endpoint": self.prometheus_endpoint})
