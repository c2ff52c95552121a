"""The alarm topic: one per stack, under a customer key CloudWatch alarms may use, with the subscriptions config asks
for; BYOC keeps the topic it already hands to ClickHouse."""

from __future__ import annotations

import json

from scripts.offline.engine import run_program
from tests.helpers import by_name

TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def test_every_alarm_notifies_one_topic_encrypted_for_cloudwatch(dev_run):
    topic = dev_run.one(TOPIC)
    key = by_name(dev_run, "aws:kms/key:Key")["alarms"]
    assert topic.inputs["name"] == "clickhouse-aws-dev-alarms"
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    assert dev_run.outputs["alarm_topic_arn"] == topic.outputs["arn"]
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    cloudwatch = statements["CloudWatchAlarmsOfThisAccountPublish"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert cloudwatch["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"}
    assert not dev_run.of_type(SUBSCRIPTION)


def _subscriptions(emails, urls):
    run = run_program("dev", {"clickhouse-aws:alarmEmails": emails, "clickhouse-aws:alarmHttpsEndpoints": urls})
    assert run.error is None, run.error
    return run, {r.name: (r.inputs["protocol"], r.inputs["endpoint"], r.inputs["topic"])
                 for r in run.of_type(SUBSCRIPTION)}


def test_subscriptions_from_config_keep_their_names_whatever_the_order():
    emails, urls = ["oncall@example.com", "data-platform@example.com"], ["https://events.example.com/sns"]
    run, found = _subscriptions(emails, urls)
    topic = run.outputs["alarm_topic_arn"]
    assert sorted(found.values()) == sorted([("email", e, topic) for e in emails] + [("https", urls[0], topic)])
    # No address in a resource name (URNs are shown everywhere), and reordering the list replaces nothing.
    assert not any("@" in name or "example" in name for name in found)
    _, reordered = _subscriptions(list(reversed(emails)), urls)
    assert reordered == found


def test_byoc_keeps_its_one_topic(byoc_run):
    topics = byoc_run.of_type(TOPIC)
    assert [t.name for t in topics] == ["byoc-logging-alarms"]
    assert byoc_run.outputs["alarm_topic_arn"] == byoc_run.outputs["byoc"]["sns_topic_arn"] == topics[0].outputs["arn"]
    alarms = byoc_run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert alarms and all(a.inputs["alarmActions"] == [topics[0].outputs["arn"]] for a in alarms)
