"""The offline gate reads a stack file as the real CLI does: a program run by the CLI receives, for every value in
tests/scripts/offline/stack_yaml_cases.py, exactly the text the gate's loader makes of it, and the CLI refuses
what the gate refuses."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e.tests.support import REPO, TIMEOUT, cli_environment
from scripts.offline.engine import StackFileError, load_stack_config
from tests.scripts.offline.stack_yaml_cases import AS_THE_CLI_PASSES_THEM

PROGRAM = """
import json, os
import pulumi

config = pulumi.Config("yamlcheck")
keys = json.loads(os.environ["YAMLCHECK_KEYS"])
with open(os.environ["YAMLCHECK_OUT"], "w") as out:
    json.dump({key: config.get(key) for key in keys}, out)
"""


@dataclass(frozen=True)
class YamlCheck:
    """A one-file project whose program writes the config it receives, with a CLI workspace of its own."""

    project: Path
    cli_bin: Path
    env: dict[str, str]

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.cli_bin / "pulumi"), *args, "--non-interactive"], cwd=self.project,
                              env={**self.env, **env}, capture_output=True, text=True, timeout=TIMEOUT)


@pytest.fixture
def yamlcheck(tmp_path: Path, cli_bin: Path) -> YamlCheck:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        f"name: yamlcheck\nruntime:\n  name: python\n  options:\n    virtualenv: {REPO / 'venv'}\n"
        "config:\n  flag:\n    type: boolean\n    default: true\n  ids:\n    type: array\n    items:\n      type: string\n"
        "    default: []\n")
    (project / "__main__.py").write_text(PROGRAM)
    # The CLI prints a time in its machine's zone; the expected texts are UTC's.
    return YamlCheck(project, cli_bin, {**cli_environment(tmp_path, cli_bin), "TZ": "UTC"})


def test_every_value_reaches_the_program_as_the_gate_reads_it(yamlcheck: YamlCheck, tmp_path: Path) -> None:
    project = yamlcheck.project
    keys = [f"k{i}" for i in range(len(AS_THE_CLI_PASSES_THEM))]
    lines = [f"  yamlcheck:{key}: {written}" for key, (written, _) in zip(keys, AS_THE_CLI_PASSES_THEM)]
    (project / "Pulumi.values.yaml").write_text("config:\n" + "\n".join(lines) + "\n")
    assert yamlcheck.cli("stack", "init", "values").returncode == 0
    out = tmp_path / "received.json"
    run = yamlcheck.cli("preview", "--stack", "values", YAMLCHECK_KEYS=json.dumps(keys), YAMLCHECK_OUT=str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    received = json.loads(out.read_text())
    gate, _ = load_stack_config("values", project_dir=project)
    assert received == {key: gate[f"yamlcheck:{key}"] for key in keys}
    assert received == {key: passed for key, (_, passed) in zip(keys, AS_THE_CLI_PASSES_THEM)}


@pytest.mark.parametrize(("line", "refusal"), [
    ("yamlcheck:flag: yes", "Stack 'refused' with configuration key 'flag' must be of type 'boolean'"),
    ("yamlcheck:flag:", "Stack 'refused' with configuration key 'flag' must be of type 'boolean'"),
    ("yamlcheck:ids: '[\"a\"]'", "Stack 'refused' with configuration key 'ids' must be of type 'array<string>'"),
    ('yamlcheck:m: {1: a, "1": b}', 'mapping key "1" already defined at line 2'),
    ("yamlcheck:a: 1\n  yamlcheck:a: 2", 'mapping key "yamlcheck:a" already defined at line 2'),
    ("yamlcheck:laughs:\n" + "\n".join(
        ["    a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        + [f"    a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]),
     "document contains excessive aliasing"),
])
def test_the_cli_refuses_what_the_gate_refuses(yamlcheck: YamlCheck, tmp_path: Path, line: str, refusal: str) -> None:
    project = yamlcheck.project
    (project / "Pulumi.refused.yaml").write_text(f"config:\n  {line}\n")
    with pytest.raises((StackFileError, ValueError)) as raised:
        load_stack_config("refused", project_dir=project)
    # A file yaml.v3 cannot read stops `stack init` already; a value of the wrong type stops the preview.
    init = yamlcheck.cli("stack", "init", "refused")
    run = yamlcheck.cli("preview", "--stack", "refused", YAMLCHECK_KEYS="[]",
                       YAMLCHECK_OUT=str(tmp_path / "unused.json"))
    assert run.returncode != 0
    assert refusal in init.stdout + init.stderr + run.stdout + run.stderr
    assert refusal.split(" at line")[0].replace('"', "'") in str(raised.value).replace('"', "'")
