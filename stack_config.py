"""Stack configuration: read once into frozen dataclasses and validated before any resource is declared.

Every key under the project namespace is declared in ``KEYS`` (and mirrored in ``Pulumi.yaml``; a test keeps the two
in step), so a misspelt key is reported instead of silently ignored. All problems are collected and reported together
as one ``ConfigError``, which Pulumi prints as a plain message rather than a traceback.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
from pulumi.runtime import config as runtime_config

PROJECT = "clickhouse-aws"

# The only values CloudWatch Logs accepts for retention_in_days.
CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_VPC_ID_RE = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_SUBNET_ID_RE = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_KMS_ARN_RE = re.compile(r"^arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):\d{12}:(key/[0-9a-f-]{36}|key/mrk-[0-9a-f]{32}|alias/[\w/+=,.@-]+)$")
_HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_SERVICE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,49}$")
_ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
_SG_ID_RE = re.compile(r"^sg-[0-9a-f]{8,17}$")
_IAM_ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
# sts:ExternalId: 2-1224 characters from this set (STS AssumeRole API reference).
_EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
# EKS issuers are https://oidc.eks.<region>.amazonaws.com[.cn]/id/<32 upper-case hex>; IAM matches them case-sensitively.
_OIDC_ISSUER_RE = re.compile(r"^https://oidc\.eks\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/id/[0-9A-F]{32}$")
_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_K8S_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
_NLB_DNS_RE = re.compile(r"^[a-z0-9][a-z0-9-]*\.elb\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
_HOSTED_ZONE_ID_RE = re.compile(r"^Z[A-Z0-9]{1,31}$")
_EKS_CLUSTER_RE = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
_ENDPOINT_SERVICE_RE = re.compile(r"^[a-z0-9]+([.-][a-z0-9]+)*$")
_BUCKET_PREFIX_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


class ConfigError(pulumi.RunError):
    """A user's configuration mistake. ``pulumi.RunError`` makes the CLI print the message without a traceback."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Invalid configuration for this stack:\n{lines}")


# ClickHouse BYOC needs exactly three zones and subnets of at least /23 (ClickHouse's BYOC onboarding documentation).
BYOC_AZ_COUNT = 3
BYOC_MAX_SUBNET_PREFIX = 23
# What EKS nodes in a VPC without internet access need to reach AWS: image pulls, node bootstrap, the EKS API, IRSA
# token exchange, logs and the load balancer controller. S3 is always a gateway endpoint, never in this list.
BYOC_INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "ec2", "eks", "sts", "logs", "elasticloadbalancing")
# A KMS key deletion window: the longest AWS allows when the stack is protected, the shortest otherwise (dev can be
# torn down and rebuilt without waiting a month for key names and aliases to clear).
KMS_DELETION_WINDOW_PROTECTED = 30
KMS_DELETION_WINDOW_DISPOSABLE = 7
_ACCOUNT_ID_PLACEHOLDER = "0" * 12  # bucket-name length checks run before the account is known; IDs are 12 digits
_BUCKET_SUFFIXES = ("backups", "logs")


@dataclass(frozen=True)
class Key:
    """One project config key: its type, default and the description shown in ``Pulumi.yaml``."""

    name: str
    kind: type
    default: Any
    description: str
    secret: bool = False


