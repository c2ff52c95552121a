"""Composes the observability components for a stack and returns the outputs a consumer reads.

The alarm topic comes first (every alarm notifies it), then the metrics agent (its service is alarmed on), then the
alarms and, last, the dashboard that shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import pulumi

from components.account import AwsAccount
from components.observability.alarms import Alarms, AlarmsArgs, Endpoint
from components.observability.dashboard import Dashboard, DashboardArgs
from components.observability.metrics_agent import MetricsAgent, MetricsAgentArgs
from components.observability.topic import AlarmTopic, AlarmTopicArgs
from stack_config.observability import ObservabilityConfig


@dataclass(frozen=True)
class ObservabilityInputs:
    config: ObservabilityConfig
    account: AwsAccount
    stack: str
    name_prefix: str
    protect: bool
    tags: Mapping[str, str]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    logs_kms_key_arn: pulumi.Input[str]
    nat_gateway_ids: Mapping[str, pulumi.Input[str]]
    secret_recovery_window_days: int
    metrics_secret_name: str
    # The ClickHouse PrivateLink endpoint, when the stack has one.
    endpoint: Optional[Endpoint] = None
    # The stack's service, which the metrics agent scrapes; None before a BYOC stack has one.
    service_id: Optional[pulumi.Input[str]] = None
    # BYOC's alarm topic: the stack keeps that one rather than making a second.
    existing_topic_arn: Optional[pulumi.Input[str]] = None


def deploy_observability(inputs: ObservabilityInputs) -> dict[str, Any]:
    """Declare the topic, alarms, dashboard and (metricsEnabled) metrics agent; return their stack outputs."""
    alarms_cfg, metrics_cfg, prefix = inputs.config.alarms, inputs.config.metrics, inputs.name_prefix
    topic = AlarmTopic("alarm-topic", AlarmTopicArgs(
        name_prefix=prefix, account=inputs.account, protect=inputs.protect, tags=inputs.tags,
        emails=alarms_cfg.emails, https_endpoints=alarms_cfg.https_endpoints,
        existing_topic_arn=inputs.existing_topic_arn,
    ))
    agent = None
    if metrics_cfg is not None:
        agent = MetricsAgent("metrics", MetricsAgentArgs(
            config=metrics_cfg, account=inputs.account, stack=inputs.stack, name_prefix=prefix,
            secret_name=inputs.metrics_secret_name, secret_recovery_window_days=inputs.secret_recovery_window_days,
            service_id=inputs.service_id, vpc_id=inputs.vpc_id, subnet_ids=inputs.subnet_ids,
            logs_kms_key_arn=inputs.logs_kms_key_arn, protect=inputs.protect, tags=inputs.tags,
        ))
    agent_ids = (agent.cluster_name, agent.service_name) if agent is not None else None
    alarms = Alarms("alarms", AlarmsArgs(
        name_prefix=prefix, config=alarms_cfg, topic_arn=topic.arn, tags=inputs.tags, endpoint=inputs.endpoint,
        nat_gateway_ids=inputs.nat_gateway_ids, agent=agent_ids,
    ))
    dashboard = Dashboard("dashboard", DashboardArgs(
        name=prefix, region=inputs.account.region, alarm_arns=list(alarms.arns.values()),
        endpoint_dimensions=inputs.endpoint.dimensions() if inputs.endpoint is not None else None,
        nat_gateway_ids=inputs.nat_gateway_ids, agent=agent_ids,
        prometheus_endpoint=agent.prometheus_endpoint if agent is not None else None,
    ))
    outputs: dict[str, Any] = {"alarm_topic_arn": topic.arn, "alarm_names": sorted(alarms.names.values()),
                               "dashboard_name": dashboard.name}
    if agent is not None:
        outputs["metrics_workspace_id"] = agent.workspace_id
        outputs["metrics_prometheus_endpoint"] = agent.prometheus_endpoint
        outputs["metrics_agent_service_arn"] = agent.service_arn
    return outputs
