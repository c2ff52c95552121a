"""The dashboard: endpoint traffic, every alarm, egress and the metrics agent, as deterministic JSON."""

from __future__ import annotations

import json

from components.observability.dashboard import DashboardView, dashboard_body

DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


def _body(run):
    dashboard = run.one(DASHBOARD)
    assert dashboard.inputs["dashboardName"] == run.outputs["dashboard_name"] == f"clickhouse-aws-{run.stack}"
    return dashboard.inputs["dashboardBody"], json.loads(dashboard.inputs["dashboardBody"])


def _titles(body):
    return [w["properties"].get("title") for w in body["widgets"] if w["type"] != "text"]


def _metric_names(body):
    return {row[1] for w in body["widgets"] if w["type"] == "metric" for row in w["properties"]["metrics"]}


def test_it_shows_the_endpoint_and_every_alarm(dev_run):
    _, body = _body(dev_run)
    alarm_widget = next(w for w in body["widgets"] if w["type"] == "alarm")
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(
        a.outputs["arn"] for a in dev_run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"))
    assert {"BytesProcessed", "ActiveConnections", "NewConnections", "PacketsDropped", "RstPacketsReceived"} <= \
        _metric_names(body)
    endpoint_id = dev_run.outputs["vpc_endpoint_id"]
    assert all(endpoint_id in row for w in body["widgets"] if w["type"] == "metric" for row in w["properties"]["metrics"])
    assert not any("Egress" in t for t in _titles(body))


def test_egress_is_shown_per_nat_gateway(byoc_run):
    _, body = _body(byoc_run)
    nat_ids = {r.id for r in byoc_run.of_type("aws:ec2/natGateway:NatGateway")}
    egress = [w for w in body["widgets"] if w["type"] == "metric" and w["properties"]["title"].startswith("Egress")]
    shown = {row[3] for w in egress for row in w["properties"]["metrics"]}
    assert shown == nat_ids
    assert {"BytesOutToDestination", "PacketsDropCount", "ErrorPortAllocation"} <= _metric_names(body)
    # A BYOC stack has no ClickHouse PrivateLink endpoint of its own.
    assert "BytesProcessed" not in _metric_names(body)


def test_the_metrics_agent_and_its_workspace_are_shown_when_on(byoc_run, dev_run):
    text, body = _body(byoc_run)
    assert byoc_run.outputs["metrics_prometheus_endpoint"] in text
    assert {"CPUUtilization", "MemoryUtilization"} <= _metric_names(body)
    assert "MemoryUtilization" not in _metric_names(_body(dev_run)[1])


def test_the_same_values_give_the_same_text():
    view = dict(title="t", region="us-east-1", alarm_arns=["arn:a", "arn:b"],
                endpoint_dimensions={"VPC Id": "vpc-1", "VPC Endpoint Id": "vpce-1", "Endpoint Type": "Interface",
                                     "Service Name": "com.amazonaws.vpce.us-east-1.vpce-svc-1"})
    first = dashboard_body(DashboardView(**view, nat_gateway_ids={"us-east-1a": "nat-a", "us-east-1b": "nat-b"}))
    second = dashboard_body(DashboardView(**view, nat_gateway_ids={"us-east-1b": "nat-b", "us-east-1a": "nat-a"}))
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
