"""A compliant AWS account in moto for the live audit's tests, the outputs a stack would print for it, and botocore
event hooks for what moto cannot produce.

Moto models nearly everything the audit reads (endpoint DNS entries, private DNS flag, Route53 aliases and VPC
associations, secret deletion, key rotation, public access blocks, log group KMS/retention). Where it does not (an
endpoint that is not `available`, the `ServiceRegion` of a cross-region endpoint, throttling and access denial), tests
edit or replace that single call's response through a botocore event hook (see `patch_response`, `fail_call`).
"""

from __future__ import annotations

import copy
import functools
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import botocore.session
import moto.kms.models
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.base_backend import BackendDict

from scripts.audit import AuditReport, run_audit
from scripts.audit.aws import ReadOnlyAws
from scripts.audit.checks import PUBLIC_ACCESS_BLOCK_FLAGS, AuditContext, run_checks
from scripts.audit.model import CheckResult, parse_outputs
from scripts.audit.run import ALL_CHECKS
from tests.boto import shared_botocore_session
from tests.helpers import DATA

REGION = "us-east-1"
ACCOUNT = DEFAULT_ACCOUNT_ID
CLICKHOUSE_ACCOUNT = "426924874929"  # ClickHouse's AWS account, trusted by the BYOC management role
ENDPOINT_SERVICE = f"com.amazonaws.vpce.{REGION}.vpce-svc-0a1b2c3d4e5f60718"
HOSTNAME = f"h4k2q9x7zt.{REGION}.vpce.aws.clickhouse.cloud"
OIDC_ISSUER = f"oidc.eks.{REGION}.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
OTHER_REGION = "eu-west-1"
GLOBAL_REGION = "us-east-1"  # where CloudTrail records IAM's events
# The regions the test accounts have enabled (moto reports every region AWS has; see ``_enabled_regions``).
ENABLED_REGIONS = (REGION, OTHER_REGION)
CLUSTER = "clickhouse-cloud-abc123"
CLICKHOUSE_BUCKETS = tuple(f"a1b2c3.{REGION}.aws.clickhouse.cloud-{kind}" for kind in ("shared", "backup"))
BYOC_INTERFACE_SERVICES = ("ecr.api", "ecr.dkr", "ec2", "eks", "sts", "logs", "elasticloadbalancing")


def sample(stack: str) -> dict[str, Any]:
    """A shipped sample outputs file (tests/data/outputs.<stack>.sample.json), freshly parsed."""
    return json.loads((DATA / f"outputs.{stack}.sample.json").read_text())



# --- environment ------------------------------------------------------------------------------------------------


def set_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials and region only; no profile, config file, endpoint override or instance metadata."""
    for var in list(os.environ):
        if var.startswith("AWS_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # Speed: moto would otherwise load its catalogue of public AMIs into every fresh EC2 backend.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


# Speed only, behaviour is unchanged: moto makes a 2048-bit RSA key for every KMS key it creates (the audit never
# touches key material).
_cached_private_key = functools.lru_cache(maxsize=None)(moto.kms.models.generate_private_key)


# CloudTrail event history by region, as ``LookupEvents`` answers it (moto does not implement LookupEvents); tests
# add events with ``record_event``; every moto account starts with none.
EVENTS: dict[str, list[dict[str, Any]]] = {}


def record_event(region: str, source: str, name: str, *, user: str = "ClickHouseManagementRole") -> None:
    """An event in ``region``'s CloudTrail history, as LookupEvents returns it."""
    EVENTS.setdefault(region, []).append({
        "EventId": f"event-{len(EVENTS[region])}", "EventName": name, "EventSource": source, "Username": user,
        "CloudTrailEvent": json.dumps({"awsRegion": region, "eventSource": source, "eventName": name}),
    })


