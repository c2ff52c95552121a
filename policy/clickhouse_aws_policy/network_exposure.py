"""Nothing in the stack is reachable from the internet: ClickHouse answers only through PrivateLink.

"Open to the internet" is judged on address coverage (``evaluation.addresses``): the union of the sources admitted on
a port covers the public address space, or more of it than one block of the configured widest prefix.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Optional

from pulumi_policy import PolicyConfigSchema, Severity

from .evaluation.addresses import WIDEST_PUBLIC_PREFIX, exposure, parse_network
from .framework import Check, Resource, StackCheck, require_flag, resource_policy, stack_policy
from .s3_buckets import S3_BUCKET_TYPES, bucket_label, bucket_settings
from .security_group_rules import (
    PREFIX_LIST,
    PREFIX_LIST_ENTRY,
    RULE_TYPES,
    SECURITY_GROUP_TYPES,
    Exposure,
    IngressRule,
    exposures,
    ingress_rules,
    prefix_list_cidrs,
)
from .values import dig, is_unknown

CLICKHOUSE_SERVICE = "clickhouse:index/service:Service"
# No number of addresses short of all of them counts as wide: only covering the public space is "the whole internet".
WHOLE_INTERNET_ONLY = {4: 0, 6: 0}

WIDE_SCHEMA = {
    "widestPublicIpv4Prefix": {
        "type": "integer", "minimum": 0, "maximum": 32, "default": WIDEST_PUBLIC_PREFIX[4],
        "description": "Admitting more public IPv4 addresses than one block of this prefix length counts as open "
                       "to the internet.",
    },
    "widestPublicIpv6Prefix": {
        "type": "integer", "minimum": 0, "maximum": 128, "default": WIDEST_PUBLIC_PREFIX[6],
        "description": "Admitting more public IPv6 addresses than one block of this prefix length counts as open "
                       "to the internet.",
    },
}


def widest(config: Any) -> dict[int, int]:
    """The configured "very wide" thresholds, per IP version."""
    return {4: int(config.get("widestPublicIpv4Prefix", WIDEST_PUBLIC_PREFIX[4])),
            6: int(config.get("widestPublicIpv6Prefix", WIDEST_PUBLIC_PREFIX[6]))}


def _approved_networks(check: Check) -> list[Any]:
    networks = []
    for cidr in check.config.get("approvedCidrs") or ():
        network = parse_network(str(cidr))
        if network is None:
            check.report(f"approvedCidrs entry {cidr!r} is not a CIDR; fix the policy pack config.")
        elif exposure([network], widest(check.config)) is not None:
            check.report(f"approvedCidrs entry {cidr!r} admits {exposure([network], widest(check.config))} and is "
                         "ignored.")
        else:
            networks.append(network)
    return networks


def _clickhouse_public_access(check: Check) -> None:
    entries = check.props.get("ipAccesses")
    if entries is None:
        check.report("ipAccesses is not set; set it to [] so the service answers only through PrivateLink.")
        return
    if is_unknown(entries):
        check.report("ipAccesses is unknown until the update; the service's public IP access list cannot be "
                     "verified at preview.")
        return
    approved = _approved_networks(check)
    admitted = []
    for index, entry in enumerate(entries if isinstance(entries, list) else [entries]):
        source = dig(entry, "source")
        where = f"ipAccesses[{index}].source"
        network = parse_network(source)
        if is_unknown(source):
            check.report(f"{where} is unknown until the update; it cannot be verified at preview.")
        elif network is None:
            check.report(f"{where} is {source!r}, which is not an IP address or CIDR.")
        elif exposure([network], WHOLE_INTERNET_ONLY):
            check.report(f"{where} is {source!r}: the service would be open to the whole internet.")
        elif not any(network.version == a.version and network.subnet_of(a) for a in approved):
            check.report(f"{where} is {source!r}, which is not inside the approvedCidrs of this stack's policy "
                         f"config ({[str(a) for a in approved] or 'none'}); use [] for PrivateLink-only access.")
        else:
            admitted.append(network)
    together = exposure(admitted, widest(check.config))
    if together and len(admitted) > 1:
        check.report(f"ipAccesses together admit {together}.")


clickhouse_no_public_access = resource_policy(
    "clickhouse-no-public-access",
    "ClickHouse services accept no public IP access except approved CIDRs (PrivateLink only by default).",
    Severity.CRITICAL,
    _clickhouse_public_access,
    types=[CLICKHOUSE_SERVICE],
    config_schema=PolicyConfigSchema(properties={
        "approvedCidrs": {
            "type": "array",
            "items": {"type": "string"},
            "description": "CIDRs a ClickHouse service's ipAccesses may contain (never the whole internet, nor wider "
                           "than the widest public prefixes).",
            "default": [],
        },
        **WIDE_SCHEMA,
    }),
)


def _report_rule_problems(check: Check, rules: list[IngressRule]) -> None:
    for rule in rules:
        for key in dict.fromkeys(rule.unknown):
            check.report(f"{rule.where}: {key} is unknown until the update; the ingress it admits cannot be "
                         "verified at preview.")
        for cidr in rule.invalid:
            check.report(f"{rule.where} admits {cidr!r}, which is not a CIDR.")


def _security_group_ingress(check: Check) -> None:
    rules = list(ingress_rules(check.resource))
    _report_rule_problems(check, rules)
    for found in exposures(rules, widest(check.config)):
        check.report(f"{found.describe()}.")


security_group_no_public_ingress = resource_policy(
    "security-group-no-public-ingress",
    "Security groups and their rules admit no ingress from the internet (any spelling of it) on any port.",
    Severity.CRITICAL,
    _security_group_ingress,
    types=[*SECURITY_GROUP_TYPES, *RULE_TYPES],
    config_schema=PolicyConfigSchema(properties=WIDE_SCHEMA),
)


def _group_of(check: StackCheck, resource: Resource) -> tuple[str, Optional[Resource]]:
    """The key of the security group a rule belongs to: the group in the stack, else the literal group ID."""
    if resource.type in SECURITY_GROUP_TYPES:
        return resource.urn, resource
    groups = check.targets(resource, "securityGroupId", SECURITY_GROUP_TYPES)
    if groups:
        return groups[0].urn, groups[0]
    group_id = resource.props.get("securityGroupId")
    return (f"id:{group_id}" if isinstance(group_id, str) and group_id else resource.urn), None


def _with_prefix_lists(check: StackCheck, rule: IngressRule) -> IngressRule:
    """The rule with the CIDRs of the stack's prefix lists it names (by ID, or by a recorded dependency)."""
    if not rule.prefix_lists:
        return rule
    lists = {r.urn: r for i in rule.prefix_lists if isinstance(i, str) for r in check.lookup([PREFIX_LIST], i)}
    for urn in rule.resource.property_dependencies.get(rule.dependency_field, ()):
        lists.update({r.urn: r for r in check.of_urns([urn], [PREFIX_LIST])})
    cidrs: list[str] = []
    for prefix_list in lists.values():
        entries = check.referrers(prefix_list, "prefixListId", [PREFIX_LIST_ENTRY], [PREFIX_LIST])
        cidrs.extend(prefix_list_cidrs(prefix_list, entries))
    return rule.with_sources(cidrs) if cidrs else rule


