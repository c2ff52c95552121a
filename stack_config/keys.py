"""Every config key the program reads, the facts a valid value of each satisfies, and the reader that checks them.

``KEYS`` is the one table of the project's keys: Pulumi.yaml's config block is generated from it
(``python -m stack_config.schema``), a misspelt key is reported against it, and every check on a single value is a
fact in it rather than code. ``value_problems`` turns each broken fact into one message saying what is expected.
Checks that relate a key to other keys, to the stack or to what AWS reports live beside their area's dataclass
(``network``, ``clickhouse``, ``secret``, ``byoc``).
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import ipaddress
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Collection, Mapping, Optional

import pulumi
import pulumi_aws
from pulumi.runtime import config as runtime_config

PROJECT = "clickhouse-aws"

# The only values CloudWatch Logs accepts for retention_in_days.
CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
# What EKS nodes in a VPC without internet access need to reach AWS: image pulls, node bootstrap, the EKS API, IRSA
# token exchange, logs and the load balancer controller. S3 is always a gateway endpoint, never in this list.
BYOC_INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "ec2", "eks", "sts", "logs", "elasticloadbalancing")

# ClickHouse's BYOC bootstrap: its CloudFormation template deployed by this stack, or a role the customer made with it.
BYOC_BOOTSTRAP_MODES = ("cloudformation", "existing")
# The template ClickHouse's "AWS customized setup" page links (clickhouse.com/docs/cloud/reference/byoc/onboarding/
# customization-aws); older pages link cf-templates/byoc.yaml.
BYOC_TEMPLATE_URL = ("https://s3.us-east-2.amazonaws.com/clickhouse-public-resources.clickhouse.cloud/"
                     "cf-templates/byoc_v2.yaml")

# How the created VPC reaches the internet: not at all, through NAT gateways of its own, or through a transit gateway.
EGRESS_MODES = ("none", "nat", "transit-gateway")

# How EKS pods get AWS credentials: EKS Pod Identity (ClickHouse's clusters: its onboarding module lets the management
# role create pod identity associations) or IAM roles for service accounts through the cluster's OIDC issuer.
POD_ACCESS_MODES = ("pod-identity", "irsa")

# The regions the installed AWS provider knows: it refuses any other (unless told to skip region validation).
AWS_REGIONS = tuple(region.value for region in pulumi_aws.Region)
_AWS_REGION = {"choices": AWS_REGIONS, "expected": "an AWS region the AWS provider knows, such as us-east-1"}
# A list of choices longer than this is named by ``expected`` in messages, with the closest choice as a hint.
_LISTED_CHOICES = 25
_DNS_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_SECURITY_GROUP_ID = {"pattern": r"sg-[0-9a-f]{8,17}", "expected": "a security group ID such as sg-0123456789abcdef0"}


class ConfigError(pulumi.RunError):
    """A user's configuration mistake. ``pulumi.RunError`` makes the CLI print the message without a traceback."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Invalid configuration for this stack:\n{lines}")


@dataclass(frozen=True)
class Key:
    """One config key: its type, default and description (as Pulumi.yaml declares them), and the facts of a valid value.

    A fact holds for every item of a list key. ``expected`` names a valid value ("a VPC ID such as vpc-...") in the
    messages of a broken form fact (``pattern``, ``cidr``, ``private``) and of a choice among more than can be listed;
    ``why`` gives the reason behind a limit
    (``choices``, ``minimum``, ``maximum``, ``multiple_of``, ``same_region``). Both may say ``{region}`` for the
    stack's region. An empty string means unset: it is a problem only for a ``required`` key, whose text says what
    to set.
    """

    name: str  # bare for a project key, "namespace:name" for a provider's
    kind: type
    default: Any
    description: str
    secret: bool = False
    normalize: Optional[Callable[[str], str]] = None
    required: str = ""
    pattern: Optional[str] = None
    cidr: bool = False  # an IPv4 network in CIDR notation, without host bits
    private: bool = False  # ... in private address space
    same_region: bool = False  # the pattern's (?P<region>...) must be the stack's region
    choices: tuple[Any, ...] = ()
    minimum: Optional[int] = None
    maximum: Optional[int] = None
    multiple_of: Optional[int] = None
    unique: bool = True  # a list without repeats: every list key here, as a repeat is always a slip
    expected: str = ""
    why: str = ""


