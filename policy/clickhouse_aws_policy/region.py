"""One stack, one region: nothing is created in, connects to, or replicates to another region.

The stack region is the region of the stack's default AWS provider (``aws:region``); where neither is known, the
policy config's ``allowedRegions``. A region that cannot be determined is a violation, never a pass.
"""

from __future__ import annotations

from typing import Any, Optional

from pulumi_policy import Severity

from .helpers import (
    ARN_REGION_RE,
    REGION_RE,
    REGION_SCHEMA,
    S3_BUCKET_TYPES,
    Check,
    Resource,
    StackCheck,
    bucket_label,
    check_region,
    dig,
    effective_region,
    is_unknown,
    region_problem,
    resource_policy,
    stack_policy,
    stack_region,
    walk_strings,
)


def _region_policy(name: str, description: str, validate, types=None):
    return resource_policy(name, description, Severity.HIGH, validate, types=types, config_schema=REGION_SCHEMA)


def _resource_region(check: Check) -> None:
    resource = check.resource
    if resource.type == "pulumi:providers:aws":
        check_region(check, check.props.get("region"), "the provider's region")
        return
    if not resource.type.startswith("aws:"):
        return
    region, where = effective_region(resource)
    check_region(check, region, where)
    if resource.type == "aws:secretsmanager/secret:Secret":
        replicas = check.props.get("replicas")
        for index, replica in enumerate(replicas if isinstance(replicas, list) else [replicas] if replicas else []):
            check_region(check, dig(replica, "region"), f"replicas[{index}].region")


resource_region_matches_stack = _region_policy(
    "resource-region-matches-stack",
    "AWS resources and providers are in the stack's region (v7 per-resource region included).",
    _resource_region,
)


def region_in_service_name(name: str) -> Optional[str]:
    """The region a VPC endpoint service name embeds.

    ``com.amazonaws.<region>.s3`` (AWS services), ``com.amazonaws.vpce.<region>.vpce-svc-...`` (endpoint services).
    """
    return next((part for part in name.split(".") if REGION_RE.match(part)), None)


def _vpc_endpoint(check: Check) -> None:
    expected = stack_region(check.config, check.resource)
    service_region = check.props.get("serviceRegion")
    name = check.props.get("serviceName")
    if service_region is not None:
        problem = region_problem(service_region, "serviceRegion", expected)
        if problem:
            check.report(problem)
            return
    if name is None:
        return
    if is_unknown(name):
        # Without serviceRegion, AWS looks the service up in the endpoint's own region (checked by
        # resource-region-matches-stack), so an unknown name cannot lead to another region.
        return
    named = region_in_service_name(str(name))
    if named is None:
        check.report(f"serviceName {name!r} names no region, so it cannot be shown to be in the stack region.")
        return
    problem = region_problem(named, f"the region in serviceName {name!r}", expected)
    if problem:
        check.report(problem)
    elif service_region is not None and named != service_region:
        check.report(f"serviceName {name!r} is in {named} but serviceRegion is {service_region}.")


vpc_endpoint_same_region = _region_policy(
    "vpc-endpoint-same-region",
    "VPC endpoints connect only to endpoint services in the stack's region.",
    _vpc_endpoint,
    types=["aws:ec2/vpcEndpoint:VpcEndpoint"],
)


def _zone_vpc_regions(check: Check) -> None:
    if check.resource.type == "aws:route53/zone:Zone":
        vpcs = check.props.get("vpcs")
        if is_unknown(vpcs):
            check.report("vpcs is unknown until the update; the regions of the zone's VPCs cannot be verified.")
            return
        for index, vpc in enumerate(vpcs or []):
            region = dig(vpc, "vpcRegion")
            # Unset means the provider's region, which resource-region-matches-stack already checks.
            if region is not None:
                check_region(check, region, f"vpcs[{index}].vpcRegion")
    elif check.props.get("vpcRegion") is not None:
        check_region(check, check.props.get("vpcRegion"), "vpcRegion")


route53_zone_vpc_same_region = _region_policy(
    "route53-zone-vpc-same-region",
    "Private hosted zones are associated only with VPCs in the stack's region.",
    _zone_vpc_regions,
    types=[
        "aws:route53/zone:Zone",
        "aws:route53/zoneAssociation:ZoneAssociation",
        "aws:route53/vpcAssociationAuthorization:VpcAssociationAuthorization",
    ],
)


