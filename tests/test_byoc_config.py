"""BYOC configuration: every bad input stops the program before any resource, naming the key and what is expected."""

from __future__ import annotations

import pytest
import yaml

import stack_config
from scripts.offline.engine import REPO, UNSET
from tests.byoc_support import ADOPTED, EXTERNAL_ID_PLACEHOLDER, NS, error_of, run

VALID_ISSUER_ID = "0123456789ABCDEF0123456789ABCDEF"


@pytest.mark.parametrize("overrides, key, expected", [
    # Network shape ClickHouse BYOC needs.
    ({"azCount": 2}, "azCount", "exactly 3 availability zones"),
    ({"subnetPrefixLength": 24}, "subnetPrefixLength", "smaller than the /23"),
    ({**ADOPTED, "subnetIds": ADOPTED["clickhouse-aws:subnetIds"][:2]}, "subnetIds", "needs exactly 3"),
    # Application CIDRs: inside the VPC or a reserved range, never straddling the VPC, never public.
    ({"byocApplicationCidrs": ["10.42.0.0/15"]}, "byocApplicationCidrs", "overlaps the VPC 10.42.0.0/16 without lying inside it"),
    ({"byocApplicationCidrs": ["10.60.0.0/20"]}, "byocApplicationCidrs", "outside every reservedCidrs range"),
    ({"byocApplicationCidrs": ["0.0.0.0/0"]}, "byocApplicationCidrs", "never 0.0.0.0/0"),
    ({"byocApplicationCidrs": ["10.42.0.1/24"]}, "byocApplicationCidrs", "not a valid IPv4 CIDR"),
    ({"reservedCidrs": ["10.42.128.0/17"]}, "vpcCidr", "overlaps reserved range 10.42.128.0/17"),
    # Cross-account trust.
    ({"byocExternalId": UNSET}, "byocExternalId", "pulumi config set --secret clickhouse-aws:byocExternalId"),
    ({"byocExternalId": {"secure": None}, "byocClickHouseAccountId": UNSET}, "byocClickHouseAccountId",
     "12-digit AWS account ID"),
    ({"byocClickHouseAccountId": "42692487492"}, "byocClickHouseAccountId", "12-digit"),
    ({"byocManagementRoleName": "ClickHouse Management Role"}, "byocManagementRoleName", "IAM role name"),
    # EKS OIDC issuer: the exact EKS form, in the stack's region.
    ({"byocOidcIssuerUrl": "https://oidc.eks.us-east-1.amazonaws.com/id/abc"}, "byocOidcIssuerUrl",
     "https://oidc.eks.us-east-1.amazonaws.com/id/<32 upper-case hex characters>"),
    ({"byocOidcIssuerUrl": f"http://oidc.eks.us-east-1.amazonaws.com/id/{VALID_ISSUER_ID}"}, "byocOidcIssuerUrl",
     "not an EKS OIDC issuer URL"),
    ({"byocOidcIssuerUrl": f"https://oidc.eks.eu-west-1.amazonaws.com/id/{VALID_ISSUER_ID}"}, "byocOidcIssuerUrl",
     "in eu-west-1 but the stack is in us-east-1"),
    # Retention values CloudWatch does not accept.
    ({"byocQueryLogRetentionDays": 45}, "byocQueryLogRetentionDays", "not a retention CloudWatch accepts"),
    ({"byocErrorLogRetentionDays": 100}, "byocErrorLogRetentionDays", "not a retention CloudWatch accepts"),
    ({"byocEksLogRetentionDays": 0}, "byocEksLogRetentionDays", "not a retention CloudWatch accepts"),
    ({"byocBackupRetentionDays": 0}, "byocBackupRetentionDays", "at least 1 day"),
    # Domain names.
    ({"byocInternalDomain": "Data_Prod.internal"}, "byocInternalDomain", "not a valid domain name"),
    ({"byocInternalDomain": "internal"}, "byocInternalDomain", "two or more lower-case labels"),
    ({"byocInternalDomain": "-bad.example.com"}, "byocInternalDomain", "not a valid domain name"),
    ({"byocInternalDomain": UNSET}, "byocInternalDomain", "is not set"),
    # NLB record inputs.
    ({"byocNlbDnsName": "clickhouse.example.com"}, "byocNlbDnsName", "<name>-<id>.elb.us-east-1.amazonaws.com"),
    ({"byocNlbDnsName": "ch-0123.elb.eu-west-1.amazonaws.com"}, "byocNlbDnsName", "in eu-west-1"),
    ({"byocNlbZoneId": "Z26RNL4JYFTOTI"}, "byocNlbZoneId", "set both"),
    ({"byocNlbDnsName": "ch-0123.elb.us-east-1.amazonaws.com", "byocNlbZoneId": "zone"}, "byocNlbZoneId",
     "not a hosted zone ID"),
    # Names derived into AWS resources.
    ({"byocBucketPrefix": "a" * 34}, "byocBucketPrefix", "over S3's limit of 63"),
    ({"byocBucketPrefix": "Data_Lake"}, "byocBucketPrefix", "not usable in S3 bucket names"),
    ({"byocEksClusterName": "prod-eks"}, "byocEksClusterName", "starting with 'clickhouse-cloud-'"),
    ({"byocNamespace": "ClickHouse"}, "byocNamespace", "not a Kubernetes namespace"),
    ({"byocServiceAccount": "click house"}, "byocServiceAccount", "not a Kubernetes service account name"),
    # Lists.
    ({"byocInterfaceEndpoints": ["ecr.api", "s3"]}, "byocInterfaceEndpoints", "gateway endpoint"),
    ({"byocInterfaceEndpoints": ["ecr.api", "ecr.api"]}, "byocInterfaceEndpoints", "more than once"),
    ({"byocInterfaceEndpoints": ["STS"]}, "byocInterfaceEndpoints", "must be AWS service names"),
    ({"byocApplicationSecurityGroupIds": ["app-sg"]}, "byocApplicationSecurityGroupIds", "expected sg-xxxxxxxx"),
    ({"byocControlPlaneSecurityGroupId": "eks-cluster-sg"}, "byocControlPlaneSecurityGroupId", "expected sg-xxxxxxxx"),
])
def test_bad_input_is_reported_with_key_and_expectation(overrides, key, expected):
    error = error_of({k if ":" in k else f"{NS}:{k}": v for k, v in overrides.items()})
    assert f"{NS}:{key}:" in error
    assert expected in error