def _lookup_events(params: dict[str, Any], context: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    [wanted] = json.loads(params["body"])["LookupAttributes"]
    events = [event for event in EVENTS.get(context["client_region"], [])
              if wanted["AttributeKey"] == "Username" and event["Username"] == wanted["AttributeValue"]]
    return _answer({"Events": events})


# CloudFormation stacks by name, as DescribeStacks answers them (moto's CloudFormation needs extras this project does
# not install and would load every moto backend); ``add_bootstrap_stack`` adds ClickHouse's bootstrap stack.
STACKS: dict[str, dict[str, Any]] = {}
# Managed Prometheus workspaces' KMS keys by workspace ID (moto's DescribeWorkspace leaves kmsKeyArn out).
WORKSPACE_KEYS: dict[str, str] = {}
# Running tasks by ECS service name (moto starts no task for a service, so its runningCount stays 0).
RUNNING_TASKS: dict[str, int] = {}


def _answer(body: dict[str, Any], status: int = 200) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse("https://aws.invalid", status, {}, None), {**body, "ResponseMetadata": {"HTTPStatusCode": status}}


def _describe_stacks(params: dict[str, Any], context: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    body = params["body"]
    name = (body if isinstance(body, dict) else dict(item.split("=", 1) for item in body.split("&")))["StackName"]
    if name not in STACKS:
        return _answer({"Error": {"Code": "ValidationError", "Message": f"Stack with id {name} does not exist"}}, 400)
    return _answer({"Stacks": [STACKS[name]]})


# Operations moto lacks, answered here: by (IAM service prefix, operation).
_DOUBLES = {("cloudtrail", "LookupEvents"): _lookup_events, ("cloudformation", "DescribeStacks"): _describe_stacks}


def _answer_doubled(model: Any, params: dict[str, Any], context: dict[str, Any],
                    **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    double = _DOUBLES.get((model.service_model.signing_name, model.name))
    return double(params, context) if double else None


def _workspace_key(parsed: dict[str, Any], **_: Any) -> None:
    workspace = parsed.get("workspace", {})
    if workspace.get("workspaceId") in WORKSPACE_KEYS:
        workspace["kmsKeyArn"] = WORKSPACE_KEYS[workspace["workspaceId"]]


def _running_tasks(parsed: dict[str, Any], **_: Any) -> None:
    for service in parsed.get("services", []):
        service["runningCount"] = RUNNING_TASKS.get(service["serviceName"], 0)


def _enabled_regions(parsed: dict[str, Any], **_: Any) -> None:
    """An account has a handful of regions enabled, not moto's every region: keeps per-region reads few and fast."""
    parsed["Regions"] = [region for region in parsed.get("Regions", []) if region["RegionName"] in ENABLED_REGIONS]


def _core_session() -> botocore.session.Session:
    core = shared_botocore_session()
    # On every call and last: botocore runs hooks of more specific event names first, and a recorder of the calls
    # (``record_operations``) must see this one too.
    core.get_component("event_emitter").register_last("before-call", _answer_doubled)
    core.register("after-call.ec2.DescribeRegions", _enabled_regions)
    core.register("after-call.amp.DescribeWorkspace", _workspace_key)
    core.register("after-call.ecs.DescribeServices", _running_tasks)
    return core


def new_session() -> boto3.Session:
    """A fresh boto3 session (own event handlers) that reuses the already parsed service models."""
    return boto3.Session(botocore_session=_core_session())


class ReusedClients(boto3.Session):
    """A session that makes each client once, for everything that hooks no calls: building and breaking accounts,
    and the audits of tests that inject nothing.

    Making a client costs tens of milliseconds (an EC2 client defines a method per API operation) and an audit makes
    eight; clients are reusable, and moto resets the account itself for every test. A test that hooks calls gets a
    session of its own (``Built.session``), so its hooks end with it.
    """

    def __init__(self) -> None:
        super().__init__(botocore_session=_core_session())
        self._clients: dict[tuple[Any, ...], Any] = {}

    def client(self, service_name: str, region_name: str | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        key = (service_name, region_name, *sorted((name, id(value)) for name, value in kwargs.items()))
        if key not in self._clients:
            self._clients[key] = super().client(service_name, region_name=region_name, **kwargs)
        return self._clients[key]


_REUSED: ReusedClients | None = None


def reused_clients() -> ReusedClients:
    """The shared session, made on first use (inside a test, so with the test's dummy credentials)."""
    global _REUSED
    if _REUSED is None:
        _REUSED = ReusedClients()
    return _REUSED


_DOUBLED = (EVENTS, STACKS, WORKSPACE_KEYS, RUNNING_TASKS)


@contextmanager
def moto_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(moto.kms.models, "generate_private_key", _cached_private_key)
    for doubled in _DOUBLED:
        doubled.clear()
    with mock_aws():
        yield


@dataclass(frozen=True)
class Snapshot:
    """Everything an account built in moto holds: moto's backends of every service in use and the doubled answers."""

    backends: list[tuple[BackendDict, dict[str, Any]]]
    doubled: list[dict[str, Any]]


def _copy(value: Any, registries: list[BackendDict]) -> Any:
    # One deep copy for all services: a backend that holds another (elbv2 its EC2) keeps holding the copy the
    # registry serves; moto's registries themselves are shared, not copied.
    return copy.deepcopy(value, {id(registry): registry for registry in registries})


def take_snapshot() -> Snapshot:
    """The moto account as it is now (copied: changes after this do not reach the snapshot)."""
    registries = list(BackendDict._instances)
    backends, doubled = _copy(([dict(dict.items(registry)) for registry in registries], list(_DOUBLED)), registries)
    return Snapshot(list(zip(registries, backends)), doubled)


def restore(snapshot: Snapshot) -> None:
    """Make the fresh moto account of ``moto_account`` the snapshot's (a copy, so the snapshot serves again)."""
    registries = [registry for registry, _ in snapshot.backends]
    backends, doubled = _copy(([accounts for _, accounts in snapshot.backends], snapshot.doubled), registries)
    for registry, accounts in zip(registries, backends):
        for account_id, account in accounts.items():
            dict.__setitem__(registry, account_id, account)
        if registry not in BackendDict._instances:
            BackendDict._instances.append(registry)
    for target, saved in zip(_DOUBLED, doubled):
        target.clear()
        target.update(saved)


# --- a compliant account ----------------------------------------------------------------------------------------


@dataclass
class Built:
    """A compliant account in moto and the outputs a stack would print for it."""

    outputs: dict[str, Any]
    _session: boto3.Session | None = None

    @property
    def session(self) -> boto3.Session:
        """The session this account's audit runs with, its own from the first time a test asks (to hook its calls)."""
        if self._session is None:
            self._session = new_session()
        return self._session

    def client(self, service: str) -> Any:
        """An unguarded client for setting up and breaking the account (the audit makes its own)."""
        return reused_clients().client(service, region_name=REGION)

    def audit(self) -> AuditReport:
        return run_audit(self.outputs, self._session or reused_clients())


def run_check(built: Built, check_id: str, region: str = REGION) -> CheckResult:
    """One check of the audit (by id), as an audit of a stack in ``region`` would run it, without the others."""
    [check] = [check for check in ALL_CHECKS if check.check_id == check_id]
    aws = ReadOnlyAws(built._session or reused_clients(), region)
    [result] = run_checks(AuditContext(parse_outputs(built.outputs), aws), [check])
    return result


def _key(kms: Any, rotate: bool = True) -> str:
    arn = kms.create_key(Description="audit test key")["KeyMetadata"]["Arn"]
    if rotate:
        kms.enable_key_rotation(KeyId=arn)
    return arn


def _vpc(ec2: Any, cidr: str, zones: str) -> tuple[str, list[str]]:
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    base = cidr.rsplit(".", 2)[0]  # "10.42" of "10.42.0.0/16"
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"{base}.{16 * i}.0/20", AvailabilityZone=f"{REGION}{zone}")[
            "Subnet"
        ]["SubnetId"]
        for i, zone in enumerate(zones)
    ]
    return vpc_id, subnets


def _sg(ec2: Any, vpc_id: str, name: str) -> str:
    return ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc_id)["GroupId"]


def allow_from_group(ec2: Any, sg_id: str, source_sg: str, port: int) -> None:
    ec2.authorize_security_group_ingress(GroupId=sg_id, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": source_sg}],
    }])


