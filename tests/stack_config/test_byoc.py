"""BYOC config: read only when enabled; every bad input is one message naming the key; an adopted VPC checked too."""

from __future__ import annotations

import pytest
import yaml

import stack_config
from scripts.offline.engine import REPO, UNSET
from stack_config.byoc import ByocConfig, bootstrap_account_problems
from stack_config.keys import BYOC_TEMPLATE_URL, Problems
from stack_config.network import FoundNetwork, FoundSubnet, FoundVpc

VALID_ISSUER_ID = "0123456789ABCDEF0123456789ABCDEF"
ADOPTED_VPC = "vpc-0a1b2c3d4e5f60718"
ADOPTED_SUBNETS = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2", "subnet-0ccccccccccccccc3"]
# An adopted VPC's routing is its owner's: the BYOC stack acknowledges the way out instead of making one.
# The metrics agent needs a way out the stack makes, so it is off too.
ADOPTED = {"vpcId": ADOPTED_VPC, "subnetIds": ADOPTED_SUBNETS, "egress": "none", "byocEgressNoneAcknowledged": "true",
           "metricsEnabled": "false"}


@pytest.mark.parametrize(("overrides", "key_name", "expected"), [
    # Network shape ClickHouse BYOC needs.
    ({"azCount": 2}, "azCount", "is 2 but ClickHouse BYOC needs exactly 3 availability zones"),
    ({"subnetPrefixLength": 24}, "subnetPrefixLength", "/24 subnets are smaller than the /23 ClickHouse BYOC needs"),
    ({**ADOPTED, "subnetIds": ADOPTED_SUBNETS[:2]}, "subnetIds", "has 2 subnet(s) but azCount is 3"),
    # Application CIDRs: private, inside the VPC or a reserved range, never straddling the VPC.
    ({"byocApplicationCidrs": ["10.42.0.0/15"]}, "byocApplicationCidrs", "10.42.0.0/15 overlaps the VPC 10.43.0.0/16 without lying inside it"),
    ({"byocApplicationCidrs": ["10.60.0.0/20"]}, "byocApplicationCidrs", "outside every reservedCidrs range"),
    ({"byocApplicationCidrs": ["10.43.0.0/20", "10.43.0.0/20"]}, "byocApplicationCidrs", "lists '10.43.0.0/20' more than once"),
    ({"byocApplicationCidrs": ["10.43.0.1/24"]}, "byocApplicationCidrs", "has host bits set; the network is '10.43.0.0/24'"),
    ({"reservedCidrs": ["10.50.0.0/16", "10.43.128.0/17"]}, "vpcCidr", "overlaps reserved range 10.43.128.0/17"),
    # ClickHouse's bootstrap role: its template with the ExternalId, or an existing role by its exact name.
    ({"byocExternalId": UNSET}, "byocExternalId", "is not set: ClickHouse's bootstrap template needs the ExternalId "
                                                  "ClickHouse gave you; run `pulumi config set --secret clickhouse-aws:byocExternalId"),
    ({"byocBootstrap": "terraform"}, "byocBootstrap", "'terraform' is not one of cloudformation, existing"),
    ({"byocBootstrap": "CloudFormation"}, "byocBootstrap", "did you mean 'cloudformation'?"),
    ({"byocBootstrapTemplateUrl": "http://s3.us-east-2.amazonaws.com/b/byoc_v2.yaml"}, "byocBootstrapTemplateUrl",
     "is not an https URL of a template in S3 without a query string"),
    ({"byocBootstrapTemplateUrl": "https://s3.us-east-2.amazonaws.com/b/byoc_v2.yaml?versionId=1"},
     "byocBootstrapTemplateUrl", "without a query string"),
    ({"byocBootstrapTemplateUrl": "https://example.com/byoc_v2.yaml"}, "byocBootstrapTemplateUrl", "a template in S3"),
    ({"byocManagementRoleArn": "arn:aws:iam::123456789012:role/ClickHouseManagementRole"}, "byocManagementRoleArn",
     "is used only with byocBootstrap existing, but byocBootstrap is cloudformation; remove it"),
    ({"byocBootstrap": "existing", "byocExternalId": UNSET}, "byocManagementRoleArn",
     "is not set: with byocBootstrap existing, set it to the role your security team created"),
    ({"byocBootstrap": "existing", "byocExternalId": UNSET,
      "byocManagementRoleArn": "arn:aws:iam::123456789012:role/AcmeClickHouseManagementRole"}, "byocManagementRoleArn",
     "is not the ARN of an IAM role named exactly ClickHouseManagementRole"),
    ({"byocBootstrap": "existing", "byocExternalId": UNSET,
      "byocManagementRoleArn": "arn:aws:iam::123456789012:role/security/ClickHouseManagementRole"},
     "byocManagementRoleArn", "no path, prefix or suffix"),
    ({"byocBootstrap": "existing", "byocExternalId": UNSET,
      "byocManagementRoleArn": "arn:aws:iam::123456789012:user/ClickHouseManagementRole"},
     "byocManagementRoleArn", "is not the ARN of an IAM role"),
    ({"byocBootstrap": "existing", "byocManagementRoleArn": "arn:aws:iam::123456789012:role/ClickHouseManagementRole"},
     "byocExternalId", "is used only with byocBootstrap cloudformation, but byocBootstrap is existing; remove it"),
    ({"byocBootstrap": "existing", "byocExternalId": UNSET, "byocIncludeIamWritePermissions": "false",
      "byocManagementRoleArn": "arn:aws:iam::123456789012:role/ClickHouseManagementRole"},
     "byocIncludeIamWritePermissions", "is used only with byocBootstrap cloudformation"),
    # Keys the role's fixed name and ClickHouse's template made meaningless.
    ({"byocManagementRoleName": "AcmeClickHouseManagement"}, "byocManagementRoleName",
     "is no longer read: ClickHouse's automation assumes a role named exactly ClickHouseManagementRole"),
    ({"byocClickHouseAccountId": "426924874929"}, "byocClickHouseAccountId",
     "is no longer read: ClickHouse's bootstrap template fixes the account"),
    # Pod access: a mode EKS has, and the OIDC issuer only for IRSA, in the exact EKS form and the stack's region.
    ({"byocPodAccess": "kiam"}, "byocPodAccess", "'kiam' is not one of pod-identity, irsa: EKS pods assume IAM roles through EKS Pod Identity or IRSA"),
    ({"byocOidcIssuerUrl": f"https://oidc.eks.us-east-1.amazonaws.com/id/{VALID_ISSUER_ID}"}, "byocOidcIssuerUrl",
     "is set but byocPodAccess is pod-identity, whose pods get credentials from EKS Pod Identity, not the cluster's "
     "OIDC issuer; remove byocOidcIssuerUrl, or set byocPodAccess to irsa"),
    ({"byocOidcIssuerUrl": "https://oidc.eks.us-east-1.amazonaws.com/id/abc"}, "byocOidcIssuerUrl",
     "is not an EKS OIDC issuer URL: https://oidc.eks.us-east-1.amazonaws.com/id/<32 upper-case hex characters>"),
    ({"byocPodAccess": "irsa", "byocOidcIssuerUrl": f"http://oidc.eks.us-east-1.amazonaws.com/id/{VALID_ISSUER_ID}"},
     "byocOidcIssuerUrl", "is not an EKS OIDC issuer URL"),
    ({"byocPodAccess": "irsa", "byocOidcIssuerUrl": f"https://oidc.eks.eu-west-1.amazonaws.com/id/{VALID_ISSUER_ID}"},
     "byocOidcIssuerUrl", "is in eu-west-1 but the stack is in us-east-1: the EKS cluster must be in the stack's region"),
    # Retention values CloudWatch does not accept.
    ({"byocQueryLogRetentionDays": 45}, "byocQueryLogRetentionDays", "45 is not one of 1, 3, 5"),
    ({"byocErrorLogRetentionDays": 100}, "byocErrorLogRetentionDays", "CloudWatch Logs accepts only these retentions"),
    ({"byocEksLogRetentionDays": 0}, "byocEksLogRetentionDays", "0 is not one of"),
    ({"byocBackupRetentionDays": 0}, "byocBackupRetentionDays", "0 is below the minimum of 1"),
    ({"byocLogsRetentionDays": -5}, "byocLogsRetentionDays", "-5 is below the minimum of 1"),
    # Domain names.
    ({"byocInternalDomain": "Data_Prod.internal"}, "byocInternalDomain", "is not a valid domain name"),
    ({"byocInternalDomain": "internal"}, "byocInternalDomain", "two or more lower-case labels"),
    ({"byocInternalDomain": "-bad.example.com"}, "byocInternalDomain", "is not a valid domain name"),
    ({"byocInternalDomain": "a" * 60 + "." + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + ".internal"},
     "byocInternalDomain", "is not a valid domain name"),  # clickhouse.<domain> would exceed 253 characters
    ({"byocInternalDomain": UNSET}, "byocInternalDomain", "is not set: BYOC needs a private DNS domain for ClickHouse"),
    # NLB record inputs.
    ({"byocNlbDnsName": "clickhouse.example.com"}, "byocNlbDnsName", "<name>-<id>.elb.us-east-1.amazonaws.com"),
    ({"byocNlbDnsName": "ch-0123.elb.eu-west-1.amazonaws.com"}, "byocNlbDnsName", "is in eu-west-1 but the stack is in us-east-1"),
    ({"byocNlbZoneId": "Z26RNL4JYFTOTI"}, "byocNlbZoneId", "set both"),
    ({"byocNlbDnsName": "ch-0123.elb.us-east-1.amazonaws.com", "byocNlbZoneId": "zone"}, "byocNlbZoneId",
     "'zone' is not a hosted zone ID"),
    # Names derived into AWS resources.
    ({"byocBucketPrefix": "a" * 34}, "byocBucketPrefix", "over S3's limit of 63; set a prefix of at most 32 characters"),
    ({"byocBucketPrefix": "Data_Lake"}, "byocBucketPrefix", "is not usable in S3 bucket names"),
    ({"byocBucketPrefix": "xn--lake"}, "byocBucketPrefix", "is not usable in S3 bucket names"),
    ({"byocEksClusterName": "prod-eks"}, "byocEksClusterName", "is not an EKS cluster name starting with 'clickhouse-cloud-'"),
    ({"byocEksClusterName": "clickhouse-cloud-" + "x" * 84}, "byocEksClusterName", "at most 100 characters"),
    ({"byocNamespace": "ClickHouse"}, "byocNamespace", "is not a Kubernetes namespace"),
    ({"byocServiceAccount": "click house"}, "byocServiceAccount", "is not a Kubernetes service account name"),
    # Lists.
    ({"byocInterfaceEndpoints": ["ecr.api", "s3"]}, "byocInterfaceEndpoints", "always gets a gateway endpoint"),
    ({"byocInterfaceEndpoints": ["ecr.api", "ecr.api"]}, "byocInterfaceEndpoints", "lists 'ecr.api' more than once"),
    ({"byocInterfaceEndpoints": ["STS"]}, "byocInterfaceEndpoints", "'STS' is not an AWS service name"),
    ({"byocApplicationSecurityGroupIds": ["app-sg"]}, "byocApplicationSecurityGroupIds",
     "'app-sg' is not a security group ID such as sg-0123456789abcdef0"),
    ({"byocControlPlaneSecurityGroupId": "eks-cluster-sg"}, "byocControlPlaneSecurityGroupId", "is not a security group ID"),
])
def test_bad_byoc_input_is_one_message_naming_the_key(problem, overrides, key_name, expected):
    assert expected in problem(key_name, overrides, "byoc")


