"""Live audit (scripts/audit.py) against moto: a compliant account, the CLI, exit-2 paths, the read-only guard and the
IAM policy document. Builders and fixtures here are shared with tests/test_audit_checks.py (one break per check).

Moto models nearly everything the audit reads (endpoint DNS entries, private DNS flag, Route53 aliases and VPC
associations, secret deletion, key rotation, public access blocks, log group KMS/retention). Where it does not (an
endpoint that is not `available`, the `ServiceRegion` of a cross-region endpoint, throttling and access denial), tests
edit or replace that single call's response through a botocore event hook (see `patch_response`, `fail_call`).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import botocore.loaders
import botocore.session
import moto.kms.models
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from scripts.audit import AuditReport, main, run_audit
from scripts.audit_aws import FORBIDDEN_OPERATIONS, ReadOnlyAws, ReadOnlyViolation, iam_action, is_read_only
from scripts.audit_model import AuditError, CheckStatus, parse_outputs

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
POLICY_DOC = REPO / "docs" / "audit-iam-policy.json"

REGION = "us-east-1"
ACCOUNT = DEFAULT_ACCOUNT_ID
CLICKHOUSE_ACCOUNT = "999988887777"  # ClickHouse's AWS account, trusted by the BYOC management role
ENDPOINT_SERVICE = f"com.amazonaws.vpce.{REGION}.vpce-svc-0a1b2c3d4e5f60718"
HOSTNAME = f"h4k2q9x7zt.{REGION}.vpce.aws.clickhouse.cloud"
OIDC_ISSUER = f"oidc.eks.{REGION}.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
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


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    set_aws_env(monkeypatch, tmp_path)


# Speed only, behaviour is unchanged: every boto3.Session() re-parses botocore's JSON service models, and moto makes
# a 2048-bit RSA key for every KMS key it creates (the audit never touches key material).
_LOADER = botocore.loaders.create_loader()
_cached_private_key = functools.lru_cache(maxsize=None)(moto.kms.models.generate_private_key)


def new_session() -> boto3.Session:
    """A fresh boto3 session (own event handlers) that reuses the already parsed service models."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return boto3.Session(botocore_session=core)


@contextmanager
def moto_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(moto.kms.models, "generate_private_key", _cached_private_key)
    with mock_aws():
        yield


@pytest.fixture
def mocked(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with moto_account(monkeypatch):
        yield


@pytest.fixture
def cli_uses(monkeypatch: pytest.MonkeyPatch) -> Callable[[boto3.Session], None]:
    """Make the CLI's own ``boto3.Session()`` the given session (fast, and it can carry injected failures)."""
    return lambda session: monkeypatch.setattr(boto3, "Session", lambda: session)


# --- a compliant account ----------------------------------------------------------------------------------------


@dataclass
class Built:
    """A compliant account in moto and the outputs a stack would print for it."""

    session: boto3.Session
    outputs: dict[str, Any]
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """An unguarded client for setting up and breaking the account (the audit makes its own)."""
        if service not in self.clients:
            self.clients[service] = self.session.client(service, region_name=REGION)
        return self.clients[service]

    def audit(self) -> AuditReport:
        return run_audit(self.outputs, self.session)


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


def build_privatelink(session: boto3.Session, *, stack: str, cidr: str, zones: str, customer_key: bool) -> Built:
    built = Built(session, {})
    ec2, kms = built.client("ec2"), built.client("kms")
    vpc_id, subnets = _vpc(ec2, cidr, zones)
    client_sg, endpoint_sg = _sg(ec2, vpc_id, "clickhouse-client"), _sg(ec2, vpc_id, "clickhouse-endpoint")
    for port in (8443, 9440):
        allow_from_group(ec2, endpoint_sg, client_sg, port)
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
    })
    built.outputs["private_dns_zone_id"] = private_zone(built, HOSTNAME, vpc_id)
    clickhouse_endpoint(built)
    return built


def trust(statement: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]})


MANAGEMENT_TRUST = {
    "Principal": {"AWS": f"arn:aws:iam::{CLICKHOUSE_ACCOUNT}:root"}, "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"sts:ExternalId": "shared-out-of-band"}},
}