def allow_from_cidr(ec2: Any, sg_id: str, cidr: str, port: int) -> None:
    ranges = {"Ipv6Ranges": [{"CidrIpv6": cidr}]} if ":" in cidr else {"IpRanges": [{"CidrIp": cidr}]}
    ec2.authorize_security_group_ingress(
        GroupId=sg_id, IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, **ranges}]
    )


def point_apex(built: Built, endpoint: dict[str, Any], zone_id: str | None = None) -> None:
    """UPSERT the ClickHouse zone's apex alias to an endpoint's first DNS entry, as the program does."""
    entry = endpoint["DnsEntries"][0]
    built.client("route53").change_resource_record_sets(
        HostedZoneId=zone_id or built.outputs["private_dns_zone_id"],
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": built.outputs["private_dns_hostname"], "Type": "A",
            "AliasTarget": {"HostedZoneId": entry["HostedZoneId"], "DNSName": entry["DnsName"],
                            "EvaluateTargetHealth": False},
        }}]},
    )


def clickhouse_endpoint(built: Built, *, service_name: str = ENDPOINT_SERVICE, private_dns: bool = False,
                        security_groups: list[str] | None = None) -> dict[str, Any]:
    """(Re)create the ClickHouse interface endpoint, repoint the apex alias and the outputs at it."""
    out = built.outputs
    endpoint = built.client("ec2").create_vpc_endpoint(
        VpcId=out["vpc_id"], ServiceName=service_name, VpcEndpointType="Interface", SubnetIds=out["subnet_ids"],
        SecurityGroupIds=security_groups or [out["endpoint_security_group_id"]], PrivateDnsEnabled=private_dns,
    )["VpcEndpoint"]
    out.update(vpc_endpoint_id=endpoint["VpcEndpointId"], vpc_endpoint_service_name=service_name)
    point_apex(built, endpoint)
    return endpoint


