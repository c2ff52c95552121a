"""Facts about the AWS account and region the stack deploys into, looked up once and passed to every component."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class AwsAccount:
    account_id: str
    partition: str
    region: str
    dns_suffix: str

    @classmethod
    def lookup(cls, region: str) -> "AwsAccount":
        identity = aws.get_caller_identity()
        partition = aws.get_partition()
        return cls(identity.account_id, partition.partition, region, partition.dns_suffix)

    @property
    def root_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        """An ARN in this account (and, for regional services, this region)."""
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    def managed_policy_arn(self, name: str) -> str:
        """An AWS managed policy, e.g. AmazonEKSWorkerNodePolicy."""
        return f"arn:{self.partition}:iam::aws:policy/{name}"

    def service_principal(self, service: str) -> str:
        return f"{service}.{self.dns_suffix}"


def policy_document(*statements: dict[str, Any]) -> pulumi.Output[str]:
    """An IAM/KMS policy document as the JSON string AWS resources take; statements may hold Outputs (e.g. ARNs).

    Keys are sorted so the same statements always give the same text and a second ``up`` shows no diff.
    """
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def allow(sid: str, actions: list[str] | str, resources: Any, condition: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """An Allow statement of an identity policy (no Principal), with a condition only when one is given."""
    statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement
