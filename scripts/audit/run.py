"""One audit run: the stack's account and region confirmed, every check run, and the report of what was found."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3

from scripts.aws_settings import settings_error
from scripts.audit.aws import ReadOnlyAws, translated
from scripts.audit.bootstrap import BOOTSTRAP_CHECKS
from scripts.audit.built import BUILT_CHECKS
from scripts.audit.checks import CHECKS, AuditContext, AuditOptions, run_checks
from scripts.audit.observability import OBSERVABILITY_CHECKS
from scripts.audit.trail import TRAIL_CHECKS
from scripts.audit.model import (
    REGENERATE, AuditError, CheckResult, CheckStatus, Finding, StackOutputs, parse_outputs,
)
from scripts.check_status import EXIT_CLEAN, EXIT_FINDINGS

# The stack's own resources and how it is watched, ClickHouse's bootstrap role, then what ClickHouse builds in a BYOC
# account, then who acts in it.
ALL_CHECKS = CHECKS + OBSERVABILITY_CHECKS + BOOTSTRAP_CHECKS + BUILT_CHECKS + TRAIL_CHECKS


@dataclass(frozen=True)
class AuditReport:
    """Results of one audit run against one account and region."""

    account_id: str
    region: str
    checks: tuple[CheckResult, ...]

    @property
    def findings(self) -> list[tuple[str, Finding]]:
        """(check id, finding) for every finding, in check order."""
        return [(check.check_id, finding) for check in self.checks for finding in check.findings]

    @property
    def exit_code(self) -> int:
        return EXIT_FINDINGS if self.findings else EXIT_CLEAN

    def _count(self, status: CheckStatus) -> int:
        return sum(1 for check in self.checks if check.status is status)

    def summary(self) -> dict[str, int]:
        return {
            "checks": len(self.checks),
            "passed": self._count(CheckStatus.PASS),
            "failed": self._count(CheckStatus.FAIL),
            "skipped": self._count(CheckStatus.SKIP),
            "not_built": self._count(CheckStatus.NOT_BUILT),
            "findings": len(self.findings),
        }

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable report that ``--json`` prints."""
        return {
            "status": "findings" if self.findings else "clean",
            "exit_code": self.exit_code,
            "account_id": self.account_id,
            "region": self.region,
            "summary": self.summary(),
            "checks": [
                {
                    "id": check.check_id,
                    "title": check.title,
                    "status": check.status.value,
                    "findings": len(check.findings),
                    **({"skip_reason": check.skip_reason} if check.skip_reason else {}),
                    **({"details": list(check.details)} if check.details else {}),
                }
                for check in self.checks
            ],
            "findings": [
                {"policy": f.policy, "resource_id": f.resource_id, "message": f.message, "check": check_id}
                for check_id, f in self.findings
            ],
        }

    def render(self) -> str:
        """Human output: a header, one line per check (findings indented under it) and a summary line."""
        width = max(len(check.check_id) for check in self.checks)
        status_width = max(len(check.status.value) for check in self.checks)
        indent = " " * (status_width + 2)
        lines = [f"Live audit of AWS account {self.account_id} in {self.region}"]
        for check in self.checks:
            suffix = f" ({check.skip_reason})" if check.skip_reason else ""
            lines.append(
                f"{check.status.value.upper():{status_width}}  {check.check_id:{width}}  {check.title}{suffix}"
            )
            lines += [f"{indent}- [{f.policy}] {f.resource_id}: {f.message}" for f in check.findings]
            lines += [f"{indent}  {detail}" for detail in check.details]
        s = self.summary()
        verdict = "FINDINGS" if self.findings else "CLEAN"
        lines.append(
            f"Summary: {verdict}: {s['checks']} checks, {s['passed']} passed, {s['failed']} failed, "
            f"{s['skipped']} skipped, {s['not_built']} not yet built; {s['findings']} finding{'' if s['findings'] == 1 else 's'}."
        )
        return "\n".join(lines)


def _region(session: boto3.Session, stack: StackOutputs) -> str:
    """The stack's region, refusing a session configured for another one."""
    with translated("reading the AWS configuration"):
        configured = session.region_name
    if configured and configured != stack.aws_region:
        raise AuditError(
            f"The AWS region configured for this run is {configured}, but the stack lives in {stack.aws_region} "
            f"(output aws_region). Set AWS_DEFAULT_REGION={stack.aws_region} (or pick a profile whose region is "
            f"{stack.aws_region}) and run the audit again."
        )
    # Nothing configured: the stack's own region is the only sensible one.
    return configured or stack.aws_region


def _verify_account(aws: ReadOnlyAws, stack: StackOutputs) -> str:
    """The caller's account ID, refusing credentials for an account other than the stack's."""
    identity = aws.call("sts", "get_caller_identity")
    account = identity["Account"]
    expected = stack.expected_account_ids()
    if len(expected) > 1:
        raise AuditError(
            f"The outputs name more than one AWS account ({', '.join(sorted(expected))}), so the audit cannot tell "
            f"which account to check. Regenerate the file with {REGENERATE} and run again."
        )
    if expected and account not in expected:
        raise AuditError(
            f"The credentials belong to AWS account {account} ({identity['Arn']}), but the stack lives in account "
            f"{expected.pop()}. Use credentials for the stack's account (for example set AWS_PROFILE) and run again."
        )
    return account


def run_audit(
    outputs: dict[str, Any], session: boto3.Session | None = None, options: AuditOptions = AuditOptions()
) -> AuditReport:
    """Audit the live account against a stack's outputs (the dict ``pulumi stack output --json`` prints).

    Uses ``session`` (default: a new ``boto3.Session()`` with the SDK's usual credential, region and endpoint
    resolution). Raises ``AuditError`` when the audit cannot run: malformed outputs, no or rejected credentials,
    another account or region, a throttled or denied API call.
    """
    stack = parse_outputs(outputs)
    if session is None:
        problem = settings_error(os.environ)
        if problem:
            raise AuditError(problem)
        with translated("loading the AWS configuration"):
            session = boto3.Session()
    aws = ReadOnlyAws(session, _region(session, stack))
    account = _verify_account(aws, stack)
    results = run_checks(AuditContext(stack, aws, options), ALL_CHECKS)
    return AuditReport(account_id=account, region=aws.region, checks=tuple(results))
