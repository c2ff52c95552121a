"""The offline gate reads a stack file as the real CLI does: a program run by the CLI receives, for every value in
tests/scripts/offline/stack_yaml_cases.py, exactly the text the gate's loader makes of it, and the CLI refuses
what the gate refuses."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from e2e.tests.support import PASSPHRASE, REPO, TIMEOUT
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


def _project(root: Path) -> Path:
    project = root / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        f"name: yamlcheck\nruntime:\n  name: python\n  options:\n    virtualenv: {REPO / 'venv'}\n"
        "config:\n  flag:\n    type: boolean\n    default: true\n  ids:\n    type: array\n    items:\n      type: string\n"
        "    default: []\n")
    (project / "__main__.py").write_text(PROGRAM)
    for name in ("home", "state"):
        (root / name).mkdir()
    return project


def _cli(cli_bin: Path, root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    environ.update(PATH=os.pathsep.join([str(cli_bin), environ.get("PATH", "")]), PULUMI_HOME=str(root / "home"),
                   PULUMI_BACKEND_URL=f"file://{root / 'state'}", PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
                   PULUMI_SKIP_UPDATE_CHECK="true", TZ="UTC", **env)
    return subprocess.run([str(cli_bin / "pulumi"), *args, "--non-interactive"], cwd=root / "project", env=environ,
                          capture_output=True, text=True, timeout=TIMEOUT)


def test_every_value_reaches_the_program_as_the_gate_reads_it(tmp_path: Path, cli_bin: Path) -> None:
    project = _project(tmp_path)
    keys = [f"k{i}" for i in range(len(AS_THE_CLI_PASSES_THEM))]
    lines = [f"  yamlcheck:{key}: {written}" for key, (written, _) in zip(keys, AS_THE_CLI_PASSES_THEM)]
    (project / "Pulumi.values.yaml").write_text("config:\n" + "\n".join(lines) + "\n")
    assert _cli(cli_bin, tmp_path, "stack", "init", "values").returncode == 0
    out = tmp_path / "received.json"
    run = _cli(cli_bin, tmp_path, "preview", "--stack", "values", YAMLCHECK_KEYS=json.dumps(keys),
               YAMLCHECK_OUT=str(out))
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
def test_the_cli_refuses_what_the_gate_refuses(tmp_path: Path, cli_bin: Path, line: str, refusal: str) -> None:
    project = _project(tmp_path)
    (project / "Pulumi.refused.yaml").write_text(f"config:\n  {line}\n")
    with pytest.raises((StackFileError, ValueError)) as raised:
        load_stack_config("refused", project_dir=project)
    # A file yaml.v3 cannot read stops `stack init` already; a value of the wrong type stops the preview.
    init = _cli(cli_bin, tmp_path, "stack", "init", "refused")
    run = _cli(cli_bin, tmp_path, "preview", "--stack", "refused", YAMLCHECK_KEYS="[]",
               YAMLCHECK_OUT=str(tmp_path / "unused.json"))
    assert run.returncode != 0
    assert refusal in init.stdout + init.stderr + run.stdout + run.stderr
    assert refusal.split(" at line")[0].replace('"', "'") in str(raised.value).replace('"', "'")
