"""The project on disk: a stack is whatever has a stack file."""

from __future__ import annotations

from pathlib import Path

from scripts.project import REPO, stack_file, stack_names


def test_every_stack_file_is_a_stack_and_nothing_else_is(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.qa-eu.yaml", "Pulumi..yaml", "Pulumi.prod.yml", "x.yaml"):
        (tmp_path / name).write_text("config: {}\n")
    assert stack_names(tmp_path) == ["dev", "qa-eu"]
    assert stack_file("qa-eu", tmp_path) == tmp_path / "Pulumi.qa-eu.yaml"


def test_the_repository_has_its_documented_stacks() -> None:
    assert {"dev", "prod"} <= set(stack_names())
    assert all(stack_file(name).is_file() for name in stack_names(REPO))
