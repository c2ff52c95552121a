"""BYOC buckets: deterministic names, SSE-KMS with bucket keys, versioning, expiry, public access blocked, TLS only."""

from __future__ import annotations

import json

import pytest

STORAGE = "clickhouse-aws:byoc:Storage"
ACCOUNT = "123456789012"
POD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/clickhouse-aws-byoc-clickhouse-pods"


@pytest.fixture(scope="module")
def part(child):
    """``part(run, type_, suffix)``: the one aws:s3/<type_> resource of the bucket with that suffix."""
    return lambda result, type_, suffix: child(result, STORAGE, f"aws:s3/{type_}", f"byoc-storage-{suffix}")


def test_bucket_names_are_deterministic_and_protected(phase1, part):
    buckets = phase1.outputs["byoc"]["buckets"]
    for suffix in ("backups", "logs"):
        bucket = part(phase1, "bucket:Bucket", suffix)
        name = f"clickhouse-aws-byoc-{ACCOUNT}-us-east-1-{suffix}"
        assert bucket.inputs["bucket"] == name and len(name) <= 63
        assert bucket.protect is True and bucket.inputs["forceDestroy"] is False
        assert buckets[suffix] == {"name": name, "arn": f"arn:aws:s3:::{name}"}


def test_bucket_prefix_is_configurable(custom):
    assert custom.outputs["byoc"]["buckets"]["backups"]["name"] == f"acme-ch-{ACCOUNT}-us-east-1-backups"


@pytest.mark.parametrize("suffix", ["backups", "logs"])
def test_sse_kms_with_the_s3_key_and_bucket_keys(phase1, part, suffix):
    (rule,) = part(phase1, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                   suffix).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": phase1.outputs["byoc"]["kms_key_arns"]["s3"]}
    assert rule["bucketKeyEnabled"] is True


@pytest.mark.parametrize("suffix", ["backups", "logs"])
def test_versioning_ownership_and_all_four_public_access_blocks(phase1, part, suffix):
    assert part(phase1, "bucketVersioning:BucketVersioning", suffix).inputs["versioningConfiguration"] == {
        "status": "Enabled"}
    assert part(phase1, "bucketOwnershipControls:BucketOwnershipControls", suffix).inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"}
    block = part(phase1, "bucketPublicAccessBlock:BucketPublicAccessBlock", suffix).inputs
    assert all(block[flag] is True for flag in (
        "blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))


@pytest.mark.parametrize("suffix, days", [("backups", 90), ("logs", 365)])
def test_lifecycle_expiry_defaults(phase1, part, suffix, days):
    (rule,) = part(phase1, "bucketLifecycleConfiguration:BucketLifecycleConfiguration", suffix).inputs["rules"]
    assert rule["status"] == "Enabled" and rule["filter"] == {}
    assert rule["expiration"] == {"days": days}
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] > 0
    assert rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] > 0


def test_lifecycle_expiry_is_configurable(custom, part):
    for suffix, days in (("backups", 35), ("logs", 400)):
        (rule,) = part(custom, "bucketLifecycleConfiguration:BucketLifecycleConfiguration", suffix).inputs["rules"]
        assert rule["expiration"] == {"days": days}


@pytest.mark.parametrize("suffix", ["backups", "logs"])
def test_policy_refuses_requests_without_tls(phase1, part, document, statement, suffix):
    bucket_arn = phase1.outputs["byoc"]["buckets"][suffix]["arn"]
    policy = document(part(phase1, "bucketPolicy:BucketPolicy", suffix))
    deny = statement(policy, "DenyInsecureTransport")
    assert deny["Effect"] == "Deny" and deny["Action"] == "s3:*"
    assert deny["Resource"] == [bucket_arn, f"{bucket_arn}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert all(s["Effect"] == "Deny" for s in policy["Statement"])  # the policy grants nothing


# With IRSA the role does not exist before phase 3, yet the policy already names it: by ARN, in a condition (S3 would
# reject a policy naming a missing role as its principal), so the role works the moment it is created.
@pytest.mark.parametrize("phase", ["phase1", "irsa_phase1", "irsa_phase3"])
def test_backup_objects_are_for_the_pod_role_alone_by_its_arn(request, part, document, statement, phase):
    result = request.getfixturevalue(phase)
    policy = document(part(result, "bucketPolicy:BucketPolicy", "backups"))
    assert [s["Sid"] for s in policy["Statement"]] == ["DenyInsecureTransport", "DenyObjectAccessToAllButClickHouse"]
    deny = statement(policy, "DenyObjectAccessToAllButClickHouse")
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert {"s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*"} <= set(deny["Action"])
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": POD_ROLE}}
    assert POD_ROLE not in json.dumps([s.get("Principal") for s in policy["Statement"]])
    logs = document(part(result, "bucketPolicy:BucketPolicy", "logs"))
    assert [s["Sid"] for s in logs["Statement"]] == ["DenyInsecureTransport"]


def test_bucket_policy_waits_for_the_public_access_block(phase1, part):
    for suffix in ("backups", "logs"):
        block = part(phase1, "bucketPublicAccessBlock:BucketPublicAccessBlock", suffix)
        assert block.urn in part(phase1, "bucketPolicy:BucketPolicy", suffix).dependencies


def test_an_unprotected_stack_can_delete_non_empty_buckets(byoc_run, part):
    bucket = part(byoc_run("byoc", {"clickhouse-aws:protect": False}), "bucket:Bucket", "backups")
    assert bucket.protect is False and bucket.inputs["forceDestroy"] is True
