"""The mock engine itself: what a run leaves behind, and stack files it cannot use."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

from scripts.offline.engine import REPO, ReportedFailures, StackFileError, load_stack_config, run_program


def test_a_run_leaves_no_thread_and_no_unclosed_event_loop_behind() -> None:
    before = set(threading.enumerate())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        run = run_program("dev")
        for thread in set(threading.enumerate()) - before:
            thread.join(timeout=10)
        gc.collect()
    assert run.error is None and run.resources
    assert set(threading.enumerate()) <= before
    assert [str(w.message) for w in caught if "event loop" in str(w.message)] == []


# The program fails in an apply (no subnet in a zone ClickHouse's endpoint service supports), so every Output downstream
# of the endpoint holds the error; the collector runs while the process is still alive, as it does during a suite.
_FAILING_RUN = """
import gc
from scripts.offline.engine import OfflineMocks, run_program

class NoSupportedZone(OfflineMocks):
    def call(self, args):
        result = super().call(args)
        if args.token == "aws:ec2/getVpcEndpointService:getVpcEndpointService":
            result["availabilityZones"] = ["us-east-1f"]
        return result

run = run_program("dev", mocks=NoSupportedZone("us-east-1"))
print(run.error)
gc.collect()
"""


def test_a_failed_run_leaves_no_unretrieved_exception_for_the_collector_to_print() -> None:
    done = subprocess.run([sys.executable, "-X", "dev", "-c", _FAILING_RUN], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ClickHouse's endpoint service supports only us-east-1f here")
    for text in ("Traceback", "never retrieved", "Unraisable", "EndpointZoneError"):
        assert text not in done.stderr, done.stderr


def test_an_exception_the_run_did_not_report_still_reaches_asyncio(caplog: pytest.LogCaptureFixture) -> None:
    handler, loop = ReportedFailures(), asyncio.new_event_loop()
    reported, other = RuntimeError("reported"), RuntimeError("other")
    handler.report(reported)
    try:
        for error in (reported, other):
            handler(loop, {"message": "Future exception was never retrieved", "exception": error})
    finally:
        loop.close()
    assert [r.exc_info[1] for r in caplog.records if r.name == "asyncio"] == [other]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project file, with stack files written by each test."""
    (tmp_path / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    return tmp_path


@pytest.mark.parametrize("content", [
    "config: [1, 2]\n",
    "- just\n- a list\n",
    "config:\n  aws:region: [unclosed\n",
    b"config:\n  aws:region: \xff\xfe\n",
], ids=["config-not-a-mapping", "not-a-mapping", "not-yaml", "not-utf8"])
def test_an_unusable_stack_file_is_a_stack_file_error(project: Path, content: str | bytes) -> None:
    path = project / "Pulumi.hostile.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(StackFileError, match="Pulumi.hostile.yaml"):
        load_stack_config("hostile", project_dir=project)


def test_an_unknown_stack_names_the_stacks_there_are(project: Path) -> None:
    (project / "Pulumi.qa.yaml").write_text("config: {}\n")
    with pytest.raises(StackFileError, match="no stack file Pulumi.prod.yaml; known stacks: qa$"):
        load_stack_config("prod", project_dir=project)


def qa_stack(project: Path, line: str) -> None:
    """Stack qa: us-east-1 and ``line`` (one stack-file line under ``config:``)."""
    (project / "Pulumi.qa.yaml").write_text(f"config:\n  aws:region: us-east-1\n  {line}\n")


def test_a_key_left_empty_is_passed_as_the_cli_passes_it(project: Path) -> None:
    # The CLI hands a YAML null to the program as the empty string (with a warning), never as Python's "None".
    qa_stack(project, "clickhouse-aws:vpcCidr:")
    config, _ = load_stack_config("qa", project_dir=project)
    assert config["clickhouse-aws:vpcCidr"] == ""


@pytest.mark.parametrize(("line", "key", "type_name"), [
    ("clickhouse-aws:protect: yes", "protect", "boolean"),
    ("clickhouse-aws:protect:", "protect", "boolean"),
    ("clickhouse-aws:azCount: three", "azCount", "integer"),
    ("clickhouse-aws:azCount: 2.5", "azCount", "integer"),
    ("clickhouse-aws:subnetIds: subnet-1", "subnetIds", "array<string>"),
    ("clickhouse-aws:vpcCidr: [10.0.0.0/16]", "vpcCidr", "string"),
])
def test_a_value_not_of_its_declared_type_is_refused_in_the_clis_words(project: Path, line: str, key: str,
                                                                       type_name: str) -> None:
    qa_stack(project, line)
    with pytest.raises(StackFileError) as raised:
        load_stack_config("qa", project_dir=project)
    assert str(raised.value) == f"Stack 'qa' with configuration key '{key}' must be of type '{type_name}'"


def test_a_quoted_value_that_looks_like_json_is_a_string_to_the_type_check(project: Path) -> None:
    # The CLI checks a quoted '["subnet-1"]' as the string it is: not an array, and a valid string.
    qa_stack(project, """clickhouse-aws:subnetIds: '["subnet-1"]'""")
    with pytest.raises(StackFileError, match="'subnetIds' must be of type 'array<string>'"):
        load_stack_config("qa", project_dir=project)
    qa_stack(project, """clickhouse-aws:vpcCidr: '["x"]'""")
    assert load_stack_config("qa", project_dir=project)[0]["clickhouse-aws:vpcCidr"] == '["x"]'


@pytest.mark.parametrize(("line", "key", "text"), [
    ("clickhouse-aws:azCount: 2.0", "azCount", "2"),  # a whole float is an integer to the CLI
    ("clickhouse-aws:flowLogRetentionDays: 3_0", "flowLogRetentionDays", "30"),
    ("clickhouse-aws:backupStartTime: 12:00", "backupStartTime", "12:00"),  # not YAML 1.1's base-60 720
])
def test_values_the_cli_accepts_reach_the_program_as_it_writes_them(project: Path, line: str, key: str,
                                                                    text: str) -> None:
    qa_stack(project, line)
    assert load_stack_config("qa", project_dir=project)[0][f"clickhouse-aws:{key}"] == text


def test_only_secure_values_and_secret_settings_are_secret(project: Path) -> None:
    external_id = "clickhouse-aws:byocExternalId"
    (project / "Pulumi.plain.yaml").write_text(f"config:\n  {external_id}: committed-in-plain-text\n")
    (project / "Pulumi.secure.yaml").write_text(f"config:\n  {external_id}:\n    secure: v1:abc\n")
    assert external_id not in load_stack_config("plain", project_dir=project)[1]
    assert external_id in load_stack_config("secure", project_dir=project)[1]
    # Left out of the file, it stands for `pulumi config set --secret` on the machine; so does an override.
    (project / "Pulumi.unset.yaml").write_text("config: {}\n")
    assert external_id in load_stack_config("unset", project_dir=project)[1]
    assert external_id in load_stack_config("plain", {external_id: "ext-id-0123"}, project_dir=project)[1]