def private_zone(built: Built, name: str, vpc_id: str, region: str = REGION) -> str:
    return built.client("route53").create_hosted_zone(
        Name=name, CallerReference=f"{name}-{vpc_id}-{region}", VPC={"VPCRegion": region, "VPCId": vpc_id},
        HostedZoneConfig={"PrivateZone": True, "Comment": "audit test"},
    )["HostedZone"]["Id"].rsplit("/", 1)[-1]


def flow_log(built: Built, vpc_id: str) -> None:
    group = f"/vpc/flow-logs/{vpc_id}"
    built.client("logs").create_log_group(logGroupName=group)
    built.client("ec2").create_flow_logs(
        ResourceIds=[vpc_id], ResourceType="VPC", TrafficType="ALL", LogGroupName=group,
        DeliverLogsPermissionArn=f"arn:aws:iam::{ACCOUNT}:role/vpc-flow-logs",
    )


def tls_only(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]})


def build_privatelink(*, stack: str, cidr: str, zones: str, customer_key: bool) -> Built:
    built = Built({})
    ec2, kms = built.client("ec2"), built.client("kms")
    vpc_id, subnets = _vpc(ec2, cidr, zones)
    client_sg, endpoint_sg = _sg(ec2, vpc_id, "clickhouse-client"), _sg(ec2, vpc_id, "clickhouse-endpoint")
    for port in (443, 8443, 9440):
        allow_from_group(ec2, endpoint_sg, client_sg, port)
    flow_log(built, vpc_id)
    key_arn = _key(kms) if customer_key else None
    secret_arn = built.client("secretsmanager").create_secret(
        Name=f"clickhouse-aws/{stack}/clickhouse/default", SecretString=json.dumps({"username": "default"}),
        **({"KmsKeyId": key_arn} if key_arn else {}),
    )["ARN"]
    built.outputs.update({
        "aws_region": REGION,
        "clickhouse_url": f"https://{HOSTNAME}:8443",
        "clickhouse_user": "default",
        "clickhouse_password_secret_arn": secret_arn,
        **({"clickhouse_password_kms_key_id": key_arn} if key_arn else {}),
        "client_security_group_id": client_sg,
        "endpoint_security_group_id": endpoint_sg,
        "private_dns_hostname": HOSTNAME,
        "service_id": "6f1d2c3b-4a5e-4f60-8a9b-0c1d2e3f4a5b",
        "vpc_id": vpc_id,
        "subnet_ids": subnets,
        "alarm_topic_arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:clickhouse-aws-{stack}-alarms",
        "alarm_names": [],
        "dashboard_name": f"clickhouse-aws-{stack}",
    })
    built.outputs["private_dns_zone_id"] = private_zone(built, HOSTNAME, vpc_id)
    clickhouse_endpoint(built)
    add_observability(built)
    return built


