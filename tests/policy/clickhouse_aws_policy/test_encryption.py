"""encryption policies: KMS keys, the pulumi-aws 7 S3 configuration resources, CloudWatch log groups."""

from __future__ import annotations

import pytest
from pulumi.runtime.rpc import UNKNOWN


KEY = "aws:kms/key:Key"
BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TLS_ONLY = {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::data-bucket", "arn:aws:s3:::data-bucket/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


@pytest.mark.parametrize("props,blocked", [
    ({"enableKeyRotation": True}, False),
    ({}, True),
    ({"enableKeyRotation": False}, True),
    ({"enableKeyRotation": UNKNOWN}, True),
    # AWS cannot rotate asymmetric keys, so they are not held to it.
    ({"customerMasterKeySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY"}, False),
])
def test_kms_key_rotation(pack, props: dict, blocked: bool) -> None:
    assert bool(pack.messages("kms-key-rotation-enabled", KEY, props)) is blocked


def bucket_with(pack, *settings: tuple[str, dict], tags: dict | None = None, name: str = "data") -> list:
    """A bucket plus configuration resources linked to it by dependency (their bucket input unknown, as at preview)."""
    bucket = pack.resource(BUCKET, name, {"bucket": f"{name}-bucket", **({"tags": tags} if tags else {})})
    linked = [pack.resource(t, f"{name}-{i}", {"bucket": UNKNOWN, **props}, deps={"bucket": [pack.urn(BUCKET, name)]})
              for i, (t, props) in enumerate(settings)]
    return [bucket, *linked]


def sse(algorithm: str) -> tuple[str, dict]:
    return SSE, {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm, "kmsMasterKeyId": "k"}}]}


