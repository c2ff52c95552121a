"""The check's AWS reads against moto: the operation guard, the IAM policy document, and the failures that stop a
run with exit code 2 before anything is contacted."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from scripts.verify.__main__ import main
from scripts.verify.aws import OPERATIONS, VerifyAws
from scripts.verify.report import VerifyError
from tests.scripts.verify.support import PASSWORD, REGION, LoopbackNetwork

POLICY = Path(__file__).resolve().parents[3] / "docs" / "verify-iam-policy.json"


def fail_call(session: Any, operation: str, code: str, message: str = "test") -> None:
    """Make ``operation`` answer with an AWS error (moto models neither denial nor KMS failures)."""
    def hook(model: Any, **_: Any) -> None:
        if model.name == operation:
            raise ClientError({"Error": {"Code": code, "Message": message}}, operation)
    session.events.register("before-call", hook)


def verify(stack, capsys, network=None) -> tuple[int, str, str, LoopbackNetwork]:
    network = network or LoopbackNetwork()
    code = main(["--outputs", "-", "--json"], stdin=io.BytesIO(json.dumps(stack.outputs).encode()),
                session=stack.session, network=network)
    out, err = capsys.readouterr()
    return code, out, err, network


def test_the_guard_refuses_any_other_operation_before_it_is_sent(stack):
    aws = VerifyAws(stack.session, REGION)
    ec2 = aws.client("ec2")
    with pytest.raises(VerifyError, match="refused to call ec2:CreateVpc"):
        ec2.create_vpc(CidrBlock="10.1.0.0/16")
    assert len(stack.client("ec2").describe_vpcs()["Vpcs"]) == 2  # the stack's and moto's default VPC only


def test_the_policy_document_grants_exactly_the_operations_the_check_may_call():
    statements = json.loads(POLICY.read_text())["Statement"]
    granted = {action for statement in statements for action in statement["Action"]}
    # kms:Decrypt is what GetSecretValue needs on a customer key; the check never calls KMS itself.
    assert granted - {"kms:Decrypt"} == {f"{service}:{operation}" for service, operation in OPERATIONS}
    (decrypt,) = [s for s in statements if s["Action"] == ["kms:Decrypt"]]
    assert decrypt["Condition"] == {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}}


@pytest.mark.parametrize("operation, code, message", [
    ("GetSecretValue", "AccessDeniedException",
     "AWS denied secretsmanager:GetSecretValue (AccessDeniedException: test). The check needs the permissions in "
     "docs/verify-iam-policy.json"),
    ("GetSecretValue", "DecryptionFailure", "Secrets Manager could not decrypt the password secret (test). The "
                                            "identity needs kms:Decrypt"),
    ("DescribeVpcEndpoints", "UnauthorizedOperation", "AWS denied ec2:DescribeVpcEndpoints"),
    ("GetCallerIdentity", "ExpiredToken", "AWS rejected the credentials on sts:GetCallerIdentity (ExpiredToken"),
    ("DescribeVpcs", "RequestLimitExceeded", "ec2:DescribeVpcs failed with RequestLimitExceeded: test."),
])
def test_aws_failures_stop_the_run_before_any_traffic(stack, capsys, operation, code, message):
    fail_call(stack.session, operation, code)
    exit_code, out, err, network = verify(stack, capsys)
    assert exit_code == 2
    assert message in err and message in json.loads(out)["error"]
    assert network.resolved == [] and network.contacted == []
    assert "Traceback" not in err


def test_credentials_for_another_account_stop_the_run(stack, capsys):
    stack.outputs["clickhouse_password_secret_arn"] = stack.outputs["clickhouse_password_secret_arn"].replace(
        ":123456789012:", ":111122223333:")
    exit_code, _, err, network = verify(stack, capsys)
    assert exit_code == 2
    assert "The credentials belong to AWS account 123456789012, but the stack's secret is in account 111122223333" \
        in err
    assert network.resolved == []


@pytest.mark.parametrize("variable, value", [
    ("AWS_ENDPOINT_URL", "not a url"),
    ("AWS_ENDPOINT_URL_STS", "http://[::1"),
    # The check pins its own retries, but a broken environment is named rather than silently ignored.
    ("AWS_MAX_ATTEMPTS", "abc"),
    ("AWS_RETRY_MODE", "bogus"),
])
def test_malformed_aws_settings_stop_the_run_with_a_message(stack, capsys, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    network = LoopbackNetwork()
    code = main(["--outputs", "-"], stdin=io.BytesIO(json.dumps(stack.outputs).encode()), network=network)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"verify could not run: The AWS settings in the environment are not usable: {variable} is ")
    assert "Traceback" not in err
    assert network.resolved == [], "nothing was contacted"


def test_no_credentials_stop_the_run(stack, capsys, monkeypatch):
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable)
    code = main(["--outputs", "-"], stdin=io.BytesIO(json.dumps(stack.outputs).encode()), network=LoopbackNetwork())
    assert code == 2
    assert "No usable AWS credentials were found" in capsys.readouterr().err


def test_a_binary_or_missing_secret_is_a_finding_not_an_error(stack, capsys):
    secrets = stack.client("secretsmanager")
    secrets.put_secret_value(SecretId=stack.outputs["clickhouse_password_secret_arn"], SecretBinary=b"\x00\x01")
    exit_code, out, _, _ = verify(stack, capsys)
    checks = {check["id"]: check for check in json.loads(out)["checks"]}
    assert exit_code == 1
    assert checks["credentials"]["status"] == "fail" and checks["query"]["status"] == "skip"
    secrets.delete_secret(SecretId=stack.outputs["clickhouse_password_secret_arn"], ForceDeleteWithoutRecovery=True)
    exit_code, out, _, _ = verify(stack, capsys)
    checks = {check["id"]: check for check in json.loads(out)["checks"]}
    assert exit_code == 1
    assert checks["credentials"]["message"].endswith("does not exist in us-east-1.")
    assert PASSWORD not in out