def alarm(built: Built, key: str, *, treat_missing_data: str = "notBreaching", actions: list[str] | None = None) -> str:
    """(Re)create the stack's alarm ``<prefix>-<key>``, notifying the alarm topic like the program's, and name it in
    the outputs."""
    name = f"{built.outputs['dashboard_name']}-{key}"
    built.outputs["alarm_names"] = sorted({*built.outputs["alarm_names"], name})
    topic = built.outputs["alarm_topic_arn"]
    built.client("cloudwatch").put_metric_alarm(
        AlarmName=name, Namespace="AWS/PrivateLinkEndpoints", MetricName="PacketsDropped", Statistic="Sum",
        Period=300, EvaluationPeriods=3, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData=treat_missing_data, AlarmActions=[topic] if actions is None else actions, OKActions=[topic],
    )
    return name


def add_observability(built: Built) -> None:
    """The KMS-encrypted alarm topic the outputs name, the endpoint's alarms and the dashboard."""
    out = built.outputs
    built.client("sns").create_topic(Name=out["alarm_topic_arn"].rsplit(":", 1)[-1],
                                     Attributes={"KmsMasterKeyId": _key(built.client("kms"))})
    for key in ("endpoint-packets-dropped", "endpoint-resets"):
        alarm(built, key)
    built.client("cloudwatch").put_dashboard(DashboardName=out["dashboard_name"], DashboardBody='{"widgets": []}')


def trust(statement: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]})


MANAGEMENT_TRUST = {
    "Principal": {"AWS": f"arn:aws:iam::{CLICKHOUSE_ACCOUNT}:root"}, "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"sts:ExternalId": "shared-out-of-band"}},
}