class TestSseKms:
    policy = "s3-bucket-sse-kms"

    def test_kms_encryption_passes(self, pack) -> None:
        assert pack.analyze_stack(bucket_with(pack, sse("aws:kms")), policy=self.policy) == []
        v2_token = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
        v2 = (v2_token, sse("aws:kms")[1])
        assert pack.analyze_stack(bucket_with(pack, v2), policy=self.policy) == []

    def test_inline_configuration_passes(self, pack) -> None:
        inline = {"rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}}
        bucket = pack.resource(BUCKET, "legacy", {"bucket": "legacy", "serverSideEncryptionConfiguration": inline})
        assert pack.analyze_stack([bucket], policy=self.policy) == []

    @pytest.mark.parametrize("settings,text", [
        ((), "no aws.s3.BucketServerSideEncryptionConfiguration"),
        ((sse("AES256"),), "'AES256'"),
        ((sse(UNKNOWN),), "unknown"),
        (((SSE, {"rules": UNKNOWN}),), "unknown"),
    ])
    def test_missing_or_weak_encryption_is_blocked(self, pack, settings: tuple, text: str) -> None:
        diagnostics = pack.analyze_stack(bucket_with(pack, *settings), policy=self.policy)
        assert len(diagnostics) == 1 and text in diagnostics[0].message and diagnostics[0].level == "mandatory"


def versioning(status: str) -> tuple[str, dict]:
    return VERSIONING, {"versioningConfiguration": {"status": status}}


class TestVersioning:
    def levels(self, pack, resources: list) -> dict[str, list[str]]:
        diagnostics = pack.analyze_stack(resources)
        names = ("s3-bucket-versioning", "s3-log-bucket-versioning")
        return {name: [d.level for d in diagnostics if d.policy == name] for name in names}

    def test_versioned_backup_bucket_passes(self, pack) -> None:
        assert self.levels(pack, bucket_with(pack, versioning("Enabled"), name="backups")) == {
            "s3-bucket-versioning": [], "s3-log-bucket-versioning": []}

    @pytest.mark.parametrize("settings", [(), (versioning("Suspended"),), (versioning(UNKNOWN),)])
    def test_unversioned_backup_bucket_is_mandatory(self, pack, settings: tuple) -> None:
        assert self.levels(pack, bucket_with(pack, *settings, name="backups")) == {
            "s3-bucket-versioning": ["mandatory"], "s3-log-bucket-versioning": []}

    @pytest.mark.parametrize("name,tags", [("audit", {"purpose": "logs"}), ("access-logs", None)])
    def test_unversioned_log_bucket_is_advisory(self, pack, name: str, tags: dict | None) -> None:
        assert self.levels(pack, bucket_with(pack, name=name, tags=tags)) == {
            "s3-bucket-versioning": [], "s3-log-bucket-versioning": ["advisory"]}

    def test_log_is_matched_as_a_word_only(self, pack) -> None:
        assert self.levels(pack, bucket_with(pack, name="catalog"))["s3-bucket-versioning"] == ["mandatory"]


class TestTlsOnly:
    policy = "s3-bucket-tls-only"

    def test_deny_insecure_transport_passes(self, pack) -> None:
        resources = bucket_with(pack, (BUCKET_POLICY, {"policy": pack.doc(TLS_ONLY)}))
        assert pack.analyze_stack(resources, policy=self.policy) == []

    @pytest.mark.parametrize("changes", [
        {"Action": "*"},
        {"Action": ["S3:*"]},
        {"Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}}},
        {"Condition": {"Bool": {"aws:SecureTransport": False}}},
        {"Condition": {"Bool": {"AWS:SECURETRANSPORT": ["false"]}}},
        {"Principal": {"AWS": "*"}},
        {"Resource": "*"},
        {"Resource": "arn:aws:s3:::data-bucket*"},
    ])
    def test_every_spelling_of_tls_only_passes(self, pack, changes: dict) -> None:
        resources = bucket_with(pack, (BUCKET_POLICY, {"policy": pack.doc({**TLS_ONLY, **changes})}))
        assert pack.analyze_stack(resources, policy=self.policy) == []

    @pytest.mark.parametrize("changes", [
        {"Action": "s3:GetObject"},
        {"Action": ["s3:Get*", "s3:Put*"]},
        {"Resource": "arn:aws:s3:::data-bucket/*"},
        {"Resource": "arn:aws:s3:::other-bucket/*"},
        {"Principal": {"AWS": "arn:aws:iam::123456789012:root"}},
        {"Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        {"Condition": {"Bool": {"aws:SecureTransport": "false"}, "StringEquals": {"aws:SourceVpce": "vpce-1"}}},
        {"Condition": {"ForAllValues:Bool": {"aws:SecureTransport": "false"}}},
    ])
    def test_partial_tls_statements_are_blocked(self, pack, changes: dict) -> None:
        resources = bucket_with(pack, (BUCKET_POLICY, {"policy": pack.doc({**TLS_ONLY, **changes})}))
        assert len(pack.analyze_stack(resources, policy=self.policy)) == 1

    @pytest.mark.parametrize("statement,text", [
        (None, "no bucket policy statement"),
        ({**TLS_ONLY, "Effect": "Allow"}, "no bucket policy statement"),
        (UNKNOWN, "unknown"),
    ])
    def test_missing_tls_statement_is_blocked(self, pack, statement, text: str) -> None:
        policy = statement if statement in (None, UNKNOWN) else pack.doc(statement)
        settings = [] if policy is None else [(BUCKET_POLICY, {"policy": policy})]
        diagnostics = pack.analyze_stack(bucket_with(pack, *settings), policy=self.policy)
        assert len(diagnostics) == 1 and text in diagnostics[0].message


@pytest.mark.parametrize("props,blocked", [
    ({"kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/k"}, False),
    # Set to a key this stack creates, whose ARN is known only after the update.
    ({"kmsKeyId": UNKNOWN}, False),
    ({}, True),
])
def test_log_group_kms(pack, props: dict, blocked: bool) -> None:
    assert bool(pack.messages("cloudwatch-log-group-kms", LOG_GROUP, {"name": "g", **props})) is blocked


class TestRetention:
    policy = "cloudwatch-log-group-retention"

    @pytest.mark.parametrize("days,text", [(None, "never expire"), (0, "never expire"), (30, "at least 90"),
                                           (UNKNOWN, "unknown")])
    def test_short_or_missing_retention_is_blocked(self, pack, days, text: str) -> None:
        props = {"name": "g"} if days is None else {"name": "g", "retentionInDays": days}
        messages = pack.messages(self.policy, LOG_GROUP, props)
        assert len(messages) == 1 and text in messages[0]

    def test_minimum_comes_from_policy_config(self, pack) -> None:
        assert pack.messages(self.policy, LOG_GROUP, {"retentionInDays": 90}) == []
        pack.configure({self.policy: {"minimumRetentionDays": 365}})
        assert "at least 365" in pack.messages(self.policy, LOG_GROUP, {"retentionInDays": 90})[0]
        pack.configure({self.policy: {"minimumRetentionDays": 14}})
        assert pack.messages(self.policy, LOG_GROUP, {"retentionInDays": 14}) == []