def _joined_ingress(check: StackCheck) -> None:
    limits = widest(check.config)
    groups: dict[str, list[IngressRule]] = defaultdict(list)
    owners: dict[str, Optional[Resource]] = {}
    alone: dict[str, list[Exposure]] = {}
    for resource in check.of_types([*SECURITY_GROUP_TYPES, *RULE_TYPES]):
        rules = list(ingress_rules(resource))
        alone[resource.urn] = exposures(rules, limits)
        key, owner = _group_of(check, resource)
        owners.setdefault(key, owner)
        groups[key].extend(_with_prefix_lists(check, r) for r in rules)
    for key, rules in groups.items():
        for found in exposures(rules, limits):
            # Reported already if one resource alone shows the same verdict on these ports.
            sources = {r.resource.urn for r in found.rules}
            if any(found.overlaps(e) and e.reason == found.reason for urn in sources for e in alone.get(urn, ())):
                continue
            owner = owners[key]
            label = f"security group {owner.name!r}" if owner else f"security group {key.removeprefix('id:')}"
            check.report(f"{label}: {found.describe()} (rules joined across the stack and prefix lists "
                         "resolved).", owner.urn if owner else found.rules[0].resource.urn)


security_group_joined_no_public_ingress = stack_policy(
    "security-group-joined-no-public-ingress",
    "A security group's ingress joined across its definition, rule resources and prefix lists is not open to the "
    "internet.",
    Severity.CRITICAL,
    _joined_ingress,
    config_schema=PolicyConfigSchema(properties=WIDE_SCHEMA),
)


load_balancer_internal_only = resource_policy(
    "load-balancer-internal-only",
    "Load balancers are internal, never internet-facing.",
    Severity.HIGH,
    lambda check: require_flag(check, "internal", True, False, "the load balancer is internet-facing"),
    types=[
        "aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer", "aws:elb/loadBalancer:LoadBalancer",
    ],
)


