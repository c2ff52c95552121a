"""The customer side of ClickHouse BYOC: its config, read only when byocEnabled is true, and the checks relating it to
the stack's network, before the lookups (``read_byoc``) and after them for an adopted VPC (``adopted_vpc_problems``)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Optional, Sequence

from stack_config.keys import ConfigReader, Problems, parse
from stack_config.network import FoundNetwork, NetworkConfig, NetworkLayout, networks

# ClickHouse BYOC needs exactly three zones and subnets of at least /23 (ClickHouse's BYOC onboarding documentation).
BYOC_AZ_COUNT = 3
BYOC_MAX_SUBNET_PREFIX = 23
# A KMS key deletion window: the longest AWS allows when the stack is protected, the shortest otherwise (dev can be
# torn down and rebuilt without waiting a month for key names and aliases to clear).
KMS_DELETION_WINDOW_PROTECTED = 30
KMS_DELETION_WINDOW_DISPOSABLE = 7
# IAM's limit on a role name; the program names the BYOC roles after the stack.
IAM_ROLE_NAME_MAX = 64
S3_BUCKET_NAME_MAX = 63
BUCKET_SUFFIXES = ("backups", "logs")
_ACCOUNT_ID_PLACEHOLDER = "0" * 12
# ClickHouse's automation assumes exactly this role; its bootstrap template or module creates it ("The role must be
# named exactly ClickHouseManagementRole", clickhouse.com/docs/cloud/reference/byoc/onboarding/customization-aws).
MANAGEMENT_ROLE_NAME = "ClickHouseManagementRole"
# The keys only one bootstrap mode reads: setting one in the other mode is a slip worth reporting.
_BOOTSTRAP_KEYS = {
    "cloudformation": ("byocExternalId", "byocBootstrapTemplateUrl", "byocIncludeIamWritePermissions"),
    "existing": ("byocManagementRoleArn",),
}  # bucket-name length checks run before the account is known; IDs are 12 digits


def bucket_name(prefix: str, account_id: str, region: str, suffix: str) -> str:
    """``<prefix>-<account>-<region>-<suffix>``: globally unique and the same on every run."""
    return f"{prefix}-{account_id}-{region}-{suffix}"


@dataclass(frozen=True)
class ByocConfig:
    """The customer side of ClickHouse BYOC. ``external_id`` ('' with an existing bootstrap role) is secret: kept out
    of repr, wrapped as a secret Output wherever it is used, and never exported."""

    # How ClickHouse's bootstrap role comes about: "cloudformation" (this stack deploys ClickHouse's template with
    # ``external_id``) or "existing" (``management_role_arn``, made by the customer with that template or module).
    bootstrap: str
    external_id: str = field(repr=False)
    template_url: str
    include_iam_write_permissions: bool
    management_role_arn: Optional[str]
    node_role_name: str
    # The customer-supplied role of the ClickHouse pods, and how they assume it ("pod-identity" or "irsa").
    pod_role_name: str
    pod_access: str
    # Only with IRSA: the cluster's issuer, set once ClickHouse has created EKS.
    oidc_issuer_url: Optional[str]
    namespace: str
    service_account: str
    # Only when agreed with ClickHouse: the program never guesses the name ClickHouse gives its cluster.
    eks_cluster_name: Optional[str]
    control_plane_security_group_id: Optional[str]
    application_security_group_ids: tuple[str, ...]
    application_cidrs: tuple[str, ...]
    reserved_cidrs: tuple[str, ...]
    interface_endpoints: tuple[str, ...]
    bucket_prefix: str
    backup_retention_days: int
    logs_retention_days: int
    query_log_retention_days: int
    error_log_retention_days: int
    eks_log_retention_days: int
    internal_domain: str
    nlb_dns_name: Optional[str]
    nlb_zone_id: Optional[str]
    kms_deletion_window_days: int
    # Set once ClickHouse reports the BYOC infrastructure: the stack then creates the service on it (byoc_id).
    infrastructure_id: Optional[str] = None
    # egress none, accepted because the customer's ClickHouse contract provides another outbound path.
    egress_none_acknowledged: bool = False

    @property
    def pod_role_ready(self) -> bool:
        """Whether the pod role exists: with Pod Identity from the start, with IRSA once the issuer is known."""
        return self.pod_access == "pod-identity" or self.oidc_issuer_url is not None

    @property
    def clickhouse_record_name(self) -> str:
        return f"clickhouse.{self.internal_domain}"

    def bucket_name(self, account_id: str, region: str, suffix: str) -> str:
        return bucket_name(self.bucket_prefix, account_id, region, suffix)


def read_byoc(r: ConfigReader, stack: str, aws_region: str, network: NetworkConfig, protect: bool) -> Optional[ByocConfig]:
    """The BYOC settings, or None when byocEnabled is false (then no other byoc* key is read)."""
    if not r.get("byocEnabled"):
        return None
    _network_shape(r, network)
    # The program names these roles itself: their ARNs appear in key and bucket policies before they exist. The pod
    # role's name matches "*-clickhouse-*", one of the role patterns ClickHouse's management role may pass to
    # pods.eks.amazonaws.com (ClickHouse/terraform-byoc-onboarding modules/aws), so ClickHouse can associate it.
    node_role, pod_role = f"{r.project}-{stack}-byoc-eks-node", f"{r.project}-{stack}-clickhouse-pods"
    longest = max(node_role, pod_role, key=len)
    r.check(len(longest) <= IAM_ROLE_NAME_MAX, "byocEnabled",
            f"the stack name {stack!r} is too long for the BYOC IAM role names ({longest!r} is over IAM's "
            f"{IAM_ROLE_NAME_MAX} characters); use a stack name of at most {IAM_ROLE_NAME_MAX - len(longest) + len(stack)} characters")
    pod_access = r.get("byocPodAccess")
    oidc_issuer_url = r.get("byocOidcIssuerUrl") or None
    r.check(oidc_issuer_url is None or not r.valid("byocOidcIssuerUrl") or pod_access != "pod-identity", "byocOidcIssuerUrl",
            "is set but byocPodAccess is pod-identity, whose pods get credentials from EKS Pod Identity, not the "
            "cluster's OIDC issuer; remove byocOidcIssuerUrl, or set byocPodAccess to irsa")
    derived = f"the default, derived from the stack name {stack!r}"
    endpoints = r.get("byocInterfaceEndpoints")
    r.check("s3" not in endpoints, "byocInterfaceEndpoints",
            "lists s3, which always gets a gateway endpoint on the private route tables; remove it from the list")
    _unused_bootstrap_keys(r)
    nlb_dns_name, nlb_zone_id = r.get("byocNlbDnsName") or None, r.get("byocNlbZoneId") or None
    r.check(nlb_zone_id is None or nlb_dns_name is not None, "byocNlbZoneId",
            "is set but byocNlbDnsName is not: set both once ClickHouse has created the NLB, or neither")
    bootstrap = r.get("byocBootstrap")
    cloudformation, existing = bootstrap == "cloudformation", bootstrap == "existing"
    return ByocConfig(
        bootstrap=bootstrap,
        external_id=r.get("byocExternalId") if cloudformation else "",
        template_url=r.get("byocBootstrapTemplateUrl") if cloudformation else "",
        include_iam_write_permissions=r.get("byocIncludeIamWritePermissions") if cloudformation else False,
        management_role_arn=r.get("byocManagementRoleArn") if existing else None,
        node_role_name=node_role,
        pod_role_name=pod_role,
        pod_access=pod_access,
        oidc_issuer_url=oidc_issuer_url,
        namespace=r.get("byocNamespace"),
        service_account=r.get("byocServiceAccount"),
        eks_cluster_name=r.get("byocEksClusterName") or None,
        control_plane_security_group_id=r.get("byocControlPlaneSecurityGroupId") or None,
        application_security_group_ids=tuple(r.get("byocApplicationSecurityGroupIds")),
        application_cidrs=tuple(r.get("byocApplicationCidrs")),
        reserved_cidrs=tuple(r.get("reservedCidrs")),
        interface_endpoints=tuple(endpoints),
        bucket_prefix=_bucket_prefix(r, f"{r.project}-{stack}", derived, aws_region),
        backup_retention_days=r.get("byocBackupRetentionDays"),
        logs_retention_days=r.get("byocLogsRetentionDays"),
        query_log_retention_days=r.get("byocQueryLogRetentionDays"),
        error_log_retention_days=r.get("byocErrorLogRetentionDays"),
        eks_log_retention_days=r.get("byocEksLogRetentionDays"),
        internal_domain=r.get("byocInternalDomain"),
        nlb_dns_name=nlb_dns_name,
        nlb_zone_id=nlb_zone_id,
        kms_deletion_window_days=KMS_DELETION_WINDOW_PROTECTED if protect else KMS_DELETION_WINDOW_DISPOSABLE,
        egress_none_acknowledged=_egress_acknowledged(r, network),
        infrastructure_id=_infrastructure_id(r, nlb_dns_name),
    )


def _unused_bootstrap_keys(r: ConfigReader) -> None:
    """A key of the other bootstrap mode is a slip (an ExternalId left behind, a role ARN never used): say so."""
    if not r.valid("byocBootstrap"):
        return
    bootstrap = r.get("byocBootstrap")
    for mode, keys in _BOOTSTRAP_KEYS.items():
        for key in keys:
            if mode != bootstrap and _set_away_from_default(r, key):
                r.problem(key, f"is used only with byocBootstrap {mode}, but byocBootstrap is {bootstrap}; remove it")


def _set_away_from_default(r: ConfigReader, name: str) -> bool:
    """Whether the stack sets ``name`` to something other than its default (the CLI passes Pulumi.yaml's defaults)."""
    raw, key = r.raw(r.full(name)), r.keys[name]
    if raw in (None, "null", ""):
        return False
    try:
        return parse(key, raw) != key.default
    except ValueError:
        return True


def _infrastructure_id(r: ConfigReader, nlb_dns_name: Optional[str]) -> Optional[str]:
    """The service is reached at clickhouse.<domain>, so it is created only with the record's NLB known."""
    infrastructure_id = r.get("byocInfrastructureId") or None
    r.check(infrastructure_id is None or nlb_dns_name is not None, "byocInfrastructureId",
            "is set but byocNlbDnsName is not: the service answers at clickhouse.<domain> through ClickHouse's private "
            "load balancer; set byocNlbDnsName to its DNS name too")
    return infrastructure_id


# What ClickHouse's BYOC components need outside the VPC: the Tailscale control plane and relays (ClickHouse's
# management link; Tailscale advises against domain allow-lists as its hosts change).
TAILSCALE_EGRESS = "TCP 443, UDP 3478 (STUN) and UDP 41641 (WireGuard)"


def _egress_acknowledged(r: ConfigReader, network: NetworkConfig) -> bool:
    """BYOC needs a way out; egress none is allowed only when acknowledged (another path exists by contract)."""
    acknowledged = r.get("byocEgressNoneAcknowledged")
    if network.egress == "none":
        r.check(acknowledged, "egress",
                "is none, but ClickHouse BYOC's components register with the Tailscale control plane (ClickHouse's "
                f"management link) and need outbound internet access: {TAILSCALE_EGRESS}. Set egress to nat or "
                "transit-gateway, or, if your ClickHouse contract provides another outbound path (or the adopted "
                "VPC's owner routes it), set byocEgressNoneAcknowledged to true")
    else:
        r.check(not acknowledged, "byocEgressNoneAcknowledged",
                f"is true but egress is {network.egress}: the acknowledgement is only for egress none; remove it")
    return network.egress == "none" and acknowledged


def _network_shape(r: ConfigReader, network: NetworkConfig) -> None:
    """ClickHouse BYOC's network: three zones, subnets of at least /23, application CIDRs it can route.

    An adopted VPC may bring more subnets, in more zones, as ClickHouse's customer-managed VPC guide allows (at least
    three private subnets in three zones); its CIDR and subnet sizes are known only after the lookups
    (``adopted_vpc_problems``).
    """
    r.check(network.az_count == BYOC_AZ_COUNT, "azCount",
            f"is {network.az_count} but ClickHouse BYOC needs exactly {BYOC_AZ_COUNT} availability zones (one private subnet each)")
    if network.creates_vpc:
        r.check(network.subnet_prefix_length <= BYOC_MAX_SUBNET_PREFIX, "subnetPrefixLength",
                f"/{network.subnet_prefix_length} subnets are smaller than the /{BYOC_MAX_SUBNET_PREFIX} ClickHouse BYOC needs; "
                f"use {BYOC_MAX_SUBNET_PREFIX} or less (and a VPC CIDR large enough for three of them)")
        if r.valid("vpcCidr"):
            for message in _application_cidr_problems(r.get("byocApplicationCidrs"), network.vpc_cidr, r.get("reservedCidrs")):
                r.problem("byocApplicationCidrs", message)


def _application_cidr_problems(cidrs: Sequence[str], vpc_cidr: str, reserved_cidrs: Sequence[str]) -> list[str]:
    """Where the application CIDRs the internal NLB admits (byocApplicationCidrs) lie relative to the VPC.

    An application subnet either lies in the BYOC VPC or in a network routed to it (peering, transit gateway,
    on-premises), and those networks are what reservedCidrs declares: ranges the VPC must not overlap. So each CIDR
    must lie wholly inside the VPC or wholly inside one reserved range. One that straddles the VPC's edge overlaps it
    without being part of it, and one outside both is not routable here. Their form is the key's facts.
    """
    vpc, reserved, problems = ipaddress.IPv4Network(vpc_cidr), networks(reserved_cidrs), []
    for net in networks(cidrs):
        if net.overlaps(vpc) and not net.subnet_of(vpc):
            problems.append(f"{net} overlaps the VPC {vpc} without lying inside it; use the application subnets' own CIDRs")
        elif not net.subnet_of(vpc) and not any(net.subnet_of(other) for other in reserved):
            problems.append(f"{net} is outside the VPC {vpc} and outside every reservedCidrs range: add the network it "
                            "belongs to (peered VPC, on-premises) to reservedCidrs, or use a CIDR inside the VPC")
    return problems


def _bucket_prefix(r: ConfigReader, default: str, derived: str, aws_region: str) -> str:
    prefix = r.get_or("byocBucketPrefix", default, derived)
    if r.valid("byocBucketPrefix"):
        shown = f"{prefix!r} ({derived})" if prefix == default else repr(prefix)
        longest = max(len(bucket_name(prefix, _ACCOUNT_ID_PLACEHOLDER, aws_region, suffix)) for suffix in BUCKET_SUFFIXES)
        r.check(longest <= S3_BUCKET_NAME_MAX, "byocBucketPrefix",
                f"{shown} makes bucket names of {longest} characters (<prefix>-<account>-{aws_region}-backups), over "
                f"S3's limit of {S3_BUCKET_NAME_MAX}; set a prefix of at most {len(prefix) - (longest - S3_BUCKET_NAME_MAX)} characters")
    return prefix


def bootstrap_account_problems(p: Problems, byoc: ByocConfig, account_id: str, partition: str) -> None:
    """An existing bootstrap role must be this account's: ClickHouse's automation assumes it in the account it builds
    in, and the key policies name it here. Checked once the account is known, before any resource."""
    if byoc.management_role_arn is None:
        return
    _, role_partition, _, _, role_account, _ = byoc.management_role_arn.split(":", 5)
    p.check(role_account == account_id, "byocManagementRoleArn",
            f"is a role in account {role_account}, but this stack deploys into account {account_id}; ClickHouse "
            f"assumes {MANAGEMENT_ROLE_NAME} in the account it builds BYOC in: use that account's role")
    p.check(role_partition == partition, "byocManagementRoleArn",
            f"is in the {role_partition} partition, but this stack deploys into {partition}; use "
            f"arn:{partition}:iam::{account_id}:role/{MANAGEMENT_ROLE_NAME}")


def adopted_vpc_problems(p: Problems, network: NetworkConfig, byoc: ByocConfig, found: FoundNetwork,
                         layout: NetworkLayout) -> None:
    """Check an adopted VPC, once looked up, the way ``read_byoc`` checks one the stack creates, adding to ``p``."""
    small = [f"{subnet_id} ({cidr})" for subnet_id, cidr in zip(network.existing_subnet_ids, layout.existing_subnet_cidrs)
             if ipaddress.IPv4Network(cidr).prefixlen > BYOC_MAX_SUBNET_PREFIX]
    p.check(not small, "subnetIds",
            f"{', '.join(small)} {'is' if len(small) == 1 else 'are'} smaller than the /{BYOC_MAX_SUBNET_PREFIX} "
            f"ClickHouse BYOC needs; use subnets of /{BYOC_MAX_SUBNET_PREFIX} or larger")
    p.check(found.vpc.dns_support and found.vpc.dns_hostnames, "vpcId",
            f"{network.existing_vpc_id} has DNS support or DNS hostnames turned off; the interface endpoints' private "
            "DNS and the private hosted zone need both on")
    vpc = ipaddress.IPv4Network(layout.existing_vpc_cidr)
    for reserved in networks(byoc.reserved_cidrs):
        p.check(not vpc.overlaps(reserved), "reservedCidrs",
                f"{reserved} overlaps the adopted VPC {vpc}; the VPC must not overlap the ranges routed to it")
    for message in _application_cidr_problems(byoc.application_cidrs, str(vpc), byoc.reserved_cidrs):
        p.problem("byocApplicationCidrs", message)
    p.check(bool(layout.route_table_ids), "subnetIds",
            f"no route table found for {', '.join(network.existing_subnet_ids)} in {network.existing_vpc_id}; "
            "the S3 gateway endpoint needs the subnets' route tables")
