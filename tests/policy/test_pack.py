"""What the pack tells the CLI about itself (GetAnalyzerInfo), and how its config is reconciled and validated."""

from __future__ import annotations

import importlib.util
import json
import re
import sys

import pytest
import yaml
from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2

from scripts.offline.analyzer import LEVELS, PACK_DIR, SEVERITIES, Analyzer, PolicyConfigError, reconcile_config

RESOURCE, STACK = analyzer_pb2.POLICY_TYPE_RESOURCE, analyzer_pb2.POLICY_TYPE_STACK
EXPECTED = {
    # network_exposure
    "clickhouse-no-public-access": ("mandatory", RESOURCE), "security-group-no-public-ingress": ("mandatory", RESOURCE),
    "security-group-joined-no-public-ingress": ("mandatory", STACK),
    "load-balancer-internal-only": ("mandatory", RESOURCE), "eks-no-public-endpoint": ("mandatory", RESOURCE),
    "no-publicly-accessible-databases": ("mandatory", RESOURCE), "s3-bucket-public-access-block": ("mandatory", STACK),
    "route53-zone-private": ("mandatory", RESOURCE), "vpc-flow-logs-enabled": ("mandatory", STACK),
    # internet_paths
    "no-internet-gateway": ("mandatory", RESOURCE), "no-internet-route": ("mandatory", RESOURCE),
    "egress-only-through-nat": ("mandatory", STACK),
    "no-nat-gateway": ("mandatory", RESOURCE), "no-elastic-ip": ("mandatory", RESOURCE),
    "no-public-ip-address": ("mandatory", RESOURCE), "subnet-no-public-ip-on-launch": ("mandatory", RESOURCE),
    # resource_policies
    "s3-bucket-policy-no-public-principal": ("mandatory", RESOURCE),
    "kms-key-policy-no-public-principal": ("mandatory", RESOURCE),
    "resource-policy-no-public-principal": ("mandatory", RESOURCE),
    # region
    "resource-region-matches-stack": ("mandatory", RESOURCE), "vpc-endpoint-same-region": ("mandatory", RESOURCE),
    "route53-zone-vpc-same-region": ("mandatory", RESOURCE), "arn-inputs-same-region": ("mandatory", RESOURCE),
    "no-cross-region-peering": ("mandatory", RESOURCE), "s3-replication-same-region": ("mandatory", STACK),
    "clickhouse-region-matches-stack": ("mandatory", RESOURCE),
    # encryption
    "kms-key-rotation-enabled": ("mandatory", RESOURCE),
    "s3-bucket-sse-kms": ("mandatory", STACK), "s3-bucket-versioning": ("mandatory", STACK),
    "s3-log-bucket-versioning": ("advisory", STACK), "s3-bucket-tls-only": ("mandatory", STACK),
    "cloudwatch-log-group-kms": ("mandatory", RESOURCE), "cloudwatch-log-group-retention": ("mandatory", RESOURCE),
    # iam
    "iam-trust-no-wildcard-principal": ("mandatory", RESOURCE),
    "iam-cross-account-requires-external-id": ("mandatory", RESOURCE),
    "iam-oidc-trust-requires-sub-aud": ("mandatory", RESOURCE), "iam-no-admin-policy": ("mandatory", RESOURCE),
    # credentials
    "secret-customer-kms-key": ("advisory", RESOURCE), "no-plaintext-secrets": ("mandatory", STACK),
    # cloudformation
    "cloudformation-template-allowed": ("mandatory", RESOURCE),
    "cloudformation-external-id-secret": ("mandatory", RESOURCE),
    # containers
    "ecs-task-no-plaintext-secrets": ("mandatory", RESOURCE),
    # monitoring
    "sns-topic-kms": ("mandatory", RESOURCE), "amp-workspace-customer-kms-key": ("mandatory", RESOURCE),
    "sns-subscription-https-only": ("mandatory", RESOURCE),
}
REGION_POLICIES = [
    "resource-region-matches-stack", "vpc-endpoint-same-region", "route53-zone-vpc-same-region",
    "arn-inputs-same-region", "no-cross-region-peering", "s3-replication-same-region",
    "clickhouse-region-matches-stack",
]


@pytest.fixture(scope="module")
def info(analyzer: Analyzer) -> analyzer_pb2.AnalyzerInfo:
    return analyzer.info()


def schema(info: analyzer_pb2.AnalyzerInfo, name: str) -> dict:
    policy = next(p for p in info.policies if p.name == name)
    return json_format.MessageToDict(policy.configSchema.properties)


def test_every_policy_with_its_level_and_type(info: analyzer_pb2.AnalyzerInfo) -> None:
    assert info.name == "clickhouse-aws-policy" and info.supportsConfig
    assert {p.name: (LEVELS[p.enforcementLevel], p.policy_type) for p in info.policies} == EXPECTED


def test_every_policy_has_a_severity_and_a_one_line_description(info: analyzer_pb2.AnalyzerInfo) -> None:
    for policy in info.policies:
        assert SEVERITIES[policy.severity] in ("low", "medium", "high", "critical"), policy.name
        assert policy.description and "\n" not in policy.description, policy.name


