"""The alarms a platform team keeps on, each notifying the alarm topic when it fires and when it clears.

Which alarms a stack gets follows from what it has: the ClickHouse PrivateLink endpoint (dropped packets, resets from
the service), the NAT gateways of egress nat (port allocation errors, dropped packets), and the metrics agent when
metricsEnabled (no task running). ``alarm_specs`` decides them as data, so tests and the dashboard read the same list;
docs/observability.md says what each means and what to do when it fires.

Metric and dimension names are AWS's (AWS PrivateLink and NAT gateway CloudWatch metric references): an alarm whose
dimensions do not match a published series exactly never leaves INSUFFICIENT_DATA.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from stack_config.observability import AlarmConfig

GREATER_OR_EQUAL = "GreaterThanOrEqualToThreshold"
LESS_THAN = "LessThanThreshold"


@dataclass(frozen=True)
class Endpoint:
    """The interface endpoint to ClickHouse, by the four dimensions AWS/PrivateLinkEndpoints publishes it under."""

    vpc_id: pulumi.Input[str]
    endpoint_id: pulumi.Input[str]
    service_name: pulumi.Input[str]

    def dimensions(self) -> dict[str, pulumi.Input[str]]:
        return {"VPC Id": self.vpc_id, "VPC Endpoint Id": self.endpoint_id, "Endpoint Type": "Interface",
                "Service Name": self.service_name}


@dataclass(frozen=True)
class AlarmSpec:
    key: str  # the logical name's and alarm name's suffix
    description: str
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    statistic: str
    comparison: str
    threshold: float
    # Why missing data means what it means here is said where each alarm is built.
    treat_missing_data: str


@dataclass(frozen=True)
class AlarmsArgs:
    name_prefix: str
    config: AlarmConfig
    topic_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    endpoint: Optional[Endpoint] = None
    # NAT gateway IDs by zone.
    nat_gateway_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # (cluster name, service name) of the metrics agent.
    agent: Optional[tuple[pulumi.Input[str], pulumi.Input[str]]] = None


def alarm_specs(args: AlarmsArgs) -> list[AlarmSpec]:
    """Every alarm the stack gets, in a fixed order (endpoint, NAT gateways by zone, agent)."""
    cfg, specs = args.config, []
    if args.endpoint is not None:
        # PrivateLink reports endpoint metrics only for minutes with traffic: no data is no traffic, never a fault.
        specs += [
            AlarmSpec("endpoint-packets-dropped",
                      "The ClickHouse PrivateLink endpoint is dropping packets: ClickHouse's endpoint service or the "
                      "endpoint is unhealthy. See docs/observability.md.",
                      "AWS/PrivateLinkEndpoints", "PacketsDropped", args.endpoint.dimensions(), "Sum",
                      GREATER_OR_EQUAL, cfg.endpoint_packets_dropped, "notBreaching"),
            AlarmSpec("endpoint-resets",
                      "ClickHouse is resetting connections through the PrivateLink endpoint: the service is "
                      "restarting, refusing or unhealthy. See docs/observability.md.",
                      "AWS/PrivateLinkEndpoints", "RstPacketsReceived", args.endpoint.dimensions(), "Sum",
                      GREATER_OR_EQUAL, cfg.endpoint_resets, "notBreaching"),
        ]
    for zone, nat_id in sorted(args.nat_gateway_ids.items()):
        # A NAT gateway publishes every minute; a gap is CloudWatch's, and alarming on it would page for nothing.
        specs += [
            AlarmSpec(f"nat-{zone}-port-allocation-errors",
                      f"The NAT gateway in {zone} cannot allocate source ports: outbound connections from the private "
                      "subnets fail. See docs/observability.md.",
                      "AWS/NATGateway", "ErrorPortAllocation", {"NatGatewayId": nat_id}, "Sum",
                      GREATER_OR_EQUAL, cfg.nat_port_allocation_errors, "notBreaching"),
            AlarmSpec(f"nat-{zone}-packets-dropped",
                      f"The NAT gateway in {zone} is dropping packets: egress (Tailscale, the ClickHouse API) is "
                      "degraded. See docs/observability.md.",
                      "AWS/NATGateway", "PacketsDropCount", {"NatGatewayId": nat_id}, "Sum",
                      GREATER_OR_EQUAL, cfg.nat_packets_dropped, "notBreaching"),
        ]
    if args.agent is not None:
        cluster, service = args.agent
        # ECS publishes a service's CPUUtilization only while a task runs: here missing data *is* the fault.
        specs.append(AlarmSpec(
            "metrics-agent-down",
            "No ClickHouse metrics agent task is running: ClickHouse Cloud metrics stop reaching the Prometheus "
            "workspace. See docs/observability.md.",
            "AWS/ECS", "CPUUtilization", {"ClusterName": cluster, "ServiceName": service}, "SampleCount",
            LESS_THAN, 1, "breaching"))
    return specs


class Alarms(pulumi.ComponentResource):
    """One CloudWatch metric alarm per spec, notifying the topic on ALARM and on OK."""

    arns: dict[str, pulumi.Output[str]]
    names: dict[str, str]

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:observability:Alarms", name, None, opts)
        cfg = args.config
        self.arns, self.names = {}, {}
        for spec in alarm_specs(args):
            alarm_name = f"{args.name_prefix}-{spec.key}"
            alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.key}",
                name=alarm_name,
                alarm_description=spec.description,
                namespace=spec.namespace,
                metric_name=spec.metric,
                dimensions=dict(spec.dimensions),
                statistic=spec.statistic,
                comparison_operator=spec.comparison,
                threshold=spec.threshold,
                period=cfg.period_seconds,
                evaluation_periods=cfg.evaluation_periods,
                datapoints_to_alarm=cfg.datapoints_to_alarm,
                treat_missing_data=spec.treat_missing_data,
                alarm_actions=[args.topic_arn],
                ok_actions=[args.topic_arn],
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.arns[spec.key], self.names[spec.key] = alarm.arn, alarm_name
        self.register_outputs({"arns": self.arns})
