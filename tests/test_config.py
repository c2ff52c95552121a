"""stack_config: every bad input is refused before any resource exists, with a message naming the key."""

from __future__ import annotations

import pulumi
import pytest
import yaml

import stack_config
from scripts.offline.engine import REPO, UNSET
from tests.helpers import config_error


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"clickhouseRegion": "eu-west-1"}, ["clickhouse-aws:clickhouseRegion", "use a separate regional stack for eu-west-1"]),
        ({"vpcCidr": "10.0.0.0/33"}, ["clickhouse-aws:vpcCidr", "not a valid IPv4 CIDR"]),
        ({"vpcCidr": "10.41.0.1/16"}, ["clickhouse-aws:vpcCidr", "has host bits set"]),
        ({"vpcCidr": "10.32.0.0/12"}, ["clickhouse-aws:vpcCidr", "between /16 and /24"]),
        ({"vpcCidr": "8.8.0.0/16"}, ["clickhouse-aws:vpcCidr", "not a private range"]),
        ({"reservedCidrs": ["10.41.128.0/17"]}, ["clickhouse-aws:vpcCidr", "overlaps reserved range 10.41.128.0/17"]),
        ({"reservedCidrs": ["10.300.0.0/16"]}, ["clickhouse-aws:reservedCidrs", "not a valid CIDR"]),
        ({"subnetPrefixLength": 17, "azCount": 3}, ["clickhouse-aws:subnetPrefixLength", "holds only 2 subnet(s) of /17"]),
        ({"subnetPrefixLength": 16}, ["clickhouse-aws:subnetPrefixLength", "does not fit in 10.41.0.0/16"]),
        ({"azCount": 1}, ["clickhouse-aws:azCount", "at least 2 availability zones"]),
        ({"subnetIds": ["subnet-0123456789abcdef0"]}, ["clickhouse-aws:subnetIds", "vpcId is not"]),
        ({"vpcId": "vpc-0123456789abcdef0", "subnetIds": ["subnet-0123456789abcdef0"]},
         ["clickhouse-aws:subnetIds", "has 1 subnet(s) but azCount is 2"]),
        ({"vpcId": "vpc-0123456789abcdef0", "subnetIds": ["subnet-aa", "subnet-0123456789abcdef0"]},
         ["clickhouse-aws:subnetIds", "subnet-aa are not subnet IDs"]),
        ({"vpcId": "my-vpc", "subnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]},
         ["clickhouse-aws:vpcId", "not a VPC ID"]),
        ({"secretRecoveryWindowDays": 3}, ["clickhouse-aws:secretRecoveryWindowDays", "0 (delete at once) or between 7 and 30"]),
        ({"secretRecoveryWindowDays": 31}, ["clickhouse-aws:secretRecoveryWindowDays", "between 7 and 30"]),
        ({"idleTimeoutMinutes": 4}, ["clickhouse-aws:idleTimeoutMinutes", "under the 5-minute minimum"]),
        ({"minReplicaMemoryGb": 32, "maxReplicaMemoryGb": 16}, ["clickhouse-aws:minReplicaMemoryGb", "above maxReplicaMemoryGb (16 GiB)"]),
        ({"minReplicaMemoryGb": 10}, ["clickhouse-aws:minReplicaMemoryGb", "multiple of 4 and at least 8"]),
        ({"numReplicas": 0}, ["clickhouse-aws:numReplicas", "at least 1"]),
        ({"releaseChannel": "beta"}, ["clickhouse-aws:releaseChannel", "default, fast, slow"]),
        ({"backupStartTime": "25:00"}, ["clickhouse-aws:backupStartTime", "HH:MM"]),
        ({"flowLogRetentionDays": 10}, ["clickhouse-aws:flowLogRetentionDays", "not a retention CloudWatch accepts"]),
        ({"serviceName": "bad/name"}, ["clickhouse-aws:serviceName", "1-50 letters"]),
        ({"idleScaling": "yes"}, ["clickhouse-aws:idleScaling", "expected true or false, got 'yes'"]),
        ({"azCount": "three"}, ["clickhouse-aws:azCount", "expected a whole number"]),
        ({"tags": ["a"]}, ["clickhouse-aws:tags", "expected an object whose values are strings"]),
        ({"passwordKmsKey": "my-key"}, ["clickhouse-aws:passwordKmsKey", "'', 'create', or a KMS key or alias ARN"]),
        ({"passwordKmsKey": "arn:aws:kms:eu-west-1:123456789012:key/0b7a1d2c-3e4f-4a5b-8c6d-7e8f9a0b1c2d"},
         ["clickhouse-aws:passwordKmsKey", "key is in eu-west-1 but the stack is in us-east-1"]),
        ({"vpcCird": "10.0.0.0/16"}, ["clickhouse-aws:vpcCird", "unknown key; did you mean 'vpcCidr'?"]),
        ({"aws:region": UNSET}, ["aws:region", "is not set"]),
        ({"aws:region": "us-east"}, ["aws:region", "not an AWS region name"]),
        ({"clickhouse:organizationId": "my-org"}, ["clickhouse:organizationId", "not an organization ID"]),
    ],
)
def test_bad_input_is_refused_with_a_message_naming_the_key(overrides, expected):
    message = config_error("dev", overrides)
    for fragment in expected:
        assert fragment in message