def test_config_schemas(info: analyzer_pb2.AnalyzerInfo) -> None:
    for name in REGION_POLICIES:
        assert schema(info, name)["allowedRegions"]["type"] == "array", name
    assert schema(info, "clickhouse-no-public-access")["approvedCidrs"]["default"] == []
    assert schema(info, "cloudwatch-log-group-retention")["minimumRetentionDays"]["type"] == "integer"
    accounts = schema(info, "iam-cross-account-requires-external-id")["stackAccountIds"]
    assert accounts["items"]["pattern"] == "^[0-9]{12}$"


@pytest.mark.parametrize("stack,retention", [("dev", 14), ("prod", 30)])
def test_stack_configs_are_valid(info: analyzer_pb2.AnalyzerInfo, stack: str, retention: int) -> None:
    reconciled = reconcile_config(info, json.loads((PACK_DIR / f"config.{stack}.json").read_text()))
    assert reconciled["cloudwatch-log-group-retention"].properties == {"minimumRetentionDays": retention}
    assert all(reconciled[name].properties["allowedRegions"] == ["us-east-1"] for name in REGION_POLICIES)
    # Policies the file does not mention keep their defaults.
    assert reconciled["no-nat-gateway"].level == "mandatory"
    assert reconciled["secret-customer-kms-key"].level == ("mandatory" if stack == "prod" else "advisory")


def test_all_sets_every_level_and_a_policy_entry_wins(info: analyzer_pb2.AnalyzerInfo) -> None:
    reconciled = reconcile_config(info, {"all": "advisory", "no-nat-gateway": {"enforcementLevel": "disabled"}})
    assert reconciled["no-nat-gateway"].level == "disabled"
    assert {c.level for n, c in reconciled.items() if n != "no-nat-gateway"} == {"advisory"}


def test_the_config_the_pack_already_has_is_not_sent_again(pack, monkeypatch) -> None:
    analyzer, sent = pack.analyzer, []
    real_call = analyzer._call
    monkeypatch.setattr(analyzer, "_call", lambda method, request: (sent.append(method), real_call(method, request))[1])
    advisory = {"no-nat-gateway": "advisory"}
    nat = ("aws:ec2/natGateway:NatGateway", {"subnetId": "subnet-1", "connectivityType": "public"})

    def level() -> str:
        return pack.analyze(*nat, policy="no-nat-gateway")[0].level

    assert analyzer.configure(dict(advisory))["no-nat-gateway"].level == "advisory" and level() == "advisory"
    assert analyzer.configure(dict(advisory))["no-nat-gateway"].level == "advisory"  # same config: nothing sent
    assert sent.count("Configure") == 1
    analyzer.configure({})
    assert level() == "mandatory" and sent.count("Configure") == 2
    with pytest.raises(PolicyConfigError):
        analyzer.configure({"no-nat-gateway": "loud"})
    assert analyzer.configure({})["no-nat-gateway"].level == "mandatory" and sent.count("Configure") == 2


@pytest.mark.parametrize("config,text", [
    ({"no-such-policy": "advisory"}, "unknown policies: no-such-policy"),
    ({"no-nat-gateway": "loud"}, "not a valid enforcement level"),
    ({"cloudwatch-log-group-retention": {"minimumRetentionDays": "a year"}}, "is not of type 'integer'"),
    ({"resource-region-matches-stack": {"allowedRegions": ["Europe"]}}, "does not match"),
    ({"no-nat-gateway": 3}, "must be an enforcement level or an object"),
])
def test_invalid_config_is_rejected(info: analyzer_pb2.AnalyzerInfo, config: dict, text: str) -> None:
    with pytest.raises(PolicyConfigError, match=text):
        reconcile_config(info, config)


def test_manifest_and_entry_point() -> None:
    manifest = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python" and manifest["description"]
    # The CLI runs the pack in the project's virtualenv, the one Pulumi.yaml names and the Makefile fills.
    project = yaml.safe_load((PACK_DIR.parent / "Pulumi.yaml").read_text())
    pack_venv = (PACK_DIR / manifest["runtime"]["options"]["virtualenv"]).resolve()
    assert pack_venv == (PACK_DIR.parent / project["runtime"]["options"]["virtualenv"]).resolve()
    assert "pulumi-policy" in (PACK_DIR / "requirements.txt").read_text()
    main = (PACK_DIR / "__main__.py").read_text()
    assert "PolicyPack(" in main and "def " not in main and "report" not in main
    assert "import sys" not in main and "importlib" not in main


def test_nothing_in_the_pack_directory_shadows_another_module() -> None:
    """The CLI puts the pack directory first on sys.path, so every name there must be the pack's own."""
    importable = {p.stem for p in PACK_DIR.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    names = importable - {"__main__", "__init__"}
    assert names == {"clickhouse_aws_policy"}
    assert not names & set(sys.stdlib_module_names)
    assert all(importlib.util.find_spec(name) is None for name in names)


def test_every_policy_has_its_row_in_the_docs(info: analyzer_pb2.AnalyzerInfo) -> None:
    """docs/policy.md lists each policy once, with the level and kind the pack reports."""
    docs = (PACK_DIR.parent / "docs" / "policy.md").read_text()
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| ([MA])(, stack)? \|", docs, re.M)
    documented = {name: (level, bool(stack)) for name, level, stack in rows}
    assert len(documented) == len(rows)
    assert documented == {p.name: ("M" if LEVELS[p.enforcementLevel] == "mandatory" else "A", p.policy_type == STACK)
                          for p in info.policies}