def _retention(name: str, default: int, description: str) -> Key:
    return Key(name, int, default, description, choices=CLOUDWATCH_RETENTION_DAYS,
               why="CloudWatch Logs accepts only these retentions")


def _replica_memory(name: str, default: int, description: str) -> Key:
    # The Cloud API's range; organisations not yet paying are held to 120 GiB, which only the API can tell.
    return Key(name, int, default, description, minimum=8, maximum=356, multiple_of=4,
               why="ClickHouse sizes replicas in steps of 4 GiB from 8 to 356 GiB")


def _fqdn(value: str) -> str:
    return value.rstrip(".")


KEYS: tuple[Key, ...] = (
    Key("protect", bool, True, "Protect stateful resources (ClickHouse service, secrets, KMS keys, buckets) from deletion."),
    Key("tags", dict, {}, "Extra tags applied to every AWS resource and the ClickHouse service (object of strings)."),
    # Network
    Key("vpcId", str, "", "Existing VPC to use instead of creating one; requires subnetIds.",
        pattern=r"vpc-[0-9a-f]{8,17}", expected="a VPC ID such as vpc-0123456789abcdef0"),
    Key("subnetIds", list, [], "Existing private subnet IDs (one per AZ) for the endpoint; only with vpcId.",
        pattern=r"subnet-[0-9a-f]{8,17}", unique=True, expected="a subnet ID such as subnet-0123456789abcdef0"),
    Key("vpcCidr", str, "10.40.0.0/16", "CIDR of the VPC this program creates (private range, /16 to /24).",
        cidr=True, private=True, expected="a private (RFC 1918) IPv4 CIDR such as 10.40.0.0/16"),
    Key("azCount", int, 3, "How many availability zones the created VPC spans (one private subnet each).",
        minimum=2, why="the endpoint needs at least 2 availability zones to survive an AZ outage"),
    Key("availabilityZoneIds", list, [], "Zone IDs (e.g. use1-az1) the created VPC uses first, such as those ClickHouse's endpoint service supports; the rest in zone-ID order.",
        pattern=r"[a-z]{2,5}[0-9]+-az[0-9]+",
        expected="an availability zone ID such as use1-az1 (an ID, not a name like us-east-1a: names differ per account)"),
    Key("subnetPrefixLength", int, 20, "Prefix length of each computed private subnet (e.g. 20 for /20).",
        maximum=28, why="a /28 is the smallest subnet AWS allows"),
    Key("reservedCidrs", list, [], "CIDRs the VPC must not overlap (peered VPCs, on-premises, other regional stacks).",
        cidr=True, expected="an IPv4 CIDR such as 10.50.0.0/16"),
    _retention("flowLogRetentionDays", 90, "Retention of the VPC flow log group, in days (a value CloudWatch accepts)."),
    Key("egress", str, "none", "Outbound path of the created VPC: none, nat (NAT gateways in small egress subnets) or transit-gateway.",
        choices=EGRESS_MODES,
        why="none keeps the VPC without any route out; nat and transit-gateway give the private subnets a default route"),
    Key("natGatewayPerZone", bool, True, "With egress nat: one NAT gateway per zone (true) or one for the whole VPC (false: cheaper, but egress fails with its zone)."),
    Key("egressSubnetPrefixLength", int, 28, "With egress nat: prefix length of each egress subnet, carved from the end of the VPC CIDR.",
        minimum=16, maximum=28, why="a /28 is the smallest subnet AWS allows"),
    Key("transitGatewayId", str, "", "With egress transit-gateway: the transit gateway the private subnets default-route to.",
        pattern=r"tgw-[0-9a-f]{8,17}", expected="a transit gateway ID such as tgw-0123456789abcdef0"),
    # ClickHouse Cloud service
    Key("serviceName", str, "", "ClickHouse service name; defaults to '<project>-<stack>'.",
        pattern=r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,49}",
        expected="a service name of 1-50 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit"),
    Key("clickhouseRegion", str, "", "ClickHouse service region; must equal aws:region (defaults to it).",
        **_AWS_REGION),
    Key("idleScaling", bool, True, "Let the service scale to zero when idle."),
    Key("idleTimeoutMinutes", int, 15, "Minutes of inactivity before idling (5 to 1440); not sent when idleScaling is false.",
        minimum=5, maximum=1440,
        why="ClickHouse idles a service after at least 5 minutes; more than a day would never idle a used service"),
    _replica_memory("minReplicaMemoryGb", 8, "Minimum memory per replica in GiB (multiple of 4, 8 to 356)."),
    _replica_memory("maxReplicaMemoryGb", 16, "Maximum memory per replica in GiB (multiple of 4, 8 to 356, not below the minimum)."),
    Key("numReplicas", int, 3, "Number of replicas (1 to 20).", minimum=1, maximum=20,
        why="the ClickHouse Cloud API accepts 1 to 20 replicas per service"),
    Key("clickhouseMysqlInterface", bool, False, "The service's MySQL interface is on (enabled in the ClickHouse console): admit clients on 3306 and give ClickHouse the MySQL password hash."),
    Key("releaseChannel", str, "default", "ClickHouse release channel: default, fast or slow.",
        choices=("default", "fast", "slow")),
    # The ClickHouse provider's validators (terraform-provider-clickhouse v3.10/v3.11, backup_configuration).
    Key("backupPeriodHours", int, 24, "Hours between backups: 6, 8, 12, 16, 20, 24, 36 or 48 (24 with backupStartTime).",
        choices=(6, 8, 12, 16, 20, 24, 36, 48), why="the periods ClickHouse offers"),
    Key("backupRetentionHours", int, 24, "Hours a backup is kept: 24, 48, 72, 96, 120, 144, 168, 336, 504, 672 or 720.",
        choices=(24, 48, 72, 96, 120, 144, 168, 336, 504, 672, 720), why="the retentions ClickHouse offers"),
    Key("backupStartTime", str, "", "Start of the daily two-hour backup window, a whole UTC hour as HH:00; backups are then daily.",
        pattern=r"([01]\d|2[0-3]):00",
        expected="a whole UTC hour as HH:00, e.g. 03:00 (ClickHouse starts backups on the hour)"),
    # Password secret
    Key("passwordKmsKey", str, "", "KMS key for the password secret: '' (AWS managed), 'create', or a key/alias ARN in this region.",
        pattern=r"create|arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):\d{12}:"
                r"(key/[0-9a-f-]{36}|key/mrk-[0-9a-f]{32}|alias/[\w/+=,.@-]+)",
        same_region=True, expected="'' (the AWS managed key), 'create', or a KMS key or alias ARN",
        why="a cross-region key is not allowed"),
    Key("clickhousePasswordVersion", int, 1, "Raise by one to rotate the ClickHouse password: a new value, hash on the service and secret version (see README).",
        minimum=1),
    Key("secretRecoveryWindowDays", int, 30, "Secrets Manager recovery window: 0 (delete at once, dev) or 7 to 30.",
        minimum=0, maximum=30, why="Secrets Manager keeps a deleted secret for 0 (delete at once) or 7 to 30 days"),
    # Observability: the alarm topic, alarms and dashboard of every stack; ClickHouse Cloud metrics when metricsEnabled.
    Key("alarmEmails", list, [], "Email addresses subscribed to the stack's alarm topic (each confirms by email).",
        pattern=r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+",
        expected="an email address such as oncall@example.com"),
    Key("alarmHttpsEndpoints", list, [], "HTTPS URLs subscribed to the stack's alarm topic (an incident tool's webhook; it confirms the subscription).",
        pattern=r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?",
        expected="an https:// URL such as https://events.example.com/sns (SNS delivers alarms in plain text to http://)"),
    Key("alarmPeriodSeconds", int, 300, "Period of every alarm's statistic, in seconds: 60, 300, 900 or 3600.",
        choices=(60, 300, 900, 3600), why="the metrics alarmed on are published every minute"),
    Key("alarmEvaluationPeriods", int, 3, "Periods each alarm looks back over (1 to 24).", minimum=1, maximum=24,
        why="alarms here look back at most a day of hourly periods"),
    Key("alarmDatapointsToAlarm", int, 2, "Breaching periods among alarmEvaluationPeriods that fire an alarm (at most alarmEvaluationPeriods).",
        minimum=1, maximum=24, why="it counts periods among alarmEvaluationPeriods"),
    Key("alarmEndpointPacketsDropped", int, 10, "PrivateLink endpoint: dropped packets per period that breach.", minimum=1),
    Key("alarmEndpointResets", int, 300, "PrivateLink endpoint: TCP resets received from ClickHouse per period that breach.", minimum=1),
    Key("alarmNatPortAllocationErrors", int, 1, "NAT gateways (egress nat): port allocation errors per period that breach.", minimum=1),
    Key("alarmNatPacketsDropped", int, 100, "NAT gateways (egress nat): dropped packets per period that breach.", minimum=1),
    Key("metricsEnabled", bool, False, "Scrape the service's ClickHouse Cloud Prometheus metrics into an Amazon Managed Prometheus workspace (needs egress other than none)."),
    Key("metricsApiKeyId", str, "", "ID of the ClickHouse Cloud API key the metrics agent scrapes with (secret: set with --secret).",
        secret=True,
        required="the metrics agent authenticates with a ClickHouse Cloud API key; run "
                 "`pulumi config set --secret clickhouse-aws:metricsApiKeyId <key id>`",
        pattern=r"[A-Za-z0-9._-]{1,128}", expected="a ClickHouse Cloud API key ID (letters, digits, '.', '_' and '-')"),
    Key("metricsApiKeySecret", str, "", "Secret of that API key, kept in Secrets Manager for the agent (secret: set with --secret).",
        secret=True,
        required="the metrics agent authenticates with a ClickHouse Cloud API key; run "
                 "`pulumi config set --secret clickhouse-aws:metricsApiKeySecret <key secret>`",
        pattern=r"[^\s]{1,256}", expected="a ClickHouse Cloud API key secret (no spaces)"),
    Key("metricsScrapeIntervalSeconds", int, 60, "How often the agent scrapes ClickHouse Cloud, in seconds (60 to 600).",
        minimum=60, maximum=600,
        why="each scrape is a call to ClickHouse Cloud's API; at least a minute apart, at most ten so gaps stay short"),
    _retention("metricsLogRetentionDays", 30, "Retention of the metrics agent's log group, in days (a value CloudWatch accepts)."),
    # ClickHouse BYOC prerequisites (customer side); every other byoc* key is read only when byocEnabled is true.
    Key("byocEnabled", bool, False, "Lay down the customer-side AWS prerequisites for ClickHouse BYOC in this stack."),
    Key("byocEgressNoneAcknowledged", bool, False, "Allow BYOC with egress none: only when your ClickHouse contract provides another outbound path for Tailscale."),
    Key("byocBootstrap", str, "cloudformation", "How ClickHouse's bootstrap role (ClickHouseManagementRole, one per AWS account) comes about: cloudformation (this stack deploys ClickHouse's template) or existing (your security team ran it, or another stack in this account did).",
        choices=BYOC_BOOTSTRAP_MODES,
        why="ClickHouse's role comes only from its own CloudFormation template or Terraform module, unchanged"),
    Key("byocBootstrapTemplateUrl", str, BYOC_TEMPLATE_URL, "With byocBootstrap cloudformation: the URL of ClickHouse's BYOC CloudFormation template (the policy pack allows only listed URLs).",
        # CloudFormation reads a TemplateURL only from S3 (CreateStack API reference).
        pattern=r"https://[a-z0-9.-]*s3[a-z0-9.-]*\.amazonaws\.com(\.cn)?/[^?#\s]+",
        expected="an https URL of a template in S3 without a query string, e.g. " + BYOC_TEMPLATE_URL),
    Key("byocIncludeIamWritePermissions", bool, True, "With byocBootstrap cloudformation: the template's IncludeIAMWritePermissions (false only for customer-managed IAM roles, a ClickHouse private preview)."),
    Key("byocExternalId", str, "", "With byocBootstrap cloudformation: the sts:ExternalId ClickHouse gave you, passed to its template (secret: set with --secret).",
        secret=True,
        required="ClickHouse's bootstrap template needs the ExternalId ClickHouse gave you; "
                 "run `pulumi config set --secret clickhouse-aws:byocExternalId <external-id>`",
        # sts:ExternalId: 2-1224 characters from this set (STS AssumeRole API reference).
        pattern=r"[\w+=,.@:/-]{2,1224}", expected="2 to 1224 characters of letters, digits and _+=,.@:/-"),
    Key("byocManagementRoleArn", str, "", "With byocBootstrap existing: the ARN of the ClickHouseManagementRole your security team created with ClickHouse's template or module.",
        required="with byocBootstrap existing, set it to the role your security team created from ClickHouse's "
                 "template: `pulumi config set clickhouse-aws:byocManagementRoleArn "
                 "arn:aws:iam::<account>:role/ClickHouseManagementRole`",
        # ClickHouse's automation assumes the role by this exact name, at the root path.
        pattern=r"arn:aws[a-z-]*:iam::\d{12}:role/ClickHouseManagementRole",
        expected="the ARN of an IAM role named exactly ClickHouseManagementRole (no path, prefix or suffix: "
                 "ClickHouse's automation assumes it by that name), arn:aws:iam::<account>:role/ClickHouseManagementRole"),
    Key("byocPodAccess", str, "pod-identity", "How the ClickHouse pods assume the customer-supplied pod role: pod-identity (EKS Pod Identity, as ClickHouse's clusters use) or irsa.",
        choices=POD_ACCESS_MODES, why="EKS pods assume IAM roles through EKS Pod Identity or IRSA"),
    Key("byocOidcIssuerUrl", str, "", "With byocPodAccess irsa: the EKS OIDC issuer URL ClickHouse sends once EKS exists; '' until then (no pod role yet).",
        normalize=lambda url: url.rstrip("/"),
        # IAM matches issuers case-sensitively, so the form is exactly what EKS reports.
        pattern=r"https://oidc\.eks\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/id/[0-9A-F]{32}", same_region=True,
        expected="an EKS OIDC issuer URL: https://oidc.eks.{region}.amazonaws.com/id/<32 upper-case hex characters>, "
                 "as `aws eks describe-cluster --query cluster.identity.oidc.issuer` prints it",
        why="the EKS cluster must be in the stack's region"),
    Key("byocNamespace", str, "clickhouse", "Kubernetes namespace of the ClickHouse pods (IRSA trust, byocPodAccess irsa).",
        pattern=_DNS_LABEL, expected="a Kubernetes namespace (1-63 lower-case letters, digits and '-')"),
    Key("byocServiceAccount", str, "clickhouse", "Kubernetes service account of the ClickHouse pods (IRSA trust, byocPodAccess irsa).",
        pattern=r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?",
        expected="a Kubernetes service account name (lower-case letters, digits, '-' and '.')"),
    Key("byocEksClusterName", str, "", "EKS cluster name agreed with ClickHouse (clickhouse-cloud-*); '' when not agreed: then no EKS log group, and no cluster in the pod role's trust.",
        # An EKS name is at most 100 characters; the management role may only manage clusters named clickhouse-cloud-*.
        pattern=r"clickhouse-cloud-[A-Za-z0-9_-]{0,83}",
        expected="an EKS cluster name starting with 'clickhouse-cloud-' (ClickHouse's management role may only manage "
                 "clusters named so): letters, digits, '-' and '_', at most 100 characters"),
    Key("byocControlPlaneSecurityGroupId", str, "", "EKS control plane security group, once EKS exists; '' until then.",
        **_SECURITY_GROUP_ID),
    Key("byocApplicationSecurityGroupIds", list, [], "Security groups of applications that query ClickHouse; defaults to the PrivateLink client group.",
        unique=True, **_SECURITY_GROUP_ID),
    Key("byocApplicationCidrs", list, [], "Application subnet CIDRs the internal NLB admits; each inside the VPC or a reservedCidrs range.",
        cidr=True, private=True, unique=True,
        expected="the private IPv4 CIDR of an application subnet, e.g. 10.50.0.0/20 (the NLB never admits 0.0.0.0/0)"),
    Key("byocInterfaceEndpoints", list, list(BYOC_INTERFACE_ENDPOINTS), "AWS services that get an interface VPC endpoint (com.amazonaws.<region>.<service>).",
        pattern=r"[a-z0-9]+([.-][a-z0-9]+)*", unique=True,
        expected="an AWS service name as in com.amazonaws.<region>.<service>, e.g. ecr.api"),
    Key("byocBucketPrefix", str, "", "Prefix of the BYOC bucket names; defaults to '<project>-<stack>' (names end -<account>-<region>-backups/-logs).",
        pattern=r"(?!xn--|sthree-)[a-z0-9]([a-z0-9-]*[a-z0-9])?",
        expected="usable in S3 bucket names: lower-case letters, digits and '-', starting and ending with a letter or "
                 "digit, and not starting with xn-- or sthree-"),
    Key("byocBackupRetentionDays", int, 90, "Days before objects in the backups bucket expire.", minimum=1),
    Key("byocLogsRetentionDays", int, 365, "Days before objects in the logs bucket expire.", minimum=1),
    _retention("byocQueryLogRetentionDays", 30, "Retention of /aws/clickhouse/query-logs, in days (a value CloudWatch accepts)."),
    _retention("byocErrorLogRetentionDays", 90, "Retention of /aws/clickhouse/error-logs, in days (a value CloudWatch accepts)."),
    _retention("byocEksLogRetentionDays", 90, "Retention of the EKS control plane log group (only with byocEksClusterName), in days (a value CloudWatch accepts)."),
    Key("byocInternalDomain", str, "", "Private Route53 domain for BYOC; ClickHouse answers at clickhouse.<domain>.",
        normalize=_fqdn, required="BYOC needs a private DNS domain for ClickHouse, e.g. data.prod.internal",
        # At most 242 characters, so that clickhouse.<domain> stays within DNS's 253.
        pattern=rf"(?=.{{1,242}}$)({_DNS_LABEL}\.)+{_DNS_LABEL}",
        expected="a valid domain name: two or more lower-case labels of letters, digits and '-' (1-63 characters each, "
                 "not starting or ending with '-'), e.g. data.prod.internal"),
    Key("byocNlbDnsName", str, "", "DNS name of ClickHouse's internal NLB once it exists; '' until then (no clickhouse record yet).",
        normalize=lambda name: _fqdn(name).lower(),
        pattern=r"[a-z0-9][a-z0-9-]*\.elb\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?", same_region=True,
        expected="a network load balancer DNS name: <name>-<id>.elb.{region}.amazonaws.com",
        why="ClickHouse's NLB is in the stack's region"),
    Key("byocInfrastructureId", str, "", "The BYOC infrastructure ID ClickHouse reports once it has built the infrastructure; then the stack creates the service on it.",
        pattern=r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}",
        expected="the BYOC infrastructure ID from the ClickHouse console (letters, digits, '-' and '_')"),
    Key("byocNlbZoneId", str, "", "Canonical hosted zone ID of that NLB; '' looks up the region's NLB zone.",
        pattern=r"Z[A-Z0-9]{1,31}", expected="a hosted zone ID: Z followed by upper-case letters and digits"),
)
KEYS_BY_NAME: dict[str, Key] = {k.name: k for k in KEYS}