def test_a_public_application_cidr_is_refused_whatever_else_holds(problems):
    found = problems({"byocApplicationCidrs": ["0.0.0.0/0"]}, "byoc")
    assert "clickhouse-aws:byocApplicationCidrs: '0.0.0.0/0' is not a private range; expected the private IPv4 CIDR of " \
           "an application subnet, e.g. 10.50.0.0/20 (the NLB never admits 0.0.0.0/0)" in found


@pytest.mark.parametrize(("cidrs", "reserved"), [
    (["10.43.0.0/20"], []),  # inside the VPC
    (["10.50.0.0/20"], ["10.50.0.0/16"]),  # inside a network routed to it
])
def test_application_cidrs_inside_the_vpc_or_a_reserved_range_pass(load, cidrs, reserved):
    byoc = load({"byocApplicationCidrs": cidrs, "reservedCidrs": reserved}, "byoc").byoc
    assert byoc.application_cidrs == tuple(cidrs)


def test_every_problem_is_reported_at_once(problems):
    found = problems({"azCount": 2, "byocInternalDomain": "x", "byocBootstrap": "manual"}, "byoc")
    assert sorted(line.split(":")[1] for line in found) == ["azCount", "byocBootstrap", "byocInternalDomain"]


def test_a_malformed_external_id_is_reported_without_its_value(problem):
    secret = "x"  # too short for STS, and must not be echoed
    message = problem("byocExternalId", {"byocExternalId": secret}, "byoc")
    assert message == "the value (not shown: it is secret) is not 2 to 1224 characters of letters, digits and _+=,.@:/-"


