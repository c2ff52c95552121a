"""CloudWatch for ClickHouse BYOC: the query and error log groups, the EKS control plane's when the cluster name is
agreed with ClickHouse (ByocNames.log_groups), and an SNS topic for alarms.

The log groups are created ahead of ClickHouse so their retention and encryption are ours: all use the stack's logs
KMS key (the one the VPC flow logs use). The alarm topic has its own key, because CloudWatch alarms can publish to an
encrypted topic only if the key policy lets the CloudWatch service use the key, which the AWS-managed SNS key does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import pulumi
import pulumi_aws as aws

from components.byoc.names import ByocNames
from components.observability.topic import encrypted_alarm_topic


@dataclass(frozen=True)
class ByocLoggingArgs:
    names: ByocNames
    logs_kms_key_arn: pulumi.Input[str]
    protect: bool
    tags: Mapping[str, str]


class ByocLogging(pulumi.ComponentResource):
    log_group_names: dict[str, pulumi.Output[str]]
    sns_topic_arn: pulumi.Output[str]
    alarms_kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ByocLoggingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:byoc:Logging", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        names, cfg = args.names, args.names.config
        tags = dict(args.tags)
        retention = {
            "query": cfg.query_log_retention_days,
            "error": cfg.error_log_retention_days,
            "eks_cluster": cfg.eks_log_retention_days,
        }
        self.log_group_names = {
            key: aws.cloudwatch.LogGroup(
                f"{name}-{key.replace('_', '-')}",
                name=log_group,
                retention_in_days=retention[key],
                kms_key_id=args.logs_kms_key_arn,
                tags=tags,
                opts=child,
            ).name
            for key, log_group in names.log_groups.items()
        }

        alarms_key, topic = encrypted_alarm_topic(
            f"{name}-alarms", "byoc-alarms", topic_name=f"{names.name_prefix}-byoc-alarms",
            description="SNS topic for ClickHouse BYOC alarms", account=names.account, protect=args.protect,
            tags=tags, opts=child, deletion_window_days=cfg.kms_deletion_window_days,
        )
        self.sns_topic_arn = topic.arn
        self.alarms_kms_key_arn = alarms_key.arn
        self.register_outputs({"log_group_names": self.log_group_names, "sns_topic_arn": self.sns_topic_arn})
