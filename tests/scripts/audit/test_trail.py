"""Who watches the BYOC account (``scripts.audit.trail``): a multi-region trail that logs, and the management role's
recent activity from CloudTrail's event history of every enabled region (answered by the test double in
``account.py``, since moto has no LookupEvents)."""

from __future__ import annotations

from scripts.audit.aws import ReadOnlyAws
from scripts.audit.checks import AuditContext, run_checks
from scripts.audit.model import CheckResult, CheckStatus, parse_outputs
from scripts.audit.trail import TRAIL_CHECKS
from tests.scripts.audit.account import EVENTS, OTHER_REGION, REGION, Built, record_event, reused_clients


def judge(built: Built, check_id: str, region: str = REGION) -> CheckResult:
    """Run one of ``TRAIL_CHECKS`` as an audit of a stack in ``region`` would."""
    [check] = [check for check in TRAIL_CHECKS if check.check_id == check_id]
    aws = ReadOnlyAws(built._session or reused_clients(), region)
    [result] = run_checks(AuditContext(parse_outputs(built.outputs), aws), [check])
    return result


def test_a_logging_multi_region_trail_passes_and_is_named(ch_built: Built) -> None:
    result = judge(ch_built, "cloudtrail")
    assert result.status is CheckStatus.PASS
    assert result.details == (f"trail organization (home region {REGION}) logs every region",)


def test_a_trail_that_stopped_logging(ch_built: Built) -> None:
    ch_built.client("cloudtrail").stop_logging(Name="organization")
    [finding] = judge(ch_built, "cloudtrail").findings
    assert finding.policy == "audit-cloudtrail-multi-region" and "(organization) are not logging" in finding.message


def test_only_a_single_region_trail(ch_built: Built) -> None:
    cloudtrail = ch_built.client("cloudtrail")
    cloudtrail.delete_trail(Name="organization")
    cloudtrail.create_trail(Name="local", S3BucketName="cloudtrail-123456789012", IsMultiRegionTrail=False)
    cloudtrail.start_logging(Name="local")
    [finding] = judge(ch_built, "cloudtrail").findings
    assert finding.policy == "audit-cloudtrail-multi-region" and "no multi-region CloudTrail trail" in finding.message


def test_management_activity_in_the_stacks_region_is_summarised(ch_built: Built) -> None:
    record_event(OTHER_REGION, "ec2.amazonaws.com", "RunInstances", user="someone-else")
    result = judge(ch_built, "management-activity")
    assert result.status is CheckStatus.PASS
    assert result.details == (f"1 event(s) on ec2.amazonaws.com in {REGION}",
                              f"1 event(s) on iam.amazonaws.com in {REGION}")


def test_management_activity_in_another_region(ch_built: Built) -> None:
    record_event(OTHER_REGION, "ec2.amazonaws.com", "RunInstances")
    record_event(OTHER_REGION, "eks.amazonaws.com", "CreateCluster")
    [finding] = judge(ch_built, "management-activity").findings
    assert finding.policy == "audit-management-role-region" and finding.resource_id == "ClickHouseManagementRole"
    assert finding.message.startswith(f"2 event(s) by ClickHouseManagementRole in {OTHER_REGION} (for example "
                                      "RunInstances on ec2.amazonaws.com)")


def test_global_services_are_recorded_in_us_east_1_and_are_no_finding(ch_built: Built) -> None:
    """For a stack in eu-west-1, ClickHouse's IAM calls land in us-east-1's history; its EC2 calls there do not."""
    [finding] = judge(ch_built, "management-activity", region=OTHER_REGION).findings
    assert finding.message.startswith(f"1 event(s) by ClickHouseManagementRole in {REGION} (for example "
                                      "DescribeInstances on ec2.amazonaws.com)")


def test_no_activity_yet(ch_built: Built) -> None:
    EVENTS.clear()
    result = judge(ch_built, "management-activity")
    assert result.status is CheckStatus.PASS and result.details == ("no events by ClickHouseManagementRole in the last "
                                                                    "7 days",)