def test_a_stack_name_too_long_for_iam_role_names_is_reported():
    # The stack name is not a config key, so this loads a config mapping directly.
    config = {
        "aws:region": "us-east-1", "clickhouse-aws:byocEnabled": "true", "clickhouse-aws:egress": "nat", "clickhouse-aws:byocExternalId": "ext-id-0123",
        "clickhouse-aws:byocInternalDomain": "data.prod.internal",
        "clickhouse-aws:byocBucketPrefix": "ch", "clickhouse-aws:serviceName": "ch",
    }
    with pytest.raises(stack_config.ConfigError) as raised:
        stack_config.load("a-very-long-stack-name-for-byoc-roles", config, ["clickhouse-aws:byocExternalId"])
    assert raised.value.problems == [
        "clickhouse-aws:byocEnabled: the stack name 'a-very-long-stack-name-for-byoc-roles' is too long for the BYOC IAM "
        "role names ('clickhouse-aws-a-very-long-stack-name-for-byoc-roles-clickhouse-pods' is over IAM's 64 "
        "characters); use a stack name of at most 33 characters"]


def test_names_derived_from_the_stack_name_are_checked_like_set_ones():
    config = {"aws:region": "us-east-1", "clickhouse-aws:byocEnabled": "true", "clickhouse-aws:egress": "nat", "clickhouse-aws:byocExternalId": "ext-id",
              "clickhouse-aws:byocInternalDomain": "a.internal"}
    with pytest.raises(stack_config.ConfigError) as raised:
        stack_config.load("Prod.EU", config, ["clickhouse-aws:byocExternalId"])
    derived = "(the default, derived from the stack name 'Prod.EU')"
    # The EKS cluster's name is never derived: it is ClickHouse's to give.
    assert {line.split(":")[1] for line in raised.value.problems} == {"byocBucketPrefix"}
    assert all(line.endswith(derived) for line in raised.value.problems)


