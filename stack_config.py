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
from dataclasses import dataclass
from typing import Any, Mapping, Optional

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


class ConfigError(pulumi.RunError):
    """A user's configuration mistake. ``pulumi.RunError`` makes the CLI print the message without a traceback."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Invalid configuration for this stack:\n{lines}")


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
class StackConfig:
    project: str
    stack: str
    aws_region: str
    protect: bool
    tags: Mapping[str, str]
    network: NetworkConfig
    clickhouse: ClickHouseConfig
    secret: SecretConfig


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

    def full(self, name: str) -> str:
        return f"{self.project}:{name}"

    def problem(self, name: str, message: str) -> None:
        self.problems.append(f"{self.full(name)}: {message}")

    def raw(self, full_key: str) -> Any:
        return runtime_config.get_config(full_key)

    def get(self, name: str) -> Any:
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


def _network(r: ConfigReader) -> NetworkConfig:
    vpc_id, subnet_ids = r.get("vpcId"), r.get("subnetIds")
    az_count, prefix = r.get("azCount"), r.get("subnetPrefixLength")
    retention = r.get("flowLogRetentionDays")
    r.check(retention in CLOUDWATCH_RETENTION_DAYS, "flowLogRetentionDays",
            f"{retention} is not a retention CloudWatch accepts; use one of {', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))}")
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
    cfg = StackConfig(
        project=PROJECT,
        stack=stack,
        aws_region=aws_region,
        protect=r.get("protect"),
        tags=tags,
        network=_network(r),
        clickhouse=_clickhouse(r, stack, aws_region),
        secret=_secret(r, aws_region),
    )
    r.raise_if_problems()
    return cfg
