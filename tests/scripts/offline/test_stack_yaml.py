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


@pytest.mark.parametrize("document", ["a: 1\na: 2\n", "config:\n  x: {k: 1, k: 2}\n", '1: a\n"1": b\n'])
def test_a_key_given_twice_is_refused(document: str) -> None:
    # yaml.v3 compares keys by their text: `1` and `"1"` are one key (the CLI: mapping key "1" already defined).
    with pytest.raises(yaml.YAMLError, match="already defined at line"):
        load(document)


def test_keys_that_print_alike_are_one_key_in_the_json() -> None:
    # 1 and 0x1 are different keys to yaml.v3 but both print as "1" in the map Pulumi makes; the later one stays.
    assert config_text(load("key: {1: {a: 1}, 0x1: {b: 2}}\n")["key"]) == '{"1":{"b":2}}'


@pytest.mark.parametrize(("written", "message"), [
    (".inf", "json: unsupported value: +Inf"), ("[-.inf]", "json: unsupported value: -Inf"),
    ("{a: .nan}", "json: unsupported value: NaN"),
])
def test_a_value_json_cannot_hold_is_refused(written: str, message: str) -> None:
    with pytest.raises(StackYamlError, match=re.escape(message)):
        config_text(load(f"key: {written}\n")["key"])


def _laughs(levels: int) -> str:
    """A billion laughs: each level an anchor whose list aliases the one before ten times."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_aliases_that_expand_the_document_out_of_proportion_are_refused_as_yaml_v3_refuses_them() -> None:
    with pytest.raises(yaml.YAMLError, match="document contains excessive aliasing"):
        load(_laughs(8))


def test_a_few_aliases_are_read() -> None:
    ten = "[" + ",".join(['"x"'] * 10) + "]"
    assert config_text(load(_laughs(1))["a1"]) == "[" + ",".join([ten] * 10) + "]"


def test_a_document_nested_too_deeply_is_a_yaml_error_not_a_crash() -> None:
    with pytest.raises(yaml.YAMLError):
        load("key: " + "[" * 5000 + "]" * 5000 + "\n")
