"""BYOC CloudWatch: the log groups under the stack's logs key (EKS's only for an agreed cluster), and an alarm topic under
its own key."""

from __future__ import annotations

import pytest

from stack_config.keys import KEYS_BY_NAME

LOGGING = "clickhouse-aws:byoc:Logging"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def stack_logs_key_arn(result) -> str:
    (key,) = [k for k in result.of_type("aws:kms/key:Key") if k.name == "logs"]
    return key.outputs["arn"]


@pytest.fixture(scope="module")
def groups(children):
    """The log groups' inputs by group name."""
    return lambda result: {g.inputs["name"]: g.inputs for g in children(result, LOGGING, LOG_GROUP)}


def test_two_groups_under_the_stacks_logs_key_and_no_eks_group_without_an_agreed_cluster(phase1, groups):
    found = groups(phase1)
    assert {name: g["retentionInDays"] for name, g in found.items()} == {
        "/aws/clickhouse/query-logs": 30,
        "/aws/clickhouse/error-logs": 90,
    }
    assert {g["kmsKeyId"] for g in found.values()} == {stack_logs_key_arn(phase1)}
    assert not any(name.startswith("/aws/eks/") for name in groups(phase1))


def test_the_eks_group_exists_for_the_agreed_cluster_under_the_logs_key(byoc_run, groups):
    result = byoc_run("byoc", {"clickhouse-aws:byocEksClusterName": "clickhouse-cloud-acme"})
    group = groups(result)["/aws/eks/clickhouse-cloud-acme/cluster"]
    assert group["retentionInDays"] == 90 and group["kmsKeyId"] == stack_logs_key_arn(result)
    assert result.outputs["byoc"]["log_group_names"]["eks_cluster"] == "/aws/eks/clickhouse-cloud-acme/cluster"


def test_the_defaults_are_the_onboarding_retentions():
    defaults = tuple(KEYS_BY_NAME[k].default for k in (
        "byocQueryLogRetentionDays", "byocErrorLogRetentionDays", "byocEksLogRetentionDays"))
    assert defaults == (30, 90, 90)


def test_eks_log_group_follows_the_cluster_name(custom, groups):
    assert "/aws/eks/clickhouse-cloud-acme-prod/cluster" in groups(custom)
    assert custom.outputs["byoc"]["log_group_names"]["eks_cluster"] == "/aws/eks/clickhouse-cloud-acme-prod/cluster"


def test_output_names_the_groups(phase1):
    assert phase1.outputs["byoc"]["log_group_names"] == {
        "query": "/aws/clickhouse/query-logs",
        "error": "/aws/clickhouse/error-logs",
    }


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_alarms_of_this_account_may_use(phase1, children, document, statement):
    (topic,) = children(phase1, LOGGING, "aws:sns/topic:Topic")
    (key,) = children(phase1, LOGGING, "aws:kms/key:Key")
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    assert key.inputs["enableKeyRotation"] is True and key.protect is True
    publish = statement(document(key), "CloudWatchAlarmsOfThisAccountPublish")
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publish["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"},
    }
    assert phase1.outputs["byoc"]["sns_topic_arn"].startswith("arn:aws:sns:us-east-1:123456789012:")


def test_retention_is_config(custom, groups):
    assert {name: g["retentionInDays"] for name, g in groups(custom).items()} == {
        "/aws/clickhouse/query-logs": 731,
        "/aws/clickhouse/error-logs": 545,
        "/aws/eks/clickhouse-cloud-acme-prod/cluster": 400,
    }
