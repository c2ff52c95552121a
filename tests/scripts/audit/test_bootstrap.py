"""ClickHouse's bootstrap role (``scripts.audit.bootstrap``): its CloudFormation stack as DescribeStacks shows it
(answered by the double in ``account.py``; moto's CloudFormation is not installed) and the role itself (moto's IAM).
Each test breaks one thing and runs only the ``byoc-bootstrap`` check."""

from __future__ import annotations

import pytest

from scripts.audit.bootstrap import settled
from scripts.audit.model import AuditError, CheckStatus, parse_outputs
from tests.scripts.audit.account import (
    ACCOUNT, MANAGEMENT_TRUST, STACKS, Built, bootstrap_stack, run_check, sample, trust,
)

CHECK = "byoc-bootstrap"
# The ExternalId in the management role's trust: it must never reach a report.
TRUSTED_EXTERNAL_ID = MANAGEMENT_TRUST["Condition"]["StringEquals"]["sts:ExternalId"]


@pytest.fixture
def existing(ch_built: Built) -> Built:
    """The role made by the customer's security team (``existing``): only the role, as ClickHouse's template makes it."""
    arn = ch_built.client("iam").create_role(
        RoleName="ClickHouseManagementRole", AssumeRolePolicyDocument=trust(MANAGEMENT_TRUST))["Role"]["Arn"]
    ch_built.outputs["byoc"]["role_arns"]["management"] = arn
    ch_built.outputs["byoc"]["bootstrap_mode"] = "existing"
    return ch_built


@pytest.fixture
def deployed(existing: Built) -> Built:
    """``cloudformation``: the stack deployed ClickHouse's template, which made the role."""
    bootstrap_stack(existing)
    return existing


def policies(built: Built) -> set[str]:
    result = run_check(built, CHECK)
    assert result.status is (CheckStatus.FAIL if result.findings else CheckStatus.PASS)
    rendered = " ".join(f"{f.resource_id} {f.message}" for f in result.findings) + " ".join(result.details)
    assert TRUSTED_EXTERNAL_ID not in rendered
    return {finding.policy for finding in result.findings}


def test_cloudformation_outputs_must_name_the_stack() -> None:
    raw = sample("prod")
    raw["byoc"] = {**raw["byoc"], "bootstrap_mode": "cloudformation"}
    with pytest.raises(AuditError, match="'byoc.bootstrap_stack_name' is missing, though byoc.bootstrap_mode is "
                                         "cloudformation"):
        parse_outputs(raw)
    raw["byoc"]["bootstrap_stack_name"] = "clickhouse-aws-byoc-clickhouse-byoc-bootstrap"
    assert parse_outputs(raw).byoc.bootstrap_stack_name == "clickhouse-aws-byoc-clickhouse-byoc-bootstrap"


def test_a_completed_stack_with_clickhouses_trust_passes(deployed: Built) -> None:
    result = run_check(deployed, CHECK)
    assert result.status is CheckStatus.PASS
    [line] = result.details
    assert line.startswith("stack clickhouse-aws-prod-clickhouse-byoc-bootstrap: CREATE_COMPLETE, drift IN_SYNC")
    assert "cloudformation-template-allowed" in line


def test_an_existing_role_needs_no_stack(existing: Built) -> None:
    assert policies(existing) == set()


def test_the_stack_is_missing(deployed: Built) -> None:
    STACKS.clear()
    [finding] = run_check(deployed, CHECK).findings
    assert finding.policy == "audit-resource-exists"
    assert finding.resource_id == "clickhouse-aws-prod-clickhouse-byoc-bootstrap"


@pytest.mark.parametrize("status", ["UPDATE_ROLLBACK_COMPLETE", "ROLLBACK_COMPLETE", "CREATE_IN_PROGRESS",
                                    "UPDATE_FAILED"])
def test_a_stack_that_did_not_settle(deployed: Built, status: str) -> None:
    bootstrap_stack(deployed, StackStatus=status)
    [finding] = run_check(deployed, CHECK).findings
    assert finding.policy == "audit-cloudformation-stack-complete" and status in finding.message


