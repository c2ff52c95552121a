"""Alarms: on the ClickHouse endpoint, on each NAT gateway, on the metrics agent; AWS's metric and dimension names,
thresholds and periods from config, missing data treated as each metric's publication means, both actions to the
topic."""

from __future__ import annotations

from scripts.offline.engine import run_program
from tests.helpers import by_name

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _alarms(run):
    return {r.inputs["name"].removeprefix(f"clickhouse-aws-{run.stack}-"): r.inputs for r in run.of_type(ALARM)}


def test_the_endpoint_alarms_watch_exactly_the_clickhouse_endpoint(dev_run):
    alarms = _alarms(dev_run)
    assert sorted(alarms) == ["endpoint-packets-dropped", "endpoint-resets"]
    endpoint = dev_run.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    # All four dimensions AWS/PrivateLinkEndpoints publishes an endpoint's series under, or the alarm never sees data.
    dimensions = {"VPC Id": dev_run.outputs["vpc_id"], "VPC Endpoint Id": endpoint.id, "Endpoint Type": "Interface",
                  "Service Name": dev_run.outputs["vpc_endpoint_service_name"]}
    for key, metric, threshold in (("endpoint-packets-dropped", "PacketsDropped", 10),
                                   ("endpoint-resets", "RstPacketsReceived", 300)):
        alarm = alarms[key]
        assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == (
            "AWS/PrivateLinkEndpoints", metric, "Sum")
        assert alarm["dimensions"] == dimensions
        assert (alarm["comparisonOperator"], alarm["threshold"]) == ("GreaterThanOrEqualToThreshold", threshold)
        # Published only for minutes with traffic: no data is no traffic.
        assert alarm["treatMissingData"] == "notBreaching"
        assert (alarm["period"], alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (300, 3, 2)
        assert alarm["alarmActions"] == alarm["okActions"] == [dev_run.outputs["alarm_topic_arn"]]
        assert "docs/observability.md" in alarm["alarmDescription"]


def test_each_nat_gateway_gets_its_egress_alarms(byoc_run):
    alarms = _alarms(byoc_run)
    nats = {r.name.removeprefix("network-nat-"): r for r in byoc_run.of_type("aws:ec2/natGateway:NatGateway")}
    assert len(nats) == 3
    assert sorted(alarms) == sorted([f"nat-{zone}-{kind}" for zone in nats
                                     for kind in ("port-allocation-errors", "packets-dropped")] + ["metrics-agent-down"])
    for zone, nat in nats.items():
        for kind, metric, threshold in (("port-allocation-errors", "ErrorPortAllocation", 1),
                                        ("packets-dropped", "PacketsDropCount", 100)):
            alarm = alarms[f"nat-{zone}-{kind}"]
            assert (alarm["namespace"], alarm["metricName"], alarm["threshold"]) == ("AWS/NATGateway", metric, threshold)
            assert alarm["dimensions"] == {"NatGatewayId": nat.id}
            assert alarm["treatMissingData"] == "notBreaching"
    assert len({nat.id for nat in nats.values()}) == 3


def test_a_stack_without_nat_has_no_egress_alarms(dev_run):
    assert not [name for name in _alarms(dev_run) if name.startswith("nat-")]


def test_the_agent_alarm_fires_when_no_task_runs(byoc_run, dev_run):
    assert "metrics-agent-down" not in _alarms(dev_run)
    alarm = _alarms(byoc_run)["metrics-agent-down"]
    service = by_name(byoc_run, "aws:ecs/service:Service")["metrics-service"]
    cluster = by_name(byoc_run, "aws:ecs/cluster:Cluster")["metrics-cluster"]
    assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == ("AWS/ECS", "CPUUtilization", "SampleCount")
    assert alarm["dimensions"] == {"ClusterName": cluster.inputs["name"], "ServiceName": service.inputs["name"]}
    assert (alarm["comparisonOperator"], alarm["threshold"]) == ("LessThanThreshold", 1)
    # ECS publishes nothing while no task runs: here missing data is the fault.
    assert alarm["treatMissingData"] == "breaching"


def test_thresholds_and_periods_come_from_config():
    run = run_program("dev", {"clickhouse-aws:alarmPeriodSeconds": "60", "clickhouse-aws:alarmEvaluationPeriods": "5",
                              "clickhouse-aws:alarmDatapointsToAlarm": "5",
                              "clickhouse-aws:alarmEndpointPacketsDropped": "1",
                              "clickhouse-aws:alarmEndpointResets": "50"})
    assert run.error is None, run.error
    alarms = _alarms(run)
    assert {(a["period"], a["evaluationPeriods"], a["datapointsToAlarm"]) for a in alarms.values()} == {(60, 5, 5)}
    assert alarms["endpoint-packets-dropped"]["threshold"] == 1 and alarms["endpoint-resets"]["threshold"] == 50
