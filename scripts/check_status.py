"""How the read-only tools (``scripts.audit``, ``scripts.verify``) report, so a pipeline treats both alike
(``docs/audit.md``): each check's status, and the exit code of a run."""

from __future__ import annotations

from enum import Enum

EXIT_CLEAN = 0  # every check passed (or was skipped)
EXIT_FINDINGS = 1  # at least one check failed
EXIT_ERROR = 2  # the run could not start or finish


class CheckStatus(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    # The audit's: ClickHouse has not built what the check looks at yet, and the outputs do not say it should have.
    NOT_BUILT = "not-built"
