"""Shared fixtures: the repo's real stacks run once per session under the mock engine (runs are read-only)."""

from __future__ import annotations

from typing import Callable

import pytest

from scripts.offline.engine import ProgramRun, run_program


@pytest.fixture(scope="session")
def stack_run() -> Callable[[str], ProgramRun]:
    """``stack_run(name)``: the program's run for a stack file of the repo, made once per session."""
    runs: dict[str, ProgramRun] = {}

    def get(stack: str) -> ProgramRun:
        if stack not in runs:
            run = run_program(stack)
            assert run.error is None, run.error
            runs[stack] = run
        return runs[stack]

    return get


@pytest.fixture(scope="session")
def dev_run(stack_run: Callable[[str], ProgramRun]) -> ProgramRun:
    return stack_run("dev")


@pytest.fixture(scope="session")
def prod_run(stack_run: Callable[[str], ProgramRun]) -> ProgramRun:
    return stack_run("prod")