KEYS: tuple[Key, ...] = (
    Key("protect", bool, True, "Protect stateful resources (ClickHouse service, secrets, KMS keys, buckets) from deletion."),
    Key("tags", dict, {}, "Extra tags applied to every AWS resource and the ClickHouse service (object of strings)."),
    # Network
    Key("vpcId", str, "", "Existing VPC to use instead of creating one; requires subnetIds."),
    Key("subnetIds", list, [], "Existing private subnet IDs (one per AZ) for the endpoint; only with vpcId."),
    Key("vpcCidr", str, "10.40.0.0/16", "CIDR of the VPC this program creates (private range, /16 to /24)."),
    Key("azCount", int, 3, "How many availability zones the created VPC spans (one private subnet each)."),
    Key("subnetPrefixLength", int, 20, "Prefix length of each computed private subnet (e.g. 20 for /20)."),
    Key("reservedCidrs", list, [], "CIDRs the VPC must not overlap (peered VPCs, on-premises, other regional stacks)."),
    Key("flowLogRetentionDays", int, 90, "Retention of the VPC flow log group, in days (a value CloudWatch accepts)."),
    # ClickHouse Cloud service
    Key("serviceName", str, "", "ClickHouse service name; defaults to '<project>-<stack>'."),
    Key("clickhouseRegion", str, "", "ClickHouse service region; must equal aws:region (defaults to it)."),
    Key("idleScaling", bool, True, "Let the service scale to zero when idle."),
    Key("idleTimeoutMinutes", int, 15, "Minutes of inactivity before idling (at least 5)."),
    Key("minReplicaMemoryGb", int, 8, "Minimum memory per replica in GiB (multiple of 4, at least 8)."),
    Key("maxReplicaMemoryGb", int, 16, "Maximum memory per replica in GiB (multiple of 4, not below the minimum)."),
    Key("numReplicas", int, 3, "Number of replicas (at least 1)."),
    Key("releaseChannel", str, "default", "ClickHouse release channel: default, fast or slow."),
    Key("backupPeriodHours", int, 24, "Hours between backups (ignored when backupStartTime is set)."),
    Key("backupRetentionHours", int, 24, "Hours a backup is kept."),
    Key("backupStartTime", str, "", "Daily backup window start in UTC as HH:MM; replaces backupPeriodHours."),
    # Password secret
    Key("passwordKmsKey", str, "", "KMS key for the password secret: '' (AWS managed), 'create', or a key/alias ARN in this region."),
    Key("secretRecoveryWindowDays", int, 30, "Secrets Manager recovery window: 0 (delete at once, dev) or 7 to 30."),
    # ClickHouse BYOC prerequisites (customer side); every other byoc* key is read only when byocEnabled is true.
    Key("byocEnabled", bool, False, "Lay down the customer-side AWS prerequisites for ClickHouse BYOC in this stack."),
    Key("byocExternalId", str, "", "sts:ExternalId ClickHouse gave you for the management role (secret: set with --secret).", secret=True),
    Key("byocClickHouseAccountId", str, "", "ClickHouse's AWS account ID (12 digits) that assumes the management role."),
    Key("byocManagementRoleName", str, "ClickHouseManagementRole", "Name of the cross-account role ClickHouse assumes (ClickHouse expects the default)."),
    Key("byocOidcIssuerUrl", str, "", "EKS OIDC issuer URL ClickHouse sends once EKS exists; '' until then (no IRSA role yet)."),
    Key("byocNamespace", str, "clickhouse", "Kubernetes namespace of the ClickHouse pods (IRSA trust)."),
    Key("byocServiceAccount", str, "clickhouse", "Kubernetes service account of the ClickHouse pods (IRSA trust)."),
    Key("byocEksClusterName", str, "", "Name ClickHouse gives the EKS cluster (clickhouse-cloud-*); defaults to 'clickhouse-cloud-<stack>'."),
    Key("byocControlPlaneSecurityGroupId", str, "", "EKS control plane security group, once EKS exists; '' until then."),
    Key("byocApplicationSecurityGroupIds", list, [], "Security groups of applications that query ClickHouse; defaults to the PrivateLink client group."),
    Key("byocApplicationCidrs", list, [], "Application subnet CIDRs the internal NLB admits; each inside the VPC or a reservedCidrs range."),
    Key("byocInterfaceEndpoints", list, list(BYOC_INTERFACE_ENDPOINTS), "AWS services that get an interface VPC endpoint (com.amazonaws.<region>.<service>)."),
    Key("byocBucketPrefix", str, "", "Prefix of the BYOC bucket names; defaults to '<project>-<stack>' (names end -<account>-<region>-backups/-logs)."),
    Key("byocBackupRetentionDays", int, 90, "Days before objects in the backups bucket expire."),
    Key("byocLogsRetentionDays", int, 365, "Days before objects in the logs bucket expire."),
    Key("byocQueryLogRetentionDays", int, 30, "Retention of /aws/clickhouse/query-logs, in days (a value CloudWatch accepts)."),
    Key("byocErrorLogRetentionDays", int, 90, "Retention of /aws/clickhouse/error-logs, in days (a value CloudWatch accepts)."),
    Key("byocEksLogRetentionDays", int, 90, "Retention of the EKS control plane log group, in days (a value CloudWatch accepts)."),
    Key("byocInternalDomain", str, "", "Private Route53 domain for BYOC; ClickHouse answers at clickhouse.<domain>."),
    Key("byocNlbDnsName", str, "", "DNS name of ClickHouse's internal NLB once it exists; '' until then (no clickhouse record yet)."),
    Key("byocNlbZoneId", str, "", "Canonical hosted zone ID of that NLB; '' looks up the region's NLB zone."),
)
KEYS_BY_NAME: dict[str, Key] = {k.name: k for k in KEYS}


