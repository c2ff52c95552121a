"""Customer-managed KMS keys for ClickHouse BYOC: EBS volumes, S3 buckets and EKS secrets envelope encryption.

Each is a KmsKey (rotation on, alias, the account root administers it). Beyond that, each key policy names only the
principals that use the key, and only through the AWS service that encrypts with it: the management role and the
roles ClickHouse's controllers create volumes with through EC2 (EBS), the management role through EKS (secrets), the
pods' role through S3 once it exists. The deletion window is 30 days on a protected stack
and 7 otherwise (stack_config.byoc.ByocConfig.kms_deletion_window_days).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import pulumi

from components.account import AwsAccount
from components.kms_key import KmsKey, KmsKeyArgs

CRYPTO_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


# The roles ClickHouse's controllers create EBS volumes and launch nodes with, by the name patterns ClickHouse's
# onboarding module lets its management role pass (github.com/ClickHouse/terraform-byoc-onboarding, modules/aws/main.tf
# at 46318ae54c4de5efdb17a8dab233e58bc93cc29c, the iam:PassRole statements): the EBS CSI driver and Karpenter's
# controller (to pods.eks.amazonaws.com), Karpenter's nodes and the managed node group's workers (to EC2). ClickHouse
# creates them, so they are matched by aws:PrincipalArn: a key policy cannot name a wildcard principal.
VOLUME_ROLE_PATTERNS = ("*-ebs-csi-driver", "*-karpenter-controller", "*-karpenter-node", "*-k8s-worker")


def use_through_service(sid: str, principals: Sequence[pulumi.Input[str]], service_host: str,
                        actions: Sequence[str] = CRYPTO_ACTIONS,
                        only: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """Lets ``principals`` use the key only in requests an AWS service makes on their behalf (and, with ``only``, only
    when those further conditions hold)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": list(principals)},
        "Action": list(actions),
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": service_host}, **(only or {})},
    }


def grant_to_aws_resources(sid: str, principals: Sequence[pulumi.Input[str]],
                           only: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """Lets ``principals`` hand the key to AWS services (EC2 for volumes, EKS for the cluster role) via grants."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": list(principals)},
        "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}, **(only or {})},
    }


@dataclass(frozen=True)
class ByocKeysArgs:
    account: AwsAccount
    name_prefix: str
    management_role_arn: pulumi.Input[str]
    # None until the pods' role exists (with IRSA, once the EKS OIDC issuer is configured).
    pod_role_arn: Optional[pulumi.Input[str]]
    deletion_window_days: int
    protect: bool
    tags: Mapping[str, str]
    # The roles the key policies name, which must exist before the keys (see KmsKeyArgs.depends_on).
    depends_on: Sequence[pulumi.Resource] = ()


class ByocKeys(pulumi.ComponentResource):
    arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: ByocKeysArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:byoc:Keys", name, None, opts)
        account, management = args.account, [args.management_role_arn]

        def via(service: str) -> str:
            return account.service_principal(f"{service}.{account.region}")

        # EC2 Auto Scaling launches the nodes as its service-linked role, which must use the key and grant it to the
        # volumes it attaches (AWS EC2 Auto Scaling User Guide, "Required AWS KMS key policy for use with encrypted
        # volumes"); without it a node launched with this key fails.
        autoscaling = [f"arn:{account.partition}:iam::{account.account_id}:role/aws-service-role/"
                       "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"]
        # The root's statement (KmsKey) already lets IAM policies grant the key; these name, in the key itself, the
        # roles it is for, and keep them working should the root's statement ever be narrowed. Only this account's
        # roles of those names, and only through EC2.
        root = [f"arn:{account.partition}:iam::{account.account_id}:root"]
        volume_roles = {"ArnLike": {"aws:PrincipalArn": [
            f"arn:{account.partition}:iam::{account.account_id}:role/{pattern}" for pattern in VOLUME_ROLE_PATTERNS]}}
        s3_users = [] if args.pod_role_arn is None else [use_through_service(
            "ClickHousePodsUseKeyThroughS3", [args.pod_role_arn], via("s3"),
            ["kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"])]
        keys = {
            "ebs": ("EBS volumes of the ClickHouse BYOC EKS nodes", [
                use_through_service("ManagementRoleUsesKeyThroughEc2", management, via("ec2")),
                grant_to_aws_resources("ManagementRoleGrantsKeyToEc2", management),
                {"Sid": "AutoScalingUsesKey", "Effect": "Allow", "Principal": {"AWS": autoscaling},
                 "Action": CRYPTO_ACTIONS, "Resource": "*"},
                grant_to_aws_resources("AutoScalingGrantsKeyToVolumes", autoscaling),
                use_through_service("ClickHouseVolumeRolesUseKeyThroughEc2", root, via("ec2"), only=volume_roles),
                grant_to_aws_resources("ClickHouseVolumeRolesGrantKeyToEc2", root, only=volume_roles),
            ]),
            "s3": ("ClickHouse BYOC backups and logs buckets", s3_users),
            "eks_secrets": ("Kubernetes secrets envelope encryption of the ClickHouse BYOC EKS cluster", [
                use_through_service("ManagementRoleUsesKeyThroughEks", management, via("eks"),
                                    ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"]),
                grant_to_aws_resources("ManagementRoleGrantsKeyToEks", management),
            ]),
        }
        self.arns = {}
        for key, (purpose, statements) in keys.items():
            label = key.replace("_", "-")
            # The alias is the stack prefix plus the key's resource name, as for the stack's other keys.
            self.arns[key] = KmsKey(f"byoc-{label}", KmsKeyArgs(
                description=purpose,
                alias=f"alias/{args.name_prefix}-byoc-{label}",
                account=account,
                protect=args.protect,
                tags=args.tags,
                usage_statements=statements,
                deletion_window_days=args.deletion_window_days,
                depends_on=args.depends_on,
            ), opts=pulumi.ResourceOptions(parent=self)).arn
        self.register_outputs({"arns": self.arns})
