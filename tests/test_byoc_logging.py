"""BYOC CloudWatch: the three log groups under the stack's logs key, and an alarm topic under its own key."""

from __future__ import annotations

import json

import stack_config
from tests.byoc_support import NS, children, custom, run, statement

LOGGING = "clickhouse-aws:byoc:Logging"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def stack_logs_key_arn(result) -> str:
    (key,) = [k for k in result.of_type("aws:kms/key:Key") if k.name == "logs"]
    return key.outputs["arn"]


def groups(result) -> dict[str, dict]:
    return {g.inputs["name"]: g.inputs for g in children(result, LOGGING, LOG_GROUP)}


def test_defaults_are_30_90_90_days_under_the_stacks_logs_key():
    result = run("prod", {f"{NS}:byocQueryLogRetentionDays": 30, f"{NS}:byocErrorLogRetentionDays": 90,
                          f"{NS}:byocEksLogRetentionDays": 90})
    found = groups(result)
    assert {name: g["retentionInDays"] for name, g in found.items()} == {
        "/aws/clickhouse/query-logs": 30,
        "/aws/clickhouse/error-logs": 90,
        "/aws/eks/clickhouse-cloud-prod/cluster": 90,
    }
    assert {g["kmsKeyId"] for g in found.values()} == {stack_logs_key_arn(result)}


def test_project_defaults_match_the_issue():
    defaults = {k.name: k.default for k in stack_config.KEYS}
    assert (defaults["byocQueryLogRetentionDays"], defaults["byocErrorLogRetentionDays"],
            defaults["byocEksLogRetentionDays"]) == (30, 90, 90)


def test_prod_keeps_the_onboarding_retentions():
    assert sorted(g["retentionInDays"] for g in groups(run()).values()) == [30, 90, 90]


def test_eks_log_group_follows_the_cluster_name():
    result = custom()
    assert "/aws/eks/clickhouse-cloud-acme-prod/cluster" in groups(result)
    assert result.outputs["byoc"]["log_group_names"]["eks_cluster"] == "/aws/eks/clickhouse-cloud-acme-prod/cluster"


def test_output_names_the_three_groups():
    assert run().outputs["byoc"]["log_group_names"] == {
        "query": "/aws/clickhouse/query-logs",
        "error": "/aws/clickhouse/error-logs",
        "eks_cluster": "/aws/eks/clickhouse-cloud-prod/cluster",
    }


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_alarms_of_this_account_may_use():
    result = run()
    (topic,) = children(result, LOGGING, "aws:sns/topic:Topic")
    (key,) = children(result, LOGGING, "aws:kms/key:Key")
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    assert key.inputs["enableKeyRotation"] is True and key.protect is True
    publish = statement(json.loads(key.inputs["policy"]), "CloudWatchAlarmsOfThisAccountPublish")
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publish["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"},
    }
    assert result.outputs["byoc"]["sns_topic_arn"].startswith("arn:aws:sns:us-east-1:123456789012:")


def test_retention_is_config():
    assert {name: g["retentionInDays"] for name, g in groups(custom()).items()} == {
        "/aws/clickhouse/query-logs": 731,
        "/aws/clickhouse/error-logs": 545,
        "/aws/eks/clickhouse-cloud-acme-prod/cluster": 400,
    }
