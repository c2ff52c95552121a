"""Checks of who watches the BYOC account: a multi-region CloudTrail trail that is logging, and a summary of what
ClickHouse's management role did recently, read from CloudTrail's event history.

Event history (``LookupEvents``) is kept per region, so the activity check asks every region enabled for the account;
activity anywhere but the stack's region is a finding, except for global services (IAM, STS's global endpoint,
Route53, ...) whose events AWS records in us-east-1 whatever region the caller works in. The lookup is by user name:
CloudTrail's user name of an assumed-role session is its session name, which ClickHouse's controllers set to the
role's name; sessions named otherwise do not show up here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

from scripts.audit.aws import ACCESS_DENIED_CODES
from scripts.audit.checks import AuditContext, Check, byoc_outputs, needs_byoc
from scripts.audit.model import Finding, parse_arn

# Services whose API calls CloudTrail records in us-east-1 whatever region the caller works in.
GLOBAL_EVENT_SOURCES = frozenset({
    "iam.amazonaws.com", "sts.amazonaws.com", "route53.amazonaws.com", "organizations.amazonaws.com",
    "cloudfront.amazonaws.com", "globalaccelerator.amazonaws.com", "support.amazonaws.com",
})
GLOBAL_EVENTS_REGION = "us-east-1"
# LookupEvents allows two requests a second per account and region; one page of the newest events per region is a
# summary, not an export.
_EVENTS_PER_REGION = 50
# GetTrailStatus's answers for a trail that went away between DescribeTrails and the status read.
TRAIL_GONE = frozenset({"TrailNotFoundException", "CloudTrailARNInvalidException"})


def _owner(trail: dict[str, Any]) -> str | None:
    arn = parse_arn(str(trail.get("TrailARN", "")))
    return arn.account if arn else None


def check_trail(ctx: AuditContext) -> list[Finding]:
    account = byoc_outputs(ctx).account_id
    trails = ctx.aws.call("cloudtrail", "describe_trails", includeShadowTrails=True).get("trailList", [])
    multi_region = [trail for trail in trails if trail.get("IsMultiRegionTrail")]
    unreadable = []
    for trail in multi_region:
        owner = _owner(trail)
        foreign = owner is not None and owner != account
        # An organization trail belongs to the management account, which may keep its status from member accounts.
        status = ctx.aws.call(
            "cloudtrail", "get_trail_status", Name=trail["TrailARN"],
            missing=TRAIL_GONE | (ACCESS_DENIED_CODES if foreign else frozenset()),
        )
        if status is None and foreign:
            unreadable.append(f"{trail['Name']} (account {owner}, home region {trail.get('HomeRegion', '?')})")
        elif status and status.get("IsLogging"):
            ctx.details.setdefault("cloudtrail", []).append(
                f"trail {trail['Name']} (home region {trail.get('HomeRegion', '?')}) logs every region"
            )
            return []
    if unreadable:
        ctx.details.setdefault("cloudtrail", []).extend(f"trail {name}: status unknown" for name in unreadable)
        return [Finding(
            "audit-cloudtrail-status-unknown", account,
            f"this account may not read the status of the organization trail(s) {', '.join(unreadable)}; ask the "
            "trail's owner to confirm it is logging (GetTrailStatus in its home region)",
        )]
    if multi_region:
        names = ", ".join(trail["Name"] for trail in multi_region)
        message = f"the account's multi-region trails ({names}) are not logging"
    else:
        message = "the account has no multi-region CloudTrail trail, so no API call in it is recorded everywhere"
    return [Finding("audit-cloudtrail-multi-region", byoc_outputs(ctx).account_id, message)]


def _enabled_regions(ctx: AuditContext) -> list[str]:
    regions = ctx.aws.call("ec2", "describe_regions", Filters=[
        {"Name": "opt-in-status", "Values": ["opt-in-not-required", "opted-in"]},
    ])["Regions"]
    names = sorted({region["RegionName"] for region in regions} | {ctx.region})
    return [ctx.region] + [name for name in names if name != ctx.region]


def _event_region(event: dict[str, Any], region: str) -> str:
    try:
        recorded = json.loads(event.get("CloudTrailEvent") or "{}").get("awsRegion")
    except (ValueError, AttributeError):
        recorded = None
    return recorded if isinstance(recorded, str) and recorded else region


def check_management_activity(ctx: AuditContext) -> list[Finding]:
    role = byoc_outputs(ctx).management_role_name
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=ctx.options.activity_days)
    calls: Counter[tuple[str, str]] = Counter()
    elsewhere: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for region in _enabled_regions(ctx):
        events = ctx.aws.in_region(region).call(
            "cloudtrail", "lookup_events", LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": role}],
            StartTime=since, MaxResults=_EVENTS_PER_REGION,
        ).get("Events", [])
        for event in events:
            where = _event_region(event, region)
            source = event.get("EventSource", "unknown")
            calls[(where, source)] += 1
            global_event = source in GLOBAL_EVENT_SOURCES and where == GLOBAL_EVENTS_REGION
            if where != ctx.region and not global_event:
                elsewhere[where] += 1
                examples.setdefault(where, f"{event.get('EventName', '?')} on {source}")
    lines = ctx.details.setdefault("management-activity", [])
    if not calls:
        lines.append(f"no events by {role} in the last {ctx.options.activity_days} days")
    lines += [f"{count} event(s) on {source} in {where}" for (where, source), count in sorted(calls.items())]
    return [
        Finding(
            "audit-management-role-region", role,
            f"{count} event(s) by {role} in {where} (for example {examples[where]}), outside the stack's region "
            f"{ctx.region}",
        )
        for where, count in sorted(elsewhere.items())
    ]


TRAIL_CHECKS: tuple[Check, ...] = (
    Check("cloudtrail", "A multi-region CloudTrail trail is logging in the BYOC account", check_trail, needs_byoc),
    Check("management-activity", "ClickHouse's management role acted only in the stack's region (CloudTrail, recent "
                                 "days)", check_management_activity, needs_byoc),
)
