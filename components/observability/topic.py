"""The stack's one alarm topic and who it notifies.

Every stack gets an SNS topic encrypted with its own customer KMS key whose policy lets this account's CloudWatch
alarms use it (the AWS-managed SNS key cannot be used by alarms): ``encrypted_alarm_topic``. A BYOC stack already has
such a topic, made by ``ByocLogging`` with the same function and handed to ClickHouse; it is reused rather than
doubled, so its URN and ARN stay as they were. The subscriptions from config (email, HTTPS) go on whichever topic the
stack has; each endpoint confirms its own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.account import AwsAccount
from components.kms_key import KmsKey, KmsKeyArgs, cloudwatch_alarms_usage_statement


@dataclass(frozen=True)
class AlarmTopicArgs:
    name_prefix: str
    account: AwsAccount
    protect: bool
    tags: Mapping[str, str]
    emails: Sequence[str] = field(default_factory=tuple)
    https_endpoints: Sequence[str] = field(default_factory=tuple)
    # The topic the stack already has (BYOC's); None creates one.
    existing_topic_arn: Optional[pulumi.Input[str]] = None


def encrypted_alarm_topic(
    resource_name: str, key_name: str, *, topic_name: str, description: str, account: AwsAccount, protect: bool,
    tags: Mapping[str, str], opts: pulumi.ResourceOptions, deletion_window_days: int = 30,
) -> tuple[KmsKey, aws.sns.Topic]:
    """An SNS topic ``topic_name`` under a customer KMS key of its own (alias ``alias/<topic_name>``) that this
    account's CloudWatch alarms may use; ``resource_name`` and ``key_name`` are the logical names, ``opts`` the
    caller's child options."""
    key = KmsKey(key_name, KmsKeyArgs(
        description=description,
        alias=f"alias/{topic_name}",
        account=account,
        protect=protect,
        tags=dict(tags),
        usage_statements=[cloudwatch_alarms_usage_statement(account)],
        deletion_window_days=deletion_window_days,
    ), opts=opts)
    topic = aws.sns.Topic(resource_name, name=topic_name, kms_master_key_id=key.arn, tags=dict(tags), opts=opts)
    return key, topic


def subscription_name(protocol: str, endpoint: str) -> str:
    """A logical name that stays with its endpoint whatever the list order, without putting the address in the URN."""
    return f"{protocol}-{hashlib.sha256(endpoint.encode()).hexdigest()[:12]}"


class AlarmTopic(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: AlarmTopicArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:observability:AlarmTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.existing_topic_arn is None:
            _, topic = encrypted_alarm_topic(
                name, "alarms", topic_name=f"{args.name_prefix}-alarms",
                description=f"SNS alarm topic of {args.name_prefix}", account=args.account, protect=args.protect,
                tags=args.tags, opts=child,
            )
            self.arn = topic.arn
        else:
            self.arn = pulumi.Output.from_input(args.existing_topic_arn)
        for protocol, endpoints in (("email", args.emails), ("https", args.https_endpoints)):
            for endpoint in endpoints:
                aws.sns.TopicSubscription(
                    f"{name}-{subscription_name(protocol, endpoint)}", topic=self.arn, protocol=protocol,
                    endpoint=endpoint, opts=child,
                )
        self.register_outputs({"arn": self.arn})
