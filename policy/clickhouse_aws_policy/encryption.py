"""Data at rest is encrypted under KMS keys that rotate and are not open to everyone; buckets keep versions and
refuse plain HTTP; log groups are encrypted and expire.

The S3 checks are stack policies because pulumi-aws 7 configures a bucket through separate resources
(``BucketServerSideEncryptionConfiguration``, ``BucketVersioning``, ``BucketPolicy``, each also under its older
``...V2`` token); the deprecated inline bucket arguments are honoured too.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from pulumi_policy import PolicyConfigSchema, Severity

from .evaluation.iam_documents import DocumentError, Statement, parse
from .framework import Check, Resource, StackCheck, resource_policy, stack_policy
from .s3_buckets import S3_BUCKET_TYPES, bucket_label, bucket_settings
from .values import as_list, dig, is_unknown

SSE_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
VERSIONING_TYPES = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
BUCKET_POLICY_TYPE = "aws:s3/bucketPolicy:BucketPolicy"
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


def _kms_rotation(check: Check) -> None:
    spec = check.props.get("customerMasterKeySpec")
    # AWS rotates only symmetric encryption keys held in KMS itself.
    if (isinstance(spec, str) and spec != "SYMMETRIC_DEFAULT") or check.props.get("customKeyStoreId"):
        return
    rotation = check.props.get("enableKeyRotation")
    if is_unknown(rotation):
        check.report("enableKeyRotation is unknown until the update; rotation cannot be verified at preview.")
    elif rotation is not True:
        shown = "not set" if rotation is None else str(rotation).lower()
        check.report(f"enableKeyRotation is {shown}; set it to true.")


kms_key_rotation_enabled = resource_policy(
    "kms-key-rotation-enabled",
    "Symmetric KMS keys rotate automatically.",
    Severity.MEDIUM,
    _kms_rotation,
    types=["aws:kms/key:Key"],
)

def _sse_algorithms(resource: Resource) -> Iterator[tuple[str, Any]]:
    """(where, sseAlgorithm) of every default-encryption rule a resource sets, in any of the provider's shapes."""
    props = resource.props
    if resource.type in SSE_TYPES:
        # An unknown rules list comes through as one unknown rule, whose algorithm is unknown.
        for index, rule in enumerate(as_list(props.get("rules"))):
            yield f"rules[{index}]", dig(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
    elif resource.type == "aws:s3/bucket:Bucket" and props.get("serverSideEncryptionConfiguration") is not None:
        yield "serverSideEncryptionConfiguration", dig(
            props, "serverSideEncryptionConfiguration", "rule", "applyServerSideEncryptionByDefault", "sseAlgorithm")
    elif resource.type == "aws:s3/bucketV2:BucketV2":
        for i, sse in enumerate(as_list(props.get("serverSideEncryptionConfigurations"))):
            for j, rule in enumerate(as_list(dig(sse, "rules"))):
                for k, default in enumerate(as_list(dig(rule, "applyServerSideEncryptionByDefaults"))):
                    yield (f"serverSideEncryptionConfigurations[{i}].rules[{j}]"
                           f".applyServerSideEncryptionByDefaults[{k}]", dig(default, "sseAlgorithm"))


def _sse_kms(check: StackCheck) -> None:
    for bucket in check.of_types(S3_BUCKET_TYPES):
        sources = [bucket, *bucket_settings(check, bucket, SSE_TYPES)]
        found = [(source, where, algorithm) for source in sources for where, algorithm in _sse_algorithms(source)]
        if not found:
            check.report(f"{bucket_label(bucket)} has no aws.s3.BucketServerSideEncryptionConfiguration in this "
                         "stack (SSE-KMS required).", bucket.urn)
        for source, where, algorithm in found:
            if is_unknown(algorithm):
                check.report(f"{bucket_label(bucket)}: {where} sseAlgorithm is unknown until the update.", source.urn)
            elif algorithm not in KMS_ALGORITHMS:
                check.report(f"{bucket_label(bucket)}: {where} uses sseAlgorithm {algorithm!r}; use 'aws:kms'.",
                             source.urn)


s3_bucket_sse_kms = stack_policy(
    "s3-bucket-sse-kms",
    "Every S3 bucket encrypts by default with SSE-KMS.",
    Severity.HIGH,
    _sse_kms,
)


def is_log_bucket(bucket: Resource) -> bool:
    """A bucket tagged ``purpose=logs`` (the reliable signal) or whose name has a ``log``/``logs`` word in it."""
    tags = bucket.props.get("tags")
    if isinstance(tags, dict) and str(tags.get("purpose", "")).lower() in ("log", "logs"):
        return True
    names = [bucket.name, bucket.props.get("bucket"), bucket.props.get("bucketPrefix")]
    words = {w for n in names if isinstance(n, str) for w in re.split(r"[^a-z0-9]+", n.lower())}
    return bool(words & {"log", "logs"})


def _versioning_states(resource: Resource) -> Iterator[tuple[str, Any]]:
    """(where, enabled?) for each versioning setting; enabled is True, False or ``UNKNOWN``."""
    props = resource.props
    if resource.type in VERSIONING_TYPES:
        status = dig(props, "versioningConfiguration", "status")
        yield "versioningConfiguration.status", status if is_unknown(status) else status == "Enabled"
    elif resource.type == "aws:s3/bucket:Bucket" and props.get("versioning") is not None:
        yield "versioning.enabled", dig(props, "versioning", "enabled")
    elif resource.type == "aws:s3/bucketV2:BucketV2":
        for index, versioning in enumerate(as_list(props.get("versionings"))):
            yield f"versionings[{index}].enabled", dig(versioning, "enabled")


def _versioning(log_buckets: bool):
    def validate(check: StackCheck) -> None:
        for bucket in check.of_types(S3_BUCKET_TYPES):
            if is_log_bucket(bucket) != log_buckets:
                continue
            sources = [bucket, *bucket_settings(check, bucket, VERSIONING_TYPES)]
            states = [(source, where, state) for source in sources for where, state in _versioning_states(source)]
            if not any(state is True for _, _, state in states):
                detail = "; ".join(f"{where} is {'unknown until the update' if is_unknown(s) else s}"
                                   for _, where, s in states) or "no aws.s3.BucketVersioning in this stack"
                check.report(f"{bucket_label(bucket)} does not keep object versions ({detail}).", bucket.urn)
    return validate


s3_bucket_versioning = stack_policy(
    "s3-bucket-versioning",
    "S3 buckets (backups and all other non-log buckets) have versioning enabled.",
    Severity.MEDIUM,
    _versioning(log_buckets=False),
)

# Log buckets are usually written once and expired by lifecycle rules, so versioning there is only advised.
s3_log_bucket_versioning = stack_policy(
    "s3-log-bucket-versioning",
    "Log buckets (tag purpose=logs, or 'log'/'logs' in the name) should have versioning enabled.",
    Severity.LOW,
    _versioning(log_buckets=True),
    advisory=True,
)


def _is_false(values: tuple[Any, ...]) -> bool:
    """``"false"`` or ``false`` (one value, or a list of them: any one matches)."""
    return any(str(v).strip().lower() == "false" for v in values)


def _denies_plain_http(statement: Statement, bucket_name: Any) -> bool:
    """A Deny for every principal and every S3 action on the bucket and its objects, whose only condition is
    ``aws:SecureTransport`` false (``Bool`` or ``BoolIfExists``: a request without the key is not over TLS either).

    Any further condition would narrow the Deny to requests that also meet it, letting other plain-HTTP requests in.
    """
    if not statement.denies or statement.not_principal or "*" not in (
            statement.principal_values("*") + statement.principal_values("AWS")):
        return False
    if not statement.covers_all_actions("s3:"):
        return False
    if isinstance(bucket_name, str) and bucket_name and not any(
            all(statement.covers_resource(f"arn:{partition}:s3:::{bucket_name}{suffix}") for suffix in ("", "/a/key"))
            for partition in ("aws", "aws-cn", "aws-us-gov")):
        return False
    conditions = statement.conditions()
    return len(conditions) == 1 and conditions[0].key == "aws:securetransport" and \
        conditions[0].base == "bool" and not conditions[0].qualifier and _is_false(conditions[0].values)


def _tls_only(check: StackCheck) -> None:
    for bucket in check.of_types(S3_BUCKET_TYPES):
        sources = [bucket, *bucket_settings(check, bucket, [BUCKET_POLICY_TYPE])]
        unknown, denies = [], False
        for source in sources:
            try:
                document = parse(source.props.get("policy"))
            except DocumentError as err:
                check.report(f"{bucket_label(bucket)}: the bucket policy {err}.", source.urn)
                continue
            if is_unknown(document):
                unknown.append(source)
            elif document:
                name = bucket.props.get("bucket")
                denies = denies or any(_denies_plain_http(s, name) for s in document.statements)
        if denies:
            continue
        if unknown:
            check.report(f"{bucket_label(bucket)}: its bucket policy is unknown until the update, so a TLS-only "
                         "statement cannot be verified at preview.", unknown[0].urn)
        else:
            check.report(f"{bucket_label(bucket)} has no bucket policy statement denying every S3 action on the "
                         "bucket and its objects to every principal when aws:SecureTransport is false.", bucket.urn)


s3_bucket_tls_only = stack_policy(
    "s3-bucket-tls-only",
    "Every S3 bucket's policy denies all S3 actions to everyone when aws:SecureTransport is false.",
    Severity.MEDIUM,
    _tls_only,
)


def _log_group_kms(check: Check) -> None:
    # An unknown kmsKeyId is set (to a key created in this stack), which is all this policy requires.
    if not check.props.get("kmsKeyId"):
        check.report("kmsKeyId is not set; encrypt the log group with a customer-managed KMS key.")


cloudwatch_log_group_kms = resource_policy(
    "cloudwatch-log-group-kms",
    "CloudWatch log groups are encrypted with a KMS key.",
    Severity.MEDIUM,
    _log_group_kms,
    types=["aws:cloudwatch/logGroup:LogGroup"],
)


def _log_group_retention(check: Check) -> None:
    minimum = int(check.config.get("minimumRetentionDays", 90))
    days = check.props.get("retentionInDays")
    if is_unknown(days):
        check.report("retentionInDays is unknown until the update; retention cannot be verified at preview.")
    elif not days:
        check.report(f"retentionInDays is not set, so the logs never expire; set at least {minimum} days.")
    elif days < minimum:
        check.report(f"retentionInDays is {days}; this stack's policy config requires at least {minimum}.")


cloudwatch_log_group_retention = resource_policy(
    "cloudwatch-log-group-retention",
    "CloudWatch log groups expire their logs after at least the configured minimum retention.",
    Severity.MEDIUM,
    _log_group_retention,
    types=["aws:cloudwatch/logGroup:LogGroup"],
    config_schema=PolicyConfigSchema(properties={
        "minimumRetentionDays": {
            "type": "integer",
            "minimum": 1,
            "description": "Smallest retentionInDays a log group may have.",
            "default": 90,
        },
    }),
)

POLICIES = [
    kms_key_rotation_enabled,
    s3_bucket_sse_kms,
    s3_bucket_versioning,
    s3_log_bucket_versioning,
    s3_bucket_tls_only,
    cloudwatch_log_group_kms,
    cloudwatch_log_group_retention,
]
