"""Exit codes of ``python -m scripts.stack`` and the translation of Automation API failures into them.

Every failure a user can hit ends as one ``StackScriptError``: a distinct exit code and a message that says what to do,
never a traceback. ``docs/automation.md`` documents the same table; a test keeps the two in step.
"""

from __future__ import annotations

import re
from enum import IntEnum

from pulumi.automation import CommandError, ConcurrentUpdateError, InvalidVersionError, StackNotFoundError


class ExitCode(IntEnum):
    """Process exit codes; each failure kind has its own so pipelines can branch on them."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    CLI_MISSING = 3
    CREDENTIALS = 4
    STACK_NOT_FOUND = 5
    STACK_LOCKED = 6
    POLICY_VIOLATION = 7
    CONFIRMATION_REQUIRED = 8
    PROTECTED_RESOURCES = 9
    OPERATION_FAILED = 10
    AUDIT_FINDINGS = 11
    AUDIT_FAILED = 12
    INTERRUPTED = 130


class StackScriptError(Exception):
    """A failure with the exit code it maps to and a message meant for the person at the terminal."""

    def __init__(self, code: ExitCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# What the CLI prints when credentials are missing or rejected, and what to do about each.
# Texts come from the Pulumi CLI (passphrase and Pulumi Cloud login) and from the AWS SDK for Go used by the CLI's
# S3/KMS clients and by the AWS provider.
_CREDENTIAL_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"PULUMI_CONFIG_PASSPHRASE|incorrect passphrase", re.I),
        "The stack's secrets are encrypted with a passphrase: set PULUMI_CONFIG_PASSPHRASE to it, or "
        "PULUMI_CONFIG_PASSPHRASE_FILE to a file that holds it.",
    ),
    (
        re.compile(r"PULUMI_ACCESS_TOKEN", re.I),
        "The backend is Pulumi Cloud: set PULUMI_ACCESS_TOKEN, or pick a self-managed backend with --backend-url / "
        "PULUMI_BACKEND_URL.",
    ),
    (
        re.compile(
            r"NoCredentialProviders|no valid credential sources|failed to refresh cached credentials|"
            r"get credentials|ExpiredToken|InvalidClientTokenId|UnrecognizedClientException|"
            r"security token included in the request is (invalid|expired)",
            re.I,
        ),
        "AWS credentials are missing or expired: sign in (for example `aws sso login --profile <p>` with AWS_PROFILE "
        "set) or export AWS credentials; in GitHub Actions use the OIDC role from the workflow.",
    ),
)

_ERROR_LINE = re.compile(r"^\s*error:\s*(?P<text>.+)$", re.M)


def error_lines(text: str, limit: int = 3) -> list[str]:
    """The distinct ``error:`` lines the CLI printed, in order, so a failure message names its cause."""
    seen: list[str] = []
    for match in _ERROR_LINE.finditer(text):
        line = match.group("text").strip()
        if line not in seen:
            seen.append(line)
    return seen[:limit]


def credential_hint(text: str) -> str | None:
    """The fix for a credentials failure recognised in the CLI's output, or None when it is not one."""
    for pattern, hint in _CREDENTIAL_HINTS:
        if pattern.search(text):
            return hint
    return None


def cli_missing_error() -> StackScriptError:
    return StackScriptError(
        ExitCode.CLI_MISSING,
        "The Pulumi CLI is not on PATH. The Automation API drives the CLI, so install it "
        "(https://www.pulumi.com/docs/install/) and make sure `pulumi version` works in this shell.",
    )


# The Automation API failures ``translate`` understands; anything else is a bug and reaches the catch-all in main.
AUTOMATION_ERRORS = (CommandError, InvalidVersionError)


def translate(
    exc: CommandError | InvalidVersionError, *, command: str, stack: str, backend_url: str
) -> StackScriptError:
    """Map a failure raised by ``pulumi.automation`` to the user-facing error and exit code.

    Order matters: the SDK's subclasses (stack not found, concurrent update) are more specific than the credential
    patterns, which in turn are more specific than a plain failed command.
    """
    if isinstance(exc, InvalidVersionError):
        return StackScriptError(ExitCode.CLI_MISSING, f"The installed Pulumi CLI cannot be used: {exc}")
    if isinstance(exc, StackNotFoundError):
        return StackScriptError(
            ExitCode.STACK_NOT_FOUND,
            f"Stack '{stack}' does not exist in backend {backend_url}. Create it with "
            f"`python -m scripts.stack bootstrap --stack {stack}`, or point --backend-url / PULUMI_BACKEND_URL at "
            "the backend that holds it.",
        )
    if isinstance(exc, ConcurrentUpdateError):
        return StackScriptError(
            ExitCode.STACK_LOCKED,
            f"Stack '{stack}' is locked by another update. Wait for it to finish; if no update is running (a "
            f"crashed run left the lock), release it with `pulumi cancel --stack {stack}` and try again.",
        )
    text = str(exc)
    hint = credential_hint(text)
    if hint is not None:
        return StackScriptError(ExitCode.CREDENTIALS, f"`{command}` on stack '{stack}' was refused: {hint}")
    causes = error_lines(text)
    detail = "\n".join(f"  {line}" for line in causes) if causes else "  (see the output above)"
    return StackScriptError(ExitCode.OPERATION_FAILED, f"`{command}` failed on stack '{stack}':\n{detail}")
