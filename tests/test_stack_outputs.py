"""The stack outputs contract (stack_outputs.py): what the program exports, and the README that documents it."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import stack_outputs
from scripts.project import REPO
from tests.helpers import DATA


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
    assert stack_outputs.lookup("byoc", "role_arns", "pods").required is False
    assert stack_outputs.lookup("byoc", "buckets", "backups", "arn").required is True
    with pytest.raises(KeyError):
        stack_outputs.lookup("byoc", "external_id")


def test_optional_outputs_are_the_ones_that_depend_on_config_or_a_later_phase() -> None:
    # The service outputs wait for a service (a BYOC stack's comes with its infrastructure); the PrivateLink ones exist
    # only without BYOC; the bootstrap template's stack only when this stack deploys it; the metrics workspace and
    # agent only with metricsEnabled.
    assert [".".join(path) for path, _ in stack_outputs.optional_paths()] == [
        "clickhouse_url", "clickhouse_user", "clickhouse_password_secret_arn", "clickhouse_password_kms_key_id",
        "client_security_group_id", "endpoint_security_group_id", "vpc_endpoint_id", "vpc_endpoint_service_name",
        "private_dns_hostname", "private_dns_zone_id", "service_id", "byoc", "byoc.role_arns.pods",
        "byoc.log_group_names.eks_cluster", "byoc.clickhouse_record_name", "byoc.bootstrap_stack_name",
        "metrics_workspace_id", "metrics_prometheus_endpoint", "metrics_agent_service_arn"]


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
    with pytest.raises(stack_outputs.ContractError, match="required output 'vpc_id' is missing"):
        stack_outputs.exported({**values, "vpc_id": None})
    with pytest.raises(stack_outputs.ContractError, match="output 'admin_password' is not declared"):
        stack_outputs.exported({**values, "admin_password": "x"})


def test_the_contract_imports_without_pulumi() -> None:
    probe = "import sys, stack_outputs; print(sorted(m for m in sys.modules if m.split('.')[0] == 'pulumi'))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("content", "fragment"), [
    (b"[" * 100_000 + b"]" * 100_000, "nests values far deeper"),
    (b'{"a": ' * 40 + b"1" + b"}" * 40, "more than 32 levels deep"),
    (b'{"aws_region": NaN}', "holds NaN, which is not a JSON value"),
    (b'{"vpc_id": "vpc-1", "vpc_id": "vpc-2"}', 'has the key "vpc_id" twice in one object'),
    (b'\xff\xfe{"vpc_id": "vpc-1"}', "is not UTF-8 text"),
    (b'{"vpc_id": ', "is not valid JSON (Expecting value at line 1, column 12)"),
    (b'"vpc-1"', "must hold a JSON object of stack outputs, not a string"),
    (b'{"n": ' + b"9" * 101 + b"}", "holds an integer with 101 digits"),
    (b" " * (stack_outputs.MAX_FILE_BYTES + 1), "is larger than 4 MiB"),
], ids=["deep", "deeper-than-outputs", "nan", "duplicate-key", "not-utf8", "truncated", "not-an-object", "long-integer",
     "huge"])
def test_an_outputs_file_that_cannot_hold_outputs_is_refused_with_a_reason(
        tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "outputs.json"
    path.write_bytes(content)
    with pytest.raises(stack_outputs.OutputsFileError) as refused:
        stack_outputs.read_file(str(path))
    assert f"the outputs file {path} " in str(refused.value) and fragment in str(refused.value)


def test_missing_and_unreadable_paths_are_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(stack_outputs.OutputsFileError, match="does not exist"):
        stack_outputs.read_file(str(tmp_path / "nope.json"))
    with pytest.raises(stack_outputs.OutputsFileError, match="is a directory, not a file"):
        stack_outputs.read_file(str(tmp_path))


def test_a_real_outputs_file_reads_as_written() -> None:
    path = DATA / "outputs.prod.sample.json"
    assert stack_outputs.read_file(str(path)) == json.loads(path.read_text())


def test_a_byte_order_mark_and_standard_input_are_accepted() -> None:
    data = (DATA / "outputs.prod.sample.json").read_bytes()
    assert stack_outputs.read_file("-", io.BytesIO(b"\xef\xbb\xbf" + data)) == json.loads(data)
