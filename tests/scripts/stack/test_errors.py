"""How ``scripts.stack`` turns Automation API failures into exit codes and one message (``scripts.stack.errors``)."""

from __future__ import annotations

import re

import pytest
from pulumi import automation as auto
from pulumi.automation.errors import create_command_error

from scripts.project import REPO
from scripts.stack.errors import ExitCode, StackScriptError, error_lines, translate

DOCS = REPO / "docs" / "automation.md"


def _translate(stdout: str = "", stderr: str = "") -> StackScriptError:
    error = create_command_error(auto.CommandResult(stdout=stdout, stderr=stderr, code=255))
    return translate(error, command="up", stack="prod", backend_url="s3://bucket")


@pytest.mark.parametrize(("stdout", "stderr", "code"), [
    ("", "error: no stack named 'prod' found", ExitCode.STACK_NOT_FOUND),
    ("", "error: the stack is currently locked by 1 lock(s).", ExitCode.STACK_LOCKED),
    ("", "error: constructing secrets manager of type \"passphrase\": incorrect passphrase", ExitCode.CREDENTIALS),
    ("", "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions",
     ExitCode.CREDENTIALS),
    ("error: operation error STS: GetCallerIdentity, ExpiredToken: The security token included in the request is "
     "expired", "", ExitCode.CREDENTIALS),
    ("error: creating ClickHouse service: 400 Bad Request", "", ExitCode.OPERATION_FAILED),
])
def test_translate_maps_cli_failures(stdout: str, stderr: str, code: ExitCode) -> None:
    assert _translate(stdout, stderr).code is code


def test_failed_operation_message_lists_the_cli_errors_once() -> None:
    message = _translate(stdout="error: quota exceeded\nerror: quota exceeded\nerror: update failed\n").message
    assert message == "`up` failed on stack 'prod':\n  quota exceeded\n  update failed"
    assert error_lines("no errors here") == []


def test_exit_code_table_in_docs_matches_the_code() -> None:
    rows = re.findall(r"^\|\s*(\d+)\s*\|\s*`(\w+)`\s*\|", DOCS.read_text(encoding="utf-8"), re.M)
    assert {(int(value), name) for value, name in rows} == {(int(code), code.name) for code in ExitCode}


def test_exit_codes_are_distinct() -> None:
    values = [int(code) for code in ExitCode]
    assert len(values) == len(set(values))