def add_byoc(built: Built, interface_services: tuple[str, ...] = BYOC_INTERFACE_SERVICES) -> None:
    """The BYOC prerequisites in the stack's VPC, compliant, and the `byoc` output describing them.

    ``interface_services`` is the stack's byocInterfaceEndpoints: one interface endpoint each.
    """
    out = built.outputs
    ec2, kms, iam, s3, logs = (built.client(s) for s in ("ec2", "kms", "iam", "s3", "logs"))
    vpc_id = out["vpc_id"]
    route_tables = [rt["RouteTableId"] for rt in ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]]
    groups = {name: _sg(ec2, vpc_id, f"byoc-{name}") for name in ("nodes", "pods", "nlb", "endpoints")}
    allow_from_group(ec2, groups["pods"], groups["pods"], 9009)
    allow_from_group(ec2, groups["nlb"], groups["nodes"], 8123)
    allow_from_cidr(ec2, groups["endpoints"], "10.42.0.0/16", 443)
    s3_endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc_id, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway", RouteTableIds=route_tables,
    )["VpcEndpoint"]["VpcEndpointId"]
    interface = {
        name: ec2.create_vpc_endpoint(
            VpcId=vpc_id, ServiceName=f"com.amazonaws.{REGION}.{name}", VpcEndpointType="Interface",
            SubnetIds=out["subnet_ids"], SecurityGroupIds=[groups["endpoints"]], PrivateDnsEnabled=True,
        )["VpcEndpoint"]["VpcEndpointId"]
        for name in interface_services
    }
    keys = {name: _key(kms) for name in ("ebs", "s3", "eks_secrets")}
    roles = {
        "eks_node": iam.create_role(RoleName="byoc-eks-node", AssumeRolePolicyDocument=trust(
            {"Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}))["Role"]["Arn"],
        "management": iam.create_role(
            RoleName="ClickHouseManagementRole", AssumeRolePolicyDocument=trust(MANAGEMENT_TRUST))["Role"]["Arn"],
        "pods": iam.create_role(RoleName="byoc-irsa", Path="/clickhouse/", AssumeRolePolicyDocument=trust({
            "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC_ISSUER}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{OIDC_ISSUER}:sub": "system:serviceaccount:ns-1:clickhouse",
                                           f"{OIDC_ISSUER}:aud": "sts.amazonaws.com"}},
        }))["Role"]["Arn"],
    }
    buckets = {}
    for purpose in ("backups", "logs"):
        name = f"clickhouse-byoc-{purpose}-{ACCOUNT}"
        s3.create_bucket(Bucket=name)
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": keys["s3"]},
            "BucketKeyEnabled": True}]})
        s3.put_bucket_policy(Bucket=name, Policy=tls_only(name))
        buckets[purpose] = {"name": name, "arn": f"arn:aws:s3:::{name}"}
    s3.put_bucket_versioning(Bucket=buckets["backups"]["name"], VersioningConfiguration={"Status": "Enabled"})
    log_groups = {"query": "/aws/clickhouse/query-logs", "error": "/aws/clickhouse/error-logs",
                  "eks_cluster": "/aws/eks/clickhouse-byoc/cluster"}
    for purpose, name in log_groups.items():
        logs.create_log_group(logGroupName=name, kmsKeyId=keys["ebs"])
        logs.put_retention_policy(logGroupName=name, retentionInDays=30 if purpose == "query" else 90)
    domain = "prod.byoc.internal"
    out["byoc"] = {
        "region": REGION,
        "account_id": ACCOUNT,
        "vpc_id": vpc_id,
        "vpc_cidr": "10.42.0.0/16",
        # This account has no gateways: egress none (acknowledged), so the audit also proves there is no way out.
        "egress": "none",
        "subnet_ids": out["subnet_ids"],
        "availability_zones": [f"{REGION}{zone}" for zone in "abc"],
        "route_table_ids": route_tables,
        "s3_gateway_endpoint_id": s3_endpoint,
        "interface_endpoint_ids": interface,
        "security_group_ids": groups,
        "role_arns": roles,
        "pod_access": "irsa",
        "management_role_name": "ClickHouseManagementRole",
        # The role is made directly in this account, as a security team running ClickHouse's template would.
        "bootstrap_mode": "existing",
        "kms_key_arns": keys,
        "buckets": buckets,
        "log_group_names": log_groups,
        "sns_topic_arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:clickhouse-byoc-alarms",
        "hosted_zone_id": private_zone(built, domain, vpc_id),
        "domain": domain,
        "clickhouse_record_name": f"clickhouse.{domain}",
    }


def add_trail(built: Built) -> None:
    s3, cloudtrail = built.client("s3"), built.client("cloudtrail")
    s3.create_bucket(Bucket=f"cloudtrail-{ACCOUNT}")
    cloudtrail.create_trail(Name="organization", S3BucketName=f"cloudtrail-{ACCOUNT}", IsMultiRegionTrail=True)
    cloudtrail.start_logging(Name="organization")
    record_event(REGION, "ec2.amazonaws.com", "DescribeInstances")
    record_event(GLOBAL_REGION, "iam.amazonaws.com", "CreateRole")


