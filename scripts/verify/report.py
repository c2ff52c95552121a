"""What a connectivity run reports: one result per check, the exit code, and the text and JSON renderings.

The exit codes and the JSON envelope are the live audit's (``docs/audit.md``), so a pipeline treats both tools alike:
0 every check passed, 1 at least one check failed, 2 the run could not start (``VerifyError``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scripts.check_status import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS
from scripts.check_status import CheckStatus as Status


class VerifyError(Exception):
    """The run could not start or finish (exit code 2); the message says what to fix and never holds a secret."""


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict: ``message`` is the one-line answer, ``details`` one line per address, port or field."""

    check_id: str
    title: str
    status: Status
    message: str
    details: tuple[str, ...] = ()
    # Machine-readable facts for --json (addresses, certificate expiry, server version); never a secret.
    data: tuple[tuple[str, Any], ...] = ()


def passed(check_id: str, title: str, message: str, details: tuple[str, ...] = (), **data: Any) -> CheckResult:
    return CheckResult(check_id, title, Status.PASS, message, details, tuple(data.items()))


def failed(check_id: str, title: str, message: str, details: tuple[str, ...] = (), **data: Any) -> CheckResult:
    return CheckResult(check_id, title, Status.FAIL, message, details, tuple(data.items()))


def skipped(check_id: str, title: str, message: str) -> CheckResult:
    return CheckResult(check_id, title, Status.SKIP, message)


@dataclass(frozen=True)
class Report:
    """Every check of one run against one stack's service."""

    url: str
    region: str
    vpc_id: str
    checks: tuple[CheckResult, ...]

    @property
    def failures(self) -> list[CheckResult]:
        return [check for check in self.checks if check.status is Status.FAIL]

    @property
    def exit_code(self) -> int:
        return EXIT_FINDINGS if self.failures else EXIT_CLEAN

    def summary(self) -> dict[str, int]:
        count = {status: sum(1 for check in self.checks if check.status is status) for status in Status}
        return {
            "checks": len(self.checks),
            "passed": count[Status.PASS],
            "failed": count[Status.FAIL],
            "skipped": count[Status.SKIP],
        }

    def to_dict(self) -> dict[str, Any]:
        """What ``--json`` prints."""
        return {
            "status": "findings" if self.failures else "clean",
            "exit_code": self.exit_code,
            "url": self.url,
            "region": self.region,
            "vpc_id": self.vpc_id,
            "summary": self.summary(),
            "checks": [
                {
                    "id": check.check_id,
                    "title": check.title,
                    "status": check.status.value,
                    "message": check.message,
                    "details": list(check.details),
                    **dict(check.data),
                }
                for check in self.checks
            ],
        }

    def render(self) -> str:
        """Human output: a header, one line per check with its details indented under it, and a summary line."""
        width = max(len(check.check_id) for check in self.checks)
        lines = [f"Connectivity of {self.url} (VPC {self.vpc_id}, {self.region})"]
        for check in self.checks:
            lines.append(f"{check.status.value.upper():4}  {check.check_id:{width}}  {check.message}")
            lines += [f"      - {detail}" for detail in check.details]
        s = self.summary()
        verdict = "FINDINGS" if self.failures else "CLEAN"
        lines.append(f"Summary: {verdict}: {s['checks']} checks, {s['passed']} passed, {s['failed']} failed, "
                     f"{s['skipped']} skipped.")
        return "\n".join(lines)


def error_document(message: str) -> dict[str, Any]:
    """The ``--json`` answer when the run could not start (exit code 2)."""
    return {"status": "error", "exit_code": EXIT_ERROR, "error": message}
