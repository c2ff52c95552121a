"""A project directory shaped like this repository, as ``scripts.stack`` expects one."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Two stacks (a stack file each, no secrets provider recorded) and the policy pack with a config per stack."""
    (tmp_path / "policy").mkdir()
    for name in ("dev", "prod"):
        (tmp_path / f"Pulumi.{name}.yaml").write_text("config: {}\n")
        (tmp_path / "policy" / f"config.{name}.json").write_text("{}")
    return tmp_path
