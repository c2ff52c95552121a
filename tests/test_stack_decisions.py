"""The pure decisions behind ``scripts.stack``: settings, error translation, output forms and the apply phases."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto
from pulumi.automation.errors import create_command_error

from scripts.stack_errors import ExitCode, StackScriptError, error_lines, translate
from scripts.stack_outputs import change_counts, mask_outputs, protected_resources, render_env
from scripts.stack_phases import NLB_DNS, OIDC_ISSUER, State, describe, detect_phase
from scripts.stack_runner import violations_from_text
from scripts.stack_settings import (
    REPO_ROOT,
    Settings,
    color_for,
    confirmation_problem,
    needs_passphrase,
    passphrase_problem,
    policy_arguments,
    resolve_settings,
    stack_file_secrets_provider,
)

DOCS = REPO_ROOT / "docs" / "automation.md"


def settings(tmp_path: Path, stack: str = "dev", backend: str | None = None, provider: str | None = None) -> Settings:
    return Settings(stack=stack, work_dir=tmp_path, backend_url=backend or f"file://{tmp_path}/.pulumi-state",
                    secrets_provider=provider)


# -- backend, secrets provider, passphrase -------------------------------------------------------------------------

def test_backend_defaults_to_the_repo_local_file_backend(tmp_path: Path) -> None:
    resolved = resolve_settings("dev", backend_flag=None, secrets_flag=None, environ={}, work_dir=tmp_path)
    assert resolved.backend_url == f"file://{tmp_path}/.pulumi-state"
    assert resolved.secrets_provider is None


def test_flags_win_over_environment(tmp_path: Path) -> None:
    environ = {"PULUMI_BACKEND_URL": "s3://env-bucket", "PULUMI_SECRETS_PROVIDER": "awskms://alias/env"}
    from_env = resolve_settings("prod", backend_flag=None, secrets_flag=None, environ=environ, work_dir=tmp_path)
    assert (from_env.backend_url, from_env.secrets_provider) == ("s3://env-bucket", "awskms://alias/env")
    from_flags = resolve_settings("prod", backend_flag="s3://flag-bucket", secrets_flag="passphrase",
                                  environ=environ, work_dir=tmp_path)
    assert (from_flags.backend_url, from_flags.secrets_provider) == ("s3://flag-bucket", "passphrase")


@pytest.mark.parametrize(("backend", "provider", "fragment"), [
    ("ftp://state", None, "Backend URL 'ftp://state'"),
    ("s3://bucket", "vault", "Secrets provider 'vault'"),
])
def test_invalid_backend_or_provider_is_a_usage_error(tmp_path: Path, backend: str, provider: str | None,
                                                       fragment: str) -> None:
    with pytest.raises(StackScriptError) as raised:
        resolve_settings("dev", backend_flag=backend, secrets_flag=provider, environ={}, work_dir=tmp_path)
    assert raised.value.code is ExitCode.USAGE
    assert fragment in raised.value.message


@pytest.mark.parametrize(("backend", "provider", "expected"), [
    ("file:///repo/.pulumi-state", None, True),
    ("s3://bucket/prefix", None, True),
    ("s3://bucket/prefix", "awskms://alias/pulumi?region=us-east-1", False),
    ("s3://bucket/prefix", "passphrase", True),
    ("https://api.pulumi.com", None, False),
])
def test_needs_passphrase(backend: str, provider: str | None, expected: bool) -> None:
    assert needs_passphrase(backend, provider) is expected


def test_passphrase_problem_names_both_variables(tmp_path: Path) -> None:
    problem = passphrase_problem(settings(tmp_path), environ={})
    assert problem is not None and problem.code is ExitCode.CREDENTIALS
    assert "PULUMI_CONFIG_PASSPHRASE " in problem.message and "PULUMI_CONFIG_PASSPHRASE_FILE" in problem.message
    # An empty passphrase is a valid one.
    assert passphrase_problem(settings(tmp_path), environ={"PULUMI_CONFIG_PASSPHRASE": ""}) is None


def test_stack_file_provider_is_honoured(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.prod.yaml").write_text(
        "secretsprovider: awskms://alias/pulumi?region=us-east-1\nencryptedkey: AQICAH...\nconfig: {}\n")
    prod = settings(tmp_path, "prod", backend="s3://bucket")
    assert stack_file_secrets_provider(prod) == "awskms://alias/pulumi?region=us-east-1"
    assert passphrase_problem(prod, environ={}) is None
    (tmp_path / "Pulumi.dev.yaml").write_text("encryptionsalt: v1:abc:def\nconfig: {}\n")
    assert stack_file_secrets_provider(settings(tmp_path)) == "passphrase"


def test_policy_arguments_are_absolute_per_stack(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "config.prod.json").write_text("{}")
    assert policy_arguments(settings(tmp_path, "prod")) == {
        "policy_packs": [str(tmp_path / "policy")],
        "policy_pack_configs": [str(tmp_path / "policy" / "config.prod.json")],
    }
    with pytest.raises(StackScriptError) as raised:
        policy_arguments(settings(tmp_path, "dev"))
    assert raised.value.code is ExitCode.USAGE and "policy/config.dev.json" in raised.value.message


@pytest.mark.parametrize(("command", "stack", "yes", "needed"), [
    ("up", "prod", False, True),
    ("destroy", "prod", False, True),
    ("up", "prod", True, False),
    ("up", "dev", False, False),
    ("destroy", "dev", False, False),
    ("refresh", "prod", False, False),
])
def test_confirmation_rule(command: str, stack: str, yes: bool, needed: bool) -> None:
    problem = confirmation_problem(command, stack, yes)
    assert (problem is not None) is needed
    if problem is not None:
        assert problem.code is ExitCode.CONFIRMATION_REQUIRED and "--yes" in problem.message


def test_cli_colour_follows_the_terminal() -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    class Pipe:
        def isatty(self) -> bool:
            return False

    assert color_for(Tty()) == "always"  # type: ignore[arg-type]
    assert color_for(Pipe()) == "never"  # type: ignore[arg-type]


# -- error translation ---------------------------------------------------------------------------------------------

def _translate(stdout: str = "", stderr: str = "") -> StackScriptError:
    error = create_command_error(auto.CommandResult(stdout=stdout, stderr=stderr, code=255))
    return translate(error, command="up", stack="prod", backend_url="s3://bucket")


@pytest.mark.parametrize(("stdout", "stderr", "code"), [
    ("", "error: no stack named 'prod' found", ExitCode.STACK_NOT_FOUND),
    ("", "error: the stack is currently locked by 1 lock(s).", ExitCode.STACK_LOCKED),
    ("", "error: constructing secrets manager of type \"passphrase\": incorrect passphrase", ExitCode.CREDENTIALS),
    ("", "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions",
     ExitCode.CREDENTIALS),
    ("error: operation error STS: GetCallerIdentity, ExpiredToken: The security token included in the request is "
     "expired", "", ExitCode.CREDENTIALS),
    ("error: creating ClickHouse service: 400 Bad Request", "", ExitCode.OPERATION_FAILED),
])
def test_translate_maps_cli_failures(stdout: str, stderr: str, code: ExitCode) -> None:
    assert _translate(stdout, stderr).code is code


def test_failed_operation_message_lists_the_cli_errors_once() -> None:
    message = _translate(stdout="error: quota exceeded\nerror: quota exceeded\nerror: update failed\n").message
    assert message == "`up` failed on stack 'prod':\n  quota exceeded\n  update failed"
    assert error_lines("no errors here") == []


def test_exit_code_table_in_docs_matches_the_code() -> None:
    rows = re.findall(r"^\|\s*(\d+)\s*\|\s*`(\w+)`\s*\|", DOCS.read_text(encoding="utf-8"), re.M)
    assert {(int(value), name) for value, name in rows} == {(int(code), code.name) for code in ExitCode}


# -- outputs -------------------------------------------------------------------------------------------------------

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
    assert "clickhouse_url" in raised.value.message and "scripts.stack up --stack prod" in raised.value.message


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


# -- apply phases --------------------------------------------------------------------------------------------------

BYOC_ON = {"clickhouse-aws:byocEnabled": "true"}
FACTS = {OIDC_ISSUER: "https://oidc.eks.us-east-1.amazonaws.com/id/ABC", NLB_DNS: "internal-ch.elb.amazonaws.com"}
BYOC_NO_IRSA = {"role_arns": {"management": "arn:m"}, "clickhouse_record_name": "clickhouse.internal.example"}
BYOC_DONE = {"role_arns": {"management": "arn:m", "irsa": "arn:i"}, "clickhouse_record_name": "clickhouse.x"}


@pytest.mark.parametrize(("config", "outputs", "state"), [
    ({}, {}, State.NEEDS_UP),
    ({"clickhouse-aws:byocEnabled": "false"}, {"vpc_id": "vpc-1"}, State.COMPLETE),
    (BYOC_ON, {"vpc_id": "vpc-1"}, State.NEEDS_UP),  # BYOC switched on since the last up
    (BYOC_ON, {"byoc": BYOC_NO_IRSA}, State.WAITING_FOR_CLICKHOUSE),
    ({**BYOC_ON, OIDC_ISSUER: FACTS[OIDC_ISSUER]}, {"byoc": BYOC_NO_IRSA}, State.WAITING_FOR_CLICKHOUSE),
    ({**BYOC_ON, **FACTS}, {"byoc": BYOC_NO_IRSA}, State.NEEDS_SECOND_UP),
    ({**BYOC_ON, **FACTS}, {"byoc": "[secret]"}, State.NEEDS_SECOND_UP),
    ({**BYOC_ON, **FACTS}, {"byoc": BYOC_DONE}, State.COMPLETE),
])
def test_detect_phase(config: dict[str, str], outputs: dict[str, Any], state: State) -> None:
    assert detect_phase("prod", config, outputs).state is state


def test_waiting_for_clickhouse_asks_only_for_the_missing_fact() -> None:
    status = detect_phase("prod", {**BYOC_ON, OIDC_ISSUER: FACTS[OIDC_ISSUER]}, {"byoc": BYOC_NO_IRSA})
    assert f"pulumi config set {NLB_DNS} <nlb-dns-name> --stack prod" in status.next_step
    assert OIDC_ISSUER not in status.next_step
    assert "python -m scripts.stack bootstrap --stack prod --yes" in status.next_step


def test_describe_lists_three_phases_in_order_with_non_byoc_ones_not_applicable() -> None:
    text = describe(detect_phase("dev", {}, {}))
    lines = text.splitlines()
    assert lines[0] == "Apply order for stack 'dev':"
    assert lines[1].startswith("  [next] 1. ClickHouse service and base AWS infrastructure")
    assert lines[2].startswith("  [n/a] 2. BYOC handoff document")
    assert lines[3].startswith("  [n/a] 3. After ClickHouse creates EKS and the NLB")
    assert lines[4] == "Next: Run phase 1: `python -m scripts.stack bootstrap --stack dev`."
