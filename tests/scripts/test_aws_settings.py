"""AWS SDK settings in the environment (``scripts.aws_settings``): each unusable one is named before any client is made,
and the audit and the connectivity check exit 2 with one paragraph for it, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.audit.cli import main as audit_main
from scripts.aws_settings import problems
from scripts.project import REPO
from scripts.verify.__main__ import main as verify_main
from tests.helpers import DATA

USABLE = {
    "AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "us-gov-west-1", "AWS_RETRY_MODE": "adaptive",
    "AWS_MAX_ATTEMPTS": "10", "AWS_ENDPOINT_URL": "http://localhost:4566",
    "AWS_ENDPOINT_URL_S3": "https://[::1]:9000", "AWS_PROFILE": "anything",
}

BROKEN = [
    ("AWS_MAX_ATTEMPTS", "abc", "whole number"),
    ("AWS_MAX_ATTEMPTS", "0", "at least 1"),
    ("AWS_METADATA_SERVICE_TIMEOUT", "1.5", "whole number"),
    ("AWS_RETRY_MODE", "bogus", "legacy, standard, adaptive"),
    ("AWS_ENDPOINT_URL", "not-a-url", "http:// or https:// URL"),
    ("AWS_ENDPOINT_URL", "ftp://example.com", "http:// or https:// URL"),
    ("AWS_ENDPOINT_URL_STS", "http://[::1", "not a URL"),
    ("AWS_ENDPOINT_URL_S3", "http://localhost:port", "not a URL"),
    ("AWS_REGION", "bad_region", "not an AWS region"),
    ("AWS_DEFAULT_REGION", "", "not an AWS region"),
]


def test_usable_settings_pass() -> None:
    assert problems(USABLE) == []
    assert problems({}) == []


@pytest.mark.parametrize(("name", "value", "expected"), BROKEN)
def test_each_unusable_setting_is_named_with_its_value(name: str, value: str, expected: str) -> None:
    [problem] = problems({**USABLE, name: value})
    assert problem.startswith(f"{name} is {value!r}") and expected in problem


def test_every_problem_is_reported_at_once() -> None:
    assert len(problems({"AWS_MAX_ATTEMPTS": "abc", "AWS_RETRY_MODE": "bogus", "AWS_REGION": "x"})) == 3


MAINS = {"scripts.audit": audit_main, "scripts.verify": verify_main}


@pytest.mark.parametrize("module", MAINS)
@pytest.mark.parametrize(("name", "value", "expected"), BROKEN)
def test_the_commands_exit_2_naming_the_setting(
    module: str, name: str, value: str, expected: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for var in [var for var in os.environ if var.startswith("AWS_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv(name, value)
    outputs = tmp_path / "outputs.json"
    outputs.write_text((DATA / "outputs.dev.sample.json").read_text())
    assert MAINS[module](["--outputs", str(outputs)]) == 2
    err = capsys.readouterr().err
    assert name in err and expected in err and "could not run" in err


# The same through the real entry points: no traceback from a fresh interpreter.
@pytest.mark.parametrize(("module", "name", "value"), [("scripts.audit", "AWS_MAX_ATTEMPTS", "abc"),
                                                       ("scripts.verify", "AWS_ENDPOINT_URL", "http://[::1")])
def test_the_entry_points_exit_2_without_traceback(module: str, name: str, value: str) -> None:
    env = {key: val for key, val in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_EC2_METADATA_DISABLED="true",
               **{name: value})
    sample = (DATA / "outputs.dev.sample.json").read_text()
    done = subprocess.run([sys.executable, "-m", module, "--outputs", "-", "--json"], cwd=REPO, env=env, input=sample,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and name in done.stderr
    assert json.loads(done.stdout)["exit_code"] == 2