def _eks(check: Check) -> None:
    public = dig(check.props, "vpcConfig", "endpointPublicAccess")
    if is_unknown(public):
        check.report("vpcConfig.endpointPublicAccess is unknown until the update; a public API endpoint cannot be "
                     "ruled out at preview.")
    elif public is not False:
        shown = "not set (AWS default true)" if public is None else str(public).lower()
        check.report(f"vpcConfig.endpointPublicAccess is {shown}: the Kubernetes API is reachable from the internet. "
                     "Set it to false and use the private endpoint.")
    cidrs = dig(check.props, "vpcConfig", "publicAccessCidrs")
    networks = [n for n in (parse_network(c) for c in (cidrs if isinstance(cidrs, list) else [])) if n]
    opened = exposure(networks)
    if opened:
        check.report(f"vpcConfig.publicAccessCidrs admit {opened}.")


eks_no_public_endpoint = resource_policy(
    "eks-no-public-endpoint",
    "EKS clusters have no public API endpoint.",
    Severity.HIGH,
    _eks,
    types=["aws:eks/cluster:Cluster"],
)

# Where leaving publiclyAccessible unset can still give a public database (the AWS API defaults it to true).
_PUBLIC_WHEN_UNSET = frozenset({"aws:rds/cluster:Cluster", "aws:dms/replicationInstance:ReplicationInstance"})


def _databases(check: Check) -> None:
    rtype = check.resource.type
    if "publiclyAccessible" in check.props or rtype in _PUBLIC_WHEN_UNSET:
        require_flag(check, "publiclyAccessible", False, rtype in _PUBLIC_WHEN_UNSET,
                     "the database gets a public endpoint")


# Every resource type with a publiclyAccessible input (RDS, Redshift, DMS, DocumentDB, Neptune, MQ, ...) is judged.
no_publicly_accessible_databases = resource_policy(
    "no-publicly-accessible-databases",
    "Databases and brokers are never publicly accessible.",
    Severity.CRITICAL,
    _databases,
    type_prefixes=("aws:",),
)


def _public_access_blocks(check: StackCheck) -> None:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for bucket in check.of_types(S3_BUCKET_TYPES):
        blocks = bucket_settings(check, bucket, ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"])
        if not blocks:
            check.report(f"{bucket_label(bucket)} has no aws.s3.BucketPublicAccessBlock in this stack.", bucket.urn)
            continue
        for block in blocks:
            unknown = [f for f in flags if is_unknown(block.props.get(f))]
            off = [f for f in flags if block.props.get(f) is not True and f not in unknown]
            if unknown:
                check.report(f"{bucket_label(bucket)}: {', '.join(unknown)} of its public access block are unknown "
                             "until the update.", block.urn)
            if off:
                check.report(f"{bucket_label(bucket)}: its public access block does not set {', '.join(off)} to true.",
                             block.urn)


s3_bucket_public_access_block = stack_policy(
    "s3-bucket-public-access-block",
    "Every S3 bucket has a public access block with all four settings true.",
    Severity.HIGH,
    _public_access_blocks,
)


def _route53_zone(check: Check) -> None:
    vpcs = check.props.get("vpcs")
    if is_unknown(vpcs):
        check.report("vpcs is unknown until the update; whether the zone is private cannot be verified at preview.")
    elif not vpcs:
        check.report("The zone has no vpcs, so it is a public hosted zone; associate it with the VPC.")


route53_zone_private = resource_policy(
    "route53-zone-private",
    "Route53 hosted zones are private (associated with a VPC).",
    Severity.MEDIUM,
    _route53_zone,
    types=["aws:route53/zone:Zone"],
)


def _flow_logs(check: StackCheck) -> None:
    for vpc in check.of_types(["aws:ec2/vpc:Vpc"]):
        if not check.referrers(vpc, "vpcId", ["aws:ec2/flowLog:FlowLog"], ["aws:ec2/vpc:Vpc"]):
            check.report(f"VPC {vpc.name!r} has no aws.ec2.FlowLog in this stack.", vpc.urn)


vpc_flow_logs_enabled = stack_policy(
    "vpc-flow-logs-enabled",
    "Every VPC the stack creates has a flow log.",
    Severity.MEDIUM,
    _flow_logs,
)

POLICIES = [
    clickhouse_no_public_access,
    security_group_no_public_ingress,
    security_group_joined_no_public_ingress,
    load_balancer_internal_only,
    eks_no_public_endpoint,
    no_publicly_accessible_databases,
    s3_bucket_public_access_block,
    route53_zone_private,
    vpc_flow_logs_enabled,
]
