"""What ``scripts.stack`` prints from outputs and state: masking, the env file, protected resources, change counts,
and the policy violations read from the CLI's text (``scripts.stack.outputs``, ``scripts.stack.runner``)."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from pulumi import automation as auto

from scripts.stack.errors import ExitCode, StackScriptError
from scripts.stack.outputs import change_counts, mask_outputs, protected_resources, render_env
from scripts.stack.runner import violations_from_text


OUTPUTS: dict[str, Any] = {
    "aws_region": "us-east-1",
    "clickhouse_url": "https://abc.us-east-1.vpce.aws.clickhouse.cloud:8443",
    "clickhouse_user": "default",
    "clickhouse_password_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ch-AbCdEf",
    "client_security_group_id": "sg-0aaa1111bbbb2222c",
    "service_id": "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    "private_dns_hostname": "abc.us-east-1.vpce.aws.clickhouse.cloud",
    "vpc_endpoint_id": "vpce-0123456789abcdef0",
    "vpc_id": "vpc-0a1b2c3d4e5f60000",
    "subnet_ids": ["subnet-0a1", "subnet-0b2"],
}


def _env_pairs(text: str) -> dict[str, str]:
    """Parse the env file the way a POSIX shell would."""
    pairs = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            (word,) = shlex.split(line)
            key, _, value = word.partition("=")
            pairs[key] = value
    return pairs


def test_mask_outputs() -> None:
    outputs = {"a": auto.OutputValue("plain", False), "b": auto.OutputValue({"k": "v"}, True)}
    assert mask_outputs(outputs) == {"a": "plain", "b": "[secret]"}
    assert mask_outputs(outputs, show_secrets=True) == {"a": "plain", "b": {"k": "v"}}


def test_env_form_round_trips_through_a_shell_parser() -> None:
    tricky = {**OUTPUTS, "clickhouse_user": "ana's user $HOME", "clickhouse_password_kms_key_id": "arn:aws:kms:k"}
    text = render_env(tricky, "dev")
    assert "CLICKHOUSE_URL=https://abc.us-east-1.vpce.aws.clickhouse.cloud:8443\n" in text  # no needless quotes
    assert "CLICKHOUSE_USER='ana'\"'\"'s user $HOME'\n" in text
    assert _env_pairs(text) == {
        "CLICKHOUSE_URL": tricky["clickhouse_url"],
        "CLICKHOUSE_USER": "ana's user $HOME",
        "CLICKHOUSE_PASSWORD_SECRET_ARN": tricky["clickhouse_password_secret_arn"],
        "CLICKHOUSE_PASSWORD_KMS_KEY_ID": "arn:aws:kms:k",
        "CLICKHOUSE_CLIENT_SECURITY_GROUP_ID": "sg-0aaa1111bbbb2222c",
        "CLICKHOUSE_SERVICE_ID": tricky["service_id"],
        "CLICKHOUSE_PRIVATE_DNS_HOSTNAME": tricky["private_dns_hostname"],
        "CLICKHOUSE_VPC_ENDPOINT_ID": "vpce-0123456789abcdef0",
        "CLICKHOUSE_VPC_ID": "vpc-0a1b2c3d4e5f60000",
        "CLICKHOUSE_SUBNET_IDS": "subnet-0a1,subnet-0b2",
        "AWS_REGION": "us-east-1",
    }


def test_env_form_leaves_out_the_optional_kms_key_and_every_secret() -> None:
    text = render_env({**OUTPUTS, "clickhouse_user": "[secret]", "admin_token": "[secret]"}, "dev")
    pairs = _env_pairs(text)
    assert "CLICKHOUSE_PASSWORD_KMS_KEY_ID" not in pairs
    assert "CLICKHOUSE_USER" not in pairs
    assert "# CLICKHOUSE_USER left out: output 'clickhouse_user' is secret." in text
    assert "[secret]" not in "".join(pairs.values())


def test_env_form_needs_the_deployed_outputs() -> None:
    with pytest.raises(StackScriptError) as raised:
        render_env({"aws_region": "us-east-1"}, "prod")
    assert raised.value.code is ExitCode.USAGE
    assert "vpc_id" in raised.value.message and "scripts.stack up --stack prod" in raised.value.message


def test_protected_resources_and_change_counts() -> None:
    deployment = {"resources": [{"urn": "urn:a", "protect": True}, {"urn": "urn:b"}, {"urn": "urn:c",
                                                                                        "protect": False}]}
    assert protected_resources(deployment) == ["urn:a"]
    assert protected_resources(None) == []
    assert change_counts({auto.OpType.CREATE: 2, "same": 3}) == {"create": 2, "same": 3}


def test_mandatory_violations_parsed_from_cli_text() -> None:
    text = (
        "Policies:\n"
        "    \u274c clickhouse-aws-policy@v0.1.0 (local: /repo/policy)\n"
        "        - [advisory]  iam-no-admin-policy  (aws:iam/role:Role: admin)\n"
        "          Roles should not carry AdministratorAccess.\n"
        "        - [mandatory]  no-internet-gateway  (aws:ec2/internetGateway:InternetGateway: igw)\n"
        "          No internet gateway in this VPC.\n"
    )
    (violation,) = violations_from_text(text)
    assert violation.policy == "no-internet-gateway" and violation.pack == "clickhouse-aws-policy"
    assert violation.resource == "aws:ec2/internetGateway:InternetGateway: igw"
    assert violation.mandatory
    assert violations_from_text("Policies:\n    \u2705 clickhouse-aws-policy@v0.1.0 (local: policy)\n") == []
