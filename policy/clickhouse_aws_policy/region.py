"""One stack, one region: nothing is created in, connects to, or replicates to another region.

Every region-bearing input counts: the v7 per-resource ``region``, the explicit provider's region, every nested
input named like a region (``replicas[].region``, ``sourceRegion``, ``destinationRegion``, ``regionName``,
``stsRegion`` of a provider, ...), and every region that a string input names through an ARN, an AWS host name or an
endpoint service name. ClickHouse resources that take a region are held to the stack's AWS region.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from pulumi_policy import Severity

from .cloudformation import TEMPLATE_TYPES
from .framework import Check, Resource, StackCheck, resource_policy, stack_policy
from .s3_buckets import S3_BUCKET_TYPES, bucket_label
from .stack_region import (
    REGION_RE,
    REGION_SCHEMA,
    check_region,
    effective_region,
    named_regions,
    region_problem,
    stack_region,
)
from .values import dig, is_unknown, walk, walk_strings

AWS_PROVIDER = "pulumi:providers:aws"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ZONE_TYPES = (
    "aws:route53/zone:Zone",
    "aws:route53/zoneAssociation:ZoneAssociation",
    "aws:route53/vpcAssociationAuthorization:VpcAssociationAuthorization",
)
PEERING_TYPES = (
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection",
    "aws:ec2transitgateway/peeringAttachment:PeeringAttachment",
)
# A nested input is region-bearing when its name is ``region`` or ends in ``Region``/``RegionName``; plural lists
# (Route 53 health checker ``regions``) and condition keys inside documents are not.
_REGION_INPUT = re.compile(r"^(?:region|regionName|[a-zA-Z]+Region(?:Name)?)$")
# Availability zone names carry their region: eu-west-1a, us-east-1-bos-1a (a Local Zone); zone IDs (use1-az1) do not.
_ZONE_INPUT = re.compile(r"^(?:availabilityZones?|[a-zA-Z]+AvailabilityZones?)$")
_ZONE_REGION = re.compile(r"^([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d+)(?:[a-z]|-[a-z0-9-]+)$")
# Inputs a dedicated policy below judges (with a clearer message), left out of the generic walks.
_DEDICATED = {
    ENDPOINT: {"serviceRegion", "serviceName"},
    **{t: {"vpcRegion"} for t in ZONE_TYPES},
    **{t: {"peerRegion"} for t in PEERING_TYPES},
    # A template is a document CloudFormation reads from S3 in any region (ClickHouse publishes its BYOC template in
    # us-east-2 for every region); cloudformation-template-allowed judges the URL against its allow-list.
    **{t: {"templateUrl"} for t in TEMPLATE_TYPES},
}


def _region_policy(name: str, description: str, validate, types=None, type_prefixes=None):
    return resource_policy(name, description, Severity.HIGH, validate, types=types, type_prefixes=type_prefixes,
                           config_schema=REGION_SCHEMA)


def _region_inputs(resource: Resource) -> list[tuple[str, Any]]:
    """(where, region) of every nested region-bearing input other than the top-level ``region``, availability
    zone names included (their region is the name without the zone letter)."""
    skip = _DEDICATED.get(resource.type, set())
    found = []
    for path, key, value in walk(resource.props):
        if path == "region" or key in skip or isinstance(value, (dict, list, bool)):
            continue
        if _REGION_INPUT.match(key) and (is_unknown(value) or (isinstance(value, str) and value)):
            found.append((path, value))
        elif _ZONE_INPUT.match(key) and isinstance(value, str):
            zone = _ZONE_REGION.match(value)
            if zone:
                found.append((f"the region of {path} ({value})", zone.group(1)))
    return found


def _resource_region(check: Check) -> None:
    resource = check.resource
    if resource.type == AWS_PROVIDER:
        check_region(check, check.props.get("region"), "the provider's region")
    else:
        region, where = effective_region(resource)
        check_region(check, region, where)
    for path, value in _region_inputs(resource):
        check_region(check, value, path)


resource_region_matches_stack = _region_policy(
    "resource-region-matches-stack",
    "AWS resources and providers are in the stack's region, every region-bearing input included.",
    _resource_region,
    type_prefixes=("aws:", AWS_PROVIDER),
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
    types=[ENDPOINT],
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
    types=ZONE_TYPES,
)


def _named_regions(check: Check) -> None:
    # Unknown inputs are not judged: most are ARNs of resources in this stack, whose own region
    # resource-region-matches-stack checks, and an unknown value cannot be told apart from any other string.
    rtype = check.resource.type
    if rtype.startswith("pulumi:providers:") and rtype != AWS_PROVIDER:
        return
    expected = stack_region(check.config, check.resource)
    skip = _DEDICATED.get(rtype, set())
    reported = set()
    for path, text in walk_strings(check.props):
        if path in skip:
            continue
        for region, what in named_regions(text):
            problem = region_problem(region, f"{path} names a {what} whose region", expected)
            if problem and problem not in reported:
                reported.add(problem)
                check.report(problem)


arn_inputs_same_region = _region_policy(
    "arn-inputs-same-region",
    "Inputs name no ARN, AWS host name or endpoint service of another region (KMS keys, secrets, queues, ...).",
    _named_regions,
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
    types=PEERING_TYPES,
)


def _bucket_arn(bucket: Resource) -> Optional[str]:
    arn = bucket.props.get("arn")
    if isinstance(arn, str):
        return arn
    name = bucket.props.get("bucket")
    return f"arn:aws:s3:::{name}" if isinstance(name, str) and name else None


def _destinations(config: Resource, value: Any, check: StackCheck, by_arn: dict[str, Resource]) -> list[Resource]:
    """The stack's buckets a replication destination names: by ARN if known, else through the rules' dependencies."""
    if isinstance(value, str):
        return [by_arn[value]] if value in by_arn else []
    return check.targets(config, "rules", S3_BUCKET_TYPES)


def _replication(check: StackCheck) -> None:
    buckets = check.of_types(S3_BUCKET_TYPES)
    by_arn = {arn: b for b in buckets for arn in [_bucket_arn(b)] if arn}
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
            targets = _destinations(config, value, check, by_arn)
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
    # Only ClickHouse resources that take a region (services, endpoint registrations) are placed somewhere.
    if "region" not in check.props and "cloudProvider" not in check.props:
        return
    provider = check.props.get("cloudProvider")
    if provider != "aws":
        check.report(f"cloudProvider is {'unknown until the update' if is_unknown(provider) else repr(provider)}; "
                     "it must be aws, in the stack's region, to be reached over PrivateLink.")
    check_region(check, check.props.get("region"), "region")


clickhouse_region_matches_stack = _region_policy(
    "clickhouse-region-matches-stack",
    "ClickHouse resources that take a region (services, private endpoint registrations) are in the stack's region.",
    _clickhouse_region,
    type_prefixes=("clickhouse:",),
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
