"""Fixtures of the live audit's tests: an AWS environment that reaches nothing real, moto, and compliant accounts."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import boto3
import pytest

from tests.scripts.audit.account import (
    Built, CleanRun, Snapshot, build_byoc, build_clickhouse_built, build_dev, build_prod, moto_account, record_operations,
    restore, set_aws_env, take_snapshot,
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


@pytest.fixture(scope="session")
def built_accounts() -> dict[Callable[[], Built], tuple[Snapshot, dict]]:
    """Each account shape as its builder left it, built once per worker (building costs ~0.4 s, restoring ~0.01 s)."""
    return {}


@pytest.fixture
def fresh(mocked: None, built_accounts: dict[Callable[[], Built], tuple[Snapshot, dict]]) -> Callable[[Callable[[], Built]], Built]:
    """A fresh account of the builder's shape: what the builder makes, a copy of its own so the test may break it."""
    return lambda build: _account(build, built_accounts)


def _account(build: Callable[[], Built], built_accounts: dict[Callable[[], Built], tuple[Snapshot, dict]]) -> Built:
    """In a fresh moto account: the builder's account, built once per worker and restored as a copy after that."""
    if build not in built_accounts:
        built = build()
        built_accounts[build] = (take_snapshot(), copy.deepcopy(built.outputs))
        return built
    snapshot, outputs = built_accounts[build]
    restore(snapshot)
    return Built(copy.deepcopy(outputs))


@pytest.fixture
def prod(fresh: Callable[[Callable[[], Built]], Built]) -> Built:
    """A fresh compliant prod-shaped account: tests may break it."""
    return fresh(build_prod)


@pytest.fixture
def dev(fresh: Callable[[Callable[[], Built]], Built]) -> Built:
    """A fresh compliant dev-shaped account: tests may break it."""
    return fresh(build_dev)


@pytest.fixture
def byoc(fresh: Callable[[Callable[[], Built]], Built]) -> Built:
    """A fresh compliant byoc-stack-shaped account (bootstrap by CloudFormation, metrics on): tests may break it."""
    return fresh(build_byoc)


@pytest.fixture
def ch_built(fresh: Callable[[Callable[[], Built]], Built]) -> Built:
    """A fresh account holding only what ClickHouse builds in BYOC, compliant: tests may break it."""
    return fresh(build_clickhouse_built)


@pytest.fixture(scope="session")
def clean(built_accounts: dict[Callable[[], Built], tuple[Snapshot, dict]]) -> Iterator[dict[str, CleanRun]]:
    """One audit of each compliant account shape, with every operation it made (shared: these runs only read). The
    accounts come from, or go to, the same per-worker cache as ``fresh``'s."""
    runs = {}
    with pytest.MonkeyPatch.context() as monkeypatch, tempfile.TemporaryDirectory() as tmp:
        set_aws_env(monkeypatch, Path(tmp))
        for name, build in (("prod", build_prod), ("dev", build_dev), ("byoc", build_byoc)):
            # A fresh account each: prod and byoc have the same names.
            with moto_account(monkeypatch):
                built = _account(build, built_accounts)
                operations = record_operations(built.session)
                runs[name] = CleanRun(built.outputs, built.audit(), operations)
    yield runs