@dataclass(frozen=True)
class NetworkConfig:
    """Where the endpoint lives: a VPC this program creates, or an existing one."""

    vpc_cidr: str
    az_count: int
    subnet_prefix_length: int
    flow_log_retention_days: int
    existing_vpc_id: Optional[str] = None
    existing_subnet_ids: tuple[str, ...] = ()

    @property
    def creates_vpc(self) -> bool:
        return self.existing_vpc_id is None

    def subnet_cidrs(self) -> list[str]:
        """The first ``az_count`` subnets of ``subnet_prefix_length`` carved from the VPC CIDR, in order."""
        network = ipaddress.ip_network(self.vpc_cidr)
        subnets = network.subnets(new_prefix=self.subnet_prefix_length)
        return [str(next(subnets)) for _ in range(self.az_count)]


@dataclass(frozen=True)
class BackupConfig:
    retention_hours: int
    period_hours: Optional[int]
    start_time: Optional[str]


@dataclass(frozen=True)
class ClickHouseConfig:
    service_name: str
    region: str
    idle_scaling: bool
    idle_timeout_minutes: int
    min_replica_memory_gb: int
    max_replica_memory_gb: int
    num_replicas: int
    release_channel: str
    backup: BackupConfig


@dataclass(frozen=True)
class SecretConfig:
    recovery_window_days: int
    create_kms_key: bool
    kms_key_arn: Optional[str]


@dataclass(frozen=True)
class ByocConfig:
    """The customer side of ClickHouse BYOC. ``external_id`` is secret: kept out of repr, wrapped as a secret Output
    wherever it is used, and never exported."""

    external_id: str = field(repr=False)
    clickhouse_account_id: str
    management_role_name: str
    node_role_name: str
    irsa_role_name: str
    oidc_issuer_url: Optional[str]
    namespace: str
    service_account: str
    eks_cluster_name: str
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

    @property
    def clickhouse_record_name(self) -> str:
        return f"clickhouse.{self.internal_domain}"

    def bucket_name(self, account_id: str, region: str, suffix: str) -> str:
        """``<prefix>-<account>-<region>-<suffix>``: globally unique and the same on every run."""
        return f"{self.bucket_prefix}-{account_id}-{region}-{suffix}"


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    aws_region: str
    protect: bool
    tags: Mapping[str, str]
    network: NetworkConfig
    clickhouse: ClickHouseConfig
    secret: SecretConfig
    # None unless byocEnabled is true.
    byoc: Optional[ByocConfig] = None


def _parse(key: Key, raw: Any) -> Any:
    """Turn a raw config value (the CLI hands every value over as a string) into ``key.kind``; raise ValueError."""
    if key.kind is str:
        if not isinstance(raw, str):
            raise ValueError("expected a string")
        return raw.strip()
    if key.kind is bool:
        text = str(raw).strip().lower()
        if text not in ("true", "false"):
            raise ValueError("expected true or false")
        return text == "true"
    if key.kind is int:
        try:
            return int(str(raw).strip())
        except ValueError:
            raise ValueError("expected a whole number") from None
    expected = "a list of strings" if key.kind is list else "an object whose values are strings"
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        raise ValueError(f"expected {expected}") from None
    items = value if isinstance(value, list) else value.values() if isinstance(value, dict) else None
    if not isinstance(value, key.kind) or not all(isinstance(v, str) for v in items):
        raise ValueError(f"expected {expected}")
    return value


