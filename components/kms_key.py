"""A customer-managed KMS key with rotation, an alias and an explicit key policy.

The policy always lets the account root administer the key (so IAM policies can grant use and the key can never be
orphaned) and adds only the statements a caller passes for the principals that actually use the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components.account import AwsAccount, policy_document


@dataclass(frozen=True)
class KmsKeyArgs:
    description: str
    alias: str
    account: AwsAccount
    protect: bool
    tags: Mapping[str, str]
    usage_statements: Sequence[dict[str, Any]] = field(default_factory=tuple)
    # Resources the policy names: KMS refuses a policy whose principal does not exist yet. A component here stands
    # for all of its children.
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    # 30 days is the longest window AWS allows: the most time to notice and cancel a mistaken deletion.
    deletion_window_days: int = 30


def logs_usage_statement(account: AwsAccount) -> dict[str, Any]:
    """Lets CloudWatch Logs use the key, only for log groups in this account and region."""
    return {
        "Sid": "AllowCloudWatchLogsInThisAccount",
        "Effect": "Allow",
        "Principal": {"Service": account.service_principal(f"logs.{account.region}")},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": account.arn("logs", "log-group:*")}},
    }


def cloudwatch_alarms_usage_statement(account: AwsAccount) -> dict[str, Any]:
    """Lets CloudWatch alarms of this account publish to an SNS topic encrypted with the key (the AWS-managed SNS key
    has no such statement, so alarms cannot use it)."""
    return {
        "Sid": "CloudWatchAlarmsOfThisAccountPublish",
        "Effect": "Allow",
        "Principal": {"Service": account.service_principal("cloudwatch")},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account.account_id},
            "ArnLike": {"aws:SourceArn": account.arn("cloudwatch", "alarm:*")},
        },
    }


class KmsKey(pulumi.ComponentResource):
    key: aws.kms.Key
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: KmsKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:index:KmsKey", name, None, opts)
        admin = {
            "Sid": "AccountRootAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": args.account.root_arn},
            "Action": "kms:*",
            "Resource": "*",
        }
        self.key = aws.kms.Key(
            name,
            description=args.description,
            enable_key_rotation=True,
            deletion_window_in_days=args.deletion_window_days,
            policy=policy_document(admin, *args.usage_statements),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=list(args.depends_on)),
        )
        aws.kms.Alias(name, name=args.alias, target_key_id=self.key.key_id, opts=pulumi.ResourceOptions(parent=self))
        self.arn = self.key.arn
        self.register_outputs({"arn": self.arn})
