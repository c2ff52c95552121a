"""How the stack is watched (``scripts.audit.observability``): the alarm topic, alarms, dashboard and, with
metricsEnabled, the workspace and the agent. Each test starts from a compliant dev-shaped account (plus the metrics
agent where the check needs it), breaks one thing and runs only the check under test. Where moto falls short (a
workspace's kmsKeyArn, a service's running tasks) the doubles in ``account.py`` answer from what the test set up."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.audit.model import CheckResult, CheckStatus
from tests.scripts.audit.account import (
    RUNNING_TASKS, WORKSPACE_KEYS, Built, add_metrics, agent_service, agent_task_definition, alarm, patch_response,
    run_check,
)


@pytest.fixture
def metrics(dev: Built) -> Built:
    add_metrics(dev)
    return dev


def policies(result: CheckResult) -> set[str]:
    assert result.status is (CheckStatus.FAIL if result.findings else CheckStatus.PASS)
    return {finding.policy for finding in result.findings}


# --- alarm topic --------------------------------------------------------------------------------------------------


def test_an_encrypted_topic_passes(dev: Built) -> None:
    assert policies(run_check(dev, "alarm-topic")) == set()


def test_a_topic_without_a_key(dev: Built) -> None:
    dev.client("sns").set_topic_attributes(TopicArn=dev.outputs["alarm_topic_arn"], AttributeName="KmsMasterKeyId",
                                           AttributeValue="")
    assert policies(run_check(dev, "alarm-topic")) == {"sns-topic-kms"}


def test_the_topic_is_missing(dev: Built) -> None:
    dev.client("sns").delete_topic(TopicArn=dev.outputs["alarm_topic_arn"])
    assert policies(run_check(dev, "alarm-topic")) == {"audit-resource-exists"}


# --- alarms -------------------------------------------------------------------------------------------------------


def test_alarms_that_notify_the_topic_pass_and_their_states_are_listed(metrics: Built) -> None:
    result = run_check(metrics, "alarms")
    assert policies(result) == set()
    assert result.details == ("clickhouse-aws-dev-endpoint-packets-dropped: OK", "clickhouse-aws-dev-endpoint-resets: OK",
                              "clickhouse-aws-dev-metrics-agent-down: OK")


def test_an_expected_alarm_is_missing(dev: Built) -> None:
    dev.client("cloudwatch").delete_alarms(AlarmNames=["clickhouse-aws-dev-endpoint-resets"])
    [finding] = run_check(dev, "alarms").findings
    assert (finding.policy, finding.resource_id) == ("audit-resource-exists", "clickhouse-aws-dev-endpoint-resets")


def test_every_alarm_the_outputs_name_is_looked_for(dev: Built) -> None:
    # A NAT gateway's alarm (egress nat) is named in alarm_names like any other.
    nat = "clickhouse-aws-dev-nat-us-east-1a-packets-dropped"
    dev.outputs["alarm_names"] = sorted([*dev.outputs["alarm_names"], nat])
    [finding] = run_check(dev, "alarms").findings
    assert (finding.policy, finding.resource_id) == ("audit-resource-exists", nat)


def test_an_alarm_that_notifies_no_one(dev: Built) -> None:
    alarm(dev, "endpoint-resets", actions=[])
    [finding] = run_check(dev, "alarms").findings
    assert finding.policy == "audit-alarm-notifies-topic" and "its actions: none" in finding.message


def test_an_alarm_whose_actions_are_disabled(dev: Built) -> None:
    dev.client("cloudwatch").disable_alarm_actions(AlarmNames=["clickhouse-aws-dev-endpoint-resets"])
    [finding] = run_check(dev, "alarms").findings
    assert finding.policy == "audit-alarm-notifies-topic" and finding.message.endswith(", disabled)")


def set_state(built: Built, name: str, state: str) -> None:
    built.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def test_a_breaching_alarm_without_data_can_never_fire(metrics: Built) -> None:
    set_state(metrics, "clickhouse-aws-dev-metrics-agent-down", "INSUFFICIENT_DATA")
    [finding] = run_check(metrics, "alarms").findings
    assert (finding.policy, finding.resource_id) == ("audit-alarm-has-data", "clickhouse-aws-dev-metrics-agent-down")


def test_other_states_are_information(metrics: Built) -> None:
    set_state(metrics, "clickhouse-aws-dev-endpoint-resets", "INSUFFICIENT_DATA")
    set_state(metrics, "clickhouse-aws-dev-metrics-agent-down", "ALARM")
    result = run_check(metrics, "alarms")
    assert policies(result) == set()
    assert "clickhouse-aws-dev-endpoint-resets: INSUFFICIENT_DATA" in result.details
    assert "clickhouse-aws-dev-metrics-agent-down: ALARM" in result.details


# --- dashboard ----------------------------------------------------------------------------------------------------


def test_the_dashboard_exists(dev: Built) -> None:
    assert policies(run_check(dev, "dashboard")) == set()


def test_the_dashboard_is_missing(dev: Built) -> None:
    dev.client("cloudwatch").delete_dashboards(DashboardNames=["clickhouse-aws-dev"])
    assert policies(run_check(dev, "dashboard")) == {"audit-resource-exists"}


# --- metrics workspace and agent ------------------------------------------------------------------------------------


@pytest.mark.parametrize("check_id", ["metrics-workspace", "metrics-agent"])
def test_without_metrics_the_checks_are_not_applicable(dev: Built, check_id: str) -> None:
    result = run_check(dev, check_id)
    assert result.status is CheckStatus.SKIP and (result.skip_reason or "").startswith("not applicable")


def test_an_active_workspace_under_a_customer_key_passes(metrics: Built) -> None:
    assert policies(run_check(metrics, "metrics-workspace")) == set()


def test_a_workspace_under_an_aws_owned_key(metrics: Built) -> None:
    WORKSPACE_KEYS.clear()
    [finding] = run_check(metrics, "metrics-workspace").findings
    assert finding.policy == "amp-workspace-customer-kms-key" and "AWS-owned key" in finding.message


def test_a_workspace_under_a_key_that_is_gone(metrics: Built) -> None:
    gone = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    WORKSPACE_KEYS[metrics.outputs["metrics_workspace_id"]] = gone
    [finding] = run_check(metrics, "metrics-workspace").findings
    assert finding.policy == "amp-workspace-customer-kms-key" and f"{gone}, which does not exist" in finding.message


def test_a_workspace_that_is_not_active(metrics: Built) -> None:
    # moto creates every workspace ACTIVE.
    def creating(parsed: dict[str, Any]) -> None:
        parsed["workspace"]["status"] = {"statusCode": "CREATION_FAILED"}

    patch_response(metrics.session, "amp.DescribeWorkspace", creating)
    assert policies(run_check(metrics, "metrics-workspace")) == {"audit-amp-workspace-active"}


def test_the_workspace_is_missing(metrics: Built) -> None:
    metrics.client("amp").delete_workspace(workspaceId=metrics.outputs["metrics_workspace_id"])
    assert policies(run_check(metrics, "metrics-workspace")) == {"audit-resource-exists"}


def test_a_running_private_agent_passes(metrics: Built) -> None:
    assert policies(run_check(metrics, "metrics-agent")) == set()


def test_the_agent_is_not_running(metrics: Built) -> None:
    RUNNING_TASKS["prometheus-agent"] = 0
    [finding] = run_check(metrics, "metrics-agent").findings
    assert finding.policy == "audit-ecs-service-running" and finding.message == "0 of 1 desired agent task(s) running"


def test_the_agent_gets_a_public_ip(metrics: Built) -> None:
    agent_service(metrics, public_ip=True)
    assert policies(run_check(metrics, "metrics-agent")) == {"no-public-ip-address"}


def test_a_credential_in_the_agents_plain_environment(metrics: Built) -> None:
    agent_service(metrics, task_definition=agent_task_definition(metrics, [
        {"name": "PROMETHEUS_CONFIG", "value": "{}"},
        {"name": "CLICKHOUSE_API_KEY_SECRET", "value": "plain-text-api-secret"},
        {"name": "SIGNING_KEY_ARN", "value": "arn:aws:kms:us-east-1:123456789012:key/abc"},
    ]))
    [finding] = run_check(metrics, "metrics-agent").findings
    assert finding.policy == "ecs-task-no-plaintext-secrets"
    assert "'prometheus-agent' sets CLICKHOUSE_API_KEY_SECRET" in finding.message
    assert "plain-text-api-secret" not in finding.message


def test_the_agent_service_is_missing(metrics: Built) -> None:
    metrics.client("ecs").delete_service(cluster="clickhouse-aws-dev-metrics", service="prometheus-agent", force=True)
    [finding] = run_check(metrics, "metrics-agent").findings
    assert (finding.policy, finding.resource_id) == ("audit-resource-exists", metrics.outputs["metrics_agent_service_arn"])


def test_the_agent_cluster_is_missing(dev: Built) -> None:
    dev.outputs["metrics_workspace_id"] = "ws-00000000-0000-0000-0000-000000000000"
    dev.outputs["metrics_agent_service_arn"] = "arn:aws:ecs:us-east-1:111122223333:service/gone/prometheus-agent"
    assert policies(run_check(dev, "metrics-agent")) == {"audit-resource-exists"}