def test_every_problem_is_reported_at_once():
    error = error_of({f"{NS}:azCount": 2, f"{NS}:byocInternalDomain": "x", f"{NS}:byocClickHouseAccountId": "1"})
    assert all(f"{NS}:{key}:" in error for key in ("azCount", "byocInternalDomain", "byocClickHouseAccountId"))


def test_a_malformed_external_id_is_reported_without_its_value():
    secret = "x"  # too short for STS, and must not be echoed
    error = error_of({f"{NS}:byocExternalId": secret, f"{NS}:byocInternalDomain": "bad domain"})
    line = next(line for line in error.splitlines() if "byocExternalId" in line)
    assert "value not shown" in line and f"'{secret}'" not in line


def test_a_stack_name_too_long_for_iam_role_names_is_reported(monkeypatch):
    # The stack name is not a config key, so this goes through the loader directly.
    monkeypatch.setattr(stack_config.ConfigReader, "raw", lambda self, key: {
        "aws:region": "us-east-1", f"{NS}:byocEnabled": "true", f"{NS}:byocExternalId": "ext-id-0123",
        f"{NS}:byocClickHouseAccountId": "426924874929", f"{NS}:byocInternalDomain": "data.prod.internal",
        f"{NS}:byocBucketPrefix": "ch",
    }.get(key))
    monkeypatch.setattr(stack_config.ConfigReader, "check_unknown_keys", lambda self: None)
    with pytest.raises(stack_config.ConfigError) as raised:
        stack_config.load("a-very-long-stack-name-for-byoc-roles")
    assert f"{NS}:byocEnabled:" in str(raised.value) and "at most 35 characters" in str(raised.value)