def test_disabled_byoc_reads_no_byoc_key(load):
    # Dev has BYOC off: even nonsense in BYOC keys is ignored rather than reported.
    assert load({"byocInternalDomain": "NOT A DOMAIN", "byocNlbZoneId": "zone"}).byoc is None


def test_the_byoc_stack_loads_the_documented_byoc_settings(load):
    cfg = load(stack="byoc")
    byoc = cfg.byoc
    assert (byoc.bootstrap, byoc.template_url, byoc.include_iam_write_permissions) == (
        "cloudformation", BYOC_TEMPLATE_URL, True)
    assert (byoc.management_role_arn, byoc.internal_domain) == (None, "data.byoc.internal")
    assert (cfg.network.egress, byoc.egress_none_acknowledged, byoc.infrastructure_id) == ("nat", False, None)
    assert (byoc.eks_cluster_name, byoc.bucket_prefix) == (None, "clickhouse-aws-byoc")
    assert (byoc.pod_access, byoc.pod_role_name) == ("pod-identity", "clickhouse-aws-byoc-clickhouse-pods")
    assert (byoc.oidc_issuer_url, byoc.nlb_dns_name, byoc.control_plane_security_group_id) == (None, None, None)
    assert byoc.kms_deletion_window_days == 30
    config = yaml.safe_load((REPO / "Pulumi.byoc.yaml").read_text())["config"]
    assert "clickhouse-aws:byocExternalId" not in config, "the ExternalId is never in a committed file"