# Keys the program no longer reads, and why: a stack file that still sets one is told rather than silently ignored.
RETIRED_KEYS: dict[str, str] = {
    "byocManagementRoleName": "ClickHouse's automation assumes a role named exactly ClickHouseManagementRole (no "
                              "prefix, suffix or renaming), which its bootstrap template creates; remove the key",
    "byocClickHouseAccountId": "ClickHouse's bootstrap template fixes the account its automation assumes the role "
                               "from; remove the key",
}

# Keys of the providers' namespaces the program checks too; Pulumi.yaml cannot declare their types.
PROVIDER_KEYS: tuple[Key, ...] = (
    Key("aws:region", str, "", "The AWS region of the stack.",
        required="run `pulumi config set aws:region us-east-1` (or your region)",
        **_AWS_REGION),
    Key("clickhouse:organizationId", str, "", "The ClickHouse Cloud organization the provider manages.",
        pattern=r"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        expected="an organization ID (a UUID from the ClickHouse Cloud console)"),
)


@functools.cache
def provider_config_keys() -> dict[str, frozenset[str]]:
    """Each provider namespace the program uses and the config keys its installed SDK reads (its vars module)."""
    found = {}
    for namespace, package in (("aws", "pulumi_aws"), ("clickhouse", "pulumiverse_clickhouse")):
        # Read, not imported: the SDKs load their config modules lazily, and importing one here is circular.
        source = (Path(importlib.util.find_spec(package).origin).parent / "config" / "vars.py").read_text()
        found[namespace] = frozenset(re.findall(r"__config__\.get\w*\('(\w+)'", source))
    # pulumi-random takes no configuration.
    return {**found, "random": frozenset()}


def parse(key: Key, raw: Any) -> Any:
    """Turn a raw config value (the CLI hands every value over as a string) into ``key.kind``; raise ValueError."""
    if key.kind is str:
        if not isinstance(raw, str):
            raise ValueError("expected a string")
        value = raw.strip()
        return key.normalize(value) if key.normalize else value
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


def value_problems(key: Key, value: Any, region: str = "") -> list[str]:
    """What is wrong with a parsed ``value`` of ``key``, one message per broken fact (without the key's name).

    ``region`` is the stack's region, if known to be valid: ``same_region`` facts are checked only then.
    """
    if key.kind is list:
        problems = [p for item in value for p in _item_problems(key, item, region)]
        if key.unique:
            problems += [f"lists {_shown(item)} more than once" for item, n in sorted(Counter(value).items()) if n > 1]
        return problems
    return _item_problems(key, value, region) if key.kind in (str, int) else []


def _item_problems(key: Key, value: Any, region: str) -> list[str]:
    if value == "":
        return [f"is not set: {key.required}"] if key.required else []
    shown = "the value (not shown: it is secret)" if key.secret else _shown(value)
    expected = key.expected.replace("{region}", region or "<region>")
    why = f": {key.why}" if key.why else ""
    if key.pattern is not None:
        match = re.fullmatch(key.pattern, value)
        if match is None:
            return [f"{shown} is not {expected}"]
        found = match.groupdict().get("region")
        if key.same_region and found and region and found != region:
            return [f"{shown} is in {found} but the stack is in {region}{why}"]
    if key.cidr:
        address, slash, length = value.partition("/")
        # ipaddress also reads a bare address (as /32) and a netmask; AWS and every reader of the config mean prefixes.
        if not slash or not length.isdigit():
            return [f"{shown} is not in prefix notation (address/length); expected {expected}"]
        try:
            network = ipaddress.IPv4Network(value, strict=False)
        except ValueError as err:
            return [f"{shown} is not a valid IPv4 CIDR ({err}); expected {expected}"]
        if str(network) != value:
            if network.network_address != ipaddress.IPv4Address(address):
                return [f"{shown} has host bits set; the network is {str(network)!r}: write that"]
            return [f"{shown} is not in normal form; write it as {str(network)!r}"]
        if key.private and (network.prefixlen == 0 or not network.is_private):
            return [f"{shown} is not a private range; expected {expected}"]
    problems = []
    if key.choices and value not in key.choices:
        listed = f"one of {', '.join(map(str, key.choices))}" if len(key.choices) <= _LISTED_CHOICES else expected
        close = difflib.get_close_matches(value, key.choices, n=1) if isinstance(value, str) and not key.secret else []
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.append(f"{shown} is not {listed}{hint}{why}")
    if key.minimum is not None and value < key.minimum:
        problems.append(f"{shown} is below the minimum of {key.minimum}{why}")
    if key.maximum is not None and value > key.maximum:
        problems.append(f"{shown} is above the maximum of {key.maximum}{why}")
    if key.multiple_of is not None and value % key.multiple_of:
        problems.append(f"{shown} is not a multiple of {key.multiple_of}{why}")
    return problems


def _shown(value: Any, limit: int = 80) -> str:
    """A value as a message quotes it: a string in quotes, cut short if long (a message names, it does not echo)."""
    if not isinstance(value, str):
        return str(value)
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}... ({len(value)} characters)"