def test_adopted_subnets_smaller_than_23_are_rejected_after_lookup():
    error = error_of({**ADOPTED}, subnet_prefix=24)
    assert f"{NS}:subnetIds:" in error and "smaller than the /23" in error


def test_adopted_subnets_without_any_route_table_are_rejected():
    error = error_of({**ADOPTED}, route_tables="none")
    assert f"{NS}:subnetIds: no route table found" in error


def test_adopted_vpc_without_dns_hostnames_is_rejected():
    error = error_of({**ADOPTED}, vpc_dns=False)
    assert f"{NS}:vpcId:" in error and "DNS hostnames" in error


def test_adopted_vpc_is_checked_against_application_and_reserved_cidrs():
    error = error_of({**ADOPTED, f"{NS}:reservedCidrs": ["10.90.0.0/24"],
                      f"{NS}:byocApplicationCidrs": ["10.91.0.0/24"]})
    assert f"{NS}:reservedCidrs: 10.90.0.0/24 overlaps the adopted VPC 10.90.0.0/16" in error
    assert f"{NS}:byocApplicationCidrs: 10.91.0.0/24 is outside the VPC 10.90.0.0/16" in error


def test_disabled_byoc_reads_no_byoc_key():
    # Dev has BYOC off: even nonsense in BYOC keys is ignored rather than reported.
    result = run("dev", {f"{NS}:byocInternalDomain": "NOT A DOMAIN", f"{NS}:byocExternalId": UNSET})
    assert result.error is None


def test_prod_loads_the_documented_byoc_settings():
    config = yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text())["config"]
    assert config[f"{NS}:byocEnabled"] is True
    # ClickHouse's production account in its own onboarding module; never the ExternalId in a committed file.
    assert config[f"{NS}:byocClickHouseAccountId"] == "426924874929"
    assert f"{NS}:byocExternalId" not in config
    assert f"{NS}:byocOidcIssuerUrl" not in config


def test_dev_stack_file_keeps_byoc_off():
    config = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())["config"]
    assert config[f"{NS}:byocEnabled"] is False


def test_project_file_declares_every_byoc_key_but_the_secret_one():
    declared = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]
    kinds = {bool: "boolean", int: "integer", str: "string", list: "array"}
    byoc_keys = [k for k in stack_config.KEYS if k.name.startswith("byoc")]
    assert {k.name for k in byoc_keys if k.secret} == {"byocExternalId"}
    assert "byocExternalId" not in declared
    for key in (k for k in byoc_keys if not k.secret):
        assert declared[key.name]["type"] == kinds[key.kind], key.name
        assert declared[key.name]["default"] == key.default, key.name
        assert declared[key.name]["description"] == key.description, key.name


def test_byoc_config_repr_never_shows_the_external_id():
    fields = {name: None for name in stack_config.ByocConfig.__dataclass_fields__}
    byoc = stack_config.ByocConfig(**{**fields, "external_id": EXTERNAL_ID_PLACEHOLDER})
    assert EXTERNAL_ID_PLACEHOLDER not in repr(byoc)


@pytest.mark.parametrize("cidrs, vpc, reserved, problems", [
    (["10.42.0.0/20"], "10.42.0.0/16", [], 0),
    (["10.50.0.0/20"], "10.42.0.0/16", ["10.50.0.0/16"], 0),
    (["10.50.0.0/20"], "10.42.0.0/16", [], 1),
    (["10.42.0.0/15"], "10.42.0.0/16", ["10.0.0.0/8"], 1),  # straddles the VPC even though a reserved range holds it
    (["8.8.8.0/24"], "10.42.0.0/16", ["8.8.0.0/16"], 1),
    (["10.50.0.0/20"], None, [], 0),  # adopted VPC not looked up yet: form only
])
def test_application_cidr_rules(cidrs, vpc, reserved, problems):
    assert len(stack_config.application_cidr_problems(cidrs, vpc, reserved)) == problems