def add_byoc(built: Built) -> None:
    """The BYOC prerequisites in the stack's VPC, compliant, and the `byoc` output describing them."""
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
        for name in BYOC_INTERFACE_SERVICES
    }
    keys = {name: _key(kms) for name in ("ebs", "s3", "eks_secrets")}
    roles = {
        "eks_node": iam.create_role(RoleName="byoc-eks-node", AssumeRolePolicyDocument=trust(
            {"Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}))["Role"]["Arn"],
        "management": iam.create_role(
            RoleName="ClickHouseManagementRole", AssumeRolePolicyDocument=trust(MANAGEMENT_TRUST))["Role"]["Arn"],
        "irsa": iam.create_role(RoleName="byoc-irsa", Path="/clickhouse/", AssumeRolePolicyDocument=trust({
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
        "subnet_ids": out["subnet_ids"],
        "availability_zones": [f"{REGION}{zone}" for zone in "abc"],
        "route_table_ids": route_tables,
        "s3_gateway_endpoint_id": s3_endpoint,
        "interface_endpoint_ids": interface,
        "security_group_ids": groups,
        "role_arns": roles,
        "management_role_name": "ClickHouseManagementRole",
        "kms_key_arns": keys,
        "buckets": buckets,
        "log_group_names": log_groups,
        "sns_topic_arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:clickhouse-byoc-alarms",
        "hosted_zone_id": private_zone(built, domain, vpc_id),
        "domain": domain,
        "clickhouse_record_name": f"clickhouse.{domain}",
    }


def build_prod() -> Built:
    """PrivateLink with a customer key for the secret, plus BYOC in the same VPC (the prod stack's shape)."""
    built = build_privatelink(new_session(), stack="prod", cidr="10.42.0.0/16", zones="abc", customer_key=True)
    add_byoc(built)
    return built


def build_dev() -> Built:
    """PrivateLink only, secret under the AWS managed key (the dev stack's shape)."""
    return build_privatelink(new_session(), stack="dev", cidr="10.41.0.0/16", zones="ab", customer_key=False)


@pytest.fixture
def prod(mocked: None) -> Built:
    return build_prod()


@pytest.fixture
def dev(mocked: None) -> Built:
    return build_dev()


# --- event-hook helpers for what moto cannot produce --------------------------------------------------------------


def patch_response(session: boto3.Session, event: str, mutate: Callable[[dict[str, Any]], None]) -> None:
    """Edit the parsed response of one operation (``event`` like ``ec2.DescribeVpcEndpoints``) after moto answered."""
    session.events.register(f"after-call.{event}", lambda parsed, **_: mutate(parsed))


def fail_call(session: boto3.Session, event: str, code: str, message: str, status: int = 400) -> None:
    """Answer one operation with an AWS error instead of calling moto (same path botocore takes for a real error)."""
    def respond(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://aws.invalid", status, {}, None), {
            "Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status},
        }
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


# --- clean runs -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanRun:
    outputs: dict[str, Any]
    report: AuditReport
    operations: list[tuple[str, str]]


@pytest.fixture(scope="module")
def clean() -> Iterator[dict[str, CleanRun]]:
    """One audit of each compliant account shape, with every operation it made (shared: these runs only read)."""
    runs = {}
    with pytest.MonkeyPatch.context() as monkeypatch, tempfile.TemporaryDirectory() as tmp:
        set_aws_env(monkeypatch, Path(tmp))
        with moto_account(monkeypatch):
            for name, build in (("prod", build_prod), ("dev", build_dev)):
                built = build()
                operations = record_operations(built.session)
                runs[name] = CleanRun(built.outputs, built.audit(), operations)
    yield runs


def test_clean_prod_account_passes_every_check(clean: dict[str, CleanRun]) -> None:
    report = clean["prod"].report
    assert report.findings == []
    assert report.exit_code == 0
    assert {c.status for c in report.checks} == {CheckStatus.PASS}
    assert (report.account_id, report.region) == (ACCOUNT, REGION)
    assert len(report.checks) == 13


def test_clean_dev_account_skips_byoc_and_key_checks_with_reasons(clean: dict[str, CleanRun]) -> None:
    report = clean["dev"].report
    assert report.exit_code == 0
    skipped = {c.check_id: c.skip_reason for c in report.checks if c.status is CheckStatus.SKIP}
    assert set(skipped) == {"kms-keys", "byoc-internet-path", "byoc-endpoints", "byoc-buckets", "byoc-role-trust",
                            "byoc-log-groups", "byoc-zone"}
    assert all(skipped.values())
    [line] = [line for line in report.render().splitlines() if line.split()[:2] == ["SKIP", "byoc-zone"]]
    assert line.endswith("(the stack has no byoc output (BYOC is not enabled))")
    assert {c.check_id for c in report.checks if c.status is CheckStatus.PASS} == {
        "outputs-region", "clickhouse-endpoint", "endpoint-sg-ingress", "sg-no-public-ingress", "private-zone",
        "password-secret"}


def test_generated_outputs_have_the_contract_shape_of_the_samples(clean: dict[str, CleanRun]) -> None:
    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: shape(child) for key, child in value.items()}
        return type(value).__name__

    for stack in ("prod", "dev"):
        assert shape(clean[stack].outputs) == shape(sample(stack))


def test_samples_parse_and_name_one_account_and_region() -> None:
    prod, dev = parse_outputs(sample("prod")), parse_outputs(sample("dev"))
    assert prod.byoc is not None and prod.byoc.role_arns.keys() == {"eks_node", "management", "irsa"}
    assert prod.password_kms_key_id is not None
    assert dev.byoc is None and dev.password_kms_key_id is None
    for stack in (prod, dev):
        assert len(stack.expected_account_ids()) == 1
        assert {arn.region for arn in stack.arns()} <= {"", stack.aws_region}


def test_clean_runs_make_only_read_calls_and_never_read_the_secret(clean: dict[str, CleanRun]) -> None:
    for run in clean.values():
        operations = {operation for _, operation in run.operations}
        assert {"DescribeSecret", "DescribeVpcEndpoints"} <= operations, "the recorder saw the audit's calls"
        assert all(is_read_only(operation) for operation in operations)
        assert not operations & FORBIDDEN_OPERATIONS


def test_iam_policy_document_lists_exactly_the_actions_the_audit_calls(clean: dict[str, CleanRun]) -> None:
    called = {iam_action(service, operation) for run in clean.values() for service, operation in run.operations}
    document = json.loads(POLICY_DOC.read_text())
    assert document["Version"] == "2012-10-17"
    statements = document["Statement"]
    assert all(s["Effect"] == "Allow" and s["Resource"] == "*" for s in statements)
    listed = [action for s in statements for action in s["Action"]]
    assert len(listed) == len(set(listed)), "no duplicates"
    assert set(listed) == called
    assert all("*" not in action for action in listed)


def test_iam_action_names_follow_the_service_authorization_reference() -> None:
    assert iam_action("s3", "GetPublicAccessBlock") == "s3:GetBucketPublicAccessBlock"
    assert iam_action("s3", "GetBucketEncryption") == "s3:GetEncryptionConfiguration"
    assert iam_action("s3", "GetBucketVersioning") == "s3:GetBucketVersioning"
    assert iam_action("logs", "DescribeLogGroups") == "logs:DescribeLogGroups"


# --- CLI --------------------------------------------------------------------------------------------------------


def write_outputs(tmp_path: Path, outputs: dict[str, Any]) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    return path


def test_cli_clean_run_prints_one_line_per_check_and_a_summary(
    prod: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--outputs", str(write_outputs(tmp_path, prod.outputs))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("PASS ") for line in lines) == 13
    assert lines[-1].startswith("Summary: CLEAN: 13 checks, 13 passed, 0 failed, 0 skipped; 0 findings")


def test_cli_findings_exit_1_in_human_and_json_form(
    prod: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str], cli_uses: Callable[[boto3.Session], None]
) -> None:
    cli_uses(prod.session)
    allow_from_cidr(prod.client("ec2"), prod.outputs["client_security_group_id"], "0.0.0.0/0", 22)
    path = write_outputs(tmp_path, prod.outputs)

    assert main(["--outputs", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  sg-no-public-ingress" in out
    assert f"[security-group-no-public-ingress] {prod.outputs['client_security_group_id']}" in out
    assert "Summary: FINDINGS: 13 checks, 12 passed, 1 failed, 0 skipped; 1 finding." in out

    assert main(["--outputs", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "findings" and report["exit_code"] == 1
    assert report["summary"] == {"checks": 13, "passed": 12, "failed": 1, "skipped": 0, "findings": 1}
    assert report["findings"] == [{
        "policy": "security-group-no-public-ingress",
        "resource_id": prod.outputs["client_security_group_id"],
        "message": "client security group admits tcp 22 from 0.0.0.0/0",
        "check": "sg-no-public-ingress",
    }]


# --- exit 2: the audit could not run ----------------------------------------------------------------------------


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_clean_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    assert "Traceback" not in err
    assert err.startswith("audit could not run: ")
    assert len(err.strip().splitlines()) == 1, "one paragraph"
    for needle in needles:
        assert needle in err


def test_missing_outputs_file(aws_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["--outputs", str(tmp_path / "nope.json")], capsys)
    assert_clean_error(code, err, "nope.json does not exist", "pulumi stack output --json")


@pytest.mark.parametrize("text, needle", [
    ('{"aws_region": "us-east-1",', "is not valid JSON"),
    ("[1, 2]", "the top level must be a JSON object"),
])
def test_malformed_outputs_file(
    aws_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, needle: str
) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(text)
    code, out, err = run_cli(["--outputs", str(path), "--json"], capsys)
    assert_clean_error(code, err, needle)
    assert json.loads(out) == {"status": "error", "exit_code": 2, "error": err.strip().removeprefix(
        "audit could not run: ")}


@pytest.mark.parametrize("path, needle", [
    (("vpc_endpoint_id",), "required output 'vpc_endpoint_id' is missing"),
    (("byoc", "kms_key_arns", "s3"), "required output 'byoc.kms_key_arns.s3' is missing"),
    (("byoc", "buckets", "backups"), "required output 'byoc.buckets.backups' is missing"),
])
def test_missing_required_output_key(
    aws_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], path: tuple[str, ...], needle: str
) -> None:
    outputs = sample("prod")
    node = outputs
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    code, _, err = run_cli(["--outputs", str(write_outputs(tmp_path, outputs))], capsys)
    assert_clean_error(code, err, needle)


def test_masked_output_is_explained(aws_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = {**sample("dev"), "vpc_endpoint_id": "[secret]"}
    code, _, err = run_cli(["--outputs", str(write_outputs(tmp_path, outputs))], capsys)
    assert_clean_error(code, err, "'vpc_endpoint_id' is masked", "--show-secrets")


def test_wrong_region(
    mocked: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], cli_uses: Callable[[boto3.Session], None]
) -> None:
    cli_uses(new_session())
    outputs = {**sample("dev"), "aws_region": "eu-west-1"}
    code, _, err = run_cli(["--outputs", str(write_outputs(tmp_path, outputs))], capsys)
    assert_clean_error(code, err, "configured for this run is us-east-1", "stack lives in eu-west-1",
                       "AWS_DEFAULT_REGION=eu-west-1")


def test_no_configured_region_uses_the_stacks(dev: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    report = run_audit(dev.outputs, new_session())
    assert (report.region, report.exit_code) == (REGION, 0)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_wrong_account(
    stack: str, mocked: None, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    cli_uses: Callable[[boto3.Session], None],
) -> None:
    """The samples live in 111122223333, moto's caller in 123456789012. dev: account from the ARNs; prod: from
    byoc.account_id and the ARNs."""
    cli_uses(new_session())
    code, _, err = run_cli(["--outputs", str(write_outputs(tmp_path, sample(stack)))], capsys)
    assert_clean_error(code, err, f"credentials belong to AWS account {ACCOUNT}", "stack lives in account 111122223333")


def test_outputs_naming_two_accounts(
    mocked: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], cli_uses: Callable[[boto3.Session], None]
) -> None:
    cli_uses(new_session())
    outputs = sample("prod")
    outputs["byoc"]["account_id"] = "210987654321"
    code, _, err = run_cli(["--outputs", str(write_outputs(tmp_path, outputs))], capsys)
    assert_clean_error(code, err, "more than one AWS account", "210987654321", "111122223333")


def test_no_credentials(aws_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var)
    code, _, err = run_cli(["--outputs", str(write_outputs(tmp_path, sample("dev")))], capsys)
    assert_clean_error(code, err, "No usable AWS credentials", "AWS_PROFILE")


@pytest.mark.parametrize("event, code, needles", [
    ("kms.GetKeyRotationStatus", "ThrottlingException", ("throttled kms:GetKeyRotationStatus", "AWS_RETRY_MODE")),
    ("secrets-manager.DescribeSecret", "AccessDeniedException",
     ("denied secretsmanager:DescribeSecret", "docs/audit-iam-policy.json")),
    ("s3.GetBucketEncryption", "AccessDenied", ("denied s3:GetEncryptionConfiguration",)),
    ("ec2.DescribeVpcEndpoints", "RequestLimitExceeded", ("throttled ec2:DescribeVpcEndpoints",)),
    ("sts.GetCallerIdentity", "ExpiredToken", ("rejected the credentials on sts:GetCallerIdentity",)),
])
def test_throttled_denied_or_rejected_call(
    prod: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str], cli_uses: Callable[[boto3.Session], None],
    event: str, code: str, needles: tuple[str, ...]
) -> None:
    fail_call(prod.session, event, code, "injected by the test")
    cli_uses(prod.session)
    exit_code, _, err = run_cli(["--outputs", str(write_outputs(tmp_path, prod.outputs))], capsys)
    assert_clean_error(exit_code, err, code, *needles)


def test_run_audit_raises_audit_error_for_the_stack_script(prod: Built) -> None:
    fail_call(prod.session, "iam.GetRole", "AccessDenied", "not allowed")
    with pytest.raises(AuditError, match="denied iam:GetRole"):
        prod.audit()


def test_module_entry_point_reports_without_traceback(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    result = subprocess.run(
        [sys.executable, "-m", "scripts.audit", "--outputs", str(tmp_path / "missing.json")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "missing.json does not exist" in result.stderr


# --- read-only guard --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation, allowed", [
    ("DescribeVpcEndpoints", True), ("GetKeyRotationStatus", True), ("ListResourceRecordSets", True),
    ("HeadBucket", True), ("GetSecretValue", False), ("CreateVpc", False), ("PutBucketVersioning", False),
    ("DeleteSecret", False), ("UpdateAssumeRolePolicy", False), ("AuthorizeSecurityGroupIngress", False),
    ("BatchGetSecretValue", False), ("RestoreSecret", False),
])
def test_is_read_only(operation: str, allowed: bool) -> None:
    assert is_read_only(operation) is allowed


def test_guarded_clients_refuse_writes_before_they_reach_aws(dev: Built) -> None:
    aws = ReadOnlyAws(dev.session, REGION)
    ec2 = aws.client("ec2")
    before = len(ec2.describe_vpcs()["Vpcs"])
    with pytest.raises(ReadOnlyViolation, match="refused to call ec2:CreateVpc"):
        ec2.create_vpc(CidrBlock="10.99.0.0/16")
    assert len(ec2.describe_vpcs()["Vpcs"]) == before
    with pytest.raises(ReadOnlyViolation, match="refused to call secretsmanager:GetSecretValue"):
        aws.client("secretsmanager").get_secret_value(SecretId=dev.outputs["clickhouse_password_secret_arn"])
    with pytest.raises(ReadOnlyViolation):
        aws.call("secretsmanager", "delete_secret", SecretId=dev.outputs["clickhouse_password_secret_arn"])
    assert "DeletedDate" not in dev.client("secretsmanager").describe_secret(
        SecretId=dev.outputs["clickhouse_password_secret_arn"])