class Problems:
    """Collects every problem with the config, each naming its key, and reports them together."""

    def __init__(self, project: str = PROJECT):
        self.project = project
        self.problems: list[str] = []

    def full(self, name: str) -> str:
        return name if ":" in name else f"{self.project}:{name}"

    def problem(self, name: str, message: str) -> None:
        self.problems.append(f"{self.full(name)}: {message}")

    def check(self, ok: bool, name: str, message: str) -> bool:
        if not ok:
            self.problem(name, message)
        return ok

    def raise_if_any(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)


class ConfigReader(Problems):
    """Reads each key once, parsed into its kind and checked against its facts, collecting what is wrong.

    Values come from ``source`` when given (a mapping of full key names to the strings the CLI passes, and
    ``secret_keys``, the keys set with ``--secret``), otherwise from the Pulumi runtime.
    """

    def __init__(self, source: Optional[Mapping[str, Any]] = None, project: str = PROJECT,
                 keys: tuple[Key, ...] = KEYS + PROVIDER_KEYS, secret_keys: Collection[str] = ()):
        super().__init__(project)
        self.source = source
        self.secret_keys = frozenset(secret_keys)
        self.keys = {k.name: k for k in keys}
        self._values: dict[str, Any] = {}
        self._valid: dict[str, bool] = {}

    def raw(self, full_key: str) -> Any:
        return runtime_config.get_config(full_key) if self.source is None else self.source.get(full_key)

    def present(self) -> set[str]:
        if self.source is not None:
            return set(self.source)
        return set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())

    def is_secret(self, full_key: str) -> bool:
        """Whether the value was set with ``--secret`` (``secure:`` in the stack file)."""
        if self.source is not None:
            return full_key in self.secret_keys
        # The CLI's language host lists them in PULUMI_CONFIG_SECRET_KEYS; the SDK's own set holds them under mocks
        # and the Automation API.
        return runtime_config.is_config_secret(full_key) or full_key in runtime_config.get_config_secret_keys_env()

    def get(self, name: str) -> Any:
        """The key's value, or its default when unset or not of its kind; read once, so each problem shows once."""
        if name not in self._values:
            self._values[name], self._valid[name] = self._read(self.keys[name])
        return self._values[name]

    def valid(self, name: str) -> bool:
        """Whether the key's value (read if need be) is of its kind and satisfies every fact."""
        self.get(name)
        return self._valid[name]

    def get_or(self, name: str, derived: str, origin: str) -> Any:
        """The key's value or, when it is unset, ``derived`` (``origin`` says from what), checked by the same facts."""
        if self.get(name) == "":
            problems = value_problems(self.keys[name], derived, self._region())
            for message in problems:
                self.problem(name, f"{message} ({origin})")
            self._values[name], self._valid[name] = derived, not problems
        return self._values[name]

    def _read(self, key: Key) -> tuple[Any, bool]:
        raw = self.raw(self.full(key.name))
        # A key left empty in the stack file (`key:`) reaches the program as the empty string (the CLI warns that it
        # does so): like a key not set, it means the default. A declared boolean or integer left empty is refused by
        # the CLI before the program runs.
        if raw is None or raw == "":
            value = key.default
        else:
            try:
                value = parse(key, raw)
            except ValueError as err:
                self.problem(key.name, f"{err}, got {_shown(str(raw))}" if not key.secret else str(err))
                return key.default, False
        problems = value_problems(key, value, "" if key.name == "aws:region" else self._region())
        for message in problems:
            self.problem(key.name, message)
        return value, not problems

    def _region(self) -> str:
        return self.get("aws:region") if self.valid("aws:region") else ""

    def check_keys(self) -> None:
        """Every key the CLI passes: a misspelt namespace or key, and a secret committed in plain text."""
        providers = provider_config_keys()
        own = [name for name in self.keys if ":" not in name]
        namespaces = [self.project, *providers]
        for full_key in sorted(self.present()):
            namespace, _, name = full_key.partition(":")
            if namespace == self.project and name in RETIRED_KEYS:
                self.problems.append(f"{full_key}: is no longer read: {RETIRED_KEYS[name]}")
            elif namespace == self.project:
                self._check_name(full_key, name, own, "unknown key", "(known keys are listed in Pulumi.yaml)")
                key = self.keys.get(name)
                if key and key.secret and self.raw(full_key) not in (None, "") and not self.is_secret(full_key):
                    self.problems.append(
                        f"{full_key}: is in plain text in the stack file; it is a secret: remove it and run "
                        f"`pulumi config set --secret {full_key} <value>` (and rotate it if it was committed)")
            elif namespace in providers:
                self._check_name(full_key, name, sorted(providers[namespace]), f"not a key the {namespace} provider reads",
                                 "(see its configuration reference)")
            elif namespace != "pulumi":
                # Another tool's namespace is its own business; one a letter or two off ours is a slip.
                close = difflib.get_close_matches(namespace.lower(), namespaces, n=1, cutoff=0.75)
                if close:
                    self.problems.append(f"{full_key}: no program or provider reads the namespace {namespace!r}; "
                                         f"did you mean {close[0] + ':' + name!r}?")

    def _check_name(self, full_key: str, name: str, known: list[str], what: str, where: str) -> None:
        if name not in known:
            hint = difflib.get_close_matches(name, known, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            self.problems.append(f"{full_key}: {what}{suggestion} {where}")