def test_trailing_dots_and_slashes_and_upper_case_dns_names_are_normalized(load):
    byoc = load({"byocInternalDomain": "ch.corp.example.com.", "byocNlbDnsName": "CH-0123.elb.us-east-1.amazonaws.com.",
                 "byocPodAccess": "irsa",
                 "byocOidcIssuerUrl": f"https://oidc.eks.us-east-1.amazonaws.com/id/{VALID_ISSUER_ID}/"}, "byoc").byoc
    assert (byoc.internal_domain, byoc.nlb_dns_name) == ("ch.corp.example.com", "ch-0123.elb.us-east-1.amazonaws.com")
    assert byoc.oidc_issuer_url == f"https://oidc.eks.us-east-1.amazonaws.com/id/{VALID_ISSUER_ID}"


def test_byoc_config_repr_never_shows_the_external_id():
    fields = {name: None for name in ByocConfig.__dataclass_fields__}
    byoc = ByocConfig(**{**fields, "external_id": "the-external-id"})
    assert "the-external-id" not in repr(byoc)


class TestAdoptedVpc:
    """An adopted VPC, once looked up, is checked the way a created one is before: subnet size, DNS, CIDRs, routes."""

    @staticmethod
    def found(prefix: int = 20, dns: bool = True, route_tables: tuple[str, ...] = ("rtb-0123456789abcdef0",)) -> FoundNetwork:
        return FoundNetwork(
            vpc=FoundVpc(ADOPTED_VPC, "10.90.0.0/16", True, dns),
            subnets=tuple(FoundSubnet(s, ADOPTED_VPC, f"us-east-1{'abc'[i]}", f"10.90.{i * 16}.0/{prefix}", False)
                          for i, s in enumerate(ADOPTED_SUBNETS)),
            route_table_ids=route_tables,
        )

    def layout_problems(self, load, found: FoundNetwork, **overrides) -> list[str]:
        cfg = load({**ADOPTED, "byocApplicationCidrs": [], **overrides}, "byoc")
        with pytest.raises(stack_config.ConfigError) as raised:
            stack_config.resolve_layout(cfg, found)
        return raised.value.problems

    def test_a_fitting_adopted_vpc_passes_and_keeps_its_route_tables(self, load):
        cfg = load({**ADOPTED, "byocApplicationCidrs": ["10.90.64.0/20"]}, "byoc")
        layout = stack_config.resolve_layout(cfg, self.found(prefix=23))
        assert layout.route_table_ids == ("rtb-0123456789abcdef0",)

    def test_more_than_three_subnets_in_as_many_zones_pass(self, load):
        # ClickHouse's customer-managed VPC guide asks for at least three private subnets in three zones.
        fourth = "subnet-0ddddddddddddddd4"
        cfg = load({**ADOPTED, "subnetIds": [*ADOPTED_SUBNETS, fourth], "byocApplicationCidrs": []}, "byoc")
        found = self.found(prefix=22)
        found = FoundNetwork(vpc=found.vpc, route_table_ids=found.route_table_ids, subnets=(
            *found.subnets, FoundSubnet(fourth, ADOPTED_VPC, "us-east-1d", "10.90.48.0/22", False)))
        assert stack_config.resolve_layout(cfg, found).zones == ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d")

    def test_subnets_smaller_than_23_are_refused(self, load):
        assert self.layout_problems(load, self.found(prefix=24)) == [
            f"clickhouse-aws:subnetIds: {ADOPTED_SUBNETS[0]} (10.90.0.0/24), {ADOPTED_SUBNETS[1]} (10.90.16.0/24), "
            f"{ADOPTED_SUBNETS[2]} (10.90.32.0/24) are smaller than the /23 ClickHouse BYOC needs; use subnets of /23 or larger"]

    def test_dns_hostnames_off_is_refused(self, load):
        (line,) = self.layout_problems(load, self.found(dns=False))
        assert line.startswith(f"clickhouse-aws:vpcId: {ADOPTED_VPC} has DNS support or DNS hostnames turned off")

    def test_subnets_without_any_route_table_are_refused(self, load):
        (line,) = self.layout_problems(load, self.found(route_tables=()))
        assert line.startswith("clickhouse-aws:subnetIds: no route table found for")

    def test_the_vpc_is_checked_against_application_and_reserved_cidrs(self, load):
        found = self.layout_problems(load, self.found(), reservedCidrs=["10.90.0.0/24"], byocApplicationCidrs=["10.91.0.0/24"])
        assert found == [
            "clickhouse-aws:reservedCidrs: 10.90.0.0/24 overlaps the adopted VPC 10.90.0.0/16; the VPC must not overlap "
            "the ranges routed to it",
            "clickhouse-aws:byocApplicationCidrs: 10.91.0.0/24 is outside the VPC 10.90.0.0/16 and outside every "
            "reservedCidrs range: add the network it belongs to (peered VPC, on-premises) to reservedCidrs, or use a "
            "CIDR inside the VPC",
        ]


