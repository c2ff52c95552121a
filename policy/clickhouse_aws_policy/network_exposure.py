"""Nothing in the stack is reachable from, or routes to, the internet: ClickHouse answers only through PrivateLink."""

from __future__ import annotations

import ipaddress
from typing import Any

from pulumi_policy import PolicyConfigSchema, Severity

from .helpers import (
    S3_BUCKET_TYPES,
    Check,
    StackCheck,
    bucket_label,
    bucket_settings,
    check_document,
    dig,
    is_all_addresses,
    is_unknown,
    public_grants,
    referenced,
    resource_policy,
    stack_policy,
)

CLICKHOUSE_SERVICE = "clickhouse:index/service:Service"


def _approved_networks(check: Check) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for cidr in check.config.get("approvedCidrs") or ():
        try:
            network = ipaddress.ip_network(str(cidr), strict=False)
        except ValueError:
            check.report(f"approvedCidrs entry {cidr!r} is not a CIDR; fix the policy pack config.")
            continue
        if network.prefixlen == 0:
            check.report(f"approvedCidrs entry {cidr!r} is the whole internet and is ignored.")
            continue
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
    for index, entry in enumerate(entries):
        source = dig(entry, "source")
        where = f"ipAccesses[{index}].source"
        if is_unknown(source):
            check.report(f"{where} is unknown until the update; it cannot be verified at preview.")
            continue
        if is_all_addresses(source):
            check.report(f"{where} is {source!r}: the service would be open to the whole internet.")
            continue
        try:
            network = ipaddress.ip_network(str(source).strip(), strict=False)
        except ValueError:
            check.report(f"{where} is {source!r}, which is not an IP address or CIDR.")
            continue
        if not any(network.version == a.version and network.subnet_of(a) for a in approved):
            check.report(f"{where} is {source!r}, which is not inside the approvedCidrs of this stack's policy "
                         f"config ({[str(a) for a in approved] or 'none'}); use [] for PrivateLink-only access.")


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
            "description": "CIDRs a ClickHouse service's ipAccesses may contain (never 0.0.0.0/0 or ::/0).",
            "default": [],
        },
    }),
)


def _ports(rule: Any) -> str:
    protocol = dig(rule, "protocol") or dig(rule, "ipProtocol")
    low, high = dig(rule, "fromPort"), dig(rule, "toPort")
    if str(protocol) in ("-1", "all"):
        return "all traffic"
    ports = f"{low}" if low == high else f"{low}-{high}"
    return f"{protocol} {ports}"


def _public_cidrs(check: Check, rule: Any, where: str, *fields: str) -> None:
    """Report every world-open (or unknown) CIDR in ``rule``'s ``fields``."""
    for name in fields:
        value = dig(rule, name)
        values = value if isinstance(value, list) else [value]
        if is_unknown(value) or any(is_unknown(v) for v in values):
            check.report(f"{where}.{name} is unknown until the update; the ingress source cannot be verified.")
        for cidr in values:
            if is_all_addresses(cidr):
                check.report(f"{where} admits {cidr} on {_ports(rule)}.")


def _security_group_ingress(check: Check) -> None:
    rtype = check.resource.type
    if rtype in ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"):
        rules = check.props.get("ingress")
        if is_unknown(rules):
            check.report("ingress is unknown until the update; the inline rules cannot be verified.")
            return
        for index, rule in enumerate(rules or []):
            _public_cidrs(check, rule, f"ingress[{index}]", "cidrBlocks", "ipv6CidrBlocks")
    elif rtype == "aws:ec2/securityGroupRule:SecurityGroupRule":
        # An unknown type may still be ingress, so only a known "egress" is skipped.
        if check.props.get("type") != "egress":
            _public_cidrs(check, check.props, "the rule", "cidrBlocks", "ipv6CidrBlocks")
    else:
        _public_cidrs(check, check.props, "the rule", "cidrIpv4", "cidrIpv6")


security_group_no_public_ingress = resource_policy(
    "security-group-no-public-ingress",
    "Security groups admit no ingress from 0.0.0.0/0 or ::/0.",
    Severity.CRITICAL,
    _security_group_ingress,
    types=[
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    ],
)


def _forbidden(reason: str):
    def validate(check: Check) -> None:
        check.report(reason)
    return validate


