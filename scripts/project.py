"""The project on disk: where it lives and which stacks it has, one per stack file as the Pulumi CLI sees them."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def stack_file(stack: str, project_dir: Path = REPO) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def stack_names(project_dir: Path = REPO) -> list[str]:
    """Every stack with a stack file ``Pulumi.<stack>.yaml`` in ``project_dir``, sorted."""
    return sorted(path.name[len("Pulumi."):-len(".yaml")] for path in project_dir.glob("Pulumi.?*.yaml"))
