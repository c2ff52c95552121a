"""The stack outputs contract (stack_outputs.py): what the program exports, and the README that documents it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import stack_outputs
from scripts.project import REPO


def readme_outputs_paragraph() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^Outputs \(`pulumi stack output`\):.*?(?=\n\n)", text, re.M | re.S)
    assert match, "the README documents the outputs in one paragraph starting 'Outputs (`pulumi stack output`):'"
    return match.group(0)


def test_the_readme_lists_every_output_and_each_optional_key_it_mentions_is_declared_optional() -> None:
    names = set(re.findall(r"`([a-z_][a-z0-9_.]*)`", readme_outputs_paragraph()))
    top = {name for name in names if "." not in name}
    assert top == {output.name for output in stack_outputs.OUTPUTS}
    optional = {".".join(path) for path, _ in stack_outputs.optional_paths()}
    assert names - top == optional - top


def test_the_readme_says_when_each_optional_output_appears() -> None:
    paragraph = " ".join(readme_outputs_paragraph().split())
    for output in stack_outputs.OUTPUTS:
        if not output.required:
            assert re.search(rf"`{output.name}` \(?when ", paragraph), output.name


def test_lookup_follows_paths_and_refuses_undeclared_ones() -> None:
    assert stack_outputs.lookup("byoc", "role_arns", "irsa").required is False
    assert stack_outputs.lookup("byoc", "buckets", "backups", "arn").required is True
    with pytest.raises(KeyError):
        stack_outputs.lookup("byoc", "external_id")


def test_optional_outputs_are_the_ones_that_depend_on_config_or_a_later_phase() -> None:
    assert [".".join(path) for path, _ in stack_outputs.optional_paths()] == [
        "clickhouse_password_kms_key_id", "byoc", "byoc.role_arns.irsa", "byoc.clickhouse_record_name"]


def complete() -> dict:
    """Placeholder values for every required output, BYOC included."""
    def fill(declared: stack_outputs.Output) -> dict:
        return {key.name: fill(key) if key.keys else "x" for key in declared.keys if key.required}

    return {**fill(stack_outputs.ROOT), "byoc": fill(stack_outputs.BYOC)}


def test_missing_and_undeclared_values_are_named_by_their_path() -> None:
    values = complete()
    assert stack_outputs.missing(values) == [] and stack_outputs.undeclared(values) == []
    del values["byoc"]["kms_key_arns"]["s3"]
    del values["vpc_id"]
    values["byoc"]["buckets"]["logs"]["region"] = "x"
    values["password"] = "x"
    assert stack_outputs.missing(values) == ["vpc_id", "byoc.kms_key_arns.s3"]
    assert stack_outputs.undeclared(values) == ["byoc.buckets.logs.region", "password"]


def test_keys_chosen_by_config_are_open() -> None:
    values = complete()
    values["byoc"]["interface_endpoint_ids"] = {"ecr.api": "vpce-1", "anything.the.config.names": "vpce-2"}
    assert stack_outputs.undeclared(values) == []


def test_export_orders_outputs_drops_unset_optional_ones_and_refuses_drift() -> None:
    values = {**complete(), "clickhouse_password_kms_key_id": None}
    del values["byoc"]
    assert list(stack_outputs.exported(dict(reversed(values.items())))) == [
        output.name for output in stack_outputs.OUTPUTS if output.required]
    with pytest.raises(stack_outputs.ContractError, match="required output 'service_id' is missing"):
        stack_outputs.exported({**values, "service_id": None})
    with pytest.raises(stack_outputs.ContractError, match="output 'admin_password' is not declared"):
        stack_outputs.exported({**values, "admin_password": "x"})


def test_the_contract_imports_without_pulumi() -> None:
    probe = "import sys, stack_outputs; print(sorted(m for m in sys.modules if m.split('.')[0] == 'pulumi'))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