# Egress-only gateways are included: an IPv6 path out is as good for exfiltration as an IPv4 one, and nothing in a
# PrivateLink-only network needs it (AWS services are reached through VPC endpoints).
no_internet_gateway = resource_policy(
    "no-internet-gateway",
    "The stack creates or attaches no internet gateway, egress-only ones included.",
    Severity.HIGH,
    _forbidden("An internet gateway gives the VPC a route to the internet; reach AWS services through VPC endpoints."),
    types=[
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/internetGatewayAttachment:InternetGatewayAttachment",
        "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
    ],
)


def _nat_gateway(check: Check) -> None:
    connectivity = check.props.get("connectivityType")
    if is_unknown(connectivity):
        check.report("connectivityType is unknown until the update; only a private NAT gateway is allowed.")
    elif connectivity != "private":
        check.report(f"connectivityType is {connectivity or 'public (the default)'}: a public NAT gateway routes the "
                     "VPC to the internet. Only connectivityType 'private' is allowed.")


no_nat_gateway = resource_policy(
    "no-nat-gateway",
    "The stack creates no public NAT gateway.",
    Severity.HIGH,
    _nat_gateway,
    types=["aws:ec2/natGateway:NatGateway"],
)

no_elastic_ip = resource_policy(
    "no-elastic-ip",
    "The stack allocates no Elastic IP addresses.",
    Severity.HIGH,
    _forbidden("An Elastic IP is a public address; nothing in this stack may be reachable from the internet."),
    types=["aws:ec2/eip:Eip"],
)


def _must_be(check: Check, prop: str, wanted: bool, when_absent: bool, consequence: str) -> None:
    """Report unless ``props[prop]`` is ``wanted``; ``when_absent`` is the value AWS uses if it is not set."""
    value = check.props.get(prop)
    if is_unknown(value):
        check.report(f"{prop} is unknown until the update; {consequence} cannot be ruled out at preview.")
    elif (when_absent if value is None else value) is not wanted:
        shown = f"not set (AWS default {str(when_absent).lower()})" if value is None else str(value).lower()
        check.report(f"{prop} is {shown}: {consequence}. Set it to {str(wanted).lower()}.")


def _subnet(check: Check) -> None:
    default_subnet = check.resource.type == "aws:ec2/defaultSubnet:DefaultSubnet"
    _must_be(check, "mapPublicIpOnLaunch", False, default_subnet, "instances launched here get public IPs")


subnet_no_public_ip_on_launch = resource_policy(
    "subnet-no-public-ip-on-launch",
    "Subnets do not assign public IPs on launch.",
    Severity.HIGH,
    _subnet,
    types=["aws:ec2/subnet:Subnet", "aws:ec2/defaultSubnet:DefaultSubnet"],
)

load_balancer_internal_only = resource_policy(
    "load-balancer-internal-only",
    "Load balancers are internal, never internet-facing.",
    Severity.HIGH,
    lambda check: _must_be(check, "internal", True, False, "the load balancer is internet-facing"),
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
    for cidr in cidrs if isinstance(cidrs, list) else []:
        if is_all_addresses(cidr):
            check.report(f"vpcConfig.publicAccessCidrs contains {cidr}.")


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
        _must_be(check, "publiclyAccessible", False, rtype in _PUBLIC_WHEN_UNSET, "the database gets a public endpoint")


# Every resource type with a publiclyAccessible input (RDS, Redshift, DMS, DocumentDB, Neptune, MQ, ...) is judged.
no_publicly_accessible_databases = resource_policy(
    "no-publicly-accessible-databases",
    "Databases and brokers are never publicly accessible.",
    Severity.CRITICAL,
    _databases,
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

s3_bucket_policy_no_public_principal = resource_policy(
    "s3-bucket-policy-no-public-principal",
    "Bucket policies grant nothing to '*' without a condition that restricts who.",
    Severity.CRITICAL,
    lambda check: check_document(check.report, check.props.get("policy"), public_grants, "The bucket policy"),
    types=["aws:s3/bucketPolicy:BucketPolicy", *S3_BUCKET_TYPES],
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
    flow_logs = check.of_types(["aws:ec2/flowLog:FlowLog"])
    for vpc in check.of_types(["aws:ec2/vpc:Vpc"]):
        if not any(referenced(log, "vpcId", [vpc]) for log in flow_logs):
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
    no_internet_gateway,
    no_nat_gateway,
    no_elastic_ip,
    subnet_no_public_ip_on_launch,
    load_balancer_internal_only,
    eks_no_public_endpoint,
    no_publicly_accessible_databases,
    s3_bucket_public_access_block,
    s3_bucket_policy_no_public_principal,
    route53_zone_private,
    vpc_flow_logs_enabled,
]