@pytest.mark.parametrize("status, ok", [("CREATE_COMPLETE", True), ("UPDATE_COMPLETE", True), ("IMPORT_COMPLETE", True),
                                        ("UPDATE_ROLLBACK_COMPLETE", False), ("DELETE_COMPLETE", False),
                                        ("REVIEW_IN_PROGRESS", False)])
def test_settled(status: str, ok: bool) -> None:
    assert settled(status) is ok


def test_vpc_write_permissions(deployed: Built) -> None:
    bootstrap_stack(deployed, Parameters=[{"ParameterKey": "ExternalId", "ParameterValue": "****"},
                                          {"ParameterKey": "IncludeVPCWritePermissions", "ParameterValue": "true"}])
    assert policies(deployed) == {"audit-bootstrap-parameters"}


def test_no_external_id_parameter(deployed: Built) -> None:
    bootstrap_stack(deployed, Parameters=[{"ParameterKey": "IncludeVPCWritePermissions", "ParameterValue": "false"}])
    assert policies(deployed) == {"cloudformation-external-id-secret"}


def test_an_external_id_shown_in_clear_is_a_finding_that_does_not_repeat_it(deployed: Built) -> None:
    bootstrap_stack(deployed, Parameters=[{"ParameterKey": "ExternalId", "ParameterValue": "leaked-external-id"},
                                          {"ParameterKey": "IncludeVPCWritePermissions", "ParameterValue": "false"}])
    [finding] = run_check(deployed, CHECK).findings
    assert finding.policy == "cloudformation-external-id-secret" and "in clear text" in finding.message
    assert "leaked-external-id" not in f"{finding.resource_id} {finding.message}"


def test_drift(deployed: Built) -> None:
    bootstrap_stack(deployed, DriftInformation={"StackDriftStatus": "DRIFTED"})
    assert policies(deployed) == {"audit-cloudformation-drift"}


def test_no_drift_information_is_reported_as_such(deployed: Built) -> None:
    bootstrap_stack(deployed, DriftInformation={})
    result = run_check(deployed, CHECK)
    assert result.status is CheckStatus.PASS and "drift not reported" in result.details[0]


@pytest.mark.parametrize("mode", ["existing", "cloudformation"])
def test_the_role_is_missing(existing: Built, mode: str) -> None:
    if mode == "cloudformation":
        bootstrap_stack(existing)
    existing.client("iam").delete_role(RoleName="ClickHouseManagementRole")
    [finding] = run_check(existing, CHECK).findings
    assert (finding.policy, finding.resource_id) == ("audit-resource-exists", "ClickHouseManagementRole")


def test_the_outputs_hand_clickhouse_another_role(existing: Built) -> None:
    existing.outputs["byoc"]["role_arns"]["management"] = f"arn:aws:iam::{ACCOUNT}:role/clickhouse/ClickHouseManagementRole"
    [finding] = run_check(existing, CHECK).findings
    assert finding.policy == "audit-bootstrap-role"
    assert finding.message.endswith("ClickHouse assumes exactly ClickHouseManagementRole in the BYOC account")


@pytest.mark.parametrize("statement", [
    {**MANAGEMENT_TRUST, "Principal": {"AWS": "arn:aws:iam::210987654321:root"}},
    {key: value for key, value in MANAGEMENT_TRUST.items() if key != "Condition"},
    {**MANAGEMENT_TRUST, "Condition": {"StringEquals": {"aws:PrincipalAccount": "426924874929"}}},
], ids=["another-account", "no-condition", "no-external-id"])
def test_a_trust_that_is_not_clickhouses(deployed: Built, statement: dict) -> None:
    deployed.client("iam").update_assume_role_policy(RoleName="ClickHouseManagementRole", PolicyDocument=trust(statement))
    assert policies(deployed) == {"audit-bootstrap-role-trust"}


def test_the_bare_account_id_is_clickhouses_trust_too(deployed: Built) -> None:
    statement = {**MANAGEMENT_TRUST, "Principal": {"AWS": "426924874929"}}
    deployed.client("iam").update_assume_role_policy(RoleName="ClickHouseManagementRole", PolicyDocument=trust(statement))
    assert policies(deployed) == set()
