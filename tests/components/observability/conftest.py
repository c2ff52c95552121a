"""Fixtures of the observability tests: the BYOC stack's run and the real promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from scripts.offline.engine import ProgramRun


@pytest.fixture(scope="session")
def byoc_run(stack_run: Callable[[str], ProgramRun]) -> ProgramRun:
    return stack_run("byoc")


@pytest.fixture(scope="session")
def promtool() -> Callable[..., subprocess.CompletedProcess]:
    """``promtool(path, *flags)``: ``promtool check config`` on a file. Fails, never skips, when promtool is missing."""
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is missing: install Debian's prometheus package (`sudo make promtool`); the metrics "
                    "agent's configuration is validated with the real promtool")

    def check(path: Path, *flags: str) -> subprocess.CompletedProcess:
        return subprocess.run([binary, "check", "config", *flags, str(path)], capture_output=True, text=True,
                              timeout=60)

    return check