def test_a_value_that_is_not_json_is_reported_as_the_expected_shape():
    message = config_error("dev", {"subnetIds": "subnet-1"})
    assert "clickhouse-aws:subnetIds: expected a list of strings, got 'subnet-1'" in message


def test_every_problem_is_reported_at_once():
    message = config_error("dev", {"idleTimeoutMinutes": 1, "numReplicas": 0, "secretRecoveryWindowDays": 2})
    assert message.count("\n  - ") == 3


def test_config_errors_are_run_errors_so_the_cli_prints_no_traceback():
    # The Python language host prints a pulumi.RunError as its message alone; anything else gets a traceback.
    assert issubclass(stack_config.ConfigError, pulumi.RunError)


def test_a_valid_existing_vpc_config_passes():
    from scripts.offline.engine import run_program

    run = run_program("dev", {"clickhouse-aws:vpcId": "vpc-0123456789abcdef0",
                              "clickhouse-aws:subnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]})
    assert run.error is None, run.error


def test_subnet_cidrs_are_computed_from_the_vpc_cidr():
    cfg = stack_config.NetworkConfig(vpc_cidr="10.42.0.0/16", az_count=3, subnet_prefix_length=20, flow_log_retention_days=90)
    assert cfg.subnet_cidrs() == ["10.42.0.0/20", "10.42.16.0/20", "10.42.32.0/20"]


class TestPulumiYamlMirrorsTheKeyTable:
    """Pulumi.yaml declares the same keys, types and defaults the program validates, so the CLI and program agree."""

    types = {str: "string", int: "integer", bool: "boolean", list: "array"}

    @pytest.fixture()
    def declared(self) -> dict:
        return yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]

    def test_every_typeable_non_secret_key_is_declared_with_its_type_and_default(self, declared):
        for key in stack_config.KEYS:
            if key.kind is dict or key.secret:
                assert key.name not in declared, f"{key.name} cannot be declared in Pulumi.yaml"
                continue
            decl = declared[key.name]
            assert decl["type"] == self.types[key.kind], key.name
            assert decl["default"] == key.default, key.name
            assert decl["description"] == key.description, key.name

    def test_nothing_is_declared_that_the_program_does_not_read(self, declared):
        assert set(declared) <= set(stack_config.KEYS_BY_NAME)

    def test_virtualenv_is_the_one_the_makefile_creates(self):
        project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
        assert project["runtime"]["options"]["virtualenv"] == "venv"
        assert "VENV := venv" in (REPO / "Makefile").read_text()