class TestEgress:
    """BYOC needs a way out for Tailscale: egress none is an error unless acknowledged, and the acknowledgement is
    only for none."""

    def test_none_without_acknowledgement_says_why_and_how(self, problem):
        message = problem("egress", {"egress": "none", "metricsEnabled": "false"}, "byoc")
        assert "Tailscale" in message and "TCP 443, UDP 3478" in message and "41641" in message
        assert "set byocEgressNoneAcknowledged to true" in message

    def test_an_acknowledged_none_is_recorded(self, load):
        cfg = load({"egress": "none", "byocEgressNoneAcknowledged": "true", "metricsEnabled": "false"}, "byoc")
        assert cfg.byoc.egress_none_acknowledged is True

    @pytest.mark.parametrize("egress", ["nat", "transit-gateway"])
    def test_the_acknowledgement_is_refused_with_another_mode(self, problem, egress):
        overrides = {"egress": egress, "byocEgressNoneAcknowledged": "true",
                     "transitGatewayId": "tgw-0123456789abcdef0" if egress != "nat" else UNSET}
        assert problem("byocEgressNoneAcknowledged", overrides, "byoc") == (
            f"is true but egress is {egress}: the acknowledgement is only for egress none; remove it")


class TestPhases:
    """The service comes with the infrastructure ID, and only with the NLB it answers behind."""

    def test_the_infrastructure_id_is_read(self, load):
        overrides = {"byocInfrastructureId": "b7c1d2e3-byoc-0001", "byocNlbDnsName": "ch-1.elb.us-east-1.amazonaws.com"}
        assert load(overrides, "byoc").byoc.infrastructure_id == "b7c1d2e3-byoc-0001"

    @pytest.mark.parametrize(("overrides", "expected"), [
        ({"byocInfrastructureId": "b7c1d2e3-byoc-0001"}, "is set but byocNlbDnsName is not"),
        ({"byocInfrastructureId": "not an id!", "byocNlbDnsName": "ch-1.elb.us-east-1.amazonaws.com"},
         "is not the BYOC infrastructure ID from the ClickHouse console"),
    ])
    def test_bad_phase_input_is_one_message_naming_the_key(self, problem, overrides, expected):
        assert expected in problem("byocInfrastructureId", overrides, "byoc")


EXISTING_ROLE = "arn:aws:iam::123456789012:role/ClickHouseManagementRole"


def test_an_existing_bootstrap_role_needs_no_external_id(load):
    byoc = load({"byocBootstrap": "existing", "byocExternalId": UNSET, "byocManagementRoleArn": EXISTING_ROLE}, "byoc").byoc
    assert (byoc.bootstrap, byoc.management_role_arn, byoc.external_id) == ("existing", EXISTING_ROLE, "")


@pytest.mark.parametrize(("account", "partition", "expected"), [
    ("123456789012", "aws", []),
    ("210987654321", "aws", ["clickhouse-aws:byocManagementRoleArn: is a role in account 123456789012, but this stack "
                             "deploys into account 210987654321; ClickHouse assumes ClickHouseManagementRole in the "
                             "account it builds BYOC in: use that account's role"]),
    ("123456789012", "aws-cn", ["clickhouse-aws:byocManagementRoleArn: is in the aws partition, but this stack deploys "
                                "into aws-cn; use arn:aws-cn:iam::123456789012:role/ClickHouseManagementRole"]),
])
def test_an_existing_bootstrap_role_must_be_in_the_stacks_account(load, account, partition, expected):
    byoc = load({"byocBootstrap": "existing", "byocExternalId": UNSET, "byocManagementRoleArn": EXISTING_ROLE}, "byoc").byoc
    p = Problems()
    bootstrap_account_problems(p, byoc, account, partition)
    assert p.problems == expected


def test_the_account_check_leaves_the_cloudformation_mode_alone(load):
    p = Problems()
    bootstrap_account_problems(p, load(stack="byoc").byoc, "210987654321", "aws")
    assert p.problems == []
