"""Fixtures of the live audit's tests: an AWS environment that reaches nothing real, moto, and compliant accounts."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable, Iterator

import boto3
import pytest

from tests.scripts.audit.account import (
    Built, CleanRun, build_byoc, build_clickhouse_built, build_dev, build_prod, moto_account, record_operations, set_aws_env,
)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    set_aws_env(monkeypatch, tmp_path)


@pytest.fixture
def mocked(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with moto_account(monkeypatch):
        yield


@pytest.fixture
def cli_uses(monkeypatch: pytest.MonkeyPatch) -> Callable[[boto3.Session], None]:
    """Make the CLI's own ``boto3.Session()`` the given session (fast, and it can carry injected failures)."""
    return lambda session: monkeypatch.setattr(boto3, "Session", lambda: session)


@pytest.fixture
def prod(mocked: None) -> Built:
    """A fresh compliant prod-shaped account: tests may break it."""
    return build_prod()


@pytest.fixture
def dev(mocked: None) -> Built:
    """A fresh compliant dev-shaped account: tests may break it."""
    return build_dev()


@pytest.fixture
def byoc(mocked: None) -> Built:
    """A fresh compliant byoc-stack-shaped account (bootstrap by CloudFormation, metrics on): tests may break it."""
    return build_byoc()


@pytest.fixture
def ch_built(mocked: None) -> Built:
    """A fresh account holding only what ClickHouse builds in BYOC, compliant: tests may break it."""
    return build_clickhouse_built()


@pytest.fixture(scope="session")
def clean() -> Iterator[dict[str, CleanRun]]:
    """One audit of each compliant account shape, with every operation it made (shared: these runs only read)."""
    runs = {}
    with pytest.MonkeyPatch.context() as monkeypatch, tempfile.TemporaryDirectory() as tmp:
        set_aws_env(monkeypatch, Path(tmp))
        for name, build in (("prod", build_prod), ("dev", build_dev), ("byoc", build_byoc)):
            # A fresh account each: prod and byoc have the same names.
            with moto_account(monkeypatch):
                built = build()
                operations = record_operations(built.session)
                runs[name] = CleanRun(built.outputs, built.audit(), operations)
    yield runs
