"""monitoring: alarm topics and Prometheus workspaces under customer keys, alarms delivered over TLS only."""

from __future__ import annotations

import pytest
from pulumi.runtime.rpc import UNKNOWN

TOPIC = "aws:sns/topic:Topic"
WORKSPACE = "aws:amp/workspace:Workspace"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0b7a1d2c-3e4f-4a5b-8c6d-7e8f9a0b1c2d"


@pytest.mark.parametrize("policy,type_,prop", [
    ("sns-topic-kms", TOPIC, "kmsMasterKeyId"),
    ("amp-workspace-customer-kms-key", WORKSPACE, "kmsKeyArn"),
])
class TestCustomerKey:
    def test_without_a_key_blocks(self, pack, policy, type_, prop) -> None:
        for props in ({"name": "alarms"}, {"name": "alarms", prop: ""}):
            messages = pack.blocking(policy, type_, props)
            assert len(messages) == 1 and f"{prop} is not set" in messages[0]

    @pytest.mark.parametrize("key", [KEY_ARN, UNKNOWN])
    def test_with_a_key_passes(self, pack, policy, type_, prop, key) -> None:
        # Unknown: a key created in the same stack, known after the update.
        assert pack.messages(policy, type_, {"name": "alarms", prop: key}) == []


@pytest.mark.parametrize("protocol,blocked", [
    ("http", True), ("HTTP", True), ("https", False), ("email", False), ("sqs", False), (UNKNOWN, False),
])
def test_subscriptions_use_tls(pack, protocol, blocked) -> None:
    props = {"topic": "arn:aws:sns:us-east-1:123456789012:alarms", "protocol": protocol,
             "endpoint": "http://events.example.com/sns"}
    assert bool(pack.blocking("sns-subscription-https-only", SUBSCRIPTION, props)) is blocked
