"""Stack files read as the CLI reads them (the table of values is in stack_yaml_cases.py)."""

from __future__ import annotations

import re

import pytest
import yaml

from scripts.offline.stack_yaml import StackYamlError, config_text, load
from tests.scripts.offline.stack_yaml_cases import AS_THE_CLI_PASSES_THEM


@pytest.mark.parametrize(("written", "passed"), AS_THE_CLI_PASSES_THEM)
def test_a_value_reaches_the_program_as_the_cli_passes_it(written: str, passed: str) -> None:
    assert config_text(load(f"key: {written}\n")["key"]) == passed


def test_a_merged_key_may_be_overridden() -> None:
    document = load("a: &base {b: 1, c: 2}\nd:\n  <<: *base\n  b: 3\n")
    assert config_text(document["d"]) == '{"b":3,"c":2}'


@pytest.mark.parametrize("document", ["a: 1\na: 2\n", "config:\n  x: {k: 1, k: 2}\n", "1: a\n0x1: b\n"])
def test_a_key_given_twice_is_refused(document: str) -> None:
    with pytest.raises(yaml.YAMLError, match="already defined at line"):
        load(document)


@pytest.mark.parametrize(("written", "message"), [
    (".inf", "json: unsupported value: +Inf"), ("[-.inf]", "json: unsupported value: -Inf"),
    ("{a: .nan}", "json: unsupported value: NaN"),
])
def test_a_value_json_cannot_hold_is_refused(written: str, message: str) -> None:
    with pytest.raises(StackYamlError, match=re.escape(message)):
        config_text(load(f"key: {written}\n")["key"])
