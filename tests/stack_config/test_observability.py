"""Observability config: subscriptions and thresholds checked by their facts, the metrics agent read only when
enabled and refused, naming the keys, where it cannot work."""

from __future__ import annotations

import pytest

import stack_config

from scripts.offline.engine import UNSET, run_program
from tests.helpers import config_error

METRICS = {"metricsEnabled": "true"}


@pytest.mark.parametrize(("stack", "overrides", "key_name", "expected"), [
    ("dev", {"alarmEmails": ["oncall@example"]}, "alarmEmails", "'oncall@example' is not an email address"),
    ("dev", {"alarmEmails": ["on call@example.com"]}, "alarmEmails", "is not an email address"),
    ("dev", {"alarmEmails": ["a@example.com", "a@example.com"]}, "alarmEmails", "lists 'a@example.com' more than once"),
    ("dev", {"alarmHttpsEndpoints": ["http://events.example.com/sns"]}, "alarmHttpsEndpoints",
     "is not an https:// URL"),
    ("dev", {"alarmHttpsEndpoints": ["https://"]}, "alarmHttpsEndpoints", "is not an https:// URL"),
    ("dev", {"alarmPeriodSeconds": "120"}, "alarmPeriodSeconds", "120 is not one of 60, 300, 900, 3600"),
    ("dev", {"alarmEvaluationPeriods": "0"}, "alarmEvaluationPeriods", "0 is below the minimum of 1"),
    ("dev", {"alarmEvaluationPeriods": "2", "alarmDatapointsToAlarm": "3"}, "alarmDatapointsToAlarm",
     "3 is more than alarmEvaluationPeriods (2)"),
    ("dev", {"alarmEndpointPacketsDropped": "0"}, "alarmEndpointPacketsDropped", "0 is below the minimum of 1"),
    # The agent needs a way out, an organization, and its key.
    ("dev", METRICS, "metricsEnabled", "egress is none: set clickhouse-aws:egress to nat or transit-gateway"),
    ("byoc", {"clickhouse:organizationId": UNSET}, "clickhouse:organizationId",
     "is not set but metricsEnabled is true: the scrape URL names the organization"),
    ("byoc", {"metricsApiKeySecret": UNSET}, "metricsApiKeySecret",
     "is not set: the metrics agent authenticates with a ClickHouse Cloud API key; run `pulumi config set --secret "
     "clickhouse-aws:metricsApiKeySecret"),
    ("byoc", {"metricsApiKeyId": "key id|x"}, "metricsApiKeyId", "is not a ClickHouse Cloud API key ID"),
    ("byoc", {"metricsScrapeIntervalSeconds": "15"}, "metricsScrapeIntervalSeconds", "15 is below the minimum of 60"),
    ("byoc", {"metricsLogRetentionDays": "10"}, "metricsLogRetentionDays", "10 is not one of"),
    ("prod", METRICS, "metricsEnabled", "egress is none"),
    ("dev", {**METRICS, "vpcId": "vpc-0a1b2c3d4e5f60718", "subnetIds": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]},
     "metricsEnabled", "an adopted VPC (vpcId) keeps egress none, so metrics need a VPC this stack creates"),
    ("byoc", {"byocInterfaceEndpoints": ["ecr.api", "aps-workspaces"]},
     "byocInterfaceEndpoints", "lists aps-workspaces, which metricsEnabled already gives the VPC"),
])
def test_bad_input_is_one_message_naming_the_key(stack, overrides, key_name, expected):
    full = key_name if ":" in key_name else f"clickhouse-aws:{key_name}"
    message = config_error(stack, overrides)
    assert f"{full}: " in message and expected in message, message


def test_a_secret_value_is_never_echoed():
    message = config_error("byoc", {"metricsApiKeySecret": "has a space"})
    assert "clickhouse-aws:metricsApiKeySecret" in message and "has a space" not in message


def test_metrics_keys_are_not_read_while_metrics_are_off():
    # A malformed metrics key is no problem for a stack that does not use it, like the byoc* keys.
    run = run_program("dev", {"clickhouse-aws:metricsScrapeIntervalSeconds": "5"})
    assert run.error is None, run.error
    assert not run.of_type("aws:amp/workspace:Workspace")


def test_the_api_key_in_plain_text_is_refused():
    config = {"aws:region": "us-east-1", "clickhouse-aws:metricsApiKeySecret": "s3cr3t-value"}
    with pytest.raises(stack_config.ConfigError) as raised:
        stack_config.load("dev", config)
    message = str(raised.value)
    assert "clickhouse-aws:metricsApiKeySecret: is in plain text in the stack file" in message
    assert "s3cr3t-value" not in message
