"""The live checks of the audit, one function per line of the report.

Each check reads the account through ``ReadOnlyAws`` and returns its findings. Findings use the policy pack's policy
names where the live check matches a pack policy (see docs/audit.md) and ``audit-*`` names for what only a live
account can show (existence, state, drift from the outputs). A resource the outputs name but the account lacks is an
``audit-resource-exists`` finding, never an error: drift is what the audit is for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, TypeVar, cast

from scripts.audit.aws import ReadOnlyAws
from scripts.aws_settings import REGION
from scripts.audit.model import (
    ACCOUNT_ID,
    ByocOutputs,
    CheckResult,
    CheckStatus,
    Finding,
    NotYetBuilt,
    StackOutputs,
    parse_arn,
)

# The ports the PrivateLink component opens to the client group (ClickHouse's guide: HTTPS 443 and 8443, native TLS
# 9440), and 3306, which it opens only when the service's MySQL interface is on.
CLIENT_PORTS = (443, 8443, 9440)
OPTIONAL_CLIENT_PORTS = (3306,)
PUBLIC_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
SSE_KMS_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})
PUBLIC_ACCESS_BLOCK_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
# NAT gateways in these states route nothing and disappear on their own.
GONE_NAT_STATES = frozenset({"deleting", "deleted", "failed"})

T = TypeVar("T")

# Audit-only names used by more than one finding; the others are literals at their single use.
RESOURCE_EXISTS = "audit-resource-exists"
ENDPOINT_SG_CLIENT_ONLY = "audit-endpoint-sg-client-only"
ZONE_VPC_ASSOCIATION = "audit-route53-zone-vpc-association"
APEX_ALIAS = "audit-route53-apex-alias"


def region_in(dotted_name: str) -> str | None:
    """The first label of a dotted name that is an AWS region (service names, ClickHouse hostnames)."""
    return next((label for label in dotted_name.split(".") if REGION.match(label)), None)


def _dns(name: str) -> str:
    return name.lower().rstrip(".")


def _zone_id(zone_id: str) -> str:
    """Route53 answers with "/hostedzone/Z..."; outputs carry the bare ID."""
    return zone_id.rsplit("/", 1)[-1]


def missing(kind: str, resource_id: str, where: str) -> Finding:
    return Finding(RESOURCE_EXISTS, resource_id, f"{kind} {resource_id} does not exist in {where}")


@dataclass(frozen=True)
class AuditOptions:
    """Choices of the person running the audit."""

    # ClickHouse's EKS API endpoint may be public (its control plane reaching the cluster over the internet); the
    # pack's eks-no-public-endpoint forbids it, so accepting it is an explicit decision.
    allow_eks_public_endpoint: bool = False
    # How far back the management role's CloudTrail activity is summarised.
    activity_days: int = 7


@dataclass
class AuditContext:
    """The parsed outputs plus cached reads shared by several checks (each AWS object is fetched once)."""

    outputs: StackOutputs
    aws: ReadOnlyAws
    options: AuditOptions = field(default_factory=lambda: AuditOptions())
    # Lines a check reports beyond its findings, by check id (see ``CheckResult.details``).
    details: dict[str, list[str]] = field(default_factory=dict)
    _endpoints: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    _keys: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    _zones: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    _groups: dict[str, dict[str, Any]] | None = None
    _reads: dict[str, Any] = field(default_factory=dict)

    @property
    def region(self) -> str:
        return self.aws.region

    def once(self, key: str, read: Callable[[], T]) -> T:
        """``read()`` the first time ``key`` is asked for, the same answer after (reads shared by several checks)."""
        if key not in self._reads:
            self._reads[key] = read()
        return cast(T, self._reads[key])

    def _describe_endpoints(self, endpoint_ids: list[str]) -> list[dict[str, Any]] | None:
        """The endpoints, or None when any ID does not exist (EC2 then fails the whole call)."""
        found = self.aws.call(
            "ec2", "describe_vpc_endpoints", VpcEndpointIds=endpoint_ids,
            missing=frozenset({"InvalidVpcEndpointId.NotFound"}),
        )
        return None if found is None else found["VpcEndpoints"]

    def endpoints(self, endpoint_ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """Endpoints by ID (None for one that does not exist): one call for all, one per ID only if some are gone."""
        ids = list(dict.fromkeys(endpoint_ids))
        wanted = [endpoint_id for endpoint_id in ids if endpoint_id not in self._endpoints]
        batch = self._describe_endpoints(wanted) if wanted else []
        if batch is None:
            for endpoint_id in wanted:
                self._endpoints[endpoint_id] = next(iter(self._describe_endpoints([endpoint_id]) or []), None)
        else:
            self._endpoints.update({endpoint["VpcEndpointId"]: endpoint for endpoint in batch})
        return {endpoint_id: self._endpoints.get(endpoint_id) for endpoint_id in ids}

    def endpoint(self, endpoint_id: str) -> dict[str, Any] | None:
        return self.endpoints([endpoint_id])[endpoint_id]

    def security_groups(self) -> dict[str, dict[str, Any]]:
        """Every security group the outputs name that exists, by ID (one filtered call, so absent IDs don't fail)."""
        if self._groups is None:
            groups = self.aws.items(
                "ec2", "describe_security_groups", "SecurityGroups",
                Filters=[{"Name": "group-id", "Values": sorted(stack_security_groups(self.outputs))}],
            )
            self._groups = {group["GroupId"]: group for group in groups}
        return self._groups

    def kms_key(self, key_id: str) -> dict[str, Any] | None:
        """KeyMetadata of a key given by ID, ARN or alias."""
        if key_id not in self._keys:
            found = self.aws.call("kms", "describe_key", KeyId=key_id, missing=frozenset({"NotFoundException"}))
            self._keys[key_id] = found["KeyMetadata"] if found else None
        return self._keys[key_id]

    def hosted_zone(self, zone_id: str) -> dict[str, Any] | None:
        zone_id = _zone_id(zone_id)
        if zone_id not in self._zones:
            self._zones[zone_id] = self.aws.call(
                "route53", "get_hosted_zone", Id=zone_id, missing=frozenset({"NoSuchHostedZone"})
            )
        return self._zones[zone_id]


def stack_security_groups(outputs: StackOutputs) -> dict[str, str]:
    """Security groups the stack created, by ID, with a label for messages."""
    groups = {
        sg_id: label
        for sg_id, label in ((outputs.endpoint_security_group_id, "endpoint"), (outputs.client_security_group_id, "client"))
        if sg_id
    }
    if outputs.byoc:
        groups.update({sg_id: f"byoc.{name}" for name, sg_id in outputs.byoc.security_group_ids.items()})
    return groups


def _rule(permission: Mapping[str, Any]) -> str:
    protocol = str(permission.get("IpProtocol", ""))
    if protocol == "-1":
        return "all traffic"
    low, high = permission.get("FromPort"), permission.get("ToPort")
    ports = "all ports" if low is None else str(low) if low == high else f"{low}-{high}"
    return f"{protocol} {ports}"


def _sources(permission: Mapping[str, Any]) -> list[str]:
    """Every source an ingress permission admits: CIDRs, prefix lists and security groups."""
    return [
        *(item["CidrIp"] for item in permission.get("IpRanges", [])),
        *(item["CidrIpv6"] for item in permission.get("Ipv6Ranges", [])),
        *(item["PrefixListId"] for item in permission.get("PrefixListIds", [])),
        *(item["GroupId"] for item in permission.get("UserIdGroupPairs", []) if "GroupId" in item),
    ]


# --- checks -------------------------------------------------------------------------------------------------------


def check_outputs_region(ctx: AuditContext) -> list[Finding]:
    """Every ARN, the byoc region and the ClickHouse hostname name the stack's region."""
    out, region = ctx.outputs, ctx.region
    findings = [
        Finding("resource-region-matches-stack", arn.text, f"ARN is in {arn.region}, not the stack's region {region}")
        for arn in out.arns()
        if arn.region and arn.region != region
    ]
    if out.byoc and out.byoc.region != region:
        findings.append(Finding(
            "resource-region-matches-stack", "byoc.region",
            f"BYOC is set up in {out.byoc.region}, not the stack's region {region}",
        ))
    host_region = region_in(out.private_dns_hostname) if out.private_dns_hostname else region
    if host_region != region:
        findings.append(Finding(
            "clickhouse-region-matches-stack", out.private_dns_hostname,
            f"the ClickHouse service's hostname is in {host_region or 'no recognisable region'}, not {region}",
        ))
    return findings


def _endpoint_findings(
    endpoint: Mapping[str, Any], *, endpoint_type: str, vpc_id: str, service_name: str, region: str
) -> list[Finding]:
    """Findings shared by every VPC endpoint the stack owns: state, type, VPC, service and its region."""
    endpoint_id = endpoint["VpcEndpointId"]
    findings: list[Finding] = []
    state = endpoint.get("State", "unknown")
    if state.lower() != "available":
        findings.append(Finding(
            "audit-vpc-endpoint-available", endpoint_id, f"endpoint state is {state}, not available"
        ))
    if endpoint.get("VpcEndpointType") != endpoint_type:
        findings.append(Finding(
            "audit-vpc-endpoint-type", endpoint_id,
            f"endpoint is a {endpoint.get('VpcEndpointType')} endpoint, expected {endpoint_type}",
        ))
    if endpoint.get("VpcId") != vpc_id:
        findings.append(Finding(
            "audit-vpc-endpoint-vpc", endpoint_id, f"endpoint is in {endpoint.get('VpcId')}, expected {vpc_id}"
        ))
    live_service = str(endpoint.get("ServiceName", ""))
    if live_service != service_name:
        findings.append(Finding(
            "audit-vpc-endpoint-service-name", endpoint_id,
            f"endpoint connects to {live_service}, but the stack declares {service_name}",
        ))
    service_region = region_in(live_service)
    if service_region != region:
        findings.append(Finding(
            "vpc-endpoint-same-region", endpoint_id,
            f"endpoint service {live_service} is in {service_region or 'no recognisable region'}, not the stack's "
            f"region {region}",
        ))
    remote_region = endpoint.get("ServiceRegion")
    if remote_region and remote_region != region:
        findings.append(Finding(
            "vpc-endpoint-same-region", endpoint_id,
            f"cross-region endpoint: its service is served from {remote_region}, not {region}",
        ))
    return findings


def check_clickhouse_endpoint(ctx: AuditContext) -> list[Finding]:
    out = ctx.outputs
    endpoint = ctx.endpoint(out.vpc_endpoint_id)
    if endpoint is None:
        return [missing("ClickHouse VPC endpoint", out.vpc_endpoint_id, ctx.region)]
    findings = _endpoint_findings(
        endpoint, endpoint_type="Interface", vpc_id=out.vpc_id, service_name=out.vpc_endpoint_service_name,
        region=ctx.region,
    )
    if endpoint.get("PrivateDnsEnabled"):
        findings.append(Finding(
            "audit-vpc-endpoint-private-dns-off", out.vpc_endpoint_id,
            "private DNS is on; ClickHouse's hostname must resolve only through the stack's private zone",
        ))
    attached = {group["GroupId"] for group in endpoint.get("Groups", [])}
    if attached != {out.endpoint_security_group_id}:
        findings.append(Finding(
            "audit-vpc-endpoint-security-groups", out.vpc_endpoint_id,
            f"security groups attached: {', '.join(sorted(attached)) or 'none'}; only the endpoint security group "
            f"{out.endpoint_security_group_id} may be attached",
        ))
    return findings


def check_endpoint_sg_ingress(ctx: AuditContext) -> list[Finding]:
    out = ctx.outputs
    sg_id, client = out.endpoint_security_group_id, out.client_security_group_id
    group = ctx.security_groups().get(sg_id)
    if group is None:
        return [Finding(
            ENDPOINT_SG_CLIENT_ONLY, sg_id, "cannot verify the endpoint's ingress: its security group does not exist"
        )]
    findings: list[Finding] = []
    admitted: set[int] = set()
    for permission in group.get("IpPermissions", []):
        low, high = permission.get("FromPort"), permission.get("ToPort")
        client_port = (permission.get("IpProtocol") == "tcp" and low == high
                       and low in CLIENT_PORTS + OPTIONAL_CLIENT_PORTS)
        for source in _sources(permission):
            if client_port and source == client:
                admitted.add(low)
                continue
            findings.append(Finding(
                ENDPOINT_SG_CLIENT_ONLY, sg_id,
                f"admits {_rule(permission)} from {source}; only the client security group {client} on tcp "
                f"{', '.join(map(str, CLIENT_PORTS))} (and 3306 with the MySQL interface) is allowed",
            ))
    findings.extend(
        Finding(ENDPOINT_SG_CLIENT_ONLY, sg_id, f"does not admit the client security group {client} on tcp {port}")
        for port in CLIENT_PORTS
        if port not in admitted
    )
    return findings


def check_no_public_ingress(ctx: AuditContext) -> list[Finding]:
    groups = ctx.security_groups()
    findings: list[Finding] = []
    for sg_id, label in stack_security_groups(ctx.outputs).items():
        group = groups.get(sg_id)
        if group is None:
            findings.append(missing(f"Security group ({label})", sg_id, ctx.region))
            continue
        findings += public_ingress_findings(group, f"{label} security group")
    return findings


def public_ingress_findings(group: Mapping[str, Any], label: str) -> list[Finding]:
    """One finding per ingress rule of ``group`` open to 0.0.0.0/0 or ::/0."""
    return [
        Finding(
            "security-group-no-public-ingress", group["GroupId"], f"{label} admits {_rule(permission)} from {source}"
        )
        for permission in group.get("IpPermissions", [])
        for source in _sources(permission)
        if source in PUBLIC_CIDRS
    ]


def stack_vpcs(outputs: StackOutputs) -> list[str]:
    """The VPCs the outputs name: the stack's and, when it differs, the BYOC one."""
    return list(dict.fromkeys([outputs.vpc_id, *([outputs.byoc.vpc_id] if outputs.byoc else [])]))


def check_flow_logs(ctx: AuditContext) -> list[Finding]:
    vpcs = stack_vpcs(ctx.outputs)
    logs = ctx.aws.items("ec2", "describe_flow_logs", "FlowLogs", Filters=[{"Name": "resource-id", "Values": vpcs}])
    active = {log.get("ResourceId") for log in logs if log.get("FlowLogStatus") == "ACTIVE"}
    return [
        Finding("vpc-flow-logs-enabled", vpc_id, "the VPC has no active flow log: its traffic is not recorded")
        for vpc_id in vpcs
        if vpc_id not in active
    ]


def _zone_findings(zone: Mapping[str, Any], *, name: str, vpc_id: str, region: str) -> list[Finding]:
    """A private zone named ``name`` and associated with ``vpc_id`` (in the stack's region) and nothing else."""
    hosted = zone["HostedZone"]
    zone_id = _zone_id(hosted["Id"])
    findings: list[Finding] = []
    if _dns(hosted["Name"]) != _dns(name):
        findings.append(Finding("audit-route53-zone-name", zone_id, f"zone is named {hosted['Name']}, expected {name}"))
    if not hosted.get("Config", {}).get("PrivateZone"):
        # A public zone has no VPC associations to judge.
        return findings + [Finding("route53-zone-private", zone_id, f"zone {hosted['Name']} is public")]
    vpcs = zone.get("VPCs", [])
    if not any(vpc["VPCId"] == vpc_id for vpc in vpcs):
        findings.append(Finding(ZONE_VPC_ASSOCIATION, zone_id, f"zone is not associated with the stack's VPC {vpc_id}"))
    for vpc in vpcs:
        if vpc["VPCId"] != vpc_id:
            findings.append(Finding(
                ZONE_VPC_ASSOCIATION, zone_id,
                f"zone is also associated with {vpc['VPCId']} ({vpc.get('VPCRegion')}); only {vpc_id} is allowed",
            ))
        elif vpc.get("VPCRegion") != region:
            findings.append(Finding(
                "route53-zone-vpc-same-region", zone_id,
                f"zone's association with {vpc_id} is in {vpc.get('VPCRegion')}, not {region}",
            ))
    return findings


def _apex_alias_findings(ctx: AuditContext, zone_id: str) -> list[Finding]:
    out = ctx.outputs
    apex = _dns(out.private_dns_hostname)
    # Record sets come sorted by name, then type, from the start point, so the apex A records lead the first page.
    records = ctx.aws.call(
        "route53", "list_resource_record_sets", HostedZoneId=zone_id, StartRecordName=apex, StartRecordType="A"
    )["ResourceRecordSets"]
    apex_records = [rec for rec in records if _dns(rec["Name"]) == apex and rec["Type"] == "A"]
    if not apex_records:
        return [Finding(APEX_ALIAS, zone_id, f"no A record at the zone apex {apex}")]
    endpoint = ctx.endpoint(out.vpc_endpoint_id)
    if endpoint is None:
        return [Finding(
            APEX_ALIAS, zone_id, f"cannot verify the apex alias: endpoint {out.vpc_endpoint_id} does not exist"
        )]
    targets = {(_dns(entry["DnsName"]), entry.get("HostedZoneId")) for entry in endpoint.get("DnsEntries", [])}
    findings = []
    for record in apex_records:
        alias = record.get("AliasTarget")
        if alias is None:
            findings.append(Finding(APEX_ALIAS, zone_id, f"the apex A record is not an alias to {out.vpc_endpoint_id}"))
        elif (_dns(alias["DNSName"]), alias["HostedZoneId"]) not in targets:
            findings.append(Finding(
                APEX_ALIAS, zone_id,
                f"the apex alias points at {alias['DNSName']} (zone {alias['HostedZoneId']}), which is not a DNS name "
                f"of endpoint {out.vpc_endpoint_id}",
            ))
    return findings


def check_private_zone(ctx: AuditContext) -> list[Finding]:
    out = ctx.outputs
    zone = ctx.hosted_zone(out.private_dns_zone_id)
    if zone is None:
        return [missing("Route53 hosted zone", out.private_dns_zone_id, "the account")]
    zone_id = _zone_id(zone["HostedZone"]["Id"])
    findings = _zone_findings(zone, name=out.private_dns_hostname, vpc_id=out.vpc_id, region=ctx.region)
    return findings + _apex_alias_findings(ctx, zone_id)


def _key_arn(ctx: AuditContext, key_id: str | None) -> str | None:
    """The key ARN behind an ID, ARN or alias; None for "no customer key" (absent, or AWS managed)."""
    if not key_id:
        return None
    meta = ctx.kms_key(key_id)
    if meta is None:
        return key_id
    return None if meta.get("KeyManager") == "AWS" else meta["Arn"]


def check_password_secret(ctx: AuditContext) -> list[Finding]:
    out = ctx.outputs
    arn = out.password_secret_arn
    # DescribeSecret returns metadata only; the value is never read (GetSecretValue is refused by the client hook).
    secret = ctx.aws.call(
        "secretsmanager", "describe_secret", SecretId=arn, missing=frozenset({"ResourceNotFoundException"})
    )
    if secret is None:
        return [missing("Secrets Manager secret", arn, ctx.region)]
    findings = []
    if secret.get("DeletedDate"):
        findings.append(Finding(
            "audit-secret-scheduled-for-deletion", arn,
            f"the password secret is scheduled for deletion ({secret['DeletedDate']}); restore it with "
            f"`aws secretsmanager restore-secret --secret-id {arn}`",
        ))
    live, expected = _key_arn(ctx, secret.get("KmsKeyId")), _key_arn(ctx, out.password_kms_key_id)
    if live != expected:
        findings.append(Finding(
            "secret-customer-kms-key", arn,
            f"the secret is encrypted with {live or 'the AWS managed key aws/secretsmanager'}, but the stack "
            f"declares {expected or 'the AWS managed key (no clickhouse_password_kms_key_id output)'}",
        ))
    return findings


def _customer_keys(outputs: StackOutputs) -> dict[str, str]:
    keys = {"ClickHouse password": outputs.password_kms_key_id} if outputs.password_kms_key_id else {}
    if outputs.byoc:
        keys.update({f"BYOC {name}": arn for name, arn in outputs.byoc.kms_key_arns.items()})
    return keys


def check_kms_keys(ctx: AuditContext) -> list[Finding]:
    findings = []
    for label, key_id in _customer_keys(ctx.outputs).items():
        meta = ctx.kms_key(key_id)
        if meta is None:
            findings.append(missing(f"KMS key ({label})", key_id, ctx.region))
        elif meta.get("KeyState") != "Enabled":
            # Rotation status is meaningless (and unreadable) for a key that is disabled or pending deletion.
            findings.append(Finding(
                "audit-kms-key-enabled", key_id, f"{label} key is {meta.get('KeyState')}; data under it is unusable"
            ))
        elif not ctx.aws.call("kms", "get_key_rotation_status", KeyId=key_id).get("KeyRotationEnabled"):
            findings.append(Finding("kms-key-rotation-enabled", key_id, f"{label} key has automatic rotation off"))
    return findings


def check_byoc_internet_path(ctx: AuditContext) -> list[Finding]:
    byoc = byoc_outputs(ctx)
    if ctx.aws.call("ec2", "describe_vpcs", VpcIds=[byoc.vpc_id], missing=frozenset({"InvalidVpcID.NotFound"})) is None:
        return [missing("BYOC VPC", byoc.vpc_id, ctx.region)]
    gateways = ctx.aws.items(
        "ec2", "describe_internet_gateways", "InternetGateways",
        Filters=[{"Name": "attachment.vpc-id", "Values": [byoc.vpc_id]}],
    )
    nats = ctx.aws.items(
        "ec2", "describe_nat_gateways", "NatGateways", Filter=[{"Name": "vpc-id", "Values": [byoc.vpc_id]}]
    )
    return [
        *(Finding("no-internet-gateway", igw["InternetGatewayId"], f"internet gateway attached to the BYOC VPC "
                  f"{byoc.vpc_id}") for igw in gateways),
        *(Finding("no-nat-gateway", nat["NatGatewayId"], f"NAT gateway ({nat.get('State')}) in the BYOC VPC "
                  f"{byoc.vpc_id}") for nat in nats if nat.get("State") not in GONE_NAT_STATES),
    ]


def check_byoc_endpoints(ctx: AuditContext) -> list[Finding]:
    byoc = byoc_outputs(ctx)
    wanted = [("s3", byoc.s3_gateway_endpoint_id, "Gateway")]
    wanted += [(name, endpoint_id, "Interface") for name, endpoint_id in byoc.interface_endpoint_ids.items()]
    found = ctx.endpoints(endpoint_id for _, endpoint_id, _ in wanted)
    findings: list[Finding] = []
    for service, endpoint_id, endpoint_type in wanted:
        endpoint = found[endpoint_id]
        if endpoint is None:
            findings.append(missing(f"BYOC {service} {endpoint_type.lower()} endpoint", endpoint_id, ctx.region))
            continue
        findings += _endpoint_findings(
            endpoint, endpoint_type=endpoint_type, vpc_id=byoc.vpc_id,
            service_name=f"com.amazonaws.{ctx.region}.{service}", region=ctx.region,
        )
    return findings


def _bucket_findings(ctx: AuditContext, purpose: str, bucket: str) -> list[Finding]:
    # Versioning doubles as the existence probe: it answers NoSuchBucket and needs no extra permission.
    versioning = ctx.aws.call("s3", "get_bucket_versioning", Bucket=bucket, missing=frozenset({"NoSuchBucket"}))
    if versioning is None:
        return [missing(f"BYOC {purpose} bucket", bucket, "the account")]
    findings = []
    if purpose == "backups" and versioning.get("Status") != "Enabled":
        findings.append(Finding(
            "s3-bucket-versioning", bucket,
            f"{purpose} bucket versioning is {versioning.get('Status', 'never enabled')}, not Enabled",
        ))
    block = ctx.aws.call(
        "s3", "get_public_access_block", Bucket=bucket, missing=frozenset({"NoSuchPublicAccessBlockConfiguration"})
    )
    config = (block or {}).get("PublicAccessBlockConfiguration", {})
    off = [flag for flag in PUBLIC_ACCESS_BLOCK_FLAGS if not config.get(flag)]
    if off:
        findings.append(Finding(
            "s3-bucket-public-access-block", bucket, f"{purpose} bucket's public access block lacks {', '.join(off)}"
        ))
    encryption = ctx.aws.call(
        "s3", "get_bucket_encryption", Bucket=bucket,
        missing=frozenset({"ServerSideEncryptionConfigurationNotFoundError"}),
    )
    rules = (encryption or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    algorithms = {rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for rule in rules} - {None}
    if not algorithms & SSE_KMS_ALGORITHMS:
        findings.append(Finding(
            "s3-bucket-sse-kms", bucket,
            f"{purpose} bucket's default encryption is {', '.join(sorted(algorithms)) or 'not configured'}, "
            "not SSE-KMS",
        ))
    return findings + bucket_policy_findings(ctx, bucket, f"{purpose} bucket", require_tls=True)


def bucket_policy(ctx: AuditContext, bucket: str) -> Mapping[str, Any] | None:
    """The bucket's policy document, or None when it has none (or one that is not a JSON object)."""
    found = ctx.aws.call("s3", "get_bucket_policy", Bucket=bucket, missing=frozenset({"NoSuchBucketPolicy"}))
    try:
        document = json.loads(found["Policy"]) if found else None
    except ValueError:
        return None
    return document if isinstance(document, Mapping) else None


def _lower_values(value: Any) -> set[str]:
    return {str(item).lower() for item in _as_list(value)}


def _everyone(principal: Any) -> bool:
    return principal == "*" or "*" in _principals(principal, "AWS")


def denies_insecure_transport(statement: Mapping[str, Any]) -> bool:
    """A statement that denies every principal every S3 action when aws:SecureTransport is false."""
    if statement.get("Effect") != "Deny" or not _everyone(statement.get("Principal")):
        return False
    if not _lower_values(statement.get("Action")) & {"s3:*", "*"}:
        return False
    conditions = {
        (operator.lower(), key.lower()): _lower_values(value)
        for operator, block in (statement.get("Condition") or {}).items() if isinstance(block, Mapping)
        for key, value in block.items()
    }
    return "false" in conditions.get(("bool", "aws:securetransport"), set())


def bucket_policy_findings(ctx: AuditContext, bucket: str, label: str, *, require_tls: bool) -> list[Finding]:
    """Statements granting everyone without a condition; with ``require_tls``, a missing deny of plain HTTP."""
    statements = [s for s in _as_list((bucket_policy(ctx, bucket) or {}).get("Statement")) if isinstance(s, Mapping)]
    findings = [
        Finding("s3-bucket-policy-no-public-principal", bucket,
                f"{label}'s policy allows {', '.join(sorted(_lower_values(s.get('Action')))) or 'actions'} to "
                "everyone (*) without a condition")
        for s in statements
        if s.get("Effect") == "Allow" and _everyone(s.get("Principal")) and not s.get("Condition")
    ]
    if require_tls and not any(denies_insecure_transport(s) for s in statements):
        findings.append(Finding(
            "s3-bucket-tls-only", bucket,
            f"{label}'s policy does not deny requests without TLS (a Deny on s3:* for * when aws:SecureTransport is "
            "false)",
        ))
    return findings


def check_byoc_buckets(ctx: AuditContext) -> list[Finding]:
    buckets = byoc_outputs(ctx).bucket_names
    return [finding for purpose, bucket in buckets.items() for finding in _bucket_findings(ctx, purpose, bucket)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _principals(principal: Any, kind: str) -> list[str]:
    return [str(p) for p in _as_list(principal.get(kind))] if isinstance(principal, Mapping) else []


def _condition_keys(statement: Mapping[str, Any]) -> set[str]:
    """Condition keys of a statement, lower-cased (IAM matches them case-insensitively)."""
    return {key.lower() for block in (statement.get("Condition") or {}).values() for key in block}


def _account_of(principal: str) -> str | None:
    if ACCOUNT_ID.match(principal):
        return principal
    arn = parse_arn(principal)
    return arn.account if arn else None


def trust_findings(role_id: str, document: Mapping[str, Any], own_account: str) -> list[Finding]:
    """Wildcard principals, other accounts without sts:ExternalId, and OIDC trusts without sub and aud."""
    findings = []
    for statement in _as_list(document.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        aws_principals = _principals(principal, "AWS")
        conditions = _condition_keys(statement)
        if principal == "*" or "*" in aws_principals:
            findings.append(Finding(
                "iam-trust-no-wildcard-principal", role_id, "trust policy allows any principal (*)"
            ))
        foreign = [p for p in aws_principals if p != "*" and _account_of(p) != own_account]
        if foreign and "sts:externalid" not in conditions:
            findings.append(Finding(
                "iam-cross-account-requires-external-id", role_id,
                f"trusts {', '.join(foreign)} without an sts:ExternalId condition",
            ))
        for provider in _principals(principal, "Federated"):
            if "oidc-provider/" not in provider:
                continue
            issuer = provider.split("oidc-provider/", 1)[1]
            absent = [key for key in (f"{issuer}:sub", f"{issuer}:aud") if key.lower() not in conditions]
            if absent:
                findings.append(Finding(
                    "iam-oidc-trust-requires-sub-aud", role_id, f"OIDC trust has no condition on {' and '.join(absent)}"
                ))
    return findings


def check_byoc_role_trust(ctx: AuditContext) -> list[Finding]:
    byoc = byoc_outputs(ctx)
    # Role name is the last path segment of the ARN (arn:aws:iam::<account>:role/<path>/<name>).
    roles = {arn.rsplit("/", 1)[-1]: label for label, arn in byoc.role_arns.items()}
    roles.setdefault(byoc.management_role_name, "management")
    findings: list[Finding] = []
    for name, label in roles.items():
        found = role(ctx, name)
        if found is None:
            # A missing management role is byoc-bootstrap's to report: it is ClickHouse's role, not one of ours.
            if label != "management":
                findings.append(missing(f"IAM role ({label})", name, "the account"))
            continue
        findings += trust_findings(found["Arn"], found["AssumeRolePolicyDocument"], byoc.account_id)
    return findings


def role(ctx: AuditContext, name: str) -> dict[str, Any] | None:
    """The IAM role named ``name`` (GetRole's Role), or None when the account has none (read once per audit)."""
    found = ctx.once(f"iam-role:{name}", lambda: ctx.aws.call(
        "iam", "get_role", RoleName=name, missing=frozenset({"NoSuchEntity"})))
    return found["Role"] if found else None


def check_byoc_log_groups(ctx: AuditContext) -> list[Finding]:
    findings: list[Finding] = []
    for purpose, name in byoc_outputs(ctx).log_group_names.items():
        groups = ctx.aws.items("logs", "describe_log_groups", "logGroups", logGroupNamePrefix=name)
        group = next((g for g in groups if g["logGroupName"] == name), None)
        if group is None:
            findings.append(missing(f"BYOC {purpose} log group", name, ctx.region))
            continue
        if not group.get("kmsKeyId"):
            findings.append(Finding("cloudwatch-log-group-kms", name, f"{purpose} log group is not KMS-encrypted"))
        if not group.get("retentionInDays"):
            findings.append(Finding(
                "cloudwatch-log-group-retention", name, f"{purpose} log group has no retention (never expires)"
            ))
    return findings


def check_byoc_zone(ctx: AuditContext) -> list[Finding]:
    byoc = byoc_outputs(ctx)
    zone = ctx.hosted_zone(byoc.hosted_zone_id)
    if zone is None:
        return [missing("BYOC Route53 hosted zone", byoc.hosted_zone_id, "the account")]
    return _zone_findings(zone, name=byoc.domain, vpc_id=byoc.vpc_id, region=ctx.region)


def byoc_outputs(ctx: AuditContext) -> ByocOutputs:
    # The registry skips BYOC checks (``needs_byoc``) when the stack has no byoc output.
    return cast(ByocOutputs, ctx.outputs.byoc)


# --- registry -----------------------------------------------------------------------------------------------------


def needs_byoc(outputs: StackOutputs) -> str | None:
    return None if outputs.byoc else "the stack has no byoc output (BYOC is not enabled)"


def _needs_privatelink(outputs: StackOutputs) -> str | None:
    return None if outputs.vpc_endpoint_id else "the stack has no PrivateLink endpoint (a BYOC stack reaches its service through the private load balancer)"


def _needs_service(outputs: StackOutputs) -> str | None:
    return None if outputs.password_secret_arn else "the stack has no ClickHouse service yet (BYOC before byocInfrastructureId)"


def _needs_byoc_without_egress(outputs: StackOutputs) -> str | None:
    if not outputs.byoc:
        return needs_byoc(outputs)
    egress = (outputs.raw.get("byoc") or {}).get("egress", "none")
    # With nat or transit-gateway egress the gateways are the declared path; the pack's egress-only-through-nat policy
    # judges their shape at preview.
    return None if egress == "none" else f"the BYOC VPC's egress is {egress}, so its gateways are expected"


def _needs_customer_keys(outputs: StackOutputs) -> str | None:
    return None if _customer_keys(outputs) else "the outputs name no customer-managed KMS key"


def _always(_: StackOutputs) -> str | None:
    return None


@dataclass(frozen=True)
class Check:
    check_id: str
    title: str
    run: Callable[[AuditContext], list[Finding]]
    skip_reason: Callable[[StackOutputs], str | None] = _always


CHECKS: tuple[Check, ...] = (
    Check("outputs-region", "Stack outputs name only the stack's region", check_outputs_region),
    Check(
        "clickhouse-endpoint",
        "ClickHouse endpoint: available Interface endpoint, same-region service, private DNS off, endpoint SG only",
        check_clickhouse_endpoint, _needs_privatelink,
    ),
    Check(
        "endpoint-sg-ingress", "Endpoint security group admits only the client security group on tcp 443/8443/9440 (3306 with MySQL)",
        check_endpoint_sg_ingress, _needs_privatelink,
    ),
    Check(
        "sg-no-public-ingress", "Stack security groups admit nothing from 0.0.0.0/0 or ::/0", check_no_public_ingress
    ),
    Check("vpc-flow-logs", "Every VPC the outputs name has an active flow log", check_flow_logs),
    Check(
        "private-zone", "ClickHouse zone: private, on the stack's VPC only, apex alias to the endpoint",
        check_private_zone, _needs_privatelink,
    ),
    Check(
        "password-secret", "Password secret: exists, expected KMS key, not scheduled for deletion",
        check_password_secret, _needs_service,
    ),
    Check("kms-keys", "Customer KMS keys are enabled and rotate", check_kms_keys, _needs_customer_keys),
    Check(
        "byoc-internet-path", "BYOC VPC has no internet gateway or NAT gateway", check_byoc_internet_path,
        _needs_byoc_without_egress,
    ),
    Check(
        "byoc-endpoints", "BYOC S3 gateway and interface endpoints exist and are available", check_byoc_endpoints,
        needs_byoc,
    ),
    Check(
        "byoc-buckets",
        "BYOC buckets: full public access block, SSE-KMS, versioned backups, TLS-only policy, no public principal",
        check_byoc_buckets, needs_byoc,
    ),
    Check(
        "byoc-role-trust", "BYOC role trusts: no wildcard, ExternalId for other accounts, OIDC sub/aud",
        check_byoc_role_trust, needs_byoc,
    ),
    Check(
        "byoc-log-groups", "BYOC log groups are KMS-encrypted with retention set", check_byoc_log_groups, needs_byoc
    ),
    Check("byoc-zone", "BYOC zone: private, on the BYOC VPC only", check_byoc_zone, needs_byoc),
)


def run_checks(ctx: AuditContext, checks: Iterable[Check] = CHECKS) -> list[CheckResult]:
    """Run each check that applies; an AuditError from any of them stops the audit."""
    results = []
    for check in checks:
        reason = check.skip_reason(ctx.outputs)
        if reason:
            results.append(CheckResult(check.check_id, check.title, CheckStatus.SKIP, skip_reason=reason))
            continue
        try:
            findings = tuple(check.run(ctx))
        except NotYetBuilt as absent:
            results.append(CheckResult(check.check_id, check.title, CheckStatus.NOT_BUILT, skip_reason=str(absent)))
            continue
        status = CheckStatus.FAIL if findings else CheckStatus.PASS
        details = tuple(ctx.details.pop(check.check_id, ()))
        results.append(CheckResult(check.check_id, check.title, status, findings, details=details))
    return results
