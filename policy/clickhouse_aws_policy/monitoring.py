"""Alarm topics and metric stores are encrypted under customer keys, and alarms leave only over TLS.

An SNS topic without ``kmsMasterKeyId`` stores messages unencrypted at rest; a Managed Prometheus workspace without
``kmsKeyArn`` uses an AWS-owned key that the account can neither audit nor revoke. An ``http`` subscription sends
every alarm, with the account's resource names in it, in plain text.
"""

from __future__ import annotations

from pulumi_policy import Severity

from .framework import Check, resource_policy
from .values import is_unknown


def _required_key(prop: str, what: str):
    def validate(check: Check) -> None:
        # An unknown value is set (to a key created in this stack), which is all this policy requires.
        value = check.props.get(prop)
        if not is_unknown(value) and not value:
            check.report(f"{prop} is not set, so {what}; set it to a customer-managed KMS key.")
    return validate


sns_topic_kms = resource_policy(
    "sns-topic-kms",
    "SNS topics are encrypted with a KMS key.",
    Severity.MEDIUM,
    _required_key("kmsMasterKeyId", "the topic's messages are not encrypted at rest"),
    types=["aws:sns/topic:Topic"],
)

amp_workspace_customer_kms_key = resource_policy(
    "amp-workspace-customer-kms-key",
    "Amazon Managed Service for Prometheus workspaces are encrypted with a customer-managed KMS key.",
    Severity.MEDIUM,
    _required_key("kmsKeyArn", "the workspace's metrics are encrypted with an AWS-owned key the account cannot "
                               "audit or revoke"),
    types=["aws:amp/workspace:Workspace"],
)


def _tls_subscription(check: Check) -> None:
    protocol = check.props.get("protocol")
    if isinstance(protocol, str) and protocol.lower() == "http":
        check.report("protocol is http: SNS delivers every message in plain text; subscribe an https endpoint.")


sns_subscription_https_only = resource_policy(
    "sns-subscription-https-only",
    "SNS subscriptions to web endpoints use https, never http.",
    Severity.MEDIUM,
    _tls_subscription,
    types=["aws:sns/topicSubscription:TopicSubscription"],
)

POLICIES = [sns_topic_kms, amp_workspace_customer_kms_key, sns_subscription_https_only]
