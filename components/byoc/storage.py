"""S3 buckets for ClickHouse BYOC: backups and logs, hardened alike.

Each bucket has SSE-KMS with the BYOC S3 key and bucket keys, versioning, an expiry lifecycle, all four public access
blocks, owner-enforced object ownership (no ACLs) and a policy that refuses any request not made over TLS. The backups
bucket's objects are reachable only by the ClickHouse pods' role (Pod Identity or IRSA alike): every other principal
is denied, whatever its IAM permissions say, while bucket settings stay manageable by the account's administrators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pulumi
import pulumi_aws as aws

from components.account import policy_document
from components.byoc.names import ByocNames

# How long an overwritten or deleted object stays recoverable as a noncurrent version.
NONCURRENT_VERSION_DAYS = 30
ABORT_MULTIPART_DAYS = 7
OBJECT_ACTIONS = ["s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject", "s3:AbortMultipartUpload",
                  "s3:ListMultipartUploadParts", "s3:ListBucket*"]


@dataclass(frozen=True)
class ByocStorageArgs:
    names: ByocNames
    s3_kms_key_arn: pulumi.Input[str]
    protect: bool
    tags: Mapping[str, str]


@dataclass(frozen=True)
class BucketSpec:
    suffix: str
    purpose: str
    expiry_days: int
    # Principal ARN that alone may read and write objects; None leaves object access to IAM.
    sole_object_principal: str | None = None


class ByocStorage(pulumi.ComponentResource):
    buckets: dict[str, dict[str, pulumi.Output[str]]]

    def __init__(self, name: str, args: ByocStorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:byoc:Storage", name, None, opts)
        cfg = args.names.config
        specs = (
            BucketSpec("backups", "ClickHouse BYOC backups", cfg.backup_retention_days, args.names.pod_role_arn),
            BucketSpec("logs", "ClickHouse BYOC logs", cfg.logs_retention_days),
        )
        self.buckets = {spec.suffix: self._bucket(f"{name}-{spec.suffix}", spec, args) for spec in specs}
        self.register_outputs({"buckets": self.buckets})

    def _bucket(self, name: str, spec: BucketSpec, args: ByocStorageArgs) -> dict[str, pulumi.Output[str]]:
        child = pulumi.ResourceOptions(parent=self)
        bucket_name = args.names.bucket(spec.suffix)
        bucket = aws.s3.Bucket(
            name,
            bucket=bucket_name,
            # Only a disposable stack may delete a bucket that still holds objects; prod keeps them (and is protected).
            force_destroy=not args.protect,
            tags={**args.tags, "purpose": spec.purpose},
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms",
                    kms_master_key_id=args.s3_kms_key_arn,
                ),
                # Bucket keys cut KMS requests (and their cost and throttling) for ClickHouse's many small parts.
                bucket_key_enabled=True,
            )],
            opts=child,
        )
        aws.s3.BucketVersioning(
            name,
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire",
                status="Enabled",
                # An empty filter applies the rule to every object.
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=spec.expiry_days),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=NONCURRENT_VERSION_DAYS),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=ABORT_MULTIPART_DAYS),
            )],
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            name,
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketPolicy(
            name,
            bucket=bucket.id,
            # Built from the bucket's deterministic name rather than bucket.arn, so the document is known at preview
            # and the policy pack can judge it before the first deploy; bucket=bucket.id keeps the order.
            policy=policy_document(*self._statements(args.names.bucket_arn(spec.suffix), spec)),
            # S3 rejects concurrent changes to one bucket's access settings; apply the policy after the block.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        return {"name": bucket.bucket, "arn": bucket.arn}

    @staticmethod
    def _statements(bucket_arn: str, spec: BucketSpec) -> list[dict[str, Any]]:
        objects = f"{bucket_arn}/*"
        statements = [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, objects],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }]
        if spec.sole_object_principal:
            # The role by its deterministic ARN in a condition, not as a principal: S3 rejects a policy naming a role
            # that does not exist yet (an IRSA role before the cluster's issuer is known), and the role's own IAM
            # policy grants the access; this only keeps everyone else out.
            statements.append({
                "Sid": "DenyObjectAccessToAllButClickHouse",
                "Effect": "Deny",
                "Principal": "*",
                "Action": OBJECT_ACTIONS,
                "Resource": [bucket_arn, objects],
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": spec.sole_object_principal}},
            })
        return statements
