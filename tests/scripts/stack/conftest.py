"""A project directory shaped like this repository, as ``scripts.stack`` expects one."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Two stacks (a stack file each, no secrets provider recorded; dev unprotected, prod protected, as the repo's) and
    the policy pack with a config per stack."""
    (tmp_path / "policy").mkdir()
    for name, protect in (("dev", "false"), ("prod", "true")):
        (tmp_path / f"Pulumi.{name}.yaml").write_text(f"config:\n  clickhouse-aws:protect: {protect}\n")
        (tmp_path / "policy" / f"config.{name}.json").write_text("{}")
    return tmp_path