def add_clickhouse_built(built: Built) -> None:
    """What ClickHouse builds after onboarding, compliant: EKS, a node, the internal NLB, its buckets and a group."""
    byoc = built.outputs["byoc"]
    ec2, s3 = built.client("ec2"), built.client("s3")
    built.client("eks").create_cluster(
        name=CLUSTER, roleArn=f"arn:aws:iam::{ACCOUNT}:role/clickhouse-k8s-control-plane",
        resourcesVpcConfig={"subnetIds": byoc["subnet_ids"], "endpointPublicAccess": False,
                            "endpointPrivateAccess": True},
        encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": byoc["kms_key_arns"]["eks_secrets"]}}],
    )
    node_group = _sg(ec2, byoc["vpc_id"], f"{CLUSTER}-nodes")
    allow_from_cidr(ec2, node_group, byoc["vpc_cidr"], 8443)
    ec2.run_instances(
        ImageId="ami-0abcdef1234567890", MinCount=1, MaxCount=1, SubnetId=byoc["subnet_ids"][0],
        SecurityGroupIds=[node_group], MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "Encrypted": True}}],
    )
    built.client("elbv2").create_load_balancer(
        Name="clickhouse-nlb", Subnets=byoc["subnet_ids"], Scheme="internal", Type="network",
    )
    for name in CLICKHOUSE_BUCKETS:
        s3.create_bucket(Bucket=name)
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            flag: True for flag in PUBLIC_ACCESS_BLOCK_FLAGS})
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})


def build_clickhouse_built() -> Built:
    """Only what ClickHouse builds, a trail and history, in a BYOC VPC the prod sample's outputs point at: enough for
    the checks of ``built.py`` and ``trail.py``, which read nothing else the stack creates (and a fraction of the
    cost of ``build_prod``)."""
    outputs = sample("prod")
    built = Built(outputs)
    vpc_id, subnets = _vpc(built.client("ec2"), outputs["byoc"]["vpc_cidr"], "abc")
    outputs.update(vpc_id=vpc_id, subnet_ids=subnets)
    outputs["byoc"].update(vpc_id=vpc_id, subnet_ids=subnets, account_id=ACCOUNT)
    add_trail(built)
    add_clickhouse_built(built)
    return built


def build_prod(interface_services: tuple[str, ...] = BYOC_INTERFACE_SERVICES) -> Built:
    """PrivateLink with a customer key for the secret, plus BYOC in the same VPC (the prod stack's shape), after
    ClickHouse has built its side (the outputs carry the NLB's record)."""
    built = build_privatelink(stack="prod", cidr="10.42.0.0/16", zones="abc", customer_key=True)
    add_byoc(built, interface_services)
    add_trail(built)
    add_clickhouse_built(built)
    return built


def bootstrap_stack(built: Built, **changes: Any) -> str:
    """ClickHouse's bootstrap stack as DescribeStacks shows it once created (ExternalId masked by NoEcho)."""
    name = f"{built.outputs['dashboard_name']}-clickhouse-byoc-bootstrap"
    STACKS[name] = {
        "StackName": name, "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/0a1b2c3d",
        "CreationTime": "2026-11-30T10:00:00Z", "StackStatus": "CREATE_COMPLETE",
        "Parameters": [{"ParameterKey": "ExternalId", "ParameterValue": "****"},
                       {"ParameterKey": "IncludeVPCWritePermissions", "ParameterValue": "false"},
                       {"ParameterKey": "IncludeIAMWritePermissions", "ParameterValue": "false"}],
        "Capabilities": ["CAPABILITY_NAMED_IAM"], "DriftInformation": {"StackDriftStatus": "IN_SYNC"},
        **changes,
    }
    built.outputs["byoc"].update(bootstrap_mode="cloudformation", bootstrap_stack_name=name)
    return name


def agent_task_definition(built: Built, environment: list[dict[str, str]] | None = None) -> str:
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:clickhouse-aws/metrics/clickhouse-api-key-AbCdEf"
    return built.client("ecs").register_task_definition(
        family=f"{built.outputs['dashboard_name']}-metrics-agent", networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{
            "name": "prometheus-agent", "image": "docker.io/prom/prometheus:v3.5.0",
            "environment": environment if environment is not None else [{"name": "PROMETHEUS_CONFIG", "value": "{}"}],
            "secrets": [{"name": "CLICKHOUSE_API_KEY_ID", "valueFrom": f"{secret}:key_id::"},
                        {"name": "CLICKHOUSE_API_KEY_SECRET", "valueFrom": f"{secret}:key_secret::"}],
        }],
    )["taskDefinition"]["taskDefinitionArn"]


