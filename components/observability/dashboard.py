"""The stack's CloudWatch dashboard: the ClickHouse endpoint's traffic, the alarms, egress through NAT and, with
metricsEnabled, the metrics agent and where its series land.

``dashboard_body`` builds the body as data from plain values (resolved Outputs), in a fixed order with sorted keys, so
the same stack always yields the same text and a second ``up`` shows no diff.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

WIDTH, HEIGHT = 12, 6  # half the dashboard's 24 columns


@dataclass(frozen=True)
class DashboardView:
    """What the dashboard shows, as plain values."""

    title: str
    region: str
    alarm_arns: Sequence[str]
    # "VPC Id", "VPC Endpoint Id", "Endpoint Type", "Service Name" of the ClickHouse endpoint, when the stack has one.
    endpoint_dimensions: Optional[Mapping[str, str]] = None
    # NAT gateway IDs by zone.
    nat_gateway_ids: Mapping[str, str] = field(default_factory=dict)
    # (cluster, service) of the metrics agent and the workspace's query endpoint, when metricsEnabled.
    agent: Optional[tuple[str, str]] = None
    prometheus_endpoint: Optional[str] = None


def _metric(namespace: str, name: str, dimensions: Mapping[str, str], **options: Any) -> list:
    row: list = [namespace, name]
    for key, value in dimensions.items():
        row += [key, value]
    return row + ([options] if options else [])


def _graph(title: str, region: str, metrics: list, stat: str = "Sum") -> dict:
    return {"type": "metric", "width": WIDTH, "height": HEIGHT, "properties": {
        "title": title, "region": region, "view": "timeSeries", "stacked": False, "stat": stat, "period": 300,
        "metrics": metrics}}


def dashboard_body(view: DashboardView) -> dict:
    widgets: list[dict] = [{"type": "text", "width": 24, "height": 2, "properties": {
        "markdown": f"# {view.title}\nAlarms notify the stack's SNS topic; docs/observability.md says what each "
                    "means and what to do."}}]
    if view.alarm_arns:
        widgets.append({"type": "alarm", "width": 24, "height": 3, "properties": {
            "title": "Alarms", "alarms": list(view.alarm_arns)}})
    if view.endpoint_dimensions is not None:
        dims = view.endpoint_dimensions
        widgets += [
            _graph("ClickHouse endpoint: bytes processed", view.region,
                   [_metric("AWS/PrivateLinkEndpoints", "BytesProcessed", dims)]),
            _graph("ClickHouse endpoint: connections", view.region, [
                _metric("AWS/PrivateLinkEndpoints", "ActiveConnections", dims, stat="Maximum"),
                _metric("AWS/PrivateLinkEndpoints", "NewConnections", dims)]),
            _graph("ClickHouse endpoint: dropped packets and resets", view.region, [
                _metric("AWS/PrivateLinkEndpoints", "PacketsDropped", dims),
                _metric("AWS/PrivateLinkEndpoints", "RstPacketsReceived", dims)]),
        ]
    if view.nat_gateway_ids:
        nats = sorted(view.nat_gateway_ids.items())
        widgets += [
            _graph("Egress: bytes out through NAT", view.region, [
                _metric("AWS/NATGateway", "BytesOutToDestination", {"NatGatewayId": nat}, label=zone)
                for zone, nat in nats]),
            _graph("Egress: NAT drops and port allocation errors", view.region, [
                _metric("AWS/NATGateway", metric, {"NatGatewayId": nat}, label=f"{zone} {metric}")
                for zone, nat in nats for metric in ("PacketsDropCount", "ErrorPortAllocation")]),
        ]
    if view.agent is not None:
        cluster, service = view.agent
        dims = {"ClusterName": cluster, "ServiceName": service}
        widgets += [
            _graph("ClickHouse metrics agent: CPU and memory", view.region, [
                _metric("AWS/ECS", "CPUUtilization", dims), _metric("AWS/ECS", "MemoryUtilization", dims)],
                stat="Average"),
            {"type": "text", "width": WIDTH, "height": HEIGHT, "properties": {"markdown": (
                "## ClickHouse Cloud metrics\nThe agent remote-writes the service's ClickHouse and ClickPipes "
                f"series to Amazon Managed Service for Prometheus. Query them (Grafana, PromQL) at:\n\n"
                f"`{view.prometheus_endpoint}`")}},
        ]
    return {"widgets": widgets}


@dataclass(frozen=True)
class DashboardArgs:
    name: str
    region: str
    alarm_arns: Sequence[pulumi.Input[str]]
    endpoint_dimensions: Optional[Mapping[str, pulumi.Input[str]]] = None
    nat_gateway_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    agent: Optional[tuple[pulumi.Input[str], pulumi.Input[str]]] = None
    prometheus_endpoint: Optional[pulumi.Input[str]] = None


class Dashboard(pulumi.ComponentResource):
    """The CloudWatch dashboard, its body rendered once every value it names is known."""

    name: pulumi.Output[str]

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:observability:Dashboard", name, None, opts)
        inputs = pulumi.Output.from_input({
            "alarm_arns": list(args.alarm_arns),
            "endpoint_dimensions": dict(args.endpoint_dimensions) if args.endpoint_dimensions is not None else None,
            "nat_gateway_ids": dict(args.nat_gateway_ids),
            "agent": list(args.agent) if args.agent is not None else None,
            "prometheus_endpoint": args.prometheus_endpoint,
        })
        body = inputs.apply(lambda v: json.dumps(dashboard_body(DashboardView(
            title=args.name, region=args.region, alarm_arns=v["alarm_arns"],
            endpoint_dimensions=v["endpoint_dimensions"], nat_gateway_ids=v["nat_gateway_ids"],
            agent=tuple(v["agent"]) if v["agent"] is not None else None,
            prometheus_endpoint=v["prometheus_endpoint"])), sort_keys=True))
        dashboard = aws.cloudwatch.Dashboard(name, dashboard_name=args.name, dashboard_body=body,
                                             opts=pulumi.ResourceOptions(parent=self))
        self.name = dashboard.dashboard_name
        self.register_outputs({"name": self.name})
