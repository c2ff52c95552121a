"""S3 buckets and the pulumi-aws 7 resources that configure them (each pointing at its bucket through ``bucket``)."""

from __future__ import annotations

from typing import Iterable

from .framework import Resource, StackCheck

# pulumi-aws 7 registers both spellings; BucketV2 is the older name of the same bucket resource.
S3_BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")


def bucket_label(bucket: Resource) -> str:
    name = bucket.props.get("bucket")
    return f"bucket {name!r}" if isinstance(name, str) and name else f"bucket resource {bucket.name!r}"


def bucket_settings(check: StackCheck, bucket: Resource, types: Iterable[str]) -> list[Resource]:
    """The stack's resources of ``types`` whose ``bucket`` input is ``bucket`` (by dependency, ID or name)."""
    return check.referrers(bucket, "bucket", types, S3_BUCKET_TYPES, "bucket")
