"""Checks of the stack's observability (``components/observability``): the alarm topic, the alarms, the dashboard and,
with metricsEnabled, the metrics workspace and agent.

The outputs name the topic, the dashboard and the workspace; everything else has a name the program derives from the
stack's name prefix, which the dashboard carries as its name: alarms ``<prefix>-<key>``, the agent's ECS cluster
``<prefix>-metrics`` with its service ``prometheus-agent``. A stack whose outputs lack the metrics outputs does not
run the agent, so those checks say so rather than look.
"""

from __future__ import annotations

from typing import Any, cast

from policy.clickhouse_aws_policy.containers import is_credential_name
from policy.clickhouse_aws_policy.credentials import is_reference_value
from scripts.audit.checks import AuditContext, Check, missing
from scripts.audit.model import Arn, Finding, StackOutputs, parse_arn

# Alarm keys of ``components/observability/alarms.py`` that the outputs imply: the ClickHouse endpoint's with
def check_alarm_topic(ctx: AuditContext) -> list[Finding]:
    arn = ctx.outputs.alarm_topic_arn
    found = ctx.aws.call("sns", "get_topic_attributes", TopicArn=arn, missing=frozenset({"NotFound"}))
    if found is None:
        return [missing("Alarm topic", arn, ctx.region)]
    key = found.get("Attributes", {}).get("KmsMasterKeyId")
    if not key:
        return [Finding("sns-topic-kms", arn, "the alarm topic is not KMS-encrypted: its messages are stored in clear")]
    return []


def check_alarms(ctx: AuditContext) -> list[Finding]:
    topic, names = ctx.outputs.alarm_topic_arn, list(ctx.outputs.alarm_names)
    # DescribeAlarms takes at most 100 names a call.
    alarms = {alarm["AlarmName"]: alarm for start in range(0, len(names), 100) for alarm in ctx.aws.items(
        "cloudwatch", "describe_alarms", "MetricAlarms", AlarmNames=names[start:start + 100])}
    findings = [missing("CloudWatch alarm", name, ctx.region) for name in names if name not in alarms]
    lines = ctx.details.setdefault("alarms", [])
    for name, alarm in sorted(alarms.items()):
        state, missing_data = alarm.get("StateValue", "unknown"), alarm.get("TreatMissingData", "missing")
        lines.append(f"{name}: {state}")
        if topic not in alarm.get("AlarmActions", []) or not alarm.get("ActionsEnabled", True):
            findings.append(Finding(
                "audit-alarm-notifies-topic", name,
                f"the alarm does not notify the alarm topic {topic} when it fires (its actions: "
                f"{', '.join(alarm.get('AlarmActions', [])) or 'none'}"
                f"{'' if alarm.get('ActionsEnabled', True) else ', disabled'})",
            ))
        # Missing data counts as breaching here, so INSUFFICIENT_DATA means the alarm watches no series at all.
        if state == "INSUFFICIENT_DATA" and missing_data == "breaching":
            findings.append(Finding(
                "audit-alarm-has-data", name,
                "the alarm is INSUFFICIENT_DATA although missing data counts as breaching: its metric or dimensions "
                "match no published series, so it can never fire",
            ))
    return findings


def check_dashboard(ctx: AuditContext) -> list[Finding]:
    name = ctx.outputs.dashboard_name
    found = ctx.aws.call("cloudwatch", "get_dashboard", DashboardName=name, missing=frozenset({"ResourceNotFound"}))
    return [] if found is not None else [missing("CloudWatch dashboard", name, ctx.region)]