class ConfigReader:
    """Reads raw config, collects every problem, and reports them together."""

    def __init__(self, project: str = PROJECT, keys: tuple[Key, ...] = KEYS):
        self.project = project
        self.keys = {k.name: k for k in keys}
        self.problems: list[str] = []
        self._values: dict[str, Any] = {}

    def full(self, name: str) -> str:
        return f"{self.project}:{name}"

    def problem(self, name: str, message: str) -> None:
        self.problems.append(f"{self.full(name)}: {message}")

    def raw(self, full_key: str) -> Any:
        return runtime_config.get_config(full_key)

    def get(self, name: str) -> Any:
        # Cached so a key read by two validators (reservedCidrs) reports a parse problem once.
        if name not in self._values:
            self._values[name] = self._read(name)
        return self._values[name]

    def _read(self, name: str) -> Any:
        key = self.keys[name]
        raw = self.raw(self.full(name))
        if raw is None:
            return key.default
        try:
            return _parse(key, raw)
        except ValueError as err:
            self.problem(name, f"{err}, got {raw!r}" if not key.secret else str(err))
            return key.default

    def check_unknown_keys(self) -> None:
        prefix = f"{self.project}:"
        present = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
        for full_key in sorted(k for k in present if k.startswith(prefix)):
            name = full_key[len(prefix):]
            if name not in self.keys:
                hint = difflib.get_close_matches(name, self.keys, n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                self.problems.append(f"{full_key}: unknown key{suggestion} (known keys are listed in Pulumi.yaml)")

    def check(self, ok: bool, name: str, message: str) -> bool:
        if not ok:
            self.problem(name, message)
        return ok

    def raise_if_problems(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)


def _log_retention(r: ConfigReader, name: str) -> int:
    days = r.get(name)
    r.check(days in CLOUDWATCH_RETENTION_DAYS, name,
            f"{days} is not a retention CloudWatch accepts; use one of {', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))}")
    return days


def _network(r: ConfigReader) -> NetworkConfig:
    vpc_id, subnet_ids = r.get("vpcId"), r.get("subnetIds")
    az_count, prefix = r.get("azCount"), r.get("subnetPrefixLength")
    retention = _log_retention(r, "flowLogRetentionDays")
    r.check(az_count >= 2, "azCount", f"{az_count} is too few: the endpoint needs at least 2 availability zones to survive an AZ outage")

    if subnet_ids and not vpc_id:
        r.problem("subnetIds", "is set but vpcId is not: give the VPC that holds these subnets, or remove subnetIds to create a VPC")
    if vpc_id:
        r.check(bool(_VPC_ID_RE.match(vpc_id)), "vpcId", f"{vpc_id!r} is not a VPC ID (expected vpc-xxxxxxxx)")
        bad = [s for s in subnet_ids if not _SUBNET_ID_RE.match(s)]
        r.check(not bad, "subnetIds", f"{', '.join(bad)} are not subnet IDs (expected subnet-xxxxxxxx)")
        r.check(len(set(subnet_ids)) == len(subnet_ids), "subnetIds", "lists the same subnet more than once")
        r.check(len(subnet_ids) >= az_count, "subnetIds",
                f"has {len(subnet_ids)} subnet(s) but azCount is {az_count}: give one private subnet per availability zone")
        return NetworkConfig(r.get("vpcCidr"), az_count, prefix, retention, vpc_id, tuple(subnet_ids))

    cidr_text = r.get("vpcCidr")
    try:
        vpc = ipaddress.IPv4Network(cidr_text, strict=True)
    except ValueError as err:
        r.problem("vpcCidr", f"{cidr_text!r} is not a valid IPv4 CIDR ({err}); expected e.g. 10.40.0.0/16")
        return NetworkConfig(cidr_text, az_count, prefix, retention)
    r.check(16 <= vpc.prefixlen <= 24, "vpcCidr", f"{cidr_text} must be between /16 and /24 (AWS allows /16 to /28; smaller leaves no room for subnets)")
    r.check(vpc.is_private, "vpcCidr", f"{cidr_text} is not a private range; use RFC 1918 space such as 10.0.0.0/8")
    if r.check(vpc.prefixlen < prefix <= 28, "subnetPrefixLength",
               f"/{prefix} does not fit in {cidr_text}: it must be longer than /{vpc.prefixlen} and at most /28"):
        room = 2 ** (prefix - vpc.prefixlen)
        r.check(room >= az_count, "subnetPrefixLength",
                f"{cidr_text} holds only {room} subnet(s) of /{prefix}, but azCount is {az_count}; use a longer prefix or a larger VPC")
    for reserved in r.get("reservedCidrs"):
        try:
            other = ipaddress.ip_network(reserved, strict=True)
        except ValueError as err:
            r.problem("reservedCidrs", f"{reserved!r} is not a valid CIDR ({err})")
            continue
        r.check(not vpc.overlaps(other), "vpcCidr", f"{cidr_text} overlaps reserved range {reserved}; pick a VPC CIDR outside it")
    return NetworkConfig(cidr_text, az_count, prefix, retention)


def _clickhouse(r: ConfigReader, stack: str, aws_region: str) -> ClickHouseConfig:
    name = r.get("serviceName") or f"{r.project}-{stack}"
    r.check(bool(_SERVICE_NAME_RE.match(name)), "serviceName",
            f"{name!r} must be 1-50 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit")
    region = r.get("clickhouseRegion") or aws_region
    r.check(region == aws_region, "clickhouseRegion",
            f"is {region!r} but aws:region is {aws_region!r}: PrivateLink here is same-region only; "
            f"use a separate regional stack for {region}")
    idle_timeout = r.get("idleTimeoutMinutes")
    r.check(idle_timeout >= 5, "idleTimeoutMinutes", f"{idle_timeout} is under the 5-minute minimum ClickHouse accepts")
    low, high = r.get("minReplicaMemoryGb"), r.get("maxReplicaMemoryGb")
    for key, value in (("minReplicaMemoryGb", low), ("maxReplicaMemoryGb", high)):
        r.check(value >= 8 and value % 4 == 0, key, f"{value} GiB must be a multiple of 4 and at least 8")
    r.check(low <= high, "minReplicaMemoryGb", f"{low} GiB is above maxReplicaMemoryGb ({high} GiB)")
    replicas = r.get("numReplicas")
    r.check(replicas >= 1, "numReplicas", f"{replicas} must be at least 1")
    channel = r.get("releaseChannel")
    r.check(channel in ("default", "fast", "slow"), "releaseChannel", f"{channel!r} must be one of default, fast, slow")
    start = r.get("backupStartTime") or None
    if start is not None:
        r.check(bool(_HHMM_RE.match(start)), "backupStartTime", f"{start!r} must be a UTC time as HH:MM, e.g. 03:00")
    period, retention = r.get("backupPeriodHours"), r.get("backupRetentionHours")
    r.check(period >= 1, "backupPeriodHours", f"{period} must be at least 1")
    r.check(retention >= 1, "backupRetentionHours", f"{retention} must be at least 1")
    return ClickHouseConfig(
        service_name=name,
        region=region,
        idle_scaling=r.get("idleScaling"),
        idle_timeout_minutes=idle_timeout,
        min_replica_memory_gb=low,
        max_replica_memory_gb=high,
        num_replicas=replicas,
        release_channel=channel,
        # ClickHouse takes either a period or a daily start time, never both.
        backup=BackupConfig(retention, None if start else period, start),
    )


def _secret(r: ConfigReader, aws_region: str) -> SecretConfig:
    window = r.get("secretRecoveryWindowDays")
    r.check(window == 0 or 7 <= window <= 30, "secretRecoveryWindowDays",
            f"{window} must be 0 (delete at once) or between 7 and 30 days")
    key = r.get("passwordKmsKey")
    if key in ("", "create"):
        return SecretConfig(window, key == "create", None)
    match = _KMS_ARN_RE.match(key)
    if r.check(match is not None, "passwordKmsKey", f"{key!r} must be '', 'create', or a KMS key or alias ARN"):
        r.check(match.group("region") == aws_region, "passwordKmsKey",
                f"key is in {match.group('region')} but the stack is in {aws_region}: a cross-region key is not allowed")
    return SecretConfig(window, False, key)


def application_cidr_problems(
    cidrs: Sequence[str], vpc_cidr: Optional[str], reserved_cidrs: Sequence[str] = ()
) -> list[str]:
    """What is wrong with the application CIDRs the internal NLB admits (byocApplicationCidrs), as messages.

    An application subnet either lies in the BYOC VPC or in a network routed to it (peering, transit gateway,
    on-premises), and those networks are what reservedCidrs declares: ranges the VPC must not overlap. So each CIDR
    must be a private range lying wholly inside the VPC or wholly inside one reserved range. One that straddles the
    VPC's edge overlaps it without being part of it, and one outside both is not routable here; 0.0.0.0/0 is never
    allowed. With ``vpc_cidr`` None (an adopted VPC not looked up yet) only the form is checked.
    """
    problems = []
    vpc = ipaddress.IPv4Network(vpc_cidr) if vpc_cidr else None
    reserved = []
    for text in reserved_cidrs:
        try:
            reserved.append(ipaddress.IPv4Network(text, strict=True))
        except ValueError:
            continue  # reported under reservedCidrs
    for text in cidrs:
        try:
            net = ipaddress.IPv4Network(text, strict=True)
        except ValueError as err:
            problems.append(f"{text!r} is not a valid IPv4 CIDR ({err}); expected e.g. 10.50.0.0/20")
            continue
        if net.prefixlen == 0 or not net.is_private:
            problems.append(f"{text} is not a private range: the NLB only admits private application subnets, never 0.0.0.0/0")
        elif vpc is None:
            continue
        elif net.overlaps(vpc) and not net.subnet_of(vpc):
            problems.append(f"{text} overlaps the VPC {vpc} without lying inside it; use the application subnets' own CIDRs")
        elif not net.subnet_of(vpc) and not any(net.subnet_of(other) for other in reserved):
            problems.append(f"{text} is outside the VPC {vpc} and outside every reservedCidrs range: add the network it "
                            "belongs to (peered VPC, on-premises) to reservedCidrs, or use a CIDR inside the VPC")
    return problems


def _byoc_network(r: ConfigReader, network: NetworkConfig) -> None:
    """ClickHouse BYOC's network shape: exactly three zones, subnets of at least /23, application CIDRs it can route."""
    if network.creates_vpc:
        r.check(network.az_count == BYOC_AZ_COUNT, "azCount",
                f"is {network.az_count} but ClickHouse BYOC needs exactly {BYOC_AZ_COUNT} availability zones (one private subnet each)")
        r.check(network.subnet_prefix_length <= BYOC_MAX_SUBNET_PREFIX, "subnetPrefixLength",
                f"/{network.subnet_prefix_length} subnets are smaller than the /{BYOC_MAX_SUBNET_PREFIX} ClickHouse BYOC needs; "
                f"use {BYOC_MAX_SUBNET_PREFIX} or less (and a VPC CIDR large enough for three of them)")
        try:
            vpc_cidr = str(ipaddress.IPv4Network(network.vpc_cidr, strict=True))
        except ValueError:
            vpc_cidr = None  # reported under vpcCidr; nothing to compare against
    else:
        r.check(len(network.existing_subnet_ids) == BYOC_AZ_COUNT, "subnetIds",
                f"has {len(network.existing_subnet_ids)} subnet(s) but ClickHouse BYOC needs exactly {BYOC_AZ_COUNT}, "
                "one private subnet of at least /23 in each of three availability zones")
        r.check(network.az_count == BYOC_AZ_COUNT, "azCount",
                f"is {network.az_count} but ClickHouse BYOC needs exactly {BYOC_AZ_COUNT} availability zones")
        vpc_cidr = None  # known only after the VPC is looked up (components.byoc.network.resolve_byoc_layout)
        # _network checks reservedCidrs only for a VPC it creates; BYOC compares the adopted VPC with them later.
        for reserved in r.get("reservedCidrs"):
            try:
                ipaddress.IPv4Network(reserved, strict=True)
            except ValueError as err:
                r.problem("reservedCidrs", f"{reserved!r} is not a valid IPv4 CIDR ({err})")
    for message in application_cidr_problems(r.get("byocApplicationCidrs"), vpc_cidr, r.get("reservedCidrs")):
        r.problem("byocApplicationCidrs", message)


def _ids(r: ConfigReader, name: str, pattern: re.Pattern[str], expected: str) -> tuple[str, ...]:
    values = r.get(name)
    bad = [v for v in values if not pattern.match(v)]
    r.check(not bad, name, f"{', '.join(map(repr, bad))} {'is' if len(bad) == 1 else 'are'} not {expected}")
    r.check(len(set(values)) == len(values), name, "lists the same value more than once")
    return tuple(values)


def _external_id(r: ConfigReader) -> str:
    # Messages here never include the value: it is a secret.
    value = r.get("byocExternalId")
    if not value:
        r.problem("byocExternalId", "is not set: the management role's trust needs the ExternalId ClickHouse gave you; "
                                    "run `pulumi config set --secret clickhouse-aws:byocExternalId <external-id>`")
    else:
        r.check(bool(_EXTERNAL_ID_RE.match(value)), "byocExternalId",
                "must be 2 to 1224 characters of letters, digits and _+=,.@:/- (value not shown: it is secret)")
    return value


def _oidc_issuer(r: ConfigReader, aws_region: str) -> Optional[str]:
    issuer = r.get("byocOidcIssuerUrl").rstrip("/")
    if not issuer:
        return None
    match = _OIDC_ISSUER_RE.match(issuer)
    if r.check(match is not None, "byocOidcIssuerUrl",
               f"{issuer!r} is not an EKS OIDC issuer URL; expected https://oidc.eks.{aws_region}.amazonaws.com/id/"
               "<32 upper-case hex characters>, as `aws eks describe-cluster --query cluster.identity.oidc.issuer` prints it"):
        r.check(match.group("region") == aws_region, "byocOidcIssuerUrl",
                f"is an issuer in {match.group('region')} but the stack is in {aws_region}: the EKS cluster must be in the stack's region")
    return issuer


def _domain(r: ConfigReader) -> str:
    domain = r.get("byocInternalDomain").rstrip(".")
    if not domain:
        r.problem("byocInternalDomain", "is not set: BYOC needs a private DNS domain for ClickHouse, e.g. data.prod.internal")
        return domain
    labels = domain.split(".")
    r.check(len(labels) >= 2 and all(_DNS_LABEL_RE.match(label) for label in labels)
            and len(f"clickhouse.{domain}") <= 253, "byocInternalDomain",
            f"{domain!r} is not a valid domain name: expected two or more lower-case labels of letters, digits and '-' "
            "(1-63 characters each, not starting or ending with '-'), e.g. data.prod.internal")
    return domain


def _nlb(r: ConfigReader, aws_region: str) -> tuple[Optional[str], Optional[str]]:
    dns_name = r.get("byocNlbDnsName").rstrip(".").lower() or None
    zone_id = r.get("byocNlbZoneId") or None
    if dns_name:
        match = _NLB_DNS_RE.match(dns_name)
        if r.check(match is not None, "byocNlbDnsName",
                   f"{dns_name!r} is not a network load balancer DNS name; expected <name>-<id>.elb.{aws_region}.amazonaws.com"):
            r.check(match.group("region") == aws_region, "byocNlbDnsName",
                    f"is a load balancer in {match.group('region')} but the stack is in {aws_region}")
    if zone_id:
        r.check(bool(_HOSTED_ZONE_ID_RE.match(zone_id)), "byocNlbZoneId",
                f"{zone_id!r} is not a hosted zone ID (expected Z followed by upper-case letters and digits)")
        r.check(dns_name is not None, "byocNlbZoneId",
                "is set but byocNlbDnsName is not: set both once ClickHouse has created the NLB, or neither")
    return dns_name, zone_id


def _bucket_prefix(r: ConfigReader, stack: str, aws_region: str) -> str:
    prefix = r.get("byocBucketPrefix") or f"{r.project}-{stack}"
    origin = "" if r.get("byocBucketPrefix") else f" (derived from the stack name {stack!r})"
    if not r.check(bool(_BUCKET_PREFIX_RE.match(prefix)) and not prefix.startswith(("xn--", "sthree-")),
                   "byocBucketPrefix",
                   f"{prefix!r}{origin} is not usable in S3 bucket names: use lower-case letters, digits and '-', "
                   "starting and ending with a letter or digit"):
        return prefix
    longest = max(len(f"{prefix}-{_ACCOUNT_ID_PLACEHOLDER}-{aws_region}-{suffix}") for suffix in _BUCKET_SUFFIXES)
    r.check(longest <= 63, "byocBucketPrefix",
            f"{prefix!r}{origin} makes bucket names of {longest} characters (<prefix>-<account>-{aws_region}-backups), "
            f"over S3's limit of 63; set a prefix of at most {len(prefix) - (longest - 63)} characters")
    return prefix


def _byoc(r: ConfigReader, stack: str, aws_region: str, network: NetworkConfig, protect: bool) -> Optional[ByocConfig]:
    """The BYOC settings, or None when byocEnabled is false (then no other byoc* key is read)."""
    if not r.get("byocEnabled"):
        return None
    _byoc_network(r, network)
    external_id = _external_id(r)
    account_id = r.get("byocClickHouseAccountId")
    r.check(bool(_ACCOUNT_ID_RE.match(account_id)), "byocClickHouseAccountId",
            f"{account_id!r} is not an AWS account ID: expected ClickHouse's 12-digit account ID from its BYOC onboarding"
            if account_id else "is not set: expected ClickHouse's 12-digit AWS account ID from its BYOC onboarding")
    role_name = r.get("byocManagementRoleName")
    r.check(bool(_IAM_ROLE_NAME_RE.match(role_name)), "byocManagementRoleName",
            f"{role_name!r} is not an IAM role name (1-64 letters, digits and _+=,.@-); ClickHouse expects ClickHouseManagementRole")
    # The program names these roles itself: their ARNs appear in key and bucket policies before they exist.
    node_role, irsa_role = f"{r.project}-{stack}-byoc-eks-node", f"{r.project}-{stack}-byoc-irsa"
    r.check(len(node_role) <= 64, "byocEnabled",
            f"the stack name {stack!r} is too long for the BYOC IAM role names ({node_role!r} is over IAM's 64 "
            "characters); use a stack name of at most 35 characters")
    namespace, service_account = r.get("byocNamespace"), r.get("byocServiceAccount")
    r.check(bool(_DNS_LABEL_RE.match(namespace)), "byocNamespace",
            f"{namespace!r} is not a Kubernetes namespace (1-63 lower-case letters, digits and '-')")
    r.check(bool(_K8S_NAME_RE.match(service_account)), "byocServiceAccount",
            f"{service_account!r} is not a Kubernetes service account name (lower-case letters, digits, '-' and '.')")
    cluster = r.get("byocEksClusterName") or f"clickhouse-cloud-{stack}"
    r.check(bool(_EKS_CLUSTER_RE.match(cluster)) and cluster.startswith("clickhouse-cloud-"), "byocEksClusterName",
            f"{cluster!r} must be an EKS cluster name starting with 'clickhouse-cloud-' (ClickHouse's management role "
            "may only manage clusters named so): letters, digits, '-' and '_', at most 100 characters")
    control_plane_sg = r.get("byocControlPlaneSecurityGroupId") or None
    if control_plane_sg:
        r.check(bool(_SG_ID_RE.match(control_plane_sg)), "byocControlPlaneSecurityGroupId",
                f"{control_plane_sg!r} is not a security group ID (expected sg-xxxxxxxx)")
    endpoints = r.get("byocInterfaceEndpoints")
    bad = [e for e in endpoints if not _ENDPOINT_SERVICE_RE.match(e)]
    r.check(not bad, "byocInterfaceEndpoints",
            f"{', '.join(map(repr, bad))} must be AWS service names as in com.amazonaws.<region>.<service>, e.g. ecr.api")
    r.check("s3" not in endpoints, "byocInterfaceEndpoints",
            "lists s3, which always gets a gateway endpoint on the private route tables; remove it from the list")
    r.check(len(set(endpoints)) == len(endpoints), "byocInterfaceEndpoints", "lists the same service more than once")
    backup_days, logs_days = r.get("byocBackupRetentionDays"), r.get("byocLogsRetentionDays")
    for name, days in (("byocBackupRetentionDays", backup_days), ("byocLogsRetentionDays", logs_days)):
        r.check(days >= 1, name, f"{days} must be at least 1 day")
    nlb_dns_name, nlb_zone_id = _nlb(r, aws_region)
    return ByocConfig(
        external_id=external_id,
        clickhouse_account_id=account_id,
        management_role_name=role_name,
        node_role_name=node_role,
        irsa_role_name=irsa_role,
        oidc_issuer_url=_oidc_issuer(r, aws_region),
        namespace=namespace,
        service_account=service_account,
        eks_cluster_name=cluster,
        control_plane_security_group_id=control_plane_sg,
        application_security_group_ids=_ids(r, "byocApplicationSecurityGroupIds", _SG_ID_RE,
                                            "security group IDs (expected sg-xxxxxxxx)"),
        application_cidrs=tuple(r.get("byocApplicationCidrs")),
        reserved_cidrs=tuple(r.get("reservedCidrs")),
        interface_endpoints=tuple(endpoints),
        bucket_prefix=_bucket_prefix(r, stack, aws_region),
        backup_retention_days=backup_days,
        logs_retention_days=logs_days,
        query_log_retention_days=_log_retention(r, "byocQueryLogRetentionDays"),
        error_log_retention_days=_log_retention(r, "byocErrorLogRetentionDays"),
        eks_log_retention_days=_log_retention(r, "byocEksLogRetentionDays"),
        internal_domain=_domain(r),
        nlb_dns_name=nlb_dns_name,
        nlb_zone_id=nlb_zone_id,
        kms_deletion_window_days=KMS_DELETION_WINDOW_PROTECTED if protect else KMS_DELETION_WINDOW_DISPOSABLE,
    )


def _aws_region(r: ConfigReader) -> str:
    region = r.raw("aws:region") or ""
    if not region:
        r.problems.append("aws:region: is not set; run `pulumi config set aws:region us-east-1` (or your region)")
    elif not _REGION_RE.match(region):
        r.problems.append(f"aws:region: {region!r} is not an AWS region name (expected e.g. us-east-1)")
    return region


def _check_clickhouse_provider(r: ConfigReader) -> None:
    org = r.raw("clickhouse:organizationId")
    if org and not _UUID_RE.match(org):
        r.problems.append(f"clickhouse:organizationId: {org!r} is not an organization ID (a UUID from the ClickHouse Cloud console)")


def load(stack: Optional[str] = None) -> StackConfig:
    """Read and validate the whole stack configuration, raising ``ConfigError`` listing every problem found."""
    stack = stack or pulumi.get_stack()
    r = ConfigReader()
    r.check_unknown_keys()
    aws_region = _aws_region(r)
    _check_clickhouse_provider(r)
    tags = {"project": PROJECT, "stack": stack, "managed-by": "pulumi", **r.get("tags")}
    network, protect = _network(r), r.get("protect")
    cfg = StackConfig(
        project=PROJECT,
        stack=stack,
        aws_region=aws_region,
        protect=protect,
        tags=tags,
        network=network,
        clickhouse=_clickhouse(r, stack, aws_region),
        secret=_secret(r, aws_region),
        byoc=_byoc(r, stack, aws_region, network, protect),
    )
    r.raise_if_problems()
    return cfg