def _arn_inputs(check: Check) -> None:
    # Unknown inputs are not judged: most are ARNs of resources in this stack, whose own region
    # resource-region-matches-stack checks, and an unknown value cannot be told apart from any other string.
    if check.resource.type.startswith("pulumi:providers:"):
        return
    expected = stack_region(check.config, check.resource)
    for path, text in walk_strings(check.props):
        for match in ARN_REGION_RE.finditer(text):
            problem = region_problem(match.group("region"), f"{path} holds a {match.group('service')} ARN whose region",
                                     expected)
            if problem:
                check.report(problem)


arn_inputs_same_region = _region_policy(
    "arn-inputs-same-region",
    "Inputs reference no ARNs (KMS keys, secrets, log groups, ...) from another region.",
    _arn_inputs,
)


def _peering(check: Check) -> None:
    peer_region = check.props.get("peerRegion")
    # A VPC peering connection without peerRegion peers within the requester's region.
    if peer_region is not None:
        check_region(check, peer_region, "peerRegion")


no_cross_region_peering = _region_policy(
    "no-cross-region-peering",
    "VPC and transit gateway peerings stay within the stack's region.",
    _peering,
    types=[
        "aws:ec2/vpcPeeringConnection:VpcPeeringConnection",
        "aws:ec2transitgateway/peeringAttachment:PeeringAttachment",
    ],
)


def _bucket_arn(bucket: Resource) -> Optional[str]:
    arn = bucket.props.get("arn")
    if isinstance(arn, str):
        return arn
    name = bucket.props.get("bucket")
    return f"arn:aws:s3:::{name}" if isinstance(name, str) and name else None


def _destinations(config: Resource, value: Any, buckets: list[Resource]) -> list[Resource]:
    """The stack's buckets a replication destination names: by ARN if known, else through the rules' dependencies."""
    if isinstance(value, str):
        return [b for b in buckets if _bucket_arn(b) == value]
    rule_deps = set(config.property_dependencies.get("rules", ()))
    return [b for b in buckets if b.urn in rule_deps]


def _replication(check: StackCheck) -> None:
    buckets = check.of_types(S3_BUCKET_TYPES)
    for bucket in buckets:
        if bucket.props.get("replicationConfiguration") or bucket.props.get("replicationConfigurations"):
            check.report(f"{bucket_label(bucket)} configures replication inline; use aws.s3.BucketReplicationConfig "
                         "so the destination's region can be verified.", bucket.urn)
    for config in check.of_types(["aws:s3/bucketReplicationConfig:BucketReplicationConfig"]):
        expected = stack_region(check.config, config)
        rules = config.props.get("rules")
        if is_unknown(rules):
            check.report("rules are unknown until the update; the replication destination cannot be verified.",
                         config.urn)
            continue
        for index, rule in enumerate(rules or []):
            value = dig(rule, "destination", "bucket")
            where = f"rules[{index}].destination.bucket"
            targets = _destinations(config, value, buckets)
            if not targets:
                shown = "unknown until the update" if is_unknown(value) else repr(value)
                check.report(f"{where} is {shown} and is not a bucket this stack creates, so its region cannot be "
                             "verified; replicate only to buckets of this stack.", config.urn)
            for target in targets:
                region, source = effective_region(target)
                problem = region_problem(region, f"{where} is {bucket_label(target)}, whose {source}", expected)
                if problem:
                    check.report(problem, config.urn)


s3_replication_same_region = stack_policy(
    "s3-replication-same-region",
    "S3 replication targets only buckets of this stack in the stack's region.",
    Severity.HIGH,
    _replication,
    config_schema=REGION_SCHEMA,
)


def _clickhouse_region(check: Check) -> None:
    provider = check.props.get("cloudProvider")
    if provider != "aws":
        check.report(f"cloudProvider is {'unknown until the update' if is_unknown(provider) else repr(provider)}; "
                     "the service must run on AWS to be reached over PrivateLink.")
    check_region(check, check.props.get("region"), "region")


clickhouse_region_matches_stack = _region_policy(
    "clickhouse-region-matches-stack",
    "ClickHouse services run in the stack's AWS region.",
    _clickhouse_region,
    types=["clickhouse:index/service:Service"],
)

POLICIES = [
    resource_region_matches_stack,
    vpc_endpoint_same_region,
    route53_zone_vpc_same_region,
    arn_inputs_same_region,
    no_cross_region_peering,
    s3_replication_same_region,
    clickhouse_region_matches_stack,
]