def check_metrics_workspace(ctx: AuditContext) -> list[Finding]:
    workspace_id = cast(str, ctx.outputs.metrics_workspace_id)
    found = ctx.aws.call("amp", "describe_workspace", workspaceId=workspace_id,
                         missing=frozenset({"ResourceNotFoundException"}))
    if found is None:
        return [missing("Managed Prometheus workspace", workspace_id, ctx.region)]
    workspace = found["workspace"]
    findings = []
    status = workspace.get("status", {}).get("statusCode", "unknown")
    if status != "ACTIVE":
        findings.append(Finding("audit-amp-workspace-active", workspace_id, f"workspace status is {status}, not ACTIVE"))
    key_arn = workspace.get("kmsKeyArn")
    key = ctx.kms_key(key_arn) if key_arn else None
    if not key_arn:
        problem = "an AWS-owned key the account can neither audit nor revoke"
    elif key is None:
        problem = f"the key {key_arn}, which does not exist in {ctx.region}"
    elif key.get("KeyManager") != "CUSTOMER":
        problem = f"the key {key_arn}, which is not customer-managed"
    else:
        return findings
    return findings + [Finding("amp-workspace-customer-kms-key", workspace_id, f"the workspace is encrypted with {problem}")]


def _plaintext_credentials(definition: dict[str, Any]) -> list[str]:
    """"<container> sets <NAME>" for each environment variable that looks like a credential (values never shown)."""
    return [
        f"container {container.get('name', '?')!r} sets {entry.get('name')}"
        for container in definition.get("containerDefinitions", [])
        for entry in container.get("environment", [])
        if isinstance(entry.get("name"), str) and is_credential_name(entry["name"])
        and not (isinstance(entry.get("value"), str) and (entry["value"] == "" or is_reference_value(entry["value"])))
    ]


def check_metrics_agent(ctx: AuditContext) -> list[Finding]:
    service_arn = cast(str, ctx.outputs.metrics_agent_service_arn)
    # An ECS service ARN's resource is service/<cluster>/<service> (parse_outputs checked it is an ECS ARN).
    parts = cast(Arn, parse_arn(service_arn)).resource.split("/")
    cluster = parts[1] if len(parts) == 3 else ""
    found = ctx.aws.call("ecs", "describe_services", cluster=cluster, services=[service_arn],
                         missing=frozenset({"ClusterNotFoundException"})) if cluster else None
    services = [s for s in (found or {}).get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        return [missing("ECS service", service_arn, ctx.region)]
    service, findings = services[0], []
    service_id = service.get("serviceArn", service_arn)
    running, desired = service.get("runningCount", 0), service.get("desiredCount", 0)
    if running < desired or desired < 1:
        findings.append(Finding(
            "audit-ecs-service-running", service_id, f"{running} of {desired} desired agent task(s) running",
        ))
    assign = service.get("networkConfiguration", {}).get("awsvpcConfiguration", {}).get("assignPublicIp", "DISABLED")
    if assign != "DISABLED":
        findings.append(Finding("no-public-ip-address", service_id, f"the service's tasks get a public IP "
                                                                    f"(assignPublicIp {assign})"))
    definition = ctx.aws.call("ecs", "describe_task_definition", taskDefinition=service["taskDefinition"])
    findings += [
        Finding("ecs-task-no-plaintext-secrets", service["taskDefinition"],
                f"{what} in its plain environment (value withheld); pass it in secrets instead")
        for what in _plaintext_credentials(definition.get("taskDefinition", {}))
    ]
    return findings


def _needs_metrics(outputs: StackOutputs) -> str | None:
    if outputs.metrics_workspace_id:
        return None
    return "not applicable: the outputs have no metrics_workspace_id (metricsEnabled is off)"


OBSERVABILITY_CHECKS: tuple[Check, ...] = (
    Check("alarm-topic", "The alarm topic exists and is KMS-encrypted", check_alarm_topic),
    Check("alarms", "The stack's alarms exist and notify the alarm topic; none that treats missing data as breaching "
                    "lacks data", check_alarms),
    Check("dashboard", "The stack's CloudWatch dashboard exists", check_dashboard),
    Check("metrics-workspace", "The metrics workspace is ACTIVE under a customer-managed KMS key",
          check_metrics_workspace, _needs_metrics),
    Check("metrics-agent", "The metrics agent runs its desired tasks without public IPs and no credential in its "
                           "plain environment", check_metrics_agent, _needs_metrics),
)

