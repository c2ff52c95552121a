"""Pulumi.yaml's config block is generated from the key table (``make config-schema``) and kept current."""

from __future__ import annotations

import yaml

from scripts.offline.engine import REPO
from stack_config import schema
from stack_config.keys import KEYS, Key

PROJECT_FILE = REPO / "Pulumi.yaml"


def test_pulumi_yaml_holds_the_block_the_key_table_gives():
    text = PROJECT_FILE.read_text()
    assert schema.with_config_block(text) == text, "Pulumi.yaml's config block is stale: run `make config-schema`"


def test_the_block_declares_every_typeable_non_secret_key_and_nothing_else():
    declared = yaml.safe_load(schema.config_block())["config"]
    kinds = {"string": str, "integer": int, "boolean": bool, "array": list}
    for key in KEYS:
        if key.kind is dict or key.secret:
            assert key.name not in declared, f"{key.name} cannot be declared in Pulumi.yaml"
            continue
        decl = declared.pop(key.name)
        assert kinds[decl["type"]] is key.kind, key.name
        assert decl.get("items") == ({"type": "string"} if key.kind is list else None), key.name
        assert (decl["description"], decl["default"]) == (key.description, key.default), key.name
    assert declared == {}
    assert "byocExternalId" in schema.config_block() and "tags (an object" in schema.config_block()


PROJECT = """\
name: demo
# The runtime block is hand-written.
runtime: python
config:
  # a stale comment
  old:
    type: string

  gone: {}

# Trailing notes stay.
template:
  description: kept
"""


def test_only_the_config_block_is_rewritten():
    keys = (Key("size", int, 3, "How big."), Key("note", str, "", "A note.", secret=True))
    rewritten = schema.with_config_block(PROJECT, keys)
    head, rest = rewritten.split("config:\n", 1)
    assert head == "name: demo\n# The runtime block is hand-written.\nruntime: python\n"
    assert rest.endswith("    default: 3\n\n# Trailing notes stay.\ntemplate:\n  description: kept\n")
    assert yaml.safe_load(rewritten)["config"] == {"size": {"type": "integer", "description": "How big.", "default": 3}}
    assert schema.with_config_block(rewritten, keys) == rewritten


def test_a_project_file_without_a_block_gets_one_appended():
    keys = (Key("flag", bool, False, "A flag."),)
    assert yaml.safe_load(schema.with_config_block("name: demo\n", keys))["config"] == {
        "flag": {"type": "boolean", "description": "A flag.", "default": False}}


def test_the_command_rewrites_a_stale_file_and_check_reports_it(tmp_path, capsys):
    project = tmp_path / "Pulumi.yaml"
    project.write_text(PROJECT)
    assert schema.main(["--check", str(project)]) == 1
    assert project.read_text() == PROJECT, "--check writes nothing"
    assert "run `make config-schema`" in capsys.readouterr().err
    assert schema.main([str(project)]) == 0
    assert schema.main(["--check", str(project)]) == 0
    assert yaml.safe_load(project.read_text())["config"] == yaml.safe_load(schema.config_block())["config"]


def test_the_makefile_creates_the_virtualenv_pulumi_yaml_names_and_runs_the_generator():
    assert yaml.safe_load(PROJECT_FILE.read_text())["runtime"]["options"]["virtualenv"] == "venv"
    makefile = (REPO / "Makefile").read_text()
    assert "VENV := venv" in makefile and "$(PY) -m stack_config.schema" in makefile
