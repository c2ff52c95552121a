"""``python -m scripts.audit``: the report in human and JSON form, exit 1 on findings, exit 2 with one paragraph when the
audit cannot run (bad file, wrong account or region, no credentials, a throttled or denied call)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import boto3
import pytest

from scripts.audit.cli import main
from scripts.project import REPO
from tests.scripts.audit.account import ACCOUNT, CLUSTER, Built, allow_from_cidr, fail_call, new_session, sample


def write_outputs(tmp_path: Path, outputs: dict[str, Any]) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    return path


def test_cli_clean_run_prints_one_line_per_check_and_a_summary(
    prod: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str], cli_uses: Callable[[boto3.Session], None]
) -> None:
    cli_uses(prod.session)
    assert main(["--outputs", str(write_outputs(tmp_path, prod.outputs))]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Prod runs no metrics agent: its two checks are not applicable.
    assert sum(line.startswith("PASS ") for line in lines) == 26
    assert lines[-1] == "Summary: CLEAN: 28 checks, 26 passed, 0 failed, 2 skipped, 0 not yet built; 0 findings."


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
    assert "Summary: FINDINGS: 28 checks, 25 passed, 1 failed, 2 skipped, 0 not yet built; 1 finding." in out

    assert main(["--outputs", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "findings" and report["exit_code"] == 1
    assert report["summary"] == {"checks": 28, "passed": 25, "failed": 1, "skipped": 2, "not_built": 0, "findings": 1}
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
    ("[1, 2]", "must hold a JSON object of stack outputs, not an array"),
    ("[" * 5000 + "]" * 5000, "nests values"),
    ('{"aws_region": ' + "9" * 5000 + "}", "holds an integer with 5000 digits"),
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
    (("vpc_id",), "required output 'vpc_id' is missing"),
    (("byoc", "kms_key_arns", "s3"), "required output 'byoc.kms_key_arns.s3' is missing"),
    (("byoc", "buckets", "backups"), "required output 'byoc.buckets.backups' is missing"),
    (("alarm_names",), "required output 'alarm_names' is missing"),
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


@pytest.mark.parametrize("changes, needle", [
    ({"alarm_names": "clickhouse-aws-dev-endpoint-resets"}, "output 'alarm_names' must be a list of non-empty strings"),
    ({"metrics_workspace_id": "ws-1"}, "output 'metrics_workspace_id' comes without its metricsEnabled partner"),
    ({"metrics_agent_service_arn": "arn:aws:ecs:us-east-1:111122223333:service/c/s"},
     "output 'metrics_agent_service_arn' comes without its metricsEnabled partner"),
    ({"metrics_workspace_id": "ws-1", "metrics_agent_service_arn": "arn:aws:sns:us-east-1:111122223333:t"},
     "'metrics_agent_service_arn'"),
])
def test_observability_outputs_out_of_contract(aws_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               changes: dict, needle: str) -> None:
    code, _, err = run_cli(["--outputs", str(write_outputs(tmp_path, {**sample("dev"), **changes}))], capsys)
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


def test_module_entry_point_reports_without_traceback(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    result = subprocess.run(
        [sys.executable, "-m", "scripts.audit", "--outputs", str(tmp_path / "missing.json")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "missing.json does not exist" in result.stderr


def test_outputs_from_standard_input(prod: Built, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                     cli_uses: Callable[[boto3.Session], None]) -> None:
    cli_uses(prod.session)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(prod.outputs).encode())))
    assert main(["--outputs", "-", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "clean"


def test_hostile_standard_input_exits_2(aws_env: None, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"aws_region": "\xff"}')))
    code, _, err = run_cli(["--outputs", "-"], capsys)
    assert_clean_error(code, err, "Standard input is not UTF-8 text (byte 16)")


def test_the_eks_flag_reaches_the_check(prod: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        cli_uses: Callable[[boto3.Session], None]) -> None:
    cli_uses(prod.session)
    prod.client("eks").update_cluster_config(name=CLUSTER, resourcesVpcConfig={"endpointPublicAccess": True})
    path = write_outputs(tmp_path, prod.outputs)
    assert main(["--outputs", str(path)]) == 1
    assert "[eks-no-public-endpoint] clickhouse-cloud-" in capsys.readouterr().out
    assert main(["--outputs", str(path), "--allow-eks-public-endpoint"]) == 0
