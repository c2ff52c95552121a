"""The live audit run against compliant moto accounts (``scripts.audit.run``): every check passes or is skipped with a
reason, only read calls are made, and a failure to run is an ``AuditError`` for the stack script."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.audit.aws import FORBIDDEN_OPERATIONS, is_read_only
from scripts.audit.model import AuditError, CheckResult, CheckStatus, parse_outputs
from scripts.audit.run import ALL_CHECKS, AuditReport, run_audit
from tests.scripts.audit.account import ACCOUNT, REGION, Built, CleanRun, fail_call, new_session, sample


def test_clean_byoc_account_passes_every_check(clean: dict[str, CleanRun]) -> None:
    """The byoc stack's shape: ClickHouse's bootstrap deployed by CloudFormation, the metrics agent on."""
    report = clean["byoc"].report
    assert report.findings == []
    assert report.exit_code == 0
    assert {c.status for c in report.checks} == {CheckStatus.PASS}
    assert (report.account_id, report.region) == (ACCOUNT, REGION)
    assert len(report.checks) == len(ALL_CHECKS) == 28


def test_clean_prod_account_passes_and_has_no_metrics_to_check(clean: dict[str, CleanRun]) -> None:
    report = clean["prod"].report
    assert report.exit_code == 0 and report.findings == []
    skipped = {c.check_id: c.skip_reason for c in report.checks if c.status is CheckStatus.SKIP}
    assert set(skipped) == {"metrics-workspace", "metrics-agent"}
    assert all(reason.startswith("not applicable: the outputs have no metrics_workspace_id") for reason in skipped.values())
    assert {c.status for c in report.checks} == {CheckStatus.PASS, CheckStatus.SKIP}


def test_clean_dev_account_skips_byoc_and_key_checks_with_reasons(clean: dict[str, CleanRun]) -> None:
    report = clean["dev"].report
    assert report.exit_code == 0
    skipped = {c.check_id: c.skip_reason for c in report.checks if c.status is CheckStatus.SKIP}
    assert set(skipped) == {"kms-keys", "byoc-internet-path", "byoc-endpoints", "byoc-buckets", "byoc-role-trust",
                            "byoc-log-groups", "byoc-zone", "clickhouse-eks", "clickhouse-instances",
                            "clickhouse-volumes", "clickhouse-load-balancers", "clickhouse-buckets",
                            "clickhouse-security-groups", "cloudtrail", "management-activity", "byoc-bootstrap",
                            "metrics-workspace", "metrics-agent"}
    assert all(skipped.values())
    [line] = [line for line in report.render().splitlines() if line.split()[:2] == ["SKIP", "byoc-zone"]]
    assert line.endswith("(the stack has no byoc output (BYOC is not enabled))")
    assert {c.check_id for c in report.checks if c.status is CheckStatus.PASS} == {
        "outputs-region", "clickhouse-endpoint", "endpoint-sg-ingress", "sg-no-public-ingress", "vpc-flow-logs",
        "private-zone", "password-secret", "alarm-topic", "alarms", "dashboard"}


def test_generated_outputs_have_the_contract_shape_of_the_samples(clean: dict[str, CleanRun]) -> None:
    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: shape(child) for key, child in value.items()}
        return type(value).__name__

    for stack in ("prod", "dev"):
        assert shape(clean[stack].outputs) == shape(sample(stack))


def test_samples_parse_and_name_one_account_and_region() -> None:
    prod, dev = parse_outputs(sample("prod")), parse_outputs(sample("dev"))
    assert prod.byoc is not None and prod.byoc.role_arns.keys() == {"eks_node", "management", "pods"}
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


def test_no_configured_region_uses_the_stacks(dev: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    report = run_audit(dev.outputs, new_session())
    assert (report.region, report.exit_code) == (REGION, 0)


def test_run_audit_raises_audit_error_for_the_stack_script(prod: Built) -> None:
    fail_call(prod.session, "iam.GetRole", "AccessDenied", "not allowed")
    with pytest.raises(AuditError, match="denied iam:GetRole"):
        prod.audit()


def test_a_byoc_stack_without_privatelink_or_service_skips_those_checks_with_reasons(prod: Built) -> None:
    """The byoc stack before ClickHouse reports its infrastructure: no endpoint, zone, service or password secret."""
    for key in ("vpc_endpoint_id", "vpc_endpoint_service_name", "endpoint_security_group_id", "client_security_group_id",
                "private_dns_hostname", "private_dns_zone_id", "clickhouse_url", "clickhouse_user",
                "clickhouse_password_secret_arn", "clickhouse_password_kms_key_id", "service_id"):
        prod.outputs.pop(key, None)
    parsed = parse_outputs(prod.outputs)
    assert (parsed.vpc_endpoint_id, parsed.password_secret_arn) == (None, None)
    skipped = {c.check_id: c.skip_reason for c in prod.audit().checks if c.status is CheckStatus.SKIP}
    assert {"clickhouse-endpoint", "endpoint-sg-ingress", "private-zone", "password-secret"} <= set(skipped)
    assert "no PrivateLink endpoint" in skipped["private-zone"] and "no ClickHouse service" in skipped["password-secret"]


def test_not_yet_built_and_details_in_both_report_forms() -> None:
    report = AuditReport(ACCOUNT, REGION, (
        CheckResult("clickhouse-eks", "EKS", CheckStatus.NOT_BUILT, skip_reason="not yet built: no EKS cluster"),
        CheckResult("cloudtrail", "Trail", CheckStatus.PASS, details=("trail org logs every region",)),
    ))
    assert report.exit_code == 0
    assert report.render().splitlines() == [
        f"Live audit of AWS account {ACCOUNT} in {REGION}",
        "NOT-BUILT  clickhouse-eks  EKS (not yet built: no EKS cluster)",
        "PASS       cloudtrail      Trail",
        "             trail org logs every region",
        "Summary: CLEAN: 2 checks, 1 passed, 0 failed, 0 skipped, 1 not yet built; 0 findings.",
    ]
    document = report.to_dict()
    assert document["summary"]["not_built"] == 1
    assert document["checks"][0] == {"id": "clickhouse-eks", "title": "EKS", "status": "not-built", "findings": 0,
                                     "skip_reason": "not yet built: no EKS cluster"}
    assert document["checks"][1]["details"] == ["trail org logs every region"]
