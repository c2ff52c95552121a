"""Checks of what ClickHouse builds in a BYOC account once onboarding runs: its EKS cluster, the nodes, their volumes,
the load balancers, its buckets and security groups in the BYOC VPC.

The stack does not create these, so the outputs name none of them; each check finds them the way ClickHouse names
or places them (clusters ``clickhouse-cloud-*``, anything in ``byoc.vpc_id``, buckets
``*.*.aws.clickhouse.cloud-{shared,backup,monitoring}``, the names its onboarding module scopes S3 permissions to).
Finding none is "not yet built" while the outputs expect nothing (no byocInfrastructureId, no NLB DNS name yet);
once they do, it is an ``audit-resource-exists`` finding.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from scripts.audit.checks import (
    PUBLIC_ACCESS_BLOCK_FLAGS,
    AuditContext,
    Check,
    byoc_outputs,
    needs_byoc,
    bucket_policy_findings,
    public_ingress_findings,
    stack_security_groups,
)
from scripts.audit.model import Finding, NotYetBuilt

CLUSTER_PREFIX = "clickhouse-cloud-"
CLICKHOUSE_BUCKET = re.compile(r"^.+\..+\.aws\.clickhouse\.cloud-(?:shared|backup|monitoring)$")
# Instances that hold addresses and volumes (terminated ones hold neither).
LIVE_INSTANCE_STATES = ("pending", "running", "stopping", "stopped")
# Values per EC2 filter; DescribeVolumes refuses more.
_FILTER_VALUES = 200


def _absent(ctx: AuditContext, what: str) -> list[Finding]:
    """Nothing of ``what`` in the account: a finding when the outputs say ClickHouse has built, else not yet built."""
    byoc = byoc_outputs(ctx)
    if ctx.outputs.clickhouse_built:
        return [Finding(
            "audit-resource-exists", byoc.vpc_id,
            f"no {what}, although the outputs say ClickHouse has built its infrastructure (service_id or "
            "byoc.clickhouse_record_name is set)",
        )]
    raise NotYetBuilt(f"not yet built: no {what}; ClickHouse creates it after onboarding")


def _vpc_filter(ctx: AuditContext) -> list[dict[str, Any]]:
    return [{"Name": "vpc-id", "Values": [byoc_outputs(ctx).vpc_id]}]


def cluster_names(ctx: AuditContext) -> list[str]:
    return ctx.once("eks-clusters", lambda: [
        name for name in ctx.aws.items("eks", "list_clusters", "clusters") if name.startswith(CLUSTER_PREFIX)
    ])


def check_eks(ctx: AuditContext) -> list[Finding]:
    byoc = byoc_outputs(ctx)
    clusters = [ctx.aws.call("eks", "describe_cluster", name=name)["cluster"] for name in cluster_names(ctx)]
    if not clusters:
        return _absent(ctx, f"EKS cluster named {CLUSTER_PREFIX}*")
    findings: list[Finding] = []
    for cluster in clusters:
        name = cluster["name"]
        network = cluster.get("resourcesVpcConfig", {})
        # Subnets inside the BYOC private subnets already place the cluster in the VPC; vpcId is a clearer message.
        if network.get("vpcId", byoc.vpc_id) != byoc.vpc_id:
            findings.append(Finding(
                "audit-eks-in-byoc-vpc", name, f"cluster runs in {network.get('vpcId')}, not the BYOC VPC {byoc.vpc_id}"
            ))
        outside = sorted(set(network.get("subnetIds", [])) - set(byoc.subnet_ids))
        if outside:
            findings.append(Finding(
                "audit-eks-private-subnets", name,
                f"cluster uses subnets outside the BYOC VPC's private subnets: {', '.join(outside)}",
            ))
        if network.get("endpointPublicAccess") and not ctx.options.allow_eks_public_endpoint:
            cidrs = ", ".join(network.get("publicAccessCidrs", [])) or "any address"
            findings.append(Finding(
                "eks-no-public-endpoint", name,
                f"the cluster's API endpoint is public (open to {cidrs}); if ClickHouse needs it, accept it with "
                "--allow-eks-public-endpoint",
            ))
        encrypted = {
            resource for config in cluster.get("encryptionConfig", []) for resource in config.get("resources", [])
        }
        if "secrets" not in encrypted:
            findings.append(Finding(
                "audit-eks-secrets-encryption", name, "Kubernetes secrets are not envelope-encrypted with a KMS key"
            ))
    return findings


def vpc_instances(ctx: AuditContext) -> list[dict[str, Any]]:
    reservations = ctx.once("instances", lambda: ctx.aws.items(
        "ec2", "describe_instances", "Reservations",
        Filters=_vpc_filter(ctx) + [{"Name": "instance-state-name", "Values": list(LIVE_INSTANCE_STATES)}],
    ))
    return [instance for reservation in reservations for instance in reservation.get("Instances", [])]


def check_instances(ctx: AuditContext) -> list[Finding]:
    instances = vpc_instances(ctx)
    if not instances:
        return _absent(ctx, "EC2 instance in the BYOC VPC")
    findings: list[Finding] = []
    for instance in instances:
        instance_id = instance["InstanceId"]
        if instance.get("PublicIpAddress"):
            findings.append(Finding(
                "no-public-ip-address", instance_id,
                f"instance has the public IPv4 address {instance['PublicIpAddress']}",
            ))
        ipv6 = [address["Ipv6Address"] for interface in instance.get("NetworkInterfaces", [])
                for address in interface.get("Ipv6Addresses", [])]
        if ipv6:
            findings.append(Finding(
                "no-public-ip-address", instance_id, f"instance has the IPv6 address(es) {', '.join(ipv6)}"
            ))
        tokens = instance.get("MetadataOptions", {}).get("HttpTokens", "optional")
        if tokens != "required":
            findings.append(Finding(
                "audit-ec2-imdsv2-required", instance_id,
                f"instance metadata accepts IMDSv1 (HttpTokens {tokens}); IMDSv2 must be required",
            ))
    return findings


def _volumes(ctx: AuditContext, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return ctx.aws.items("ec2", "describe_volumes", "Volumes", Filters=filters)


def check_volumes(ctx: AuditContext) -> list[Finding]:
    """Volumes attached to the VPC's instances and those the EBS CSI driver keeps for ClickHouse's clusters."""
    instance_ids = [instance["InstanceId"] for instance in vpc_instances(ctx)]
    volumes: dict[str, dict[str, Any]] = {}
    for start in range(0, len(instance_ids), _FILTER_VALUES):
        chunk = instance_ids[start:start + _FILTER_VALUES]
        volumes.update((v["VolumeId"], v) for v in _volumes(ctx, [{"Name": "attachment.instance-id", "Values": chunk}]))
    clusters = cluster_names(ctx)
    if clusters:
        tags = [f"kubernetes.io/cluster/{name}" for name in clusters]
        volumes.update((v["VolumeId"], v) for v in _volumes(ctx, [{"Name": "tag-key", "Values": tags}]))
    if not volumes:
        return _absent(ctx, "EBS volume attached to the BYOC VPC's instances or tagged for a ClickHouse cluster")
    return [
        Finding("audit-ebs-encrypted", volume_id, "volume is not encrypted at rest")
        for volume_id, volume in sorted(volumes.items())
        if not volume.get("Encrypted")
    ]


def check_load_balancers(ctx: AuditContext) -> list[Finding]:
    vpc_id = byoc_outputs(ctx).vpc_id
    balancers = [lb for lb in ctx.aws.items("elbv2", "describe_load_balancers", "LoadBalancers")
                 if lb.get("VpcId") == vpc_id]
    if not balancers:
        return _absent(ctx, "load balancer in the BYOC VPC")
    return [
        Finding("load-balancer-internal-only", lb["LoadBalancerArn"],
                f"load balancer {lb['LoadBalancerName']} is {lb.get('Scheme')}, not internal")
        for lb in balancers
        if lb.get("Scheme") != "internal"
    ]


def _bucket_findings(ctx: AuditContext, bucket: str) -> list[Finding]:
    block = ctx.aws.call(
        "s3", "get_public_access_block", Bucket=bucket, missing=frozenset({"NoSuchPublicAccessBlockConfiguration"})
    )
    config: Mapping[str, Any] = (block or {}).get("PublicAccessBlockConfiguration", {})
    off = [flag for flag in PUBLIC_ACCESS_BLOCK_FLAGS if not config.get(flag)]
    findings = [Finding(
        "s3-bucket-public-access-block", bucket, f"ClickHouse bucket's public access block lacks {', '.join(off)}"
    )] if off else []
    encryption = ctx.aws.call(
        "s3", "get_bucket_encryption", Bucket=bucket,
        missing=frozenset({"ServerSideEncryptionConfigurationNotFoundError"}),
    )
    if not (encryption or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules"):
        findings.append(Finding("audit-s3-default-encryption", bucket, "ClickHouse bucket has no default encryption"))
    return findings + bucket_policy_findings(ctx, bucket, "ClickHouse bucket", require_tls=False)


def check_buckets(ctx: AuditContext) -> list[Finding]:
    buckets = [b["Name"] for b in ctx.aws.items("s3", "list_buckets", "Buckets") if CLICKHOUSE_BUCKET.match(b["Name"])]
    if not buckets:
        return _absent(ctx, "bucket named *.*.aws.clickhouse.cloud-{shared,backup,monitoring}")
    return [finding for bucket in sorted(buckets) for finding in _bucket_findings(ctx, bucket)]


def check_vpc_security_groups(ctx: AuditContext) -> list[Finding]:
    """Every group in the BYOC VPC that the stack did not create (those are ``sg-no-public-ingress``'s)."""
    ours = stack_security_groups(ctx.outputs)
    groups = [g for g in ctx.aws.items("ec2", "describe_security_groups", "SecurityGroups", Filters=_vpc_filter(ctx))
              if g["GroupId"] not in ours]
    if not any(group.get("GroupName") != "default" for group in groups):
        # The VPC's default group is always there; ClickHouse's own groups mark that it has built.
        findings = [f for group in groups for f in public_ingress_findings(group, "the VPC's default security group")]
        return findings or _absent(ctx, "security group of ClickHouse's in the BYOC VPC")
    return [f for group in groups
            for f in public_ingress_findings(group, f"security group {group.get('GroupName', '')}".strip())]


BUILT_CHECKS: tuple[Check, ...] = (
    Check("clickhouse-eks", f"ClickHouse's EKS clusters ({CLUSTER_PREFIX}*): BYOC VPC private subnets only, private "
                            "API endpoint, secrets encrypted", check_eks, needs_byoc),
    Check("clickhouse-instances", "EC2 instances in the BYOC VPC: no public IPv4 or IPv6 address, IMDSv2 required",
          check_instances, needs_byoc),
    Check("clickhouse-volumes", "EBS volumes of the BYOC VPC's instances and ClickHouse's clusters are encrypted",
          check_volumes, needs_byoc),
    Check("clickhouse-load-balancers", "Load balancers in the BYOC VPC are internal", check_load_balancers,
          needs_byoc),
    Check("clickhouse-buckets", "ClickHouse's buckets: full public access block, default encryption, no public policy",
          check_buckets, needs_byoc),
    Check("clickhouse-security-groups", "Security groups in the BYOC VPC admit nothing from 0.0.0.0/0 or ::/0",
          check_vpc_security_groups, needs_byoc),
)
