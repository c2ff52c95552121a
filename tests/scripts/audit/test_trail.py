"""Who watches the BYOC account (``scripts.audit.trail``): a multi-region trail that logs, and the management role's
recent activity from CloudTrail's event history of every enabled region (answered by the test double in
``account.py``, since moto has no LookupEvents)."""

from __future__ import annotations

import pytest
from botocore.awsrequest import AWSResponse

from scripts.audit.model import AuditError, CheckStatus
from tests.scripts.audit.account import (
    ACCOUNT, EVENTS, OTHER_REGION, REGION, Built, fail_call, patch_response, record_event, run_check,
)


def test_a_logging_multi_region_trail_passes_and_is_named(ch_built: Built) -> None:
    result = run_check(ch_built, "cloudtrail")
    assert result.status is CheckStatus.PASS
    assert result.details == (f"trail organization (home region {REGION}) logs every region",)


def test_a_trail_that_stopped_logging(ch_built: Built) -> None:
    ch_built.client("cloudtrail").stop_logging(Name="organization")
    [finding] = run_check(ch_built, "cloudtrail").findings
    assert finding.policy == "audit-cloudtrail-multi-region" and "(organization) are not logging" in finding.message


def test_only_a_single_region_trail(ch_built: Built) -> None:
    cloudtrail = ch_built.client("cloudtrail")
    cloudtrail.delete_trail(Name="organization")
    cloudtrail.create_trail(Name="local", S3BucketName="cloudtrail-123456789012", IsMultiRegionTrail=False)
    cloudtrail.start_logging(Name="local")
    [finding] = run_check(ch_built, "cloudtrail").findings
    assert finding.policy == "audit-cloudtrail-multi-region" and "no multi-region CloudTrail trail" in finding.message


def test_management_activity_in_the_stacks_region_is_summarised(ch_built: Built) -> None:
    record_event(OTHER_REGION, "ec2.amazonaws.com", "RunInstances", user="someone-else")
    result = run_check(ch_built, "management-activity")
    assert result.status is CheckStatus.PASS
    assert result.details == (f"1 event(s) on ec2.amazonaws.com in {REGION}",
                              f"1 event(s) on iam.amazonaws.com in {REGION}")


def test_management_activity_in_another_region(ch_built: Built) -> None:
    record_event(OTHER_REGION, "ec2.amazonaws.com", "RunInstances")
    record_event(OTHER_REGION, "eks.amazonaws.com", "CreateCluster")
    [finding] = run_check(ch_built, "management-activity").findings
    assert finding.policy == "audit-management-role-region" and finding.resource_id == "ClickHouseManagementRole"
    assert finding.message.startswith(f"2 event(s) by ClickHouseManagementRole in {OTHER_REGION} (for example "
                                      "RunInstances on ec2.amazonaws.com)")


def test_global_services_are_recorded_in_us_east_1_and_are_no_finding(ch_built: Built) -> None:
    """For a stack in eu-west-1, ClickHouse's IAM calls land in us-east-1's history; its EC2 calls there do not."""
    [finding] = run_check(ch_built, "management-activity", region=OTHER_REGION).findings
    assert finding.message.startswith(f"1 event(s) by ClickHouseManagementRole in {REGION} (for example "
                                      "DescribeInstances on ec2.amazonaws.com)")


def test_no_activity_yet(ch_built: Built) -> None:
    EVENTS.clear()
    result = run_check(ch_built, "management-activity")
    assert result.status is CheckStatus.PASS and result.details == ("no events by ClickHouseManagementRole in the last "
                                                                    "7 days",)


def organization_trail(built: Built, owner: str = "210987654321") -> str:
    """This account sees only the organization's trail, owned by the management account (answered in place of moto,
    which has no organization trails)."""
    arn = f"arn:aws:cloudtrail:{REGION}:{owner}:trail/organization"
    patch_response(built.session, "cloudtrail.DescribeTrails", lambda parsed: parsed.update(trailList=[{
        "Name": "organization", "TrailARN": arn, "HomeRegion": REGION, "IsMultiRegionTrail": True,
        "IsOrganizationTrail": True}]))
    return arn


@pytest.mark.parametrize("code", ["AccessDeniedException", "TrailNotFoundException"])
def test_an_organization_trail_whose_status_is_hidden_is_unknown_not_an_error(ch_built: Built, code: str) -> None:
    organization_trail(ch_built)
    fail_call(ch_built.session, "cloudtrail.GetTrailStatus", code, "not visible to member accounts")
    result = run_check(ch_built, "cloudtrail")
    [finding] = result.findings
    assert finding.policy == "audit-cloudtrail-status-unknown"
    assert "organization (account 210987654321, home region us-east-1)" in finding.message
    assert result.details == ("trail organization (account 210987654321, home region us-east-1): status unknown",)


def test_an_organization_trail_whose_status_is_readable_passes(ch_built: Built) -> None:
    organization_trail(ch_built)
    # The management account shares the status (moto has no trail under another account to answer from).
    ch_built.session.events.register("before-call.cloudtrail.GetTrailStatus", lambda **_: (
        AWSResponse("https://aws.invalid", 200, {}, None), {"IsLogging": True}))
    result = run_check(ch_built, "cloudtrail")
    assert result.status is CheckStatus.PASS
    assert result.details == (f"trail organization (home region {REGION}) logs every region",)


def test_access_denied_on_the_accounts_own_trail_still_stops_the_audit(ch_built: Built) -> None:
    organization_trail(ch_built, owner=ACCOUNT)
    fail_call(ch_built.session, "cloudtrail.GetTrailStatus", "AccessDeniedException", "no cloudtrail:GetTrailStatus")
    with pytest.raises(AuditError, match="denied cloudtrail:GetTrailStatus"):
        run_check(ch_built, "cloudtrail")
