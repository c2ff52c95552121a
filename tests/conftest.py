"""Shared fixtures: the repo's real stacks run once per session under the mock engine (runs are read-only)."""

from __future__ import annotations

import pytest

from scripts.offline.engine import ProgramRun, run_program


@pytest.fixture(scope="session")
def dev_run() -> ProgramRun:
    run = run_program("dev")
    assert run.error is None, run.error
    return run


@pytest.fixture(scope="session")
def prod_run() -> ProgramRun:
    run = run_program("prod")
    assert run.error is None, run.error
    return run


