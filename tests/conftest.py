"""Session-wide settings and shared fixtures: the repo's real stacks run once per session (runs are read-only)."""

from __future__ import annotations

import gc
from typing import Callable

import pytest

from scripts.offline.engine import ProgramRun, run_program


def pytest_configure(config: pytest.Config) -> None:
    # The suite keeps large long-lived heaps (pulumi_aws's service modules, botocore's service models, moto's
    # backends). At the default threshold of 700 allocations the cyclic collector ran ~4500 times and re-traversed
    # them in ~30 full passes, a third of the suite's time; every 10000 it finds the same garbage, at the same peak
    # memory, in a fraction of the time.
    gc.set_threshold(10_000, 10, 10)


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
