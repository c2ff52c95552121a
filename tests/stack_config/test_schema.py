"""Pulumi.yaml declares the same keys, types and defaults the program checks, so the CLI and the program agree."""

from __future__ import annotations

import pytest
import yaml

from scripts.engine import REPO
from stack_config.keys import KEYS, KEYS_BY_NAME

TYPES = {str: "string", int: "integer", bool: "boolean", list: "array"}


@pytest.fixture()
def declared() -> dict:
    return yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]


def test_every_typeable_non_secret_key_is_declared_with_its_type_and_default(declared):
    for key in KEYS:
        if key.kind is dict or key.secret:
            assert key.name not in declared, f"{key.name} cannot be declared in Pulumi.yaml"
            continue
        decl = declared[key.name]
        assert decl["type"] == TYPES[key.kind], key.name
        assert decl["default"] == key.default, key.name
        assert decl["description"] == key.description, key.name


def test_nothing_is_declared_that_the_program_does_not_read(declared):
    assert set(declared) <= set(KEYS_BY_NAME)


def test_virtualenv_is_the_one_the_makefile_creates():
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["runtime"]["options"]["virtualenv"] == "venv"
    assert "VENV := venv" in (REPO / "Makefile").read_text()