def agent_service(built: Built, *, task_definition: str | None = None, public_ip: bool = False) -> None:
    """(Re)create the metrics agent's service with one desired task, running."""
    out, ecs = built.outputs, built.client("ecs")
    cluster = f"{out['dashboard_name']}-metrics"
    if any(s["status"] == "ACTIVE" for s in ecs.describe_services(cluster=cluster, services=["prometheus-agent"])["services"]):
        ecs.delete_service(cluster=cluster, service="prometheus-agent", force=True)
    group = _sg(built.client("ec2"), out["vpc_id"], f"metrics-agent-{len(RUNNING_TASKS)}-{public_ip}")
    out["metrics_agent_service_arn"] = ecs.create_service(
        cluster=cluster, serviceName="prometheus-agent", taskDefinition=task_definition or agent_task_definition(built),
        desiredCount=1, launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
            "subnets": out["subnet_ids"], "securityGroups": [group],
            "assignPublicIp": "ENABLED" if public_ip else "DISABLED"}},
    )["service"]["serviceArn"]
    RUNNING_TASKS["prometheus-agent"] = 1


def add_metrics(built: Built) -> None:
    """metricsEnabled: the workspace under a customer key, the agent's service running, its alarm."""
    out = built.outputs
    key = _key(built.client("kms"))
    workspace = built.client("amp").create_workspace(alias=f"{out['dashboard_name']}-clickhouse", kmsKeyArn=key)
    WORKSPACE_KEYS[workspace["workspaceId"]] = key
    out["metrics_workspace_id"] = workspace["workspaceId"]
    out["metrics_prometheus_endpoint"] = (f"https://aps-workspaces.{REGION}.amazonaws.com/workspaces/"
                                          f"{workspace['workspaceId']}/")
    built.client("ecs").create_cluster(clusterName=f"{out['dashboard_name']}-metrics")
    agent_service(built)
    alarm(built, "metrics-agent-down", treat_missing_data="breaching")


def build_byoc() -> Built:
    """The prod shape as the byoc stack runs it: ClickHouse's bootstrap deployed by CloudFormation, metrics on."""
    built = build_prod()
    bootstrap_stack(built)
    add_metrics(built)
    return built


def build_dev() -> Built:
    """PrivateLink only, secret under the AWS managed key (the dev stack's shape)."""
    return build_privatelink(stack="dev", cidr="10.41.0.0/16", zones="ab", customer_key=False)


# --- event-hook helpers for what moto cannot produce --------------------------------------------------------------


def patch_response(session: boto3.Session, event: str, mutate: Callable[[dict[str, Any]], None]) -> None:
    """Edit the parsed response of one operation (``event`` like ``ec2.DescribeVpcEndpoints``) after moto answered."""
    session.events.register(f"after-call.{event}", lambda parsed, **_: mutate(parsed))


def fail_call(session: boto3.Session, event: str, code: str, message: str, status: int = 400) -> None:
    """Answer one operation with an AWS error instead of calling moto (same path botocore takes for a real error)."""
    def respond(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return _answer({"Error": {"Code": code, "Message": message}}, status)
    session.events.register(f"before-call.{event}", respond)


def record_operations(session: boto3.Session) -> list[tuple[str, str]]:
    """(IAM service prefix, API operation) of every call made through clients of ``session`` from now on."""
    seen: list[tuple[str, str]] = []
    session.events.register(
        "before-call", lambda model, **_: seen.append((model.service_model.signing_name, model.name))
    )
    return seen


def policies(report: AuditReport) -> set[str]:
    return {finding.policy for _, finding in report.findings}


@dataclass(frozen=True)
class CleanRun:
    """One audit of a compliant account, with every operation it made."""

    outputs: dict[str, Any]
    report: AuditReport
    operations: list[tuple[str, str]]
